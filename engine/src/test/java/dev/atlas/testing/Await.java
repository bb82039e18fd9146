package dev.atlas.testing;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Predicate;
import java.util.function.Supplier;
import reactor.core.publisher.Mono;

/**
 * The one bound every test waits for a result with, and the helpers that wait within it: block on a
 * {@link Mono}, poll a probe, spin on a condition. The bound is generous on purpose: it only ends a hung test, and a slow
 * two-core CI machine under load must never reach it by being slow.
 */
public final class Await {
    /** How long a test waits for any single result before calling the code hung. */
    public static final Duration TIMEOUT = Duration.ofSeconds(120);

    private Await() {
    }

    /** The value {@code mono} emits (null when it completes empty), waiting at most {@link #TIMEOUT}. */
    public static <T> T block(Mono<T> mono) {
        return mono.block(TIMEOUT);
    }

    /**
     * Calls {@code probe} until {@code done} accepts its value, sleeping {@code every} between calls,
     * for at most {@link #TIMEOUT}; returns the last value (the caller asserts on it).
     */
    public static <T> T poll(Supplier<T> probe, Predicate<? super T> done, Duration every) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        T value = probe.get();
        while (!done.test(value) && System.nanoTime() < deadline) {
            Thread.sleep(every.toMillis());
            value = probe.get();
        }
        return value;
    }

    /** Spins until {@code done} holds or {@link #TIMEOUT} passes, for waits too short to sleep through. */
    public static void spinUntil(BooleanSupplier done) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!done.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
    }
}
