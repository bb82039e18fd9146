package dev.atlas.store;

/**
 * Finds the UTF-16 code units that have no UTF-8 form: a high surrogate not followed by a low one,
 * or a low one on its own. Rust strings cannot hold them, so registry text with one is refused on
 * write and is corrupt on read.
 */
final class LoneSurrogates {
    private LoneSurrogates() {
    }

    /** The index of the first lone surrogate in {@code s}, or -1 when there is none. */
    static int indexIn(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }
}
