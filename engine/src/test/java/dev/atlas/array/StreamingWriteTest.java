package dev.atlas.array;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.testing.EngineTestBase;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

/** {@link ArrayFile#writeArray(String, long[], org.reactivestreams.Publisher)}: slabs streamed along axis 0. */
class StreamingWriteTest extends EngineTestBase {
    private static long[] sh(long... v) {
        return v;
    }

    private ArrayFile file(long blockTarget) {
        ArrayFileOptions o = ArrayFileOptions.builder(resources).codec(BlockCodecs.lz4()).blockTargetSize(blockTarget)
                .tempDirectory(tmp).build();
        return ArrayFile.create(InMemoryStorage.create(), "s.af", o).block(TIMEOUT);
    }

    /** Rows of {@code rows} x 5 x 8 ints whose value encodes (row, j, k). */
    private static NdArray slab(long firstRow, int rows) {
        int[] v = new int[rows * 40];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < 40; i++) {
                v[r * 40 + i] = (int) ((firstRow + r) * 1000 + i);
            }
        }
        return NdArray.ofInts(DType.INT32, sh(rows, 5, 8), v);
    }

    @Test
    void slabsOfAnyHeightLandConsecutivelyAndReadBackExactly() {
        ArrayFile f = file(4096);
        f.defineArray("t", ArraySpec.of(DType.INT32, 100, 6, 10).withChunks(8, 4, 4).withFill(new dev.atlas.format.FillValue.Int(-1))).block(TIMEOUT);
        SplittableRandom rnd = new SplittableRandom(5);
        int[] heights = new int[30];
        long total = 0;
        for (int i = 0; i < heights.length; i++) {
            heights[i] = rnd.nextInt(4); // zero-height slabs too
            total += heights[i];
        }
        long rowsTotal = total;
        AtomicLong at = new AtomicLong(3);
        long written = f.writeArray("t", sh(3, 1, 2), Flux.fromArray(java.util.Arrays.stream(heights).boxed().toArray(Integer[]::new))
                .map(h -> slab(at.getAndAdd(h), h))).block(TIMEOUT);
        assertEquals(rowsTotal, written);
        f.flush().block(TIMEOUT);
        try (NdArray all = f.readArray("t").block(TIMEOUT)) {
            for (int r = 0; r < 100; r++) {
                for (int j = 0; j < 6; j++) {
                    for (int k = 0; k < 10; k++) {
                        boolean in = r >= 3 && r < 3 + rowsTotal && j >= 1 && j < 6 && k >= 2 && k < 10;
                        int expect = in ? r * 1000 + (j - 1) * 8 + (k - 2) : -1;
                        assertEquals(expect, all.getInt(all.index(r, j, k)), "element " + r + "," + j + "," + k);
                    }
                }
            }
        }
        f.close().block(TIMEOUT);
    }

    private static final int FILL = -123_456_789;

    /** Rows of {@code rows} x 6 x 10 ints whose value encodes (row, j, k); some rows negative. */
    private static NdArray wideSlab(long firstRow, int rows) {
        int[] v = new int[rows * 60];
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < 60; i++) {
                long row = firstRow + r;
                v[r * 60 + i] = (int) ((row % 7 == 3 ? -1 : 1) * (row * 1000 + i));
            }
        }
        return NdArray.ofInts(DType.INT32, sh(rows, 6, 10), v);
    }

    @Test
    void streamsCoveringWholeChunksAreLaidOutChunkMajorAndReadBackExactly() {
        // The stream covers the trailing axes whole, so bands starting on a chunk row are laid out
        // chunk after chunk and become blocks without a copy; a band starting mid-chunk, and the
        // last band when the stream ends mid-chunk, go the row-major way. Chunks of 480 bytes,
        // blocks of at most 1 KiB: a band of 4 chunks makes 2 blocks.
        for (long[] run : new long[][] {{0, 100}, {4, 100}, {0, 45}, {13, 61}}) {
            ArrayFile f = file(1024);
            f.defineArray("t", ArraySpec.of(DType.INT32, 100, 6, 10).withChunks(8, 3, 5)
                    .withFill(new dev.atlas.format.FillValue.Int(FILL))).block(TIMEOUT);
            long from = run[0];
            long to = run[1];
            SplittableRandom rnd = new SplittableRandom(from * 31 + to);
            java.util.List<Integer> heights = new java.util.ArrayList<>();
            for (long left = to - from; left > 0; ) {
                int h = (int) Math.min(left, rnd.nextInt(13));
                heights.add(h);
                left -= h;
            }
            AtomicLong at = new AtomicLong(from);
            long written = f.writeArray("t", sh(from, 0, 0), Flux.fromIterable(heights).map(h -> wideSlab(at.getAndAdd(h), h)))
                    .block(TIMEOUT);
            assertEquals(to - from, written);
            long firstBand = (from + 7) / 8 * 8;
            long wholeBands = Math.max(0, (to == 100 ? 13 : to / 8) - firstBand / 8);
            assertEquals(wholeBands, Probes.chunkMajorBands(f), "bands laid out chunk-major for rows " + from + ".." + to);
            int min = Integer.MAX_VALUE;
            int max = Integer.MIN_VALUE;
            for (long r = from; r < to; r++) {
                for (int i = 0; i < 60; i++) {
                    int v = (int) ((r % 7 == 3 ? -1 : 1) * (r * 1000 + i));
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
            f.flush().block(TIMEOUT);
            long cells = 100 * 60;
            long nulls = cells - (to - from) * 60;
            assertEquals(nulls, f.arrayStats("t").nullCount(), "fill elements of rows " + from + ".." + to);
            assertEquals(cells, f.arrayStats("t").rowCount());
            assertEquals(new dev.atlas.format.StatValue.Int(min), f.arrayStats("t").min(), "min of rows " + from + ".." + to);
            assertEquals(new dev.atlas.format.StatValue.Int(max), f.arrayStats("t").max(), "max of rows " + from + ".." + to);
            assertEquals(f.arrayStats("t"), f.computeStats("t").block(TIMEOUT));
            try (NdArray all = f.readArray("t").block(TIMEOUT)) {
                for (int r = 0; r < 100; r++) {
                    for (int i = 0; i < 60; i++) {
                        int expect = r >= from && r < to ? (int) ((r % 7 == 3 ? -1 : 1) * (r * 1000L + i)) : FILL;
                        assertEquals(expect, all.getInt(r * 60L + i), "element " + r + "," + i + " of rows " + from + ".." + to);
                    }
                }
            }
            f.close().block(TIMEOUT);
        }
    }

    @Test
    void chunkMajorBandsPackBlocksExactlyAsOneRegionWriteDoes() {
        // Adopted bands pack their chunks into blocks by the same rule as staged chunks (slices for
        // blocks they fill from empty, copies to top up or to start the next open block), so the
        // flushed layer is byte for byte the one a single region write produces. Blocks of 1 KiB
        // hold two 480-byte chunks; a band of four chunks seals one block and leaves one open.
        for (long blockTarget : new long[] {1024, 2000, 400, 8192}) {
            InMemoryStorage streamed = InMemoryStorage.create();
            InMemoryStorage whole = InMemoryStorage.create();
            ArrayFileOptions o = ArrayFileOptions.builder(resources).codec(BlockCodecs.lz4()).blockTargetSize(blockTarget)
                    .tempDirectory(tmp).build();
            ArrayFile a = ArrayFile.create(streamed, "s.af", o).block(TIMEOUT);
            ArrayFile b = ArrayFile.create(whole, "s.af", o).block(TIMEOUT);
            for (ArrayFile f : new ArrayFile[] {a, b}) {
                f.defineArray("t", ArraySpec.of(DType.INT32, 100, 6, 10).withChunks(8, 3, 5)).block(TIMEOUT);
            }
            SplittableRandom rnd = new SplittableRandom(blockTarget);
            java.util.List<Integer> heights = new java.util.ArrayList<>();
            for (long left = 100; left > 0; ) {
                int h = (int) Math.min(left, 1 + rnd.nextInt(11));
                heights.add(h);
                left -= h;
            }
            AtomicLong at = new AtomicLong();
            a.writeArray("t", sh(0, 0, 0), Flux.fromIterable(heights).map(h -> wideSlab(at.getAndAdd(h), h))).block(TIMEOUT);
            assertEquals(13, Probes.chunkMajorBands(a));
            try (NdArray all = wideSlab(0, 100)) {
                b.writeArray("t", sh(0, 0, 0), all).block(TIMEOUT);
            }
            a.flush().block(TIMEOUT);
            b.flush().block(TIMEOUT);
            String layer = dev.atlas.internal.format.LayerNames.sidecar("s", 1);
            org.junit.jupiter.api.Assertions.assertArrayEquals(whole.getBytes(layer), streamed.getBytes(layer),
                    "layer written with block target " + blockTarget);
            a.close().block(TIMEOUT);
            b.close().block(TIMEOUT);
        }
    }

    @Test
    void slabsAreRequestedOneAtATimeAndMemoryStaysBounded() {
        ArrayFile f = file(256 << 10);
        // 4,096 rows of 64 x 64 int32 (16 KiB a row, 64 MiB in all), chunks of 16 rows: bands of 256 KiB.
        f.defineArray("x", ArraySpec.of(DType.INT32, 4096, 64, 64).withChunks(16, 32, 32)).block(TIMEOUT);
        AtomicInteger outstanding = new AtomicInteger();
        AtomicInteger maxOutstanding = new AtomicInteger();
        AtomicLong maxPending = new AtomicLong();
        int[] row = new int[3 * 64 * 64];
        Flux<NdArray> steps = Flux.range(0, 4096 / 3 + 1).map(i -> {
            int h = Math.min(3, 4096 - 3 * i);
            java.util.Arrays.fill(row, i);
            maxOutstanding.accumulateAndGet(outstanding.incrementAndGet(), Math::max);
            maxPending.accumulateAndGet(Probes.pendingBytesInMemory(f), Math::max);
            NdArray a = NdArray.ofInts(DType.INT32, sh(h, 64, 64), java.util.Arrays.copyOf(row, h * 64 * 64));
            return a;
        }).doOnRequest(n -> {
            if (n > 1 && n != Long.MAX_VALUE) {
                throw new AssertionError("requested " + n + " slabs at once");
            }
        }).doOnNext(x -> outstanding.decrementAndGet());
        long rows = f.writeArray("x", sh(0, 0, 0), steps).block(TIMEOUT);
        assertEquals(4096, rows);
        assertTrue(maxOutstanding.get() <= 1, "one slab in hand at a time: " + maxOutstanding);
        assertTrue(maxPending.get() <= (ArrayFileOptions.DEFAULT_WRITE_CONCURRENCY + 1) * (256 << 10),
                "pending blocks in memory stay within the spilling ones plus the open one: " + maxPending);
        try (NdArray w = f.readArray("x", sh(4000, 7, 9), sh(10, 2, 2)).block(TIMEOUT)) {
            for (int r = 0; r < 10; r++) {
                assertEquals((4000 + r) / 3, w.getInt(w.index(r, 0, 0)));
            }
        }
        f.close().block(TIMEOUT);
    }

    @Test
    void badSlabsAreTypedErrorsAndReleaseEverything() {
        ArrayFile f = file(4096);
        f.defineArray("t", ArraySpec.of(DType.INT32, 20, 5, 8).withChunks(8, 5, 8)).block(TIMEOUT);
        RuntimeException e = assertThrows(RuntimeException.class, () -> f.writeArray("t", sh(0, 0, 0),
                Flux.just(slab(0, 3), NdArray.ofInts(DType.INT32, sh(1, 5, 7), new int[35]))).block(TIMEOUT));
        assertInstanceOf(InvalidArgumentException.class, e);
        e = assertThrows(RuntimeException.class, () -> f.writeArray("t", sh(0, 0, 0),
                Flux.just(slab(0, 12), slab(12, 9))).block(TIMEOUT));
        assertInstanceOf(InvalidArgumentException.class, e);
        assertTrue(e.getMessage().contains("runs past"), e.getMessage());
        e = assertThrows(RuntimeException.class, () -> f.writeArray("t", sh(0, 0, 0),
                Flux.just(NdArray.ofFloats(sh(1, 5, 8), new float[40]))).block(TIMEOUT));
        assertInstanceOf(DTypeMismatchException.class, e);
        // A failing source mid-way: what was gathered is released.
        e = assertThrows(RuntimeException.class, () -> f.writeArray("t", sh(0, 0, 0),
                Flux.concat(Flux.just(slab(0, 3)), Flux.error(new IllegalStateException("source broke")))).block(TIMEOUT));
        assertEquals("source broke", e.getMessage());
        f.close().block(TIMEOUT);
    }

    @Test
    void aCancelledStreamLeaksNothing() {
        ArrayFile f = file(4096);
        f.defineArray("t", ArraySpec.of(DType.INT32, 4000, 5, 8).withChunks(8, 5, 8)).block(TIMEOUT);
        AtomicLong at = new AtomicLong();
        for (int round = 0; round < 20; round++) {
            Flux<NdArray> src = Flux.range(0, 1000).map(i -> slab(at.get(), 1))
                    .delayElements(Duration.ofMillis(1));
            f.writeArray("t", sh(0, 0, 0), src).timeout(Duration.ofMillis(5 + round)).onErrorResume(x -> reactor.core.publisher.Mono.empty())
                    .block(TIMEOUT);
        }
        f.discardPending().block(TIMEOUT);
        f.close().block(TIMEOUT);
    }

}
