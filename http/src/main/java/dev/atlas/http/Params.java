package dev.atlas.http;

import dev.atlas.http.region.BadRegionException;
import dev.atlas.http.region.Region;
import dev.atlas.http.region.RegionSyntax;
import dev.atlas.store.ArraySchema;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** Parsing and checking of request parameters; every failure is an {@link ApiError} naming the parameter. */
final class Params {
    private Params() {
    }

    /**
     * Checks a dataset or array name taken from the (already URL-decoded) path or query: not empty,
     * no {@code /}, {@code \}, NUL or other control characters, not {@code .} or {@code ..}. The
     * engine has its own name rules; this check only keeps names from meaning paths.
     */
    static String name(String value, String parameter) {
        if (value == null || value.isEmpty()) {
            throw ApiError.badParameter(parameter, parameter + " is empty");
        }
        if (value.equals(".") || value.equals("..")) {
            throw ApiError.badParameter(parameter, parameter + " '" + value + "' is not a name");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) {
                throw ApiError.badParameter(parameter, parameter + " contains a forbidden character (code "
                        + (int) c + ")");
            }
        }
        if (value.length() > 1024) {
            throw ApiError.badParameter(parameter, parameter + " is longer than 1024 characters");
        }
        return value;
    }

    /** The single value of a query parameter, or null. Repeating a parameter is an error. */
    static String single(Map<String, List<String>> query, String parameter) {
        List<String> v = query.get(parameter);
        if (v == null || v.isEmpty()) {
            return null;
        }
        if (v.size() > 1) {
            throw ApiError.badParameter(parameter, parameter + " is given " + v.size() + " times");
        }
        return v.get(0);
    }

    static long integer(String value, String parameter, long min, long max) {
        long n;
        try {
            n = Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw ApiError.badParameter(parameter, parameter + " '" + value + "' is not an integer");
        }
        if (n < min || n > max) {
            throw ApiError.badParameter(parameter, parameter + " " + n + " is outside " + min + ".." + max);
        }
        return n;
    }

    static double number(String value, String parameter) {
        try {
            double d = Double.parseDouble(value.trim());
            if (!Double.isFinite(d)) {
                throw new NumberFormatException();
            }
            return d;
        } catch (NumberFormatException e) {
            throw ApiError.badParameter(parameter, parameter + " '" + value + "' is not a finite number");
        }
    }

    /** A comma-separated list of non-negative integers of the given rank. */
    static long[] vector(String value, String parameter, int rank) {
        String[] parts = value.split(",", -1);
        if (parts.length != rank) {
            throw ApiError.badParameter(parameter, parameter + " has " + parts.length + " values; the array has rank " + rank);
        }
        long[] v = new long[rank];
        for (int i = 0; i < rank; i++) {
            v[i] = integer(parts[i], parameter, 0, Long.MAX_VALUE);
        }
        return v;
    }

    /**
     * The region a request names for an array of {@code shape}: {@code region=a:b,c:d,...} (the
     * {@link RegionSyntax.Dialect#QUERY} dialect: {@code i} for one index, {@code a:b}, {@code :b},
     * {@code a:}, {@code :} on every axis), or {@code start=} and {@code shape=} (comma lists), or the
     * whole array when neither is given. The region must lie inside the array and may not be empty.
     */
    static Region region(Map<String, List<String>> query, long[] shape) {
        String region = single(query, "region");
        String start = single(query, "start");
        String extent = single(query, "shape");
        if (region != null) {
            if (start != null || extent != null) {
                throw ApiError.badParameter("region", "give either region or start and shape, not both");
            }
            try {
                return RegionSyntax.parse(region, shape, RegionSyntax.Dialect.QUERY);
            } catch (BadRegionException e) {
                throw badRegion(e, "region", shape);
            }
        }
        if (start == null && extent == null) {
            return Region.whole(shape);
        }
        if (start == null || extent == null) {
            throw ApiError.badParameter(start == null ? "start" : "shape", "give both start and shape");
        }
        int rank = shape.length;
        long[] st = vector(start, "start", rank);
        long[] sh = vector(extent, "shape", rank);
        for (int i = 0; i < rank; i++) {
            if (sh[i] == 0) {
                throw ApiError.badParameter("shape", "shape axis " + i + " is 0");
            }
        }
        Region r = new Region(st, sh);
        try {
            RegionSyntax.requireInside(r, shape);
        } catch (BadRegionException e) {
            throw badRegion(e, "shape", shape);
        }
        return r;
    }

    /** The 400 for a region that does not parse or fit, blaming {@code parameter}. */
    private static ApiError badRegion(BadRegionException e, String parameter, long[] shape) {
        int i = e.axis();
        String message = switch (e.problem()) {
            case AXIS_COUNT -> "region has " + e.axes() + " axes; the array has rank " + shape.length;
            case NOT_AN_INTEGER -> "region '" + e.token() + "' is not an integer";
            case NEGATIVE -> "region " + e.value() + " is outside 0.." + Long.MAX_VALUE;
            case STEP -> "region axis " + i + " '" + e.part() + "': steps are not supported";
            case EMPTY -> "region axis " + i + " '" + e.part() + "' is empty";
            case OUTSIDE -> "region " + describe(e.region()) + " lies outside the array's shape " + Arrays.toString(shape)
                    + " (axis " + i + ")";
        };
        return ApiError.badParameter(parameter, message);
    }

    /** A region as the server's messages name it: {@code start [..] shape [..]}. */
    static String describe(Region r) {
        return "start " + Arrays.toString(r.start()) + " shape " + Arrays.toString(r.shape());
    }

    /** The schema's shape; used for limits before a read starts. */
    static long elements(ArraySchema schema, Region r) {
        long n = r.count();
        if (n == Long.MAX_VALUE) {
            throw ApiError.tooLarge("region", "region " + describe(r) + " has more than 2^63 elements");
        }
        return n;
    }
}
