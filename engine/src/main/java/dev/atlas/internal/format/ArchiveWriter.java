package dev.atlas.internal.format;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Append-only little-endian byte sink for the archive encoder. Positions are payload-relative;
 * alignment is relative to the payload start. Bodies are reserved with {@link #reserve} (zeroed)
 * and their fields filled with the {@code put*} methods at absolute positions.
 */
final class ArchiveWriter {
    private byte[] buf = new byte[256];
    private int pos;

    int pos() {
        return pos;
    }

    /** Zero padding up to a multiple of {@code align}. */
    void pad(int align) {
        int target = (pos + align - 1) / align * align;
        ensure(target - pos);
        pos = target;
    }

    /** Reserves {@code n} zero bytes at the current position and returns their start. */
    int reserve(int n) {
        ensure(n);
        int at = pos;
        pos += n;
        return at;
    }

    /** Appends raw bytes (alignment 1) and returns their start. */
    int bytes(byte[] b) {
        int at = reserve(b.length);
        System.arraycopy(b, 0, buf, at, b.length);
        return at;
    }

    void put8(int at, int v) {
        buf[at] = (byte) v;
    }

    void put16(int at, int v) {
        buf[at] = (byte) v;
        buf[at + 1] = (byte) (v >>> 8);
    }

    void put32(int at, long v) {
        for (int i = 0; i < 4; i++) {
            buf[at + i] = (byte) (v >>> (8 * i));
        }
    }

    void put64(int at, long v) {
        for (int i = 0; i < 8; i++) {
            buf[at + i] = (byte) (v >>> (8 * i));
        }
    }

    /** A Vec/Box field at {@code fieldAt}: relative pointer to {@code target}, then (Vec) the length. */
    void putVec(int fieldAt, int target, long length) {
        put64(fieldAt, (long) target - fieldAt);
        put64(fieldAt + 8, length);
    }

    void putBox(int fieldAt, int target) {
        put64(fieldAt, (long) target - fieldAt);
    }

    /**
     * Dependencies of a String: strings longer than 16 bytes store their bytes out of line here.
     *
     * @return the position of the out-of-line bytes, or -1 for an inline string
     */
    int stringDeps(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return b.length > 16 ? bytes(b) : -1;
    }

    /** The 16-byte String body at {@code at}, given the position {@link #stringDeps} returned. */
    void putString(int at, String s, int depPos) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= 16) {
            System.arraycopy(b, 0, buf, at, b.length);
            Arrays.fill(buf, at + b.length, at + 16, (byte) 0xFF);
        } else {
            long len = b.length;
            long field = (len & 0x3F) | 0x80 | ((len & ~0x3FL) << 2);
            put64(at, field);
            put64(at + 8, (long) depPos - at);
        }
    }

    /**
     * A Vec of Strings: the out-of-line bytes of each string, then the 8-aligned string bodies.
     *
     * @return the position of the first body
     */
    int stringVec(List<String> strings) {
        int[] deps = new int[strings.size()];
        for (int i = 0; i < deps.length; i++) {
            deps[i] = stringDeps(strings.get(i));
        }
        pad(8);
        int at = pos();
        for (int i = 0; i < deps.length; i++) {
            putString(reserve(FooterLayout.STRING_SIZE), strings.get(i), deps[i]);
        }
        return at;
    }

    byte[] toByteArray() {
        return Arrays.copyOf(buf, pos);
    }

    private void ensure(int n) {
        if (pos + n > buf.length) {
            int cap = buf.length;
            while (cap < pos + n) {
                cap = Math.multiplyExact(cap, 2);
            }
            buf = Arrays.copyOf(buf, cap);
        }
    }
}
