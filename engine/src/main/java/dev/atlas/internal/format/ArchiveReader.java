package dev.atlas.internal.format;

import dev.atlas.error.CorruptFileException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Bounds-checked reader of an archive payload. Every read is checked against the payload; every
 * relative pointer must land inside the payload, aligned, and entirely before the object that holds
 * it (the archive is written dependencies-first, so a valid file never points forward — this also
 * makes cycles, and so endless decoding, impossible). Failures are {@link CorruptFileException}s
 * naming the file and the offending position.
 */
final class ArchiveReader {
    private final ByteBuffer buf;
    private final String file;
    private final int limit;

    /** @param payload payload bytes from its position to its limit; not consumed or modified */
    ArchiveReader(ByteBuffer payload, String file) {
        this.buf = payload.slice().order(ByteOrder.LITTLE_ENDIAN);
        this.file = file;
        this.limit = buf.remaining();
    }

    int limit() {
        return limit;
    }

    String file() {
        return file;
    }

    CorruptFileException corrupt(String problem) {
        return new CorruptFileException(file, problem);
    }

    private void check(long at, long n) {
        if (at < 0 || n < 0 || at > limit - n) {
            throw corrupt("read of " + n + " bytes at payload offset " + at + " is outside the " + limit
                    + "-byte payload");
        }
    }

    int u8(long at) {
        check(at, 1);
        return buf.get((int) at) & 0xFF;
    }

    int u16(long at) {
        check(at, 2);
        return buf.getShort((int) at) & 0xFFFF;
    }

    long u32(long at) {
        check(at, 4);
        return buf.getInt((int) at) & 0xFFFF_FFFFL;
    }

    long i64(long at) {
        check(at, 8);
        return buf.getLong((int) at);
    }

    boolean bool(long at) {
        int b = u8(at);
        if (b > 1) {
            throw corrupt("bool at payload offset " + at + " is " + b + ", not 0 or 1");
        }
        return b == 1;
    }

    /** A u64 that must also fit a non-negative long (sizes and offsets). */
    long u64AsLong(long at, String what) {
        long v = i64(at);
        if (v < 0) {
            throw corrupt(what + " at payload offset " + at + " is " + Long.toUnsignedString(v)
                    + ", beyond any supported size");
        }
        return v;
    }

    /**
     * Resolves the Vec field at {@code fieldAt} (relative pointer, length).
     *
     * @param elemSize archived size of one element
     * @param elemAlign archived alignment of the element type
     * @param ownerStart start of the object holding the field; all elements must end at or before it
     * @return the element count (elements start at {@link #vecStart})
     */
    int vecLength(long fieldAt, int elemSize, int elemAlign, long ownerStart) {
        long len = i64(fieldAt + 8);
        long target = target(fieldAt);
        if (len < 0 || (elemSize > 0 && len > limit / elemSize)) {
            throw corrupt("vector at payload offset " + fieldAt + " claims " + Long.toUnsignedString(len)
                    + " elements, more than the payload holds");
        }
        if (len > Integer.MAX_VALUE - 8) {
            throw corrupt("vector at payload offset " + fieldAt + " is too long: " + len);
        }
        if (Math.floorMod(target, elemAlign) != 0) {
            throw corrupt("vector at payload offset " + fieldAt + " points to misaligned offset " + target);
        }
        long end = target + len * elemSize;
        if (target < 0 || end > ownerStart) {
            throw corrupt("vector at payload offset " + fieldAt + " points to [" + target + ", " + end
                    + "), not inside the payload before its owner at " + ownerStart);
        }
        return (int) len;
    }

    /** Start of the elements of the Vec at {@code fieldAt} (call after {@link #vecLength}). */
    long vecStart(long fieldAt) {
        return target(fieldAt);
    }

    /** Elements of the Vec of u32 at {@code fieldAt}, widened to longs. */
    long[] u32Vec(long fieldAt, long owner) {
        int n = vecLength(fieldAt, 4, 4, owner);
        long at = vecStart(fieldAt);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = u32(at + 4L * i);
        }
        return out;
    }

    /** The elements of the Vec of Strings at {@code fieldAt}. */
    List<String> stringVec(long fieldAt, long owner) {
        int n = vecLength(fieldAt, FooterLayout.STRING_SIZE, 8, owner);
        long p = vecStart(fieldAt);
        List<String> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            long s = p + (long) i * FooterLayout.STRING_SIZE;
            out.add(string(s, s));
        }
        return out;
    }

    /** A copy of the bytes of the Vec of u8 at {@code fieldAt}. */
    byte[] byteVec(long fieldAt, long owner) {
        int n = vecLength(fieldAt, 1, 1, owner);
        return bytes(vecStart(fieldAt), n);
    }

    /** Target of the Box at {@code fieldAt}, which must hold {@code size} bytes before its owner. */
    long box(long fieldAt, int size, int align, long ownerStart) {
        long target = target(fieldAt);
        if (target < 0 || target > ownerStart - size || Math.floorMod(target, align) != 0) {
            throw corrupt("box at payload offset " + fieldAt + " points to offset " + target
                    + ", not an aligned object before its owner at " + ownerStart);
        }
        return target;
    }

    private long target(long fieldAt) {
        long rel = i64(fieldAt);
        long t = fieldAt + rel;
        // fieldAt < 2^31 and rel is any long: overflow only if rel is near Long.MAX_VALUE.
        if ((rel > 0 && t < fieldAt) || t < 0 || t > limit) {
            throw corrupt("relative pointer at payload offset " + fieldAt + " (" + rel + ") leaves the payload");
        }
        return t;
    }

    /** Decodes the 16-byte String at {@code at}; out-of-line bytes must lie before {@code ownerStart}. */
    String string(long at, long ownerStart) {
        check(at, 16);
        int b0 = u8(at);
        if ((b0 & 0xC0) == 0x80) {
            long field = i64(at);
            long len = (field & 0x3F) | ((field & ~0xFFL) >>> 2);
            long reencoded = (len & 0x3F) | 0x80 | ((len & ~0x3FL) << 2);
            if (reencoded != field) {
                throw corrupt("string length field at payload offset " + at + " is malformed");
            }
            if (len <= 16) {
                throw corrupt("out-of-line string at payload offset " + at + " has inline length " + len);
            }
            long rel = i64(at + 8);
            long t = at + rel;
            if (rel > 0 || t < 0 || len > limit || t > ownerStart - len) {
                throw corrupt("string at payload offset " + at + " points to [" + t + ", +" + len
                        + "), not inside the payload before its owner");
            }
            return utf8((int) t, (int) len, at);
        }
        int len = 0;
        while (len < 16 && (buf.get((int) at + len) & 0xFF) != 0xFF) {
            len++;
        }
        return utf8((int) at, len, at);
    }

    /** Raw bytes {@code [at, at+len)}. */
    byte[] bytes(long at, int len) {
        check(at, len);
        byte[] out = new byte[len];
        buf.get((int) at, out);
        return out;
    }

    private String utf8(int start, int len, long stringAt) {
        // Names are almost always ASCII: then the bytes are the Latin-1 string itself (no decoder,
        // char buffer and copies per string; a footer of 1,000 datasets decodes thousands of them
        // on every open of a file set).
        byte[] raw = new byte[len];
        buf.get(start, raw);
        boolean ascii = true;
        for (byte b : raw) {
            if (b < 0) {
                ascii = false;
                break;
            }
        }
        if (ascii) {
            return new String(raw, StandardCharsets.ISO_8859_1);
        }
        ByteBuffer slice = buf.slice(start, len);
        try {
            CharBuffer cb = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(slice);
            return cb.toString();
        } catch (CharacterCodingException e) {
            throw new CorruptFileException(file, "string at payload offset " + stringAt + " is not valid UTF-8", e);
        }
    }
}
