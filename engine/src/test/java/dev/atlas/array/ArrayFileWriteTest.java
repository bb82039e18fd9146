package dev.atlas.array;

import dev.atlas.testing.EngineTestBase;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.Await.block;
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
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.ConflictException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.StorageException;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.FooterCodec;
import dev.atlas.format.StatValue;
import dev.atlas.internal.format.Trailer;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import dev.atlas.testing.FaultInjectingStorage;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Mono;

/**
 * The write side of {@link ArrayFile}: the acceptance behaviours of the Rust crate
 * {@code array-format} (numbered in the test names) and the fixes of its weak spots (W-numbers).
 */
class ArrayFileWriteTest extends EngineTestBase {
    /** The reference tests' small_config: no compression, 64-byte blocks (many blocks). */
    static ArrayFileOptions small() {
        return options(BlockCodecs.none(), 64);
    }

    static ArrayFileOptions options(BlockCodec codec, long blockTarget) {
        return ArrayFileOptions.builder(resources).codec(codec).blockTargetSize(blockTarget).tempDirectory(tmp)
                .readConcurrency(4).build();
    }

    /** {@link dev.atlas.testing.Await#block} that also remembers each file it opens, so the test closes it after. */
    static <T> T b(Mono<T> m) {
        T t = block(m);
        if (t instanceof ArrayFile f) {
            OPENED.add(f);
        }
        return t;
    }

    /** Every file a test opened; closed after it, so unflushed pending layers free their buffers. */
    static final List<ArrayFile> OPENED = new java.util.concurrent.CopyOnWriteArrayList<>();

    @AfterEach
    void closeFiles() {
        for (ArrayFile f : OPENED) {
            f.close().block(TIMEOUT);
        }
        OPENED.clear();
    }

    static ArrayFile create(Storage s, ArrayFileOptions o) {
        return b(ArrayFile.create(s, "t.af", o));
    }

    static ArrayFile reopen(Storage s, ArrayFileOptions o) {
        return b(ArrayFile.open(s, "t.af", o));
    }

    static long[] sh(long... v) {
        return v;
    }

    static int[] ints(ArrayFile f, String name) {
        try (NdArray a = b(f.readArray(name))) {
            return ints(a);
        }
    }

    static int[] ints(ArrayFile f, String name, long[] start, long[] shape) {
        try (NdArray a = b(f.readArray(name, start, shape))) {
            return ints(a);
        }
    }

    static int[] ints(NdArray a) {
        int[] out = new int[(int) a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.dtype().elementSize() == 1 ? a.getByte(i) : a.dtype().elementSize() == 2 ? a.getShort(i)
                    : a.dtype().elementSize() == 8 ? (int) a.getLong(i) : a.getInt(i);
        }
        return out;
    }

    static float[] floats(ArrayFile f, String name, long[] start, long[] shape) {
        try (NdArray a = b(f.readArray(name, start, shape))) {
            float[] out = new float[(int) a.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = a.getFloat(i);
            }
            return out;
        }
    }

    static void writeInts(ArrayFile f, String name, long[] start, long[] shape, int... v) {
        try (NdArray d = NdArray.ofInts(DType.INT32, shape, v)) {
            b(f.writeArray(name, start, d));
        }
    }

    static void writeFloats(ArrayFile f, String name, long[] start, long[] shape, float... v) {
        try (NdArray d = NdArray.ofFloats(shape, v)) {
            b(f.writeArray(name, start, d));
        }
    }

    static int[] filled(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    static float[] filledF(int n, float v) {
        float[] a = new float[n];
        Arrays.fill(a, v);
        return a;
    }

    static int[] range(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = i;
        }
        return a;
    }

    // ------------------------------------------------------------------ pending allocator (18-24, 42)

    @Test
    void allocatorAddressesBlocksAndSealsAtTarget_18_21_23() {
        PendingLayer p = new PendingLayer(BlockCodecs.none(), 8, resources, tmp);
        try {
            PendingLayer.Staged a = p.stage(PendingLayer.ANY_EPOCH, List.of(ByteBuffer.wrap(new byte[4]), ByteBuffer.wrap(new byte[2])));
            assertEquals(List.of(new dev.atlas.internal.format.ChunkAddress(0, 0, 4), new dev.atlas.internal.format.ChunkAddress(0, 4, 2)),
                    a.addresses());
            assertTrue(a.sealed().isEmpty());
            PendingLayer q = new PendingLayer(BlockCodecs.none(), 8, resources, tmp);
            try {
                PendingLayer.Staged full = q.stage(PendingLayer.ANY_EPOCH, List.of(ByteBuffer.wrap(new byte[8])));
                assertEquals(0, full.addresses().get(0).blockId());
                assertEquals(1, full.sealed().size(), "reaching exactly the target seals the block");
                PendingLayer.Staged next = q.stage(PendingLayer.ANY_EPOCH, List.of(ByteBuffer.wrap(new byte[6])));
                assertEquals(1, next.addresses().get(0).blockId());
                b(q.spill(full.sealed()).then(q.spill(q.sealAll())));
                Footer f = q.footer(Footer.VERSION_V5, 1, "t.af");
                assertEquals(2, f.blocks().size());
                assertEquals(8, f.blocks().get(0).uncompressedSize());
                assertEquals(6, f.blocks().get(1).uncompressedSize());
                assertEquals(8, f.blocks().get(1).fileOffset(), "block 1 starts right after block 0");
            } finally {
                q.release();
            }
        } finally {
            p.release();
        }
    }

    @Test
    void chunksInSealedSpilledAndOpenBlocksReadBack_19_20_22_42() {
        InMemoryStorage s = InMemoryStorage.create();
        for (BlockCodec codec : List.of(BlockCodecs.none(), BlockCodecs.lz4(), BlockCodecs.zstd())) {
            String base = "alloc-" + codec.id() + ".af";
            ArrayFile f = b(ArrayFile.create(s, base, options(codec, 16)));
            b(f.defineArray("a", ArraySpec.of(DType.INT64, 8).withChunks(1)));
            for (int i = 0; i < 8; i++) {
                try (NdArray d = NdArray.ofLongs(DType.INT64, sh(1), 1000L + i)) {
                    b(f.writeArray("a", sh(i), d));
                }
            }
            try (NdArray a = b(f.readArray("a"))) {
                for (int i = 0; i < 8; i++) {
                    assertEquals(1000L + i, a.getLong(i), codec + " pending element " + i);
                }
            }
            b(f.flush());
            ArrayFile r = b(ArrayFile.open(s, base, options(codec, 16)));
            assertEquals(2, r.numLayers(), "base and one sidecar");
            try (NdArray a = b(r.readArray("a"))) {
                for (int i = 0; i < 8; i++) {
                    assertEquals(1000L + i, a.getLong(i));
                }
            }
        }
    }

    // ------------------------------------------------------------------ end to end (77-101)

    @Test
    void flatArraysRoundTrip_77() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("u", ArraySpec.of(DType.UINT8, 80)));
        b(f.defineArray("d", ArraySpec.of(DType.FLOAT64, 5)));
        byte[] ones = new byte[80];
        Arrays.fill(ones, (byte) 1);
        try (NdArray d = NdArray.ofBytes(DType.UINT8, sh(80), ones)) {
            b(f.writeArray("u", sh(0), d));
        }
        try (NdArray d = NdArray.ofDoubles(sh(5), 0, 0, 0, 0, 0)) {
            b(f.writeArray("d", sh(0), d));
        }
        b(f.flush());
        assertEquals(List.of("u", "d"), f.listArrays());
        assertArrayEquals(filled(80, 1), ints(f, "u"));
        ArrayFile r = reopen(s, small());
        assertArrayEquals(filled(80, 1), ints(r, "u"));
        try (NdArray a = b(r.readArray("d"))) {
            for (int i = 0; i < 5; i++) {
                assertEquals(0.0, a.getDouble(i));
            }
        }
    }

    @Test
    void scalarArraysRoundTrip_78() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("pi", ArraySpec.of(DType.FLOAT64)));
        b(f.defineArray("s", ArraySpec.of(DType.STRING)));
        b(f.defineArray("i", ArraySpec.of(DType.INT32).withFill(new FillValue.Int(42))));
        try (NdArray d = NdArray.ofDoubles(sh(), Math.PI)) {
            b(f.writeArray("pi", sh(), d));
        }
        b(f.writeArray("s", sh(), NdArray.ofStrings(sh(), List.of("hello"))));
        b(f.flush());
        ArrayFile r = reopen(s, small());
        try (NdArray a = b(r.readArray("pi"))) {
            assertEquals(0, a.rank());
            assertEquals(Math.PI, a.getDouble(0));
        }
        try (NdArray a = b(r.readArray("s"))) {
            assertEquals("hello", a.getString(0));
        }
        assertArrayEquals(new int[] {42}, ints(r, "i"));
    }

    @Test
    void deleteFlushReopenCompact_79_85() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.UINT8, 20)));
        b(f.defineArray("b", ArraySpec.of(DType.UINT16, 10)));
        b(f.defineArray("c", ArraySpec.of(DType.INT64, 2)));
        byte[] tens = new byte[20];
        Arrays.fill(tens, (byte) 10);
        b(f.writeArray("a", sh(0), NdArray.ofBytes(DType.UINT8, sh(20), tens)));
        short[] twenties = new short[10];
        Arrays.fill(twenties, (short) 20);
        b(f.writeArray("b", sh(0), NdArray.ofShorts(DType.UINT16, sh(10), twenties)));
        b(f.writeArray("c", sh(0), NdArray.ofLongs(DType.INT64, sh(2), 30, 30)));
        b(f.flush());
        ArrayFile r = reopen(s, small());
        assertEquals(3, r.listArrays().size());
        b(r.delete("b"));
        b(r.flush());
        assertEquals(List.of("a", "c"), r.listArrays());
        ArrayFile r2 = reopen(s, small());
        assertEquals(List.of("a", "c"), r2.listArrays());
        assertThrows(NotFoundException.class, () -> r2.arrayMeta("b"));
        b(r2.compact());
        assertEquals(1, r2.numLayers());
        ArrayFile r3 = reopen(s, small());
        assertEquals(1, r3.numLayers());
        assertEquals(List.of("a", "c"), r3.listArrays());
        assertArrayEquals(filled(20, 10), ints(r3, "a"));
        assertArrayEquals(new int[] {30, 30}, ints(r3, "c"));
        assertEquals(List.of("t.af", "t.stats"), s.list("t.").map(ObjectInfo::key).collectList().block(TIMEOUT));
    }

    @Test
    void attributesOfEveryKindSurviveReopen_80_81() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("v", ArraySpec.of(DType.FLOAT32, 3)));
        writeFloats(f, "v", sh(0), sh(3), 1, 2, 3);
        b(f.setAttribute("v", "units", AttributeValue.ofString("m/s")));
        b(f.setAttribute("v", "bin", AttributeValue.ofBinary(new byte[] {(byte) 0xde, (byte) 0xad, (byte) 0xbe})));
        b(f.setAttribute("v", "fl", AttributeValue.ofFloat64List(new double[] {0.1, 0.2, 0.3})));
        b(f.setAttribute("v", "sl", AttributeValue.ofStringList(List.of("a", "b"))));
        b(f.flush());
        ArrayFile r = reopen(s, small());
        assertEquals(AttributeValue.ofString("m/s"), r.getAttribute("v", "units"));
        assertEquals(AttributeValue.ofBinary(new byte[] {(byte) 0xde, (byte) 0xad, (byte) 0xbe}), r.getAttribute("v", "bin"));
        assertEquals(AttributeValue.ofFloat64List(new double[] {0.1, 0.2, 0.3}), r.getAttribute("v", "fl"));
        assertEquals(AttributeValue.ofStringList(List.of("a", "b")), r.getAttribute("v", "sl"));
        assertNull(r.getAttribute("v", "nope"));
        b(r.defineArray("extra", ArraySpec.of(DType.UINT8, 4)));
        b(r.writeArray("extra", sh(0), NdArray.ofBytes(DType.UINT8, sh(4), (byte) 7, (byte) 7, (byte) 7, (byte) 7)));
        b(r.flush());
        ArrayFile r2 = reopen(s, small());
        assertEquals(List.of("v", "extra"), r2.listArrays());
        assertArrayEquals(filled(4, 7), ints(r2, "extra"));
        assertArrayEquals(new float[] {1, 2, 3}, floats(r2, "v", sh(0), sh(3)));
    }

    @Test
    void layeredWritesAndCompaction_82_84_117() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 3)));
        writeInts(f, "a", sh(0), sh(3), 1, 2, 3);
        b(f.flush());
        assertEquals(2, f.numLayers());
        b(f.defineArray("b", ArraySpec.of(DType.INT32, 3)));
        writeInts(f, "b", sh(0), sh(3), 4, 5, 6);
        b(f.flush());
        assertEquals(3, f.numLayers());
        ArrayFile r = reopen(s, small());
        assertEquals(3, r.numLayers());
        assertArrayEquals(new int[] {1, 2, 3}, ints(r, "a"));
        assertArrayEquals(new int[] {4, 5, 6}, ints(r, "b"));
        b(r.compact());
        assertEquals(1, r.numLayers());
        ArrayFile r2 = reopen(s, small());
        assertEquals(1, r2.numLayers());
        assertEquals(List.of("a", "b"), r2.listArrays());
        assertArrayEquals(new int[] {4, 5, 6}, ints(r2, "b"));
    }

    @Test
    void tileUpdatesAcrossSessions_83_87_88() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("g", ArraySpec.of(DType.FLOAT32, 4, 4).withChunks(2, 2)));
        for (int r = 0; r < 4; r += 2) {
            for (int c = 0; c < 4; c += 2) {
                writeFloats(f, "g", sh(r, c), sh(2, 2), 1, 1, 1, 1);
            }
        }
        b(f.flush());
        ArrayFile g = reopen(s, small());
        writeFloats(g, "g", sh(2, 2), sh(2, 2), 9, 9, 9, 9);
        b(g.flush());
        ArrayFile h = reopen(s, small());
        assertArrayEquals(filledF(4, 1), floats(h, "g", sh(0, 0), sh(2, 2)));
        assertArrayEquals(filledF(4, 9), floats(h, "g", sh(2, 2), sh(2, 2)));
        // 87: a 1x1 write patches one cell of a chunk.
        writeFloats(h, "g", sh(1, 1), sh(1, 1), 7);
        b(h.flush());
        float[] all = floats(reopen(s, small()), "g", sh(0, 0), sh(4, 4));
        assertEquals(7f, all[5]);
        assertEquals(1f, all[4]);
        assertEquals(9f, all[15]);
        // 88: 6x6 ones, 3x3 chunks, a 2x2 patch at (2,2) spans four chunks.
        ArrayFile m = create(InMemoryStorage.create(), small());
        b(m.defineArray("m", ArraySpec.of(DType.INT32, 6, 6).withChunks(3, 3)));
        writeInts(m, "m", sh(0, 0), sh(6, 6), filled(36, 1));
        b(m.flush());
        writeInts(m, "m", sh(2, 2), sh(2, 2), 9, 9, 9, 9);
        b(m.flush());
        int[] got = ints(m, "m");
        for (int r = 0; r < 6; r++) {
            for (int c = 0; c < 6; c++) {
                boolean in = r >= 2 && r < 4 && c >= 2 && c < 4;
                assertEquals(in ? 9 : 1, got[r * 6 + c], "cell " + r + "," + c);
            }
        }
    }

    @Test
    void fullChunkAndPendingWrites_86_89_93() {
        ArrayFile f = create(InMemoryStorage.create(), small());
        b(f.defineArray("x", ArraySpec.of(DType.INT32, 4, 6).withChunks(2, 3)));
        writeInts(f, "x", sh(0, 0), sh(4, 6), range(24));
        assertArrayEquals(range(24), ints(f, "x"));
        b(f.defineArray("p", ArraySpec.of(DType.FLOAT32, 4).withChunks(2)));
        writeFloats(f, "p", sh(0), sh(2), 1, 2);
        writeFloats(f, "p", sh(2), sh(2), 3, 4);
        b(f.flush());
        assertArrayEquals(new float[] {1, 2, 3, 4}, floats(f, "p", sh(0), sh(4)));
        b(f.defineArray("z", ArraySpec.of(DType.INT32, 8).withChunks(4).withFill(new FillValue.Int(0))));
        writeInts(f, "z", sh(0), sh(4), 1, 2, 3, 4);
        writeInts(f, "z", sh(5), sh(2), 10, 20);
        assertArrayEquals(new int[] {1, 2, 3, 4, 0, 10, 20, 0}, ints(f, "z"));
    }

    @Test
    void fillValues_90_91_114() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 6).withChunks(3).withFill(new FillValue.Int(42))));
        writeInts(f, "a", sh(0), sh(3), 1, 2, 3);
        b(f.defineArray("d", ArraySpec.of(DType.FLOAT64, 4)));
        b(f.defineArray("n", ArraySpec.of(DType.INT32, 8).withChunks(4).withFill(new FillValue.Int(-999))));
        writeInts(f, "n", sh(0), sh(4), 10, 20, 30, 40);
        b(f.flush());
        ArrayFile r = reopen(s, small());
        assertArrayEquals(new int[] {1, 2, 3, 42, 42, 42}, ints(r, "a"));
        try (NdArray d = b(r.readArray("d"))) {
            for (int i = 0; i < 4; i++) {
                assertEquals(0.0, d.getDouble(i));
            }
        }
        assertArrayEquals(new int[] {10, 20, 30, 40, -999, -999, -999, -999}, ints(r, "n"));
    }

    @Test
    void subRegionsAndReplacements_92_94_95_96_97_101() {
        ArrayFile f = create(InMemoryStorage.create(), small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 6)));
        writeInts(f, "a", sh(0), sh(6), 10, 20, 30, 40, 50, 60);
        assertArrayEquals(new int[] {30, 40, 50}, ints(f, "a", sh(2), sh(3)));
        b(f.defineArray("u", ArraySpec.of(DType.INT32, 12).withChunks(4)));
        writeInts(f, "u", sh(0), sh(12), filled(12, 1));
        b(f.flush());
        writeInts(f, "u", sh(4), sh(4), filled(4, 9));
        b(f.flush());
        assertArrayEquals(new int[] {1, 1, 1, 1, 9, 9, 9, 9, 1, 1, 1, 1}, ints(f, "u"));
        writeInts(f, "u", sh(0), sh(4), filled(4, 2));
        writeInts(f, "u", sh(8), sh(4), filled(4, 3));
        b(f.flush());
        assertArrayEquals(new int[] {2, 2, 2, 2, 9, 9, 9, 9, 3, 3, 3, 3}, ints(f, "u"));
        b(f.defineArray("z", ArraySpec.of(DType.INT32, 8).withChunks(4)));
        writeInts(f, "z", sh(0), sh(8), filled(8, 0));
        b(f.flush());
        writeInts(f, "z", sh(2), sh(4), filled(4, 5));
        b(f.flush());
        assertArrayEquals(new int[] {0, 0, 5, 5, 5, 5, 0, 0}, ints(f, "z"));
        b(f.defineArray("r", ArraySpec.of(DType.INT32, 10).withChunks(5)));
        writeInts(f, "r", sh(0), sh(10), range(10));
        writeInts(f, "r", sh(3), sh(4), filled(4, 99));
        assertArrayEquals(new int[] {0, 1, 2, 99, 99}, ints(f, "r", sh(0), sh(5)));
        assertArrayEquals(new int[] {99, 99, 7, 8, 9}, ints(f, "r", sh(5), sh(5)));
    }

    @Test
    void compactKeepsPartialUpdates_98() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 12).withChunks(4)));
        writeInts(f, "a", sh(0), sh(12), filled(12, 1));
        b(f.flush());
        ArrayFile g = reopen(s, small());
        writeInts(g, "a", sh(4), sh(4), filled(4, 9));
        b(g.flush());
        ArrayFile h = reopen(s, small());
        b(h.compact());
        assertEquals(1, h.numLayers());
        assertArrayEquals(new int[] {1, 1, 1, 1, 9, 9, 9, 9, 1, 1, 1, 1}, ints(reopen(s, small()), "a"));
    }

    @Test
    void twoDimensionalPatches_99_100() {
        ArrayFile f = create(InMemoryStorage.create(), small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 4, 6).withChunks(2, 3)));
        writeInts(f, "a", sh(0, 0), sh(4, 6), filled(24, 1));
        writeInts(f, "a", sh(2, 0), sh(1, 6), filled(6, 7));
        int[] got = ints(f, "a");
        for (int i = 0; i < 24; i++) {
            assertEquals(i / 6 == 2 ? 7 : 1, got[i]);
        }
        b(f.defineArray("b", ArraySpec.of(DType.FLOAT32, 4, 4).withChunks(2, 2)));
        writeFloats(f, "b", sh(0, 0), sh(4, 4), filledF(16, 0));
        writeFloats(f, "b", sh(1, 1), sh(2, 2), 5, 5, 5, 5);
        float[] all = floats(f, "b", sh(0, 0), sh(4, 4));
        for (int r = 0; r < 4; r++) {
            for (int c = 0; c < 4; c++) {
                assertEquals(r >= 1 && r <= 2 && c >= 1 && c <= 2 ? 5f : 0f, all[r * 4 + c]);
            }
        }
    }

    @Test
    void everyDtypeRoundTripsThroughEveryCodec() {
        for (BlockCodec codec : List.of(BlockCodecs.none(), BlockCodecs.lz4(), BlockCodecs.zstd())) {
            InMemoryStorage s = InMemoryStorage.create();
            ArrayFileOptions o = options(codec, 100);
            ArrayFile f = create(s, o);
            List<DType> fixed = List.of(DType.BOOL, DType.INT8, DType.INT16, DType.INT32, DType.INT64, DType.UINT8,
                    DType.UINT16, DType.UINT32, DType.UINT64, DType.FLOAT32, DType.FLOAT64, DType.TIMESTAMP_NS);
            for (DType t : fixed) {
                b(f.defineArray(t.toString(), ArraySpec.of(t, 5, 7).withChunks(2, 3)));
                byte[] bytes = new byte[(int) (35 * t.elementSize())];
                for (int i = 0; i < bytes.length; i++) {
                    bytes[i] = (byte) (t == DType.BOOL ? i % 2 : i * 31 + 7);
                }
                try (NdArray d = NdArray.wrap(t, sh(5, 7), io.netty.buffer.Unpooled.wrappedBuffer(bytes))) {
                    b(f.writeArray(t.toString(), sh(0, 0), d));
                }
            }
            b(f.defineArray("str", ArraySpec.of(DType.STRING, 3, 3).withChunks(2, 2)));
            List<String> strs = List.of("", "α", "hello", "wörld", "x", "", "long string here", "z", "ü");
            b(f.writeArray("str", sh(0, 0), NdArray.ofStrings(sh(3, 3), strs)));
            b(f.defineArray("bin", ArraySpec.of(DType.BINARY, 4).withChunks(3)));
            List<byte[]> bins = List.of(new byte[] {1, 2, 3}, new byte[0], new byte[] {(byte) 255}, new byte[] {0});
            b(f.writeArray("bin", sh(0), NdArray.ofBinary(sh(4), bins)));
            // a partial write into the String array keeps its neighbours
            b(f.writeArray("str", sh(1, 1), NdArray.ofStrings(sh(1, 1), List.of("patched"))));
            b(f.flush());
            ArrayFile r = reopen(s, o);
            for (DType t : fixed) {
                try (NdArray a = b(r.readArray(t.toString()))) {
                    byte[] got = new byte[(int) (35 * t.elementSize())];
                    a.data().getBytes(0, got);
                    for (int i = 0; i < got.length; i++) {
                        assertEquals((byte) (t == DType.BOOL ? i % 2 : i * 31 + 7), got[i], codec + " " + t + " byte " + i);
                    }
                }
            }
            try (NdArray a = b(r.readArray("str"))) {
                for (int i = 0; i < 9; i++) {
                    assertEquals(i == 4 ? "patched" : strs.get(i), a.getString(i));
                }
            }
            try (NdArray a = b(r.readArray("bin"))) {
                for (int i = 0; i < 4; i++) {
                    assertArrayEquals(bins.get(i), a.getBinary(i));
                }
            }
            b(r.compact());
            try (NdArray a = b(reopen(s, o).readArray("str", sh(1, 1), sh(1, 2)))) {
                assertEquals("patched", a.getString(0));
                assertEquals("", a.getString(1));
            }
        }
    }

    // ------------------------------------------------------------------ statistics (102-111, 119)

    static ArrayStats intStats(long min, long max, long nulls, long rows, String name) {
        return new ArrayStats(name, new StatValue.Int(min), new StatValue.Int(max), nulls, rows);
    }

    @Test
    void statisticsFollowFlushesAndCompaction_102_to_108() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        assertNull(f.arrayStats("a"), "107: none before the first flush");
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 6).withFill(new FillValue.Int(1))));
        writeInts(f, "a", sh(0), sh(6), 3, 1, 4, 1, 5, 9);
        assertNull(f.arrayStats("a"), "stats describe the committed state");
        b(f.flush());
        assertEquals(intStats(3, 9, 2, 6, "a"), f.arrayStats("a"));
        b(f.defineArray("b", ArraySpec.of(DType.INT32, 10).withChunks(5)));
        writeInts(f, "b", sh(0), sh(5), 1, 2, 3, 4, 5);
        b(f.flush());
        writeInts(f, "b", sh(5), sh(5), 6, 7, 8, 9, 10);
        b(f.flush());
        assertEquals(intStats(1, 10, 0, 10, "b"), f.arrayStats("b"));
        b(f.defineArray("c", ArraySpec.of(DType.INT32, 4)));
        writeInts(f, "c", sh(0), sh(4), 1, 2, 3, 4);
        b(f.flush());
        writeInts(f, "c", sh(0), sh(4), 10, 20, 30, 40);
        b(f.flush());
        assertEquals(intStats(10, 40, 0, 4, "c"), f.arrayStats("c"));
        b(f.defineArray("n", ArraySpec.of(DType.INT32, 10).withChunks(5).withFill(new FillValue.Int(0))));
        writeInts(f, "n", sh(0), sh(5), 1, 2, 3, 4, 5);
        b(f.flush());
        assertEquals(intStats(1, 5, 5, 10, "n"), f.arrayStats("n"));
        ArrayFile r = reopen(s, small());
        assertEquals(ArrayFile.StatsStatus.CURRENT, r.statsStatus());
        assertEquals(intStats(3, 9, 2, 6, "a"), r.arrayStats("a"), "106: loaded on open");
        b(r.compact());
        assertEquals(intStats(10, 40, 0, 4, "c"), r.arrayStats("c"), "105: survive compact");
        assertEquals(intStats(10, 40, 0, 4, "c"), reopen(s, small()).arrayStats("c"));
        assertEquals(ArrayFile.StatsStatus.CURRENT, reopen(s, small()).statsStatus());
    }

    @Test
    void statisticsOfWholeChunksAreTakenByTheirBlocksCompressionAndAgreeBeforeAndAfterFlush() {
        // Whole fixed-width chunks take their statistics on the codec thread that compresses their
        // block. Blocks of 4 chunks: the first two compress in the background, the last two chunks
        // sit in the open block until the flush, so computeStats sees both kinds.
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, options(BlockCodecs.lz4(), 64));
        b(f.defineArray("w", ArraySpec.of(DType.INT32, 40).withChunks(4).withFill(new FillValue.Int(-1))));
        int[] v = new int[40];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        writeInts(f, "w", sh(0), sh(40), v);
        assertEquals(intStats(0, 39, 0, 40, "w"), b(f.computeStats("w")));
        writeInts(f, "w", sh(36), sh(4), 100, 101, 102, 103); // chunk 9 rewritten whole
        writeInts(f, "w", sh(1), sh(2), -7, 7);               // chunk 0 patched (read-modify-write)
        assertEquals(intStats(-7, 103, 0, 40, "w"), b(f.computeStats("w")));
        b(f.flush());
        assertEquals(intStats(-7, 103, 0, 40, "w"), f.arrayStats("w"));
        assertEquals(intStats(-7, 103, 0, 40, "w"), b(f.computeStats("w")));
        assertEquals(intStats(-7, 103, 0, 40, "w"), reopen(s, small()).arrayStats("w"));
    }

    @Test
    void timestampStatsAndDeletedArrays_109_110_111() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("t", ArraySpec.of(DType.TIMESTAMP_NS, 5).withFill(new FillValue.TimestampNs(1_000_000_000L))));
        b(f.writeArray("t", sh(0), NdArray.ofLongs(DType.TIMESTAMP_NS, sh(5), 0, 1_000_000_000L, 2_000_000_000L, -500,
                1_000_000_000L)));
        b(f.defineArray("gone", ArraySpec.of(DType.INT32, 2)));
        writeInts(f, "gone", sh(0), sh(2), 1, 2);
        b(f.defineArray("kept", ArraySpec.of(DType.INT32, 2)));
        writeInts(f, "kept", sh(0), sh(2), 1, 2);
        b(f.flush());
        assertEquals(List.of("t", "gone", "kept"), f.statsEntries().stream().map(ArrayStats::name).toList());
        assertEquals(new ArrayStats("t", new StatValue.TimestampNs(-500), new StatValue.TimestampNs(2_000_000_000L), 2, 5),
                f.arrayStats("t"));
        b(f.delete("gone"));
        assertNull(f.arrayStats("gone"));
        b(f.flush());
        assertNull(f.arrayStats("gone"));
        assertNotNull(f.arrayStats("kept"));
        assertNull(reopen(s, small()).arrayStats("gone"));
        assertEquals(List.of("t", "kept"), reopen(s, small()).statsEntries().stream().map(ArrayStats::name).toList());
    }

    @Test
    void statisticsWithFillValue_119() {
        ArrayFile f = create(InMemoryStorage.create(), small());
        b(f.defineArray("s", ArraySpec.of(DType.INT32, 8).withChunks(4).withFill(new FillValue.Int(-999))));
        writeInts(f, "s", sh(0), sh(4), 23, -999, 31, 28);
        b(f.flush());
        assertEquals(5, f.arrayStats("s").nullCount());
        assertEquals(8, f.arrayStats("s").rowCount());
        writeInts(f, "s", sh(4), sh(4), 19, 25, 30, 27);
        b(f.flush());
        assertEquals(1, f.arrayStats("s").nullCount());
        writeInts(f, "s", sh(0), sh(4), 23, 20, 31, 28);
        b(f.flush());
        assertEquals(0, f.arrayStats("s").nullCount());
        b(f.compact());
        assertEquals(8, f.arrayStats("s").rowCount());
        assertEquals(new StatValue.Int(31), f.arrayStats("s").max());
    }

    // ------------------------------------------------------------------ attributes (51-54, 116, 121) and W1

    @Test
    void attributeIndexAcrossPendingAndFlush_51_to_54_116() {
        ArrayFile f = create(InMemoryStorage.create(), small());
        for (String n : List.of("pressure", "temperature", "humidity")) {
            b(f.defineArray(n, ArraySpec.of(DType.FLOAT32, 1)));
        }
        b(f.setAttribute("pressure", "units", AttributeValue.ofString("hPa")));
        b(f.setAttribute("temperature", "units", AttributeValue.ofString("K")));
        Map<String, AttributeValue> idx = f.attributeIndex("units");
        assertEquals(List.of("pressure", "temperature", "humidity"), new ArrayList<>(idx.keySet()));
        assertEquals(AttributeValue.ofString("hPa"), idx.get("pressure"));
        assertNull(idx.get("humidity"));
        assertEquals(List.of("pressure"), idx.entrySet().stream()
                .filter(e -> AttributeValue.ofString("hPa").equals(e.getValue())).map(Map.Entry::getKey).toList());
        assertTrue(f.attributeIndex("nobody").values().stream().allMatch(v -> v == null));
        b(f.flush());
        assertEquals(AttributeValue.ofString("K"), f.attributeIndex("units").get("temperature"));
        b(f.delete("temperature"));
        assertEquals(List.of("pressure", "humidity"), new ArrayList<>(f.attributeIndex("units").keySet()));
        assertThrows(NotFoundException.class, () -> b(f.setAttribute("temperature", "x", AttributeValue.ofInt32(1))));
        assertThrows(NotFoundException.class, () -> f.getAttribute("temperature", "units"));
    }

    @Test
    void placeholderScalarCarriesFileMetadata_121() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("__file__", ArraySpec.of(DType.UINT8)));
        b(f.setAttribute("__file__", "title", AttributeValue.ofString("run 7")));
        b(f.setAttribute("__file__", "version", AttributeValue.ofInt32(3)));
        b(f.setAttribute("__file__", "tags", AttributeValue.ofStringList(List.of("a", "b"))));
        b(f.flush());
        ArrayFile r = reopen(s, small());
        assertEquals(List.of("__file__"), r.listArrays());
        assertEquals(3, r.attributes("__file__").size());
        assertEquals(AttributeValue.ofInt32(3), r.getAttribute("__file__", "version"));
    }

    @Test
    void attributesSetInDifferentSessionsResolveAgainstTheirOwnLayer_W1() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 2)));
        b(f.defineArray("b", ArraySpec.of(DType.INT32, 2)));
        b(f.setAttribute("a", "units", AttributeValue.ofString("hPa")));
        b(f.flush());
        ArrayFile g = reopen(s, small());
        b(g.setAttribute("b", "x", AttributeValue.ofInt32(5)));
        b(g.setAttribute("a", "long_name", AttributeValue.ofString("Pressure")));
        b(g.flush());
        ArrayFile h = reopen(s, small());
        assertEquals(AttributeValue.ofString("hPa"), h.getAttribute("a", "units"));
        assertEquals(AttributeValue.ofString("Pressure"), h.getAttribute("a", "long_name"));
        assertEquals(AttributeValue.ofInt32(5), h.getAttribute("b", "x"));
        assertNull(h.getAttribute("b", "units"));
        writeInts(h, "a", sh(0), sh(2), 1, 2);
        b(h.flush());
        b(h.compact());
        ArrayFile k = reopen(s, small());
        assertEquals(Map.of("units", AttributeValue.ofString("hPa"), "long_name", AttributeValue.ofString("Pressure")),
                k.attributes("a"));
        assertEquals(Map.of("x", AttributeValue.ofInt32(5)), k.attributes("b"));
    }

    // ------------------------------------------------------------------ W2 delete + re-define

    @Test
    void redefinedArrayDoesNotSeeOldChunks_W2() {
        for (boolean sameSession : List.of(false, true)) {
            InMemoryStorage s = InMemoryStorage.create();
            ArrayFile f = create(s, small());
            b(f.defineArray("x", ArraySpec.of(DType.INT32, 8).withChunks(4)));
            writeInts(f, "x", sh(0), sh(8), range(8));
            b(f.flush());
            b(f.delete("x"));
            if (!sameSession) {
                b(f.flush());
            }
            b(f.defineArray("x", ArraySpec.of(DType.INT64, 8).withChunks(4).withFill(new FillValue.Int(-1))));
            try (NdArray a = b(f.readArray("x"))) {
                for (int i = 0; i < 8; i++) {
                    assertEquals(-1L, a.getLong(i), "pending view, same session " + sameSession);
                }
            }
            b(f.flush());
            for (ArrayFile r : List.of(f, reopen(s, small()))) {
                try (NdArray a = b(r.readArray("x"))) {
                    assertEquals(DType.INT64, a.dtype());
                    for (int i = 0; i < 8; i++) {
                        assertEquals(-1L, a.getLong(i), "same session " + sameSession);
                    }
                }
                assertEquals(8, r.arrayStats("x").nullCount());
            }
            ArrayFile r = reopen(s, small());
            b(r.compact());
            try (NdArray a = b(reopen(s, small()).readArray("x"))) {
                assertEquals(-1L, a.getLong(3));
            }
        }
    }

    // ------------------------------------------------------------------ validation (W10, W11)

    @Test
    void badArgumentsAreTypedAndChangeNothing() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 4, 4).withChunks(2, 2)));
        assertThrows(AlreadyExistsException.class, () -> b(f.defineArray("a", ArraySpec.of(DType.INT32, 1))));
        assertThrows(InvalidArgumentException.class, () -> b(f.defineArray("", ArraySpec.of(DType.INT32, 1))));
        assertThrows(InvalidArgumentException.class, () -> ArraySpec.of(DType.INT32, 4).withChunks(0));
        assertThrows(InvalidArgumentException.class, () -> ArraySpec.of(DType.INT32, 4).withChunks(2, 2));
        assertThrows(InvalidArgumentException.class, () -> ArraySpec.of(DType.INT32, 1L << 32));
        assertThrows(InvalidArgumentException.class, () -> ArraySpec.of(DType.INT32, 4).withDimensions("x", "y"));
        assertThrows(InvalidArgumentException.class,
                () -> ArraySpec.of(DType.FLOAT64, 100_000, 100_000).withChunks(100_000, 100_000));
        // Without explicit chunks a large array gets chunks of at most 1 MiB (the longest axes halved).
        long[] auto = ArraySpec.of(DType.FLOAT64, 100_000, 100_000).chunkShape();
        assertTrue(auto[0] * auto[1] * 8 <= 1 << 20, java.util.Arrays.toString(auto));
        assertArrayEquals(sh(1000, 500), ArraySpec.of(DType.INT32, 1000, 500).chunkShape(), "2 MB: one chunk");
        try (NdArray d = NdArray.ofInts(DType.INT32, sh(2, 2), 1, 2, 3, 4)) {
            assertThrows(InvalidArgumentException.class, () -> b(f.writeArray("a", sh(3, 3), d)));
            assertThrows(InvalidArgumentException.class, () -> b(f.writeArray("a", sh(0), d)));
            assertThrows(InvalidArgumentException.class, () -> b(f.writeArray("a", sh(-1, 0), d)));
            assertThrows(NotFoundException.class, () -> b(f.writeArray("nope", sh(0, 0), d)));
        }
        try (NdArray d = NdArray.ofDoubles(sh(2, 2), 1, 2, 3, 4)) {
            assertThrows(DTypeMismatchException.class, () -> b(f.writeArray("a", sh(0, 0), d)));
        }
        assertThrows(DTypeMismatchException.class, () -> b(f.readArray("a", DType.FLOAT32, sh(0, 0), sh(1, 1))));
        assertThrows(InvalidArgumentException.class, () -> b(f.readArray("a", sh(0, 0), sh(5, 1))));
        assertThrows(InvalidArgumentException.class, () -> NdArray.ofInts(DType.INT32, sh(3), 1, 2));
        assertArrayEquals(new int[16], ints(f, "a"), "nothing was written");
        // zero-length arrays read empty and writes of nothing are no-ops
        b(f.defineArray("empty", ArraySpec.of(DType.INT32, 0, 3)));
        assertEquals(0, ints(f, "empty").length);
        try (NdArray d = NdArray.ofInts(DType.INT32, sh(0, 3))) {
            b(f.writeArray("empty", sh(0, 0), d));
        }
        assertThrows(AlreadyExistsException.class, () -> b(ArrayFile.create(s, "t.af", small())));
        assertThrows(NotFoundException.class, () -> b(ArrayFile.open(s, "missing.af", small())));
        assertThrows(InvalidArgumentException.class, () -> b(ArrayFile.open(s, "no-suffix", small())));
    }

    @Test
    void chunksOfTheSoloSizeGetABlockEachWhileSmallOnesArePacked() {
        assertEquals(1L << 20, ArrayFileOptions.builder(resources).build().soloChunkSize(), "default: 1 MiB");
        int[] big = new int[4 * 512];
        int[] small = new int[64];
        for (int i = 0; i < big.length; i++) {
            big[i] = i * 7 + 1;
        }
        for (int i = 0; i < small.length; i++) {
            small[i] = -i;
        }
        // Chunks of 2,048 bytes (solo at 1,024) and of 64 bytes, block target 8,192.
        java.util.function.Function<Long, long[]> blockSizes = solo -> {
            InMemoryStorage s = InMemoryStorage.create();
            ArrayFileOptions o = ArrayFileOptions.builder(resources).codec(BlockCodecs.lz4()).blockTargetSize(8192)
                    .soloChunkSize(solo).tempDirectory(tmp).build();
            ArrayFile f = create(s, o);
            b(f.defineArray("big", ArraySpec.of(DType.INT32, 4, 512).withChunks(1, 512)));
            b(f.defineArray("small", ArraySpec.of(DType.INT32, 64).withChunks(16)));
            writeInts(f, "small", sh(0), sh(32), java.util.Arrays.copyOf(small, 32));
            writeInts(f, "big", sh(0, 0), sh(4, 512), big);
            writeInts(f, "small", sh(32), sh(32), java.util.Arrays.copyOfRange(small, 32, 64));
            b(f.flush());
            ArrayFile r = reopen(s, o);
            assertArrayEquals(big, ints(r, "big"));
            assertArrayEquals(small, ints(r, "small"));
            assertArrayEquals(java.util.Arrays.copyOfRange(big, 1024, 1536), ints(r, "big", sh(2, 0), sh(1, 512)));
            Trailer.CheckedLayer layer = Trailer.decodeCheckedLayer(ByteBuffer.wrap(s.getBytes("t.1.af")), "t.1.af");
            // The data blocks; the checksum record is one more block, the last, that no chunk uses.
            long record = layer.checksums().recordBlockId();
            assertEquals(record, layer.footer().blocks().get(layer.footer().blocks().size() - 1).id());
            return layer.footer().blocks().stream().filter(b -> b.id() != record)
                    .mapToLong(dev.atlas.internal.format.BlockMeta::uncompressedSize).toArray();
        };
        assertArrayEquals(new long[] {128, 2048, 2048, 2048, 2048, 128}, blockSizes.apply(1024L),
                "the small chunks before and after the large ones are packed; each large one is alone");
        assertArrayEquals(new long[] {128 + 2048 * 3, 2048 + 128}, blockSizes.apply(Long.MAX_VALUE),
                "packing every chunk fills blocks up to the target");
        assertArrayEquals(new long[] {128, 2048, 2048, 2048, 2048, 128}, blockSizes.apply(2048L), "the bound is inclusive");
        assertThrows(InvalidArgumentException.class, () -> ArrayFileOptions.builder(resources).soloChunkSize(0));
    }

    @Test
    void footerVersion4FilesRoundTripAndRefuseNewAttributeKinds() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFileOptions v4 = ArrayFileOptions.builder(resources).footerVersion(Footer.VERSION_V4).codec(BlockCodecs.lz4())
                .tempDirectory(tmp).build();
        ArrayFile f = create(s, v4);
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 3)));
        writeInts(f, "a", sh(0), sh(3), 1, 2, 3);
        b(f.setAttribute("a", "u", AttributeValue.ofString("m")));
        assertThrows(InvalidArgumentException.class, () -> b(f.setAttribute("a", "b", AttributeValue.ofBinary(new byte[1]))));
        b(f.flush());
        Footer footer = Trailer.decodeLayer(ByteBuffer.wrap(s.getBytes("t.1.af")), "t.1.af");
        assertEquals(Footer.VERSION_V4, footer.version());
        assertArrayEquals(new int[] {1, 2, 3}, ints(reopen(s, v4), "a"));
    }

    // ------------------------------------------------------------------ files we write (reference layout)

    @Test
    void writtenLayersDecodeWithTheReferenceLayoutAndReEncodeByteForByte() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, options(BlockCodecs.zstd(), 256));
        b(f.defineArray("a", ArraySpec.of(DType.FLOAT32, 10, 10).withChunks(3, 4).withFill(new FillValue.Float(Double.NaN))));
        writeFloats(f, "a", sh(0, 0), sh(10, 10), filledF(100, 2.5f));
        b(f.setAttribute("a", "units", AttributeValue.ofString("K")));
        b(f.flush());
        b(f.delete("a"));
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 3)));
        b(f.flush());
        for (String key : List.of("t.af", "t.1.af", "t.2.af")) {
            byte[] file = s.getBytes(key);
            Footer footer = Trailer.decodeLayer(ByteBuffer.wrap(file), key);
            byte[] payload = FooterCodec.encodeFooter(footer);
            byte[] tail = Arrays.copyOfRange(file, file.length - 12 - payload.length, file.length - 12);
            assertArrayEquals(tail, payload, key + " footer re-encodes byte for byte");
            assertEquals(key.equals("t.af") ? 0 : Long.parseLong(key.split("\\.")[1]), footer.overlayIndex());
        }
        Footer two = Trailer.decodeLayer(ByteBuffer.wrap(s.getBytes("t.2.af")), "t.2.af");
        assertEquals(2, two.arrays().size(), "delete + re-define in one flush: a tombstone, then the definition");
        assertTrue(two.arrays().get(0).deleted());
        assertFalse(two.arrays().get(1).deleted());
        Footer one = Trailer.decodeLayer(ByteBuffer.wrap(s.getBytes("t.1.af")), "t.1.af");
        assertEquals(List.of("units"), one.attrKeys());
        assertEquals(12, one.arrays().get(0).chunks().size());
    }

    // ------------------------------------------------------------------ crash safety and concurrency

    @Test
    void failedFlushKeepsPendingChangesForARetry_W6() {
        InMemoryStorage mem = InMemoryStorage.create();
        FaultInjectingStorage s = new FaultInjectingStorage(mem);
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 64).withChunks(8)));
        writeInts(f, "a", sh(0), sh(64), range(64));
        s.failPutAfterBytes(100);
        assertThrows(StorageException.class, () -> b(f.flush()));
        assertTrue(f.hasPendingChanges());
        assertEquals(1, f.numLayers());
        assertArrayEquals(range(64), ints(f, "a"), "pending data still readable");
        s.failPutAfterBytes(-1);
        b(f.flush());
        assertEquals(2, f.numLayers());
        assertArrayEquals(range(64), ints(reopen(mem, small()), "a"));
    }

    @Test
    void twoWritersNeverOverwriteEachOthersSidecar_W5() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        ArrayFile g = reopen(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 1)));
        b(g.defineArray("b", ArraySpec.of(DType.INT32, 1)));
        b(f.flush());
        b(g.flush()); // number 1 is taken: the second writer commits as sidecar 2, on top of the first
        assertEquals(1, f.lastFlushedLayer());
        assertEquals(2, g.lastFlushedLayer());
        assertFalse(g.hasPendingChanges());
        assertEquals(List.of("a", "b"), reopen(s, small()).listArrays());
        assertEquals(List.of("a", "b"), g.listArrays(), "the second writer refreshed before committing");
        b(f.refresh());
        assertEquals(List.of("a", "b"), f.listArrays());
    }

    @Test
    void staleStatisticsAreDetectedAndRepaired_W14() {
        InMemoryStorage mem = InMemoryStorage.create();
        FaultInjectingStorage s = new FaultInjectingStorage(mem);
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 4)));
        writeInts(f, "a", sh(0), sh(4), 1, 2, 3, 4);
        b(f.flush());
        writeInts(f, "a", sh(0), sh(4), 5, 6, 7, 8);
        s.failCall(s.calls() + 4); // the listing, the sidecar put and the HEAD of the base succeed, the stats put fails
        assertThrows(ArrayFile.StaleStatsWriteException.class, () -> b(f.flush()));
        assertEquals(3, f.numLayers(), "the layer is committed");
        ArrayFile r = reopen(mem, small());
        assertEquals(ArrayFile.StatsStatus.STALE, r.statsStatus());
        assertNull(r.arrayStats("a"), "stale statistics are not served");
        assertEquals(intStats(5, 8, 0, 4, "a"), b(r.computeStats("a")));
        b(r.flush());
        assertEquals(ArrayFile.StatsStatus.CURRENT, r.statsStatus());
        assertEquals(intStats(5, 8, 0, 4, "a"), reopen(mem, small()).arrayStats("a"));
        // the writer that saw the failure repairs the file on its next flush too
        b(f.flush());
        assertEquals(ArrayFile.StatsStatus.CURRENT, reopen(mem, small()).statsStatus());
    }

    @Test
    void compactIncludesPendingChanges_W9() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 4).withChunks(2)));
        writeInts(f, "a", sh(0), sh(2), 1, 2);
        b(f.flush());
        writeInts(f, "a", sh(2), sh(2), 3, 4);
        b(f.compact());
        assertFalse(f.hasPendingChanges());
        assertArrayEquals(new int[] {1, 2, 3, 4}, ints(reopen(s, small()), "a"));
        assertEquals(1, reopen(s, small()).numLayers());
        b(f.defineArray("b", ArraySpec.of(DType.INT32, 1)));
        b(f.flush());
        // compact flushed the pending write as t.2.af and absorbed it; numbering goes on from there
        assertEquals(List.of("t.3.af", "t.af", "t.stats"), s.list("t.").map(ObjectInfo::key).collectList().block(TIMEOUT),
                "sidecar numbers continue after a compaction (never reused)");
    }

    @Test
    void timeTravelOpensOlderStates() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 2)));
        writeInts(f, "a", sh(0), sh(2), 1, 1);
        b(f.flush());
        writeInts(f, "a", sh(0), sh(2), 2, 2);
        b(f.flush());
        b(f.delete("a"));
        b(f.flush());
        assertEquals(List.of(), reopen(s, small()).listArrays());
        ArrayFile v1 = b(ArrayFile.openAsOf(s, "t.af", small(), 2));
        assertTrue(v1.isReadOnly());
        assertArrayEquals(new int[] {1, 1}, ints(v1, "a"));
        assertNull(v1.arrayStats("a"), "statistics of another stack are not served");
        assertEquals(intStats(1, 1, 0, 2, "a"), b(v1.computeStats("a")));
        assertArrayEquals(new int[] {2, 2}, ints(b(ArrayFile.openAsOf(s, "t.af", small(), 3)), "a"));
        assertThrows(InvalidArgumentException.class, () -> b(v1.defineArray("z", ArraySpec.of(DType.INT32, 1))));
    }

    @Test
    void readsRunConcurrentlyWithWritesAndSeeWholeWrites() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, options(BlockCodecs.lz4(), 1024));
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 256).withChunks(16)));
        List<Mono<Void>> ops = new ArrayList<>();
        for (int v = 1; v <= 20; v++) {
            int val = v;
            ops.add(Mono.defer(() -> {
                NdArray d = NdArray.ofInts(DType.INT32, sh(256), filled(256, val));
                return f.writeArray("a", sh(0), d).doFinally(x -> d.close());
            }));
            if (v % 5 == 0) {
                ops.add(f.flush());
            }
        }
        Mono<List<Integer>> reads = reactor.core.publisher.Flux.range(0, 200)
                .flatMap(i -> f.readArray("a").map(a -> {
                    try {
                        int[] got = ints(a);
                        // a whole write is visible or none of it: every element is equal
                        return (int) Arrays.stream(got).distinct().count();
                    } finally {
                        a.close();
                    }
                }), 8)
                .collectList();
        List<Integer> distinct = b(Mono.zip(reactor.core.publisher.Flux.concat(ops).then(Mono.just(1)), reads)
                .map(t -> t.getT2()));
        assertEquals(Map.of(1, 200L), distinct.stream().collect(Collectors.groupingBy(x -> x, Collectors.counting())));
        b(f.flush());
        assertArrayEquals(filled(256, 20), ints(reopen(s, small()), "a"));
    }

    /** Open spill files of this process (they are unlinked at creation, so only /proc shows them). */
    static long openSpillFiles() throws Exception {
        try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(p -> {
                try {
                    return java.nio.file.Files.readSymbolicLink(p).toString().contains("atlas-pending-");
                } catch (Exception e) {
                    return false;
                }
            }).count();
        }
    }

    @Test
    void closeDiscardsPendingAndClosesTheSpillFile(@TempDir Path own) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc");
        ArrayFileOptions o = ArrayFileOptions.builder(resources).codec(BlockCodecs.none()).blockTargetSize(64)
                .tempDirectory(own).build();
        ArrayFile f = create(InMemoryStorage.create(), o);
        long before = openSpillFiles();
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 1024).withChunks(16)));
        writeInts(f, "a", sh(0), sh(1024), range(1024));
        assertEquals(before + 1, openSpillFiles(), "one spill file while pending");
        assertEquals(List.of(), java.nio.file.Files.list(own).toList(), "unlinked at creation: a crash leaves nothing behind");
        b(f.close());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (openSpillFiles() > before) {
            assertTrue(System.nanoTime() < deadline, "spill file closed");
            Thread.sleep(10);
        }
        assertInstanceOf(InvalidArgumentException.class,
                assertThrows(RuntimeException.class, () -> b(f.defineArray("b", ArraySpec.of(DType.INT32, 1)))));
    }

    @Test
    void fragmentStreamCoversTheRegionAndReassemblesToTheRead() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, options(BlockCodecs.lz4(), 64));
        b(f.defineArray("g", ArraySpec.of(DType.INT32, 9, 7).withChunks(4, 3).withFill(new FillValue.Int(-1))));
        writeInts(f, "g", sh(0, 0), sh(5, 7), range(35));
        b(f.flush());
        writeInts(f, "g", sh(6, 2), sh(2, 2), 100, 101, 102, 103); // pending, partly over stored chunks
        long[] start = sh(1, 1);
        long[] shape = sh(8, 6);
        int[] expected = ints(f, "g", start, shape);
        int[] got = new int[expected.length];
        Arrays.fill(got, Integer.MIN_VALUE);
        List<ChunkFragment> frags = b(f.readFragments("g", start, shape).collectList());
        int stored = 0;
        for (ChunkFragment fr : frags) {
            try (fr) {
                long[] fs = fr.start();
                long[] fn = fr.shape();
                stored += fr.stored() ? 1 : 0;
                for (int r = 0; r < fn[0]; r++) {
                    for (int c = 0; c < fn[1]; c++) {
                        int v = fr.data().getIntLE((int) ((r * fn[1] + c) * 4));
                        int at = (int) ((fs[0] + r - start[0]) * shape[1] + (fs[1] + c - start[1]));
                        assertEquals(Integer.MIN_VALUE, got[at], "each cell comes in exactly one fragment");
                        got[at] = v;
                    }
                }
            }
        }
        assertArrayEquals(expected, got);
        assertEquals(9, frags.size(), "3 x 3 chunks overlap the region");
        assertEquals(6, stored, "the last chunk row was never written: fill fragments");
        // Backpressure and cancellation: take two fragments and cancel; the rest are released.
        List<ChunkFragment> two = b(f.readFragments("g", start, shape).take(2).collectList());
        assertEquals(2, two.size());
        two.forEach(ChunkFragment::close);
        reactor.test.StepVerifier.create(f.readFragments("g", start, shape), 1)
                .assertNext(ChunkFragment::close)
                .thenRequest(1)
                .assertNext(ChunkFragment::close)
                .thenCancel()
                .verify(TIMEOUT);
        List<ChunkFragment> strings = new ArrayList<>();
        b(f.defineArray("s", ArraySpec.of(DType.STRING, 5).withChunks(2)));
        b(f.writeArray("s", sh(1), NdArray.ofStrings(sh(3), List.of("x", "y", "z"))));
        strings.addAll(b(f.readFragments("s", sh(0), sh(5)).collectList()));
        Map<Long, String> cells = new java.util.TreeMap<>();
        for (ChunkFragment fr : strings) {
            for (int i = 0; i < fr.elements().size(); i++) {
                cells.put(fr.start()[0] + i, new String(fr.elements().get(i), java.nio.charset.StandardCharsets.UTF_8));
            }
            fr.close();
        }
        assertEquals(List.of("", "x", "y", "z", ""), new ArrayList<>(cells.values()));
    }

    @Test
    void pendingReadErrorsSurfaceInsteadOfFallingThrough_W7() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isDirectory(Path.of("/proc/self/fd")), "needs /proc");
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, options(BlockCodecs.lz4(), 64));
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 64).withChunks(16)));
        writeInts(f, "a", sh(0), sh(64), filled(64, 1));
        b(f.flush());
        writeInts(f, "a", sh(0), sh(64), filled(64, 2)); // pending; blocks spilled
        // Damage the (unlinked) spill file through /proc: every spilled block becomes garbage.
        try (var fds = java.nio.file.Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                String target;
                try {
                    target = java.nio.file.Files.readSymbolicLink(fd).toString();
                } catch (Exception e) {
                    continue;
                }
                if (target.contains("atlas-pending-")) {
                    try (var ch = java.nio.channels.FileChannel.open(fd, java.nio.file.StandardOpenOption.WRITE)) {
                        ch.write(ByteBuffer.wrap(new byte[4096]), 0);
                    }
                }
            }
        }
        RuntimeException e = assertThrows(RuntimeException.class, () -> ints(f, "a"));
        assertInstanceOf(dev.atlas.error.CorruptFileException.class, e, "a damaged pending block is an error, not old data");
        assertTrue(e.getMessage().contains("pending"), e.getMessage());
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "caches {0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void readsRacingCompactionsNeverSeeBytesOfAnotherBaseIncarnation_W3(boolean cached) {
        InMemoryStorage s = InMemoryStorage.create();
        // Uncached, every read goes to storage and meets the racing rewrites; cached, reads are
        // served from blocks that must belong to the incarnation they were planned on.
        dev.atlas.cache.ReadCaches caches = cached ? dev.atlas.cache.ReadCaches.defaults(resources.allocator())
                : dev.atlas.cache.ReadCaches.disabled(resources.allocator());
        try {
            racingReads(s, ArrayFileOptions.builder(resources).codec(BlockCodecs.none()).blockTargetSize(4096)
                    .tempDirectory(tmp).readConcurrency(4).caches(caches).build());
        } finally {
            caches.invalidateAll();
        }
    }

    private void racingReads(InMemoryStorage s, ArrayFileOptions o) {
        ArrayFile f = create(s, o);
        // "pad" is listed first, so it comes first in every compacted base; it grows each round,
        // moving "a" to new offsets: a stale plan reading the new base would read pad bytes.
        b(f.defineArray("pad", ArraySpec.of(DType.INT32, 4096).withChunks(64)));
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 2048).withChunks(256)));
        writeInts(f, "a", sh(0), sh(2048), range(2048));
        b(f.compact());
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Mono<Long> readers = reactor.core.publisher.Flux.range(0, 8)
                .flatMap(r -> Mono.defer(() -> f.readArray("a")).map(a -> {
                    try {
                        for (int i = 0; i < 2048; i++) {
                            if (a.getInt(i) != i) {
                                StringBuilder wrong = new StringBuilder();
                                for (int k = i; k < 2048; k++) {
                                    if (a.getInt(k) != k) {
                                        wrong.append(' ').append(k).append('=').append(a.getInt(k));
                                    }
                                }
                                throw new AssertionError("element " + i + " read " + a.getInt(i) + "; all wrong:" + wrong);
                            }
                        }
                        return 1L;
                    } finally {
                        a.close();
                    }
                })
                // A cached read can complete on the thread that asked: yield between reads so the
                // loop does not hold a codec thread the compactions need.
                .delayUntil(x -> Mono.delay(Duration.ofMillis(1)))
                .repeat(() -> !stop.get()).count(), 8)
                .reduce(0L, Long::sum);
        Mono<Void> writer = reactor.core.publisher.Flux.range(1, 12).concatMap(round -> Mono.defer(() -> {
            NdArray d = NdArray.ofInts(DType.INT32, sh(64L * round), filled(64 * round, -round));
            return f.writeArray("pad", sh(0), d).doFinally(x -> d.close());
        }).then(f.compact()).then(Mono.delay(Duration.ofMillis(5)))).then().doFinally(x -> stop.set(true));
        long reads = b(Mono.zip(writer.then(Mono.just(0L)), readers).map(t -> t.getT2()));
        assertTrue(reads > 12, "reads ran during the compactions: " + reads);
    }

    @Test
    void cancelledReadsOfSpilledPendingBlocksLeaveTheSpillFileUsable() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, options(BlockCodecs.zstd(), 256));
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 8192).withChunks(64)));
        writeInts(f, "a", sh(0), sh(8192), range(8192));
        java.util.Random rnd = new java.util.Random(7);
        for (int i = 0; i < 300; i++) {
            reactor.core.Disposable d = f.readArray("a").subscribe(NdArray::close);
            if (rnd.nextBoolean()) {
                java.util.concurrent.locks.LockSupport.parkNanos(rnd.nextInt(200_000));
            }
            d.dispose();
        }
        assertArrayEquals(range(8192), ints(f, "a"), "pending blocks still readable");
        b(f.flush());
        assertArrayEquals(range(8192), ints(reopen(s, small()), "a"));
    }

    @Test
    void aWriterWhoseBaseWasCompactedByAnotherCommitsAboveTheNewBase() {
        InMemoryStorage s = InMemoryStorage.create();
        ArrayFile f = create(s, small());
        b(f.defineArray("a", ArraySpec.of(DType.INT32, 1)));
        b(f.flush());
        ArrayFile g = reopen(s, small());
        b(g.defineArray("b", ArraySpec.of(DType.INT32, 1)));
        b(g.flush());
        b(g.compact()); // absorbs sidecars 1 and 2, deletes them
        b(f.defineArray("c", ArraySpec.of(DType.INT32, 1)));
        b(f.flush()); // refreshes to the compacted base first, and numbers its layer above what it absorbed
        assertEquals(3, f.lastFlushedLayer());
        assertFalse(f.hasPendingChanges());
        assertEquals(List.of("a", "b", "c"), reopen(s, small()).listArrays());
    }
}
