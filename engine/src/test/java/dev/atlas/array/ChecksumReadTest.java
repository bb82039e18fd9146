package dev.atlas.array;

import static dev.atlas.array.ArrayFileWriteTest.b;
import static dev.atlas.array.ArrayFileWriteTest.ints;
import static dev.atlas.array.ArrayFileWriteTest.sh;
import static dev.atlas.array.ArrayFileWriteTest.writeInts;
import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.CorruptFileException;
import dev.atlas.format.DType;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.Checksums;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.FooterCodec;
import dev.atlas.internal.format.Trailer;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.testing.EngineTestBase;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The checksum record on the engine's own read paths: every layer the engine writes carries one,
 * a damaged block or footer fails reads, compaction and opens with a typed error naming the object
 * and block (and is never cached), and a layer without a record reads as before.
 */
class ChecksumReadTest extends EngineTestBase {

    @AfterEach
    void closeFiles() {
        for (ArrayFile f : ArrayFileWriteTest.OPENED) {
            f.close().block(TIMEOUT);
        }
        ArrayFileWriteTest.OPENED.clear();
    }

    private static ArrayFileOptions options(BlockCodec codec, boolean write, boolean verify) {
        return ArrayFileOptions.builder(resources).codec(codec).blockTargetSize(64).tempDirectory(tmp).readConcurrency(4)
                .writeChecksums(write).verifyChecksums(verify).build();
    }

    private static int[] range(int n) {
        int[] v = new int[n];
        for (int i = 0; i < n; i++) {
            v[i] = i * 3 + 1;
        }
        return v;
    }

    /** A base and one sidecar holding array "v" (64 ints in 16-int chunks, one block each at 64-byte blocks). */
    private static InMemoryStorage written(BlockCodec codec, boolean checksums) {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = b(ArrayFile.create(s, "t.af", options(codec, checksums, true)));
        b(f.defineArray("v", ArraySpec.of(DType.INT32, 64).withChunks(16)));
        writeInts(f, "v", sh(0), sh(64), range(64));
        b(f.flush());
        return s;
    }

    private static Trailer.CheckedLayer layer(InMemoryStorage s, String key) {
        return Trailer.decodeCheckedLayer(ByteBuffer.wrap(s.getBytes(key)), key);
    }

    @Test
    void everyLayerTheEngineWritesCarriesARecordTheFooterListsLast() {
        for (BlockCodec codec : List.of(BlockCodecs.none(), BlockCodecs.lz4(), BlockCodecs.zstd())) {
            InMemoryStorage s = written(codec, true);
            Trailer.CheckedLayer base = layer(s, "t.af");
            assertNotNull(base.checksums(), "the empty base has a record too");
            assertEquals(1, base.footer().blocks().size());
            assertEquals(Checksums.length(0), base.footer().blocks().get(0).compressedSize());
            assertEquals(28 + 152 + 12, s.getBytes("t.af").length, "record, footer listing it, trailer (FORMAT.md 14.1)");
            Trailer.CheckedLayer side = layer(s, "t.1.af");
            assertNotNull(side.checksums());
            List<BlockMeta> blocks = side.footer().blocks();
            BlockMeta rec = blocks.get(blocks.size() - 1);
            assertEquals(side.checksums().recordBlockId(), rec.id());
            assertTrue(rec.codec().isNone());
            assertEquals(blocks.size() - 1, side.checksums().crcs().size(), "one entry per data block");
            side.footer().arrays().forEach(m -> m.chunks().forEach(c -> assertTrue(c.address().blockId() != rec.id(),
                    "no chunk refers to the record")));
            // Compaction bases carry one as well.
            ArrayFile f = b(ArrayFile.open(s, "t.af", options(codec, true, true)));
            b(f.compact());
            Trailer.CheckedLayer compacted = layer(s, "t.af");
            assertNotNull(compacted.checksums());
            assertEquals(compacted.footer().blocks().size() - 1, compacted.checksums().crcs().size());
            assertArrayEquals(range(64), ints(f, "v"));
        }
    }

    @Test
    void withoutChecksumsTheLayerIsWhatTheReferenceWrites() {
        InMemoryStorage s = written(BlockCodecs.none(), false);
        assertNull(layer(s, "t.af").checksums());
        assertEquals(108, s.getBytes("t.af").length, "the reference's empty base");
        assertNull(layer(s, "t.1.af").checksums());
        ArrayFile f = b(ArrayFile.open(s, "t.af", options(BlockCodecs.none(), true, true)));
        assertArrayEquals(range(64), ints(f, "v"), "a layer without a record reads as before");
    }

    /** Flips one bit in the stored bytes of block {@code id} of {@code key}. */
    private static void damageBlock(InMemoryStorage s, String key, long id) {
        byte[] bytes = s.getBytes(key);
        Footer f = Trailer.decodeLayer(ByteBuffer.wrap(bytes), key);
        BlockMeta m = f.blocks().stream().filter(x -> x.id() == id).findFirst().orElseThrow();
        bytes[(int) (m.fileOffset() + m.compressedSize() / 2)] ^= 0x10;
        s.putBytes(key, bytes);
    }

    @Test
    void aDamagedBlockFailsEveryReadOfItTypedAndIsNeverCached() {
        for (BlockCodec codec : List.of(BlockCodecs.none(), BlockCodecs.lz4(), BlockCodecs.zstd())) {
            InMemoryStorage s = written(codec, true);
            byte[] good = s.getBytes("t.1.af");
            damageBlock(s, "t.1.af", 1);
            ArrayFile f = b(ArrayFile.open(s, "t.af", options(codec, true, true)));
            assertArrayEquals(java.util.Arrays.copyOfRange(range(64), 0, 16), ArrayFileWriteTest.ints(f, "v", sh(0), sh(16)),
                    "undamaged blocks read");
            for (int attempt = 0; attempt < 2; attempt++) {
                Throwable e = assertThrows(Throwable.class, () -> ints(f, "v", sh(16), sh(16)));
                CorruptFileException c = corrupt(e);
                assertEquals("t.1.af", c.file(), codec + ": names the object");
                assertEquals(1, c.block(), codec + ": names the block");
                assertTrue(c.getMessage().contains("checksum"), c.getMessage());
            }
            // Compaction never copies it into a new base: it fails typed, the old stack stays.
            Throwable e = assertThrows(Throwable.class, () -> b(f.compact()));
            assertEquals(1, corrupt(e).block());
            assertEquals(good.length, s.getBytes("t.1.af").length, "the sidecar is still there");
            assertNotNull(s.getBytes("t.1.af"));
            // With verification off (the benchmark's B side) the damage goes unnoticed for codec None.
            if (codec.id().isNone()) {
                ArrayFile blind = b(ArrayFile.open(s, "t.af", options(codec, true, false)));
                int[] got = ints(blind, "v", sh(16), sh(16));
                assertFalse(java.util.Arrays.equals(java.util.Arrays.copyOfRange(range(64), 16, 32), got),
                        "unverified, the damaged bytes are served: what verification prevents");
            }
        }
    }

    @Test
    void aDamagedFooterFailsTheOpen() {
        InMemoryStorage s = written(BlockCodecs.lz4(), true);
        byte[] bytes = s.getBytes("t.1.af");
        // overlay_index of the footer root: a value change that still decodes.
        int root = bytes.length - Trailer.SIZE - 96;
        bytes[root + 72] ^= 0x02;
        s.putBytes("t.1.af", bytes);
        long payloadLen = ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(bytes.length - Trailer.SIZE);
        ByteBuffer payload = ByteBuffer.wrap(bytes, (int) (bytes.length - Trailer.SIZE - payloadLen), (int) payloadLen).slice();
        assertEquals(3, FooterCodec.decodeFooter(payload, "x").overlayIndex(),
                "the damaged footer still decodes: only its record tells");
        Throwable e = assertThrows(Throwable.class, () -> b(ArrayFile.open(s, "t.af", options(BlockCodecs.lz4(), true, true))));
        CorruptFileException c = corrupt(e);
        assertEquals("t.1.af", c.file());
        assertTrue(c.getMessage().contains("footer fails its checksum"), c.getMessage());
    }

    @Test
    void aDamagedRecordFailsTheOpen() {
        InMemoryStorage s = written(BlockCodecs.zstd(), true);
        Trailer.CheckedLayer l = layer(s, "t.1.af");
        byte[] bytes = s.getBytes("t.1.af");
        BlockMeta rec = l.footer().blocks().get(l.footer().blocks().size() - 1);
        for (long at : new long[] {rec.fileOffset(), rec.fileOffset() + 20, rec.fileEnd() - 1}) {
            byte[] d = bytes.clone();
            d[(int) at] ^= 0x01;
            s.putBytes("t.1.af", d);
            Throwable e = assertThrows(Throwable.class, () -> b(ArrayFile.open(s, "t.af", options(BlockCodecs.zstd(), true, true))));
            assertEquals("t.1.af", corrupt(e).file(), "byte " + at + " of the record");
        }
    }

    @Test
    void aFooterBeyondTheTailReadIsCheckedToo() {
        InMemoryStorage s = written(BlockCodecs.lz4(), true);
        ArrayFileOptions tiny = ArrayFileOptions.builder(resources).codec(BlockCodecs.lz4()).tempDirectory(tmp)
                .tailRead(16).build();
        ArrayFile f = b(ArrayFile.open(s, "t.af", tiny));
        assertArrayEquals(range(64), ints(f, "v"));
        byte[] bytes = s.getBytes("t.1.af");
        bytes[bytes.length - Trailer.SIZE - 96 + 72] ^= 0x02;
        s.putBytes("t.1.af", bytes);
        Throwable e = assertThrows(Throwable.class, () -> b(ArrayFile.open(s, "t.af", tiny)));
        assertEquals("t.1.af", corrupt(e).file());
    }

    private static CorruptFileException corrupt(Throwable e) {
        Throwable t = e;
        while (t != null && !(t instanceof CorruptFileException)) {
            t = t.getCause();
        }
        assertInstanceOf(CorruptFileException.class, t, () -> "expected a CorruptFileException, got " + e);
        return (CorruptFileException) t;
    }
}
