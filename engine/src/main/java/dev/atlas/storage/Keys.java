package dev.atlas.storage;

import dev.atlas.error.InvalidArgumentException;

/** Validation of object keys and ranges shared by every backend. */
public final class Keys {
    private Keys() {
    }

    /**
     * Checks a key: non-empty, relative ({@code /}-separated, no leading {@code /}), no empty,
     * {@code .} or {@code ..} segment, no NUL or backslash.
     *
     * @return the key
     * @throws InvalidArgumentException naming the key otherwise
     */
    public static String check(String key) {
        if (key == null || key.isEmpty()) {
            throw new InvalidArgumentException("object key must not be empty");
        }
        if (key.indexOf('\0') >= 0 || key.indexOf('\\') >= 0) {
            throw new InvalidArgumentException("object key '" + key.replace("\0", "\\0") + "' contains NUL or backslash");
        }
        for (String seg : key.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                throw new InvalidArgumentException("object key '" + key + "' has an empty, '.' or '..' segment");
            }
        }
        return key;
    }

    /** Checks a range's numbers (not against a size). */
    public static void checkRange(String key, long offset, long length) {
        if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
            throw new InvalidArgumentException("invalid range offset " + offset + " length " + length + " of '" + key + "'");
        }
        if (length > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException("range of " + length + " bytes of '" + key
                    + "' exceeds the largest single buffer (" + (Integer.MAX_VALUE - 8) + " bytes)");
        }
    }
}
