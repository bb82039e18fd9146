package dev.atlas.internal.nd;

import dev.atlas.error.InvalidArgumentException;
import java.util.Arrays;

/**
 * The regular grid of chunks over an array: along axis {@code i}, chunk {@code c} covers elements
 * {@code [c * chunk[i], min((c + 1) * chunk[i], shape[i]))}; edge chunks are clipped, not padded.
 * A rank-0 array has one chunk with the empty coordinate. Immutable.
 */
public final class ChunkGrid {
    private final long[] shape;
    private final long[] chunk;
    private final long[] gridShape;

    private ChunkGrid(long[] shape, long[] chunk) {
        this.shape = shape;
        this.chunk = chunk;
        this.gridShape = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            gridShape[i] = shape[i] == 0 ? 0 : (shape[i] + chunk[i] - 1) / chunk[i];
        }
    }

    /**
     * A grid for {@code shape} tiled by {@code chunkShape}.
     *
     * @throws InvalidArgumentException if the ranks differ, an extent is negative, or a chunk extent
     *     is 0 along an axis of non-zero length
     */
    public static ChunkGrid of(long[] shape, long[] chunkShape) {
        if (shape.length != chunkShape.length) {
            throw new InvalidArgumentException("chunk shape " + Arrays.toString(chunkShape) + " has rank "
                    + chunkShape.length + ", shape " + Arrays.toString(shape) + " has rank " + shape.length);
        }
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] < 0 || chunkShape[i] < 0) {
                throw new InvalidArgumentException("negative extent in shape " + Arrays.toString(shape)
                        + " / chunk shape " + Arrays.toString(chunkShape));
            }
            if (chunkShape[i] == 0 && shape[i] != 0) {
                throw new InvalidArgumentException("chunk extent 0 on axis " + i + " of shape "
                        + Arrays.toString(shape));
            }
        }
        return new ChunkGrid(shape.clone(), chunkShape.clone());
    }

    public int rank() {
        return shape.length;
    }

    public long[] shape() {
        return shape.clone();
    }

    public long shape(int axis) {
        return shape[axis];
    }

    public long[] chunkShape() {
        return chunk.clone();
    }

    public long chunkShape(int axis) {
        return chunk[axis];
    }

    /** Number of chunks along each axis. */
    public long[] gridShape() {
        return gridShape.clone();
    }

    /** Total element count (1 for rank 0); fails with {@link ArithmeticException} on overflow. */
    public long elementCount() {
        return product(shape);
    }

    /** True when {@code coord} has this grid's rank and lies inside it. */
    public boolean contains(long[] coord) {
        if (coord.length != shape.length) {
            return false;
        }
        for (int i = 0; i < coord.length; i++) {
            if (coord[i] < 0 || coord[i] >= gridShape[i]) {
                return false;
            }
        }
        return true;
    }

    /** First element of chunk {@code coord} along each axis. */
    public long[] chunkOrigin(long[] coord) {
        long[] o = new long[coord.length];
        for (int i = 0; i < coord.length; i++) {
            o[i] = coord[i] * chunk[i];
        }
        return o;
    }

    /** Clipped extent of chunk {@code coord} along each axis. */
    public long[] chunkExtent(long[] coord) {
        long[] e = new long[coord.length];
        for (int i = 0; i < coord.length; i++) {
            long start = coord[i] * chunk[i];
            e[i] = Math.min(chunk[i], shape[i] - start);
        }
        return e;
    }

    /** Element count of chunk {@code coord} (clipped). */
    public long chunkElementCount(long[] coord) {
        return product(chunkExtent(coord));
    }

    /**
     * Calls {@code consumer} with the grid coordinate of every chunk that overlaps the region
     * {@code [start, start + shape)}, in C order. The array passed is reused between calls (copy it
     * to keep it). Nothing is called for an empty region; a rank-0 grid yields its one chunk.
     */
    public void forEachChunkIn(long[] start, long[] shape, java.util.function.Consumer<long[]> consumer) {
        int rank = shape.length;
        long[] lo = new long[rank];
        long[] hi = new long[rank];
        for (int i = 0; i < rank; i++) {
            if (shape[i] == 0) {
                return;
            }
            lo[i] = start[i] / chunk[i];
            hi[i] = (start[i] + shape[i] + chunk[i] - 1) / chunk[i];
        }
        long[] c = lo.clone();
        do {
            consumer.accept(c);
        } while (Odometer.advance(c, lo, hi, rank - 1));
    }

    /** How many chunks {@link #forEachChunkIn} visits for the region, without visiting them. */
    public long chunkCountIn(long[] start, long[] shape) {
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == 0) {
                return 0;
            }
            n = Math.multiplyExact(n, (start[i] + shape[i] + chunk[i] - 1) / chunk[i] - start[i] / chunk[i]);
        }
        return n;
    }

    /** Product of extents; 1 for an empty array of extents. */
    public static long product(long[] extents) {
        long p = 1;
        for (long e : extents) {
            p = Math.multiplyExact(p, e);
        }
        return p;
    }

    @Override
    public String toString() {
        return "ChunkGrid{shape=" + Arrays.toString(shape) + ", chunk=" + Arrays.toString(chunk) + "}";
    }
}
