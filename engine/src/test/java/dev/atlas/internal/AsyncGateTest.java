package dev.atlas.internal;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

class AsyncGateTest {

    @Test
    void manySynchronousOperationsQueuedBehindOneRunInOrderWithoutNesting() {
        AsyncGate gate = new AsyncGate();
        Sinks.Empty<Void> hold = Sinks.empty();
        Disposable holder = gate.exclusive(hold::asMono).subscribe();
        int n = 200_000;
        List<Integer> order = new ArrayList<>(n);
        AtomicInteger maxDepth = new AtomicInteger();
        for (int i = 0; i < n; i++) {
            int k = i;
            gate.exclusive(() -> Mono.fromCallable(() -> {
                maxDepth.accumulateAndGet(Thread.currentThread().getStackTrace().length, Math::max);
                return k;
            })).subscribe(order::add);
        }
        assertTrue(order.isEmpty(), "nothing runs while an exclusive operation holds the gate");
        hold.tryEmitEmpty(); // before the fix: 200,000 nested starts, a StackOverflowError
        holder.dispose();
        assertEquals(n, order.size());
        for (int i = 0; i < n; i++) {
            assertEquals(i, order.get(i));
        }
        assertTrue(maxDepth.get() < 400, "stack depth stays flat: " + maxDepth.get());
    }

    @Test
    void anExclusiveOperationWaitsForEarlierSharedOnesAndLaterSharedOnesWaitForIt() {
        AsyncGate gate = new AsyncGate();
        Sinks.Empty<Void> a = Sinks.empty();
        Sinks.Empty<Void> b = Sinks.empty();
        AtomicBoolean exclusiveRan = new AtomicBoolean();
        AtomicBoolean laterShared = new AtomicBoolean();
        AtomicInteger sharedRunning = new AtomicInteger();
        gate.shared(() -> {
            sharedRunning.incrementAndGet();
            return a.asMono();
        }).subscribe();
        gate.shared(() -> {
            sharedRunning.incrementAndGet();
            return b.asMono();
        }).subscribe();
        assertEquals(2, sharedRunning.get(), "shared operations run together");
        gate.exclusive(() -> Mono.fromRunnable(() -> {
            assertFalse(laterShared.get());
            exclusiveRan.set(true);
        })).subscribe();
        gate.shared(() -> Mono.fromRunnable(() -> laterShared.set(true))).subscribe();
        a.tryEmitEmpty();
        assertFalse(exclusiveRan.get(), "one shared operation still runs");
        b.tryEmitEmpty();
        assertTrue(exclusiveRan.get());
        assertTrue(laterShared.get());
    }

    @Test
    void anOperationCancelledBeforeItStartsNeverRuns() {
        AsyncGate gate = new AsyncGate();
        Sinks.Empty<Void> hold = Sinks.empty();
        gate.exclusive(hold::asMono).subscribe();
        AtomicBoolean ran = new AtomicBoolean();
        Disposable d = gate.exclusive(() -> Mono.fromRunnable(() -> ran.set(true))).subscribe();
        AtomicBoolean next = new AtomicBoolean();
        gate.exclusive(() -> Mono.fromRunnable(() -> next.set(true))).subscribe();
        d.dispose();
        hold.tryEmitEmpty();
        assertFalse(ran.get());
        assertTrue(next.get(), "the gate moves past a cancelled operation");
    }

    @Test
    void concurrentSubmittersAllComplete() {
        AsyncGate gate = new AsyncGate();
        AtomicInteger inExclusive = new AtomicInteger();
        AtomicInteger violations = new AtomicInteger();
        Long done = Flux.range(0, 20_000)
                .flatMap(i -> (i % 3 == 0
                        ? gate.exclusive(() -> Mono.fromCallable(() -> {
                            if (inExclusive.incrementAndGet() != 1) {
                                violations.incrementAndGet();
                            }
                            inExclusive.decrementAndGet();
                            return i;
                        }))
                        : gate.shared(() -> Mono.fromCallable(() -> {
                            if (inExclusive.get() != 0) {
                                violations.incrementAndGet();
                            }
                            return i;
                        }))).subscribeOn(reactor.core.scheduler.Schedulers.parallel()), 64)
                .count().block(TIMEOUT);
        assertEquals(20_000L, done);
        assertEquals(0, violations.get());
    }
}
