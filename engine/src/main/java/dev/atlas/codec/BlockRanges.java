package dev.atlas.codec;

import dev.atlas.error.InvalidArgumentException;
import java.util.Arrays;

/**
 * The byte ranges of a decompressed block that one read needs: ascending, disjoint, non-empty
 * half-open ranges {@code [from, to)}. Immutable; equal when the ranges are equal, so a partly
 * decoded block can be cached under exactly the ranges it holds.
 */
public final class BlockRanges {
    private final long[] bounds;
    private final int hash;

    private BlockRanges(long[] bounds) {
        this.bounds = bounds;
        this.hash = Arrays.hashCode(bounds);
    }

    /**
     * The union of the ranges {@code [pairs[2i], pairs[2i+1])}, given in any order; empty ranges
     * are dropped, overlapping and touching ones merged.
     *
     * @param pairs not kept, not changed
     * @throws InvalidArgumentException for an odd length, a negative bound or {@code from > to}
     */
    public static BlockRanges of(long... pairs) {
        if ((pairs.length & 1) != 0) {
            throw new InvalidArgumentException("block ranges need pairs of bounds, got " + pairs.length + " numbers");
        }
        int n = pairs.length / 2;
        long[][] r = new long[n][];
        int k = 0;
        for (int i = 0; i < n; i++) {
            long from = pairs[2 * i];
            long to = pairs[2 * i + 1];
            if (from < 0 || from > to) {
                throw new InvalidArgumentException("block range [" + from + ", " + to + ") is invalid");
            }
            if (from < to) {
                r[k++] = new long[] {from, to};
            }
        }
        long[][] live = Arrays.copyOf(r, k);
        boolean sorted = true;
        for (int i = 1; i < k && sorted; i++) {
            sorted = live[i - 1][0] <= live[i][0];
        }
        if (!sorted) {
            Arrays.sort(live, (a, b) -> Long.compare(a[0], b[0]));
        }
        long[] out = new long[2 * k];
        int m = 0;
        for (long[] x : live) {
            if (m > 0 && x[0] <= out[m - 1]) {
                out[m - 1] = Math.max(out[m - 1], x[1]);
            } else {
                out[m++] = x[0];
                out[m++] = x[1];
            }
        }
        return new BlockRanges(m == out.length ? out : Arrays.copyOf(out, m));
    }

    /** The number of ranges. */
    public int count() {
        return bounds.length / 2;
    }

    /** The first byte of range {@code i}. */
    public long from(int i) {
        return bounds[2 * i];
    }

    /** One past the last byte of range {@code i}. */
    public long to(int i) {
        return bounds[2 * i + 1];
    }

    /** One past the last byte needed (0 when there is no range). */
    public long end() {
        return bounds.length == 0 ? 0 : bounds[bounds.length - 1];
    }

    /** Bytes inside the ranges. */
    public long bytes() {
        long n = 0;
        for (int i = 0; i < bounds.length; i += 2) {
            n += bounds[i + 1] - bounds[i];
        }
        return n;
    }

    /** Whether every byte of {@code [from, to)} lies inside one of the ranges. */
    public boolean contains(long from, long to) {
        if (from >= to) {
            return true;
        }
        for (int i = 0; i < bounds.length; i += 2) {
            if (bounds[i] <= from && to <= bounds[i + 1]) {
                return true;
            }
        }
        return false;
    }

    /**
     * One past the last needed byte inside {@code [from, to)}, or {@code from} when no range
     * meets it: what a decoder of that span must produce at least.
     */
    long neededEndIn(long from, long to) {
        long end = from;
        for (int i = 0; i < bounds.length; i += 2) {
            if (bounds[i] < to && bounds[i + 1] > from) {
                end = Math.min(to, bounds[i + 1]);
            }
        }
        return end;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BlockRanges b && hash == b.hash && Arrays.equals(bounds, b.bounds);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("BlockRanges");
        for (int i = 0; i < bounds.length; i += 2) {
            sb.append('[').append(bounds[i]).append(", ").append(bounds[i + 1]).append(')');
        }
        return sb.toString();
    }
}
