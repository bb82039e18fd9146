package dev.atlas.internal.format;

import dev.atlas.error.CorruptFileException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * The 12-byte trailer that ends layer and stats files: {@code u64 LE payload length} followed by a
 * 4-byte magic ({@code ARRF} for layers, {@code ARST} for stats).
 */
public final class Trailer {
    /** Trailer length in bytes. */
    public static final int SIZE = 12;
    /** Magic of layer files. */
    public static final String LAYER_MAGIC = "ARRF";
    /** Magic of stats files. */
    public static final String STATS_MAGIC = "ARST";

    private Trailer() {
    }

    /**
     * Validates the trailer in the last 12 bytes of {@code tail} and returns the payload length.
     *
     * @param tail at least the last 12 bytes of the file, ending at its limit; not modified
     * @param fileSize total size of the file
     * @throws CorruptFileException on a short file, wrong magic, or a length the file cannot hold
     */
    public static long payloadLength(ByteBuffer tail, long fileSize, String magic, String file) {
        if (fileSize < SIZE || tail.remaining() < SIZE) {
            throw new CorruptFileException(file, "file of " + fileSize + " bytes is too short for the "
                    + SIZE + "-byte trailer");
        }
        ByteBuffer t = tail.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int end = t.limit();
        byte[] m = new byte[4];
        t.get(end - 4, m);
        String found = new String(m, StandardCharsets.ISO_8859_1);
        if (!found.equals(magic)) {
            throw new CorruptFileException(file, "trailer magic is '" + printable(m) + "', expected '" + magic + "'");
        }
        long len = t.getLong(end - SIZE);
        if (len < 0 || len > fileSize - SIZE) {
            throw new CorruptFileException(file, "trailer claims a " + Long.toUnsignedString(len)
                    + "-byte payload, but the file has only " + (fileSize - SIZE) + " bytes before the trailer");
        }
        return len;
    }

    /** Payload followed by its trailer. */
    public static byte[] frame(byte[] payload, String magic) {
        ByteBuffer b = ByteBuffer.allocate(payload.length + SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(payload).putLong(payload.length).put(magic.getBytes(StandardCharsets.ISO_8859_1));
        return b.array();
    }

    /** The trailer alone for a payload of {@code payloadLength} bytes. */
    public static byte[] trailer(long payloadLength, String magic) {
        ByteBuffer b = ByteBuffer.allocate(SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(payloadLength).put(magic.getBytes(StandardCharsets.ISO_8859_1));
        return b.array();
    }

    /**
     * Decodes the footer of a complete layer file held in memory.
     *
     * @param file whole file from position to limit; not modified
     */
    public static Footer decodeLayer(ByteBuffer file, String name) {
        return decodeCheckedLayer(file, name).footer();
    }

    /** A layer's footer and the checksums of its record (null: the layer has none). */
    public record CheckedLayer(Footer footer, Checksums.Layer checksums) {
    }

    /**
     * Decodes the footer of a complete layer file held in memory and checks it against the
     * layer's checksum record when it has one (FORMAT.md section 14).
     *
     * @param file whole file from position to limit; not modified
     * @throws CorruptFileException on damage, including a footer or record that fails its checksum
     */
    public static CheckedLayer decodeCheckedLayer(ByteBuffer file, String name) {
        long size = file.remaining();
        long len = payloadLength(file, size, LAYER_MAGIC, name);
        int start = (int) (file.position() + size - SIZE - len);
        ByteBuffer payload = file.slice(start, (int) len);
        Footer f = FooterCodec.decodeFooter(payload, name);
        long dataRegion = size - SIZE - len;
        for (BlockMeta b : f.blocks()) {
            if (b.fileEnd() > dataRegion) {
                throw new CorruptFileException(name, "block " + b.id() + " spans [" + b.fileOffset() + ", "
                        + b.fileEnd() + ") beyond the " + dataRegion + "-byte data region");
            }
        }
        Checksums.Layer sums = Checksums.check(name, f, payload, file.slice(file.position(), (int) dataRegion), dataRegion);
        return new CheckedLayer(f, sums);
    }

    /** Decodes a complete stats file held in memory (both layouts); an engine stamp prefix is checked and skipped. */
    public static StatsFile decodeStatsFile(ByteBuffer file, String name) {
        return decodeStampedStatsFile(file, name).stats();
    }

    /** A stats file with the stamp that precedes its payload (null for files without one). */
    public record StampedStats(StatsFile stats, StatsStamp stamp) {
    }

    /** Decodes a complete stats file held in memory, with its stamp prefix if it has one. */
    public static StampedStats decodeStampedStatsFile(ByteBuffer file, String name) {
        long size = file.remaining();
        long len = payloadLength(file, size, STATS_MAGIC, name);
        int prefix = (int) (size - SIZE - len);
        ByteBuffer payload = file.slice(file.position() + prefix, (int) len);
        StatsStamp stamp = StatsStamp.decodePrefix(file.slice(file.position(), prefix), payload, name);
        return new StampedStats(FooterCodec.decodeStats(payload, name), stamp);
    }

    /** A stats file: optional stamp prefix (which carries the payload's checksum), payload, trailer. */
    public static byte[] statsFile(StatsFile stats, StatsStamp stamp) {
        byte[] payload = FooterCodec.encodeStats(stats);
        byte[] pre = stamp == null ? new byte[0] : stamp.encode(payload);
        ByteBuffer b = ByteBuffer.allocate(pre.length + payload.length + SIZE).order(ByteOrder.LITTLE_ENDIAN);
        b.put(pre).put(payload).putLong(payload.length).put(STATS_MAGIC.getBytes(StandardCharsets.ISO_8859_1));
        return b.array();
    }

    private static String printable(byte[] m) {
        StringBuilder sb = new StringBuilder();
        for (byte b : m) {
            int c = b & 0xFF;
            sb.append(c >= 0x20 && c < 0x7F ? String.valueOf((char) c) : String.format("\\x%02x", c));
        }
        return sb.toString();
    }
}
