package dev.atlas.internal.format;

/**
 * Object names of a file set: the base {@code P} (ending in {@code .af}), sidecars
 * {@code {stem}.{N}.af} for N &gt;= 1, and {@code {stem}.stats}, where the stem is {@code P} without
 * its {@code .af} suffix.
 */
public final class LayerNames {
    /** Suffix every layer file has. */
    public static final String SUFFIX = ".af";

    private LayerNames() {
    }

    /**
     * The stem of a base path.
     *
     * @throws IllegalArgumentException if {@code base} does not end in {@code .af}
     */
    public static String stem(String base) {
        if (!base.endsWith(SUFFIX) || base.length() == SUFFIX.length()) {
            throw new IllegalArgumentException("a file set's base name must end in .af: '" + base + "'");
        }
        return base.substring(0, base.length() - SUFFIX.length());
    }

    /** {@code {stem}.{n}.af}. */
    public static String sidecar(String stem, long n) {
        return stem + "." + n + SUFFIX;
    }

    /** {@code {stem}.stats}. */
    public static String stats(String stem) {
        return stem + ".stats";
    }

    /**
     * The sidecar number of {@code name} for {@code stem}, or -1 when {@code name} is not a sidecar of
     * it. Only plain decimal numbers 1..2^32-1 count (no sign, no leading zeros), so {@code x.2024.af}
     * next to {@code x.af} is sidecar 2024 as in the reference, but {@code x.01.af} is not.
     */
    public static long sidecarNumber(String stem, String name) {
        String prefix = stem + ".";
        if (!name.startsWith(prefix) || !name.endsWith(SUFFIX) || name.length() < prefix.length() + SUFFIX.length()) {
            return -1; // (the base, "{stem}.af", shares the dot of its suffix with the prefix)
        }
        String digits = name.substring(prefix.length(), name.length() - SUFFIX.length());
        if (digits.isEmpty() || digits.length() > 10 || digits.charAt(0) == '0') {
            return -1;
        }
        for (int i = 0; i < digits.length(); i++) {
            char c = digits.charAt(i);
            if (c < '0' || c > '9') {
                return -1;
            }
        }
        long n = Long.parseLong(digits);
        return n <= 0xFFFF_FFFFL ? n : -1;
    }
}
