package dev.atlas.internal.format;

import dev.atlas.error.CorruptFileException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Chunk element encoding. Fixed-width dtypes: the elements' little-endian bytes in C order, nothing
 * else. String and Binary: {@code N + 1} u32 LE offsets (the first 0, each the end of element
 * {@code i} within the payload), then the concatenated payload.
 *
 * <p>Decoding uses the element count the chunk shape implies and checks that offsets start at 0,
 * never decrease, and end exactly at the end of the chunk. String payloads must be valid UTF-8; an
 * invalid sequence is reported as corruption rather than replaced (the reference crate writes only
 * valid UTF-8, so anything else is damage).
 */
public final class ChunkCodec {
    private ChunkCodec() {
    }

    /**
     * Checks that a fixed-width chunk holds exactly {@code count} elements.
     *
     * @throws CorruptFileException naming {@code what} otherwise
     */
    public static void checkFixed(DType dtype, long byteLength, long count, String what) {
        checkFixed(dtype, byteLength, count, () -> what);
    }

    /** As {@link #checkFixed(DType, long, long, String)}, naming the chunk only when it is corrupt. */
    public static void checkFixed(DType dtype, long byteLength, long count, java.util.function.Supplier<String> what) {
        long width = dtype.elementSize();
        if (width < 0) {
            throw new InvalidArgumentException(dtype + " is not fixed-width");
        }
        if (count < 0 || count > Long.MAX_VALUE / Math.max(1, width) || byteLength != count * width) {
            throw new CorruptFileException(what.get(), "chunk of " + byteLength + " bytes does not hold " + count + " "
                    + dtype + " elements (" + width + " bytes each)");
        }
    }

    /**
     * Decodes a String/Binary chunk into the byte strings of its {@code count} elements.
     *
     * @param chunk from position to limit; not modified
     */
    public static List<byte[]> decodeVarLen(ByteBuffer chunk, long count, String what) {
        ByteBuffer b = chunk.slice().order(ByteOrder.LITTLE_ENDIAN);
        long len = b.remaining();
        if (count < 0 || count > (len - 4) / 4) {
            throw new CorruptFileException(what, "variable-length chunk of " + len + " bytes cannot hold "
                    + (count + 1) + " offsets for " + count + " elements");
        }
        int n = (int) count;
        int payloadStart = 4 * (n + 1);
        long payloadLen = len - payloadStart;
        List<byte[]> out = new ArrayList<>(n);
        long prev = b.getInt(0) & 0xFFFF_FFFFL;
        if (prev != 0) {
            throw new CorruptFileException(what, "variable-length chunk's first offset is " + prev + ", not 0");
        }
        for (int i = 1; i <= n; i++) {
            long end = b.getInt(4 * i) & 0xFFFF_FFFFL;
            if (end < prev || end > payloadLen) {
                throw new CorruptFileException(what, "variable-length offset " + i + " is " + end
                        + " (previous " + prev + ", payload " + payloadLen + " bytes)");
            }
            byte[] e = new byte[(int) (end - prev)];
            b.get(payloadStart + (int) prev, e);
            out.add(e);
            prev = end;
        }
        if (prev != payloadLen) {
            throw new CorruptFileException(what, "variable-length chunk has " + (payloadLen - prev)
                    + " bytes after its last element");
        }
        return out;
    }

    /**
     * Decodes a String chunk into the UTF-8 bytes of its elements, checking that each is valid
     * UTF-8 (without building Java strings).
     */
    public static List<byte[]> decodeUtf8(ByteBuffer chunk, long count, String what) {
        List<byte[]> raw = decodeVarLen(chunk, count, what);
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        for (int i = 0; i < raw.size(); i++) {
            try {
                decoder.reset().decode(ByteBuffer.wrap(raw.get(i)));
            } catch (CharacterCodingException e) {
                throw new CorruptFileException(what, "string element " + i + " is not valid UTF-8", e);
            }
        }
        return raw;
    }

    /** Decodes a String chunk; invalid UTF-8 is a {@link CorruptFileException}. */
    public static List<String> decodeStrings(ByteBuffer chunk, long count, String what) {
        List<byte[]> raw = decodeVarLen(chunk, count, what);
        List<String> out = new ArrayList<>(raw.size());
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        for (int i = 0; i < raw.size(); i++) {
            try {
                out.add(decoder.decode(ByteBuffer.wrap(raw.get(i))).toString());
            } catch (CharacterCodingException e) {
                throw new CorruptFileException(what, "string element " + i + " is not valid UTF-8", e);
            }
        }
        return out;
    }

    /**
     * Encodes byte strings as a variable-length chunk.
     *
     * @throws InvalidArgumentException if the payload exceeds the format's u32 offsets
     */
    public static byte[] encodeVarLen(List<byte[]> elements) {
        long total = 0;
        for (byte[] e : elements) {
            total += e.length;
        }
        long size = 4L * (elements.size() + 1) + total;
        if (total > 0xFFFF_FFFFL || size > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException("variable-length chunk payload of " + total
                    + " bytes exceeds the format's 32-bit offsets");
        }
        ByteBuffer b = ByteBuffer.allocate((int) size).order(ByteOrder.LITTLE_ENDIAN);
        int off = 0;
        b.putInt(0);
        for (byte[] e : elements) {
            off += e.length;
            b.putInt(off);
        }
        for (byte[] e : elements) {
            b.put(e);
        }
        return b.array();
    }

    /** Encodes strings (UTF-8) as a variable-length chunk. */
    public static byte[] encodeStrings(List<String> elements) {
        List<byte[]> raw = new ArrayList<>(elements.size());
        for (String s : elements) {
            raw.add(s.getBytes(StandardCharsets.UTF_8));
        }
        return encodeVarLen(raw);
    }
}
