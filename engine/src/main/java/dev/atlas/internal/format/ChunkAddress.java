package dev.atlas.internal.format;

import dev.atlas.error.InvalidArgumentException;

/**
 * Where a chunk's bytes are: {@code [offset, offset + size)} of the decompressed block
 * {@code blockId} of the same layer. All three are u32 on disk.
 */
public record ChunkAddress(long blockId, long offset, long size) {
    public ChunkAddress {
        requireU32("blockId", blockId);
        requireU32("offset", offset);
        requireU32("size", size);
    }

    static void requireU32(String what, long v) {
        if (v < 0 || v > 0xFFFF_FFFFL) {
            throw new InvalidArgumentException(what + " " + v + " does not fit the format's u32");
        }
    }
}
