package dev.atlas.internal.nd;

/**
 * Strided copy planning between a chunk tile and a region of the same array: enumerates the
 * contiguous runs (along the last axis) of their intersection, in C order. Offsets are in
 * elements, relative to the tile's and the region's first element.
 */
public final class Overlap {
    private Overlap() {
    }

    /** Receives one contiguous run of the intersection. */
    @FunctionalInterface
    public interface RunConsumer {
        void run(long tileOffset, long regionOffset, long length);
    }

    /**
     * Calls {@code consumer} for each contiguous run shared by the tile
     * {@code [tileOrigin, tileOrigin + tileExtent)} and the region
     * {@code [regionStart, regionStart + regionShape)}. Nothing is called when they do not
     * intersect. A rank-0 tile and region share their single element.
     */
    public static void forEachRun(long[] tileOrigin, long[] tileExtent, long[] regionStart, long[] regionShape,
            RunConsumer consumer) {
        int rank = tileOrigin.length;
        if (rank == 0) {
            consumer.run(0, 0, 1);
            return;
        }
        long[] lo = new long[rank];
        long[] hi = new long[rank];
        for (int i = 0; i < rank; i++) {
            lo[i] = Math.max(tileOrigin[i], regionStart[i]);
            hi[i] = Math.min(tileOrigin[i] + tileExtent[i], regionStart[i] + regionShape[i]);
            if (lo[i] >= hi[i]) {
                return;
            }
        }
        // Element strides of tile and region.
        long[] ts = new long[rank];
        long[] rs = new long[rank];
        ts[rank - 1] = 1;
        rs[rank - 1] = 1;
        for (int i = rank - 2; i >= 0; i--) {
            ts[i] = ts[i + 1] * tileExtent[i + 1];
            rs[i] = rs[i + 1] * regionShape[i + 1];
        }
        long runLength = hi[rank - 1] - lo[rank - 1];
        long[] idx = lo.clone();
        while (true) {
            long to = 0;
            long ro = 0;
            for (int i = 0; i < rank; i++) {
                to += (idx[i] - tileOrigin[i]) * ts[i];
                ro += (idx[i] - regionStart[i]) * rs[i];
            }
            consumer.run(to, ro, runLength);
            if (!Odometer.advance(idx, lo, hi, rank - 2)) {
                return;
            }
        }
    }
}
