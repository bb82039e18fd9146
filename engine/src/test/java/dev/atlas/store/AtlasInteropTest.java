package dev.atlas.store;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.FooterCodec;
import dev.atlas.format.StatValue;
import dev.atlas.internal.format.Trailer;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import dev.atlas.testing.EngineTestBase;
import dev.atlas.testing.Interop;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import reactor.core.publisher.Mono;

/**
 * The two atlas-rust 0.10 stores of {@code interop/atlas-0.10}: opened and read back exactly as
 * {@code expected.json} says, then appended to and checked again, the appended files still in
 * the 0.10 layout (footer v4, unversioned statistics).
 */
class AtlasInteropTest extends EngineTestBase {
    private static final ObjectMapper JSON = new ObjectMapper();

    static Path storeDir(String name) {
        return Interop.root().resolve("atlas-0.10").resolve(name);
    }

    static JsonNode expected(String store) throws IOException {
        JsonNode root = JSON.readTree(Interop.root().resolve("atlas-0.10/expected.json").toFile());
        for (JsonNode s : root.get("stores")) {
            if (s.get("store").asText().equals(store)) {
                return s;
            }
        }
        throw new AssertionError("no store " + store + " in expected.json");
    }

    /** The store's files copied into a fresh in-memory storage. */
    static Storage load(Path dir) throws IOException {
        InMemoryStorage s = InMemoryStorage.create();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.filter(Files::isRegularFile).toList()) {
                byte[] bytes = Files.readAllBytes(p);
                String key = dir.relativize(p).toString().replace('\\', '/');
                s.put(key, Mono.fromSupplier(() -> Unpooled.wrappedBuffer(bytes))).block(TIMEOUT);
            }
        }
        return s;
    }


    AtlasOptions opts() {
        return AtlasOptions.builder(resources).tempDirectory(tmp).build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"A1", "A2"})
    void readsBackExactlyAsExpected(String store) throws IOException {
        Storage s = load(storeDir(store));
        Atlas atlas = block(Atlas.open(s, "", opts()));
        try {
            checkStore(atlas, expected(store));
        } finally {
            block(atlas.close());
        }
    }

    static void checkStore(Atlas atlas, JsonNode exp) {
        assertEquals(exp.get("registry").get("file").asText(), atlas.registryFile().fileName());
        assertEquals(exp.get("codec").asText(), atlas.codec().serdeName());
        assertEquals(strings(exp.get("list_datasets")), atlas.listDatasets());
        assertEquals(strings(exp.get("list_arrays")), atlas.listArrays());
        exp.get("array_dtype").fields().forEachRemaining(e ->
                assertEquals(e.getValue().asText(), atlas.arrayDtype(e.getKey()).orElseThrow().kind().displayName()));
        for (JsonNode ds : exp.get("datasets")) {
            String name = ds.get("name").asText();
            DatasetView v = atlas.dataset(name);
            assertEquals(strings(ds.get("list_arrays")), v.listArrays(), name);
            List<String> keys = new ArrayList<>();
            for (JsonNode at : ds.get("attributes")) {
                String key = at.get("key").asText();
                keys.add(key);
                assertEquals(attr(at), v.attribute(key).orElseThrow(), name + "." + key);
            }
            assertEquals(keys, List.copyOf(v.meta().attributes().keySet()), name + " attribute order");
            for (JsonNode ar : ds.get("arrays")) {
                checkArray(v, ar);
            }
        }
        // the orphan directory of a deleted dataset is not an array of the store
        assertTrue(atlas.arrayDtype("legacy_flag").isEmpty());
        assertThrows(ArrayNotFoundException.class,
                () -> block(atlas.readArrayAcross("legacy_flag", List.of("legacy_run"), null, null).collectList()));
    }

    static void checkArray(DatasetView v, JsonNode ar) {
        String array = ar.get("name").asText();
        String what = v.name() + "/" + array;
        JsonNode sc = ar.get("schema");
        ArraySchema schema = v.arrayMeta(array).orElseThrow();
        assertEquals(sc.get("dtype").asText(), schema.dtype().kind().displayName(), what);
        assertArrayEquals(longs(sc.get("shape")), schema.shape(), what);
        assertArrayEquals(longs(sc.get("chunk_shape")), schema.chunkShape(), what);
        assertEquals(strings(sc.get("dimension_names")), schema.dimensionNames(), what);
        assertEquals(sc.get("codec").asText(), schema.codec().serdeName(), what);
        assertEquals(fill(ar.get("fill_value")), block(v.arrayFillValue(array)), what + " fill");
        try (NdArray a = block(v.readArray(array))) {
            assertArrayEquals(schema.shape(), a.shape(), what);
            List<JsonNode> flat = new ArrayList<>();
            flatten(ar.get("values"), flat);
            assertEquals(flat.size(), a.size(), what);
            for (int i = 0; i < flat.size(); i++) {
                assertEquals(flat.get(i).asText(), element(a, i), what + " element " + i);
            }
        }
        JsonNode st = ar.get("stats");
        ArrayStats got = block(v.arrayStats(array));
        if (st == null || st.isNull()) {
            assertNull(got, what + " stats");
        } else {
            assertEquals(st.get("row_count").asLong(), got.rowCount(), what);
            assertEquals(st.get("null_count").asLong(), got.nullCount(), what);
            assertEquals(stat(st.get("min")), statText(got.min()), what + " min");
            assertEquals(stat(st.get("max")), statText(got.max()), what + " max");
        }
    }

    static String element(NdArray a, long i) {
        return switch (a.dtype().kind()) {
            case FLOAT32 -> String.format("0x%08x", Float.floatToRawIntBits(a.getFloat(i)));
            case FLOAT64 -> String.format("0x%016x", Double.doubleToRawLongBits(a.getDouble(i)));
            case INT8 -> Long.toString(a.getByte(i));
            case UINT8 -> Long.toString(a.getByte(i) & 0xFF);
            case INT16 -> Long.toString(a.getShort(i));
            case UINT16 -> Long.toString(a.getShort(i) & 0xFFFF);
            case INT32 -> Long.toString(a.getInt(i));
            case UINT32 -> Long.toString(a.getInt(i) & 0xFFFFFFFFL);
            case INT64, TIMESTAMP_NS -> Long.toString(a.getLong(i));
            case UINT64 -> Long.toUnsignedString(a.getLong(i));
            case STRING -> a.getString(i);
            default -> throw new AssertionError("dtype " + a.dtype());
        };
    }

    static String stat(JsonNode n) {
        return n == null || n.isNull() ? null : n.get("type").asText() + ":" + n.get("value").asText();
    }

    static String statText(StatValue v) {
        if (v == null) {
            return null;
        }
        if (v instanceof StatValue.Float f) {
            return "Float:" + String.format("0x%016x", Double.doubleToRawLongBits(f.value()));
        } else if (v instanceof StatValue.Int x) {
            return "Int:" + x.value();
        } else if (v instanceof StatValue.UInt x) {
            return "UInt:" + Long.toUnsignedString(x.value());
        } else if (v instanceof StatValue.TimestampNs x) {
            return "TimestampNs:" + x.value();
        } else if (v instanceof StatValue.Bytes x) {
            return "Bytes:" + HexFormat.of().formatHex(x.value());
        }
        return v.toString();
    }

    static FillValue fill(JsonNode n) {
        if (n == null || n.isNull()) {
            return null;
        }
        String type = n.get("type").asText();
        JsonNode val = n.get("value");
        return switch (type) {
            case "Float" -> new FillValue.Float(Double.longBitsToDouble(Long.parseUnsignedLong(val.asText().substring(2), 16)));
            case "Int" -> new FillValue.Int(val.asLong());
            case "UInt" -> new FillValue.UInt(Long.parseUnsignedLong(val.asText()));
            case "TimestampNs" -> new FillValue.TimestampNs(val.asLong());
            case "String" -> new FillValue.Str(val.asText());
            case "Bool" -> new FillValue.Bool(val.asBoolean());
            default -> throw new AssertionError("fill type " + type);
        };
    }

    static Attr attr(JsonNode at) {
        JsonNode val = at.get("value");
        return switch (at.get("type").asText()) {
            case "Bool" -> Attr.of(val.asBoolean());
            case "Int64" -> Attr.of(val.asLong());
            case "Float64" -> Attr.of(Double.longBitsToDouble(Long.parseUnsignedLong(val.asText().substring(2), 16)));
            case "String" -> Attr.of(val.asText());
            case "TimestampNanoseconds" -> Attr.timestampNanos(val.asLong());
            default -> throw new AssertionError("attribute type " + at);
        };
    }

    static void flatten(JsonNode n, List<JsonNode> out) {
        if (n.isArray()) {
            n.forEach(c -> flatten(c, out));
        } else {
            out.add(n);
        }
    }

    static List<String> strings(JsonNode n) {
        List<String> out = new ArrayList<>();
        n.forEach(x -> out.add(x.asText()));
        return out;
    }

    static long[] longs(JsonNode n) {
        long[] out = new long[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asLong();
        }
        return out;
    }

    /**
     * Appends to each store (a new dataset into existing and new array names, an overwrite in an
     * existing dataset, one more attribute), flushes, and checks: everything expected still reads
     * back, the additions do too, and every layer and stats file of the store is still in the 0.10
     * layout (footer version 4, unversioned statistics) so atlas-rust 0.10 can still open it.
     */
    @ParameterizedTest
    @ValueSource(strings = {"A1", "A2"})
    void appendsKeepTheStoreReadableByTheReference(String store) throws IOException {
        Storage s = load(storeDir(store));
        Atlas atlas = block(Atlas.open(s, "", opts()));
        DatasetView v = block(atlas.createDataset("cruise_2024"));
        block(v.defineArray("temperature", ArraySpec.of(DType.FLOAT32, 3, 2).withChunks(2, 2)
                .withDimensions("time", "depth").withFill(new FillValue.Float(Double.NaN))));
        try (NdArray x = NdArray.ofFloats(new long[] {3, 2}, 1, 2, 3, 4, 5, 6)) {
            block(v.writeArray("temperature", new long[] {0, 0}, x));
        }
        block(v.defineArray("chlorophyll", ArraySpec.of(DType.FLOAT64, 4).withDimensions("time")));
        try (NdArray x = NdArray.ofDoubles(new long[] {4}, 0.5, 0.25, 0.125, 1)) {
            block(v.writeArray("chlorophyll", new long[] {0}, x));
        }
        block(v.setAttribute("vessel", Attr.of("RV Atlas")));
        block(atlas.flush());
        block(atlas.close());

        Atlas again = block(Atlas.open(s, "", opts()));
        try {
            JsonNode exp = expected(store);
            for (JsonNode ds : exp.get("datasets")) {
                DatasetView dv = again.dataset(ds.get("name").asText());
                for (JsonNode ar : ds.get("arrays")) {
                    checkArray(dv, ar);
                }
            }
            DatasetView nv = again.dataset("cruise_2024");
            try (NdArray t = block(nv.readArray("temperature"))) {
                assertEquals(6f, t.getFloat(5));
            }
            try (NdArray c = block(nv.readArray("chlorophyll"))) {
                assertEquals(0.125, c.getDouble(2));
            }
            assertEquals(Attr.of("RV Atlas"), nv.attribute("vessel").orElseThrow());
        } finally {
            block(again.close());
        }
        // every layer of every array file: footer v4 in the reference's layout; stats unversioned
        for (ObjectInfo o : block(s.list("").collectList())) {
            String k = o.key();
            if (k.endsWith(".af")) {
                byte[] bytes = bytes(s, o);
                Footer f = FooterCodec.decodeFooter(payload(bytes, Trailer.LAYER_MAGIC, k), k);
                assertEquals(Footer.VERSION_V4, f.version(), k);
            } else if (k.endsWith(".stats")) {
                byte[] bytes = bytes(s, o);
                assertEquals(dev.atlas.internal.format.StatsFile.UNVERSIONED,
                        FooterCodec.decodeStats(payload(bytes, Trailer.STATS_MAGIC, k), k).version(), k);
            }
        }
        // and the registry still parses with the 0.10 field layout (our additions are extra fields)
        byte[] reg = bytes(s, block(s.head(again.registryFile().fileName())));
        Registry r = RegistryCodec.decode(reg, again.registryFile(), "registry");
        assertTrue(r.datasets.containsKey("cruise_2024"));
        assertEquals(Footer.VERSION_V4, r.footerVersion);
    }

    static byte[] bytes(Storage s, ObjectInfo o) {
        ByteBuf buf = block(s.read(o.key(), 0, o.size()));
        try {
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    static ByteBuffer payload(byte[] file, String magic, String key) {
        long len = Trailer.payloadLength(ByteBuffer.wrap(file, file.length - Trailer.SIZE, Trailer.SIZE).slice(), file.length,
                magic, key);
        return ByteBuffer.wrap(file, (int) (file.length - Trailer.SIZE - len), (int) len).slice();
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
