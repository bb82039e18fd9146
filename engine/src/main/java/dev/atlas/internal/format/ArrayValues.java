package dev.atlas.internal.format;

import dev.atlas.format.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * A materialised region of an array held on the heap: fixed-width elements as little-endian bytes
 * in C order, or String/Binary elements as byte strings. Small-result helper for tools and tests;
 * the engine's read path assembles into pooled direct buffers instead.
 */
public final class ArrayValues {
    private final DType dtype;
    private final long[] shape;
    private final byte[] fixed;
    private final List<byte[]> varLen;

    ArrayValues(DType dtype, long[] shape, byte[] fixed, List<byte[]> varLen) {
        this.dtype = dtype;
        this.shape = shape.clone();
        this.fixed = fixed;
        this.varLen = varLen;
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    /** Element count. */
    public int size() {
        return fixed != null ? (int) (fixed.length / dtype.elementSize()) : varLen.size();
    }

    /** Fixed-width element {@code i} as raw bits (sign-extended for signed integers, zero-extended otherwise). */
    public long bits(int i) {
        ByteBuffer b = ByteBuffer.wrap(fixed).order(ByteOrder.LITTLE_ENDIAN);
        int w = (int) dtype.elementSize();
        int at = i * w;
        switch (dtype.kind()) {
            case INT8: return b.get(at);
            case INT16: return b.getShort(at);
            case INT32: return b.getInt(at);
            case UINT8: case BOOL: return b.get(at) & 0xFFL;
            case UINT16: return b.getShort(at) & 0xFFFFL;
            case UINT32: case FLOAT32: return b.getInt(at) & 0xFFFF_FFFFL;
            default: return b.getLong(at);
        }
    }

    /** Variable-length element {@code i} (no copy; do not modify). */
    public byte[] varLen(int i) {
        return varLen.get(i);
    }

    /** Copy of the little-endian bytes of a fixed-width result. */
    public byte[] fixedBytes() {
        return fixed.clone();
    }
}
