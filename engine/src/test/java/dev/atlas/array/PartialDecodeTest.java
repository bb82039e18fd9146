package dev.atlas.array;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.Zstd;
import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.CorruptFileException;
import dev.atlas.format.DType;
import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.ChunkEntry;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.Trailer;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.InMemoryStorage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads that decode only the part of a zstd block they need: the right values for any region
 * (buffers start as garbage, so a byte that was not decoded would show), a read needing more after
 * a partial one, files of both layouts, damage outside the decoded part still caught, and the
 * engine's framed blocks decoded whole by the reference crate's procedure.
 */
class PartialDecodeTest {
    private static final int ROWS = 240;
    private static final int COLS = 300;
    private static EngineResources resources;

    @TempDir
    static java.nio.file.Path tmp;

    @BeforeAll
    static void start() {
        NeededBytes.enabled = true;
        resources = EngineResources.create(2, 2, new Poisoning());
    }

    @AfterAll
    static void stop() {
        NeededBytes.enabled = Boolean.getBoolean("atlas.partialDecode");
        resources.disposeLater().block(TIMEOUT);
    }

    /** Buffers that start as 0xA5 garbage (filled in bulk: blocks are 256 KiB), so an undecoded byte read would show. */
    static final class Poisoning extends io.netty.buffer.AbstractByteBufAllocator {
        private static final byte[] GARBAGE = new byte[64 << 10];

        static {
            Arrays.fill(GARBAGE, (byte) 0xA5);
        }

        Poisoning() {
            super(true);
        }

        @Override
        protected io.netty.buffer.ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return poison(io.netty.buffer.PooledByteBufAllocator.DEFAULT.heapBuffer(initialCapacity, maxCapacity));
        }

        @Override
        protected io.netty.buffer.ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return poison(io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(initialCapacity, maxCapacity));
        }

        private static io.netty.buffer.ByteBuf poison(io.netty.buffer.ByteBuf b) {
            for (int i = 0; i < b.capacity(); i += GARBAGE.length) {
                b.setBytes(i, GARBAGE, 0, Math.min(GARBAGE.length, b.capacity() - i));
            }
            return b;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return true;
        }
    }

    /** Frames of 16 KiB, as a writer that opts in would write them. */
    private static final BlockCodec FRAMED = BlockCodecs.zstd(3, 16 << 10);

    private static ArrayFileOptions options(BlockCodec codec) {
        // 60 KB chunks (50 x 300 ints), 4 to a 256 KiB block, each in 16 KiB frames.
        return ArrayFileOptions.builder(resources).codec(codec).blockTargetSize(256 << 10).tempDirectory(tmp)
                .readConcurrency(4).build();
    }

    private static int value(int r, int c) {
        return r * 7919 + c * 31 + (r * c) % 13;
    }

    private static InMemoryStorage written(BlockCodec codec) {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = block(ArrayFile.create(s, "t.af", options(codec)));
        try {
            block(f.defineArray("v", ArraySpec.of(DType.INT32, ROWS, COLS).withChunks(50, COLS)));
            int[] v = new int[ROWS * COLS];
            for (int r = 0; r < ROWS; r++) {
                for (int c = 0; c < COLS; c++) {
                    v[r * COLS + c] = value(r, c);
                }
            }
            try (NdArray d = NdArray.ofInts(DType.INT32, new long[] {ROWS, COLS}, v)) {
                block(f.writeArray("v", new long[] {0, 0}, d));
            }
            block(f.flush());
        } finally {
            block(f.close());
        }
        return s;
    }

    private static void check(ArrayFile f, int r0, int c0, int rows, int cols) {
        try (NdArray a = block(f.readArray("v", new long[] {r0, c0}, new long[] {rows, cols}))) {
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int got = a.getInt((long) r * cols + c);
                    if (got != value(r0 + r, c0 + c)) {
                        throw new AssertionError("region [" + r0 + ", " + c0 + "] + [" + rows + ", " + cols + "]: element ["
                                + (r0 + r) + ", " + (c0 + c) + "] is " + got + ", expected " + value(r0 + r, c0 + c));
                    }
                }
            }
        }
    }

    @Test
    void anyRegionReadsTheRightValuesAndMoreAfterAPartialDecode() {
        for (BlockCodec codec : new BlockCodec[] {FRAMED, BlockCodecs.zstd(3, 0), BlockCodecs.zstdRunFrames(3)}) {
            InMemoryStorage s = written(codec);
            ArrayFile f = block(ArrayFile.open(s, "t.af", options(codec)));
            try {
                // A prefix of every chunk (the profile slice), then reads needing more of the same blocks.
                check(f, 0, 0, 3, 40);
                check(f, 50, 0, 3, 40);
                check(f, 0, 0, 10, COLS);
                check(f, 0, 0, ROWS, COLS);
                check(f, 0, 0, 3, 40);
                check(f, 40, 250, 20, 50);
                Random rnd = new Random(11);
                for (int t = 0; t < 60; t++) {
                    int r0 = rnd.nextInt(ROWS);
                    int c0 = rnd.nextInt(COLS);
                    check(f, r0, c0, 1 + rnd.nextInt(ROWS - r0), 1 + rnd.nextInt(COLS - c0));
                }
            } finally {
                block(f.close());
            }
        }
    }

    @Test
    void theEnginesFramedBlocksDecodeWholeByTheCratesProcedure() {
        InMemoryStorage s = written(FRAMED);
        byte[] file = s.getBytes("t.1.af");
        Footer footer = Trailer.decodeLayer(ByteBuffer.wrap(file), "t.1.af");
        ArrayMeta m = footer.arrays().stream().filter(a -> a.name().equals("v")).findFirst().orElseThrow();
        int multiFrame = 0;
        for (ChunkEntry e : m.chunks()) {
            BlockMeta b = footer.blocks().stream().filter(x -> x.id() == e.address().blockId()).findFirst().orElseThrow();
            byte[] stored = Arrays.copyOfRange(file, (int) b.fileOffset(), (int) (b.fileOffset() + b.compressedSize()));
            if (Zstd.getFrameContentSize(stored) < b.uncompressedSize()) {
                multiFrame++;
            }
            // The crate: zstd bulk decompression of the whole block into uncompressed_size bytes, then the slice.
            byte[] whole = Zstd.decompress(stored, (int) b.uncompressedSize());
            assertEquals(b.uncompressedSize(), whole.length);
            ByteBuffer chunk = ByteBuffer.wrap(whole, (int) e.address().offset(), (int) e.address().size())
                    .slice().order(ByteOrder.LITTLE_ENDIAN);
            int r0 = (int) e.coord()[0] * 50;
            for (int i = 0; i < e.address().size() / 4; i++) {
                assertEquals(value(r0 + i / COLS, i % COLS), chunk.getInt(i * 4));
            }
        }
        assertEquals(m.chunks().size(), multiFrame, "every block of the new layout is several frames");
    }

    @Test
    void damageOutsideTheDecodedPartStillFailsTheRead() {
        InMemoryStorage s = written(FRAMED);
        byte[] bytes = s.getBytes("t.1.af");
        Footer footer = Trailer.decodeLayer(ByteBuffer.wrap(bytes), "t.1.af");
        BlockMeta b0 = footer.blocks().get(0);
        // The last stored byte of block 0: a frame of its last chunk, which a prefix read of the first does not decode.
        bytes[(int) (b0.fileOffset() + b0.compressedSize() - 2)] ^= 0x10;
        s.putBytes("t.1.af", bytes);
        ArrayFile f = block(ArrayFile.open(s, "t.af", options(FRAMED)));
        try {
            for (int attempt = 0; attempt < 2; attempt++) {
                Throwable e = assertThrows(Throwable.class, () -> check(f, 0, 0, 2, 10));
                Throwable c = e;
                while (!(c instanceof CorruptFileException) && c.getCause() != null) {
                    c = c.getCause();
                }
                assertInstanceOf(CorruptFileException.class, c, () -> "expected corruption, got " + e);
                assertTrue(c.getMessage().contains("checksum"), c.getMessage());
            }
        } finally {
            block(f.close());
        }
    }
}
