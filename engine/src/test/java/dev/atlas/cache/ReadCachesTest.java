package dev.atlas.cache;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.storage.InMemoryStorage;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The slab and block caches: single flight, coalescing, version keys, and buffer ownership under
 * contention (many subscribers, random cancellation, constant eviction). Memory is counted with an
 * unpooled allocator, so "zero leaks" here means every byte either cache or a reader allocated is
 * freed once readers are done and the caches are cleared (on top of the paranoid leak detector).
 */
class ReadCachesTest {
    /** A storage that counts range reads and can delay them. */
    static class Counting extends dev.atlas.testing.ForwardingStorage {
        final AtomicInteger reads = new AtomicInteger();
        final List<long[]> ranges = java.util.Collections.synchronizedList(new ArrayList<>());
        volatile Duration delay = Duration.ZERO;

        Counting(Storage inner) {
            super(inner);
        }

        @Override
        public Mono<ByteBuf> read(String key, long offset, long length) {
            return read(key, offset, length, null);
        }

        @Override
        public Mono<ByteBuf> read(String key, long offset, long length, String version) {
            return Mono.defer(() -> {
                reads.incrementAndGet();
                ranges.add(new long[] {offset, length});
                Mono<ByteBuf> r = version == null ? super.read(key, offset, length) : super.read(key, offset, length, version);
                return delay.isZero() ? r : Mono.delay(delay).then(r);
            });
        }
    }

    private static byte[] bytes(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] copy(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), out);
        return out;
    }

    private static byte[] range(byte[] src, long off, int len) {
        return java.util.Arrays.copyOfRange(src, (int) off, (int) off + len);
    }

    private static UnpooledByteBufAllocator countingAllocator() {
        // Direct, no cleaner tricks: usedDirectMemory() counts live direct bytes exactly.
        return new UnpooledByteBufAllocator(true, false, false);
    }

    @Test
    void concurrentReadsOfOneColdRangeShareOneFetch() {
        InMemoryStorage mem = InMemoryStorage.create();
        byte[] data = bytes(8 << 20, 1);
        ObjectInfo info = mem.putBytes("o", data);
        Counting s = new Counting(mem);
        s.delay = Duration.ofMillis(50);
        // Every read through slabs: a 3 MB read is above the default direct threshold.
        SlabCache c = SlabCache.create(SlabCache.Options.defaults().withDirectThreshold(Integer.MAX_VALUE),
                io.netty.buffer.PooledByteBufAllocator.DEFAULT);
        try {
            List<byte[]> got = Flux.range(0, 32)
                    .flatMap(i -> c.read(s, info, 3_000_000, 3_000_000).map(b -> {
                        try {
                            return copy(b);
                        } finally {
                            b.release();
                        }
                    }), 32)
                    .collectList().block(TIMEOUT);
            assertEquals(32, got.size());
            got.forEach(g -> assertArrayEquals(range(data, 3_000_000, 3_000_000), g));
            assertEquals(1, s.reads.get(), "32 concurrent cold reads of one range: one coalesced storage read");
            CacheStats st = c.stats();
            assertEquals(32L * 4, st.requests(), "4 slabs per read");
            assertEquals(4, st.misses());
            assertEquals(1, st.loads());
        } finally {
            c.invalidateAll();
        }
    }

    @Test
    void readsAtOrAboveTheDirectThresholdGoToStorageExactlyAndSmallerOnesThroughSlabs() {
        InMemoryStorage mem = InMemoryStorage.create();
        byte[] data = bytes(4 << 20, 7);
        ObjectInfo info = mem.putBytes("o", data);
        Counting s = new Counting(mem);
        SlabCache c = SlabCache.create(SlabCache.Options.defaults(), io.netty.buffer.PooledByteBufAllocator.DEFAULT);
        try {
            assertEquals(128 << 10, c.options().directThreshold());
            // 240,000 bytes straddling a slab boundary: one exact read, not two 1 MiB slabs.
            ByteBuf big = c.read(s, info, (1 << 20) - 1000, 240_000).block(TIMEOUT);
            try {
                assertArrayEquals(range(data, (1 << 20) - 1000, 240_000), copy(big));
            } finally {
                big.release();
            }
            assertEquals(1, s.reads.get());
            assertArrayEquals(new long[] {(1 << 20) - 1000, 240_000}, s.ranges.get(0));
            assertEquals(1, c.directReads());
            assertEquals(240_000, c.directBytes());
            assertEquals(0, c.stats().requests(), "no slab was looked up");
            assertEquals(1, c.stats().loads(), "loads count every storage range read");
            assertEquals(240_000, c.stats().loadedBytes());
            // Just below the threshold: one aligned slab, which the next small read then hits.
            int small = (128 << 10) - 1;
            release(c.read(s, info, 2 << 20, small).block(TIMEOUT));
            release(c.read(s, info, (2 << 20) + small, 1000).block(TIMEOUT));
            assertEquals(2, s.reads.get());
            assertArrayEquals(new long[] {2 << 20, 1 << 20}, s.ranges.get(1));
            assertEquals(1, c.directReads());
            assertEquals(1, c.stats().hits());
            // A storage whose range reads are requests (an object store): the same large read goes
            // through slabs, so neighbours share its fetch.
            Counting remote = new Counting(mem) {
                @Override
                public boolean cheapRangeReads() {
                    return false;
                }
            };
            release(c.read(remote, info, (3 << 20) - 1000, 240_000).block(TIMEOUT));
            assertEquals(1, remote.reads.get());
            assertArrayEquals(new long[] {2 << 20, 2 << 20}, remote.ranges.get(0), "slabs 2 and 3 in one coalesced read");
            assertEquals(1, c.directReads());
        } finally {
            c.invalidateAll();
        }
    }

    @Test
    void missingSlabsAreFetchedInCoalescedRunsAcrossSmallGaps() {
        InMemoryStorage mem = InMemoryStorage.create();
        byte[] data = bytes(64 * 4096, 2);
        ObjectInfo info = mem.putBytes("o", data);
        Counting s = new Counting(mem);
        // 4 KiB slabs, gaps of up to 2 resident slabs are re-read rather than split, 16-slab reads.
        SlabCache c = SlabCache.create(new SlabCache.Options(4096, 1 << 20, 2 * 4096, 16 * 4096, 4), io.netty.buffer.PooledByteBufAllocator.DEFAULT);
        try {
            // Warm slabs 5, 9, 10 and 11.
            release(c.read(s, info, 5 * 4096 + 10, 100).block(TIMEOUT));
            release(c.read(s, info, 9 * 4096, 3 * 4096).block(TIMEOUT));
            assertEquals(2, s.reads.get());
            s.ranges.clear();
            // Slabs 0..39: missing 0-4, 6-8, 12-39. Gap {5} is bridged, gap {9,10,11} (3 slabs) is not;
            // 12-39 (28 slabs) splits at 16.
            ByteBuf b = c.read(s, info, 0, 40 * 4096).block(TIMEOUT);
            try {
                assertArrayEquals(range(data, 0, 40 * 4096), copy(b));
            } finally {
                b.release();
            }
            List<String> ranges = s.ranges.stream().map(r -> r[0] / 4096 + "+" + r[1] / 4096).sorted().toList();
            assertEquals(List.of("0+9", "12+16", "28+12"), ranges);
            CacheStats st = c.stats();
            assertEquals(5, st.loads());
        } finally {
            c.invalidateAll();
        }
    }

    @Test
    void aReplacedObjectIsNeverServedFromTheOldVersionsSlabsOrBlocks() {
        InMemoryStorage mem = InMemoryStorage.create();
        ObjectInfo v1 = mem.putBytes("o", bytes(100_000, 3));
        SlabCache slabs = SlabCache.create(SlabCache.Options.defaults(), io.netty.buffer.PooledByteBufAllocator.DEFAULT);
        BlockCache blocks = BlockCache.create(1 << 20);
        try {
            release(slabs.read(mem, v1, 0, 100_000).block(TIMEOUT));
            release(blocks.get(mem, v1, 0, () -> mem.read("o", 0, 1000)).block(TIMEOUT));
            byte[] fresh = bytes(100_000, 4);
            ObjectInfo v2 = mem.putBytes("o", fresh);
            ByteBuf b = slabs.read(mem, v2, 0, 100_000).block(TIMEOUT);
            ByteBuf k = blocks.get(mem, v2, 0, () -> mem.read("o", 0, 1000)).block(TIMEOUT);
            try {
                assertArrayEquals(fresh, copy(b));
                assertArrayEquals(range(fresh, 0, 1000), copy(k));
            } finally {
                b.release();
                k.release();
            }
        } finally {
            slabs.invalidateAll();
            blocks.invalidateAll();
        }
    }

    @Test
    void slabCacheUnderContentionCancellationAndEvictionKeepsBytesAndBuffersExact() {
        UnpooledByteBufAllocator alloc = countingAllocator();
        InMemoryStorage mem = InMemoryStorage.create(alloc);
        int objects = 3;
        byte[][] data = new byte[objects][];
        ObjectInfo[] infos = new ObjectInfo[objects];
        for (int i = 0; i < objects; i++) {
            data[i] = bytes(2 << 20, 10 + i);
            infos[i] = mem.putBytes("o" + i, data[i]);
        }
        Counting s = new Counting(mem);
        // 16 KiB slabs, a budget of 512 KiB: constant eviction under 2,000 reads of up to 256 KiB.
        SlabCache c = SlabCache.create(new SlabCache.Options(16 << 10, 512 << 10, 32 << 10, 128 << 10, 4), alloc);
        AtomicLong checked = new AtomicLong();
        AtomicLong cancelled = new AtomicLong();
        SplittableRandom seeds = new SplittableRandom(42);
        try {
            Flux.range(0, 2000)
                    .map(i -> seeds.split())
                    .flatMap(r -> {
                        int o = r.nextInt(objects);
                        int len = 1 + r.nextInt(256 << 10);
                        long off = r.nextLong((2 << 20) - len + 1);
                        Mono<ByteBuf> read = c.read(s, infos[o], off, len).subscribeOn(Schedulers.parallel());
                        Mono<Boolean> verified = read.map(b -> {
                            try {
                                assertArrayEquals(range(data[o], off, len), copy(b));
                                checked.incrementAndGet();
                                return true;
                            } finally {
                                b.release();
                            }
                        });
                        if (r.nextInt(4) == 0) {
                            // Cancel at a random moment: before, during or after the fetch.
                            return verified.timeout(Duration.ofNanos(r.nextLong(2_000_000)), Schedulers.parallel())
                                    .onErrorResume(java.util.concurrent.TimeoutException.class, e -> {
                                        cancelled.incrementAndGet();
                                        return Mono.just(false);
                                    });
                        }
                        return verified;
                    }, 64)
                    .then().block(TIMEOUT);
            CacheStats st = c.stats();
            assertTrue(st.evictions() > 100, "eviction pressure: " + st);
            assertTrue(st.hits() > 0, "some reads hit: " + st);
            assertTrue(checked.get() > 1000, "most reads delivered: " + checked + ", cancelled " + cancelled);
        } finally {
            c.invalidateAll();
        }
        assertEquals(0, alloc.metric().usedDirectMemory(),
                "every fetch and assembly buffer is freed once readers and cache let go");
    }

    @Test
    void blockCacheUnderContentionCancellationAndEvictionKeepsBytesAndBuffersExact() {
        UnpooledByteBufAllocator alloc = countingAllocator();
        InMemoryStorage mem = InMemoryStorage.create(alloc);
        int nBlocks = 64;
        byte[] data = bytes(nBlocks * 65536, 7);
        ObjectInfo info = mem.putBytes("o", data);
        AtomicInteger loaderSubscriptions = new AtomicInteger();
        // 8 blocks of budget for 64 blocks of working set: eviction all the time.
        BlockCache c = BlockCache.create(8 * 65536);
        AtomicLong checked = new AtomicLong();
        SplittableRandom seeds = new SplittableRandom(43);
        try {
            Flux.range(0, 4000)
                    .map(i -> seeds.split())
                    .flatMap(r -> {
                        // Skewed: a few hot blocks, a long tail.
                        int blk = r.nextInt(4) == 0 ? r.nextInt(nBlocks) : r.nextInt(4);
                        Mono<ByteBuf> read = c.get(mem, info, blk * 65536L, () -> Mono.defer(() -> {
                            loaderSubscriptions.incrementAndGet();
                            return mem.read("o", blk * 65536L, 65536).delayElement(Duration.ofNanos(r.nextLong(500_000)),
                                    Schedulers.parallel());
                        })).subscribeOn(Schedulers.parallel());
                        Mono<Boolean> verified = read.map(b -> {
                            try {
                                assertArrayEquals(range(data, blk * 65536L, 65536), copy(b));
                                checked.incrementAndGet();
                                return true;
                            } finally {
                                b.release();
                            }
                        });
                        if (r.nextInt(4) == 0) {
                            return verified.timeout(Duration.ofNanos(r.nextLong(1_000_000)), Schedulers.parallel())
                                    .onErrorResume(java.util.concurrent.TimeoutException.class, e -> Mono.just(false));
                        }
                        return verified;
                    }, 64)
                    .then().block(TIMEOUT);
            CacheStats st = c.stats();
            assertTrue(st.evictions() > 50, "eviction pressure: " + st);
            assertTrue(st.hits() > 1000, "hot blocks hit: " + st);
            assertTrue(loaderSubscriptions.get() < 4000, "single flight and hits saved loads: " + loaderSubscriptions);
            assertTrue(checked.get() > 2000, "delivered: " + checked);
        } finally {
            c.invalidateAll();
        }
        assertEquals(0, alloc.metric().usedDirectMemory(), "every block buffer is freed once readers and cache let go");
    }

    @Test
    void concurrentReadersOfOneBlockShareOneLoad() {
        InMemoryStorage mem = InMemoryStorage.create();
        ObjectInfo info = mem.putBytes("o", bytes(4096, 8));
        BlockCache c = BlockCache.create(1 << 20);
        AtomicInteger loads = new AtomicInteger();
        try {
            long n = Flux.range(0, 50)
                    .flatMap(i -> c.get(mem, info, 0, () -> Mono.defer(() -> {
                        loads.incrementAndGet();
                        return mem.read("o", 0, 4096).delayElement(Duration.ofMillis(50), Schedulers.parallel());
                    })).doOnNext(ByteBuf::release), 50)
                    .count().block(TIMEOUT);
            assertEquals(50, n);
            assertEquals(1, loads.get(), "50 concurrent readers, one decompression");
            assertEquals(49, c.stats().hits());
        } finally {
            c.invalidateAll();
        }
    }

    @Test
    void aBlockLargerThanTheBudgetIsStillLoadedOncePerRead() {
        InMemoryStorage mem = InMemoryStorage.create();
        ObjectInfo info = mem.putBytes("o", bytes(1 << 20, 9));
        BlockCache c = BlockCache.create(64 << 10);
        AtomicInteger loads = new AtomicInteger();
        try {
            for (int i = 0; i < 5; i++) {
                ByteBuf b = c.get(mem, info, 0, () -> Mono.defer(() -> {
                    loads.incrementAndGet();
                    return mem.read("o", 0, 1 << 20);
                })).block(TIMEOUT);
                assertEquals(1 << 20, b.readableBytes());
                b.release();
            }
            assertEquals(5, loads.get(), "never cached, never loaded twice for one read");
            assertEquals(0, c.bypassed());
        } finally {
            c.invalidateAll();
        }
    }

    private static void release(ByteBuf b) {
        b.release();
    }
}
