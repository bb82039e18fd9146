package dev.atlas.http.region;

import java.util.Arrays;

/**
 * A box {@code [start, start + shape)} of an array, as {@link RegionSyntax} parses it. Its text form
 * is the slice syntax that reads back to it ({@code 2:3,10:12,5:8}).
 */
public record Region(long[] start, long[] shape) {

    /** The whole of an array of shape {@code extent}. */
    public static Region whole(long[] extent) {
        return new Region(new long[extent.length], extent.clone());
    }

    /**
     * The first axis on which this region leaves an array of shape {@code extent} (the same rank),
     * or -1 when {@code 0 <= start <= start + shape <= extent} holds on every axis.
     */
    public int axisOutside(long[] extent) {
        for (int d = 0; d < extent.length; d++) {
            long lo = start[d];
            long n = shape[d];
            if (lo < 0 || n < 0 || lo > extent[d] - n) {
                return d;
            }
        }
        return -1;
    }

    /** Number of elements, saturating at {@link Long#MAX_VALUE}. */
    public long count() {
        long n = 1;
        for (long s : shape) {
            n = s != 0 && n > Long.MAX_VALUE / s ? Long.MAX_VALUE : n * s;
        }
        return n;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (int d = 0; d < start.length; d++) {
            b.append(d == 0 ? "" : ",").append(start[d]).append(':').append(start[d] + shape[d]);
        }
        return b.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Region r && Arrays.equals(start, r.start) && Arrays.equals(shape, r.shape);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(start) + Arrays.hashCode(shape);
    }
}
