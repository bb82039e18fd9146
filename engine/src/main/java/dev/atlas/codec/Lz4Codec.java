package dev.atlas.codec;

import dev.atlas.error.CorruptFileException;
import dev.atlas.format.CodecId;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * The reference crate's {@code lz4} blocks: a u32 LE uncompressed length, then one raw LZ4 block
 * (not the frame format). Uses lz4-java's JNI compressor and its JNI <em>safe</em> decompressor
 * (the "fast" decompressor of lz4-java 1.13 is the slow Java one, see limits.md).
 */
final class Lz4Codec implements BlockCodec {
    static final Lz4Codec INSTANCE = new Lz4Codec();
    /** LZ4 cannot expand more than about 255x: each length byte adds at most 255 to a run. */
    private static final long MAX_RATIO = 256;

    private final LZ4Compressor compressor;
    private final LZ4SafeDecompressor decompressor;

    private Lz4Codec() {
        LZ4Factory factory;
        try {
            factory = LZ4Factory.nativeInstance();
        } catch (Throwable t) {
            factory = LZ4Factory.safeInstance();
        }
        compressor = factory.fastCompressor();
        decompressor = factory.safeDecompressor();
    }

    @Override
    public CodecId id() {
        return CodecId.LZ4;
    }

    @Override
    public ByteBuf compress(ByteBuf src, ByteBufAllocator alloc) {
        int n = src.readableBytes();
        int max = compressor.maxCompressedLength(n);
        ByteBuf out = alloc.directBuffer(4 + max);
        try {
            out.writeIntLE(n);
            ByteBuffer in = src.nioBuffer(src.readerIndex(), n);
            ByteBuffer dst = out.nioBuffer(4, max);
            int written = compressor.compress(in, in.position(), n, dst, dst.position(), max);
            out.writerIndex(4 + written);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    @Override
    public ByteBuf decompress(ByteBuf src, long uncompressedSize, ByteBufAllocator alloc, String what) {
        int n = src.readableBytes();
        if (n < 4) {
            throw new CorruptFileException(what, "lz4 block of " + n + " bytes has no length prefix");
        }
        long declared = src.getUnsignedIntLE(src.readerIndex());
        if (declared != uncompressedSize) {
            throw new CorruptFileException(what, "lz4 block declares " + declared
                    + " uncompressed bytes, the block table says " + uncompressedSize);
        }
        BlockCodecs.checkSize(declared, (n - 4L) * MAX_RATIO + 16, what);
        int size = (int) declared;
        ByteBuf out = alloc.directBuffer(size);
        try {
            ByteBuffer in = src.nioBuffer(src.readerIndex() + 4, n - 4).order(ByteOrder.LITTLE_ENDIAN);
            ByteBuffer dst = out.nioBuffer(0, size);
            int got = decompressor.decompress(in, in.position(), n - 4, dst, dst.position(), size);
            if (got != size) {
                throw new CorruptFileException(what, "lz4 block decoded to " + got + " bytes, expected " + size);
            }
            out.writerIndex(size);
            return out;
        } catch (LZ4Exception e) {
            out.release();
            throw new CorruptFileException(what, "lz4 block does not decode: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }
}
