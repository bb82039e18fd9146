package dev.atlas.http.region;

/**
 * Parses the slice syntax of a region, one comma separated part per axis: {@code i} (one index),
 * {@code a:b} (stop exclusive; either side may be left out) or {@code :} (the whole axis). Steps
 * ({@code a:b:c}) are refused. A {@link Dialect} holds what the command line and the server accept
 * differently.
 */
public final class RegionSyntax {

    /** What a front end accepts beyond the common syntax. */
    public enum Dialect {
        /**
         * The command line's {@code --region}: blank text or an empty part means the whole extent,
         * fewer parts than axes leave the trailing axes whole, negative bounds are outside and empty
         * ranges ({@code 3:3}) are allowed.
         */
        OPTION,
        /**
         * The server's {@code region=}: exactly one non-empty part per axis, non-negative integers,
         * no empty range.
         */
        QUERY
    }

    private RegionSyntax() {
    }

    /**
     * The region {@code text} names in an array of shape {@code extent}. Every axis is parsed before
     * the bounds are checked, so a text with both a malformed and an out-of-range axis is reported
     * as malformed.
     *
     * @throws BadRegionException naming the problem, the axis and the text to blame
     */
    public static Region parse(String text, long[] extent, Dialect dialect) {
        boolean strict = dialect == Dialect.QUERY;
        if (!strict && (text == null || text.isBlank())) {
            return Region.whole(extent);
        }
        String[] parts = text.isEmpty() ? new String[0] : text.split(",", -1);
        if (parts.length > extent.length || strict && parts.length != extent.length) {
            throw BadRegionException.axisCount(parts.length, extent.length);
        }
        long[] start = new long[extent.length];
        long[] shape = extent.clone();
        for (int d = 0; d < parts.length; d++) {
            String p = parts[d].trim();
            long lo;
            long hi;
            int colon = p.indexOf(':');
            if (p.isEmpty() && !strict) {
                lo = 0;
                hi = extent[d];
            } else if (colon < 0) {
                lo = bound(p, d, p, strict);
                hi = lo + 1;
            } else {
                String a = p.substring(0, colon).trim();
                String b = p.substring(colon + 1).trim();
                if (b.contains(":")) {
                    throw BadRegionException.step(d, p);
                }
                lo = a.isEmpty() ? 0 : bound(a, d, p, strict);
                hi = b.isEmpty() ? extent[d] : bound(b, d, p, strict);
            }
            if (strict && hi <= lo) {
                throw BadRegionException.empty(d, p);
            }
            start[d] = lo;
            shape[d] = hi - lo;
        }
        Region region = new Region(start, shape);
        requireInside(region, extent);
        return region;
    }

    /**
     * Checks that {@code region} lies inside an array of shape {@code extent} (of the same rank):
     * on every axis {@code 0 <= start <= start + shape <= extent}.
     *
     * @throws BadRegionException ({@link BadRegionException.Problem#OUTSIDE}) naming the first axis outside
     */
    public static void requireInside(Region region, long[] extent) {
        int d = region.axisOutside(extent);
        if (d >= 0) {
            throw BadRegionException.outside(d, region, extent[d]);
        }
    }

    private static long bound(String token, int axis, String part, boolean strict) {
        long v;
        try {
            v = Long.parseLong(token);
        } catch (NumberFormatException e) {
            throw BadRegionException.notAnInteger(axis, part, token);
        }
        if (strict && v < 0) {
            throw BadRegionException.negative(axis, part, v);
        }
        return v;
    }
}
