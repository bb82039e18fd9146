package dev.atlas.codec;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Compression of one block of a layer's data region. Implementations are stateless and
 * thread-safe; they run on whatever thread calls them (the engine calls them on its codec
 * scheduler).
 *
 * <p>One of three codec names, each a different thing: a {@code BlockCodec} is the implementation
 * that (de)compresses; a {@link CodecId} is what a block table entry stores to name it; and
 * {@code dev.atlas.store.StoreCodec} is the Atlas store's closed choice of codec, spelled as the
 * registry file spells it.
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

    /**
     * Compresses the readable bytes of {@code src}, a block whose chunks start at {@code chunkStarts}
     * (offsets into the readable bytes, ascending): a codec that can lay a block out so that a
     * chunk is cheap to reach on its own uses them (zstd: a frame per chunk, see
     * {@link BlockCodecs#DEFAULT_ZSTD_FRAME_BYTES}, or zstd blocks ending there, see
     * {@link BlockCodecs#DEFAULT_ZSTD_RUN_FRAMES}); the others ignore them. The result decodes whole
     * with {@link #decompress} like any block of this codec.
     *
     * @param src not released, its indices are not changed
     * @param chunkStarts not kept; may be empty
     * @return a new buffer holding the stored block bytes; the caller owns it and releases it
     */
    default ByteBuf compress(ByteBuf src, int[] chunkStarts, ByteBufAllocator alloc) {
        return compress(src, alloc);
    }

    /**
     * As {@link #compress(ByteBuf, int[], ByteBufAllocator)}, also told where runs of chunks written
     * together (one write of one entry) start, {@code runStarts} (offsets, ascending; the block's
     * start is always one): zstd with run frames ({@link BlockCodecs#DEFAULT_ZSTD_RUN_FRAMES}) starts
     * a frame at each. Others ignore them.
     *
     * @param runStarts not kept; may be empty
     */
    default ByteBuf compress(ByteBuf src, int[] chunkStarts, int[] runStarts, ByteBufAllocator alloc) {
        return compress(src, chunkStarts, alloc);
    }

    /**
     * Whether {@link #decompress(ByteBuf, long, BlockRanges, ByteBufAllocator, String)} decodes
     * the stored block {@code src} in independent parts (zstd: several frames), so that reads of
     * different parts together cost about one whole decode. When false, several partial reads of
     * one block would each decode most of it: readers should share one whole decode instead.
     *
     * @param src not released, its indices are not changed
     */
    default boolean decodesInParts(ByteBuf src, long uncompressedSize) {
        return false;
    }

    /**
     * Decompresses the parts of one stored block that a read needs, and at least those: the
     * result has {@code uncompressedSize} readable bytes, of which the bytes inside the ranges of
     * {@code needed} are the block's bytes and every other byte is unspecified (it may be
     * anything). A codec that cannot stop early decodes the whole block. Whoever gets such a
     * buffer must use only the bytes of {@code needed}, and must never hand it to a read that
     * needs others.
     *
     * @param src not released, its indices are not changed
     * @param needed ascending, disjoint half-open ranges {@code [from, to)} inside the block, as
     *     {@link BlockRanges}; {@code null} means the whole block
     * @param what names the block in error messages (file and block id)
     * @return a buffer of exactly {@code uncompressedSize} readable bytes; the caller owns it and
     *     releases it
     * @throws dev.atlas.error.CorruptFileException as {@link #decompress}, when the part decoded is
     *     damaged or the block's frames do not add up to its size
     */
    default ByteBuf decompress(ByteBuf src, long uncompressedSize, BlockRanges needed, ByteBufAllocator alloc,
            String what) {
        return decompress(src, uncompressedSize, alloc, what);
    }
}
