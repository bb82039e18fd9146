package dev.atlas.array;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The result of a read: an n-dimensional region in C order. Fixed-width dtypes live in one
 * little-endian (pooled, usually direct) {@link ByteBuf} that this object owns; String and Binary
 * elements are byte strings on the heap. Close it (once; further calls are no-ops) to return the
 * buffer to the pool. Not thread-safe for concurrent close and access.
 */
public final class NdArray implements AutoCloseable {
    private final DType dtype;
    private final long[] shape;
    private final ByteBuf data;
    private final List<byte[]> varLen;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Takes ownership of {@code data} (one reference). */
    NdArray(DType dtype, long[] shape, ByteBuf data, List<byte[]> varLen) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.data = data;
        this.varLen = varLen;
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
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
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

    private int at(long i, DType.Kind... kinds) {
        checkOpen();
        boolean ok = false;
        for (DType.Kind k : kinds) {
            ok |= dtype.kind() == k;
        }
        if (!ok) {
            throw new InvalidArgumentException("element of a " + dtype + " array read as " + Arrays.toString(kinds));
        }
        if (i < 0 || i >= size()) {
            throw new InvalidArgumentException("element " + i + " outside " + size() + " elements");
        }
        return (int) (i * dtype.elementSize());
    }

    public byte getByte(long i) {
        return data.getByte(at(i, DType.Kind.INT8, DType.Kind.UINT8, DType.Kind.BOOL));
    }

    public short getShort(long i) {
        return data.getShortLE(at(i, DType.Kind.INT16, DType.Kind.UINT16));
    }

    public int getInt(long i) {
        return data.getIntLE(at(i, DType.Kind.INT32, DType.Kind.UINT32));
    }

    /** Int64, UInt64 (raw bits) or TimestampNs. */
    public long getLong(long i) {
        return data.getLongLE(at(i, DType.Kind.INT64, DType.Kind.UINT64, DType.Kind.TIMESTAMP_NS));
    }

    public float getFloat(long i) {
        return Float.intBitsToFloat(data.getIntLE(at(i, DType.Kind.FLOAT32)));
    }

    public double getDouble(long i) {
        return Double.longBitsToDouble(data.getLongLE(at(i, DType.Kind.FLOAT64)));
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
        if (closed.get()) {
            throw new IllegalStateException("NdArray is closed");
        }
    }

    /** Releases the buffer; idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true) && data != null) {
            data.release();
        }
    }

    @Override
    public String toString() {
        return "NdArray{" + dtype + " " + Arrays.toString(shape) + (closed.get() ? " closed" : "") + "}";
    }
}
