package dev.atlas.internal.format;

import dev.atlas.error.CorruptFileException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Which committed layer stack a stats file describes. The engine writes it as a prefix in front of
 * the stats payload, little-endian. Version 2 (written now, 32 bytes): {@code "ATSG"}, u32 stamp
 * version 2, u64 layer count, u64 stack hash, u32 CRC-32C of the stats payload, u32 CRC-32C of the
 * 28 bytes before it. Version 1 (earlier Atlas releases, 24 bytes): the same without the two
 * checksums. The reference crate reads a stats file through its trailer only, so it never sees the
 * prefix; files it writes have none, and neither their freshness nor their integrity can be
 * checked.
 *
 * @param layerCount number of committed layers (base included) the statistics were computed over
 * @param stackHash hash of those layers' keys, sizes and footer checksums (see {@link #hashLayer})
 */
public record StatsStamp(long layerCount, long stackHash) {
    /** Bytes of the encoded prefix (version 2). */
    public static final int SIZE = 32;
    /** Bytes of a version 1 prefix (no checksums). */
    public static final int SIZE_V1 = 24;
    private static final byte[] MAGIC = "ATSG".getBytes(StandardCharsets.ISO_8859_1);
    private static final int STAMP_VERSION = 2;
    /** Start value of {@link #hashLayer} chains. */
    public static final long EMPTY_STACK = 0xcbf29ce484222325L;

    /**
     * The encoded prefix for a stats file whose payload is {@code payload}.
     *
     * @param payload the encoded stats payload (not modified)
     */
    public byte[] encode(byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(STAMP_VERSION).putLong(layerCount).putLong(stackHash).putInt(Checksums.crc(payload));
        b.putInt(Checksums.crc(ByteBuffer.wrap(b.array(), 0, SIZE - 4)));
        return b.array();
    }

    /**
     * Decodes the bytes of a stats file that precede its payload and checks the payload against
     * the stamp's checksum (version 2).
     *
     * @param prefix the bytes from the start of the file to the payload; not modified
     * @param payload the stats payload; not modified
     * @return the stamp, or null when there are no such bytes (a file the reference wrote)
     * @throws CorruptFileException if the bytes are not a stamp this engine understands, or the
     *     stamp or the payload fail their checksums
     */
    public static StatsStamp decodePrefix(ByteBuffer prefix, ByteBuffer payload, String file) {
        if (!prefix.hasRemaining()) {
            // A payload that starts with a stamp is an Atlas file whose trailer length was damaged
            // into "no prefix": read as unstamped, its payload would go unchecked.
            // Near enough counts too: the damage that moved the trailer's length may also have hit
            // the stamp's first bytes (a fuzz seed flipped the length and a version bit, and a
            // third flip in the payload then went unchecked). A crate payload starts with archived
            // data, never within a few bits of a stamp's magic and version.
            ByteBuffer p = payload.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            if (p.remaining() >= SIZE_V1 && (bitsFromStampHead(p, 1) <= NEAR_BITS
                    || bitsFromStampHead(p, STAMP_VERSION) <= NEAR_BITS)) {
                throw new CorruptFileException(file, "stats payload starts with a stack stamp its trailer does not account for");
            }
            return null;
        }
        ByteBuffer b = prefix.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int n = b.remaining();
        if (n != SIZE && n != SIZE_V1) {
            throw new CorruptFileException(file, "stats file has " + n + " unexpected bytes before its payload");
        }
        int start = b.position();
        byte[] m = new byte[4];
        b.get(m);
        int version = b.getInt();
        if (!java.util.Arrays.equals(m, MAGIC) || version != (n == SIZE ? STAMP_VERSION : 1)) {
            throw new CorruptFileException(file, "stats file prefix is not a stack stamp of a version this engine reads");
        }
        long count = b.getLong();
        long hash = b.getLong();
        if (n == SIZE) {
            int payloadCrc = b.getInt();
            int selfCrc = b.getInt();
            if (selfCrc != Checksums.crc(prefix.duplicate().limit(start + SIZE - 4).position(start))) {
                throw new CorruptFileException(file, "stats stamp fails its checksum");
            }
            if (payloadCrc != Checksums.crc(payload)) {
                throw new CorruptFileException(file, "stats payload fails its checksum");
            }
        }
        if (count < 1) {
            throw new CorruptFileException(file, "stats stamp claims " + count + " layers");
        }
        return new StatsStamp(count, hash);
    }

    /** Bits within which the first 8 bytes of a payload count as a stamp's head (magic and version). */
    private static final int NEAR_BITS = 6;

    /** How many bits the 8 bytes at {@code p}'s position differ from a stamp head of {@code version}. */
    private static int bitsFromStampHead(ByteBuffer p, int version) {
        int at = p.position();
        int bits = 0;
        for (int i = 0; i < 4; i++) {
            bits += Integer.bitCount((p.get(at + i) ^ MAGIC[i]) & 0xFF);
        }
        return bits + Integer.bitCount(p.getInt(at + 4) ^ version);
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
