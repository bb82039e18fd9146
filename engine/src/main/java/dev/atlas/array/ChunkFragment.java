package dev.atlas.array;

import dev.atlas.format.DType;
import io.netty.buffer.ByteBuf;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One chunk's part of a region read with {@link ArrayFile#readFragments}: the box
 * {@code [start, start + shape)} (array coordinates) where the chunk and the region intersect,
 * with its elements in C order. Fixed-width elements are little-endian bytes in a pooled buffer
 * this fragment owns; close it once consumed (idempotent). String and Binary elements are heap
 * byte strings.
 */
public final class ChunkFragment implements AutoCloseable {
    private final DType dtype;
    private final long[] chunk;
    private final long[] start;
    private final long[] shape;
    private final ByteBuf data;
    private final List<byte[]> varLen;
    private final boolean stored;
    private final AtomicBoolean closed = new AtomicBoolean();

    ChunkFragment(DType dtype, long[] chunk, long[] start, long[] shape, ByteBuf data, List<byte[]> varLen, boolean stored) {
        this.dtype = dtype;
        this.chunk = chunk;
        this.start = start;
        this.shape = shape;
        this.data = data;
        this.varLen = varLen;
        this.stored = stored;
    }

    public DType dtype() {
        return dtype;
    }

    /** Grid coordinate of the chunk. */
    public long[] chunk() {
        return chunk.clone();
    }

    /** First element of the box, in array coordinates. */
    public long[] start() {
        return start.clone();
    }

    public long[] shape() {
        return shape.clone();
    }

    /** False when no layer stores the chunk and the elements are the fill value. */
    public boolean stored() {
        return stored;
    }

    /** Element bytes of a fixed-width fragment; owned by this fragment (retain to keep it past {@link #close()}). */
    public ByteBuf data() {
        BufferHandle.checkOpen(closed, "fragment");
        return data;
    }

    /** Elements of a String (UTF-8) or Binary fragment; shared, do not modify. */
    public List<byte[]> elements() {
        return varLen;
    }

    @Override
    public void close() {
        BufferHandle.close(closed, data);
    }

    @Override
    public String toString() {
        return "ChunkFragment{chunk " + Arrays.toString(chunk) + " start " + Arrays.toString(start) + " shape "
                + Arrays.toString(shape) + (stored ? "" : " fill") + "}";
    }
}
