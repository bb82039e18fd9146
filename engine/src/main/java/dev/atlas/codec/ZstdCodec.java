package dev.atlas.codec;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.atlas.error.AtlasException;
import dev.atlas.error.CorruptFileException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The reference crate's {@code zstd} blocks: one standard zstd frame with the content size in its
 * header. Frames written here also carry the optional 4-byte content checksum (XXH64, low 32 bits)
 * that zstd verifies on decompression; the crate writes frames without it and reads both. Works on direct buffers through zstd-jni's direct-buffer API (heap inputs are copied to
 * a direct buffer first).
 */
final class ZstdCodec implements BlockCodec {
    /** A zstd block of at least 4 bytes expands to at most 128 KiB (RLE), so 32768x bounds any frame. */
    private static final long MAX_RATIO = 32_768;

    /**
     * Idle decompression contexts. {@code Zstd.decompressDirectByteBuffer} makes and frees a context
     * per call (6 % of the decompression time of 256 KiB blocks in a profile); a context is reusable
     * after any outcome of a one-shot decompression. At most {@link #MAX_IDLE} are kept; others are
     * closed when returned.
     */
    private static final ConcurrentLinkedQueue<ZstdDecompressCtx> IDLE = new ConcurrentLinkedQueue<>();
    private static final AtomicInteger IDLE_COUNT = new AtomicInteger();
    private static final int MAX_IDLE = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());

    private final int level;

    ZstdCodec(int level) {
        this.level = level;
    }

    @Override
    public CodecId id() {
        return CodecId.ZSTD;
    }

    int level() {
        return level;
    }

    @Override
    public ByteBuf compress(ByteBuf src, ByteBufAllocator alloc) {
        ByteBuf in = direct(src, alloc);
        try {
            int n = in.readableBytes();
            int bound = (int) Math.min(Integer.MAX_VALUE - 8, Zstd.compressBound(n));
            ByteBuf out = alloc.directBuffer(bound);
            try {
                ByteBuffer s = in.nioBuffer(in.readerIndex(), n);
                ByteBuffer d = out.nioBuffer(0, bound);
                // A context per block, as Zstd.compressDirectByteBuffer makes internally: it lets the
                // frame carry its content checksum, which every zstd decoder (the crate's included)
                // verifies, while the content size stays in the header as the format requires.
                int written;
                try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
                    ctx.setLevel(level).setChecksum(true).setContentSize(true);
                    written = ctx.compressDirectByteBuffer(d, d.position(), bound, s, s.position(), n);
                } catch (ZstdException e) {
                    throw new AtlasException("zstd compression failed: " + e.getMessage(), e);
                }
                out.writerIndex(written);
                return out;
            } catch (RuntimeException e) {
                out.release();
                throw e;
            }
        } finally {
            releaseCopy(in, src);
        }
    }

    @Override
    public ByteBuf decompress(ByteBuf src, long uncompressedSize, ByteBufAllocator alloc, String what) {
        ByteBuf in = direct(src, alloc);
        try {
            int n = in.readableBytes();
            ByteBuffer s = in.nioBuffer(in.readerIndex(), n);
            long frameSize;
            try {
                frameSize = Zstd.getDirectByteBufferFrameContentSize(s, s.position(), n);
            } catch (ZstdException e) {
                throw new CorruptFileException(what, "zstd frame header does not decode: " + e.getMessage(), e);
            }
            if (frameSize >= 0 && frameSize != uncompressedSize) {
                throw new CorruptFileException(what, "zstd frame declares " + frameSize
                        + " bytes, the block table says " + uncompressedSize);
            }
            if (frameSize < 0 && frameSize != -1) {
                throw new CorruptFileException(what, "zstd frame header is invalid (" + frameSize + ")");
            }
            BlockCodecs.checkSize(uncompressedSize, n * MAX_RATIO, what);
            int size = (int) uncompressedSize;
            ByteBuf out = alloc.directBuffer(Math.max(size, 1));
            try {
                ByteBuffer d = out.nioBuffer(0, size);
                long got = decompressInto(d, size, s, n);
                if (got != size) {
                    throw new CorruptFileException(what, "zstd block decoded to " + got + " bytes, expected " + size);
                }
                out.writerIndex(size);
                return out;
            } catch (ZstdException e) {
                out.release();
                throw new CorruptFileException(what, "zstd block does not decode: " + e.getMessage(), e);
            } catch (RuntimeException e) {
                out.release();
                throw e;
            }
        } finally {
            releaseCopy(in, src);
        }
    }

    /** One-shot decompression of {@code n} bytes at {@code s}'s position into {@code d} (capacity {@code size}). */
    private static long decompressInto(ByteBuffer d, int size, ByteBuffer s, int n) {
        ZstdDecompressCtx ctx = IDLE.poll();
        if (ctx != null) {
            IDLE_COUNT.decrementAndGet();
        } else {
            ctx = new ZstdDecompressCtx();
        }
        try {
            return ctx.decompressDirectByteBuffer(d, d.position(), size, s, s.position(), n);
        } finally {
            if (IDLE_COUNT.incrementAndGet() <= MAX_IDLE) {
                IDLE.offer(ctx);
            } else {
                IDLE_COUNT.decrementAndGet();
                ctx.close();
            }
        }
    }

    /** {@code src} itself when direct, else a direct copy the caller releases. */
    private static ByteBuf direct(ByteBuf src, ByteBufAllocator alloc) {
        if (src.isDirect() && src.nioBufferCount() == 1) {
            return src;
        }
        ByteBuf copy = alloc.directBuffer(src.readableBytes());
        copy.writeBytes(src, src.readerIndex(), src.readableBytes());
        return copy;
    }

    /** Releases {@code in} when {@link #direct} made it as a copy of {@code src} (never {@code src} itself). */
    private static void releaseCopy(ByteBuf in, ByteBuf src) {
        if (in != src) {
            in.release();
        }
    }
}
