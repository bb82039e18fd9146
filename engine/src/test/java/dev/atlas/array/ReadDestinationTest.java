package dev.atlas.array;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.atlas.codec.BlockCodecs;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.InMemoryStorage;
import io.netty.buffer.AbstractByteBufAllocator;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;

/**
 * A read destination is written by chunk copies alone when every chunk of the region is stored
 * (no fill pass), and by the fill pass plus the copies otherwise. Every buffer the engine allocates
 * here starts out as garbage (0xA5 bytes), so a destination byte that neither writes shows up as
 * 0xA5A5A5A5 instead of passing for a zero fill.
 */
class ReadDestinationTest {
    private static final int GARBAGE = 0xA5A5A5A5;
    private static final long ROWS = 37;
    private static final long COLS = 53;

    @TempDir
    static Path tmp;

    static EngineResources resources;

    /** Pooled buffers, every one filled with 0xA5 before the engine sees it. */
    static final class PoisoningAllocator extends AbstractByteBufAllocator {
        PoisoningAllocator() {
            super(true);
        }

        @Override
        protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
            return poison(PooledByteBufAllocator.DEFAULT.heapBuffer(initialCapacity, maxCapacity));
        }

        @Override
        protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
            return poison(PooledByteBufAllocator.DEFAULT.directBuffer(initialCapacity, maxCapacity));
        }

        private static ByteBuf poison(ByteBuf b) {
            for (int i = 0; i < b.capacity(); i++) {
                b.setByte(i, 0xA5);
            }
            return b;
        }

        @Override
        public boolean isDirectBufferPooled() {
            return true;
        }
    }

    @BeforeAll
    static void start() {
        resources = EngineResources.create(2, 2, new PoisoningAllocator());
    }

    @AfterAll
    static void stop() {
        resources.disposeLater().block(TIMEOUT);
    }


    private static ArrayFileOptions options() {
        // Small LZ4 blocks: the region's chunks come from many blocks, of three layers.
        return ArrayFileOptions.builder(resources).codec(BlockCodecs.lz4()).blockTargetSize(1024).tempDirectory(tmp)
                .readConcurrency(4).build();
    }

    /** Runs {@code test} on a new file in memory, closing it after. */
    private static void withFile(java.util.function.Consumer<ArrayFile> test) {
        ArrayFile f = block(ArrayFile.create(InMemoryStorage.create(), "d.af", options()));
        try {
            test.accept(f);
        } finally {
            block(f.close());
        }
    }

    private static void write(ArrayFile f, String name, long r0, long c0, long rows, long cols, int[][] model, int tag) {
        int[] v = new int[(int) (rows * cols)];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                int x = tag * 100_000 + (int) ((r0 + r) * COLS + c0 + c);
                v[(int) (r * cols + c)] = x;
                model[(int) (r0 + r)][(int) (c0 + c)] = x;
            }
        }
        try (NdArray d = NdArray.ofInts(DType.INT32, new long[] {rows, cols}, v)) {
            block(f.writeArray(name, new long[] {r0, c0}, d));
        }
    }

    private static void assertRegion(ArrayFile f, String name, int[][] model, long r0, long c0, long rows, long cols) {
        try (NdArray a = block(f.readArray(name, new long[] {r0, c0}, new long[] {rows, cols}))) {
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    int got = a.getInt(r * cols + c);
                    int want = model[(int) (r0 + r)][(int) (c0 + c)];
                    if (got != want) {
                        assertEquals(want, got, name + " [" + (r0 + r) + ", " + (c0 + c) + "] of region [" + r0 + ", " + c0
                                + "] + [" + rows + ", " + cols + "]" + (got == GARBAGE ? ": never written" : ""));
                    }
                }
            }
        }
    }

    private static void assertRandomRegions(ArrayFile f, String name, int[][] model) {
        assertRegion(f, name, model, 0, 0, ROWS, COLS);
        Random rnd = new Random(11);
        for (int i = 0; i < 60; i++) {
            long r0 = rnd.nextInt((int) ROWS);
            long c0 = rnd.nextInt((int) COLS);
            long rows = 1 + rnd.nextInt((int) (ROWS - r0));
            long cols = 1 + rnd.nextInt((int) (COLS - c0));
            assertRegion(f, name, model, r0, c0, rows, cols);
        }
    }

    @Test
    void everyChunkStoredAcrossLayersAndPendingWritesLeavesNoByteUnwritten() {
        withFile(f -> {
            block(f.defineArray("a", ArraySpec.of(DType.INT32, ROWS, COLS).withChunks(8, 16)));
            int[][] model = new int[(int) ROWS][(int) COLS];
            write(f, "a", 0, 0, ROWS, COLS, model, 1);
            block(f.flush());
            write(f, "a", 5, 10, 15, 30, model, 2);
            block(f.flush());
            write(f, "a", 30, 0, 7, COLS, model, 3); // stays pending
            assertRandomRegions(f, "a", model);
            block(f.compact());
            assertRandomRegions(f, "a", model);
        });
    }

    @Test
    void chunksNoLayerStoresReadAsTheFillElement() {
        withFile(f -> {
            block(f.defineArray("b", ArraySpec.of(DType.INT32, ROWS, COLS).withChunks(8, 16).withFill(new FillValue.Int(7))));
            int[][] model = new int[(int) ROWS][(int) COLS];
            for (int[] row : model) {
                java.util.Arrays.fill(row, 7);
            }
            write(f, "b", 8, 16, 8, 16, model, 1); // exactly one chunk
            block(f.flush());
            write(f, "b", 20, 3, 9, 40, model, 2); // parts of several chunks, pending
            assertRandomRegions(f, "b", model);
            // A zero fill too (the pass zeroes instead of copying the element).
            block(f.defineArray("z", ArraySpec.of(DType.INT32, ROWS, COLS).withChunks(8, 16)));
            int[][] zero = new int[(int) ROWS][(int) COLS];
            write(f, "z", 1, 1, 3, 3, zero, 1);
            assertRandomRegions(f, "z", zero);
        });
    }

    @Test
    void readIntoWritesItsRegionAndNothingAroundIt() {
        withFile(f -> {
            block(f.defineArray("a", ArraySpec.of(DType.INT32, ROWS, COLS).withChunks(8, 16)));
            int[][] model = new int[(int) ROWS][(int) COLS];
            write(f, "a", 0, 0, ROWS, COLS, model, 1);
            block(f.flush());
            long[] start = {3, 7};
            long[] shape = {20, 30};
            int offset = 64;
            int bytes = 20 * 30 * 4;
            ReadTarget target = ReadTarget.allocate(resources.allocator(), offset + bytes + 64);
            try {
                block(f.readInto("a", DType.INT32, start, shape, target, offset));
                ByteBuf buf = target.buf;
                for (int i = 0; i < offset; i += 4) {
                    assertEquals(GARBAGE, buf.getIntLE(i), "byte " + i + " before the region was written");
                }
                for (int i = offset + bytes; i < buf.capacity(); i += 4) {
                    assertEquals(GARBAGE, buf.getIntLE(i), "byte " + i + " after the region was written");
                }
                for (int r = 0; r < 20; r++) {
                    for (int c = 0; c < 30; c++) {
                        assertEquals(model[3 + r][7 + c], buf.getIntLE(offset + (r * 30 + c) * 4), "[" + r + ", " + c + "]");
                    }
                }
            } finally {
                target.release();
            }
        });
    }
}
