package dev.atlas.storage.s3;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.buffer.BlockBufferAllocator;
import dev.atlas.cache.BlockCache;
import dev.atlas.cache.CacheStats;
import dev.atlas.cache.ReadCaches;
import dev.atlas.cache.SlabCache;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ArrayFile} on S3 (S3Mock, reached through the fault proxy with no faults so that the
 * proxy counts what really went over the wire) behaves exactly as on the engine's reference
 * backend, and costs what the design says: open = 1 LIST + 1 GET per layer (+ 1 GET of the stats
 * object), a whole-array read = the slab cache's coalesced range reads, a repeated read = 0 GETs.
 */
@ExtendWith(S3Servers.class)
class S3ArrayFileTest {
    static final long[] SHAPE = {16, 256, 256};
    static EngineResources resources;
    static FaultProxy proxy;
    static S3Storage s3;

    @TempDir
    static Path tmp;

    @BeforeAll
    static void start() {
        resources = EngineResources.create(2, 2, BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT));
        S3Servers.Server server = S3Servers.get(S3Servers.Kind.S3MOCK);
        proxy = FaultProxy.start(server.endpoint(), 7);
        s3 = S3Storage.open(server.options(proxy.endpoint(), "arrays-" + UUID.randomUUID() + "/").build(), resources);
    }

    @AfterAll
    static void stop() {
        s3.close();
        proxy.close();
        resources.disposeLater().block(TIMEOUT);
    }

    static ReadCaches freshCaches() {
        return ReadCaches.of(SlabCache.create(SlabCache.Options.defaults(), resources.allocator()),
                BlockCache.create(BlockCache.DEFAULT_BUDGET));
    }

    static ArrayFileOptions options(ReadCaches caches) {
        return ArrayFileOptions.builder(resources).blockTargetSize(256 << 10).tempDirectory(tmp).caches(caches).build();
    }

    static float[] values(int t0, int steps, long seed) {
        Random r = new Random(seed);
        float[] v = new float[(int) (steps * SHAPE[1] * SHAPE[2])];
        for (int i = 0; i < v.length; i++) {
            v[i] = t0 + r.nextFloat();
        }
        return v;
    }

    static byte[] bytesOf(NdArray a) {
        try (a) {
            ByteBuf d = a.data();
            byte[] out = new byte[d.readableBytes()];
            d.getBytes(d.readerIndex(), out);
            return out;
        }
    }

    static byte[] expected() {
        float[] first = values(0, 8, 1);
        float[] second = values(8, 8, 2);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate((first.length + second.length) * 4).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(first).put(second);
        return b.array();
    }

    /** Creates a file set of base + 2 sidecars + stats: two sessions of writes, each flushed. */
    static void build(Storage storage, String base) {
        ArrayFileOptions o = options(ReadCaches.disabled(resources.allocator()));
        ArrayFile f = ArrayFile.create(storage, base, o).block(TIMEOUT);
        f.defineArray("temperature", ArraySpec.of(DType.FLOAT32, SHAPE).withChunks(1, 128, 128)
                .withDimensions("time", "lat", "lon")).block(TIMEOUT);
        try (NdArray slab = NdArray.ofFloats(new long[] {8, SHAPE[1], SHAPE[2]}, values(0, 8, 1))) {
            f.writeArray("temperature", new long[] {0, 0, 0}, slab).block(TIMEOUT);
        }
        f.setAttribute("temperature", "units", AttributeValue.ofString("K")).block(TIMEOUT);
        f.flush().block(TIMEOUT);
        try (NdArray slab = NdArray.ofFloats(new long[] {8, SHAPE[1], SHAPE[2]}, values(8, 8, 2))) {
            f.writeArray("temperature", new long[] {8, 0, 0}, slab).block(TIMEOUT);
        }
        f.flush().block(TIMEOUT);
        f.close().block(TIMEOUT);
    }

    static List<String> keysAndSizes(Storage s, String prefix) {
        return s.list(prefix).map(o -> o.key() + "=" + o.size()).collectList().block(TIMEOUT);
    }

    /** Keys under {@code prefix}, without the copies compactions retain for readers (named by version and time, so unique per backend). */
    static List<String> keysOnly(Storage s, String prefix) {
        return s.list(prefix).map(ObjectInfo::key).filter(k -> !k.contains("/_retained/")).collectList().block(TIMEOUT);
    }

    @Test
    void anArrayFileRoundTripsOnS3ExactlyAsInMemory() {
        InMemoryStorage mem = InMemoryStorage.create();
        String base = "rt/temps.af";
        build(mem, base);
        build(s3, base);
        assertEquals(keysAndSizes(mem, "rt/"), keysAndSizes(s3, "rt/"), "the same objects of the same sizes");
        for (ObjectInfo o : mem.list("rt/").collectList().block(TIMEOUT)) {
            ByteBuf b = s3.read(o.key(), 0, o.size()).block(TIMEOUT);
            try {
                byte[] got = new byte[b.readableBytes()];
                b.getBytes(b.readerIndex(), got);
                assertArrayEquals(mem.getBytes(o.key()), got, "object " + o.key() + " byte for byte");
            } finally {
                b.release();
            }
        }
        byte[] want = expected();
        for (Storage s : List.of(mem, s3)) {
            ReadCaches caches = freshCaches();
            ArrayFile f = ArrayFile.open(s, base, options(caches)).block(TIMEOUT);
            assertEquals(3, f.numLayers());
            assertArrayEquals(want, bytesOf(f.readArray("temperature").block(TIMEOUT)), s.toString());
            byte[] window = bytesOf(f.readArray("temperature", new long[] {7, 100, 30}, new long[] {2, 50, 60}).block(TIMEOUT));
            assertEquals(2 * 50 * 60 * 4, window.length);
            f.compact().block(TIMEOUT);
            f.close().block(TIMEOUT);
            ArrayFile g = ArrayFile.open(s, base, options(caches)).block(TIMEOUT);
            assertEquals(1, g.numLayers(), "one base after compaction");
            assertArrayEquals(want, bytesOf(g.readArray("temperature").block(TIMEOUT)), "after compaction on " + s);
            g.close().block(TIMEOUT);
            caches.invalidateAll();
        }
        // The compacted base records its absorbed layers' versions (ETags here, counters in
        // memory), so only the names must agree now; the content was compared above.
        assertEquals(keysOnly(mem, "rt/"), keysOnly(s3, "rt/"), "the same objects after compaction");
    }

    @Test
    void openCostsOneListAndOneGetPerLayerAndReadsCostTheCoalescedRanges() {
        String base = "rc/temps.af";
        build(s3, base);
        int objects = s3.list("rc/").collectList().block(TIMEOUT).size();
        assertEquals(4, objects, "base, 2 sidecars, stats");

        // Open: one LIST, one GET per layer (+1 for the stats object), no HEAD, all counted twice:
        // by the store and by the proxy on the wire.
        ReadCaches caches = freshCaches();
        S3Stats s0 = s3.stats();
        var p0 = proxy.requestCounts();
        ArrayFile f = ArrayFile.open(s3, base, options(caches)).block(TIMEOUT);
        S3Stats open = s3.stats().minus(s0);
        var p1 = proxy.requestCounts();
        assertEquals(3, f.numLayers());
        assertEquals(1, open.requests(S3Request.LIST), open.toString());
        assertEquals(f.numLayers() + 1, open.requests(S3Request.GET), open.toString());
        assertEquals(0, open.requests(S3Request.HEAD), open.toString());
        assertEquals(f.numLayers() + 2, open.totalRequests(), open.toString());
        assertEquals(1, p1.get(S3Request.LIST) - p0.get(S3Request.LIST));
        assertEquals(f.numLayers() + 1, p1.get(S3Request.GET) - p0.get(S3Request.GET));

        // Whole-array read, cold: as many GETs as the slab cache made range reads (on S3 all of
        // them coalesced slab runs: an object store gets no direct reads).
        CacheStats c0 = caches.slabs().stats();
        long direct0 = caches.slabs().directReads();
        S3Stats s1 = s3.stats();
        long wire0 = proxy.requests(S3Request.GET);
        byte[] got = bytesOf(f.readArray("temperature").block(TIMEOUT));
        S3Stats read = s3.stats().minus(s1);
        CacheStats planned = caches.slabs().stats().minus(c0);
        long wire = proxy.requests(S3Request.GET) - wire0;
        assertArrayEquals(expected(), got);
        long direct = caches.slabs().directReads() - direct0;
        assertEquals(0, direct, "an object store's reads all go through slabs");
        assertTrue(planned.loads() >= 1);
        assertEquals(planned.loads(), read.requests(S3Request.GET),
                "GETs = range reads the slab cache made (coalesced runs + direct reads: " + direct + "); " + planned);
        assertEquals(read.requests(S3Request.GET), wire, "every GET is one HTTP request (ranges <= one CRT part)");
        double mib = read.bytesIn() / (double) (1 << 20);
        System.out.printf("whole-array read: %d GETs for %.2f MiB stored (%.2f GETs per MiB), %d slab loads, %d direct,"
                + " %d bytes%n", read.requests(S3Request.GET), mib, read.requests(S3Request.GET) / mib, planned.loads(), direct,
                read.bytesIn());

        // Repeated read: served from the caches, no request at all.
        S3Stats s2 = s3.stats();
        long wire1 = proxy.totalRequests();
        assertArrayEquals(expected(), bytesOf(f.readArray("temperature").block(TIMEOUT)));
        assertEquals(0, s3.stats().minus(s2).totalRequests());
        assertEquals(0, proxy.totalRequests() - wire1);
        f.close().block(TIMEOUT);
        caches.invalidateAll();
    }
}
