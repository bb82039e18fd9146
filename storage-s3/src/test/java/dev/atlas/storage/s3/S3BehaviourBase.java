package dev.atlas.storage.s3;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.Await.poll;
import static dev.atlas.testing.Await.spinUntil;
import static dev.atlas.testing.StorageContract.body;
import static dev.atlas.testing.StorageContract.bytes;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.runtime.EngineResources;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.StorageException;
import dev.atlas.storage.ObjectInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * What S3 adds to the contract, on one real server: multipart uploads (streamed, counted, aborted
 * on failure and cancellation, conditional on completion), paginated listing, batch delete,
 * request counters, and the signing check.
 */
@ExtendWith(S3Servers.class)
abstract class S3BehaviourBase {
    static final int PART = S3StorageOptions.MIN_PART_SIZE;
    static EngineResources resources;
    S3Storage store;

    abstract S3Servers.Kind kind();

    @BeforeAll
    static void startEngine() {
        resources = EngineResources.create(2, 2, PooledByteBufAllocator.DEFAULT);
    }

    @AfterAll
    static void stopEngine() {
        resources.disposeLater().block(TIMEOUT);
    }

    @BeforeEach
    void open() {
        store = S3Storage.open(S3Servers.get(kind()).options("behaviour-" + UUID.randomUUID() + "/")
                .partSize(PART).uploadConcurrency(2).listPageSize(3).build(), resources);
    }

    @org.junit.jupiter.api.AfterEach
    void close() {
        store.close();
    }

    static byte[] read(S3Storage s, String key, long offset, long length) {
        return dev.atlas.testing.StorageContract.readAll(s, key, offset, length);
    }

    void awaitNoPendingUploads(String prefix) throws InterruptedException {
        List<String> pending = pendingUploadsAfterSettling(store, prefix);
        if (!pending.isEmpty()) {
            throw new AssertionError("multipart uploads left behind: " + pending);
        }
    }

    /** The incomplete multipart uploads under {@code prefix} once none are left, or when the wait runs out. */
    static List<String> pendingUploadsAfterSettling(S3Storage store, String prefix) throws InterruptedException {
        return poll(() -> store.pendingUploads(prefix).collectList().block(TIMEOUT), List::isEmpty, Duration.ofMillis(100));
    }

    @Test
    void largeBodiesAreStreamedAsMultipartUploads() throws InterruptedException {
        byte[] data = bytes(2 * PART + 123_457, 1);
        S3Stats before = store.stats();
        ObjectInfo info = store.put("big.bin", body(data, 1 << 20)).block(TIMEOUT);
        S3Stats d = store.stats().minus(before);
        assertEquals(data.length, info.size());
        assertEquals(1, d.requests(S3Request.CREATE_MULTIPART), d.toString());
        assertEquals(3, d.requests(S3Request.UPLOAD_PART), d.toString());
        assertEquals(1, d.requests(S3Request.COMPLETE_MULTIPART), d.toString());
        assertEquals(0, d.requests(S3Request.PUT), d.toString());
        assertEquals(data.length, d.bytesOut());
        assertEquals(data.length, store.head("big.bin").block(TIMEOUT).size());
        assertArrayEquals(data, read(store, "big.bin", 0, data.length));
        assertArrayEquals(java.util.Arrays.copyOfRange(data, PART - 10, PART + 10), read(store, "big.bin", PART - 10, 20));
        awaitNoPendingUploads("");
    }

    @Test
    void aBodyOfExactlyOnePartIsOnePut() {
        byte[] data = bytes(PART, 2);
        S3Stats before = store.stats();
        store.put("one.bin", body(data, 100_000)).block(TIMEOUT);
        S3Stats d = store.stats().minus(before);
        assertEquals(1, d.requests(S3Request.PUT), d.toString());
        assertEquals(1, d.totalRequests(), d.toString());
        assertArrayEquals(data, read(store, "one.bin", 0, data.length));
    }

    @Test
    void aFailingMultipartBodyIsAbortedAndLeavesNothing() throws InterruptedException {
        Flux<ByteBuf> failing = body(bytes(2 * PART + 10, 3), 1 << 20).concatWith(Mono.error(new IllegalStateException("producer died")));
        StepVerifier.create(store.put("failed.bin", failing)).expectError(IllegalStateException.class).verify(TIMEOUT);
        StepVerifier.create(store.head("failed.bin")).expectError(NotFoundException.class).verify(TIMEOUT);
        assertTrue(store.stats().requests(S3Request.ABORT_MULTIPART) >= 1);
        awaitNoPendingUploads("");
    }

    @Test
    void aCancelledMultipartUploadIsAbortedAndLeavesNothing() throws InterruptedException {
        // More than one part, then the producer stalls: the upload is under way when we cancel.
        Flux<ByteBuf> stalled = body(bytes(PART + 4096, 4), 1 << 20).concatWith(Flux.never());
        StepVerifier.create(store.put("cancelled.bin", stalled))
                .then(() -> spinUntil(() -> store.stats().requests(S3Request.UPLOAD_PART) >= 1))
                .thenAwait(Duration.ofMillis(300))
                .thenCancel()
                .verify(TIMEOUT);
        assertTrue(store.stats().requests(S3Request.CREATE_MULTIPART) == 1);
        awaitNoPendingUploads("");
        StepVerifier.create(store.head("cancelled.bin")).expectError(NotFoundException.class).verify(TIMEOUT);
        assertTrue(store.stats().requests(S3Request.ABORT_MULTIPART) >= 1);
    }

    @Test
    void createIfAbsentHoldsForMultipartUploads() throws InterruptedException {
        byte[] first = bytes(PART + 1000, 5);
        store.putIfAbsent("once.bin", body(first, 1 << 20)).block(TIMEOUT);
        assertEquals(first.length, store.head("once.bin").block(TIMEOUT).size(), "visible after the first upload");
        StepVerifier.create(store.putIfAbsent("once.bin", body(bytes(PART + 2000, 6), 1 << 20)))
                .expectError(AlreadyExistsException.class).verify(TIMEOUT);
        assertArrayEquals(first, read(store, "once.bin", 0, first.length));
        awaitNoPendingUploads("");
    }

    @Test
    void listingPagesThroughManyKeys() {
        List<String> keys = IntStream.range(0, 11).mapToObj(i -> String.format("ls/k%02d", i)).toList();
        Flux.fromIterable(keys).flatMap(k -> store.put(k, body(new byte[] {1}, 1)), 4).blockLast(TIMEOUT);
        S3Stats before = store.stats();
        List<String> got = store.list("ls/").map(ObjectInfo::key).collectList().block(TIMEOUT);
        assertEquals(keys, got);
        assertEquals(4, store.stats().minus(before).requests(S3Request.LIST), "11 keys at 3 a page");
    }

    @Test
    void batchDeleteRemovesEveryKeyAndIgnoresMissingOnes() {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            keys.add("del/" + i);
            store.put("del/" + i, body(new byte[] {(byte) i}, 1)).block(TIMEOUT);
        }
        keys.add("del/never-existed");
        S3Stats before = store.stats();
        store.deleteAll(keys).block(TIMEOUT);
        assertEquals(1, store.stats().minus(before).requests(S3Request.DELETE_BATCH));
        assertEquals(0, store.list("del/").count().block(TIMEOUT));
    }

    @Test
    void countersSeeEveryRequestAndByte() {
        S3Stats before = store.stats();
        store.put("c.bin", body(bytes(1000, 7), 300)).block(TIMEOUT);
        read(store, "c.bin", 10, 100);
        store.head("c.bin").block(TIMEOUT);
        store.list("c").collectList().block(TIMEOUT);
        store.delete("c.bin").block(TIMEOUT);
        S3Stats d = store.stats().minus(before);
        assertEquals(1, d.requests(S3Request.PUT));
        assertEquals(1, d.requests(S3Request.GET));
        assertEquals(1, d.requests(S3Request.HEAD));
        assertEquals(1, d.requests(S3Request.LIST));
        assertEquals(1, d.requests(S3Request.DELETE));
        assertEquals(5, d.totalRequests());
        assertEquals(100, d.bytesIn());
        assertEquals(1000, d.bytesOut());
        assertEquals(0, d.failures());
        assertFalse(d.toString().isEmpty());
    }

    @Test
    void wrongCredentialsAreANonRetryableError() {
        S3Servers.Server server = S3Servers.get(kind());
        try (S3Storage bad = S3Storage.open(server.options("x/").staticCredentials(S3Servers.ACCESS_KEY, "wrong-secret")
                .build(), resources)) {
            Mono<ObjectInfo> put = bad.put("k", body(new byte[] {1}, 1));
            if (kind() == S3Servers.Kind.S3PROXY) {
                // S3Proxy checks SigV4: a wrong secret is refused, and not retried.
                StepVerifier.create(put).expectErrorSatisfies(e -> {
                    assertTrue(e instanceof StorageException s && !s.retryable(), e.toString());
                    assertTrue(e.getMessage().contains("403"), e.getMessage());
                }).verify(TIMEOUT);
                assertEquals(1, bad.stats().requests(S3Request.PUT), "not retried");
            } else {
                // S3Mock does not check signatures: the request succeeds.
                put.block(TIMEOUT);
            }
        }
    }
}
