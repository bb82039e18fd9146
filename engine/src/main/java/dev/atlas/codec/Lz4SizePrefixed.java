package dev.atlas.codec;

import dev.atlas.error.CorruptFileException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * The engine's one LZ4 size-prefixed format (the reference's lz4_flex {@code compress_prepend_size}):
 * a u32 little-endian uncompressed length, then one raw LZ4 block (not the frame format). It owns
 * the lz4-java codecs (JNI when the native library loads, else the Java ones; the <em>safe</em>
 * decompressor only: in lz4-java 1.13 the native factory's {@code fastDecompressor()} is a pure-Java
 * one, while the JNI safe decompressor runs at memcpy speed) and the checks that refuse a hostile
 * prefix before anything is allocated. The LZ4 block codec and the store's {@code .lz4} registry files both frame through it;
 * not API (public only so that {@code dev.atlas.store} can reach it).
 *
 * <p>Methods on {@link ByteBuffer}s (heap or direct) use absolute offsets and change no position or limit.
 */
public final class Lz4SizePrefixed {
    /** Bytes of the length prefix. */
    public static final int PREFIX_BYTES = 4;
    /**
     * LZ4 expands at most about 255 times (each extra length byte adds at most 255 bytes to a run),
     * so a prefix above {@code 255 * payload + 16} is a lie and is refused before allocating.
     */
    static final long MAX_RATIO = 255;
    private static final long RATIO_SLACK = 16;

    private static final LZ4Compressor COMPRESSOR;
    private static final LZ4SafeDecompressor DECOMPRESSOR;

    static {
        LZ4Factory f;
        try {
            f = LZ4Factory.nativeInstance();
        } catch (Throwable t) {
            f = LZ4Factory.safeInstance();
        }
        COMPRESSOR = f.fastCompressor();
        DECOMPRESSOR = f.safeDecompressor();
    }

    private Lz4SizePrefixed() {
    }

    /** Loads the codecs (and with them the native library) now. */
    static void preload() {
        COMPRESSOR.maxCompressedLength(0);
    }

    /** Room {@link #compress(ByteBuffer, int, int, ByteBuffer, int)} needs for {@code n} input bytes. */
    public static int maxFramedLength(int n) {
        return PREFIX_BYTES + COMPRESSOR.maxCompressedLength(n);
    }

    /**
     * Frames {@code n} bytes of {@code src} at {@code srcOff} into {@code dst} at {@code dstOff},
     * which has room for {@link #maxFramedLength(int)} bytes.
     *
     * @return the framed length (prefix included)
     */
    public static int compress(ByteBuffer src, int srcOff, int n, ByteBuffer dst, int dstOff) {
        dst.put(dstOff, (byte) n);
        dst.put(dstOff + 1, (byte) (n >>> 8));
        dst.put(dstOff + 2, (byte) (n >>> 16));
        dst.put(dstOff + 3, (byte) (n >>> 24));
        int max = COMPRESSOR.maxCompressedLength(n);
        return PREFIX_BYTES + COMPRESSOR.compress(src, srcOff, n, dst, dstOff + PREFIX_BYTES, max);
    }

    /**
     * The uncompressed length the prefix of the {@code len} framed bytes at {@code off} declares.
     *
     * @throws CorruptFileException naming {@code what} when there is no whole prefix
     */
    public static long declaredSize(ByteBuffer framed, int off, int len, String what) {
        if (len < PREFIX_BYTES) {
            throw new CorruptFileException(what, "lz4 data of " + len + " bytes has no size prefix");
        }
        return (framed.get(off) & 0xFFL) | (framed.get(off + 1) & 0xFFL) << 8 | (framed.get(off + 2) & 0xFFL) << 16
                | (framed.get(off + 3) & 0xFFL) << 24;
    }

    /**
     * Checks a declared size against {@code max} and against what {@code len} framed bytes can
     * hold, before anything of that size is allocated.
     *
     * @throws CorruptFileException naming {@code what} when it is above either
     */
    public static void checkDeclaredSize(long declared, int len, long max, String what) {
        BlockCodecs.checkSize(declared, max, (len - (long) PREFIX_BYTES) * MAX_RATIO + RATIO_SLACK, what);
    }

    /**
     * Decodes the block after the prefix of the {@code len} framed bytes at {@code off} into
     * {@code dst} at {@code dstOff}: exactly {@code size} bytes (a size checked first with
     * {@link #checkDeclaredSize}).
     *
     * @throws CorruptFileException naming {@code what} when the block does not decode to that size
     */
    public static void decompress(ByteBuffer framed, int off, int len, ByteBuffer dst, int dstOff, int size,
            String what) {
        int got;
        try {
            got = DECOMPRESSOR.decompress(framed, off + PREFIX_BYTES, len - PREFIX_BYTES, dst, dstOff, size);
        } catch (LZ4Exception | IndexOutOfBoundsException e) {
            throw new CorruptFileException(what, "lz4 block does not decode: " + e.getMessage(), e);
        }
        if (got != size) {
            throw new CorruptFileException(what, "lz4 block decoded to " + got + " bytes, its prefix says " + size);
        }
    }

    /** {@code raw} framed, in a new array. */
    public static byte[] compress(byte[] raw) {
        byte[] out = new byte[maxFramedLength(raw.length)];
        int n = compress(ByteBuffer.wrap(raw), 0, raw.length, ByteBuffer.wrap(out), 0);
        return Arrays.copyOf(out, n);
    }

    /**
     * The bytes {@code framed} holds, at most {@code max} of them.
     *
     * @throws CorruptFileException naming {@code what} for a missing, hostile or wrong prefix or a damaged block
     */
    public static byte[] decompress(byte[] framed, long max, String what) {
        ByteBuffer src = ByteBuffer.wrap(framed);
        long declared = declaredSize(src, 0, framed.length, what);
        checkDeclaredSize(declared, framed.length, max, what);
        byte[] out = new byte[(int) declared];
        decompress(src, 0, framed.length, ByteBuffer.wrap(out), 0, out.length, what);
        return out;
    }
}
