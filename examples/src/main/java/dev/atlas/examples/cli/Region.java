package dev.atlas.examples.cli;

import java.util.Arrays;
import java.util.List;

/**
 * A box {@code [start, start + shape)} of an array, parsed from {@code --region}: one comma
 * separated part per dimension, each {@code start:stop} (stop exclusive; either side may be
 * omitted), a single index {@code i}, or empty / {@code :} for the whole extent. Fewer parts than
 * dimensions leave the trailing dimensions whole.
 */
record Region(long[] start, long[] shape) {

    /** The whole array. */
    static Region whole(long[] extent) {
        return new Region(new long[extent.length], extent.clone());
    }

    /**
     * Parses {@code text} against an array's {@code extent} (its shape).
     *
     * @param dims dimension names for messages (may be shorter than the rank)
     * @throws CliException (usage) naming the bad part
     */
    static Region parse(String text, long[] extent, List<String> dims) {
        if (text == null || text.isBlank()) {
            return whole(extent);
        }
        String[] parts = text.split(",", -1);
        if (parts.length > extent.length) {
            throw CliException.usage("bad --region '" + text + "': " + parts.length + " parts for an array of rank "
                    + extent.length + " (shape " + Arrays.toString(extent) + ")");
        }
        long[] start = new long[extent.length];
        long[] shape = extent.clone();
        for (int d = 0; d < parts.length; d++) {
            String p = parts[d].trim();
            String dim = d < dims.size() && !dims.get(d).isEmpty() ? "dimension " + d + " (" + dims.get(d) + ")" : "dimension " + d;
            long lo;
            long hi;
            try {
                if (p.isEmpty() || p.equals(":")) {
                    lo = 0;
                    hi = extent[d];
                } else if (p.indexOf(':') < 0) {
                    lo = Long.parseLong(p);
                    hi = lo + 1;
                } else {
                    int c = p.indexOf(':');
                    String a = p.substring(0, c).trim();
                    String b = p.substring(c + 1).trim();
                    lo = a.isEmpty() ? 0 : Long.parseLong(a);
                    hi = b.isEmpty() ? extent[d] : Long.parseLong(b);
                }
            } catch (NumberFormatException e) {
                throw CliException.usage("bad --region '" + text + "': " + dim + ": '" + p
                        + "' is not start:stop, an index or ':'");
            }
            if (lo < 0 || hi < lo || hi > extent[d]) {
                throw CliException.usage("bad --region '" + text + "': " + dim + ": " + lo + ":" + hi
                        + " is outside 0:" + extent[d]);
            }
            start[d] = lo;
            shape[d] = hi - lo;
        }
        return new Region(start, shape);
    }

    /** Number of elements (saturating at Long.MAX_VALUE). */
    long count() {
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
