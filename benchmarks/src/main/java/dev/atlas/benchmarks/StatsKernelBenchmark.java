package dev.atlas.benchmarks;

import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.internal.format.StatsKernel;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Statistics over every written float32 element: the writer runs this once per chunk, so its speed
 * is part of every write. One op = one 1 MiB chunk (262,144 elements) in a direct little-endian
 * buffer, as the write path hands it over.
 *
 * <ul>
 *   <li>{@code engine}: {@link StatsKernel.Accumulator#addFixed}, what the writer calls.
 *   <li>{@code reduction}: min/max carried in two scalars across the loop (a reduction, which C2 in
 *       JDK 17 keeps scalar).
 *   <li>{@code lanes}: min/max carried per position in scratch arrays (an element-wise loop, in
 *       the hope C2 vectorises it), reduced once per chunk.
 *   <li>{@code direct}: the reduction reading the buffer element by element, no scratch copy.
 * </ul>
 *
 * The other kernels are the old no-fill loop alone and its variants (the engine's handles the fill
 * modes too). They show why the engine's no-null pass uses float {@code Math.min}/{@code max} per
 * lane: C2 in JDK 17 vectorises those, and none of the int forms here.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class StatsKernelBenchmark {
    static final int N = 1 << 18;
    static final int SCRATCH = 2048;

    /**
     * none: no fill; nan: NaN fill (NaNs are nulls); value: a numeric fill; nanHoles / valueHoles:
     * the same fills with every 97th element a null (the chunk is not free of nulls, so the
     * vectorised pass cannot answer and the exact loop runs after it).
     */
    @Param({"none", "nan", "value", "nanHoles", "valueHoles"})
    public String fill;

    private ByteBuffer chunk;
    private FillValue fillValue;
    private final int[] s = new int[SCRATCH];
    private final int[] lo = new int[SCRATCH];
    private final int[] hi = new int[SCRATCH];

    @Setup
    public void setup() {
        chunk = ByteBuffer.allocateDirect(N * 4).order(ByteOrder.LITTLE_ENDIAN);
        Random rnd = new Random(1);
        for (int i = 0; i < N; i++) {
            chunk.putFloat(i * 4, (float) (Math.sin(i * 0.001) * 10 + rnd.nextGaussian() * 0.01));
        }
        fillValue = switch (fill) {
            case "none" -> null;
            case "nan", "nanHoles" -> new FillValue.Float(Double.NaN);
            default -> new FillValue.Float(-9999.0);
        };
        if (fill.endsWith("Holes")) {
            for (int i = 0; i < N; i += 97) {
                chunk.putFloat(i * 4, (float) ((FillValue.Float) fillValue).value());
            }
        }
    }

    @Benchmark
    public Object engine() {
        return StatsKernel.accumulator(DType.FLOAT32, fillValue).addFixed(chunk, N);
    }

    @Benchmark
    public long reduction() {
        IntBuffer in = chunk.asIntBuffer();
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        for (int at = 0; at < N; at += SCRATCH) {
            int m = Math.min(SCRATCH, N - at);
            in.get(at, s, 0, m);
            for (int i = 0; i < m; i++) {
                int bits = s[i];
                int key = bits ^ ((bits >> 31) & Integer.MAX_VALUE);
                min = Math.min(min, key);
                max = Math.max(max, key);
            }
        }
        return ((long) min << 32) ^ max;
    }

    @Benchmark
    public long direct() {
        ByteBuffer in = chunk;
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        for (int i = 0; i < N; i++) {
            int bits = in.getInt(i << 2);
            int key = bits ^ ((bits >> 31) & Integer.MAX_VALUE);
            min = Math.min(min, key);
            max = Math.max(max, key);
        }
        return ((long) min << 32) ^ max;
    }

    @Benchmark
    public long lanes() {
        IntBuffer in = chunk.asIntBuffer();
        Arrays.fill(lo, Integer.MAX_VALUE);
        Arrays.fill(hi, Integer.MIN_VALUE);
        for (int at = 0; at < N; at += SCRATCH) {
            int m = Math.min(SCRATCH, N - at);
            in.get(at, s, 0, m);
            for (int i = 0; i < m; i++) {
                int bits = s[i];
                int key = bits ^ ((bits >> 31) & Integer.MAX_VALUE);
                lo[i] = Math.min(lo[i], key);
                hi[i] = Math.max(hi[i], key);
            }
        }
        int min = Integer.MAX_VALUE;
        int max = Integer.MIN_VALUE;
        for (int i = 0; i < SCRATCH; i++) {
            min = Math.min(min, lo[i]);
            max = Math.max(max, hi[i]);
        }
        return ((long) min << 32) ^ max;
    }
}
