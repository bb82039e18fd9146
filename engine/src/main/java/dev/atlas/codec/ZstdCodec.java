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
 * The reference crate's {@code zstd} blocks: standard zstd frames with the content size in their
 * headers, one per block as the crate writes them, or several (the run layout by default, or the
 * chunk layout; FORMAT.md 7.1), which every zstd decoder reads as one stream. Frames written here
 * also carry the optional 4-byte content checksum (XXH64, low 32 bits) that zstd verifies on
 * decompression; the crate writes frames without it and reads both. Works on direct buffers
 * through zstd-jni's direct-buffer API (heap inputs are copied to a direct buffer first).
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

    /** zstd's largest block (128 KiB): a streaming decoder stops at a block boundary at the earliest. */
    private static final int ZSTD_BLOCK_MAX = 128 << 10;

    /** The longest zstd frame header: magic, descriptor, window, dictionary id and content size. */
    private static final int FRAME_HEADER_MAX = 18;

    /**
     * Inside a frame of the run layout, a zstd block ends at a chunk start at least this far after
     * the last block end (smaller chunks share zstd blocks: each costs a block header and, often,
     * its own entropy tables).
     */
    static final int MIN_FLUSH = 4 << 10;

    /**
     * Inside a frame of the run layout, a stretch between zstd block ends longer than this (a long
     * chunk) is cut into equal zstd blocks of at most this size, so that a read of the start of a
     * long chunk stops early too. System property {@code atlas.zstd.flushEvery} (bytes).
     */
    static final int FLUSH_EVERY = Math.max(MIN_FLUSH, Integer.getInteger("atlas.zstd.flushEvery", 16 << 10));

    private final int level;
    private final int frameBytes;
    private final boolean runFrames;

    /**
     * @param frameBytes the largest frame {@link #compress(ByteBuf, int[], ByteBufAllocator)} cuts a
     *     chunk into (0: one frame per block, as the crate writes)
     */
    ZstdCodec(int level, int frameBytes) {
        this(level, frameBytes, false);
    }

    /**
     * @param runFrames when {@code frameBytes} is 0: a frame per run of chunks written together, its
     *     zstd blocks ending at chunk starts (see {@link #compress(ByteBuf, int[], int[], ByteBufAllocator)})
     */
    ZstdCodec(int level, int frameBytes, boolean runFrames) {
        this.level = level;
        this.frameBytes = frameBytes;
        this.runFrames = runFrames && frameBytes <= 0;
    }

    @Override
    public CodecId id() {
        return CodecId.ZSTD;
    }

    int level() {
        return level;
    }

    int frameBytes() {
        return frameBytes;
    }

    /**
     * Where the frames of a block of {@code n} bytes whose chunks start at {@code chunkStarts}
     * begin (the first is 0): a frame starts at every chunk start at least {@code frameBytes / 4}
     * after the previous frame's start (smaller chunks share a frame, so tiny chunks do not pay a
     * frame header each), and a chunk longer than {@code frameBytes} is cut into equal frames of at
     * most that size. {@code frameBytes <= 0}: one frame.
     */
    static int[] frameStarts(int n, int[] chunkStarts, int frameBytes) {
        if (frameBytes <= 0 || n == 0) {
            return new int[] {0};
        }
        int[] starts = new int[chunkStarts.length + 1];
        int k = 1;
        for (int c : chunkStarts) {
            if (c > 0 && c < n) {
                starts[k++] = c;
            }
        }
        starts = java.util.Arrays.copyOf(starts, k);
        java.util.Arrays.sort(starts);
        int min = Math.max(1, frameBytes / 4);
        int[] cuts = new int[16];
        int m = 0;
        int last = 0;
        for (int i = 0; i < starts.length; i++) {
            int b = starts[i];
            if (i > 0 && b == starts[i - 1]) {
                continue;
            }
            int e = i + 1 < starts.length ? starts[i + 1] : n;
            if (m == 0 || b - last >= min) {
                if (m == cuts.length) {
                    cuts = java.util.Arrays.copyOf(cuts, 2 * m);
                }
                cuts[m++] = b;
                last = b;
            }
            long len = e - b;
            long pieces = (len + frameBytes - 1) / frameBytes;
            long step = pieces <= 1 ? len : (len + pieces - 1) / pieces;
            for (long j = 1; j < pieces; j++) {
                if (m == cuts.length) {
                    cuts = java.util.Arrays.copyOf(cuts, 2 * m);
                }
                cuts[m++] = (int) (b + j * step);
                last = cuts[m - 1];
            }
        }
        return java.util.Arrays.copyOf(cuts, m);
    }

    /**
     * With run frames on, the run layout: a frame per run of chunks written together (one entry's
     * write: a read of one entry decodes only its frame), and inside each frame a zstd block ends at
     * every chunk start at least {@link #MIN_FLUSH} after the last and every {@link #FLUSH_EVERY}
     * bytes of a longer stretch (a flush, which keeps the frame's history: matches still reach back
     * across chunks), so that a streaming decoder can stop soon after the last byte a read needs. Each frame is standard, with its content size and
     * checksum; the concatenation decodes whole with any zstd decoder, the crate's included.
     * Otherwise as {@link #compress(ByteBuf, int[], ByteBufAllocator)}.
     */
    @Override
    public ByteBuf compress(ByteBuf src, int[] chunkStarts, int[] runStarts, ByteBufAllocator alloc) {
        if (!runFrames) {
            return compress(src, chunkStarts, alloc);
        }
        int n = src.readableBytes();
        if (n == 0) {
            return compress(src, alloc);
        }
        int[] frames = cuts(n, runStarts, 0);
        int[] flushes = every(cuts(n, chunkStarts, MIN_FLUSH), n, FLUSH_EVERY);
        // A flush ends a zstd block early: at most one more block header (3 bytes) per flush.
        long bound = framesBound(frames, n) + 3L * flushes.length + 64;
        return compressed(src, bound, alloc, (ctx, s, d) -> {
            int base = s.position();
            int f = 0;
            for (int i = 0; i < frames.length; i++) {
                int from = frames[i];
                int end = i + 1 < frames.length ? frames[i + 1] : n;
                ctx.setPledgedSrcSize(end - from);
                int at = from;
                while (f < flushes.length && flushes[f] <= from) {
                    f++;
                }
                while (true) {
                    int stop = f < flushes.length && flushes[f] < end ? flushes[f] : end;
                    com.github.luben.zstd.EndDirective how = stop == end
                            ? com.github.luben.zstd.EndDirective.END : com.github.luben.zstd.EndDirective.FLUSH;
                    ByteBuffer piece = s.duplicate();
                    piece.limit(base + stop).position(base + at);
                    while (!ctx.compressDirectByteBufferStream(d, piece, how) || piece.hasRemaining()) {
                        if (!d.hasRemaining()) {
                            throw new AtlasException("zstd compression overran its bound of " + d.limit() + " bytes");
                        }
                    }
                    at = stop;
                    if (stop == end) {
                        break;
                    }
                    f++;
                }
            }
            return d.position();
        });
    }

    /** Writes a compressed block into {@code d} (from position 0) from {@code s}; returns the bytes written. */
    private interface Writer {
        int write(ZstdCompressCtx ctx, ByteBuffer s, ByteBuffer d);
    }

    /**
     * The readable bytes of {@code src} (not released) compressed by {@code writer} into a new direct
     * buffer of {@code bound} bytes, through one context (a context per block, as
     * Zstd.compressDirectByteBuffer makes internally: it lets each frame carry its content checksum,
     * which every zstd decoder, the crate's included, verifies, while the content size stays in the
     * header as the format requires). The caller owns the result.
     */
    private ByteBuf compressed(ByteBuf src, long bound, ByteBufAllocator alloc, Writer writer) {
        ByteBuf in = direct(src, alloc);
        try {
            int n = in.readableBytes();
            int cap = (int) Math.min(Integer.MAX_VALUE - 8, bound);
            ByteBuf out = alloc.directBuffer(cap);
            try {
                int written;
                try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
                    ctx.setLevel(level).setChecksum(true).setContentSize(true);
                    written = writer.write(ctx, in.nioBuffer(in.readerIndex(), n), out.nioBuffer(0, cap));
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

    /** The sum of zstd's bound for each frame of {@code cuts} (frame starts, from 0) of an {@code n}-byte block. */
    private static long framesBound(int[] cuts, int n) {
        long bound = 0;
        for (int i = 0; i < cuts.length; i++) {
            int end = i + 1 < cuts.length ? cuts[i + 1] : n;
            bound += Zstd.compressBound(end - cuts[i]);
        }
        return bound;
    }

    /**
     * {@code cuts} (ascending, from 0) with more cuts inside every stretch longer than {@code step},
     * splitting it into equal parts of at most {@code step} bytes.
     */
    private static int[] every(int[] cuts, int n, int step) {
        int[] out = new int[cuts.length + n / step + 1];
        int m = 0;
        for (int i = 0; i < cuts.length; i++) {
            int from = cuts[i];
            int to = i + 1 < cuts.length ? cuts[i + 1] : n;
            out[m++] = from;
            int pieces = (int) (((long) to - from + step - 1) / step);
            for (int j = 1; j < pieces; j++) {
                out[m++] = (int) (from + (long) (to - from) * j / pieces);
            }
        }
        return java.util.Arrays.copyOf(out, m);
    }

    /**
     * 0 and the offsets of {@code starts} inside {@code (0, n)}, ascending and distinct, each at
     * least {@code min} after the one kept before it.
     */
    private static int[] cuts(int n, int[] starts, int min) {
        int[] sorted = starts.clone();
        java.util.Arrays.sort(sorted);
        int[] out = new int[sorted.length + 1];
        int m = 1;
        for (int c : sorted) {
            if (c > 0 && c < n && c - out[m - 1] >= Math.max(1, min)) {
                out[m++] = c;
            }
        }
        return java.util.Arrays.copyOf(out, m);
    }

    /**
     * A block of frames (see {@link #frameStarts}), each a standard frame with its content size and
     * checksum. Concatenated frames are one valid zstd stream: every zstd decoder, the crate's
     * single-shot one included, decodes them as the whole block.
     */
    @Override
    public ByteBuf compress(ByteBuf src, int[] chunkStarts, ByteBufAllocator alloc) {
        int n = src.readableBytes();
        int[] cuts = frameStarts(n, chunkStarts, frameBytes);
        if (cuts.length <= 1) {
            return compress(src, alloc);
        }
        return compressed(src, framesBound(cuts, n), alloc, (ctx, s, d) -> {
            int at = 0;
            for (int i = 0; i < cuts.length; i++) {
                int end = i + 1 < cuts.length ? cuts[i + 1] : n;
                at += ctx.compressDirectByteBuffer(d, d.position() + at, d.limit() - at, s, s.position() + cuts[i],
                        end - cuts[i]);
            }
            return at;
        });
    }

    @Override
    public ByteBuf compress(ByteBuf src, ByteBufAllocator alloc) {
        int n = src.readableBytes();
        return compressed(src, Zstd.compressBound(n), alloc,
                (ctx, s, d) -> ctx.compressDirectByteBuffer(d, d.position(), d.limit(), s, s.position(), n));
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
            // A block may be several frames (see compress with chunk starts): the first declares
            // its own part, at most the block; the total is checked after decoding.
            if (frameSize >= 0 && frameSize != uncompressedSize
                    && (frameSize > uncompressedSize || firstFrameLength(s, n) >= n)) {
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

    /** The stored length of the first frame of the {@code n} bytes at {@code s}'s position; {@code n} when it cannot tell. */
    private static long firstFrameLength(ByteBuffer s, int n) {
        try {
            long len = Zstd.findDirectByteBufferFrameCompressedSize(s, s.position(), n);
            return len <= 0 ? n : len;
        } catch (ZstdException e) {
            return n;
        }
    }

    /** One-shot decompression of {@code n} bytes at {@code s}'s position into {@code d} (capacity {@code size}). */
    private static long decompressInto(ByteBuffer d, int size, ByteBuffer s, int n) {
        ZstdDecompressCtx ctx = borrow();
        try {
            return ctx.decompressDirectByteBuffer(d, d.position(), size, s, s.position(), n);
        } finally {
            giveBack(ctx);
        }
    }

    private static ZstdDecompressCtx borrow() {
        ZstdDecompressCtx ctx = IDLE.poll();
        if (ctx != null) {
            IDLE_COUNT.decrementAndGet();
            return ctx;
        }
        return new ZstdDecompressCtx();
    }

    private static void giveBack(ZstdDecompressCtx ctx) {
        if (IDLE_COUNT.incrementAndGet() <= MAX_IDLE) {
            IDLE.offer(ctx);
        } else {
            IDLE_COUNT.decrementAndGet();
            ctx.close();
        }
    }

    /** Several frames: the first declares less than the whole block. */
    @Override
    public boolean decodesInParts(ByteBuf src, long uncompressedSize) {
        int n = src.readableBytes();
        if (n == 0) {
            return false;
        }
        try {
            long first;
            if (src.isDirect() && src.nioBufferCount() == 1) {
                ByteBuffer s = src.nioBuffer(src.readerIndex(), n);
                first = Zstd.getDirectByteBufferFrameContentSize(s, s.position(), n);
            } else {
                // A heap or composite buffer: the frame header (at most 18 bytes) is enough.
                byte[] head = new byte[Math.min(n, FRAME_HEADER_MAX)];
                src.getBytes(src.readerIndex(), head);
                first = Zstd.getFrameContentSize(head);
            }
            return first >= 0 && first < uncompressedSize;
        } catch (ZstdException e) {
            return false;
        }
    }

    /**
     * Decodes only the frames that hold needed bytes, and of a needed frame larger than a zstd
     * block whose needed part ends early, only the prefix up to its last needed byte (a streaming
     * decoder stopped there). Frames decoded whole have their content checksum checked by zstd;
     * a frame decoded in part cannot be (its checksum covers all of its content): its stored
     * bytes are covered by the layer's CRC-32C record, checked before any decoding. A block of
     * one frame needed to its end, or whose frames do not all declare their size, decodes whole.
     */
    @Override
    public ByteBuf decompress(ByteBuf src, long uncompressedSize, BlockRanges needed, ByteBufAllocator alloc,
            String what) {
        if (needed == null) {
            return decompress(src, uncompressedSize, alloc, what);
        }
        ByteBuf in = direct(src, alloc);
        try {
            int n = in.readableBytes();
            ByteBuffer s = in.nioBuffer(in.readerIndex(), n);
            BlockCodecs.checkSize(uncompressedSize, n * MAX_RATIO, what);
            int size = (int) uncompressedSize;
            // Walk the frame headers: where each frame is stored and which bytes of the block it holds.
            long[] frames = new long[12];
            int count = 0;
            long pos = 0;
            long at = 0;
            while (pos < n) {
                long content;
                long stored;
                try {
                    content = Zstd.getDirectByteBufferFrameContentSize(s, s.position() + (int) pos, n - (int) pos);
                    stored = Zstd.findDirectByteBufferFrameCompressedSize(s, s.position() + (int) pos, n - (int) pos);
                } catch (ZstdException e) {
                    throw new CorruptFileException(what, "zstd frame at byte " + pos + " does not decode: " + e.getMessage(), e);
                }
                if (content == -1) {
                    // No declared size (not a frame we write): the frames cannot be placed without decoding.
                    return decompress(src, uncompressedSize, alloc, what);
                }
                if (content < 0 || stored <= 0 || stored > n - pos || content > size - at) {
                    throw new CorruptFileException(what, "zstd frame at byte " + pos + " is invalid (declares "
                            + content + " bytes, stored in " + stored + ", the block table says " + uncompressedSize + ")");
                }
                if (count * 3 + 3 > frames.length) {
                    frames = java.util.Arrays.copyOf(frames, frames.length * 2);
                }
                frames[count * 3] = pos;
                frames[count * 3 + 1] = stored;
                frames[count * 3 + 2] = content;
                count++;
                pos += stored;
                at += content;
            }
            if (at != size) {
                throw new CorruptFileException(what, "zstd frames hold " + at + " bytes, the block table says " + size);
            }
            if (count == 1 && (needed.end() >= size || size <= ZSTD_BLOCK_MAX)) {
                return decompress(src, uncompressedSize, alloc, what);
            }
            ByteBuf out = alloc.directBuffer(Math.max(size, 1));
            ZstdDecompressCtx ctx = borrow();
            try {
                long begin = 0;
                for (int f = 0; f < count; f++) {
                    long from = frames[f * 3];
                    int stored = (int) frames[f * 3 + 1];
                    int content = (int) frames[f * 3 + 2];
                    long upTo = needed.neededEndIn(begin, begin + content);
                    if (upTo > begin) {
                        int want = (int) (upTo - begin);
                        // Streamed and stopped early when a frame has more than one zstd block (one
                        // above 128 KiB, or a run frame flushed at chunk starts) and the read needs at
                        // most half of it; else decoded whole in one call.
                        if (want < content && (content > ZSTD_BLOCK_MAX || 2L * want <= content)) {
                            decodePrefix(ctx, out.nioBuffer((int) begin, want), s, (int) from, stored, what);
                        } else {
                            ByteBuffer d = out.nioBuffer((int) begin, content);
                            long got;
                            try {
                                got = ctx.decompressDirectByteBuffer(d, d.position(), content, s, s.position() + (int) from,
                                        stored);
                            } catch (ZstdException e) {
                                throw new CorruptFileException(what, "zstd frame at byte " + from + " does not decode: "
                                        + e.getMessage(), e);
                            }
                            if (got != content) {
                                throw new CorruptFileException(what, "zstd frame at byte " + from + " decoded to " + got
                                        + " bytes, it declares " + content);
                            }
                        }
                    }
                    begin += content;
                }
                out.writerIndex(size);
                return out;
            } catch (RuntimeException e) {
                out.release();
                throw e;
            } finally {
                giveBack(ctx);
            }
        } finally {
            releaseCopy(in, src);
        }
    }

    /**
     * Streams the frame stored at {@code from} ({@code stored} bytes of {@code s}, from its position)
     * into {@code d} until {@code d} is full, then stops; {@code ctx} is reset after (a frame left
     * half-decoded must not leak into the next use).
     */
    private static void decodePrefix(ZstdDecompressCtx ctx, ByteBuffer d, ByteBuffer s, int from, int stored, String what) {
        ByteBuffer in = s.duplicate();
        in.limit(s.position() + from + stored);
        in.position(s.position() + from);
        ctx.reset();
        try {
            while (d.hasRemaining()) {
                int inBefore = in.position();
                int outBefore = d.position();
                boolean done = ctx.decompressDirectByteBufferStream(d, in);
                if (d.hasRemaining() && (done || (in.position() == inBefore && d.position() == outBefore))) {
                    throw new CorruptFileException(what, "zstd frame at byte " + from + " ended after "
                            + d.position() + " of the bytes needed");
                }
            }
        } catch (ZstdException e) {
            throw new CorruptFileException(what, "zstd frame at byte " + from + " does not decode: " + e.getMessage(), e);
        } finally {
            ctx.reset();
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
