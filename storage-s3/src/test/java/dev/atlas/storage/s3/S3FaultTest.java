package dev.atlas.storage.s3;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.Await.spinUntil;
import static dev.atlas.testing.StorageContract.body;
import static dev.atlas.testing.StorageContract.bytes;
import static dev.atlas.testing.StorageContract.holdsRange;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.buffer.BlockBufferAllocator;
import dev.atlas.cache.ReadCaches;
import dev.atlas.error.StorageException;
import dev.atlas.format.DType;
import dev.atlas.storage.ObjectInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.test.StepVerifier;

/**
 * Failures injected by the {@link FaultProxy} between the CRT client and S3Mock (seeded, so a
 * failing run can be repeated): reads and flushes succeed through 20 % of 503s and connection
 * resets and through slow responses; an upload that is cancelled or whose parts keep failing is
 * aborted and leaves neither an object nor an incomplete upload. Every count is printed.
 */
@ExtendWith(S3Servers.class)
class S3FaultTest {
    static final long SEED = Long.getLong("atlas.fault.seed", 20_240_601L);
    static EngineResources resources;
    FaultProxy proxy;
    S3Storage store;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() {
        resources = EngineResources.create(2, 2, BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT));
    }

    @AfterAll
    static void stop() {
        resources.disposeLater().block(TIMEOUT);
    }

    @BeforeEach
    void open() {
        S3Servers.Server server = S3Servers.get(S3Servers.Kind.S3MOCK);
        proxy = FaultProxy.start(server.endpoint(), SEED);
        store = S3Storage.open(server.options(proxy.endpoint(), "faults-" + UUID.randomUUID() + "/")
                .partSize(S3StorageOptions.MIN_PART_SIZE).nativeRetries(Integer.getInteger("atlas.native.retries", 0))
                .retryPolicy(RetryPolicy.of(10, Duration.ofMillis(10), Duration.ofMillis(200), 0.5))
                .build(), resources);
    }

    @AfterEach
    void close() {
        System.out.println("seed " + SEED + ": " + store.stats() + " " + proxy.summary());
        store.close();
        proxy.close();
    }

    private int checkedReads(String key, byte[] data, int count, long seed) {
        Random rnd = new Random(seed);
        List<long[]> ranges = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            long off = rnd.nextInt(data.length - 1);
            ranges.add(new long[] {off, 1 + rnd.nextInt((int) Math.min(200_000, data.length - off))});
        }
        AtomicInteger ok = new AtomicInteger();
        Flux.fromIterable(ranges).flatMap(r -> store.read(key, r[0], r[1]).map(b -> holdsRange(b, data, r[0], r[1])), 16).doOnNext(same -> {
            if (same) {
                ok.incrementAndGet();
            }
        }).blockLast(TIMEOUT);
        return ok.get();
    }

    /**
     * A response that stops mid-body on an open, silent connection (S3Mock did this when an object
     * was deleted while it was served) costs the stall timeout, not the request timeout: the CRT
     * closes the connection, the attempt fails retryably and the retry reads the right bytes.
     * Before the stall timeout existed such a read waited the whole 60 s request timeout.
     */
    @Test
    void aResponseThatStallsMidBodyIsRetriedAfterTheStallTimeout() {
        S3Servers.Server server = S3Servers.get(S3Servers.Kind.S3MOCK);
        try (S3Storage s = S3Storage.open(server.options(proxy.endpoint(), "stall-" + UUID.randomUUID() + "/")
                .stallTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(60))
                .retryPolicy(RetryPolicy.of(3, Duration.ofMillis(10), Duration.ofMillis(100), 0.5)).build(), resources)) {
            byte[] data = bytes(600_000, 9);
            ObjectInfo info = s.put("stall.bin", body(data, 1 << 20)).block(TIMEOUT);
            proxy.stallNextGets(1);
            long t0 = System.nanoTime();
            ByteBuf got = s.read("stall.bin", 1000, 500_000, info.version()).block(TIMEOUT);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(holdsRange(got, data, 1000, 500_000), "the retried read holds the object's bytes"); // releases it
            assertTrue(ms < 15_000, "a stalled response cost " + ms + " ms; the stall timeout is 2 s");
            assertTrue(proxy.requests(S3Request.GET) >= 2, proxy.summary());
        }
    }

    /**
     * The CRT client retries 503s and broken connections itself before our {@link RetryPolicy}
     * sees anything (its {@code numRetries(0)} does not turn that off), so the proxy's counts are
     * the ground truth: every injected fault costs one more HTTP request (now and then the CRT adds
     * one of its own), and every read exactly one successful one.
     */
    @Test
    void readsSucceedThrough503sAndResetsMidBody() {
        byte[] data = bytes(2 << 20, 1);
        store.put("r.bin", body(data, 1 << 20)).block(TIMEOUT);
        proxy.rates(0.10, 0, 0.10, 0);
        long wire0 = proxy.requests(S3Request.GET);
        S3Stats before = store.stats();
        int reads = 150;
        assertEquals(reads, checkedReads("r.bin", data, reads, 2), "every read returns exactly its bytes");
        S3Stats d = store.stats().minus(before);
        long faults = proxy.faults(FaultProxy.Fault.S503) + proxy.faults(FaultProxy.Fault.RESET);
        assertTrue(proxy.faults(FaultProxy.Fault.S503) > 0 && proxy.faults(FaultProxy.Fault.RESET) > 0, proxy.summary());
        // Each fault costs one more request; the CRT occasionally adds one of its own (a CI run saw
        // 201 GETs for 150 reads and 50 faults), so the bound allows a few.
        long gets = proxy.requests(S3Request.GET) - wire0;
        assertTrue(gets >= reads + faults && gets <= reads + faults + 3, "one extra request per fault: " + proxy.summary());
        assertTrue(d.failures() <= faults && d.failures() == d.retries(), "what reached us was retried: " + d);
        System.out.printf("reads through faults: %d reads, %d x 503 + %d resets injected, %d surfaced to RetryPolicy%n",
                reads, proxy.faults(FaultProxy.Fault.S503), proxy.faults(FaultProxy.Fault.RESET), d.failures());
    }

    @Test
    void readsSucceedThroughSlowResponsesAndTimeouts() {
        byte[] data = bytes(1 << 20, 3);
        store.put("slow.bin", body(data, 1 << 20)).block(TIMEOUT);
        store.close();
        store = S3Storage.open(store.options().toBuilder().requestTimeout(Duration.ofMillis(300)).build(), resources);
        proxy.rates(0, 0, 0, 0.2).delay(Duration.ofMillis(1000));
        assertEquals(60, checkedReads("slow.bin", data, 60, 4));
        S3Stats d = store.stats();
        assertTrue(proxy.faults(FaultProxy.Fault.DELAY) > 0, proxy.summary());
        assertTrue(d.failures() > 0 && d.failures() == d.retries(), "slow attempts time out and are retried: " + d);
    }

    @Test
    void uploadsSucceedThrough503sAndResets() {
        proxy.rates(0.10, 0, 0.10, 0);
        List<byte[]> datas = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            datas.add(bytes(i == 0 ? 2 * S3StorageOptions.MIN_PART_SIZE + 100 : 50_000 + i, 10 + i));
        }
        Flux.range(0, datas.size()).flatMap(i -> (i % 2 == 0 ? store.put("u/" + i, body(datas.get(i), 1 << 20))
                : store.putIfAbsent("u/" + i, body(datas.get(i), 1 << 20))), 4).blockLast(TIMEOUT);
        proxy.rates(0, 0, 0, 0);
        for (int i = 0; i < datas.size(); i++) {
            ByteBuf b = store.read("u/" + i, 0, datas.get(i).length).block(TIMEOUT);
            try {
                byte[] got = new byte[b.readableBytes()];
                b.getBytes(b.readerIndex(), got);
                assertArrayEquals(datas.get(i), got, "u/" + i);
            } finally {
                b.release();
            }
        }
        assertTrue(proxy.faults(FaultProxy.Fault.S503) + proxy.faults(FaultProxy.Fault.RESET) > 0, proxy.summary());
        assertEquals(0, store.pendingUploads("").count().block(TIMEOUT));
    }

    private ArrayFileOptions fileOptions() {
        return ArrayFileOptions.builder(resources).blockTargetSize(1 << 20).tempDirectory(tmp)
                .caches(ReadCaches.disabled(resources.allocator())).build();
    }

    private static float[] floats(int n, long seed) {
        Random r = new Random(seed);
        float[] v = new float[n];
        for (int i = 0; i < v.length; i++) {
            v[i] = r.nextFloat();
        }
        return v;
    }

    @Test
    void arrayFileFlushesAndReadsSucceedThroughFaults() {
        proxy.rates(0.10, 0, 0.10, 0);
        long[] shape = {4, 256, 256};
        float[] v = floats(4 * 256 * 256, 5);
        ArrayFile f = ArrayFile.create(store, "ff/t.af", fileOptions()).block(TIMEOUT);
        f.defineArray("a", ArraySpec.of(DType.FLOAT32, shape).withChunks(1, 128, 128)).block(TIMEOUT);
        try (NdArray slab = NdArray.ofFloats(shape, v)) {
            f.writeArray("a", new long[] {0, 0, 0}, slab).block(TIMEOUT);
        }
        f.flush().block(TIMEOUT);
        f.close().block(TIMEOUT);
        ArrayFile g = ArrayFile.open(store, "ff/t.af", fileOptions()).block(TIMEOUT);
        try (NdArray got = g.readArray("a").block(TIMEOUT)) {
            for (int i = 0; i < v.length; i += 997) {
                assertEquals(v[i], got.getFloat(i));
            }
        }
        g.close().block(TIMEOUT);
        assertTrue(proxy.faults(FaultProxy.Fault.S503) + proxy.faults(FaultProxy.Fault.RESET) > 0, proxy.summary());
    }

    /** A pending layer of ~6 MiB: its flush is a multipart upload of two 5 MiB parts. */
    private ArrayFile fileWithLargePendingLayer(String base) {
        long[] shape = {24, 256, 256};
        ArrayFile f = ArrayFile.create(store, base, fileOptions()).block(TIMEOUT);
        f.defineArray("a", ArraySpec.of(DType.FLOAT32, shape).withChunks(1, 256, 256)).block(TIMEOUT);
        try (NdArray slab = NdArray.ofFloats(shape, floats(24 * 256 * 256, 6))) {
            f.writeArray("a", new long[] {0, 0, 0}, slab).block(TIMEOUT);
        }
        return f;
    }

    private void assertNothingBeyondTheBase(String prefix, String base) throws InterruptedException {
        List<String> pending = S3BehaviourBase.pendingUploadsAfterSettling(store, prefix);
        assertEquals(List.of(), pending, "no incomplete multipart upload is left");
        assertEquals(List.of(base), store.list(prefix).map(ObjectInfo::key).collectList().block(TIMEOUT),
                "no partial sidecar is visible");
    }

    @Test
    void aFlushKilledMidUploadLeavesNoObjectAndNoUpload() throws InterruptedException {
        ArrayFile f = fileWithLargePendingLayer("kill/t.af");
        S3Stats before = store.stats();
        proxy.rates(0, 0, 0, 1.0).delay(Duration.ofMillis(300)).only(S3Request.UPLOAD_PART);
        StepVerifier.create(f.flush())
                .then(() -> spinUntil(() -> store.stats().minus(before).requests(S3Request.UPLOAD_PART) >= 1))
                .thenAwait(Duration.ofMillis(100))
                .thenCancel()
                .verify(TIMEOUT);
        proxy.rates(0, 0, 0, 0);
        S3Stats d = store.stats().minus(before);
        assertEquals(1, d.requests(S3Request.CREATE_MULTIPART), d.toString());
        assertNothingBeyondTheBase("kill/", "kill/t.af");
        assertTrue(store.stats().minus(before).requests(S3Request.ABORT_MULTIPART) >= 1);
        f.close().block(TIMEOUT);
    }

    @Test
    void aFlushWhosePartsKeepFailingIsAbortedAndLeavesNothing() throws InterruptedException {
        // One retry of ours on top of the CRT's own: the flush gives up quickly.
        store.close();
        store = S3Storage.open(store.options().toBuilder().retryPolicy(RetryPolicy.of(1, Duration.ofMillis(10),
                Duration.ofMillis(10), 0)).build(), resources);
        ArrayFile f = fileWithLargePendingLayer("fail/t.af");
        S3Stats before = store.stats();
        proxy.rates(0, 1.0, 0, 0).only(S3Request.UPLOAD_PART);
        StepVerifier.create(f.flush())
                .expectErrorSatisfies(e -> assertTrue(e instanceof StorageException s && s.retryable(), e.toString()))
                .verify(TIMEOUT);
        proxy.rates(0, 0, 0, 0);
        S3Stats d = store.stats().minus(before);
        assertEquals(1, d.requests(S3Request.ABORT_MULTIPART), d.toString());
        assertNothingBeyondTheBase("fail/", "fail/t.af");
        // The file is still usable: the next flush succeeds.
        f.flush().block(TIMEOUT);
        assertTrue(store.list("fail/").map(ObjectInfo::key).collectList().block(TIMEOUT).contains("fail/t.1.af"));
        f.close().block(TIMEOUT);
    }
}
