package dev.atlas.testing;

import java.time.Duration;
import reactor.core.publisher.Mono;

/**
 * The one bound every test waits for a result with, and the one helper that blocks on a
 * {@link Mono} within it. The bound is generous on purpose: it only ends a hung test, and a slow
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
}
