package dev.atlas.internal.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.atlas.error.CorruptFileException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Inline strings of a footer: the ASCII fast path and the strict UTF-8 path agree with the rules. */
class ArchiveReaderStringTest {
    private static String inline(byte... bytes) {
        byte[] field = new byte[16];
        Arrays.fill(field, (byte) 0xFF);
        System.arraycopy(bytes, 0, field, 0, bytes.length);
        return new ArchiveReader(ByteBuffer.wrap(field), "f").string(0, 16);
    }

    @Test
    void asciiAndMultiByteNamesDecodeAndInvalidUtf8IsCorruption() {
        assertEquals("temperature", inline("temperature".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertEquals("", inline());
        assertEquals("wörld-α", inline("wörld-α".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        assertThrows(CorruptFileException.class, () -> inline((byte) 'a', (byte) 0xC3, (byte) 0x28));
        assertThrows(CorruptFileException.class, () -> inline((byte) 0xC0, (byte) 0x80));
    }
}
