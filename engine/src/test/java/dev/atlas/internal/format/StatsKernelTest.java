package dev.atlas.internal.format;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.format.StatValue;
import dev.atlas.testing.Interop;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/** The statistics kernel: reference acceptance items 65-75, and every stats entry of the corpus recomputed. */
class StatsKernelTest {

    private static ByteBuffer ints(int... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : v) {
            b.putInt(x);
        }
        return b.flip();
    }

    private static ByteBuffer longs(long... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) {
            b.putLong(x);
        }
        return b.flip();
    }

    private static ByteBuffer doubles(double... v) {
        ByteBuffer b = ByteBuffer.allocate(8 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (double x : v) {
            b.putDouble(x);
        }
        return b.flip();
    }

    @Test
    void referenceKernelCases() {
        assertEquals(new ArrayStats("a", new StatValue.Int(3), new StatValue.Int(9), 2, 6),
                StatsKernel.accumulator(DType.INT32, new FillValue.Int(1)).addFixed(ints(3, 1, 4, 1, 5, 9), 6)
                        .finish("a", new long[] {6}));
        assertEquals(new ArrayStats("a", new StatValue.Int(10), new StatValue.Int(30), 0, 3),
                StatsKernel.accumulator(DType.INT32, null).addFixed(ints(10, 20, 30), 3).finish("a", new long[] {3}));
        assertEquals(new ArrayStats("a", null, null, 3, 3),
                StatsKernel.accumulator(DType.INT32, new FillValue.Int(7)).addFixed(ints(7, 7, 7), 3).finish("a", new long[] {3}));
        assertEquals(new ArrayStats("a", new StatValue.Float(1.0), new StatValue.Float(4.0), 0, 4),
                StatsKernel.accumulator(DType.FLOAT64, null).addFixed(doubles(3, 1, 4, 1.5), 4).finish("a", new long[] {4}));
        List<byte[]> fruit = List.of("banana".getBytes(), "apple".getBytes(), "cherry".getBytes());
        ArrayStats s = StatsKernel.accumulator(DType.STRING, null).addVarLen(fruit).finish("s", new long[] {3});
        assertEquals(new StatValue.Bytes("apple".getBytes()), s.min());
        assertEquals(new StatValue.Bytes("cherry".getBytes()), s.max());
        assertEquals(2, StatsKernel.accumulator(DType.STRING, new FillValue.Str(""))
                .addVarLen(List.of("a".getBytes(), new byte[0], "b".getBytes(), new byte[0])).finish("s", new long[] {4}).nullCount());
        // Merging partial aggregates: (5..10, 1 null of 3) + (2..8, 0 of 2) = (2..10, 1 of 5).
        StatsKernel.Accumulator x = StatsKernel.accumulator(DType.INT32, new FillValue.Int(0)).addFixed(ints(5, 10, 0), 3);
        StatsKernel.Accumulator y = StatsKernel.accumulator(DType.INT32, new FillValue.Int(0)).addFixed(ints(2, 8), 2);
        assertEquals(new ArrayStats("m", new StatValue.Int(2), new StatValue.Int(10), 1, 5), x.merge(y).finish("m", new long[] {5}));
        assertEquals(new ArrayStats("t", new StatValue.TimestampNs(-5), new StatValue.TimestampNs(10), 2, 5),
                StatsKernel.accumulator(DType.TIMESTAMP_NS, new FillValue.TimestampNs(20))
                        .addFixed(longs(10, 20, -5, 7, 20), 5).finish("t", new long[] {5}));
        assertEquals(1, StatsKernel.accumulator(DType.TIMESTAMP_NS, new FillValue.Int(2))
                .addFixed(longs(1, 2, 3), 3).finish("t", new long[] {3}).nullCount());
        // Never-stored cells count as nulls: only chunk 0 of 10 cells written.
        assertEquals(new ArrayStats("u", new StatValue.Int(1), new StatValue.Int(5), 5, 10),
                StatsKernel.accumulator(DType.INT32, new FillValue.Int(0)).addFixed(ints(1, 2, 3, 4, 5), 5)
                        .finish("u", new long[] {10}));
        // IEEE total order: a positive NaN is the max, -0.0 < +0.0.
        ArrayStats f = StatsKernel.accumulator(DType.FLOAT64, null).addFixed(doubles(Double.NaN, -0.0, 0.0, 1.0), 4)
                .finish("f", new long[] {4});
        assertEquals(new StatValue.Float(-0.0), f.min());
        assertEquals(new StatValue.Float(Double.NaN), f.max());
    }

    /**
     * The branch-free float loops against the one-element-at-a-time definition: fills of every
     * kind (none, +0, -0, NaN, a value present), data with NaNs of both signs, zeros of both signs,
     * infinities and fills, lengths that cross the loops' scratch blocks, all-null chunks.
     */
    @Test
    void floatLoopsAgreeWithTheElementwiseDefinition() {
        java.util.Random rnd = new java.util.Random(42);
        // 1e30 lies outside every chunk's range below: the vectorised pass answers for it
        double[] fills = {Double.NaN, 0.0, -0.0, 1.5, -3.25, Double.POSITIVE_INFINITY, 1e30};
        double[] specials = {Double.NaN, -Double.NaN, Double.longBitsToDouble(0x7ff8000000000123L), 0.0, -0.0,
            Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1.5, -3.25, Float.MIN_VALUE, -Double.MAX_VALUE};
        double[] noNaN = java.util.Arrays.stream(specials).filter(d -> !Double.isNaN(d)).toArray();
        int[] lengths = {0, 1, 7, 511, 512, 513, 1023, 1024, 1025, 4095, 4096, 4097, 9000};
        for (DType dtype : List.of(DType.FLOAT32, DType.FLOAT64)) {
            int w = (int) dtype.elementSize();
            for (int n : lengths) {
                // trials 0-2 random with specials, 3 all one value, 4 specials but no NaN (the
                // vectorised no-fill loop runs to the end instead of handing over to the exact one)
                for (int trial = 0; trial < 5; trial++) {
                    ByteBuffer b = ByteBuffer.allocate(n * w).order(ByteOrder.LITTLE_ENDIAN);
                    double allSame = specials[rnd.nextInt(specials.length)];
                    for (int i = 0; i < n; i++) {
                        double v = trial == 3 ? allSame
                                : trial == 4 ? (rnd.nextInt(8) == 0 ? noNaN[rnd.nextInt(noNaN.length)] : rnd.nextGaussian() * 100)
                                : rnd.nextInt(8) == 0 ? specials[rnd.nextInt(specials.length)] : rnd.nextGaussian() * 100;
                        if (w == 4) {
                            b.putFloat(i * 4, (float) v);
                        } else {
                            b.putDouble(i * 8, v);
                        }
                    }
                    List<FillValue> fillKinds = new ArrayList<>();
                    fillKinds.add(null);
                    for (double f : fills) {
                        fillKinds.add(new FillValue.Float(f));
                    }
                    for (FillValue fill : fillKinds) {
                        ArrayStats fast = StatsKernel.accumulator(dtype, fill).addFixed(b.duplicate(), n)
                                .finish("x", new long[] {n});
                        ArrayStats slow = StatsKernel.accumulator(dtype, fill).addFixedOneByOne(b.duplicate(), n)
                                .finish("x", new long[] {n});
                        assertEquals(slow, fast, dtype + " n=" + n + " trial " + trial + " fill " + fill);
                        // two chunks into one accumulator: the second folds into the first's extremes
                        int half = n / 2;
                        ArrayStats split = StatsKernel.accumulator(dtype, fill)
                                .addFixed(b.duplicate().limit(half * w), half)
                                .addFixed(b.duplicate().position(half * w), n - half)
                                .finish("x", new long[] {n});
                        assertEquals(slow, split, dtype + " n=" + n + " trial " + trial + " fill " + fill + " in two");
                    }
                }
            }
        }
    }

    @TestFactory
    Stream<DynamicTest> corpusStatsEntriesAreReproduced() throws Exception {
        Path corpus = Interop.root().resolve("array-format");
        JsonNode exp = CorpusFooterTest.expected(corpus);
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode set : exp.get("file_sets")) {
            List<String> names = new ArrayList<>();
            List<ByteBuffer> files = new ArrayList<>();
            for (JsonNode f : set.get("files")) {
                if (!f.get("role").asText().equals("stats")) {
                    names.add(f.get("path").asText());
                    files.add(ByteBuffer.wrap(Files.readAllBytes(corpus.resolve(f.get("path").asText()))));
                }
            }
            InMemoryFileSet fs = InMemoryFileSet.decode(names, files, "-", null, PooledByteBufAllocator.DEFAULT);
            for (JsonNode a : set.get("visible_arrays")) {
                JsonNode want = a.has("stats_recomputed_intended") ? a.get("stats_recomputed_intended") : a.get("stats_entry");
                if (want.isNull()) {
                    continue;
                }
                String name = a.get("name").asText();
                tests.add(DynamicTest.dynamicTest(set.get("id").asText() + "/" + name, () -> {
                    ArrayStats got = fs.computeStats(name);
                    JsonNode g = CorpusJson.normalize(CorpusJson.stats(new StatsFile(StatsFile.UNVERSIONED, List.of(got))))
                            .get("arrays").get(0);
                    assertEquals(want.get("min"), g.get("min"), name + " min");
                    assertEquals(want.get("max"), g.get("max"), name + " max");
                    assertEquals(want.get("null_count"), g.get("null_count"), name + " null_count");
                    assertEquals(want.get("row_count"), g.get("row_count"), name + " row_count");
                }));
            }
        }
        return tests.stream();
    }
}
