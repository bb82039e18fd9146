package dev.atlas.internal.format;

import dev.atlas.codec.CodecId;
import dev.atlas.error.InvalidArgumentException;
import java.util.Objects;

/**
 * A block of a layer's data region: id (u32), where its compressed bytes are in the layer file,
 * its sizes, and its codec.
 */
public record BlockMeta(long id, long fileOffset, long compressedSize, long uncompressedSize, CodecId codec) {
    public BlockMeta {
        ChunkAddress.requireU32("block id", id);
        if (fileOffset < 0 || compressedSize < 0 || uncompressedSize < 0) {
            throw new InvalidArgumentException("negative block offset or size");
        }
        Objects.requireNonNull(codec, "codec");
    }

    /** End of the compressed bytes in the layer file; fails on overflow. */
    public long fileEnd() {
        return Math.addExact(fileOffset, compressedSize);
    }
}
