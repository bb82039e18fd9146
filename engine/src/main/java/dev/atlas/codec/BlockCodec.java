package dev.atlas.codec;

import dev.atlas.format.CodecId;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Compression of one block of a layer's data region. Implementations are stateless and
 * thread-safe; they run on whatever thread calls them (the engine calls them on its codec
 * scheduler).
 */
public interface BlockCodec {

    /** The id stored in the block table for blocks this codec writes. */
    CodecId id();

    /**
     * Compresses the readable bytes of {@code src}.
     *
     * @param src not released, its indices are not changed
     * @return a new buffer holding the stored block bytes; the caller owns it and releases it
     */
    ByteBuf compress(ByteBuf src, ByteBufAllocator alloc);

    /**
     * Decompresses the readable bytes of {@code src} (one stored block).
     *
     * @param src not released, its indices are not changed
     * @param uncompressedSize the size the block table records; the result must have exactly this size
     * @param what names the block in error messages (file and block id)
     * @return a buffer of exactly {@code uncompressedSize} readable bytes; the caller owns it and
     *     releases it (for {@code none} it is a retained slice of {@code src})
     * @throws dev.atlas.error.CorruptFileException if the bytes do not decode to that size, or the size
     *     is more than the compressed bytes can justify (no allocation is made then)
     */
    ByteBuf decompress(ByteBuf src, long uncompressedSize, ByteBufAllocator alloc, String what);
}
