package dev.atlas.array;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The schema of an array to define: dtype, shape, chunk shape (default: one chunk of the whole
 * shape), dimension names (default {@code dim0..dimN-1}) and fill value (default none: zero / empty).
 * Immutable; {@code with*} return copies. Checked when built, so a bad schema never reaches a file:
 * rank agreement, extents that fit the format's u32, no zero chunk extent on a non-empty axis, and
 * chunks of at most 2 GiB.
 *
 * <p>The request, not a stored record: a file records it in its footer (an internal record), and
 * an Atlas store records the array in its registry as a {@code dev.atlas.store.ArraySchema}.
 */
public final class ArraySpec {
    /** Largest encoded fixed-width chunk: one Java buffer. */
    public static final long MAX_CHUNK_BYTES = Integer.MAX_VALUE - 8;

    private final DType dtype;
    private final long[] shape;
    private final long[] chunkShape;
    private final List<String> dimensionNames;
    private final FillValue fill;

    private ArraySpec(DType dtype, long[] shape, long[] chunkShape, List<String> dims, FillValue fill) {
        this.dtype = Objects.requireNonNull(dtype, "dtype");
        this.shape = shape.clone();
        this.chunkShape = chunkShape.clone();
        this.dimensionNames = List.copyOf(dims);
        this.fill = fill;
        validate();
    }

    /**
     * An array of {@code dtype} and {@code shape} with default chunks: the whole array as one chunk
     * up to 4 MiB; above, the longest axes are halved until a chunk holds at most 1 MiB (choose
     * chunks matching your reads with {@link #withChunks}).
     */
    public static ArraySpec of(DType dtype, long... shape) {
        List<String> dims = new ArrayList<>();
        for (int i = 0; i < shape.length; i++) {
            dims.add("dim" + i);
        }
        return new ArraySpec(dtype, shape, defaultChunks(dtype, shape), dims, null);
    }

    private static long[] defaultChunks(DType dtype, long[] shape) {
        long[] c = shape.clone();
        long width = Math.max(1, dtype.elementSize());
        double bytes = width;
        for (long x : c) {
            bytes *= Math.max(1, x);
        }
        if (bytes <= (4 << 20)) {
            return c;
        }
        while (bytes > (1 << 20)) {
            int longest = 0;
            for (int i = 1; i < c.length; i++) {
                if (c[i] > c[longest]) {
                    longest = i;
                }
            }
            if (c[longest] <= 1) {
                break;
            }
            long half = (c[longest] + 1) / 2;
            bytes = bytes / c[longest] * half;
            c[longest] = half;
        }
        return c;
    }

    public ArraySpec withChunks(long... chunks) {
        return new ArraySpec(dtype, shape, chunks, dimensionNames, fill);
    }

    public ArraySpec withDimensions(String... names) {
        return new ArraySpec(dtype, shape, chunkShape, List.of(names), fill);
    }

    public ArraySpec withFill(FillValue f) {
        return new ArraySpec(dtype, shape, chunkShape, dimensionNames, f);
    }

    private void validate() {
        if (!dtype.isStorable()) {
            throw new InvalidArgumentException("dtype " + dtype + " has no chunk encoding");
        }
        if (chunkShape.length != shape.length) {
            throw new InvalidArgumentException("chunk shape " + Arrays.toString(chunkShape) + " does not match the rank of shape "
                    + Arrays.toString(shape));
        }
        if (dimensionNames.size() != shape.length) {
            throw new InvalidArgumentException(dimensionNames.size() + " dimension names for a rank-" + shape.length + " array");
        }
        long chunkElements = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0 || shape[i] > 0xFFFF_FFFFL || chunkShape[i] < 0 || chunkShape[i] > 0xFFFF_FFFFL) {
                throw new InvalidArgumentException("extents must be 0 .. 2^32-1: shape " + Arrays.toString(shape)
                        + ", chunks " + Arrays.toString(chunkShape));
            }
            if (chunkShape[i] == 0 && shape[i] != 0) {
                throw new InvalidArgumentException("chunk extent 0 on axis " + i + " of length " + shape[i]);
            }
            long clipped = Math.min(chunkShape[i], shape[i]);
            chunkElements = Math.multiplyHigh(chunkElements, clipped) != 0 ? Long.MAX_VALUE : chunkElements * clipped;
        }
        long width = dtype.elementSize() > 0 ? dtype.elementSize() : 4;
        if (chunkElements > MAX_CHUNK_BYTES / width) {
            throw new InvalidArgumentException("a chunk of " + Arrays.toString(chunkShape) + " " + dtype
                    + " elements exceeds " + MAX_CHUNK_BYTES + " bytes; use smaller chunks");
        }
    }

    public DType dtype() {
        return dtype;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long[] chunkShape() {
        return chunkShape.clone();
    }

    public List<String> dimensionNames() {
        return dimensionNames;
    }

    /** The fill value, or null. */
    public FillValue fill() {
        return fill;
    }
}
