package dev.atlas.testing;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import java.util.List;
import org.junit.jupiter.api.Test;
import reactor.blockhound.BlockingOperationError;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** Proves the test guards are live: paranoid leak detection that catches a leak, and BlockHound. */
class TestInfrastructureTest {

    @Test
    void blockHoundIsActiveOnNonBlockingThreads() {
        assertTrue(AtlasTestSession.blockHoundInstalled());
        Scheduler parallel = Schedulers.newParallel("blockhound-smoke", 1);
        try {
            Mono<Object> blocking = Mono.fromCallable(() -> {
                Thread.sleep(1);
                return new Object();
            }).subscribeOn(parallel);
            StepVerifier.create(blocking)
                    .expectErrorMatches(e -> e instanceof BlockingOperationError
                            || e.getCause() instanceof BlockingOperationError)
                    .verify(TIMEOUT);
        } finally {
            parallel.dispose();
        }
    }

    @Test
    void leakDetectionIsParanoidAndCatchesALeak() {
        assertTrue(ResourceLeakDetector.getLevel() == ResourceLeakDetector.Level.PARANOID);
        leakOne();
        List<String> leaks = List.of();
        for (int i = 0; i < 20 && leaks.isEmpty(); i++) {
            leaks = LeakTracker.collect();
        }
        assertFalse(leaks.isEmpty(), "a deliberately leaked buffer must be reported");
        assertTrue(leaks.get(0).contains("LEAK"), leaks.get(0));
    }

    private static void leakOne() {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(64);
        b.writeLong(42);
        b = null; // dropped without release(): the detector must report it
    }
}
