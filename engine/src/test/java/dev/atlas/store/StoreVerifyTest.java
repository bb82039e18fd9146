package dev.atlas.store;

import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.error.CorruptFileException;
import dev.atlas.format.DType;
import dev.atlas.integrity.Finding;
import dev.atlas.integrity.VerifyProgress;
import dev.atlas.integrity.VerifyReport;
import dev.atlas.internal.format.Trailer;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.testing.EngineTestBase;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@link Atlas#verify}: a clean store is clean; each kind of damage (a block, a footer, a stats
 * file, a truncated sidecar, a registry that still parses) is a finding naming the object, and one
 * walk lists all of them.
 */
class StoreVerifyTest extends EngineTestBase {
    static final String[] DATASETS = {"d0", "d1", "d2"};

    AtlasOptions opts(StoreCodec codec, RegistryFile registry) {
        return AtlasOptions.builder(resources).tempDirectory(tmp).codec(codec).registryFile(registry).blockTargetSize(512)
                .build();
    }

    /** Three datasets with arrays "t" (float32 16x8 in 4x4 chunks) and "u" (int32 10), flushed twice (base + sidecars). */
    InMemoryStorage store(StoreCodec codec, RegistryFile registry) {
        InMemoryStorage s = InMemoryStorage.create();
        Atlas a = block(Atlas.create(s, "", opts(codec, registry)));
        for (int d = 0; d < DATASETS.length; d++) {
            DatasetView v = block(a.createDataset(DATASETS[d]));
            block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, 16, 8).withChunks(4, 4)));
            block(v.defineArray("u", ArraySpec.of(DType.INT32, 10)));
            float[] t = new float[128];
            for (int i = 0; i < t.length; i++) {
                t[i] = 100 * d + i * 0.5f;
            }
            try (NdArray x = NdArray.ofFloats(new long[] {16, 8}, t)) {
                block(v.writeArray("t", new long[] {0, 0}, x));
            }
            block(a.flush());
            int[] u = new int[10];
            Arrays.fill(u, 7 + d);
            try (NdArray x = NdArray.ofInts(DType.INT32, new long[] {10}, u)) {
                block(v.writeArray("u", new long[] {0}, x));
            }
            block(a.flush());
        }
        block(a.close());
        return s;
    }

    VerifyReport verify(InMemoryStorage s) {
        return block(Atlas.verify(s, "", opts(StoreCodec.ZSTD, RegistryFile.DEFAULT), null));
    }

    static void flipByte(InMemoryStorage s, String key, long at) {
        byte[] b = s.getBytes(key);
        b[(int) at] ^= 0x5A;
        s.putBytes(key, b);
    }

    static List<String> kinds(VerifyReport r) {
        List<String> out = new ArrayList<>();
        for (Finding f : r.damage()) {
            out.add(f.kind() + " " + f.object());
        }
        return out;
    }

    @Test
    void aCleanStoreIsCleanAndEveryBlockIsCounted() {
        InMemoryStorage s = store(StoreCodec.ZSTD, RegistryFile.DEFAULT);
        AtomicInteger calls = new AtomicInteger();
        VerifyReport r = block(Atlas.verify(s, "", opts(StoreCodec.ZSTD, RegistryFile.DEFAULT), p -> calls.incrementAndGet()));
        assertTrue(r.clean(), r.findings().toString());
        assertEquals(List.of(), r.warnings());
        assertEquals(2, r.fileSets());
        assertEquals(6, r.arrays(), "3 datasets x 2 arrays recomputed");
        assertTrue(r.blocks() >= 6 && r.layers() >= 2 && r.bytes() > 0, r.toString());
        assertTrue(calls.get() >= r.blocks(), "progress after every block");
    }

    /** A caller whose discard hook releases buffers (a reactive web stack) sees none twice. */
    @Test
    void aWalkUnderAReleasingDiscardHookReleasesNothingTwice() {
        InMemoryStorage s = store(StoreCodec.ZSTD, RegistryFile.DEFAULT);
        AtomicInteger twice = new AtomicInteger();
        VerifyReport r = block(Atlas.verify(s, "", opts(StoreCodec.ZSTD, RegistryFile.DEFAULT), null)
                .doOnDiscard(io.netty.util.ReferenceCounted.class, x -> {
                    try {
                        x.release();
                    } catch (io.netty.util.IllegalReferenceCountException e) {
                        twice.incrementAndGet();
                    }
                }));
        assertTrue(r.clean(), r.findings().toString());
        assertEquals(0, twice.get(), "blocks released by the walk, then discarded to the caller's hook");
    }

    @Test
    void aFlippedByteInAZstdBlockIsFoundAndTheWalkGoesOn() {
        InMemoryStorage s = store(StoreCodec.ZSTD, RegistryFile.DEFAULT);
        // Damage a block in each file set: both are reported by one walk. "t" compresses (a zstd
        // frame that no longer decodes); "u" is 40 bytes stored as they are (codec none), whose
        // damage fails the block's CRC in the layer's checksum record.
        flipByte(s, "t/data.1.af", 20);
        flipByte(s, "u/data.2.af", 10);
        VerifyReport r = verify(s);
        assertEquals("BLOCK t/data.1.af", kinds(r).get(0), r.findings().toString());
        assertTrue(r.damage().get(0).detail().startsWith("block 0 "), r.damage().get(0).detail());
        assertEquals("BLOCK u/data.2.af", kinds(r).get(1), r.findings().toString());
        assertEquals(2, r.damage().size(), "a damaged block is reported once, not again for its chunks: " + r.findings());
    }

    @Test
    void aTruncatedSidecarIsFound() {
        InMemoryStorage s = store(StoreCodec.ZSTD, RegistryFile.DEFAULT);
        byte[] side = s.getBytes("t/data.2.af");
        s.putBytes("t/data.2.af", Arrays.copyOf(side, side.length - 5));
        VerifyReport r = verify(s);
        assertEquals(List.of("FOOTER t/data.2.af"), kinds(r), r.findings().toString());
        assertTrue(r.damage().get(0).detail().contains("trailer"), r.damage().get(0).detail());
    }

    /** A flipped bit anywhere in a footer is damage: the layer's checksum record covers the footer payload. */
    @Test
    void everyFlippedBitInAFooterIsDamage() {
        InMemoryStorage s = store(StoreCodec.ZSTD, RegistryFile.DEFAULT);
        String key = "u/data.1.af";
        byte[] orig = s.getBytes(key);
        long len = ByteBuffer.wrap(orig, orig.length - Trailer.SIZE, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        for (int i = (int) (orig.length - Trailer.SIZE - len); i < orig.length - Trailer.SIZE; i++) {
            byte[] b = orig.clone();
            b[i] ^= (byte) (1 << (i % 8));
            s.putBytes(key, b);
            VerifyReport r = verify(s);
            assertEquals(List.of("FOOTER " + key), kinds(r), "flip at byte " + i + ": " + r.findings());
        }
        System.out.println("StoreVerifyTest: " + len + " footer bytes flipped, each one a footer finding");
    }

    /** A flipped bit anywhere in a block stored as it is (codec none) is damage: its CRC no longer matches. */
    @Test
    void everyFlippedBitInAnUncompressedBlockIsDamage() {
        InMemoryStorage s = store(StoreCodec.UNCOMPRESSED, RegistryFile.DEFAULT);
        String key = "t/data.1.af";
        byte[] orig = s.getBytes(key);
        for (int i = 0; i < 512; i += 7) {                 // d0's 128 floats, the first block
            byte[] b = orig.clone();
            b[i] ^= (byte) (1 << (i % 8));
            s.putBytes(key, b);
            VerifyReport r = verify(s);
            assertEquals(List.of("BLOCK " + key), kinds(r), "flip at byte " + i + ": " + r.findings());
        }
    }

    @Test
    void statisticsThatDifferFromTheDataAreFound() {
        InMemoryStorage s = store(StoreCodec.ZSTD, RegistryFile.DEFAULT);
        // The max of d2's "t" is 263.5 (stored as f64 in the stats file): change it to another number.
        byte[] stats = s.getBytes("t/data.stats");
        byte[] max = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(263.5).array();
        int at = indexOf(stats, max);
        assertTrue(at >= 0, "the max is in the stats file");
        stats[at + 6] ^= 0x01;
        s.putBytes("t/data.stats", stats);
        VerifyReport r = verify(s);
        assertEquals(List.of("STATS t/data.stats"), kinds(r), r.findings().toString());
    }

    @Test
    void aMessagePackRegistryWithFlippedBytesFailsToOpenAndVerifyFindsIt() {
        RegistryFile mp = new RegistryFile(RegistryFormat.MSGPACK, StoreCodec.UNCOMPRESSED);
        InMemoryStorage s = store(StoreCodec.ZSTD, mp);
        String key = mp.fileName();
        byte[] reg = s.getBytes(key);
        // Shorten dataset d1's name in its declaration of array "u" to... anything that still parses:
        // flip the last character of the name "u" of d1's arrays into "v".
        int at = nthIndexOf(reg, new byte[] {(byte) 0xA1, 'u'}, 1);
        assertTrue(at > 0);
        reg[at + 1] = 'v';
        s.putBytes(key, reg);
        CorruptFileException e = assertThrows(CorruptFileException.class,
                () -> block(Atlas.open(s, "", opts(StoreCodec.ZSTD, mp))));
        assertTrue(e.getMessage().contains("digest"), e.getMessage());
        VerifyReport r = verify(s);
        assertTrue(kinds(r).contains("REGISTRY " + key), r.findings().toString());
    }

    @Test
    void aRegistryWithoutDigestThatLostArraysIsCaughtByTheCrossCheck() {
        InMemoryStorage s = store(StoreCodec.ZSTD, RegistryFile.DEFAULT);
        String key = RegistryFile.DEFAULT.fileName();
        Registry r0 = RegistryCodec.decode(s.getBytes(key), RegistryFile.DEFAULT, key);
        // As the reference would write it (no pins, no digest), with d1 having lost its arrays.
        r0.layers = null;
        r0.datasets.get("d1").arrays.clear();
        s.putBytes(key, RegistryCodec.encode(r0, RegistryFile.DEFAULT));
        Atlas opened = block(Atlas.open(s, "", opts(StoreCodec.ZSTD, RegistryFile.DEFAULT)));
        assertEquals(List.of(), opened.dataset("d1").listArrays(), "opens: nothing to check it against");
        block(opened.close());
        VerifyReport r = verify(s);
        assertEquals(List.of("CROSS_CHECK t/data.af", "CROSS_CHECK u/data.af"), kinds(r), r.findings().toString());
        assertTrue(r.damage().get(0).detail().contains("[d1]"), r.damage().get(0).detail());
    }

    @Test
    void progressReportsFileSetsAndTotals() {
        InMemoryStorage s = store(StoreCodec.LZ4, RegistryFile.DEFAULT);
        List<VerifyProgress> seen = java.util.Collections.synchronizedList(new ArrayList<>());
        VerifyReport r = block(Atlas.verify(s, "", opts(StoreCodec.ZSTD, RegistryFile.DEFAULT), seen::add));
        VerifyProgress last = seen.get(seen.size() - 1);
        assertEquals(2, last.fileSetsTotal());
        assertEquals(2, last.fileSetsDone());
        assertEquals(r.blocks(), last.blocksChecked());
    }

    @Test
    void aMissingFileSetIsFound() {
        InMemoryStorage s = store(StoreCodec.ZSTD, RegistryFile.DEFAULT);
        for (ObjectInfo o : block(s.list("u/").collectList())) {
            block(s.delete(o.key()));
        }
        VerifyReport r = verify(s);
        assertEquals(List.of("CROSS_CHECK u/data.af"), kinds(r), r.findings().toString());
    }

    static int indexOf(byte[] hay, byte[] needle) {
        return nthIndexOf(hay, needle, 0);
    }

    static int nthIndexOf(byte[] hay, byte[] needle, int n) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            if (n-- == 0) {
                return i;
            }
        }
        return -1;
    }
}
