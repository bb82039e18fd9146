package dev.atlas.storage.s3;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.ObjectChangedException;
import dev.atlas.error.StorageException;
import java.time.Duration;
import java.util.Objects;
import reactor.core.scheduler.Scheduler;
import reactor.util.retry.Retry;
import reactor.util.retry.RetryBackoffSpec;

/**
 * How {@link S3Storage} repeats a request that failed with a retryable {@link StorageException}
 * (throttling, 5xx, a reset connection, a timeout): exponential backoff with jitter, at most
 * {@link #maxRetries()} times. Non-retryable failures (not found, precondition failed, access
 * denied, bad request) and {@link ObjectChangedException} (a version check that failed) are
 * never repeated. When the retries are exhausted the last failure is raised as it was (not wrapped).
 */
public final class RetryPolicy {
    /** Retries by default: six attempts survive a 20 % failure rate with a chance of 1 in 15,000 of failing. */
    public static final int DEFAULT_MAX_RETRIES = 5;
    /** First backoff: long enough for a throttled prefix to recover a little, short for a reset. */
    public static final Duration DEFAULT_MIN_BACKOFF = Duration.ofMillis(50);
    /** Backoff cap: the sixth attempt starts within about 2 s of the first failure. */
    public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(2);
    /** Jitter factor (0..1): spreads retries of many concurrent requests (AWS's guidance). */
    public static final double DEFAULT_JITTER = 0.5;

    private static final RetryPolicy DEFAULT = new RetryPolicy(DEFAULT_MAX_RETRIES, DEFAULT_MIN_BACKOFF,
            DEFAULT_MAX_BACKOFF, DEFAULT_JITTER);
    private static final RetryPolicy NONE = new RetryPolicy(0, DEFAULT_MIN_BACKOFF, DEFAULT_MAX_BACKOFF, DEFAULT_JITTER);

    private final int maxRetries;
    private final Duration minBackoff;
    private final Duration maxBackoff;
    private final double jitter;

    private RetryPolicy(int maxRetries, Duration minBackoff, Duration maxBackoff, double jitter) {
        if (maxRetries < 0) {
            throw new InvalidArgumentException("maxRetries must be >= 0, not " + maxRetries);
        }
        if (minBackoff.isNegative() || maxBackoff.compareTo(minBackoff) < 0) {
            throw new InvalidArgumentException("backoff must satisfy 0 <= min <= max, not " + minBackoff + ", " + maxBackoff);
        }
        if (!(jitter >= 0 && jitter <= 1)) {
            throw new InvalidArgumentException("jitter must be in [0, 1], not " + jitter);
        }
        this.maxRetries = maxRetries;
        this.minBackoff = minBackoff;
        this.maxBackoff = maxBackoff;
        this.jitter = jitter;
    }

    /** The defaults above. */
    public static RetryPolicy defaults() {
        return DEFAULT;
    }

    /** No retries at all (tests, or callers with their own policy). */
    public static RetryPolicy none() {
        return NONE;
    }

    /**
     * A policy of its own.
     *
     * @throws InvalidArgumentException if {@code maxRetries} is negative, the backoffs are not
     *         {@code 0 <= min <= max}, or {@code jitter} lies outside [0, 1]
     */
    public static RetryPolicy of(int maxRetries, Duration minBackoff, Duration maxBackoff, double jitter) {
        return new RetryPolicy(maxRetries, Objects.requireNonNull(minBackoff, "minBackoff"),
                Objects.requireNonNull(maxBackoff, "maxBackoff"), jitter);
    }

    public int maxRetries() {
        return maxRetries;
    }

    public Duration minBackoff() {
        return minBackoff;
    }

    public Duration maxBackoff() {
        return maxBackoff;
    }

    public double jitter() {
        return jitter;
    }

    /**
     * True for failures this policy repeats. Never {@link ObjectChangedException}: it is retryable
     * for the engine (refresh, re-plan, then try again), but repeating the same request with the
     * same stale version would only fail again.
     */
    public static boolean isRetryable(Throwable t) {
        return t instanceof StorageException s && s.retryable() && !(t instanceof ObjectChangedException);
    }

    /**
     * The Reactor retry spec of this policy, its delays timed on {@code timer}.
     *
     * @param onRetry called before each retry (counters, logs)
     */
    public Retry toRetry(Scheduler timer, Runnable onRetry) {
        RetryBackoffSpec spec = Retry.backoff(maxRetries, minBackoff)
                .maxBackoff(maxBackoff)
                .jitter(jitter)
                .scheduler(timer)
                .filter(RetryPolicy::isRetryable)
                .doBeforeRetry(s -> onRetry.run())
                .onRetryExhaustedThrow((s, signal) -> signal.failure());
        return spec;
    }

    @Override
    public String toString() {
        return "RetryPolicy{maxRetries=" + maxRetries + ", backoff=" + minBackoff + ".." + maxBackoff + ", jitter=" + jitter + '}';
    }
}
