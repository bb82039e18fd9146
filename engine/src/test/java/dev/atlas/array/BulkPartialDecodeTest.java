package dev.atlas.array;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.Zstd;
import dev.atlas.cache.BlockCache;
import dev.atlas.cache.ReadCaches;
import dev.atlas.cache.SlabCache;
import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.format.DType;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.Trailer;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.InMemoryStorage;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bulk reads across datasets ({@link ArrayFile.Pinned#readAcrossInto}) of blocks the engine wrote
 * as several zstd frames, decoded only in the frames their datasets need: every row equals the
 * dataset's own read, through the block cache and past it, with datasets chunked differently;
 * and a block decoded in part is never served to a read needing other bytes. Buffers start as
 * garbage, so an undecoded byte that reached a row would show.
 */
class BulkPartialDecodeTest {
    private static final int T = 4;
    private static final int Y = 60;
    private static final int X = 50;
    /** Chunkings of the datasets: 12,000-byte chunks (a frame each), halves, and 2,000-byte ones sharing frames. */
    private static final long[][] CHUNKS = {
        {1, Y, X}, {1, Y, X}, {2, 30, X}, {1, 20, 25}, {1, Y, X}, {4, 15, X}, {1, Y, X},
    };
    private static EngineResources resources;

    @TempDir
    static java.nio.file.Path tmp;

    @BeforeAll
    static void start() {
        resources = EngineResources.create(2, 2, new PartialDecodeTest.Poisoning());
    }

    @AfterAll
    static void stop() {
        resources.disposeLater().block(TIMEOUT);
    }

    private static final BlockCodec FRAMED = BlockCodecs.zstd(3, 16 << 10);
    private static final BlockCodec ONE_FRAME = BlockCodecs.zstd(3, 0);

    private static ReadCaches caches(long blockCacheBudget) {
        return ReadCaches.of(SlabCache.create(SlabCache.Options.defaults(), resources.allocator()),
                BlockCache.create(blockCacheBudget));
    }

    private static ArrayFileOptions options(BlockCodec codec, ReadCaches caches) {
        return ArrayFileOptions.builder(resources).codec(codec).blockTargetSize(256 << 10).tempDirectory(tmp)
                .caches(caches).build();
    }

    private static int value(int d, long t, long y, long x) {
        return (int) (d * 1_000_003 + t * 7919 + y * 131 + x * 7 + (y * x) % 11);
    }

    private static List<String> names() {
        List<String> n = new ArrayList<>();
        for (int d = 0; d < CHUNKS.length; d++) {
            n.add("d" + d);
        }
        return n;
    }

    private static InMemoryStorage written(BlockCodec codec) {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = block(ArrayFile.create(s, "t.af", options(codec, caches(0))));
        try {
            for (int d = 0; d < CHUNKS.length; d++) {
                block(f.defineArray("d" + d, ArraySpec.of(DType.INT32, T, Y, X).withChunks(CHUNKS[d])));
                int[] v = new int[T * Y * X];
                for (int t = 0; t < T; t++) {
                    for (int y = 0; y < Y; y++) {
                        for (int x = 0; x < X; x++) {
                            v[(t * Y + y) * X + x] = value(d, t, y, x);
                        }
                    }
                }
                try (NdArray a = NdArray.ofInts(DType.INT32, new long[] {T, Y, X}, v)) {
                    block(f.writeArray("d" + d, new long[] {0, 0, 0}, a));
                }
            }
            block(f.flush());
        } finally {
            block(f.close());
        }
        return s;
    }

    /** Bulk-reads the region of every dataset and checks each row against the values and the dataset's own read. */
    private static void checkAcross(ArrayFile f, long[] start, long[] shape) {
        checkAcross(f, start, shape, true);
    }

    /**
     * Bulk-reads the region of every dataset and checks each row against the values and, when
     * {@code own}, the dataset's own read (which caches whole blocks).
     */
    private static void checkAcross(ArrayFile f, long[] start, long[] shape, boolean own) {
        List<String> names = names();
        int rowElems = (int) (shape[0] * shape[1] * shape[2]);
        int rowBytes = rowElems * 4;
        ReadTarget target = ReadTarget.allocate(resources.allocator(), rowBytes * names.size());
        try {
            ArrayFile.Pinned pin = block(f.pin());
            block(pin.readAcrossInto(names, DType.INT32, start, shape, target, 0, 3, 2));
            ByteBuf got = target.buf;
            for (int d = 0; d < names.size(); d++) {
                try (NdArray mine = own ? block(f.readArray(names.get(d), start, shape)) : null) {
                    int i = 0;
                    for (long t = start[0]; t < start[0] + shape[0]; t++) {
                        for (long y = start[1]; y < start[1] + shape[1]; y++) {
                            for (long x = start[2]; x < start[2] + shape[2]; x++, i++) {
                                int bulk = got.getIntLE(d * rowBytes + i * 4);
                                String where = names.get(d) + " [" + t + ", " + y + ", " + x + "] of region "
                                        + Arrays.toString(start) + " + " + Arrays.toString(shape);
                                assertEquals(value(d, t, y, x), bulk, "bulk read, " + where);
                                if (mine != null) {
                                    assertEquals(mine.getInt(i), bulk, "own read, " + where);
                                }
                            }
                        }
                    }
                }
            }
        } finally {
            target.release();
        }
    }

    private static final long[][][] REGIONS = {
        {{0, 0, 0}, {1, Y, X}}, // the stacked slice: a prefix of every chunk of t = 0
        {{1, 0, 0}, {1, Y, X}},
        {{0, 10, 5}, {1, 20, 30}},
        {{2, 40, 0}, {2, 20, 10}},
        {{0, 0, 0}, {T, Y, X}}, // everything
        {{3, 59, 49}, {1, 1, 1}},
        {{0, 0, 0}, {1, Y, X}},
    };

    @Test
    void bulkReadsOfFramedBlocksEqualEachDatasetsReadThroughTheCacheAndPastIt() {
        InMemoryStorage s = written(FRAMED);
        assertFramed(s);
        checkEveryRegionThroughTheCacheAndPastIt(s, FRAMED);
    }

    /** The same in the run layout: a frame per dataset's write, zstd blocks ending at chunk starts. */
    @Test
    void bulkReadsOfRunFramedBlocksEqualEachDatasetsReadThroughTheCacheAndPastIt() {
        BlockCodec runs = BlockCodecs.zstdRunFrames(3);
        checkEveryRegionThroughTheCacheAndPastIt(written(runs), runs);
    }

    private static void checkEveryRegionThroughTheCacheAndPastIt(InMemoryStorage s, BlockCodec codec) {
        // 64 MiB: every read here stays in the block cache; 64 KiB: every read is a scan, past it.
        for (long budget : new long[] {64L << 20, 64L << 10}) {
            ReadCaches caches = caches(budget);
            ArrayFile f = block(ArrayFile.open(s, "t.af", options(codec, caches)));
            try {
                for (long[][] r : REGIONS) {
                    checkAcross(f, r[0], r[1]);
                }
            } finally {
                block(f.close());
                caches.invalidateAll();
            }
        }
    }

    /** Opens a file of {@code codec}'s blocks through a 64 MiB block cache, runs {@code body} on it and the cache, closes both. */
    private static void withFile(BlockCodec codec, java.util.function.BiConsumer<ArrayFile, BlockCache> body) {
        InMemoryStorage s = written(codec);
        ReadCaches caches = caches(64L << 20);
        ArrayFile f = block(ArrayFile.open(s, "t.af", options(codec, caches)));
        try {
            body.accept(f, caches.blocks());
        } finally {
            block(f.close());
            caches.invalidateAll();
        }
    }

    @Test
    void aBlockDecodedInPartIsNeverServedToAReadNeedingOtherBytes() {
        withFile(FRAMED, (f, cache) -> {
            // Only bulk reads first (a dataset's own read caches whole blocks, which serve any read).
            checkAcross(f, new long[] {0, 0, 0}, new long[] {1, 5, X}, false);
            long first = cache.stats().misses();
            assertTrue(first > 0);
            // Again: the same ranges, served by the entries the first read left.
            checkAcross(f, new long[] {0, 0, 0}, new long[] {1, 5, X}, false);
            assertEquals(first, cache.stats().misses(), "the same ranges are served from the cache");
            // Other bytes of the same blocks: loads of their own, never the partly decoded entries.
            checkAcross(f, new long[] {0, 30, 0}, new long[] {1, 5, X}, false);
            assertTrue(cache.stats().misses() >= 2 * first, "a read of other bytes loaded its blocks again (misses "
                    + first + ", then " + cache.stats().misses() + ")");
            checkAcross(f, new long[] {0, 3, 0}, new long[] {1, 5, X}, false);
            checkAcross(f, new long[] {0, 0, 0}, new long[] {1, 5, X}, false);
            // A whole decode, once cached, serves every later read.
            checkAcross(f, new long[] {0, 0, 0}, new long[] {T, Y, X});
            checkAcross(f, new long[] {1, 7, 3}, new long[] {1, 9, 40});
            checkAcross(f, new long[] {0, 0, 0}, new long[] {1, 5, X});
        });
    }

    @Test
    void aBlockAskedForAgainIsDecodedWholeAndServesEveryReader() {
        withFile(FRAMED, (f, cache) -> {
            // Met for the first time: decoded in part, under the exact ranges.
            checkAcross(f, new long[] {0, 0, 0}, new long[] {1, 5, X}, false);
            long first = cache.stats().misses();
            // Asked for again (other bytes): decoded whole, under the whole block's key.
            checkAcross(f, new long[] {0, 30, 0}, new long[] {1, 5, X}, false);
            long second = cache.stats().misses() - first;
            assertEquals(first, second, "the second read loads each block once more");
            // Every dataset's own read of any part of those blocks is then served from the cache
            // (a single read takes only whole blocks), and so is a bulk read of other bytes.
            for (String d : names()) {
                try (NdArray a = block(f.readArray(d, new long[] {0, 0, 0}, new long[] {1, Y, X}))) {
                    assertEquals(value(Integer.parseInt(d.substring(1)), 0, Y - 1, X - 1), a.getInt(Y * X - 1));
                }
            }
            checkAcross(f, new long[] {0, 17, 3}, new long[] {1, 9, 40}, false);
            assertEquals(first + second, cache.stats().misses(), "the whole blocks served every later read");
        });
    }

    @Test
    void oneFrameBlocksAreDecodedWholeAndShared() {
        withFile(ONE_FRAME, (f, cache) -> {
            checkAcross(f, new long[] {0, 0, 0}, new long[] {1, 5, X}, false);
            long misses = cache.stats().misses();
            checkAcross(f, new long[] {0, 30, 0}, new long[] {1, 5, X}, false);
            assertEquals(misses, cache.stats().misses(), "the whole blocks the first read cached served the second");
            for (long[][] r : REGIONS) {
                checkAcross(f, r[0], r[1]);
            }
        });
    }

    @Test
    void oneLargeFrameIsDecodedOnlyUpToTheLastNeededByte() {
        // Three datasets of one 192,000-byte chunk each, a one-frame block each (the crate's
        // layout): a slice of t = 0 or 1 needs a prefix of at most half of it.
        int t = 4;
        int y = 120;
        int x = 100;
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile w = block(ArrayFile.create(s, "t.af", options(ONE_FRAME, caches(0))));
        try {
            for (int d = 0; d < 3; d++) {
                block(w.defineArray("d" + d, ArraySpec.of(DType.INT32, t, y, x).withChunks(t, y, x)));
                int[] v = new int[t * y * x];
                for (int i = 0; i < v.length; i++) {
                    v[i] = value(d, i / (y * x), i / x % y, i % x);
                }
                try (NdArray a = NdArray.ofInts(DType.INT32, new long[] {t, y, x}, v)) {
                    block(w.writeArray("d" + d, new long[] {0, 0, 0}, a));
                }
            }
            block(w.flush());
        } finally {
            block(w.close());
        }
        ReadCaches caches = caches(64L << 20);
        ArrayFile f = block(ArrayFile.open(s, "t.af", options(ONE_FRAME, caches)));
        List<String> names = List.of("d0", "d1", "d2");
        try {
            BlockCache cache = caches.blocks();
            long misses = 0;
            for (int[] slice : new int[][] {{0, 1}, {1, 1}, {0, 1}, {2, 1}, {0, 4}, {1, 1}, {0, 1}}) {
                long before = cache.stats().misses();
                long[] start = {slice[0], 0, 0};
                long[] shape = {slice[1], y, x};
                int rowBytes = slice[1] * y * x * 4;
                ReadTarget target = ReadTarget.allocate(resources.allocator(), rowBytes * 3);
                try {
                    block(block(f.pin()).readAcrossInto(names, DType.INT32, start, shape, target, 0, 2, 2));
                    for (int d = 0; d < 3; d++) {
                        for (int i = 0; i < rowBytes / 4; i++) {
                            int tt = slice[0] + i / (y * x);
                            assertEquals(value(d, tt, i / x % y, i % x), target.buf.getIntLE(d * rowBytes + i * 4),
                                    "d" + d + " element " + i + " of the slice from t = " + slice[0]);
                        }
                    }
                } finally {
                    target.release();
                }
                misses += cache.stats().misses() - before;
            }
            // The prefix to t = 0 (the blocks met for the first time), then, asked for again, the
            // whole blocks, which serve every later read: 2 loads of 3 blocks.
            assertEquals(6, misses, "loads of the one-frame blocks");
        } finally {
            block(f.close());
            caches.invalidateAll();
        }
    }

    /** The engine's blocks here are several frames each, and decode whole by the crate's procedure. */
    private static void assertFramed(InMemoryStorage s) {
        byte[] file = s.getBytes("t.1.af");
        Footer footer = Trailer.decodeLayer(ByteBuffer.wrap(file), "t.1.af");
        int shared = 0;
        for (BlockMeta b : footer.blocks()) {
            if (!dev.atlas.codec.CodecId.ZSTD.equals(b.codec())) {
                continue; // stored as is: it did not compress
            }
            byte[] stored = Arrays.copyOfRange(file, (int) b.fileOffset(), (int) (b.fileOffset() + b.compressedSize()));
            assertTrue(Zstd.getFrameContentSize(stored) < b.uncompressedSize(), "block " + b.id() + " is several frames");
            assertEquals(b.uncompressedSize(), Zstd.decompress(stored, (int) b.uncompressedSize()).length);
            shared++;
        }
        assertTrue(shared >= 2, "the datasets share a few zstd blocks");
    }
}
