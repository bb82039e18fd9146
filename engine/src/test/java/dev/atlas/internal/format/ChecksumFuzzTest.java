package dev.atlas.internal.format;

import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.AtlasException;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.testing.EngineTestBase;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The corruption fuzz on file sets this engine writes (with checksum records, zstd frames with
 * content checksums, stamped stats): every damage must be detected by a typed error, or be
 * harmless — the damaged set decodes to exactly what the undamaged one decodes to (arrays,
 * schemas, attributes, every value and the statistics). A damaged set that decodes to anything
 * else fails the test. Two passes: every byte of every file of each set flipped (low bit, then
 * high bit), and random damage of the kinds {@link CorruptionFuzzTest} applies
 * ({@code -Datlas.fuzz.cases=N}, {@code -Datlas.fuzz.seed=N}).
 */
class ChecksumFuzzTest extends EngineTestBase {
    private static final int DEFAULT_CASES = 20_000;
    private static final long MAX_ELEMENTS = 1 << 16;
    private static final List<FileSet> SETS = new ArrayList<>();

    /** One file set as stored: layer names (base first) and bytes, stats. */
    private record FileSet(String label, List<String> layers, List<byte[]> layerBytes, String stats, byte[] statsBytes,
            String fingerprint) {
    }

    @BeforeAll
    static void writeFileSets() {
        for (BlockCodec codec : List.of(BlockCodecs.zstd(), BlockCodecs.lz4(), BlockCodecs.none())) {
            SETS.add(write(codec));
        }
    }

    /** A compacted base with data, two sidecars (data, attributes, a tombstone), and stats. */
    private static FileSet write(BlockCodec codec) {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFileOptions o = ArrayFileOptions.builder(resources).codec(codec).blockTargetSize(256).tempDirectory(tmp).build();
        ArrayFile f = block(ArrayFile.create(s, "d/t.af", o));
        try {
            block(f.defineArray("a", ArraySpec.of(DType.INT32, 12, 10).withChunks(4, 4)));
            block(f.defineArray("b", ArraySpec.of(DType.FLOAT64, 30).withChunks(8)));
            block(f.defineArray("s", ArraySpec.of(DType.STRING, 6).withChunks(4)));
            block(f.defineArray("gone", ArraySpec.of(DType.INT16, 4)));
            int[] a = new int[120];
            for (int i = 0; i < a.length; i++) {
                a[i] = i * 37 - 500;
            }
            double[] bv = new double[30];
            for (int i = 0; i < bv.length; i++) {
                bv[i] = i / 3.0 - 2;
            }
            write(f, "a", new long[] {0, 0}, NdArray.ofInts(DType.INT32, new long[] {12, 10}, a));
            write(f, "b", new long[] {0}, NdArray.ofDoubles(new long[] {30}, bv));
            write(f, "s", new long[] {0}, NdArray.ofStrings(new long[] {6}, List.of("alpha", "", "gamma", "δέλτα", "e", "zeta")));
            write(f, "gone", new long[] {0}, NdArray.ofShorts(DType.INT16, new long[] {4}, (short) 1, (short) 2, (short) 3, (short) 4));
            block(f.flush());
            block(f.compact());
            // The same handle writes on at once (compact() completes with the base epoch even).
            write(f, "a", new long[] {2, 3}, NdArray.ofInts(DType.INT32, new long[] {3, 3}, 9, 8, 7, 6, 5, 4, 3, 2, 1));
            block(f.setAttribute("a", "units", AttributeValue.ofString("K")));
            block(f.flush());
            write(f, "b", new long[] {20}, NdArray.ofDoubles(new long[] {2}, Double.NaN, 1e300));
            block(f.delete("gone"));
            block(f.flush());
        } finally {
            block(f.close());
        }
        Footer base = Trailer.decodeLayer(ByteBuffer.wrap(s.getBytes("d/t.af")), "d/t.af");
        TreeMap<Long, String> sidecars = new TreeMap<>();
        for (var info : block(s.list("d/t.").collectList())) {
            if (!info.key().endsWith(".af") || info.key().equals("d/t.af")) {
                continue;
            }
            long n = LayerNames.sidecarNumber("d/t", info.key());
            if (n > base.overlayIndex()) {
                sidecars.put(n, info.key());
            }
        }
        List<String> names = new ArrayList<>();
        names.add("d/t.af");
        names.addAll(sidecars.values());
        List<byte[]> bytes = new ArrayList<>();
        for (String n : names) {
            bytes.add(s.getBytes(n));
        }
        byte[] stats = s.getBytes("d/t.stats");
        String fp = fingerprint(names, bytes, "d/t.stats", stats);
        return new FileSet(codec.id().toString(), names, bytes, "d/t.stats", stats, fp);
    }

    private static void write(ArrayFile f, String name, long[] start, NdArray data) {
        try (data) {
            block(f.writeArray(name, start, data));
        }
    }

    /** Everything the file set decodes to, as text; throws when any of it does not decode. */
    static String fingerprint(List<String> names, List<byte[]> layers, String statsName, byte[] stats) {
        List<ByteBuffer> bufs = new ArrayList<>();
        for (byte[] b : layers) {
            bufs.add(ByteBuffer.wrap(b));
        }
        InMemoryFileSet fs = InMemoryFileSet.decode(names, bufs, statsName, stats == null ? null : ByteBuffer.wrap(stats),
                PooledByteBufAllocator.DEFAULT);
        for (int i = 0; i < fs.footers().size(); i++) {
            for (BlockMeta b : fs.footers().get(i).blocks()) {
                fs.block(i, b.id());
            }
        }
        StringBuilder sb = new StringBuilder();
        HexFormat hex = HexFormat.of();
        for (Map.Entry<String, MergedView.VisibleArray> e : fs.view().arrays().entrySet()) {
            ArrayMeta m = e.getValue().meta();
            sb.append(e.getKey()).append(' ').append(m.dtype()).append(Arrays.toString(m.shape()))
                    .append(Arrays.toString(m.chunkShape())).append(m.dimensionNames()).append(m.fillValue())
                    .append(e.getValue().attributes()).append('\n');
            ArrayValues v = fs.readAll(e.getKey(), MAX_ELEMENTS);
            if (v.dtype().elementSize() > 0) {
                sb.append(hex.formatHex(v.fixedBytes()));
            } else {
                for (int i = 0; i < v.size(); i++) {
                    sb.append(hex.formatHex(v.varLen(i))).append(',');
                }
            }
            sb.append('\n');
        }
        sb.append(fs.view().deletedNames()).append('\n').append(fs.stats());
        return sb.toString();
    }

    /** Outcome counts of one pass. */
    private static final class Tally {
        final TreeMap<String, Integer> detected = new TreeMap<>();
        int harmless;
        int undetected;
        int untyped;
        int cases;
        final List<String> failures = new ArrayList<>();

        void run(FileSet set, int target, byte[] damaged, String how) {
            cases++;
            List<byte[]> layers = new ArrayList<>(set.layerBytes());
            byte[] stats = set.statsBytes();
            if (target < layers.size()) {
                layers.set(target, damaged);
            } else {
                stats = damaged;
            }
            String where = set.label() + " " + (target < layers.size() ? set.layers().get(target) : set.stats()) + ": " + how;
            try {
                String fp = fingerprint(set.layers(), layers, set.stats(), stats);
                if (fp.equals(set.fingerprint())) {
                    harmless++;
                } else if (undetected++ < 20) {
                    failures.add("UNDETECTED " + where);
                }
            } catch (AtlasException e) {
                detected.merge(e.getClass().getSimpleName(), 1, Integer::sum);
            } catch (Throwable t) {
                if (untyped++ < 20) {
                    failures.add("UNTYPED " + where + ": " + t);
                }
            }
        }

        int detectedCount() {
            return detected.values().stream().mapToInt(Integer::intValue).sum();
        }

        void check(String pass) {
            System.out.println("ChecksumFuzzTest " + pass + ": " + cases + " damaged file sets, detected " + detectedCount()
                    + " " + detected + ", harmless (decode to identical values) " + harmless + ", undetected " + undetected
                    + ", untyped " + untyped);
            assertTrue(undetected == 0 && untyped == 0, pass + ":\n" + String.join("\n", failures));
            assertEquals(cases, detectedCount() + harmless);
        }
    }

    @Test
    void everyFlippedBitOfEveryFileIsDetectedOrHarmless() {
        Tally t = new Tally();
        for (FileSet set : SETS) {
            int files = set.layers().size() + 1;
            for (int target = 0; target < files; target++) {
                byte[] orig = target < set.layers().size() ? set.layerBytes().get(target) : set.statsBytes();
                for (int at = 0; at < orig.length; at++) {
                    for (int bit : new int[] {0, 7}) {
                        byte[] d = orig.clone();
                        d[at] ^= (byte) (1 << bit);
                        t.run(set, target, d, "bit " + bit + " of byte " + at);
                    }
                }
            }
        }
        t.check("every byte");
    }

    @Test
    void randomDamageIsDetectedOrHarmless() {
        long seed = Long.getLong("atlas.fuzz.seed", System.nanoTime());
        int cases = Integer.getInteger("atlas.fuzz.cases", DEFAULT_CASES);
        System.out.println("ChecksumFuzzTest seed=" + seed + " cases=" + cases + " (rerun with -Datlas.fuzz.seed=" + seed + ")");
        randomDamage(seed, cases);
    }

    /**
     * Seeds that once found damage read as other values: 4 bit flips that broke both magics of a
     * sidecar's record (then nothing claimed it and no block was checked), and 5 bytes inserted
     * into a base's footer region (the payload was then found 5 bytes off and the record not at
     * all). Both failed before the block table alone could claim a record.
     */
    @Test
    void damageThatOnceHidTheRecordIsDetected() {
        randomDamage(39659792272159L, 14699);
        randomDamage(38829919012765L, 9400);
        // A stats file's trailer length flipped to "no prefix", a bit of the stamp's version and one
        // of the payload: the stamp no longer looked like one, and the payload went unchecked.
        randomDamage(4106059943383L, 3058);
    }

    private static void randomDamage(long seed, int cases) {
        Random rnd = new Random(seed);
        Tally t = new Tally();
        for (int c = 0; c < cases; c++) {
            FileSet set = SETS.get(rnd.nextInt(SETS.size()));
            int target = rnd.nextInt(set.layers().size() + 1);
            byte[] orig = target < set.layers().size() ? set.layerBytes().get(target) : set.statsBytes();
            byte[][] out = new byte[1][];
            String how = CorruptionFuzzTest.mutate(rnd, orig, out);
            t.run(set, target, out[0], "case " + c + " seed " + seed + " " + how);
        }
        t.check("random damage");
    }
}
