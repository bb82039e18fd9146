package dev.atlas.internal.nd;

/**
 * The C-order walk over a box of N-d indices that chunk enumeration and run planning share: one
 * step of the odometer, in place, with no allocation.
 */
final class Odometer {
    private Odometer() {
    }

    /**
     * Advances {@code idx} to the next index of the box {@code [lo, hi)} in C order, counting only
     * axes {@code 0..lastAxis} (the axes after it stay as they are). Returns false, with those axes
     * back at {@code lo}, when the walk has passed the last index (always for {@code lastAxis < 0}).
     */
    static boolean advance(long[] idx, long[] lo, long[] hi, int lastAxis) {
        for (int axis = lastAxis; axis >= 0; axis--) {
            if (++idx[axis] < hi[axis]) {
                return true;
            }
            idx[axis] = lo[axis];
        }
        return false;
    }
}
