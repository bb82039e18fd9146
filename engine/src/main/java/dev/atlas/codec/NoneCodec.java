package dev.atlas.codec;

import dev.atlas.error.CorruptFileException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/** Blocks stored verbatim. */
final class NoneCodec implements BlockCodec {
    @Override
    public CodecId id() {
        return CodecId.NONE;
    }

    @Override
    public ByteBuf compress(ByteBuf src, ByteBufAllocator alloc) {
        ByteBuf out = alloc.directBuffer(src.readableBytes());
        out.writeBytes(src, src.readerIndex(), src.readableBytes());
        return out;
    }

    @Override
    public ByteBuf decompress(ByteBuf src, long uncompressedSize, ByteBufAllocator alloc, String what) {
        if (src.readableBytes() != uncompressedSize) {
            throw new CorruptFileException(what, "uncompressed block holds " + src.readableBytes()
                    + " bytes, the block table says " + uncompressedSize);
        }
        return src.retainedSlice();
    }
}
