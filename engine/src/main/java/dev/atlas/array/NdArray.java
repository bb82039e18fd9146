package dev.atlas.array;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The result of a read: an n-dimensional region in C order. Fixed-width dtypes live in one
 * little-endian (pooled, usually direct) {@link ByteBuf} that this object owns; String and Binary
 * elements are byte strings on the heap. Close it (once; further calls are no-ops) to return the
 * buffer to the pool. Not thread-safe for concurrent close and access.
 */
public final class NdArray implements AutoCloseable {
    /** Element count of a shape; typed errors for a negative extent or an overflowing product. */
    private static long count(long[] shape) {
        for (long e : shape) {
            if (e < 0) {
                throw new InvalidArgumentException("negative extent in shape " + Arrays.toString(shape));
            }
        }
        try {
            return dev.atlas.internal.nd.ChunkGrid.product(shape);
        } catch (ArithmeticException e) {
            throw new InvalidArgumentException("shape " + Arrays.toString(shape) + " has more than 2^63 elements");
        }
    }

    private final DType dtype;
    private final long[] shape;
    /** Elements in {@link #shape} (fixed at construction: element access checks against it). */
    private final long size;
    private final ByteBuf data;
    private final List<byte[]> varLen;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Takes ownership of {@code data} (one reference). */
    NdArray(DType dtype, long[] shape, ByteBuf data, List<byte[]> varLen) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.size = count(this.shape);
        this.data = data;
        this.varLen = varLen;
    }

    /**
     * An array of a fixed-width dtype over little-endian C-order element bytes.
     *
     * @param data consumed: the result owns this reference and releases it on {@link #close()}
     * @throws InvalidArgumentException if the readable bytes are not exactly the elements of
     *     {@code shape} (the buffer is released then)
     */
    public static NdArray wrap(DType dtype, long[] shape, ByteBuf data) {
        long n = count(shape);
        if (dtype.elementSize() <= 0 || n * dtype.elementSize() != data.readableBytes()) {
            data.release();
            throw new InvalidArgumentException(dtype + " array of shape " + Arrays.toString(shape) + " cannot be "
                    + data.readableBytes() + " bytes");
        }
        // A slice shares the buffer's reference count: releasing it on close releases the caller's reference.
        return new NdArray(dtype, shape, data.slice(), null);
    }

    /** A String array; elements are UTF-8 encoded. */
    public static NdArray ofStrings(long[] shape, List<String> values) {
        List<byte[]> raw = new java.util.ArrayList<>(values.size());
        for (String v : values) {
            raw.add(Objects.requireNonNull(v, "string element").getBytes(StandardCharsets.UTF_8));
        }
        return varLen(DType.STRING, shape, raw);
    }

    /** A Binary array (elements are copied). */
    public static NdArray ofBinary(long[] shape, List<byte[]> values) {
        List<byte[]> raw = new java.util.ArrayList<>(values.size());
        for (byte[] v : values) {
            raw.add(Objects.requireNonNull(v, "binary element").clone());
        }
        return varLen(DType.BINARY, shape, raw);
    }

    private static NdArray varLen(DType dtype, long[] shape, List<byte[]> raw) {
        long n = count(shape);
        if (n != raw.size()) {
            throw new InvalidArgumentException(raw.size() + " elements for shape " + Arrays.toString(shape));
        }
        return new NdArray(dtype, shape, null, raw);
    }

    public static NdArray ofBytes(DType dtype, long[] shape, byte... v) {
        return heap(dtype, shape, v.length, b -> b.put(v));
    }

    public static NdArray ofShorts(DType dtype, long[] shape, short... v) {
        return heap(dtype, shape, v.length, b -> b.asShortBuffer().put(v));
    }

    public static NdArray ofInts(DType dtype, long[] shape, int... v) {
        return heap(dtype, shape, v.length, b -> b.asIntBuffer().put(v));
    }

    /** Int64, UInt64 (raw bits) or TimestampNs elements. */
    public static NdArray ofLongs(DType dtype, long[] shape, long... v) {
        return heap(dtype, shape, v.length, b -> b.asLongBuffer().put(v));
    }

    public static NdArray ofFloats(long[] shape, float... v) {
        return heap(DType.FLOAT32, shape, v.length, b -> b.asFloatBuffer().put(v));
    }

    public static NdArray ofDoubles(long[] shape, double... v) {
        return heap(DType.FLOAT64, shape, v.length, b -> b.asDoubleBuffer().put(v));
    }

    private static NdArray heap(DType dtype, long[] shape, int count, java.util.function.Consumer<java.nio.ByteBuffer> fill) {
        long n = count(shape);
        if (n != count) {
            throw new InvalidArgumentException(count + " elements for shape " + Arrays.toString(shape));
        }
        if (dtype.elementSize() <= 0) {
            throw new InvalidArgumentException(dtype + " is not a fixed-width dtype");
        }
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(Math.toIntExact(n * dtype.elementSize()))
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        fill.accept(b);
        if (dtype.elementSize() * n != b.capacity()) {
            throw new InvalidArgumentException("values do not match dtype " + dtype);
        }
        return new NdArray(dtype, shape, io.netty.buffer.Unpooled.wrappedBuffer(b.array()), null);
    }

    /** Variable-length elements (String as UTF-8), shared: do not modify. */
    List<byte[]> varLenElements() {
        return varLen;
    }

    /** Fixed-width bytes without the open check (engine internal). */
    ByteBuf buffer() {
        return data;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements. */
    public long size() {
        return size;
    }

    /**
     * The little-endian element bytes of a fixed-width result; still owned by this array (do not
     * release; retain it to keep it past {@link #close()}).
     */
    public ByteBuf data() {
        checkOpen();
        if (data == null) {
            throw new InvalidArgumentException(dtype + " results have no flat buffer; use getString/getBinary");
        }
        return data;
    }

    /** Flat C-order index of a multi-dimensional index. */
    public long index(long... idx) {
        if (idx.length != shape.length) {
            throw new InvalidArgumentException("index of rank " + idx.length + " for a rank-" + shape.length + " array");
        }
        long flat = 0;
        for (int i = 0; i < idx.length; i++) {
            if (idx[i] < 0 || idx[i] >= shape[i]) {
                throw new InvalidArgumentException("index " + Arrays.toString(idx) + " outside shape " + Arrays.toString(shape));
            }
            flat = flat * shape[i] + idx[i];
        }
        return flat;
    }

    /** Kinds as bits of a mask (ordinal), for the element getters' dtype check without a varargs array per call. */
    private static int mask(DType.Kind... kinds) {
        int m = 0;
        for (DType.Kind k : kinds) {
            m |= 1 << k.ordinal();
        }
        return m;
    }

    private static final int BYTES = mask(DType.Kind.INT8, DType.Kind.UINT8, DType.Kind.BOOL);
    private static final int SHORTS = mask(DType.Kind.INT16, DType.Kind.UINT16);
    private static final int INTS = mask(DType.Kind.INT32, DType.Kind.UINT32);
    private static final int LONGS = mask(DType.Kind.INT64, DType.Kind.UINT64, DType.Kind.TIMESTAMP_NS);
    private static final int FLOATS = mask(DType.Kind.FLOAT32);
    private static final int DOUBLES = mask(DType.Kind.FLOAT64);

    /** Byte offset of element {@code i}, checked: open, a dtype of {@code kinds} (a {@link #mask}), in bounds. */
    private int at(long i, int kinds) {
        checkOpen();
        if ((kinds & (1 << dtype.kind().ordinal())) == 0) {
            List<DType.Kind> names = new java.util.ArrayList<>();
            for (DType.Kind k : DType.Kind.values()) {
                if ((kinds & (1 << k.ordinal())) != 0) {
                    names.add(k);
                }
            }
            throw new InvalidArgumentException("element of a " + dtype + " array read as " + names);
        }
        if (i < 0 || i >= size) {
            throw new InvalidArgumentException("element " + i + " outside " + size + " elements");
        }
        return (int) (i * dtype.elementSize());
    }

    public byte getByte(long i) {
        return data.getByte(at(i, BYTES));
    }

    public short getShort(long i) {
        return data.getShortLE(at(i, SHORTS));
    }

    public int getInt(long i) {
        return data.getIntLE(at(i, INTS));
    }

    /** Int64, UInt64 (raw bits) or TimestampNs. */
    public long getLong(long i) {
        return data.getLongLE(at(i, LONGS));
    }

    public float getFloat(long i) {
        return Float.intBitsToFloat(data.getIntLE(at(i, FLOATS)));
    }

    public double getDouble(long i) {
        return Double.longBitsToDouble(data.getLongLE(at(i, DOUBLES)));
    }

    public String getString(long i) {
        checkOpen();
        if (dtype.kind() != DType.Kind.STRING) {
            throw new InvalidArgumentException("element of a " + dtype + " array read as String");
        }
        return new String(varLen.get(Math.toIntExact(i)), StandardCharsets.UTF_8);
    }

    /** Copy of a Binary element. */
    public byte[] getBinary(long i) {
        checkOpen();
        if (dtype.kind() != DType.Kind.BINARY) {
            throw new InvalidArgumentException("element of a " + dtype + " array read as Binary");
        }
        return varLen.get(Math.toIntExact(i)).clone();
    }

    private void checkOpen() {
        BufferHandle.checkOpen(closed, "NdArray");
    }

    /** Releases the buffer; idempotent. */
    @Override
    public void close() {
        BufferHandle.close(closed, data);
    }

    @Override
    public String toString() {
        return "NdArray{" + dtype + " " + Arrays.toString(shape) + (closed.get() ? " closed" : "") + "}";
    }
}
