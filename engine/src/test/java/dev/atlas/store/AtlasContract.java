package dev.atlas.store;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.cache.ReadCaches;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.ArrayAlreadyExistsException;
import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.DatasetAlreadyExistsException;
import dev.atlas.error.DatasetNotFoundException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.InvalidNameException;
import dev.atlas.error.StoreNotFoundException;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.format.StatValue;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import dev.atlas.testing.EngineTestBase;
import io.netty.buffer.ByteBuf;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;

/**
 * The Atlas store's behaviour on one storage backend: the 84 acceptance behaviours atlas-rust 0.10
 * promises (numbered in the test names; adapted where we fix a trap, which the name says) plus our
 * own rules. A subclass supplies a fresh storage per
 * store.
 */
public abstract class AtlasContract extends EngineTestBase {
    /** A fresh, empty storage. */
    protected abstract Storage newStorage();

    private final ConcurrentLinkedQueue<Atlas> open = new ConcurrentLinkedQueue<>();

    @AfterEach
    void closeStores() {
        for (Atlas a : open) {
            a.close().block(TIMEOUT);
        }
        open.clear();
    }

    protected AtlasOptions opts() {
        return AtlasOptions.builder(resources).tempDirectory(tmp).build();
    }

    protected AtlasOptions.Builder optsBuilder() {
        return AtlasOptions.builder(resources).tempDirectory(tmp);
    }

    protected Atlas create(Storage s) {
        return create(s, opts());
    }

    protected Atlas create(Storage s, AtlasOptions o) {
        Atlas a = block(Atlas.create(s, "", o));
        open.add(a);
        return a;
    }

    protected Atlas reopen(Storage s) {
        return reopen(s, opts());
    }

    protected Atlas reopen(Storage s, AtlasOptions o) {
        Atlas a = block(Atlas.open(s, "", o));
        open.add(a);
        return a;
    }


    static float[] floats(NdArray a) {
        float[] out = new float[(int) a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.getFloat(i);
        }
        return out;
    }

    static float[] readFloats(DatasetView v, String array) {
        try (NdArray a = block(v.readArray(array))) {
            return floats(a);
        }
    }

    static void writeFloats(DatasetView v, String array, long[] start, long[] shape, float... values) {
        try (NdArray a = NdArray.ofFloats(shape, values)) {
            block(v.writeArray(array, start, a));
        }
    }

    static DatasetView defineFloats(Atlas atlas, String ds, String array, long... shape) {
        DatasetView v = atlas.datasetExists(ds) ? atlas.dataset(ds) : block(atlas.createDataset(ds));
        block(v.defineArray(array, ArraySpec.of(DType.FLOAT32, shape)));
        return v;
    }

    // ------------------------------------------------------------------ store level (1-20)

    @Test
    void b01_b02_newStoreIsEmpty() {
        Atlas a = create(newStorage());
        assertEquals(List.of(), a.listDatasets());
        assertEquals(List.of(), a.listArrays());
        assertFalse(a.datasetExists("any"));
    }

    @Test
    void b03_b04_b07_b08_datasetLifecycle() {
        Atlas a = create(newStorage());
        block(a.createDataset("ds"));
        assertTrue(a.datasetExists("ds"));
        assertTrue(a.listDatasets().contains("ds"));
        assertThrows(DatasetAlreadyExistsException.class, () -> block(a.createDataset("ds")));
        block(a.createDataset("to_delete"));
        block(a.deleteDataset("to_delete"));
        assertFalse(a.datasetExists("to_delete"));
        block(a.createDataset("c"));
        block(a.createDataset("a"));
        block(a.createDataset("b"));
        assertEquals(List.of("ds", "c", "a", "b"), a.listDatasets());
        assertEquals(List.of("a", "b", "c", "ds"), a.listDatasets().stream().sorted().toList());
    }

    @Test
    void ourRule_arrayUsageCountsTheDatasetsThatDeclareEachName() {
        Storage s = newStorage();
        Atlas a = create(s);
        for (int d = 0; d < 5; d++) {
            DatasetView v = block(a.createDataset("d" + d));
            block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, 2)));
            if (d % 2 == 0) {
                block(v.defineArray("mask", ArraySpec.of(DType.UINT8, 2)));
            }
        }
        assertEquals(List.of(new ArrayUsage("mask", DType.UINT8, 3), new ArrayUsage("t", DType.FLOAT32, 5)), a.arrayUsage());
        block(a.deleteDataset("d0"));
        block(a.dataset("d2").deleteArray("mask"));
        block(a.dataset("d4").deleteArray("mask"));
        assertEquals(List.of(new ArrayUsage("t", DType.FLOAT32, 4)), a.arrayUsage());
        block(a.flush());
        // The same from a reopened handle, and what a walk over every dataset's arrays counts.
        Atlas r = reopen(s);
        assertEquals(a.arrayUsage(), r.arrayUsage());
        java.util.Map<String, Integer> walked = new java.util.TreeMap<>();
        for (String ds : r.listDatasets()) {
            r.dataset(ds).meta().arrays().keySet().forEach(n -> walked.merge(n, 1, Integer::sum));
        }
        assertEquals(walked, r.arrayUsage().stream().collect(java.util.stream.Collectors.toMap(ArrayUsage::name,
                ArrayUsage::datasets, (x, y) -> x, java.util.TreeMap::new)));
    }

    @Test
    void b05_b06_missingDatasets() {
        Atlas a = create(newStorage());
        assertThrows(DatasetNotFoundException.class, () -> a.dataset("ghost"));
        assertThrows(DatasetNotFoundException.class, () -> block(a.deleteDataset("ghost")));
    }

    @Test
    void b09_b59_b66_invalidNamesRejected() {
        Atlas a = create(newStorage());
        for (String bad : List.of("", "a/b", "_x", "..", ".", "_hidden", "_", "/abs")) {
            assertThrows(InvalidNameException.class, () -> block(a.createDataset(bad)), bad);
        }
        DatasetView v = block(a.createDataset("ds"));
        for (String bad : List.of("", "a/b", "_x", "..", ".", "/abs", "a\\b", "atlas.json", "ATLAS.msgpack.zst")) {
            assertThrows(InvalidNameException.class, () -> block(v.defineArray(bad, ArraySpec.of(DType.FLOAT32, 2))), bad);
        }
        assertEquals(List.of(), v.listArrays());
        assertEquals(List.of(), a.listArrays());
    }

    @Test
    void b58_validNamesAccepted() {
        Storage s = newStorage();
        Atlas a = create(s);
        for (String ok : List.of("temperature", "my-array", "x1", "lat.lon", "a", "a..b", "caf\u00e9 1")) {
            DatasetView v = block(a.createDataset("d_" + ok));
            block(v.defineArray(ok, ArraySpec.of(DType.INT32, 1)));
        }
        block(a.flush());
        assertEquals(7, reopen(s).listArrays().size());
    }

    @Test
    void ourRule_namesEqualIgnoringCaseRejected() {
        Atlas a = create(newStorage());
        DatasetView v = block(a.createDataset("Cruise"));
        assertThrows(DatasetAlreadyExistsException.class, () -> block(a.createDataset("cruise")));
        block(v.defineArray("Temp", ArraySpec.of(DType.FLOAT32, 2)));
        DatasetView w = block(a.createDataset("other"));
        assertThrows(InvalidNameException.class, () -> block(w.defineArray("temp", ArraySpec.of(DType.FLOAT32, 2))));
        block(w.defineArray("Temp", ArraySpec.of(DType.FLOAT32, 3)));
    }

    @Test
    void b10_b63_listArraysAfterReopen() {
        Storage s = newStorage();
        Atlas a = create(s);
        defineFloats(a, "a", "shared", 2);
        defineFloats(a, "a", "only_a", 2);
        defineFloats(a, "b", "shared", 3);
        block(a.flush());
        assertEquals(List.of("only_a", "shared"), reopen(s).listArrays());
        Storage s2 = newStorage();
        Atlas c = create(s2);
        for (String ds : List.of("a", "b", "c")) {
            defineFloats(c, ds, "x", 4);
        }
        block(c.flush());
        assertEquals(List.of("x"), reopen(s2).listArrays());
    }

    @Test
    void b11_b12_codecsRoundTrip() {
        for (StoreCodec codec : StoreCodec.values()) {
            Storage s = newStorage();
            Atlas a = create(s, optsBuilder().codec(codec).build());
            DatasetView v = defineFloats(a, "ds", "arr", 4);
            writeFloats(v, "arr", new long[] {0}, new long[] {4}, 1, 2, 3, 4);
            DatasetView w = block(a.createDataset("ints"));
            block(w.defineArray("i", ArraySpec.of(DType.INT32, 3)));
            try (NdArray x = NdArray.ofInts(DType.INT32, new long[] {3}, 10, 20, 30)) {
                block(w.writeArray("i", new long[] {0}, x));
            }
            block(a.flush());
            Atlas r = reopen(s);
            assertEquals(codec, r.codec());
            assertArrayEquals(new float[] {1, 2, 3, 4}, readFloats(r.dataset("ds"), "arr"), codec.toString());
            try (NdArray x = block(r.dataset("ints").readArray("i"))) {
                assertEquals(List.of(10, 20, 30), List.of(x.getInt(0), x.getInt(1), x.getInt(2)));
            }
            assertEquals(codec, r.dataset("ds").arrayMeta("arr").orElseThrow().codec());
        }
    }

    @Test
    void b14_b15_b22_b82_b83_registryFileChoiceAndDetection() {
        for (RegistryFile rf : RegistryFile.PRIORITY) {
            Storage s = newStorage();
            Atlas a = create(s, optsBuilder().registryFile(rf).build());
            DatasetView v = defineFloats(a, "ds", "t", 4, 8);
            block(v.setAttribute("month", Attr.of(6L)));
            block(a.flush());
            List<String> top = block(s.list("atlas.").map(ObjectInfo::key).collectList());
            assertEquals(List.of(rf.fileName()), top, "only the configured registry file exists");
            Atlas r = reopen(s);
            assertEquals(rf, r.registryFile());
            ArraySchema schema = r.dataset("ds").arrayMeta("t").orElseThrow();
            assertEquals(DType.FLOAT32, schema.dtype());
            assertArrayEquals(new long[] {4, 8}, schema.shape());
            assertEquals(Attr.of(6L), r.dataset("ds").attribute("month").orElseThrow());
        }
        // several registry files: the priority decides, and flush rewrites only the chosen one
        Storage s = newStorage();
        Atlas a = create(s, optsBuilder().registryFile(RegistryFormat.MSGPACK, StoreCodec.ZSTD).build());
        block(a.createDataset("old"));
        block(a.flush());
        Registry other = Registry.empty(1, StoreCodec.ZSTD);
        other.datasets.put("new", new Registry.DatasetEntry());
        byte[] json = RegistryCodec.encode(other, RegistryFile.DEFAULT);
        block(s.put("atlas.json", Mono.fromSupplier(() -> io.netty.buffer.Unpooled.wrappedBuffer(json))));
        ObjectInfo zst = block(s.head("atlas.msgpack.zst"));
        Atlas r = reopen(s);
        assertEquals(RegistryFile.DEFAULT, r.registryFile());
        assertEquals(List.of("new"), r.listDatasets());
        block(r.createDataset("x"));
        block(r.flush());
        assertEquals(zst, block(s.head("atlas.msgpack.zst")), "the lower-priority registry is never rewritten");
        assertEquals(List.of("new", "x"), reopen(s).listDatasets());
    }

    @Test
    void b81_openWithoutRegistryIsStoreNotFound_createRefusesExisting() {
        Storage s = newStorage();
        assertThrows(StoreNotFoundException.class, () -> block(Atlas.open(s, "", opts())));
        assertTrue(block(s.list("").collectList()).isEmpty(), "a failed open creates nothing");
        create(s);
        assertThrows(AlreadyExistsException.class, () -> block(Atlas.create(s, "", opts())));
        Atlas o = block(Atlas.openOrCreate(s, "", opts()));
        open.add(o);
        assertEquals(List.of(), o.listDatasets());
    }

    @Test
    void b16_b17_createWritesRegistryAtOnce() {
        Storage s = newStorage();
        create(s);
        assertEquals(List.of("atlas.json"), block(s.list("").map(ObjectInfo::key).collectList()));
        Atlas r = reopen(s);
        assertEquals(0, r.datasetCount());
    }

    @Test
    void prefixesKeepStoresApart() {
        Storage s = newStorage();
        Atlas a = block(Atlas.create(s, "stores/one/", opts()));
        open.add(a);
        Atlas c = block(Atlas.create(s, "stores/two", opts()));
        open.add(c);
        writeFloats(defineFloats(a, "ds", "t", 2), "t", new long[] {0}, new long[] {2}, 1, 2);
        writeFloats(defineFloats(c, "ds", "t", 2), "t", new long[] {0}, new long[] {2}, 3, 4);
        block(a.flush());
        block(c.flush());
        Atlas ra = block(Atlas.open(s, "stores/one", opts()));
        open.add(ra);
        assertArrayEquals(new float[] {1, 2}, readFloats(ra.dataset("ds"), "t"));
        assertTrue(block(s.head("stores/two/t/data.af")).size() > 0);
    }

    @Test
    void b18_b56_lazyOpeningTouchesOnlyWhatIsRead() {
        Storage s = newStorage();
        Atlas a = create(s);
        for (String ds : List.of("ds_a", "ds_b")) {
            for (String arr : List.of("x", "y", "z")) {
                writeFloats(defineFloats(a, ds, arr, 2), arr, new long[] {0}, new long[] {2}, 1, 2);
            }
        }
        assertEquals(Set.of("x", "y", "z"), a.openedArrayFiles(), "two views defining the same name share one file");
        block(a.flush());
        Atlas r = reopen(s);
        assertEquals(Set.of(), r.openedArrayFiles());
        readFloats(r.dataset("ds_a"), "x");
        readFloats(r.dataset("ds_b"), "x");
        assertEquals(Set.of("x"), r.openedArrayFiles());
    }

    @Test
    void b19_b20_b61_dataSurvivesReopenWithRegions() {
        Storage s = newStorage();
        Atlas a = create(s);
        DatasetView v = block(a.createDataset("ds1"));
        block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, 4, 8).withChunks(2, 4).withDimensions("lat", "lon")));
        float[] vals = new float[32];
        for (int i = 0; i < 32; i++) {
            vals[i] = i;
        }
        writeFloats(v, "t", new long[] {0, 0}, new long[] {4, 8}, vals);
        block(v.setAttribute("month", Attr.of(1L)));
        block(a.flush());
        Atlas r = reopen(s);
        assertTrue(r.datasetExists("ds1"));
        DatasetView rv = r.dataset("ds1");
        try (NdArray full = block(rv.readArray("t"))) {
            assertArrayEquals(new long[] {4, 8}, full.shape());
            assertArrayEquals(vals, floats(full));
        }
        try (NdArray w = block(rv.readArray("t", new long[] {1, 2}, new long[] {2, 4}))) {
            assertArrayEquals(new long[] {2, 4}, w.shape());
            assertArrayEquals(new float[] {10, 11, 12, 13, 18, 19, 20, 21}, floats(w));
        }
        assertEquals(Attr.of(1L), rv.attribute("month").orElseThrow());
    }

    // ------------------------------------------------------------------ dataset view (32-56)

    @Test
    void b32_b33_b34_b35_b36_b47_attributesAndBasics() {
        Atlas a = create(newStorage());
        DatasetView v = block(a.createDataset("ds"));
        assertEquals("ds", v.name());
        assertTrue(v.attribute("missing").isEmpty());
        assertEquals(List.of(), v.listArrays());
        block(v.setAttribute("k", Attr.of(42L)));
        assertEquals(Attr.of(42L), v.attribute("k").orElseThrow());
        block(v.setAttribute("k", Attr.of(43L)));
        assertEquals(Attr.of(43L), v.attribute("k").orElseThrow());
        block(v.setAttribute("count", Attr.of(5L)));
        block(v.setAttribute("label", Attr.of("x")));
        block(v.setAttribute("k", Attr.of(44L)));
        assertEquals(List.of("k", "count", "label"), List.copyOf(v.meta().attributes().keySet()), "a re-set key keeps its place");
        assertEquals(Attr.of("x"), v.meta().attributes().get("label"));
    }

    @Test
    void b37_b38_b50_b74_undeclaredArraysAreAbsent() {
        Atlas a = create(newStorage());
        DatasetView v = block(a.createDataset("ds"));
        assertNull(block(v.readArray("nope")));
        assertTrue(v.arrayMeta("nope").isEmpty());
        assertNull(block(v.arrayStats("ghost")));
        assertNull(block(v.arrayFillValue("ghost")));
        assertEquals(Set.of(), a.openedArrayFiles(), "read paths open (and create) nothing");
    }

    @Test
    void b39_b40_b41_b43_b44_b48_defineAndDeleteArrays() {
        Atlas a = create(newStorage());
        DatasetView v = block(a.createDataset("ds"));
        block(v.defineArray("arr", ArraySpec.of(DType.FLOAT32, 4).withDimensions("x")));
        assertEquals(List.of("arr"), v.listArrays());
        assertThrows(ArrayAlreadyExistsException.class, () -> block(v.defineArray("arr", ArraySpec.of(DType.FLOAT32, 4))));
        assertThrows(InvalidNameException.class, () -> block(v.defineArray("a/b", ArraySpec.of(DType.FLOAT32, 4))));
        block(v.deleteArray("arr"));
        assertEquals(List.of(), v.listArrays());
        assertTrue(v.meta().arrays().isEmpty());
        assertThrows(ArrayNotFoundException.class, () -> block(v.deleteArray("ghost")));
        block(v.defineArray("arr", ArraySpec.of(DType.FLOAT32, 2)));
        assertEquals(List.of("arr"), v.listArrays(), "a deleted array can be defined again");
    }

    @Test
    void b42_readsSeeUnflushedWrites() {
        Atlas a = create(newStorage());
        DatasetView v = defineFloats(a, "ds", "arr", 4);
        writeFloats(v, "arr", new long[] {0}, new long[] {4}, 7, 7, 7, 7);
        assertArrayEquals(new float[] {7, 7, 7, 7}, readFloats(v, "arr"));
    }

    @Test
    void b45_b46_b49_schemasRecorded() {
        Atlas a = create(newStorage());
        DatasetView v = block(a.createDataset("ds"));
        block(v.defineArray("f", ArraySpec.of(DType.FLOAT32, 4, 8).withChunks(2, 2).withDimensions("x", "y")));
        ArraySchema s = v.arrayMeta("f").orElseThrow();
        assertEquals(DType.FLOAT32, s.dtype());
        assertArrayEquals(new long[] {4, 8}, s.shape());
        assertArrayEquals(new long[] {2, 2}, s.chunkShape());
        assertEquals(List.of("x", "y"), s.dimensionNames());
        assertTrue(v.meta().attributes().isEmpty());
        block(v.defineArray("i", ArraySpec.of(DType.INT32, 10)));
        assertArrayEquals(new long[] {10}, v.arrayMeta("i").orElseThrow().chunkShape());
        assertEquals(DType.INT32, v.arrayMeta("i").orElseThrow().dtype());
        block(v.defineArray("d", ArraySpec.of(DType.FLOAT64, 5)));
        assertEquals(DType.FLOAT64, v.arrayMeta("d").orElseThrow().dtype());
        assertArrayEquals(new long[] {5}, v.arrayMeta("d").orElseThrow().shape());
    }

    @Test
    void b51_b52_b72_statsAfterFlush() {
        Atlas a = create(newStorage());
        DatasetView v = defineFloats(a, "ds", "arr", 4);
        writeFloats(v, "arr", new long[] {0}, new long[] {4}, 1, 3, 2, 4);
        assertNull(block(v.arrayStats("arr")), "no statistics before a flush");
        block(a.flush());
        ArrayStats st = block(v.arrayStats("arr"));
        assertEquals(4, st.rowCount());
        assertEquals(0, st.nullCount());
        assertEquals(new StatValue.Float(1), st.min());
        assertEquals(new StatValue.Float(4), st.max());
    }

    @Test
    void b53_b54_b55_statsWithFills() {
        Storage s = newStorage();
        Atlas a = create(s);
        DatasetView v = block(a.createDataset("ds"));
        block(v.defineArray("f", ArraySpec.of(DType.INT32, 6).withFill(new FillValue.Int(-1))));
        block(v.defineArray("n", ArraySpec.of(DType.INT32, 4)));
        block(v.defineArray("d", ArraySpec.of(DType.FLOAT64, 4).withFill(new FillValue.Float(Double.NaN))));
        try (NdArray x = NdArray.ofInts(DType.INT32, new long[] {6}, 5, -1, 7, -1, 2, 9);
                NdArray y = NdArray.ofInts(DType.INT32, new long[] {4}, 5, -1, 7, 9);
                NdArray z = NdArray.ofDoubles(new long[] {4}, 1, Double.NaN, 3, Double.NaN)) {
            block(v.writeArray("f", new long[] {0}, x));
            block(v.writeArray("n", new long[] {0}, y));
            block(v.writeArray("d", new long[] {0}, z));
        }
        block(a.flush());
        DatasetView r = reopen(s).dataset("ds");
        ArrayStats f = block(r.arrayStats("f"));
        assertEquals(List.of(6L, 2L), List.of(f.rowCount(), f.nullCount()));
        assertEquals(List.of(new StatValue.Int(2), new StatValue.Int(9)), List.of(f.min(), f.max()));
        ArrayStats n = block(r.arrayStats("n"));
        assertEquals(0, n.nullCount());
        assertEquals(List.of(new StatValue.Int(-1), new StatValue.Int(9)), List.of(n.min(), n.max()));
        ArrayStats d = block(r.arrayStats("d"));
        assertEquals(List.of(4L, 2L), List.of(d.rowCount(), d.nullCount()));
        assertEquals(List.of(new StatValue.Float(1), new StatValue.Float(3)), List.of(d.min(), d.max()));
        assertEquals(new FillValue.Int(-1), block(r.arrayFillValue("f")));
        assertNull(block(r.arrayFillValue("n")));
    }

    // ------------------------------------------------------------------ crate level and integration (57-74)

    @Test
    void b57_b67_schemasSurviveReopen() {
        Storage s = newStorage();
        Atlas a = create(s);
        DatasetView v = block(a.createDataset("ds"));
        block(v.defineArray("temp", ArraySpec.of(DType.FLOAT32, 4, 8).withChunks(2, 4)));
        block(v.defineArray("time", ArraySpec.of(DType.INT64, 100)));
        block(v.setAttribute("n", Attr.of(3L)));
        block(v.setAttribute("ok", Attr.of(true)));
        block(a.flush());
        DatasetView r = reopen(s).dataset("ds");
        assertEquals(List.of("temp", "time"), r.listArrays());
        assertArrayEquals(new long[] {2, 4}, r.arrayMeta("temp").orElseThrow().chunkShape());
        assertArrayEquals(new long[] {100}, r.arrayMeta("time").orElseThrow().chunkShape());
        assertEquals(Attr.of(3L), r.attribute("n").orElseThrow());
        assertEquals(Attr.of(true), r.attribute("ok").orElseThrow());
    }

    @Test
    void b60_handlesAreSharedAcrossThreads() {
        Storage s = newStorage();
        Atlas a = create(s);
        int n = 64;
        Flux.range(0, n).flatMap(i -> Mono.defer(() -> a.createDataset("ds" + i))
                .flatMap(v -> v.defineArray("t", ArraySpec.of(DType.FLOAT32, 4)).thenReturn(v))
                .flatMap(v -> Mono.using(() -> NdArray.ofFloats(new long[] {4}, i, i + 1, i + 2, i + 3),
                        x -> v.writeArray("t", new long[] {0}, x), NdArray::close))
                .subscribeOn(Schedulers.boundedElastic()), 16).then().block(TIMEOUT);
        block(a.flush());
        Atlas r = reopen(s);
        assertEquals(n, r.datasetCount());
        for (int i = 0; i < n; i++) {
            assertArrayEquals(new float[] {i, i + 1, i + 2, i + 3}, readFloats(r.dataset("ds" + i), "t"));
        }
    }

    @Test
    void b62_b69_datasetsShareAnArrayName() {
        Storage s = newStorage();
        Atlas a = create(s);
        writeFloats(defineFloats(a, "a", "t", 2, 2), "t", new long[] {0, 0}, new long[] {2, 2}, 1, 2, 3, 4);
        writeFloats(defineFloats(a, "b", "t", 2, 2), "t", new long[] {0, 0}, new long[] {2, 2}, 5, 6, 7, 8);
        block(a.flush());
        Atlas r = reopen(s);
        assertArrayEquals(new float[] {1, 2, 3, 4}, readFloats(r.dataset("a"), "t"));
        assertArrayEquals(new float[] {5, 6, 7, 8}, readFloats(r.dataset("b"), "t"));
    }

    @Test
    void b64_deleteThenFlush() {
        Storage s = newStorage();
        Atlas a = create(s);
        writeFloats(defineFloats(a, "gone", "t", 2), "t", new long[] {0}, new long[] {2}, 1, 2);
        defineFloats(a, "kept", "t", 2);
        block(a.flush());
        block(a.deleteDataset("gone"));
        block(a.flush());
        assertFalse(a.datasetExists("gone"));
        Atlas r = reopen(s);
        assertFalse(r.datasetExists("gone"));
        assertEquals(List.of("kept"), r.listDatasets());
    }

    @Test
    void b65_b28_attributeKindsSurviveReopen() {
        Storage s = newStorage();
        Atlas a = create(s);
        DatasetView v = block(a.createDataset("ds"));
        Map<String, Attr> attrs = new java.util.LinkedHashMap<>();
        attrs.put("b", Attr.of(true));
        attrs.put("i", Attr.of(-1_000_000L));
        attrs.put("big", Attr.of(Long.MAX_VALUE));
        attrs.put("f", Attr.of(2.5));
        attrs.put("whole", Attr.of(3.0));
        attrs.put("s", Attr.of("hello"));
        attrs.put("looks_like_time", Attr.of("2023-11-14T22:13:20Z"));
        attrs.put("t", Attr.timestampNanos(1_700_000_000_000_000_000L));
        attrs.put("pre1970", Attr.timestampNanos(-500_000_000L));
        attrs.forEach((k, val) -> block(v.setAttribute(k, val)));
        block(a.flush());
        assertEquals(attrs, reopen(s).dataset("ds").meta().attributes(),
                "our registries keep a date-looking string a string");
        assertEquals(List.copyOf(attrs.keySet()), List.copyOf(reopen(s).dataset("ds").meta().attributes().keySet()));
    }

    @Test
    void b68_nothingWithoutFlush() {
        Storage s = newStorage();
        Atlas a = create(s);
        writeFloats(defineFloats(a, "ds", "t", 2), "t", new long[] {0}, new long[] {2}, 1, 2);
        assertEquals(List.of(), reopen(s).listDatasets());
    }

    @Test
    void b70_zeroDimensionalArrays() {
        Storage s = newStorage();
        Atlas a = create(s);
        DatasetView v = block(a.createDataset("ds"));
        block(v.defineArray("scalar", ArraySpec.of(DType.FLOAT32)));
        writeFloats(v, "scalar", new long[0], new long[0], 42);
        block(a.flush());
        DatasetView r = reopen(s).dataset("ds");
        ArraySchema sc = r.arrayMeta("scalar").orElseThrow();
        assertEquals(0, sc.rank());
        assertEquals(List.of(), sc.dimensionNames());
        try (NdArray x = block(r.readArray("scalar"))) {
            assertEquals(0, x.shape().length);
            assertEquals(42f, x.getFloat(0));
        }
    }

    @Test
    void b71_b73_timestampsAndStatsSurviveReopen() {
        Storage s = newStorage();
        Atlas a = create(s);
        DatasetView v = block(a.createDataset("ds"));
        block(v.defineArray("time", ArraySpec.of(DType.TIMESTAMP_NS, 3)));
        long t0 = 1_700_000_000_000_000_000L;
        try (NdArray x = NdArray.ofLongs(DType.TIMESTAMP_NS, new long[] {3}, t0, t0 + 1, t0 + 2)) {
            block(v.writeArray("time", new long[] {0}, x));
        }
        block(v.setAttribute("when", Attr.timestampNanos(t0)));
        writeFloats(defineFloats(a, "ds", "temp", 5), "temp", new long[] {0}, new long[] {5}, 3, 1, 4, 1.5f, 9);
        block(a.flush());
        DatasetView r = reopen(s).dataset("ds");
        assertEquals(DType.TIMESTAMP_NS, r.arrayMeta("time").orElseThrow().dtype());
        try (NdArray x = block(r.readArray("time"))) {
            assertEquals(List.of(t0, t0 + 1, t0 + 2), List.of(x.getLong(0), x.getLong(1), x.getLong(2)));
        }
        assertEquals(Attr.timestampNanos(t0), r.attribute("when").orElseThrow());
        ArrayStats st = block(r.arrayStats("temp"));
        assertEquals(5, st.rowCount());
        assertEquals(List.of(new StatValue.Float(1), new StatValue.Float(9)), List.of(st.min(), st.max()));
        ArrayStats ts = block(r.arrayStats("time"));
        assertEquals(3, ts.rowCount());
    }

    // ------------------------------------------------------------------ bulk reads (75-80)

    @Test
    void b75_b76_readAcrossSlotsAndAbsence() {
        Atlas a = create(newStorage());
        for (int i = 0; i < 5; i++) {
            writeFloats(defineFloats(a, "d" + i, "t", 2), "t", new long[] {0}, new long[] {2}, i, 10 * i);
        }
        block(a.createDataset("bare"));
        List<String> names = List.of("d3", "ghost", "d0", "bare", "d4");
        List<DatasetRead> got = block(a.readArrayAcross("t", names, new long[] {1}, new long[] {1}).collectList());
        try {
            assertEquals(5, got.size());
            for (DatasetRead r : got) {
                assertEquals(names.get(r.index()), r.dataset());
                if (r.dataset().startsWith("d")) {
                    int i = r.dataset().charAt(1) - '0';
                    assertEquals(10f * i, r.array().getFloat(0));
                } else {
                    assertTrue(r.absent(), r.toString());
                }
            }
        } finally {
            got.forEach(DatasetRead::close);
        }
        assertThrows(ArrayNotFoundException.class, () -> block(a.readArrayAcross("t", List.of(), null, null).collectList()));
        assertThrows(ArrayNotFoundException.class,
                () -> block(a.readArrayAcross("t", List.of("ghost", "bare"), null, null).collectList()));
    }

    @Test
    void b77_b78_stackedReads() {
        Atlas a = create(newStorage());
        for (int i = 0; i < 6; i++) {
            DatasetView v = block(a.createDataset("d" + i));
            block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, 4, 6).withChunks(2, 3)
                    .withFill(new FillValue.Float(-1))));
            float[] vals = new float[12];
            for (int k = 0; k < 12; k++) {
                vals[k] = 100 * i + k;
            }
            writeFloats(v, "t", new long[] {0, 0}, new long[] {2, 6}, vals); // rows 2-3 stay fill
        }
        block(a.flush());
        List<String> names = List.of("d5", "d0", "d3");
        long[] start = {1, 2};
        long[] shape = {2, 3};
        try (NdArray st = block(a.readArrayAcrossStacked("t", names, start, shape))) {
            assertArrayEquals(new long[] {3, 2, 3}, st.shape());
            for (int r = 0; r < names.size(); r++) {
                try (NdArray one = block(a.dataset(names.get(r)).readArray("t", start, shape))) {
                    for (int k = 0; k < 6; k++) {
                        assertEquals(one.getFloat(k), st.getFloat(r * 6L + k), "row " + r + " element " + k);
                    }
                }
            }
            assertEquals(-1f, st.getFloat(3), "fill where nothing was written");
        }
        assertThrows(ArrayNotFoundException.class, () -> block(a.readArrayAcrossStacked("t", List.of(), start, shape)));
        ArrayNotFoundException e = assertThrows(ArrayNotFoundException.class,
                () -> block(a.readArrayAcrossStacked("t", List.of("d0", "ghost"), start, shape)));
        assertTrue(e.getMessage().contains("ghost"), e.getMessage());
    }

    /**
     * A subscriber that releases what operators discard, as reactor-netty's and WebFlux's response
     * writers do, must not see the engine release a block twice: a bulk read that let a block it had
     * already released reach an operator that discards its elements dropped the block cache's own
     * reference, and the next read through the cache failed or was served another buffer's bytes.
     */
    @Test
    void stackedReadsUnderAReleasingDiscardHookKeepTheCachedBlocks() {
        Atlas a = create(newStorage());
        int n = 8;
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            DatasetView v = block(a.createDataset("d" + i));
            block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, 64, 64).withChunks(16, 64)));
            float[] vals = new float[64 * 64];
            for (int k = 0; k < vals.length; k++) {
                vals[k] = 10_000 * i + k;
            }
            writeFloats(v, "t", new long[] {0, 0}, new long[] {64, 64}, vals);
            names.add("d" + i);
        }
        block(a.flush());
        long[] start = {3, 5};
        long[] shape = {40, 50};
        AtomicInteger twice = new AtomicInteger();
        for (int round = 0; round < 4; round++) {
            try (NdArray st = block(a.readArrayAcrossStacked("t", names, start, shape)
                    .doOnDiscard(io.netty.util.ReferenceCounted.class, r -> {
                        try {
                            r.release();
                        } catch (io.netty.util.IllegalReferenceCountException e) {
                            twice.incrementAndGet(); // released already: a discarded element was not ours
                        }
                    }))) {
                for (int i = 0; i < n; i++) {
                    for (long y = 0; y < shape[0]; y++) {
                        for (long x = 0; x < shape[1]; x += 7) {
                            float want = 10_000 * i + (start[0] + y) * 64 + start[1] + x;
                            assertEquals(want, st.getFloat((i * shape[0] + y) * shape[1] + x),
                                    "round " + round + " dataset " + i + " at " + y + "," + x);
                        }
                    }
                }
            }
        }
        assertEquals(0, twice.get(), "elements the engine had released already, discarded downstream");
    }

    @Test
    void ourRule_stackedReadOfDifferentShapesIsATypedError() {
        Atlas a = create(newStorage());
        defineFloats(a, "a", "t", 4);
        defineFloats(a, "b", "t", 6);
        assertThrows(InvalidArgumentException.class, () -> block(a.readArrayAcrossStacked("t", List.of("a", "b"), null, null)));
        assertThrows(InvalidArgumentException.class,
                () -> block(a.readArrayAcrossStacked("t", List.of("a", "b"), new long[] {2}, new long[] {3})));
        try (NdArray ok = block(a.readArrayAcrossStacked("t", List.of("a", "b"), new long[] {1}, new long[] {3}))) {
            assertArrayEquals(new long[] {2, 3}, ok.shape());
        }
    }

    @Test
    void stackedStringReads() {
        Atlas a = create(newStorage());
        for (int i = 0; i < 3; i++) {
            DatasetView v = block(a.createDataset("d" + i));
            block(v.defineArray("s", ArraySpec.of(DType.STRING, 2)));
            try (NdArray x = NdArray.ofStrings(new long[] {2}, List.of("a" + i, "b" + i))) {
                block(v.writeArray("s", new long[] {0}, x));
            }
        }
        try (NdArray st = block(a.readArrayAcrossStacked("s", List.of("d2", "d0"), null, null))) {
            assertArrayEquals(new long[] {2, 2}, st.shape());
            assertEquals(List.of("a2", "b2", "a0", "b0"), List.of(st.getString(0), st.getString(1), st.getString(2),
                    st.getString(3)));
        }
    }

    @Test
    void b79_bulkReadsBoundTheirConcurrency() {
        Storage base = newStorage();
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger max = new AtomicInteger();
        Storage counting = new dev.atlas.testing.ForwardingStorage(base) {
            @Override
            public Mono<ByteBuf> read(String key, long offset, long length, String version) {
                if (!key.endsWith("t/data.1.af") || length > 1000) {
                    return super.read(key, offset, length, version);
                }
                return Mono.defer(() -> {
                    max.accumulateAndGet(inFlight.incrementAndGet(), Math::max);
                    AtomicInteger once = new AtomicInteger();
                    Runnable done = () -> {
                        if (once.getAndIncrement() == 0) {
                            inFlight.decrementAndGet();
                        }
                    };
                    // counted out before the result moves on (the next read may start in that call)
                    return super.read(key, offset, length, version).delayElement(java.time.Duration.ofMillis(5))
                            .doOnTerminate(done).doOnCancel(done);
                });
            }
        };
        int conc = 3;
        // one chunk per block (tiny block target) and no caches: each dataset read is one storage read
        AtlasOptions o = optsBuilder().bulkConcurrency(conc).blockTargetSize(1).caches(ReadCaches.disabled(resources.allocator())).build();
        Atlas a = create(counting, o);
        List<String> names = new ArrayList<>();
        java.util.Random noise = new java.util.Random(79);
        for (int i = 0; i < 24; i++) {
            writeFloats(defineFloats(a, "d" + i, "t", 2), "t", new long[] {0}, new long[] {2}, i, i);
            names.add("d" + i);
            if (i % 6 == 5) {
                // A stacked read plans all datasets at once and coalesces adjacent blocks into one
                // storage read: incompressible fillers (not read) between groups of datasets keep
                // it several storage reads, so that there is concurrency to bound.
                float[] big = new float[150_000];
                for (int k = 0; k < big.length; k++) {
                    big[k] = noise.nextFloat();
                }
                writeFloats(defineFloats(a, "filler" + i, "t", big.length), "t", new long[] {0}, new long[] {big.length}, big);
            }
        }
        block(a.flush());
        Atlas r = reopen(counting, o);
        readFloats(r.dataset("d0"), "t"); // opens the file set (its footer read is not a dataset read)
        max.set(0);
        List<DatasetRead> got = block(r.readArrayAcross("t", names, null, null).collectList());
        got.forEach(DatasetRead::close);
        assertEquals(24, got.size());
        assertTrue(max.get() <= conc && max.get() >= 2, "max per-dataset reads in flight " + max.get());
        max.set(0);
        block(r.readArrayAcrossStacked("t", names, null, null)).close();
        assertTrue(max.get() <= conc && max.get() >= 2, "stacked: max in flight " + max.get());
    }

    /**
     * A cross-dataset read (planned once, blocks shared and ranges coalesced across datasets)
     * returns, value for value, what each dataset's own read returns: many datasets with different
     * chunk layouts and fills, spread over several layers, some arrays deleted and defined again,
     * some partly rewritten, some never written, some with unflushed changes; on a fresh handle
     * (cold caches), on the writing handle (warm caches, pending layer) and through a partly warm
     * block cache.
     */
    @Test
    void ourRule_crossDatasetReadsEqualPerDatasetReads() {
        Storage s = newStorage();
        // Small blocks: a block holds chunks of several datasets, a read needs many blocks.
        AtlasOptions o = optsBuilder().blockTargetSize(6000).ioConcurrency(3).cpuConcurrency(2).build();
        Atlas a = create(s, o);
        long[] shape = {5, 12, 14};
        long[][] chunkings = {{1, 12, 14}, {2, 5, 7}, {5, 12, 14}, {3, 4, 14}, {1, 1, 14}, {5, 3, 5}};
        int n = 36;
        java.util.Random rnd = new java.util.Random(25);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            String ds = "d" + i;
            names.add(ds);
            DatasetView v = block(a.createDataset(ds));
            ArraySpec spec = ArraySpec.of(DType.FLOAT32, shape).withChunks(chunkings[i % chunkings.length]);
            if (i % 4 == 1) {
                spec = spec.withFill(new FillValue.Float(-i));
            }
            block(v.defineArray("t", spec));
            if (i % 9 == 8) {
                continue; // never written: all fill
            }
            long[] st = i % 5 == 2 ? new long[] {1, 3, 2} : new long[3];
            long[] sh = i % 5 == 2 ? new long[] {3, 7, 9} : shape;
            float[] vals = new float[(int) (sh[0] * sh[1] * sh[2])];
            for (int k = 0; k < vals.length; k++) {
                vals[k] = i * 1000 + k + rnd.nextFloat();
            }
            writeFloats(v, "t", st, sh, vals);
            if (i % 12 == 11) {
                block(a.flush()); // layers hold different datasets
            }
        }
        block(a.flush());
        float[] neg = new float[24];
        for (int k = 0; k < neg.length; k++) {
            neg[k] = -k - 0.5f;
        }
        for (int i = 0; i < n; i += 7) { // partly rewritten, in a newer layer
            writeFloats(a.dataset("d" + i), "t", new long[] {2, 4, 5}, new long[] {2, 3, 4}, neg);
        }
        for (int i = 3; i < n; i += 10) { // deleted and defined again (another chunking), partly written
            DatasetView v = a.dataset("d" + i);
            block(v.deleteArray("t"));
            block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, shape).withChunks(2, 6, 7).withFill(new FillValue.Float(7))));
            writeFloats(v, "t", new long[] {0, 0, 0}, new long[] {2, 6, 7}, new float[84]);
        }
        block(a.flush());
        // Unflushed changes on the writing handle: a rewrite and a fresh definition.
        writeFloats(a.dataset("d5"), "t", new long[] {0, 0, 0}, new long[] {1, 2, 2}, 5, 6, 7, 8);
        DatasetView d13 = a.dataset("d13");
        block(d13.deleteArray("t"));
        block(d13.defineArray("t", ArraySpec.of(DType.FLOAT32, shape).withChunks(5, 2, 2)));
        writeFloats(d13, "t", new long[] {4, 10, 12}, new long[] {1, 2, 2}, 1, 2, 3, 4);

        Atlas fresh = reopen(s, o);
        // No block cache: the read is a scan, its blocks decoded past the cache.
        ReadCaches scanCaches = ReadCaches.of(dev.atlas.cache.SlabCache.create(dev.atlas.cache.SlabCache.Options.defaults(),
                resources.allocator()), dev.atlas.cache.BlockCache.create(0));
        Atlas scan = reopen(s, optsBuilder().blockTargetSize(6000).caches(scanCaches).build());
        try {
            crossDatasetReadsEqualPerDatasetReads(a, scan, List.of(fresh, a, fresh, scan), names, rnd);
        } finally {
            scanCaches.invalidateAll(); // this test's own caches: their slabs are freed here, not with the resources
        }
        // The pending rewrite is what the writing handle sees, and the fresh handle does not.
        try (NdArray st = block(a.readArrayAcrossStacked("t", List.of("d5", "d13"), new long[] {0, 0, 0}, new long[] {1, 1, 2}))) {
            assertEquals(List.of(5f, 6f, 0f, 0f), List.of(st.getFloat(0), st.getFloat(1), st.getFloat(2), st.getFloat(3)));
        }
        // A region outside one dataset's array fails typed.
        assertThrows(InvalidArgumentException.class,
                () -> block(fresh.readArrayAcrossStacked("t", names, new long[] {0, 0, 10}, new long[] {1, 1, 5})));
    }

    private static void crossDatasetReadsEqualPerDatasetReads(Atlas a, Atlas scan, List<Atlas> handles, List<String> names,
            java.util.Random rnd) {
        long[] shape = {5, 12, 14};
        long[][][] regions = {{{0, 0, 0}, shape}, {{0, 0, 0}, {1, 12, 14}}, {{2, 3, 4}, {2, 5, 6}}, {{4, 11, 13}, {1, 1, 1}},
            {{1, 0, 6}, {3, 12, 2}}};
        List<String> order = new ArrayList<>(names);
        java.util.Collections.shuffle(order, rnd);
        for (Atlas h : handles) {
            for (long[][] r : regions) {
                String what = (h == a ? "writing handle" : h == scan ? "scanning handle" : "fresh handle") + ", region " + java.util.Arrays.toString(r[0]) + " + "
                        + java.util.Arrays.toString(r[1]);
                try (NdArray st = block(h.readArrayAcrossStacked("t", order, r[0], r[1]))) {
                    int per = (int) (r[1][0] * r[1][1] * r[1][2]);
                    for (int row = 0; row < order.size(); row++) {
                        try (NdArray one = block(h.dataset(order.get(row)).readArray("t", r[0], r[1]))) {
                            for (int k = 0; k < per; k++) {
                                assertEquals(Float.floatToRawIntBits(one.getFloat(k)),
                                        Float.floatToRawIntBits(st.getFloat((long) row * per + k)),
                                        what + ": dataset " + order.get(row) + " element " + k);
                            }
                        }
                    }
                }
                List<DatasetRead> got = block(h.readArrayAcross("t", order, r[0], r[1]).collectList());
                try {
                    assertEquals(order.size(), got.size(), what);
                    for (DatasetRead d : got) {
                        assertEquals(order.get(d.index()), d.dataset());
                        try (NdArray one = block(h.dataset(d.dataset()).readArray("t", r[0], r[1]))) {
                            assertEquals(one.size(), d.array().size());
                            for (int k = 0; k < one.size(); k++) {
                                assertEquals(Float.floatToRawIntBits(one.getFloat(k)), Float.floatToRawIntBits(d.array().getFloat(k)),
                                        what + ", streamed: dataset " + d.dataset() + " element " + k);
                            }
                        }
                    }
                } finally {
                    got.forEach(DatasetRead::close);
                }
            }
        }
    }

    @Test
    void b80_listOrders() {
        Atlas a = create(newStorage());
        DatasetView z = block(a.createDataset("z"));
        block(z.defineArray("zeta", ArraySpec.of(DType.INT32, 1)));
        block(z.defineArray("alpha", ArraySpec.of(DType.INT32, 1)));
        block(z.defineArray("Mid", ArraySpec.of(DType.INT32, 1)));
        block(a.createDataset("y"));
        block(a.createDataset("x"));
        block(a.deleteDataset("y"));
        assertEquals(List.of("zeta", "alpha", "Mid"), z.listArrays());
        assertEquals(List.of("Mid", "alpha", "zeta"), a.listArrays(), "byte order: upper case first");
        assertEquals(List.of("z", "x"), a.listDatasets());
    }

    @Test
    void b84_deleteFlushCompactShrinksAndHides() {
        Storage s = newStorage();
        Atlas a = create(s);
        float[] big = new float[4096];
        java.util.Arrays.fill(big, 1.5f);
        for (String ds : List.of("keep", "drop")) {
            DatasetView v = block(a.createDataset(ds));
            block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, 4096)));
            for (int i = 0; i < big.length; i++) {
                big[i] = ds.hashCode() * 31 + i;
            }
            writeFloats(v, "t", new long[] {0}, new long[] {4096}, big);
        }
        block(a.flush());
        long before = totalBytes(s, "t/");
        block(a.deleteDataset("drop"));
        block(a.flush());
        block(a.compact());
        long after = totalBytes(s, "t/");
        assertTrue(after < before * 3 / 4, "compaction shrinks the array files: " + before + " -> " + after);
        Atlas r = reopen(s);
        assertEquals(List.of("keep"), r.listDatasets());
        assertEquals(4096, readFloats(r.dataset("keep"), "t").length);
        assertEquals(List.of("t/data.af", "t/data.stats"), block(s.list("t/").map(ObjectInfo::key)
                .filter(k -> !k.startsWith("t/_retained/")).collectList()));
        assertTrue(block(s.list("t/_retained/").count()) >= 2, "the replaced base and the absorbed sidecar are retained");
    }

    @Test
    void compactTellsItsProgressOncePerFileSet() {
        Atlas a = create(newStorage());
        for (String array : List.of("u", "v", "w")) {
            writeFloats(defineFloats(a, "d", array, 4), array, new long[] {0}, new long[] {4}, 1, 2, 3, 4);
        }
        block(a.flush());
        List<CompactionProgress> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        CompactionReport report = block(a.compact(seen::add));
        assertEquals(3, seen.size(), seen.toString());
        assertEquals(List.of(1, 2, 3), seen.stream().map(CompactionProgress::fileSetsDone).sorted().toList());
        assertTrue(seen.stream().allMatch(p -> p.fileSetsTotal() == 3 && p.compacted()), seen.toString());
        assertEquals(report.compacted(), seen.stream().map(CompactionProgress::array).sorted().toList());
        assertThrows(dev.atlas.error.InvalidArgumentException.class, () -> a.compact(null));
    }

    /** Bytes of the file set objects under {@code prefix}: the copies compactions retain for readers ({@code _retained/}, garbage after the garbage age) not counted. */
    static long totalBytes(Storage s, String prefix) {
        return block(s.list(prefix).filter(o -> !o.key().contains("/_retained/")).map(ObjectInfo::size).reduce(0L, Long::sum));
    }

    // ------------------------------------------------------------------ traps of the reference we fix

    @Test
    void ourRule_sameArrayNameKeepsItsDtypeAcrossDatasets() {
        Atlas a = create(newStorage());
        defineFloats(a, "a", "t", 4);
        DatasetView b2 = block(a.createDataset("b"));
        assertThrows(DTypeMismatchException.class, () -> block(b2.defineArray("t", ArraySpec.of(DType.INT32, 4))));
        block(b2.defineArray("t", ArraySpec.of(DType.FLOAT32, 9, 2).withChunks(3, 1)));
        assertEquals(Set.of("t"), Set.copyOf(b2.listArrays()));
        block(a.dataset("a").deleteArray("t"));
        block(b2.deleteArray("t"));
        DatasetView c = block(a.createDataset("c"));
        block(c.defineArray("t", ArraySpec.of(DType.INT32, 4)));
        assertEquals(DType.INT32, a.arrayDtype("t").orElseThrow(), "once nobody declares it, a name is free again");
    }

    @Test
    void ourRule_writesOutsideTheShapeAndWrongDtypesFail() {
        Atlas a = create(newStorage());
        DatasetView v = defineFloats(a, "ds", "t", 4);
        try (NdArray x = NdArray.ofFloats(new long[] {3}, 1, 2, 3)) {
            assertThrows(InvalidArgumentException.class, () -> block(v.writeArray("t", new long[] {2}, x)));
            assertThrows(InvalidArgumentException.class, () -> block(v.writeArray("t", new long[] {0, 0}, x)));
        }
        try (NdArray x = NdArray.ofInts(DType.INT32, new long[] {2}, 1, 2)) {
            assertThrows(InvalidArgumentException.class, () -> block(v.writeArray("t", new long[] {0}, x)));
        }
        assertThrows(ArrayNotFoundException.class, () -> {
            try (NdArray x = NdArray.ofFloats(new long[] {1}, 1)) {
                block(v.writeArray("nope", new long[] {0}, x));
            }
        });
        assertThrows(InvalidArgumentException.class, () -> block(v.readArray("t", new long[] {3}, new long[] {2})));
    }

    @Test
    void ourRule_viewsOfDeletedDatasetsNeverResurrectThem() {
        Atlas a = create(newStorage());
        DatasetView v = block(a.createDataset("ds"));
        block(a.deleteDataset("ds"));
        assertThrows(DatasetNotFoundException.class, () -> block(v.setAttribute("k", Attr.of(1L))));
        assertThrows(DatasetNotFoundException.class, () -> block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, 1))));
        assertFalse(a.datasetExists("ds"));
        assertEquals(0, v.meta().arrays().size());
    }

    @Test
    void ourRule_recreatedDatasetReplacesItsOldEntries() {
        Storage s = newStorage();
        Atlas a = create(s);
        writeFloats(defineFloats(a, "ds", "t", 2), "t", new long[] {0}, new long[] {2}, 1, 2);
        block(a.flush());
        block(a.deleteDataset("ds"));
        writeFloats(defineFloats(a, "ds", "t", 3), "t", new long[] {0}, new long[] {3}, 7, 8, 9);
        block(a.flush());
        assertArrayEquals(new float[] {7, 8, 9}, readFloats(reopen(s).dataset("ds"), "t"));
    }

    @Test
    void perArrayAttributesLiveInTheArrayFile() {
        Storage s = newStorage();
        Atlas a = create(s);
        DatasetView v = defineFloats(a, "ds", "t", 2);
        block(v.setArrayAttribute("t", "units", AttributeValue.ofString("K")));
        block(a.flush());
        DatasetView r = reopen(s).dataset("ds");
        assertEquals(Map.of("units", AttributeValue.ofString("K")), block(r.arrayAttributes("t")));
    }

    @Test
    void streamedWritesThroughAView() {
        Storage s = newStorage();
        Atlas a = create(s);
        DatasetView v = block(a.createDataset("ds"));
        block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, 8, 4).withChunks(2, 4)));
        Publisher<NdArray> slabs = Flux.range(0, 4).map(i -> NdArray.ofFloats(new long[] {2, 4}, IntStreamFloats(i * 8, 8)));
        assertEquals(8L, block(v.writeArray("t", new long[] {0, 0}, slabs)));
        block(a.flush());
        float[] got = readFloats(reopen(s).dataset("ds"), "t");
        for (int i = 0; i < 32; i++) {
            assertEquals(i, got[i]);
        }
    }

    private static float[] IntStreamFloats(int from, int n) {
        float[] f = new float[n];
        IntStream.range(0, n).forEach(i -> f[i] = from + i);
        return f;
    }

    @Test
    void flushWaitsForMutationsInFlightAndCommitsThem() {
        Storage s = newStorage();
        Atlas a = create(s);
        List<Mono<Void>> work = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            int k = i;
            work.add(a.createDataset("d" + k).flatMap(v -> v.setAttribute("k", Attr.of((long) k))));
        }
        Mono.when(work).then(a.flush()).block(TIMEOUT);
        Atlas r = reopen(s);
        assertEquals(20, r.datasetCount());
    }
}
