package dev.atlas.http;

/**
 * The conditional and range headers of a static-like answer (RFC 9110): {@code Range} with one
 * byte range, {@code If-None-Match} against a strong ETag.
 */
final class HttpRanges {
    /** What {@link #parse} returns for a range wholly outside the body (answered 416). */
    static final long[] UNSATISFIABLE = new long[0];

    private HttpRanges() {
    }

    /**
     * The inclusive byte range {@code [first, last]} that {@code header} asks of a body of
     * {@code length} bytes: {@code bytes=a-b} (b clipped to the end), {@code bytes=a-},
     * {@code bytes=-n} (the last n bytes).
     *
     * @return the range; {@link #UNSATISFIABLE} when it starts past the end (or asks for the last 0
     *     bytes); null when the header is to be ignored and the whole body sent (another unit,
     *     several ranges, bad syntax, as RFC 9110 allows)
     */
    static long[] parse(String header, long length) {
        String h = header.trim();
        if (!h.regionMatches(true, 0, "bytes=", 0, 6)) {
            return null;
        }
        String spec = h.substring(6).trim();
        if (spec.indexOf(',') >= 0) {
            return null;
        }
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return null;
        }
        String a = spec.substring(0, dash).trim();
        String b = spec.substring(dash + 1).trim();
        if (!digits(a) && !a.isEmpty() || !digits(b) && !b.isEmpty() || a.isEmpty() && b.isEmpty()) {
            return null;
        }
        try {
            if (a.isEmpty()) {
                long n = Long.parseLong(b);
                if (n == 0 || length == 0) {
                    return UNSATISFIABLE;
                }
                return new long[] {Math.max(0, length - n), length - 1};
            }
            long first = Long.parseLong(a);
            long last = b.isEmpty() ? length - 1 : Long.parseLong(b);
            if (last < first) {
                return null;
            }
            if (first >= length) {
                return UNSATISFIABLE;
            }
            return new long[] {first, Math.min(last, length - 1)};
        } catch (NumberFormatException tooLong) {
            return null;
        }
    }

    private static boolean digits(String s) {
        if (s.isEmpty()) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) < '0' || s.charAt(i) > '9') {
                return false;
            }
        }
        return true;
    }

    /** Whether {@code If-None-Match: header} matches {@code etag} ({@code *}, or one of its tags, weakly compared). */
    static boolean matches(String header, String etag) {
        for (String t : header.split(",")) {
            String tag = t.trim();
            if (tag.equals("*")) {
                return true;
            }
            if (tag.startsWith("W/")) {
                tag = tag.substring(2);
            }
            if (tag.equals(etag)) {
                return true;
            }
        }
        return false;
    }
}
