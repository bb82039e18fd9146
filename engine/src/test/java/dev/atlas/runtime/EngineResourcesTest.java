package dev.atlas.runtime;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.PooledByteBufAllocator;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.test.StepVerifier;

/** The engine's codec threads: shared work queue, time-based tasks, non-blocking for BlockHound, graceful disposal. */
class EngineResourcesTest {
    /**
     * A task queued behind a long one runs on the idle thread. With one queue per thread (Reactor's
     * parallel scheduler deals tasks round-robin) the third task here lands behind the first, which
     * spins until the third has run: the first would time out.
     */
    @Test
    void anIdleCodecThreadTakesTheNextTask() {
        EngineResources res = EngineResources.create(2, 1, PooledByteBufAllocator.DEFAULT);
        try {
            Scheduler codec = res.codecScheduler();
            AtomicBoolean thirdRan = new AtomicBoolean();
            Mono<Boolean> first = Mono.fromCallable(() -> {
                long end = System.nanoTime() + 10_000_000_000L;
                while (!thirdRan.get() && System.nanoTime() < end) {
                    // spin (BlockHound counts Thread.onSpinWait as blocking)
                }
                return thirdRan.get();
            }).subscribeOn(codec);
            java.util.concurrent.CompletableFuture<Boolean> firstDone = first.toFuture(); // queued first
            Mono.fromRunnable(() -> { }).subscribeOn(codec).block(TIMEOUT); // the second, short
            Mono.fromRunnable(() -> thirdRan.set(true)).subscribeOn(codec).subscribe(); // the third frees the first
            assertEquals(Boolean.TRUE, Mono.fromFuture(firstDone).block(TIMEOUT), "the third task waited behind the first");
        } finally {
            res.disposeLater().block(TIMEOUT);
        }
    }

    @Test
    void codecThreadsRunDelayedTasksAndAreWatchedByBlockHound() {
        EngineResources res = EngineResources.create(1, 1, PooledByteBufAllocator.DEFAULT);
        try {
            long t0 = System.nanoTime();
            Mono.delay(Duration.ofMillis(50), res.codecScheduler()).block(TIMEOUT);
            assertTrue(System.nanoTime() - t0 >= 50_000_000L);
            Mono<Object> blocking = Mono.fromCallable(() -> {
                Thread.sleep(1);
                return new Object();
            }).subscribeOn(res.codecScheduler());
            StepVerifier.create(blocking)
                    .expectErrorMatches(e -> e instanceof BlockingOperationError || e.getCause() instanceof BlockingOperationError)
                    .verify(TIMEOUT);
        } finally {
            res.disposeLater().block(TIMEOUT);
        }
        assertTrue(res.isDisposed());
    }
}
