package dev.atlas.storage.s3;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.StorageException;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.test.scheduler.VirtualTimeScheduler;

/** {@link RetryPolicy} in virtual time: backoff grows, jitter stays in bounds, only retryable failures repeat. */
class RetryPolicyTest {
    /** Fails {@code failures} times with {@code error}, then succeeds; counts subscriptions. */
    private static Mono<String> flaky(AtomicInteger attempts, int failures, RuntimeException error) {
        return Mono.defer(() -> attempts.incrementAndGet() <= failures ? Mono.error(error) : Mono.just("ok"));
    }

    @Test
    void retryableFailuresAreRepeatedWithExponentialBackoff() {
        VirtualTimeScheduler vts = VirtualTimeScheduler.create();
        RetryPolicy p = RetryPolicy.of(5, Duration.ofMillis(100), Duration.ofSeconds(10), 0.0);
        AtomicInteger attempts = new AtomicInteger();
        AtomicInteger retries = new AtomicInteger();
        StepVerifier.withVirtualTime(() -> flaky(attempts, 3, new StorageException("503 SlowDown", true))
                        .retryWhen(p.toRetry(vts, retries::incrementAndGet)), () -> vts, Long.MAX_VALUE)
                .expectSubscription()
                // Without jitter the delays are exactly 100, 200, 400 ms.
                .expectNoEvent(Duration.ofMillis(699))
                .thenAwait(Duration.ofMillis(1))
                .expectNext("ok")
                .expectComplete()
                .verify(TIMEOUT);
        assertEquals(4, attempts.get());
        assertEquals(3, retries.get());
    }

    @Test
    void jitterKeepsEachDelayWithinItsBounds() {
        // With jitter 0.5 the n-th delay lies in [0.5, 1.5] x 100 ms x 2^n: three retries take 350..1050 ms.
        for (int run = 0; run < 20; run++) {
            VirtualTimeScheduler vts = VirtualTimeScheduler.create();
            RetryPolicy p = RetryPolicy.of(5, Duration.ofMillis(100), Duration.ofSeconds(10), 0.5);
            AtomicInteger attempts = new AtomicInteger();
            StepVerifier.withVirtualTime(() -> flaky(attempts, 3, new StorageException("reset", true))
                            .retryWhen(p.toRetry(vts, () -> { })), () -> vts, Long.MAX_VALUE)
                    .expectSubscription()
                    .expectNoEvent(Duration.ofMillis(349))
                    .thenAwait(Duration.ofMillis(1050 - 349))
                    .expectNext("ok")
                    .expectComplete()
                    .verify(TIMEOUT);
            assertEquals(4, attempts.get());
        }
    }

    @Test
    void exhaustedRetriesRaiseTheLastFailureUnwrapped() {
        VirtualTimeScheduler vts = VirtualTimeScheduler.create();
        RetryPolicy p = RetryPolicy.of(2, Duration.ofMillis(10), Duration.ofMillis(40), 0.0);
        AtomicInteger attempts = new AtomicInteger();
        StorageException boom = new StorageException("500 InternalError", true);
        StepVerifier.withVirtualTime(() -> flaky(attempts, 100, boom).retryWhen(p.toRetry(vts, () -> { })), () -> vts,
                        Long.MAX_VALUE)
                .expectSubscription()
                .thenAwait(Duration.ofSeconds(1))
                .expectErrorSatisfies(e -> assertTrue(e == boom, "the original failure: " + e))
                .verify(TIMEOUT);
        assertEquals(3, attempts.get());
    }

    @Test
    void nonRetryableFailuresAreNotRepeated() {
        VirtualTimeScheduler vts = VirtualTimeScheduler.create();
        RetryPolicy p = RetryPolicy.defaults();
        for (RuntimeException e : new RuntimeException[] {new StorageException("403 AccessDenied", false),
                new NotFoundException("gone"), new IllegalStateException("producer died"),
                // Retryable for the engine (re-plan), but the same request would fail the same way.
                new dev.atlas.error.ObjectChangedException("k", "412 PreconditionFailed")}) {
            AtomicInteger attempts = new AtomicInteger();
            StepVerifier.withVirtualTime(() -> flaky(attempts, 100, e).retryWhen(p.toRetry(vts, () -> { })), () -> vts,
                            Long.MAX_VALUE)
                    .expectSubscription()
                    .expectErrorSatisfies(x -> assertTrue(x == e))
                    .verify(TIMEOUT);
            assertEquals(1, attempts.get(), e.toString());
        }
    }

    @Test
    void statusCodesAndTransportErrorsAreClassified() {
        for (int s : new int[] {408, 429, 500, 502, 503, 504}) {
            assertTrue(S3Errors.retryableStatus(s, null), "status " + s);
        }
        for (int s : new int[] {400, 401, 403, 404, 405, 412, 416, 501}) {
            assertTrue(!S3Errors.retryableStatus(s, null), "status " + s);
        }
        assertTrue(S3Errors.retryableStatus(409, "ConditionalRequestConflict"));
        assertTrue(S3Errors.retryableStatus(400, "RequestTimeout"));
        assertTrue(S3Errors.retryableTransport(new software.amazon.awssdk.crt.CrtRuntimeException(1049, "AWS_ERROR_HTTP_CONNECTION_CLOSED")));
        assertTrue(S3Errors.retryableTransport(new java.io.IOException("Connection reset by peer")));
        assertTrue(S3Errors.retryableTransport(new RuntimeException("Failed to send the request: socket is closed.")));
        assertTrue(S3Errors.retryableTransport(new RuntimeException(
                "Failed to send the request: Http connection channel shut down due to failure to meet throughput minimum")));
        assertTrue(S3Errors.retryableTransport(new RuntimeException("Response code indicates internal server error")));
        assertTrue(!S3Errors.retryableTransport(new IllegalArgumentException("bad")));
    }

    @Test
    void badSettingsAreInvalidArguments() {
        assertThrows(InvalidArgumentException.class, () -> RetryPolicy.of(-1, Duration.ZERO, Duration.ZERO, 0));
        assertThrows(InvalidArgumentException.class, () -> RetryPolicy.of(1, Duration.ofSeconds(2), Duration.ofSeconds(1), 0));
        assertThrows(InvalidArgumentException.class, () -> RetryPolicy.of(1, Duration.ZERO, Duration.ZERO, 1.5));
        S3StorageOptions.Builder b = S3StorageOptions.builder("bucket");
        assertThrows(InvalidArgumentException.class, () -> b.endpoint(URI.create("localhost:9000")));
        assertThrows(InvalidArgumentException.class, () -> b.endpoint(URI.create("ftp://127.0.0.1:21")));
        b.endpoint(URI.create("http://127.0.0.1:9000")).endpoint(null);
    }
}
