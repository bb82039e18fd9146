package dev.atlas.internal.format;

import dev.atlas.error.CorruptFileException;
import java.nio.ByteBuffer;

/**
 * Entry point for encoding and decoding layer footers and stats payloads in the archive layout of
 * the reference crate (rkyv 0.8, 64-bit relative pointers, little endian). Decoding validates every
 * pointer, tag and count; encoding emits dependencies before bodies in field order (post-order),
 * which reproduces the reference serializer byte for byte. The work is done by
 * {@link FooterDecoder}, {@link FooterEncoder} and {@link StatsCodec}. Pure functions, thread-safe.
 */
public final class FooterCodec {
    private FooterCodec() {
    }

    /**
     * Decodes a footer payload (the bytes between the data region and the trailer).
     *
     * @param payload read from its position to its limit; not modified
     * @param file name used in error messages
     * @throws CorruptFileException if the payload is not a valid v4 or v5 footer
     */
    public static Footer decodeFooter(ByteBuffer payload, String file) {
        return FooterDecoder.decode(payload, file);
    }

    /**
     * Encodes a footer payload byte-identical to the reference serializer's output for the same
     * footer (version 4 or 5 as given by {@link Footer#version()}).
     */
    public static byte[] encodeFooter(Footer footer) {
        return FooterEncoder.encode(footer);
    }

    /**
     * Decodes a stats payload: the v1 layout first, then the unversioned 0.9-0.11 layout.
     *
     * @param payload read from its position to its limit; not modified
     * @param file name used in error messages
     * @throws CorruptFileException if neither layout decodes
     */
    public static StatsFile decodeStats(ByteBuffer payload, String file) {
        return StatsCodec.decode(payload, file);
    }

    /** Encodes a stats payload in the layout named by {@link StatsFile#version()}. */
    public static byte[] encodeStats(StatsFile stats) {
        return StatsCodec.encode(stats);
    }
}
