package dev.atlas.internal.format;

import dev.atlas.codec.CodecId;
import dev.atlas.error.CorruptFileException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The checksum record of the layer files this engine writes (FORMAT.md section 14): one extra
 * block with codec None, the last one of the data region, that no chunk refers to. It holds the
 * CRC-32C of every other block's stored bytes and of the footer payload, and one of its own bytes.
 * The reference crate only ever reads blocks that chunks refer to, so it never looks at it.
 *
 * <pre>
 * 0        "ACRC"                       start magic
 * 4        u32 record version (1)
 * 8        u32 n, number of entries
 * 12       u32 CRC-32C of the footer payload
 * 16       n x (u32 block id, u32 CRC-32C of the block's stored bytes), in block table order
 * 16+8n    u32 L = 28 + 8n, the record's length
 * 20+8n    u32 CRC-32C of bytes [0, 20+8n) of the record
 * 24+8n    "ACRC"                       end magic
 * </pre>
 *
 * A reader finds the record two ways: by the end magic right before the footer payload, and
 * through the block table (the block that ends where the footer begins, codec None, starting with
 * the magic). Either one claims the file has a record, and then the record must be intact and
 * agree with the footer; a layer where neither finds one was written without checksums (by the
 * reference crate) and is read as before.
 */
public final class Checksums {
    /** Start and end magic of a record. */
    public static final byte[] MAGIC = "ACRC".getBytes(StandardCharsets.ISO_8859_1);
    /** Version of the record layout. */
    public static final int VERSION = 1;
    /** Length of a record with no entries. */
    public static final int EMPTY_LENGTH = 28;

    private Checksums() {
    }

    /** Length of a record with {@code n} entries. */
    public static long length(long n) {
        return EMPTY_LENGTH + 8 * n;
    }

    /** CRC-32C of {@code b} from position to limit (not moved). */
    public static int crc(ByteBuffer b) {
        CRC32C c = new CRC32C();
        c.update(b.duplicate());
        return (int) c.getValue();
    }

    /** CRC-32C of a whole array. */
    public static int crc(byte[] b) {
        CRC32C c = new CRC32C();
        c.update(b, 0, b.length);
        return (int) c.getValue();
    }

    /**
     * The checksums of one layer: each data block's CRC by block id, and the id of the record
     * block itself (never read as data). Immutable.
     */
    public static final class Layer {
        private final Map<Long, Integer> crcs;
        private final long recordBlockId;

        Layer(Map<Long, Integer> crcs, long recordBlockId) {
            this.crcs = Collections.unmodifiableMap(crcs);
            this.recordBlockId = recordBlockId;
        }

        /** The id of the record's block. */
        public long recordBlockId() {
            return recordBlockId;
        }

        /** Block id to expected CRC-32C of its stored bytes. */
        public Map<Long, Integer> crcs() {
            return crcs;
        }

        /**
         * Checks block {@code id}'s stored bytes (position to limit, not moved).
         *
         * @throws CorruptFileException when they do not match, naming {@code file} and the block
         */
        public void verify(String file, long id, ByteBuffer stored) {
            verifyCrc(file, id, crc(stored));
        }

        /**
         * Checks block {@code id} whose stored bytes have CRC-32C {@code got}.
         *
         * @throws CorruptFileException when it is not the recorded one, naming {@code file} and the block
         */
        public void verifyCrc(String file, long id, int got) {
            Integer expected = crcs.get(id);
            if (expected == null) {
                if (id == recordBlockId) {
                    return;
                }
                throw new CorruptFileException(file, id, "block " + id + " has no checksum in the layer's checksum record");
            }
            if (got != expected) {
                throw new CorruptFileException(file, id, String.format(
                        "block %d: stored bytes fail their checksum (CRC-32C %08x, recorded %08x)", id, got, expected));
            }
        }
    }

    /**
     * What a writer appends after the data blocks: the footer listing the record block, and the
     * bytes that follow the data blocks in the file (record, footer payload, trailer).
     *
     * @param footer the footer as written (with the record block when there is one)
     * @param payload the encoded footer payload
     * @param tail the record (if any), payload and trailer
     * @param checksums the block checksums the record holds (null without a record)
     */
    public record Tail(Footer footer, byte[] payload, byte[] tail, Layer checksums) {
    }

    /**
     * Builds the end of a layer file whose data blocks occupy {@code [0, dataRegion)}.
     *
     * @param f the footer without a record block
     * @param blockCrcs CRC-32C of each block's stored bytes, in the order of {@code f.blocks()}
     * @param withRecord false writes exactly what the reference crate would (no record)
     */
    public static Tail tail(Footer f, int[] blockCrcs, long dataRegion, boolean withRecord) {
        if (!withRecord) {
            byte[] payload = FooterCodec.encodeFooter(f);
            return new Tail(f, payload, concat(new byte[0], payload, Trailer.trailer(payload.length, Trailer.LAYER_MAGIC)), null);
        }
        List<BlockMeta> blocks = f.blocks();
        if (blockCrcs.length != blocks.size()) {
            throw new dev.atlas.error.InvalidArgumentException(blocks.size() + " blocks but " + blockCrcs.length + " checksums");
        }
        long id = 0;
        for (BlockMeta b : blocks) {
            id = Math.max(id, b.id() + 1);
        }
        int len = (int) length(blocks.size());
        List<BlockMeta> all = new ArrayList<>(blocks);
        all.add(new BlockMeta(id, dataRegion, len, len, CodecId.NONE));
        Footer listed = new Footer(f.version(), all, f.arrays(), f.attrKeys(), f.attrValues(), f.overlayIndex(),
                f.baseFileHint());
        byte[] payload = FooterCodec.encodeFooter(listed);
        ByteBuffer r = ByteBuffer.allocate(len).order(ByteOrder.LITTLE_ENDIAN);
        r.put(MAGIC).putInt(VERSION).putInt(blocks.size()).putInt(crc(payload));
        Map<Long, Integer> crcs = new HashMap<>();
        for (int i = 0; i < blocks.size(); i++) {
            r.putInt((int) blocks.get(i).id()).putInt(blockCrcs[i]);
            crcs.put(blocks.get(i).id(), blockCrcs[i]);
        }
        r.putInt(len);
        r.putInt(crc(ByteBuffer.wrap(r.array(), 0, r.position())));
        r.put(MAGIC);
        return new Tail(listed, payload, concat(r.array(), payload, Trailer.trailer(payload.length, Trailer.LAYER_MAGIC)),
                new Layer(crcs, id));
    }

    private static byte[] concat(byte[] a, byte[] b, byte[] c) {
        byte[] out = new byte[a.length + b.length + c.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        System.arraycopy(c, 0, out, a.length + b.length, c.length);
        return out;
    }

    /**
     * How many bytes right before the footer payload {@link #check} needs to see: enough for the
     * record the block table or the end magic may point at.
     *
     * @param dataRegion D, the offset of the footer payload in the file
     */
    public static long bytesNeeded(Footer f, long dataRegion) {
        long need = Math.min(dataRegion, EMPTY_LENGTH);
        BlockMeta c = candidate(f, dataRegion);
        if (c != null) {
            need = Math.max(need, c.compressedSize());
        }
        return need;
    }

    /** The block that would be a record by the block table: codec None, ending at D, of a record's size. */
    private static BlockMeta candidate(Footer f, long dataRegion) {
        for (BlockMeta b : f.blocks()) {
            long size = b.compressedSize();
            if (b.codec().isNone() && b.fileEnd() == dataRegion && size == b.uncompressedSize() && size >= EMPTY_LENGTH
                    && size <= length(f.blocks().size()) && (size - EMPTY_LENGTH) % 8 == 0) {
                return b;
            }
        }
        return null;
    }

    /**
     * Checks a decoded layer footer against the layer's checksum record, if it has one.
     *
     * @param f the decoded footer
     * @param payload the footer payload bytes (position to limit, not moved)
     * @param before bytes of the file ending right before the payload (position to limit, not
     *     moved): at least {@link #bytesNeeded} of them, or all of the data region if it is shorter
     * @param dataRegion D, the offset of the payload in the file
     * @return the layer's block checksums, or null when the layer has no record
     * @throws CorruptFileException when a record is claimed but damaged, or disagrees with the footer
     */
    public static Layer check(String file, Footer f, ByteBuffer payload, ByteBuffer before, long dataRegion) {
        ByteBuffer b = before.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int end = b.limit();
        int avail = b.remaining();
        long len = -1;
        boolean byMagic = avail >= EMPTY_LENGTH && magicAt(b, end - 4);
        if (byMagic) {
            len = Integer.toUnsignedLong(b.getInt(end - 12));
        }
        BlockMeta c = candidate(f, dataRegion);
        boolean byTable = false;
        if (c != null && c.compressedSize() <= avail
                && (magicAt(b, (int) (end - c.compressedSize())) || unmistakable(f, c))) {
            byTable = true;
            if (!byMagic) {
                len = c.compressedSize();
            }
        }
        if (!byMagic && !byTable) {
            BlockMeta listed = listedRecord(f);
            if (listed != null && listed.fileEnd() != dataRegion) {
                // The table lists a record, but not right before the payload: the payload was
                // found at the wrong place (bytes inserted into or cut from the footer region).
                throw new CorruptFileException(file, "the block table lists a checksum record at [" + listed.fileOffset()
                        + ", " + listed.fileEnd() + ") but the footer payload starts at " + dataRegion);
            }
            return null;
        }
        if (len < EMPTY_LENGTH || len > avail || (len - EMPTY_LENGTH) % 8 != 0) {
            throw new CorruptFileException(file, "checksum record claims " + len + " bytes");
        }
        int at = (int) (end - len);
        int n = (int) ((len - EMPTY_LENGTH) / 8);
        int self = b.getInt(end - 8);
        int selfGot = crc(b.duplicate().limit(end - 8).position(at));
        if (!magicAt(b, at) || !magicAt(b, end - 4) || b.getInt(at + 4) != VERSION || b.getInt(at + 8) != n
                || Integer.toUnsignedLong(b.getInt(end - 12)) != len || self != selfGot) {
            throw new CorruptFileException(file, "checksum record is damaged");
        }
        int footerCrc = b.getInt(at + 12);
        int got = crc(payload);
        if (got != footerCrc) {
            throw new CorruptFileException(file, String.format("footer fails its checksum (CRC-32C %08x, recorded %08x)",
                    got, footerCrc));
        }
        // The footer is the one the record was written for; now it must list the record as its
        // last block, and have one entry per other block.
        if (c == null || c.compressedSize() != len) {
            throw new CorruptFileException(file, "the block table does not list the checksum record at ["
                    + (dataRegion - len) + ", " + dataRegion + ")");
        }
        if (f.blocks().size() != n + 1) {
            throw new CorruptFileException(file, "checksum record has " + n + " entries for " + (f.blocks().size() - 1)
                    + " blocks");
        }
        Map<Long, Integer> crcs = new HashMap<>();
        for (int i = 0; i < n; i++) {
            long id = Integer.toUnsignedLong(b.getInt(at + 16 + 8 * i));
            crcs.put(id, b.getInt(at + 20 + 8 * i));
        }
        for (BlockMeta m : f.blocks()) {
            if (m != c && !crcs.containsKey(m.id())) {
                throw new CorruptFileException(file, "checksum record lacks block " + m.id());
            }
        }
        return new Layer(crcs, c.id());
    }

    /**
     * Whether the block table alone shows a record, whatever its bytes say: a None block ending at D,
     * of exactly a record's length for the other blocks ({@code 28 + 8(k - 1)}), that no chunk
     * refers to. A crate-written layer has no such block (every block it lists holds chunks), so
     * this claim cannot misread a file without a record; it catches a record whose both magics
     * were damaged, which would otherwise read as "no record" and leave every block unchecked
     * (ChecksumFuzzTest found such bit flips, undetected, in a small sidecar).
     */
    private static boolean unmistakable(Footer f, BlockMeta c) {
        if (c.compressedSize() != length(f.blocks().size() - 1L)) {
            return false;
        }
        for (ArrayMeta a : f.arrays()) {
            for (ChunkEntry e : a.chunks()) {
                if (e.address() != null && e.address().blockId() == c.id()) {
                    return false;
                }
            }
        }
        return true;
    }

    /** The block the table shows to be a record ({@link #unmistakable}), wherever it ends, or null. */
    private static BlockMeta listedRecord(Footer f) {
        for (BlockMeta b : f.blocks()) {
            if (b.codec().isNone() && b.compressedSize() == b.uncompressedSize() && unmistakable(f, b)) {
                return b;
            }
        }
        return null;
    }

    private static boolean magicAt(ByteBuffer b, int at) {
        if (at < b.position() || at + 4 > b.limit()) {
            return false;
        }
        for (int i = 0; i < 4; i++) {
            if (b.get(at + i) != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }
}
