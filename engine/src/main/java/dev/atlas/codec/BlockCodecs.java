package dev.atlas.codec;

import dev.atlas.error.CorruptFileException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.UnknownCodecException;

/** The codecs the engine knows, by stored id and by name. */
public final class BlockCodecs {
    /** Zstd level used when none is given; the reference crate's default. */
    public static final int DEFAULT_ZSTD_LEVEL = 3;

    /**
     * The largest zstd frame a chunk is cut into when the engine writes a block in the chunk layout
     * (a frame per chunk, long chunks cut into frames of at most this many bytes; chunks under a
     * quarter of it share frames). 0, the default: the run layout ({@link #DEFAULT_ZSTD_RUN_FRAMES}),
     * or one frame per block (the reference crate's layout) with that off. Measured with 32 KiB
     * frames (benchmarks/RESULTS.md, issue 25): 9-23 % more stored bytes than one frame per block
     * on data that compresses well, which the run layout avoids for most of the same read gain.
     * The system property {@code atlas.zstd.frameBytes} sets it; {@link #zstd(int, int)} per codec.
     */
    public static final int DEFAULT_ZSTD_FRAME_BYTES = Integer.getInteger("atlas.zstd.frameBytes", 0);

    /**
     * Whether the engine's zstd blocks are written in the run layout (with
     * {@link #DEFAULT_ZSTD_FRAME_BYTES} 0; on by default): a frame per run of chunks written together
     * (one write of one entry, typically one dataset's array), its zstd blocks ending at chunk starts
     * and every 16 KiB, so that a read decodes only the frames of the entries it reads and stops
     * after the chunk it needs (FORMAT.md 7.1). The crate reads these blocks like any other; Atlas
     * versions before issue 25 cannot. Measured (benchmarks/RESULTS.md, issue 25): the demo store's
     * stacked slice decodes 2.3x less, peers case (c) reads 2.8x faster, for 8.5 % more stored bytes
     * on the demo store and 2.6 % fewer on the peers' smooth data. System property
     * {@code atlas.zstd.runFrames=false} turns it off (one frame per block).
     */
    public static final boolean DEFAULT_ZSTD_RUN_FRAMES = !"false".equalsIgnoreCase(System.getProperty("atlas.zstd.runFrames"));

    private static final BlockCodec NONE = new NoneCodec();
    private static final BlockCodec ZSTD_DEFAULT = new ZstdCodec(DEFAULT_ZSTD_LEVEL, DEFAULT_ZSTD_FRAME_BYTES,
            DEFAULT_ZSTD_RUN_FRAMES);

    private BlockCodecs() {
    }

    /**
     * Loads the native LZ4 and zstd libraries now. Loading reads files, so it must not happen on a
     * non-blocking codec thread; {@code EngineResources} calls this on the thread that creates it.
     */
    public static void preload() {
        Lz4SizePrefixed.preload();
        com.github.luben.zstd.Zstd.compressBound(1);
    }

    /** Blocks stored verbatim. */
    public static BlockCodec none() {
        return NONE;
    }

    /** LZ4 blocks: u32 LE uncompressed length + one raw LZ4 block (JNI codec). */
    public static BlockCodec lz4() {
        return Lz4Codec.INSTANCE;
    }

    /** Zstd frames at the default level 3. */
    public static BlockCodec zstd() {
        return ZSTD_DEFAULT;
    }

    /**
     * Zstd frames at {@code level}.
     *
     * @throws InvalidArgumentException unless 1 &lt;= level &lt;= 22
     */
    public static BlockCodec zstd(int level) {
        if (level < 1 || level > 22) {
            throw new InvalidArgumentException("zstd level must be 1..22, not " + level);
        }
        return level == DEFAULT_ZSTD_LEVEL ? ZSTD_DEFAULT : new ZstdCodec(level, DEFAULT_ZSTD_FRAME_BYTES, DEFAULT_ZSTD_RUN_FRAMES);
    }

    /**
     * Zstd at {@code level} in the run layout ({@link #DEFAULT_ZSTD_RUN_FRAMES}) whatever the system
     * property says.
     *
     * @throws InvalidArgumentException unless 1 &lt;= level &lt;= 22
     */
    public static BlockCodec zstdRunFrames(int level) {
        zstd(level);
        return new ZstdCodec(level, 0, true);
    }

    /**
     * Zstd at {@code level} whose blocks, written with their chunk starts, are cut into frames of
     * at most {@code frameBytes} (0: one frame per block, the reference crate's layout).
     *
     * @throws InvalidArgumentException unless 1 &lt;= level &lt;= 22 and frameBytes &gt;= 0
     */
    public static BlockCodec zstd(int level, int frameBytes) {
        if (frameBytes < 0) {
            throw new InvalidArgumentException("zstd frame size must be >= 0, not " + frameBytes);
        }
        zstd(level);
        return new ZstdCodec(level, frameBytes);
    }

    /**
     * The codec that decodes blocks stored with {@code id}.
     *
     * @throws UnknownCodecException for a name other than lz4 / zstd
     */
    public static BlockCodec forId(CodecId id) {
        if (id.isNone()) {
            return NONE;
        }
        switch (id.name()) {
            case "lz4": return Lz4Codec.INSTANCE;
            case "zstd": return ZSTD_DEFAULT;
            default: throw new UnknownCodecException(id.name());
        }
    }

    /**
     * A codec by user-facing name: {@code none}, {@code lz4}, {@code zstd} or {@code zstd:LEVEL}.
     *
     * @throws UnknownCodecException for anything else
     */
    public static BlockCodec byName(String name) {
        if (name.equals("none")) {
            return NONE;
        }
        if (name.equals("lz4")) {
            return Lz4Codec.INSTANCE;
        }
        if (name.equals("zstd")) {
            return ZSTD_DEFAULT;
        }
        if (name.startsWith("zstd:")) {
            try {
                return zstd(Integer.parseInt(name.substring(5)));
            } catch (NumberFormatException e) {
                throw new InvalidArgumentException("zstd level in '" + name + "' is not a number");
            }
        }
        throw new UnknownCodecException(name);
    }

    /** Largest block the engine decodes: Netty buffers are int-indexed. */
    static final long MAX_BLOCK_SIZE = Integer.MAX_VALUE - 8;

    static void checkSize(long uncompressedSize, long maxByRatio, String what) {
        checkSize(uncompressedSize, MAX_BLOCK_SIZE, maxByRatio, what);
    }

    /**
     * Refuses a declared uncompressed size outside {@code 0..max}, or above what the compressed
     * bytes can hold ({@code maxByRatio}), before anything of that size is allocated.
     */
    static void checkSize(long uncompressedSize, long max, long maxByRatio, String what) {
        if (uncompressedSize < 0 || uncompressedSize > max) {
            throw new CorruptFileException(what, "uncompressed block size " + uncompressedSize
                    + " is outside 0.." + max + " (the maximum)");
        }
        if (uncompressedSize > maxByRatio) {
            throw new CorruptFileException(what, "uncompressed block size " + uncompressedSize
                    + " is more than its compressed bytes can hold (at most " + maxByRatio + ")");
        }
    }
}
