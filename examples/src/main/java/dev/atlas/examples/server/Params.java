package dev.atlas.examples.server;

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

    /** A region: start and shape. */
    record Region(long[] start, long[] shape) {
        long elements() {
            long n = 1;
            for (long s : shape) {
                n = Math.multiplyExact(n, s);
            }
            return n;
        }

        String shapeHeader() {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < shape.length; i++) {
                sb.append(i == 0 ? "" : ",").append(shape[i]);
            }
            return sb.toString();
        }

        @Override
        public String toString() {
            return "start " + Arrays.toString(start) + " shape " + Arrays.toString(shape);
        }
    }

    /**
     * The region a request names for an array of {@code shape}: {@code region=a:b,c:d,...} (Python
     * slice syntax per axis: {@code i} for one index, {@code a:b}, {@code :b}, {@code a:}, {@code :}),
     * or {@code start=} and {@code shape=} (comma lists), or the whole array when neither is given.
     * The region must lie inside the array and may not be empty.
     */
    static Region region(Map<String, List<String>> query, long[] shape) {
        String region = single(query, "region");
        String start = single(query, "start");
        String extent = single(query, "shape");
        int rank = shape.length;
        long[] st = new long[rank];
        long[] sh = shape.clone();
        String blame;
        if (region != null) {
            if (start != null || extent != null) {
                throw ApiError.badParameter("region", "give either region or start and shape, not both");
            }
            blame = "region";
            String[] axes = region.isEmpty() ? new String[0] : region.split(",", -1);
            if (axes.length != rank) {
                throw ApiError.badParameter("region", "region has " + axes.length + " axes; the array has rank " + rank);
            }
            for (int i = 0; i < rank; i++) {
                String a = axes[i].trim();
                int colon = a.indexOf(':');
                long lo;
                long hi;
                if (colon < 0) {
                    lo = integer(a, "region", 0, Long.MAX_VALUE);
                    hi = lo + 1;
                } else {
                    String l = a.substring(0, colon).trim();
                    String h = a.substring(colon + 1).trim();
                    if (h.contains(":")) {
                        throw ApiError.badParameter("region", "region axis " + i + " '" + a + "': steps are not supported");
                    }
                    lo = l.isEmpty() ? 0 : integer(l, "region", 0, Long.MAX_VALUE);
                    hi = h.isEmpty() ? shape[i] : integer(h, "region", 0, Long.MAX_VALUE);
                }
                if (hi <= lo) {
                    throw ApiError.badParameter("region", "region axis " + i + " '" + a + "' is empty");
                }
                st[i] = lo;
                sh[i] = hi - lo;
            }
        } else if (start != null || extent != null) {
            if (start == null || extent == null) {
                throw ApiError.badParameter(start == null ? "start" : "shape", "give both start and shape");
            }
            st = vector(start, "start", rank);
            sh = vector(extent, "shape", rank);
            blame = "shape";
            for (int i = 0; i < rank; i++) {
                if (sh[i] == 0) {
                    throw ApiError.badParameter("shape", "shape axis " + i + " is 0");
                }
            }
        } else {
            blame = "region";
        }
        for (int i = 0; i < rank; i++) {
            if (st[i] >= shape[i] && shape[i] > 0 || st[i] > shape[i] - sh[i] || sh[i] > shape[i]) {
                throw ApiError.badParameter(blame, "region " + new Region(st, sh) + " lies outside the array's shape "
                        + Arrays.toString(shape) + " (axis " + i + ")");
            }
        }
        return new Region(st, sh);
    }

    /** The schema's shape; used for limits before a read starts. */
    static long elements(ArraySchema schema, Region r) {
        try {
            return r.elements();
        } catch (ArithmeticException e) {
            throw ApiError.tooLarge("region", "region " + r + " has more than 2^63 elements");
        }
    }
}
