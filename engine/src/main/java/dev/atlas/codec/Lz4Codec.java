package dev.atlas.codec;

import dev.atlas.error.CorruptFileException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;

/**
 * The reference crate's {@code lz4} blocks, in the engine's one LZ4 size-prefixed format
 * ({@link Lz4SizePrefixed}: a u32 LE uncompressed length, then one raw LZ4 block), on Netty buffers.
 */
final class Lz4Codec implements BlockCodec {
    static final Lz4Codec INSTANCE = new Lz4Codec();

    private Lz4Codec() {
    }

    @Override
    public CodecId id() {
        return CodecId.LZ4;
    }

    @Override
    public ByteBuf compress(ByteBuf src, ByteBufAllocator alloc) {
        int n = src.readableBytes();
        int max = Lz4SizePrefixed.maxFramedLength(n);
        ByteBuf out = alloc.directBuffer(max);
        try {
            ByteBuffer in = src.nioBuffer(src.readerIndex(), n);
            ByteBuffer dst = out.nioBuffer(0, max);
            out.writerIndex(Lz4SizePrefixed.compress(in, in.position(), n, dst, dst.position()));
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    @Override
    public ByteBuf decompress(ByteBuf src, long uncompressedSize, ByteBufAllocator alloc, String what) {
        int n = src.readableBytes();
        ByteBuffer in = src.nioBuffer(src.readerIndex(), n);
        long declared = Lz4SizePrefixed.declaredSize(in, in.position(), n, what);
        if (declared != uncompressedSize) {
            throw new CorruptFileException(what, "lz4 block declares " + declared
                    + " uncompressed bytes, the block table says " + uncompressedSize);
        }
        Lz4SizePrefixed.checkDeclaredSize(declared, n, BlockCodecs.MAX_BLOCK_SIZE, what);
        int size = (int) declared;
        ByteBuf out = alloc.directBuffer(size);
        try {
            ByteBuffer dst = out.nioBuffer(0, size);
            Lz4SizePrefixed.decompress(in, in.position(), n, dst, dst.position(), size, what);
            out.writerIndex(size);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }
}
