package dev.atlas.http;

import dev.atlas.http.region.Region;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Cuts a region into consecutive sub-regions ("pieces") whose concatenation, in order, is the
 * region's C order, each of about {@code targetElements} elements: pick the outermost axis d whose
 * inner extent (product of the axes after d) fits the target; walk every index of the axes before
 * d one by one, and cut axis d into bands, at chunk boundaries when whole chunk rows fit the target
 * (so no chunk is decompressed twice by neighbouring pieces), else into bands of
 * {@code target / inner} rows. A piece is a box, so it is one ordinary engine read, and the bytes
 * of consecutive pieces follow each other exactly in the region's C order.
 */
final class Pieces implements Iterable<Region> {
    private final long[] start;
    private final long[] shape;
    private final long[] chunk;
    private final int axis;
    private final long inner;
    private final long chunksPerPiece;
    private final long rowsPerPiece;

    /**
     * @param chunk chunk shape of the array (same rank)
     * @param targetElements elements a piece should not exceed (unless one row of axis rank-1 is
     *     already larger, which the caller's limits prevent)
     */
    Pieces(Region region, long[] chunk, long targetElements) {
        this.start = region.start();
        this.shape = region.shape();
        this.chunk = chunk;
        int rank = shape.length;
        long t = Math.max(1, targetElements);
        int d = 0;
        long in = 1;
        if (rank > 0) {
            long[] innerOf = new long[rank];
            innerOf[rank - 1] = 1;
            for (int i = rank - 2; i >= 0; i--) {
                innerOf[i] = saturatedMultiply(innerOf[i + 1], shape[i + 1]);
            }
            d = rank - 1;
            for (int i = 0; i < rank; i++) {
                if (innerOf[i] <= t) {
                    d = i;
                    break;
                }
            }
            in = innerOf[d];
        }
        this.axis = d;
        this.inner = in;
        long c = rank == 0 ? 1 : Math.max(1, chunk[d]);
        long chunkRow = saturatedMultiply(c, in);
        this.chunksPerPiece = chunkRow <= t ? t / chunkRow : 0;
        this.rowsPerPiece = Math.max(1, t / in);
    }

    private static long saturatedMultiply(long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The axis the pieces cut (0 for rank 0). */
    int axis() {
        return axis;
    }

    /** Elements of one row of the cut axis. */
    long inner() {
        return inner;
    }

    @Override
    public Iterator<Region> iterator() {
        int rank = shape.length;
        return new Iterator<>() {
            final long[] outer = new long[Math.max(0, axis)];   // offsets within the region, axes < axis
            long pos = 0;                                        // offset along axis
            boolean done = rank == 0 ? false : emptyRegion();
            boolean scalarServed;

            private boolean emptyRegion() {
                for (long s : shape) {
                    if (s == 0) {
                        return true;
                    }
                }
                return false;
            }

            @Override
            public boolean hasNext() {
                return rank == 0 ? !scalarServed : !done;
            }

            @Override
            public Region next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                if (rank == 0) {
                    scalarServed = true;
                    return new Region(new long[0], new long[0]);
                }
                long end = shape[axis];
                long absolute = start[axis] + pos;
                long stop;
                if (chunksPerPiece > 0) {
                    long c = Math.max(1, chunk[axis]);
                    long boundary = (absolute / c + chunksPerPiece) * c;
                    stop = Math.min(start[axis] + end, boundary) - start[axis];
                } else {
                    stop = Math.min(end, pos + rowsPerPiece);
                }
                long[] st = start.clone();
                long[] sh = shape.clone();
                for (int i = 0; i < axis; i++) {
                    st[i] = start[i] + outer[i];
                    sh[i] = 1;
                }
                st[axis] = start[axis] + pos;
                sh[axis] = stop - pos;
                pos = stop;
                if (pos >= end) {
                    pos = 0;
                    int i = axis - 1;
                    while (i >= 0) {
                        if (++outer[i] < shape[i]) {
                            break;
                        }
                        outer[i] = 0;
                        i--;
                    }
                    if (i < 0) {
                        done = true;
                    }
                }
                return new Region(st, sh);
            }
        };
    }
}
