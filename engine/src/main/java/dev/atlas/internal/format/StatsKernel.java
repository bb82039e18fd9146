package dev.atlas.internal.format;

import dev.atlas.format.ArrayStats;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.format.StatValue;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.List;

/**
 * Per-array statistics as the format defines them: over every visible stored chunk, the minimum
 * and maximum of the cells that do not match the fill value, and the count of cells that do;
 * {@code row_count} is the array's cell count and {@code null_count} adds the never-stored cells.
 *
 * <p>Fill matching (which differs from fill materialisation): signed and unsigned integers match
 * {@code Int} or {@code UInt} fills truncated to their width; floats match only {@code Float}
 * fills converted to their width, by IEEE equality, except that a NaN fill matches every NaN;
 * timestamps match {@code TimestampNs} or {@code Int}; String and Binary match {@code String}
 * fills by bytes; Bool matches {@code Bool}. Floats are ordered by IEEE 754 total order (so a
 * positive NaN is the largest value), byte strings unsigned-lexicographically.
 *
 * <p>Accumulators are not thread-safe; merge partial ones with {@link Accumulator#merge}.
 */
public final class StatsKernel {
    private StatsKernel() {
    }

    /** A new accumulator for an array of {@code dtype} with fill value {@code fill} (may be null). */
    public static Accumulator accumulator(DType dtype, FillValue fill) {
        return new Accumulator(dtype, fill);
    }

    /** Running min/max/null/element counts over chunks. */
    public static final class Accumulator {
        private final DType dtype;
        private final FillValue fill;
        private StatValue min;
        private StatValue max;
        private long nullsInChunks;
        private long storedElements;

        private Accumulator(DType dtype, FillValue fill) {
            this.dtype = dtype;
            this.fill = fill;
        }

        /**
         * Adds one fixed-width chunk of {@code count} elements.
         *
         * @param chunk little-endian element bytes from position to limit; not modified
         */
        public Accumulator addFixed(ByteBuffer chunk, long count) {
            ByteBuffer b = chunk.slice().order(ByteOrder.LITTLE_ENDIAN);
            int w = (int) dtype.elementSize();
            DType.Kind k = dtype.kind();
            if (k == DType.Kind.FIXED_SIZE_LIST || k == DType.Kind.LIST) {
                return this;
            }
            if (k == DType.Kind.FLOAT32) {
                addFloat32(b, (int) count);
                storedElements += count;
                return this;
            }
            if (k == DType.Kind.FLOAT64) {
                addFloat64(b, (int) count);
                storedElements += count;
                return this;
            }
            if (k == DType.Kind.INT8 || k == DType.Kind.INT16 || k == DType.Kind.INT32 || k == DType.Kind.INT64) {
                addSigned(b, count, w);
                storedElements += count;
                return this;
            }
            return addEach(b, count, w);
        }

        /** Adds {@code count} elements of width {@code w} from {@code b} (little-endian) one at a time. */
        private Accumulator addEach(ByteBuffer b, long count, int w) {
            for (long i = 0; i < count; i++) {
                int at = (int) (i * w);
                long bits;
                switch (w) {
                    case 1: bits = b.get(at); break;
                    case 2: bits = b.getShort(at); break;
                    case 4: bits = b.getInt(at); break;
                    default: bits = b.getLong(at); break;
                }
                addBits(bits);
            }
            storedElements += count;
            return this;
        }

        /** Adds one String/Binary chunk's elements. */
        public Accumulator addVarLen(List<byte[]> elements) {
            byte[] fillBytes = fill instanceof FillValue.Str
                    ? ((FillValue.Str) fill).value().getBytes(java.nio.charset.StandardCharsets.UTF_8) : null;
            for (byte[] e : elements) {
                if (fillBytes != null && Arrays.equals(fillBytes, e)) {
                    nullsInChunks++;
                    continue;
                }
                StatValue v = new StatValue.Bytes(e);
                if (min == null || Arrays.compareUnsigned(e, ((StatValue.Bytes) min).value()) < 0) {
                    min = v;
                }
                if (max == null || Arrays.compareUnsigned(e, ((StatValue.Bytes) max).value()) > 0) {
                    max = v;
                }
            }
            storedElements += elements.size();
            return this;
        }

        /** float64: as {@link #addFloat32} with long keys. */
        private void addFloat64(ByteBuffer b, int n) {
            if (n > 0 && addFloat64NoNaN(b, n)) {
                return;
            }
            boolean hasFill = fill instanceof FillValue.Float;
            double fd = hasFill ? ((FillValue.Float) fill).value() : 0;
            long fillBits = Double.doubleToRawLongBits(fd);
            long cmpMask = (fillBits & Long.MAX_VALUE) == 0 ? Long.MAX_VALUE : -1L;
            int mode = !hasFill ? 0 : Double.isNaN(fd) ? 1 : 2;
            java.nio.LongBuffer in = b.asLongBuffer();
            long[] s = SCRATCH_LONG.get();
            long lo = Long.MAX_VALUE;
            long hi = Long.MIN_VALUE;
            long nulls = 0;
            for (int at = 0; at < n; at += s.length) {
                int m = Math.min(s.length, n - at);
                in.get(at, s, 0, m);
                long cnt = 0;
                for (int i = 0; i < m; i++) {
                    long bits = s[i];
                    long isNull;
                    if (mode == 0) {
                        isNull = 0;
                    } else if (mode == 1) {
                        isNull = (0x7ff0000000000000L - (bits & Long.MAX_VALUE)) >>> 63;
                    } else {
                        long d = (bits ^ fillBits) & cmpMask;
                        isNull = ((d | -d) >>> 63) ^ 1;
                    }
                    long nullMask = -isNull;
                    long key = bits ^ ((bits >> 63) & Long.MAX_VALUE);
                    lo = Math.min(lo, (key & ~nullMask) | (Long.MAX_VALUE & nullMask));
                    hi = Math.max(hi, (key & ~nullMask) | (Long.MIN_VALUE & nullMask));
                    cnt += isNull;
                }
                nulls += cnt;
            }
            nullsInChunks += nulls;
            if (n - nulls > 0) {
                double minV = Double.longBitsToDouble(lo ^ ((lo >> 63) & Long.MAX_VALUE));
                double maxV = Double.longBitsToDouble(hi ^ ((hi >> 63) & Long.MAX_VALUE));
                if (min == null || lo < totalOrderKey(((StatValue.Float) min).value())) {
                    min = new StatValue.Float(minV);
                }
                if (max == null || hi > totalOrderKey(((StatValue.Float) max).value())) {
                    max = new StatValue.Float(maxV);
                }
            }
        }

        /**
         * float32 chunks with no null (every chunk of an array without a fill): per-lane {@code Math.min}/{@code Math.max} over
         * float arrays, which C2 turns into vector min/max instructions (JDK 17 vectorises the float
         * forms but not the int ones the total-order loop below needs: 16-20 GB/s against 4-6 GB/s a
         * core, {@code StatsKernelBenchmark}). Without NaNs the float order and the total order agree
         * (including -0.0 below +0.0), so the extremes are the same. A NaN anywhere turns a lane's
         * extreme into NaN: then this returns {@code false} having changed nothing, and the exact
         * loop runs instead. With a fill it only answers when the chunk holds no null: a NaN fill
         * with no NaN seen, or a numeric fill outside the extremes found (so no element equals it);
         * otherwise the exact loop runs, having lost this pass (a few times cheaper than it).
         */
        private boolean addFloat32NoNaN(ByteBuffer b, int n) {
            java.nio.FloatBuffer in = b.asFloatBuffer();
            FloatLanes t = FLOAT_LANES.get();
            float[] s = t.scratch;
            float[] lo = t.lo;
            float[] hi = t.hi;
            int lanes = Math.min(s.length, n);
            in.get(0, lo, 0, lanes);
            System.arraycopy(lo, 0, hi, 0, lanes);
            for (int at = lanes; at < n; at += s.length) {
                int m = Math.min(s.length, n - at);
                in.get(at, s, 0, m);
                for (int i = 0; i < m; i++) {
                    float v = s[i];
                    lo[i] = Math.min(lo[i], v);
                    hi[i] = Math.max(hi[i], v);
                }
            }
            float l = lo[0];
            float h = hi[0];
            for (int i = 1; i < lanes; i++) {
                l = Math.min(l, lo[i]);
                h = Math.max(h, hi[i]);
            }
            if (Float.isNaN(l) || Float.isNaN(h) || !fillAbsent((float) fillValue(), l, h)) {
                return false;
            }
            storeExtremes(l, h);
            return true;
        }

        /** float64: as {@link #addFloat32NoNaN}. */
        private boolean addFloat64NoNaN(ByteBuffer b, int n) {
            java.nio.DoubleBuffer in = b.asDoubleBuffer();
            DoubleLanes t = DOUBLE_LANES.get();
            double[] s = t.scratch;
            double[] lo = t.lo;
            double[] hi = t.hi;
            int lanes = Math.min(s.length, n);
            in.get(0, lo, 0, lanes);
            System.arraycopy(lo, 0, hi, 0, lanes);
            for (int at = lanes; at < n; at += s.length) {
                int m = Math.min(s.length, n - at);
                in.get(at, s, 0, m);
                for (int i = 0; i < m; i++) {
                    double v = s[i];
                    lo[i] = Math.min(lo[i], v);
                    hi[i] = Math.max(hi[i], v);
                }
            }
            double l = lo[0];
            double h = hi[0];
            for (int i = 1; i < lanes; i++) {
                l = Math.min(l, lo[i]);
                h = Math.max(h, hi[i]);
            }
            if (Double.isNaN(l) || Double.isNaN(h) || !fillAbsent(fillValue(), l, h)) {
                return false;
            }
            storeExtremes(l, h);
            return true;
        }

        /** This accumulator's float fill, NaN when it has none (a NaN fill can only match a NaN). */
        private double fillValue() {
            return fill instanceof FillValue.Float f ? f.value() : Double.NaN;
        }

        /**
         * Whether a chunk with no NaN and extremes {@code l..h} can hold no element equal to the
         * fill {@code f}: a NaN fill never matches, another only from inside the range (a zero fill
         * matches both zeros, and {@code 0.0 == -0.0} keeps that case inside).
         */
        private static boolean fillAbsent(double f, double l, double h) {
            return Double.isNaN(f) || f < l || f > h;
        }

        /** Folds one chunk's non-null float extremes (no NaN) into the running ones. */
        private void storeExtremes(double l, double h) {
            if (min == null || totalOrderKey(l) < totalOrderKey(((StatValue.Float) min).value())) {
                min = new StatValue.Float(l);
            }
            if (max == null || totalOrderKey(h) > totalOrderKey(((StatValue.Float) max).value())) {
                max = new StatValue.Float(h);
            }
        }

        /**
         * float32: extremes tracked as int total-order keys of the float bits (the same order as the
         * double keys of {@link #addBits}: widening is monotonic), branch-free in the common case.
         */
        private void addFloat32(ByteBuffer b, int n) {
            if (n > 0 && addFloat32NoNaN(b, n)) {
                return;
            }
            boolean hasFill = fill instanceof FillValue.Float;
            float ff = hasFill ? (float) ((FillValue.Float) fill).value() : 0;
            int fillBits = Float.floatToRawIntBits(ff);
            // A +-0 fill matches both zeros (x == ff), so the sign bit is left out of the compare.
            int cmpMask = (fillBits & Integer.MAX_VALUE) == 0 ? Integer.MAX_VALUE : -1;
            int mode = !hasFill ? 0 : Float.isNaN(ff) ? 1 : 2;
            java.nio.IntBuffer in = b.asIntBuffer();
            int[] s = SCRATCH.get();
            int lo = Integer.MAX_VALUE;
            int hi = Integer.MIN_VALUE;
            long nulls = 0;
            for (int at = 0; at < n; at += s.length) {
                int m = Math.min(s.length, n - at);
                in.get(at, s, 0, m);
                // Branch-free loops (the null test is arithmetic, not a branch) so C2 can unroll
                // and vectorise them: this runs over every written element.
                if (mode == 0) {
                    for (int i = 0; i < m; i++) {
                        int bits = s[i];
                        int key = bits ^ ((bits >> 31) & Integer.MAX_VALUE);
                        lo = Math.min(lo, key);
                        hi = Math.max(hi, key);
                    }
                    continue;
                }
                int cnt = 0;
                if (mode == 1) {
                    for (int i = 0; i < m; i++) {
                        int bits = s[i];
                        int isNull = (0x7f800000 - (bits & Integer.MAX_VALUE)) >>> 31; // 1 for any NaN
                        int nullMask = -isNull;
                        int key = bits ^ ((bits >> 31) & Integer.MAX_VALUE);
                        lo = Math.min(lo, (key & ~nullMask) | (Integer.MAX_VALUE & nullMask));
                        hi = Math.max(hi, (key & ~nullMask) | (Integer.MIN_VALUE & nullMask));
                        cnt += isNull;
                    }
                } else {
                    for (int i = 0; i < m; i++) {
                        int bits = s[i];
                        int d = (bits ^ fillBits) & cmpMask;
                        int isNull = ((d | -d) >>> 31) ^ 1; // 1 when d == 0
                        int nullMask = -isNull;
                        int key = bits ^ ((bits >> 31) & Integer.MAX_VALUE);
                        lo = Math.min(lo, (key & ~nullMask) | (Integer.MAX_VALUE & nullMask));
                        hi = Math.max(hi, (key & ~nullMask) | (Integer.MIN_VALUE & nullMask));
                        cnt += isNull;
                    }
                }
                nulls += cnt;
            }
            nullsInChunks += nulls;
            if (n - nulls > 0) {
                double minV = Float.intBitsToFloat(lo ^ ((lo >> 31) & Integer.MAX_VALUE));
                double maxV = Float.intBitsToFloat(hi ^ ((hi >> 31) & Integer.MAX_VALUE));
                if (min == null || totalOrderKey(minV) < totalOrderKey(((StatValue.Float) min).value())) {
                    min = new StatValue.Float(minV);
                }
                if (max == null || totalOrderKey(maxV) > totalOrderKey(((StatValue.Float) max).value())) {
                    max = new StatValue.Float(maxV);
                }
            }
        }

        /**
         * As {@link #addFixed} but one element at a time through the general {@code addBits} path:
         * the definition the specialised loops must agree with (tests compare the two).
         */
        Accumulator addFixedOneByOne(ByteBuffer chunk, long count) {
            return addEach(chunk.slice().order(ByteOrder.LITTLE_ENDIAN), count, (int) dtype.elementSize());
        }

        /** The signed-integer loop of {@link #addBits}, extremes as primitives. */
        private void addSigned(ByteBuffer b, long count, int w) {
            int bits = w * 8;
            long mask = bits == 64 ? -1L : (1L << bits) - 1;
            boolean hasFill = fill instanceof FillValue.Int || fill instanceof FillValue.UInt;
            long fillMasked = fill instanceof FillValue.Int fi ? fi.value() & mask
                    : fill instanceof FillValue.UInt fu ? fu.value() & mask : 0;
            long lo = Long.MAX_VALUE;
            long hi = Long.MIN_VALUE;
            boolean any = false;
            long nulls = 0;
            for (int i = 0; i < count; i++) {
                long v = switch (w) {
                    case 1 -> b.get(i);
                    case 2 -> b.getShort(i << 1);
                    case 4 -> b.getInt(i << 2);
                    default -> b.getLong(i << 3);
                };
                if (hasFill && (v & mask) == fillMasked) {
                    nulls++;
                    continue;
                }
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
                any = true;
            }
            nullsInChunks += nulls;
            if (any) {
                if (min == null || lo < ((StatValue.Int) min).value()) {
                    min = new StatValue.Int(lo);
                }
                if (max == null || hi > ((StatValue.Int) max).value()) {
                    max = new StatValue.Int(hi);
                }
            }
        }

        /** Adds one element given as raw bits (sign-extended from its width). */
        private void addBits(long raw) {
            DType.Kind k = dtype.kind();
            switch (k) {
                case INT8: case INT16: case INT32: case INT64: {
                    if (matchesIntFill(raw)) {
                        nullsInChunks++;
                        return;
                    }
                    if (min == null || raw < ((StatValue.Int) min).value()) {
                        min = new StatValue.Int(raw);
                    }
                    if (max == null || raw > ((StatValue.Int) max).value()) {
                        max = new StatValue.Int(raw);
                    }
                    return;
                }
                case UINT8: case UINT16: case UINT32: case UINT64: case BOOL: {
                    int bits = Fill.bitWidth(k);
                    long v = Fill.wrapUnsigned(raw, bits);
                    boolean isNull = k == DType.Kind.BOOL
                            ? fill instanceof FillValue.Bool && (((FillValue.Bool) fill).value() ? 1 : 0) == v
                            : matchesIntFill(raw);
                    if (isNull) {
                        nullsInChunks++;
                        return;
                    }
                    if (min == null || Long.compareUnsigned(v, ((StatValue.UInt) min).value()) < 0) {
                        min = new StatValue.UInt(v);
                    }
                    if (max == null || Long.compareUnsigned(v, ((StatValue.UInt) max).value()) > 0) {
                        max = new StatValue.UInt(v);
                    }
                    return;
                }
                case FLOAT32: case FLOAT64: {
                    double d = k == DType.Kind.FLOAT32 ? (double) Float.intBitsToFloat((int) raw) : Double.longBitsToDouble(raw);
                    if (fill instanceof FillValue.Float) {
                        double f = ((FillValue.Float) fill).value();
                        boolean match;
                        if (k == DType.Kind.FLOAT32) {
                            float ff = (float) f;
                            float x = Float.intBitsToFloat((int) raw);
                            match = Float.isNaN(ff) ? Float.isNaN(x) : x == ff;
                        } else {
                            match = Double.isNaN(f) ? Double.isNaN(d) : d == f;
                        }
                        if (match) {
                            nullsInChunks++;
                            return;
                        }
                    }
                    long key = totalOrderKey(d);
                    if (min == null || key < totalOrderKey(((StatValue.Float) min).value())) {
                        min = new StatValue.Float(d);
                    }
                    if (max == null || key > totalOrderKey(((StatValue.Float) max).value())) {
                        max = new StatValue.Float(d);
                    }
                    return;
                }
                case TIMESTAMP_NS: {
                    boolean isNull = fill instanceof FillValue.TimestampNs && ((FillValue.TimestampNs) fill).value() == raw
                            || fill instanceof FillValue.Int && ((FillValue.Int) fill).value() == raw;
                    if (isNull) {
                        nullsInChunks++;
                        return;
                    }
                    if (min == null || raw < ((StatValue.TimestampNs) min).value()) {
                        min = new StatValue.TimestampNs(raw);
                    }
                    if (max == null || raw > ((StatValue.TimestampNs) max).value()) {
                        max = new StatValue.TimestampNs(raw);
                    }
                    return;
                }
                default:
                    return;
            }
        }

        private boolean matchesIntFill(long raw) {
            int bits = Fill.bitWidth(dtype.kind());
            long f;
            if (fill instanceof FillValue.Int) {
                f = ((FillValue.Int) fill).value();
            } else if (fill instanceof FillValue.UInt) {
                f = ((FillValue.UInt) fill).value();
            } else {
                return false;
            }
            return Fill.wrapUnsigned(f, bits) == Fill.wrapUnsigned(raw, bits);
        }

        /** Combines another accumulator of the same array into this one. */
        public Accumulator merge(Accumulator o) {
            nullsInChunks += o.nullsInChunks;
            storedElements += o.storedElements;
            if (o.min != null && (min == null || compare(o.min, min) < 0)) {
                min = o.min;
            }
            if (o.max != null && (max == null || compare(o.max, max) > 0)) {
                max = o.max;
            }
            return this;
        }

        /** Final statistics of an array of {@code shape}. */
        public ArrayStats finish(String name, long[] shape) {
            long rows = 1;
            for (long s : shape) {
                rows = s == 0 ? 0 : Math.multiplyExact(rows, s);
                if (rows == 0) {
                    break;
                }
            }
            long nonNull = storedElements - nullsInChunks;
            return new ArrayStats(name, min, max, rows - nonNull, rows);
        }
    }

    /** Per-thread scratch the fixed-width loops copy elements into (bulk copy, then plain array loops). */
    private static final ThreadLocal<int[]> SCRATCH = ThreadLocal.withInitial(() -> new int[4096]);
    private static final ThreadLocal<long[]> SCRATCH_LONG = ThreadLocal.withInitial(() -> new long[2048]);
    /** Per-thread scratch and per-lane extremes of the vectorised float32 pass (4 KiB each: all three stay in L1). */
    private static final class FloatLanes {
        final float[] scratch = new float[1024];
        final float[] lo = new float[1024];
        final float[] hi = new float[1024];
    }

    /** As {@link FloatLanes} for float64. */
    private static final class DoubleLanes {
        final double[] scratch = new double[512];
        final double[] lo = new double[512];
        final double[] hi = new double[512];
    }

    private static final ThreadLocal<FloatLanes> FLOAT_LANES = ThreadLocal.withInitial(FloatLanes::new);
    private static final ThreadLocal<DoubleLanes> DOUBLE_LANES = ThreadLocal.withInitial(DoubleLanes::new);

    /** Signed-comparable key of IEEE 754 total order. */
    static long totalOrderKey(double d) {
        long bits = Double.doubleToRawLongBits(d);
        return bits ^ ((bits >> 63) & Long.MAX_VALUE);
    }

    static int compare(StatValue a, StatValue b) {
        if (a instanceof StatValue.Int) {
            return Long.compare(((StatValue.Int) a).value(), ((StatValue.Int) b).value());
        }
        if (a instanceof StatValue.UInt) {
            return Long.compareUnsigned(((StatValue.UInt) a).value(), ((StatValue.UInt) b).value());
        }
        if (a instanceof StatValue.Float) {
            return Long.compare(totalOrderKey(((StatValue.Float) a).value()), totalOrderKey(((StatValue.Float) b).value()));
        }
        if (a instanceof StatValue.Bytes) {
            return Arrays.compareUnsigned(((StatValue.Bytes) a).value(), ((StatValue.Bytes) b).value());
        }
        return Long.compare(((StatValue.TimestampNs) a).value(), ((StatValue.TimestampNs) b).value());
    }
}
