package dev.atlas.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.Zstd;
import dev.atlas.error.CorruptFileException;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Zstd blocks cut into frames per chunk, and decoding only the needed ranges of a block: of our
 * framed blocks and of the crate's one-frame blocks.
 */
class ZstdFramesTest {
    private static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;
    private static final byte SENTINEL = (byte) 0xA5;

    /** An allocator whose buffers start full of {@link #SENTINEL}: shows which bytes a decode wrote. */
    private static final ByteBufAllocator MARKED = new AbstractByteBufAllocator(true) {
        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return mark(Unpooled.buffer(initialCapacity, maxCapacity));
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return mark(Unpooled.directBuffer(initialCapacity, maxCapacity));
        }

        private ByteBuf mark(ByteBuf b) {
            b.setBytes(0, filled(b.capacity()));
            return b;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return false;
        }
    };

    private static byte[] filled(int n) {
        byte[] a = new byte[n];
        Arrays.fill(a, SENTINEL);
        return a;
    }

    /** Floats with a smooth part and noise: compresses some, like real data. */
    private static byte[] data(int n, long seed) {
        Random rnd = new Random(seed);
        byte[] d = new byte[n];
        for (int i = 0; i < n; i++) {
            d[i] = (byte) ((i & 3) == 3 ? (i >> 10) : (i & 3) == 0 ? rnd.nextInt(256) : rnd.nextInt(8));
        }
        return d;
    }

    private static ByteBuf direct(byte[] d) {
        ByteBuf b = ALLOC.directBuffer(d.length);
        b.writeBytes(d);
        return b;
    }

    private static byte[] bytes(ByteBuf b) {
        byte[] a = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), a);
        return a;
    }

    @Test
    void framesStartAtChunksAndCutLongChunks() {
        assertArrayEquals(new int[] {0}, ZstdCodec.frameStarts(100_000, new int[] {0, 50_000}, 0), "0: one frame");
        assertArrayEquals(new int[] {0, 16_384}, ZstdCodec.frameStarts(32_768, new int[] {0}, 16_384));
        // 33,600-byte chunks (the profile case) in 3 frames each, every chunk start a frame start.
        int[] cuts = ZstdCodec.frameStarts(3 * 33_600, new int[] {0, 33_600, 67_200}, 16_384);
        assertArrayEquals(new int[] {0, 11_200, 22_400, 33_600, 44_800, 56_000, 67_200, 78_400, 89_600}, cuts);
        // Chunks under a quarter of the frame size share frames.
        int[] small = new int[100];
        for (int i = 0; i < small.length; i++) {
            small[i] = i * 1000;
        }
        int[] merged = ZstdCodec.frameStarts(100_000, small, 16_384);
        for (int i = 1; i < merged.length; i++) {
            assertTrue(merged[i] - merged[i - 1] >= 4096, Arrays.toString(merged));
            assertEquals(0, merged[i] % 1000, "frames start at chunk starts");
        }
    }

    @Test
    void framedBlocksDecodeWholeAsTheCrateDecodesThem() {
        BlockCodec codec = BlockCodecs.zstd(3, 16_384);
        for (int n : new int[] {1, 5000, 100_000, 262_144, 1 << 20}) {
            byte[] raw = data(n, n);
            ByteBuf src = direct(raw);
            int[] starts = {0, n / 3, n / 2, n - Math.min(n, 7)};
            ByteBuf stored = codec.compress(src, starts, ALLOC);
            try {
                byte[] s = bytes(stored);
                // The crate: zstd bulk decompression of the whole block into uncompressed_size bytes.
                assertArrayEquals(raw, Zstd.decompress(s, n), "plain zstd, n = " + n);
                ByteBuf back = codec.decompress(stored, n, ALLOC, "b");
                try {
                    assertArrayEquals(raw, bytes(back));
                } finally {
                    back.release();
                }
            } finally {
                stored.release();
                src.release();
            }
        }
    }

    @Test
    void randomRangesGetExactlyTheBlocksBytesInBothLayouts() {
        Random rnd = new Random(7);
        for (int frameBytes : new int[] {0, 4096, 16_384}) {
            BlockCodec codec = BlockCodecs.zstd(3, frameBytes);
            for (int n : new int[] {3000, 200_000, 600_000}) {
                byte[] raw = data(n, n + frameBytes);
                int[] starts = new int[1 + rnd.nextInt(12)];
                for (int i = 1; i < starts.length; i++) {
                    starts[i] = rnd.nextInt(n);
                }
                ByteBuf src = direct(raw);
                ByteBuf stored = codec.compress(src, starts, ALLOC);
                try {
                    for (int t = 0; t < 40; t++) {
                        long[] pairs = new long[2 * (1 + rnd.nextInt(4))];
                        for (int i = 0; i < pairs.length; i += 2) {
                            long a = rnd.nextInt(n);
                            long len = rnd.nextInt(t % 2 == 0 ? 64 : n);
                            pairs[i] = a;
                            pairs[i + 1] = Math.min(n, a + len + 1);
                        }
                        BlockRanges need = BlockRanges.of(pairs);
                        ByteBuf got = codec.decompress(stored, n, need, MARKED, "b");
                        try {
                            assertEquals(n, got.readableBytes());
                            for (int i = 0; i < need.count(); i++) {
                                int a = (int) need.from(i);
                                int len = (int) (need.to(i) - a);
                                byte[] part = new byte[len];
                                got.getBytes(got.readerIndex() + a, part);
                                assertArrayEquals(Arrays.copyOfRange(raw, a, a + len), part,
                                        frameBytes + "/" + n + " " + need);
                            }
                        } finally {
                            got.release();
                        }
                    }
                } finally {
                    stored.release();
                    src.release();
                }
            }
        }
    }

    @Test
    void onlyTheNeededFramesAndPrefixesAreDecoded() {
        // Framed: four 64 KiB chunks in 16 KiB frames; the first 100 bytes of chunk 2 need one frame.
        int n = 4 << 16;
        int c2 = 2 << 16;
        byte[] raw = data(n, 1);
        ByteBuf src = direct(raw);
        ByteBuf framed = BlockCodecs.zstd(3, 16_384).compress(src, new int[] {0, 1 << 16, c2, 3 << 16}, ALLOC);
        ByteBuf got = BlockCodecs.zstd(3, 16_384).decompress(framed, n, BlockRanges.of(c2, c2 + 100), MARKED, "b");
        try {
            byte[] g = bytes(got);
            assertArrayEquals(Arrays.copyOfRange(raw, c2, c2 + 100), Arrays.copyOfRange(g, c2, c2 + 100),
                    "the needed bytes (their frame is streamed and stopped after them)");
            assertUntouched(g, 0, c2);
            assertUntouched(g, c2 + 100, n);
        } finally {
            got.release();
            framed.release();
            src.release();
        }
        // One frame of 1 MiB (the crate's layout): a 1,000-byte prefix is streamed and stops there.
        int big = 1 << 20;
        byte[] raw2 = data(big, 2);
        ByteBuf src2 = direct(raw2);
        ByteBuf whole = BlockCodecs.zstd(3, 0).compress(src2, ALLOC);
        ByteBuf prefix = BlockCodecs.zstd(3, 0).decompress(whole, big, BlockRanges.of(0, 1000), MARKED, "b");
        try {
            byte[] p = bytes(prefix);
            assertArrayEquals(Arrays.copyOf(raw2, 1000), Arrays.copyOf(p, 1000));
            assertUntouched(p, 1000, big);
        } finally {
            prefix.release();
            whole.release();
            src2.release();
        }
    }

    /**
     * The run layout: a frame per run of chunks written together, its zstd blocks ending at chunk
     * starts. The whole block decodes as the crate decodes it; a read of one chunk part of two runs
     * decodes only those runs' frames, each only up to its needed bytes; random ranges come back
     * exact.
     */
    @Test
    void runFramesDecodeAsTheCrateDoesAndOnlyUpToTheNeededChunkOfTheNeededRuns() {
        BlockCodec codec = BlockCodecs.zstdRunFrames(3);
        int n = 256 << 10;
        int run = 64 << 10;
        int[] chunks = new int[32];
        for (int i = 0; i < chunks.length; i++) {
            chunks[i] = i * (8 << 10);
        }
        int[] runs = {0, run, 2 * run, 3 * run};
        byte[] raw = data(n, 11);
        ByteBuf src = direct(raw);
        ByteBuf stored = codec.compress(src, chunks, runs, ALLOC);
        try {
            assertArrayEquals(raw, Zstd.decompress(bytes(stored), n), "plain zstd of the whole block (the crate)");
            assertTrue(codec.decodesInParts(stored, n), "a frame per run");
            ByteBuf whole = codec.decompress(stored, n, ALLOC, "b");
            try {
                assertArrayEquals(raw, bytes(whole));
            } finally {
                whole.release();
            }
            int a = run + 4096;
            int b = 3 * run + 4096;
            ByteBuf got = codec.decompress(stored, n, BlockRanges.of(a, a + 1024, b, b + 1024), MARKED, "b");
            try {
                byte[] g = bytes(got);
                assertArrayEquals(Arrays.copyOfRange(raw, a, a + 1024), Arrays.copyOfRange(g, a, a + 1024));
                assertArrayEquals(Arrays.copyOfRange(raw, b, b + 1024), Arrays.copyOfRange(g, b, b + 1024));
                assertUntouched(g, 0, run);
                assertUntouched(g, a + 1024, 3 * run);
                assertUntouched(g, b + 1024, n);
            } finally {
                got.release();
            }
        } finally {
            stored.release();
            src.release();
        }
        Random rnd = new Random(3);
        for (int size : new int[] {1, 3000, 200_000, 600_000}) {
            byte[] r = data(size, size);
            int[] cs = new int[1 + rnd.nextInt(40)];
            int[] rs = new int[1 + rnd.nextInt(5)];
            for (int i = 1; i < cs.length; i++) {
                cs[i] = rnd.nextInt(size);
            }
            for (int i = 1; i < rs.length; i++) {
                rs[i] = rnd.nextInt(size);
            }
            Arrays.sort(cs);
            Arrays.sort(rs);
            ByteBuf in = direct(r);
            ByteBuf st = codec.compress(in, cs, rs, ALLOC);
            try {
                assertArrayEquals(r, Zstd.decompress(bytes(st), size), "plain zstd, n = " + size);
                for (int t = 0; t < 30; t++) {
                    long from = rnd.nextInt(size);
                    long to = Math.min(size, from + 1 + rnd.nextInt(t % 2 == 0 ? 64 : size));
                    ByteBuf got = codec.decompress(st, size, BlockRanges.of(from, to), MARKED, "b");
                    try {
                        byte[] part = new byte[(int) (to - from)];
                        got.getBytes(got.readerIndex() + (int) from, part);
                        assertArrayEquals(Arrays.copyOfRange(r, (int) from, (int) to), part, size + " [" + from + ", " + to + ")");
                    } finally {
                        got.release();
                    }
                }
            } finally {
                st.release();
                in.release();
            }
        }
    }

    private static void assertUntouched(byte[] g, int from, int to) {
        for (int i = from; i < to; i++) {
            if (g[i] != SENTINEL) {
                throw new AssertionError("byte " + i + " was decoded, only the needed ones should be");
            }
        }
    }

    @Test
    void damagedNeededFramesAndLyingSizesAreTypedErrors() {
        int n = 200_000;
        byte[] raw = data(n, 3);
        ByteBuf src = direct(raw);
        ByteBuf stored = BlockCodecs.zstd(3, 16_384).compress(src, new int[] {0, 100_000}, ALLOC);
        byte[] s = bytes(stored);
        stored.release();
        src.release();
        List<byte[]> bad = new ArrayList<>();
        for (int at : new int[] {20, s.length / 3, s.length / 2, s.length - 3}) {
            byte[] d = s.clone();
            d[at] ^= 0x40;
            bad.add(d);
        }
        for (byte[] d : bad) {
            // whole decode: zstd's frame checks or its content checksum
            assertThrows(CorruptFileException.class, () -> release(BlockCodecs.zstd().decompress(Unpooled.wrappedBuffer(d), n,
                    ALLOC, "b")));
        }
        // a size the frames do not add up to
        assertThrows(CorruptFileException.class, () -> release(BlockCodecs.zstd().decompress(Unpooled.wrappedBuffer(s), n + 1,
                BlockRanges.of(0, 10), ALLOC, "b")));
        assertThrows(CorruptFileException.class, () -> release(BlockCodecs.zstd().decompress(Unpooled.wrappedBuffer(s), n + 1,
                ALLOC, "b")));
        // a truncated block
        byte[] cut = Arrays.copyOf(s, s.length - 9);
        assertThrows(CorruptFileException.class, () -> release(BlockCodecs.zstd().decompress(Unpooled.wrappedBuffer(cut), n,
                BlockRanges.of(n - 10, n), ALLOC, "b")));
        // A damaged frame that is needed and decoded whole fails its content checksum or its decode.
        byte[] d = s.clone();
        d[s.length - 3] ^= 0x40;
        assertThrows(CorruptFileException.class, () -> release(BlockCodecs.zstd().decompress(Unpooled.wrappedBuffer(d), n,
                BlockRanges.of(n - 10, n), ALLOC, "b")));
    }

    private static void release(ByteBuf b) {
        b.release();
    }

    @Test
    void blockRangesMergeAndCompareByContent() {
        BlockRanges r = BlockRanges.of(10, 20, 0, 5, 18, 30, 40, 40);
        assertEquals(BlockRanges.of(0, 5, 10, 30), r);
        assertEquals(BlockRanges.of(0, 5, 10, 30).hashCode(), r.hashCode());
        assertEquals(2, r.count());
        assertEquals(30, r.end());
        assertEquals(25, r.bytes());
        assertTrue(r.contains(12, 30));
        assertTrue(!r.contains(4, 11));
        assertEquals(30, r.neededEndIn(0, 100));
        assertEquals(5, r.neededEndIn(0, 8));
        assertEquals(50, r.neededEndIn(50, 60));
    }

    @Test
    void whetherABlockDecodesInPartsDoesNotDependOnTheBuffersKind() {
        byte[] raw = data(200_000, 5);
        BlockCodec framed = BlockCodecs.zstd(3, 32 << 10);
        BlockCodec whole = BlockCodecs.zstd(3, 0);
        ByteBuf src = direct(raw);
        try {
            for (BlockCodec c : new BlockCodec[] {framed, whole}) {
                ByteBuf stored = c.compress(src, new int[] {0, 50_000, 100_000, 150_000}, ALLOC);
                byte[] b = bytes(stored);
                ByteBuf heap = Unpooled.wrappedBuffer(b);
                ByteBuf composite = Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(b, 0, 7),
                        Unpooled.wrappedBuffer(b, 7, b.length - 7));
                try {
                    boolean parts = c == framed;
                    assertEquals(parts, c.decodesInParts(stored, raw.length), "direct");
                    assertEquals(parts, c.decodesInParts(heap, raw.length), "heap");
                    assertEquals(parts, c.decodesInParts(composite, raw.length), "composite");
                } finally {
                    stored.release();
                    heap.release();
                    composite.release();
                }
            }
        } finally {
            src.release();
        }
    }
}
