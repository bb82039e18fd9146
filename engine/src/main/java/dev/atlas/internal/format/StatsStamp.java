package dev.atlas.internal.format;

import dev.atlas.error.CorruptFileException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Which committed layer stack a stats file describes. The engine writes it as a 24-byte prefix in
 * front of the stats payload ({@code "ATSG"}, u32 stamp version, u64 layer count, u64 stack hash,
 * little-endian). The reference crate reads a stats file through its trailer only, so it never sees
 * the prefix; files it writes have none, and their freshness cannot be checked.
 *
 * @param layerCount number of committed layers (base included) the statistics were computed over
 * @param stackHash hash of those layers' keys, sizes and footer checksums (see {@link #hashLayer})
 */
public record StatsStamp(long layerCount, long stackHash) {
    /** Bytes of the encoded prefix. */
    public static final int SIZE = 24;
    private static final byte[] MAGIC = "ATSG".getBytes(StandardCharsets.ISO_8859_1);
    private static final int STAMP_VERSION = 1;
    /** Start value of {@link #hashLayer} chains. */
    public static final long EMPTY_STACK = 0xcbf29ce484222325L;

    /** The encoded prefix. */
    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(STAMP_VERSION).putLong(layerCount).putLong(stackHash);
        return b.array();
    }

    /**
     * Decodes the bytes of a stats file that precede its payload.
     *
     * @param prefix the bytes from the start of the file to the payload; not modified
     * @return the stamp, or null when there are no such bytes (a file the reference wrote)
     * @throws CorruptFileException if the bytes are not a stamp this engine understands
     */
    public static StatsStamp decodePrefix(ByteBuffer prefix, String file) {
        if (!prefix.hasRemaining()) {
            return null;
        }
        ByteBuffer b = prefix.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() != SIZE) {
            throw new CorruptFileException(file, "stats file has " + b.remaining() + " unexpected bytes before its payload");
        }
        byte[] m = new byte[4];
        b.get(m);
        int version = b.getInt();
        if (!java.util.Arrays.equals(m, MAGIC) || version != STAMP_VERSION) {
            throw new CorruptFileException(file, "stats file prefix is not a version-" + STAMP_VERSION + " stack stamp");
        }
        long count = b.getLong();
        long hash = b.getLong();
        if (count < 1) {
            throw new CorruptFileException(file, "stats stamp claims " + count + " layers");
        }
        return new StatsStamp(count, hash);
    }

    /** Folds one layer (its key, object size and footer checksum) into a stack hash. */
    public static long hashLayer(long stackHash, String key, long size, long footerCrc) {
        long h = stackHash;
        for (byte x : key.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (x & 0xFF)) * 0x100000001b3L;
        }
        h = mix(h, key.length());
        h = mix(h, size);
        return mix(h, footerCrc);
    }

    private static long mix(long h, long v) {
        long x = (h ^ v) * 0x9E3779B97F4A7C15L;
        return x ^ (x >>> 29);
    }
}
