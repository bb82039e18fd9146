package dev.atlas.store;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.internal.format.CorpusJson;
import dev.atlas.format.DType;
import dev.atlas.testing.Interop;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The registry file against the atlas-rust 0.10 interop stores (A1 {@code atlas.json}, A2
 * {@code atlas.msgpack.zst}), the registry-file acceptance behaviours of atlas-rust 0.10 (items
 * 22-31 of its checklist: every format and codec round trips, sizes, timestamps, attribute kinds),
 * our two extensions, and damaged input (only {@link CorruptFileException} may escape).
 */
class RegistryCodecTest {
    private static final String WRITTEN_TIME = "2019-07-01T12:30:00+02:00";
    private static final String NORMALISED_TIME = "2019-07-01T10:30:00Z";
    private static final long TS_1_7E18 = 1_700_000_000_000_000_000L;
    private static final RegistryFile JSON = new RegistryFile(RegistryFormat.JSON, StoreCodec.UNCOMPRESSED);
    private static final RegistryFile MSGPACK = new RegistryFile(RegistryFormat.MSGPACK, StoreCodec.UNCOMPRESSED);

    // ------------------------------------------------------------------------------ corpus

    private static Path corpus() {
        return Interop.root().resolve("atlas-0.10");
    }

    private static JsonNode expectedStore(String name) throws IOException {
        JsonNode exp = CorpusJson.MAPPER.readTree(corpus().resolve("expected.json").toFile());
        for (JsonNode s : exp.get("stores")) {
            if (s.get("store").asText().equals(name)) {
                return s;
            }
        }
        throw new AssertionError("no store " + name + " in expected.json");
    }

    private static byte[] registryBytes(JsonNode store) throws IOException {
        return Files.readAllBytes(corpus().resolve(store.get("store").asText())
                .resolve(store.get("registry").get("file").asText()));
    }

    private static byte[] unzstd(byte[] b) throws IOException {
        try (InputStream in = new ZstdInputStream(new ByteArrayInputStream(b))) {
            return in.readAllBytes();
        }
    }

    private static String sha256(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
    }

    private static Attr expectedAttr(JsonNode a) {
        JsonNode v = a.get("value");
        return switch (a.get("type").asText()) {
            case "Bool" -> Attr.of(v.asBoolean());
            case "Int64" -> Attr.of(v.bigIntegerValue().longValueExact());
            case "Float64" -> Attr.of(Double.longBitsToDouble(Long.parseUnsignedLong(v.asText().substring(2), 16)));
            case "String" -> Attr.of(v.asText());
            case "TimestampNanoseconds" -> Attr.timestampNanos(v.bigIntegerValue().longValueExact());
            default -> throw new AssertionError("unknown attribute type " + a);
        };
    }

    private static long[] longs(JsonNode n) {
        long[] v = new long[n.size()];
        for (int i = 0; i < v.length; i++) {
            v[i] = n.get(i).bigIntegerValue().longValueExact();
        }
        return v;
    }

    /** Every dataset (order), attribute (order, kind, value, bits) and schema, version and codec. */
    private static void assertMatchesExpected(Registry r, JsonNode store) {
        assertEquals(store.get("version").asLong(), r.version);
        assertEquals(store.get("codec").asText(), r.codec.serdeName());
        assertNull(r.layers, "0.10 registries carry no layer pins");
        List<String> names = new ArrayList<>();
        store.get("list_datasets").forEach(n -> names.add(n.asText()));
        assertEquals(names, new ArrayList<>(r.datasets.keySet()));
        for (JsonNode d : store.get("datasets")) {
            String ds = d.get("name").asText();
            Registry.DatasetEntry e = r.datasets.get(ds);
            assertNotNull(e, ds);
            List<String> keys = new ArrayList<>();
            for (JsonNode a : d.get("attributes")) {
                String k = a.get("key").asText();
                keys.add(k);
                Attr want = expectedAttr(a);
                Attr got = e.attributes.get(k);
                assertEquals(want, got, ds + "." + k);
                if (want instanceof Attr.Float64 f) {
                    assertEquals(Double.doubleToRawLongBits(f.value()),
                            Double.doubleToRawLongBits(((Attr.Float64) got).value()), ds + "." + k + " bits");
                }
            }
            assertEquals(keys, new ArrayList<>(e.attributes.keySet()), ds + " attribute order");
            List<String> arrays = new ArrayList<>();
            for (JsonNode a : d.get("arrays")) {
                String name = a.get("name").asText();
                arrays.add(name);
                JsonNode s = a.get("schema");
                ArraySchema got = e.arrays.get(name);
                assertNotNull(got, ds + "/" + name);
                assertEquals(s.get("dtype").asText(), got.dtype().kind().displayName(), ds + "/" + name);
                assertEquals(s.get("dtype_serde").get("type").asText(), RegistryCodec.serdeTag(got.dtype().kind()));
                assertArrayEquals(longs(s.get("shape")), got.shape(), ds + "/" + name + " shape");
                assertArrayEquals(longs(s.get("chunk_shape")), got.chunkShape(), ds + "/" + name + " chunk_shape");
                List<String> dims = new ArrayList<>();
                s.get("dimension_names").forEach(n -> dims.add(n.asText()));
                assertEquals(dims, got.dimensionNames(), ds + "/" + name + " dims");
                assertEquals(s.get("codec").asText(), got.codec().serdeName());
            }
            List<String> declared = new ArrayList<>();
            d.get("list_arrays").forEach(n -> declared.add(n.asText()));
            assertEquals(declared, arrays);
            assertEquals(declared, new ArrayList<>(e.arrays.keySet()), ds + " array order");
        }
        assertEquals(store.get("datasets").size(), r.datasets.size());
    }

    @Test
    void a1JsonDecodesToTheExpectedRegistry() throws Exception {
        JsonNode store = expectedStore("A1");
        byte[] file = registryBytes(store);
        assertEquals(store.get("registry").get("sha256").asText(), sha256(file));
        Registry r = RegistryCodec.decode(file, RegistryFile.ofFileName("atlas.json"), "A1/atlas.json");
        assertMatchesExpected(r, store);
        assertEquals(Attr.timestampNanos(1_561_977_000_000_000_000L), r.datasets.get("cruise_2021").attributes.get("looks_like_time"));
        assertEquals(Attr.of(9_007_199_254_740_993L), r.datasets.get("cruise_2022").attributes.get("big_count"));
    }

    @Test
    void a2MsgPackZstdDecodesToTheExpectedRegistry() throws Exception {
        JsonNode store = expectedStore("A2");
        byte[] file = registryBytes(store);
        assertEquals(store.get("registry").get("sha256").asText(), sha256(file));
        Registry r = RegistryCodec.decode(file, RegistryFile.ofFileName("atlas.msgpack.zst"), "A2/atlas.msgpack.zst");
        assertMatchesExpected(r, store);
        assertEquals(Attr.of(Long.MAX_VALUE), r.datasets.get("cruise_2022").attributes.get("max_count"), "uint 64");
        assertEquals(Attr.timestampNanos(1_561_977_000_000_000_000L), r.datasets.get("cruise_2021").attributes.get("looks_like_time"));
    }

    @Test
    void a1ReencodesByteForByteExceptTheNormalisedTimestamp() throws Exception {
        JsonNode store = expectedStore("A1");
        String file = new String(registryBytes(store), UTF_8);
        Registry r = RegistryCodec.decode(file.getBytes(UTF_8), JSON, "A1/atlas.json");
        String want = file.replace('"' + WRITTEN_TIME + '"', '"' + NORMALISED_TIME + '"');
        assertFalse(want.equals(file), "the fixture holds the RFC 3339-looking string");
        assertEquals(want, new String(RegistryCodec.encode(r, JSON), UTF_8));
    }

    @Test
    void a2ReencodesToTheDecodedMsgPackExceptTheNormalisedTimestamp() throws Exception {
        JsonNode store = expectedStore("A2");
        byte[] file = registryBytes(store);
        byte[] raw = unzstd(file);
        assertEquals(store.get("registry").get("encoded_sha256").asText(), sha256(raw));
        Registry r = RegistryCodec.decode(file, RegistryFile.ofFileName("atlas.msgpack.zst"), "A2");
        byte[] want = replace(raw, fixstr(WRITTEN_TIME), fixstr(NORMALISED_TIME));
        assertArrayEquals(want, RegistryCodec.encode(r, MSGPACK));
        // Our zstd frame is the reference's: without the content checksum the same bytes compress
        // to the A2 file exactly. What we write by default differs only in carrying the checksum:
        // the frame header's checksum flag and 4 more bytes at the end.
        assertArrayEquals(file, RegistryCodec.compress(raw, StoreCodec.ZSTD, false));
        byte[] withSum = RegistryCodec.compress(raw, StoreCodec.ZSTD);
        assertEquals(file.length + 4, withSum.length);
        assertEquals(0, file[4] & 0x04, "the reference's frame has no checksum flag");
        assertEquals(0x04, withSum[4] & 0x04, "ours has the content checksum flag");
        assertArrayEquals(raw, unzstd(withSum));
        byte[] damaged = withSum.clone();
        damaged[damaged.length - 1] ^= 1;
        assertThrows(dev.atlas.error.CorruptFileException.class,
                () -> RegistryCodec.decode(damaged, RegistryFile.ofFileName("atlas.msgpack.zst"), "A2"),
                "a frame whose checksum does not match is refused");
        byte[] zst = RegistryCodec.encode(r, RegistryFile.ofFileName("atlas.msgpack.zst"));
        assertArrayEquals(want, unzstd(zst));
    }

    private static byte[] fixstr(String s) {
        byte[] b = s.getBytes(UTF_8);
        byte[] out = new byte[b.length + 1];
        out[0] = (byte) (0xa0 | b.length);
        System.arraycopy(b, 0, out, 1, b.length);
        return out;
    }

    private static byte[] replace(byte[] hay, byte[] needle, byte[] with) {
        for (int i = 0; i + needle.length <= hay.length; i++) {
            if (Arrays.equals(hay, i, i + needle.length, needle, 0, needle.length)) {
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(hay, 0, i);
                out.writeBytes(with);
                out.write(hay, i + needle.length, hay.length - i - needle.length);
                return out.toByteArray();
            }
        }
        throw new AssertionError("needle not found");
    }

    // ------------------------------------------------------------------------------ round trips

    private static Registry sample() {
        Registry r = Registry.empty(1, StoreCodec.ZSTD);
        r.layers = null;
        Registry.DatasetEntry d = new Registry.DatasetEntry();
        d.arrays.put("temperature", new ArraySchema(DType.FLOAT32, new long[] {4, 8}, new long[] {4, 8},
                List.of("lat", "lon"), StoreCodec.ZSTD));
        d.attributes.put("month", Attr.of(6L));
        r.datasets.put("jan_2024", d);
        return r;
    }

    /** Version, codec, layers, and every dataset with its arrays and attributes in order. */
    private static List<Object> view(Registry r) {
        List<Object> v = new ArrayList<>();
        v.add(r.version);
        v.add(r.codec);
        v.add(r.layers == null ? null : new ArrayList<>(r.layers.entrySet()));
        r.datasets.forEach((k, d) -> {
            v.add(k);
            v.add(new ArrayList<>(d.arrays.entrySet()));
            v.add(new ArrayList<>(d.attributes.entrySet()));
        });
        return v;
    }

    private static Registry roundTrip(Registry r, RegistryFile f) {
        return RegistryCodec.decode(RegistryCodec.encode(r, f), f, f.fileName());
    }

    static List<RegistryFile> files() {
        return RegistryFile.PRIORITY;
    }

    @ParameterizedTest
    @MethodSource("files")
    void everyRegistryFileRoundTrips(RegistryFile f) {
        Registry got = roundTrip(sample(), f);
        assertEquals(view(sample()), view(got));
        ArraySchema s = got.datasets.get("jan_2024").arrays.get("temperature");
        assertEquals(DType.FLOAT32, s.dtype());
        assertArrayEquals(new long[] {4, 8}, s.shape());
        assertEquals(Attr.of(6L), got.datasets.get("jan_2024").attributes.get("month"));
        assertEquals(1, got.version);
    }

    @ParameterizedTest
    @MethodSource("files")
    void everyAttrKindDTypeAndExtensionRoundTrips(RegistryFile f) {
        Registry r = rich();
        assertEquals(view(r), view(roundTrip(r, f)));
    }

    private static Registry rich() {
        Registry r = Registry.empty(7, StoreCodec.LZ4);
        r.layers.put("temperature", 3L);
        r.layers.put("time", 0L);
        Registry.DatasetEntry d = new Registry.DatasetEntry();
        DType[] dtypes = {DType.BOOL, DType.INT8, DType.INT16, DType.INT32, DType.INT64, DType.UINT8, DType.UINT16,
            DType.UINT32, DType.UINT64, DType.FLOAT32, DType.FLOAT64, DType.STRING, DType.BINARY, DType.TIMESTAMP_NS,
            DType.fixedSizeList(DType.INT8, 4), DType.list(DType.fixedSizeList(DType.FLOAT64, 0xFFFF_FFFFL))};
        for (DType t : dtypes) {
            d.arrays.put("a_" + t, new ArraySchema(t, new long[] {3, 0}, new long[] {2, 1}, List.of("x", "y"),
                    StoreCodec.UNCOMPRESSED));
        }
        d.arrays.put("scalar", new ArraySchema(DType.FLOAT64, new long[0], new long[0], List.of(), StoreCodec.LZ4));
        d.attributes.put("b", Attr.of(true));
        d.attributes.put("nb", Attr.of(false));
        for (long v : new long[] {0, 1, 127, 128, 255, 256, 65535, 65536, 0xFFFF_FFFFL, 1L << 32, Long.MAX_VALUE, -1,
            -32, -33, -128, -129, -32768, -32769, Integer.MIN_VALUE, Integer.MIN_VALUE - 1L, Long.MIN_VALUE}) {
            d.attributes.put("i" + v, Attr.of(v));
        }
        for (double v : new double[] {0.0, -0.0, 1.5, 2.0, -1013.625, 1e300, 5e-324, 0.1, 1e-7, Double.MAX_VALUE}) {
            d.attributes.put("f" + v, Attr.of(v));
        }
        d.attributes.put("s", Attr.of("hello \"Ægir\" \\ \t\n\u0001\u001f\u007f ✓ 𝄞"));
        d.attributes.put("empty", Attr.of(""));
        d.attributes.put("long", Attr.of("x".repeat(300)));
        d.attributes.put("date_only", Attr.of("2021-06-01"));
        d.attributes.put("date_like", Attr.of("2023-11-14T22:13:20Z"));
        d.attributes.put("t", Attr.timestampNanos(TS_1_7E18));
        d.attributes.put("t_min", Attr.timestampNanos(Long.MIN_VALUE));
        d.attributes.put("t_max", Attr.timestampNanos(Long.MAX_VALUE));
        d.attributes.put("t_pre_epoch", Attr.timestampNanos(-500_000_000L));
        r.datasets.put("ds ✓", d);
        r.datasets.put("empty", new Registry.DatasetEntry());
        return r;
    }

    @Test
    void msgPackIsSmallerThanJson() {
        assertTrue(RegistryCodec.encode(sample(), MSGPACK).length < RegistryCodec.encode(sample(), JSON).length);
    }

    @Test
    void zstdAndLz4AreSmallerThanRawFor30DatasetsOf5Arrays() {
        Registry r = Registry.empty(1, StoreCodec.ZSTD);
        for (int i = 0; i < 30; i++) {
            Registry.DatasetEntry d = new Registry.DatasetEntry();
            for (int a = 0; a < 5; a++) {
                d.arrays.put("array_" + a, new ArraySchema(DType.FLOAT32, new long[] {100, 200}, new long[] {10, 20},
                        List.of("lat", "lon"), StoreCodec.ZSTD));
            }
            d.attributes.put("index", Attr.of((long) i));
            r.datasets.put("dataset_" + i, d);
        }
        for (RegistryFormat fmt : RegistryFormat.values()) {
            int raw = RegistryCodec.encode(r, new RegistryFile(fmt, StoreCodec.UNCOMPRESSED)).length;
            int zst = RegistryCodec.encode(r, new RegistryFile(fmt, StoreCodec.ZSTD)).length;
            int lz4 = RegistryCodec.encode(r, new RegistryFile(fmt, StoreCodec.LZ4)).length;
            assertTrue(zst < raw, fmt + " zstd " + zst + " vs " + raw);
            assertTrue(lz4 < raw, fmt + " lz4 " + lz4 + " vs " + raw);
        }
    }

    private static Registry withAttrs(Map<String, Attr> attrs) {
        Registry r = Registry.empty(1, StoreCodec.ZSTD);
        r.layers = null;
        r.datasets.put("ds", new Registry.DatasetEntry(new LinkedHashMap<>(), new LinkedHashMap<>(attrs)));
        return r;
    }

    @Test
    void eachAttrKindRoundTripsThroughJson() {
        Map<String, Attr> attrs = new LinkedHashMap<>();
        attrs.put("b", Attr.of(true));
        attrs.put("i", Attr.of(-1_000_000L));
        attrs.put("f", Attr.of(2.5));
        attrs.put("s", Attr.of("hello"));
        attrs.put("t", Attr.timestampNanos(TS_1_7E18));
        Registry r = withAttrs(attrs);
        assertEquals(attrs, roundTrip(r, JSON).datasets.get("ds").attributes);
    }

    @Test
    void attributesHaveTheReferenceJsonShapes() {
        Map<String, Attr> attrs = new LinkedHashMap<>();
        attrs.put("b", Attr.of(true));
        attrs.put("i", Attr.of(42L));
        attrs.put("f", Attr.of(1.5));
        attrs.put("s", Attr.of("x"));
        attrs.put("t", Attr.timestampNanos(TS_1_7E18));
        String json = new String(RegistryCodec.encode(withAttrs(attrs), JSON), UTF_8);
        assertEquals("{\n  \"version\": 1,\n  \"codec\": \"Zstd\",\n  \"datasets\": {\n    \"ds\": {\n"
                + "      \"arrays\": {},\n      \"attributes\": {\n        \"b\": true,\n        \"i\": 42,\n"
                + "        \"f\": 1.5,\n        \"s\": \"x\",\n        \"t\": \"2023-11-14T22:13:20Z\"\n      }\n"
                + "    }\n  }\n}", json);
    }

    @Test
    void emptyRegistryAndEmptyContainersPrintLikeSerde() {
        Registry r = Registry.empty(1, StoreCodec.UNCOMPRESSED);
        r.layers = null;
        assertEquals("{\n  \"version\": 1,\n  \"codec\": \"Uncompressed\",\n  \"datasets\": {}\n}",
                new String(RegistryCodec.encode(r, JSON), UTF_8));
        r.datasets.put("d", new Registry.DatasetEntry());
        r.datasets.get("d").arrays.put("z", new ArraySchema(DType.STRING, new long[0], new long[0], List.of(),
                StoreCodec.ZSTD));
        assertEquals("{\n  \"version\": 1,\n  \"codec\": \"Uncompressed\",\n  \"datasets\": {\n    \"d\": {\n"
                + "      \"arrays\": {\n        \"z\": {\n          \"dtype\": {\n            \"type\": \"string\"\n"
                + "          },\n          \"shape\": [],\n          \"chunk_shape\": [],\n"
                + "          \"dimension_names\": [],\n          \"codec\": \"Zstd\"\n        }\n      },\n"
                + "      \"attributes\": {}\n    }\n  }\n}", new String(RegistryCodec.encode(r, JSON), UTF_8));
    }

    @Test
    void stringsAreEscapedLikeSerdeJson() {
        String json = new String(RegistryCodec.encode(withAttrs(Map.of("s",
                Attr.of("q\" b\\ \b\f\n\r\t \u0001\u001f \u007f / é ✓"))), JSON), UTF_8);
        assertTrue(json.contains("\"s\": \"q\\\" b\\\\ \\b\\f\\n\\r\\t \\u0001\\u001f \u007f / é ✓\""), json);
    }

    @Test
    void nestedDTypesUseSerdeArgs() {
        Registry r = Registry.empty(1, StoreCodec.ZSTD);
        r.datasets.put("d", new Registry.DatasetEntry());
        r.datasets.get("d").arrays.put("v", new ArraySchema(DType.list(DType.fixedSizeList(DType.UINT8, 4)),
                new long[] {2}, new long[] {2}, List.of("x"), StoreCodec.ZSTD));
        String json = new String(RegistryCodec.encode(r, JSON), UTF_8);
        assertTrue(json.contains("\"dtype\": {\n            \"type\": \"list\",\n            \"args\": {\n"
                + "              \"child\": {\n                \"type\": \"fixed_size_list\",\n"
                + "                \"args\": {\n                  \"child\": {\n"
                + "                    \"type\": \"u_int8\"\n                  },\n"
                + "                  \"size\": 4\n                }\n              }\n            }\n          },"), json);
    }

    @Test
    void notADateStaysAStringAndAnRfc3339StringReadsAsATimestamp() {
        Registry r = decodeJson("{\"version\":1,\"datasets\":{\"d\":{\"attributes\":{\"a\":\"not-a-date\","
                + "\"b\":\"2023-11-14T22:13:20Z\",\"c\":\"2021-06-01\"}}}}");
        Map<String, Attr> a = r.datasets.get("d").attributes;
        assertEquals(Attr.of("not-a-date"), a.get("a"));
        assertEquals(Attr.timestampNanos(TS_1_7E18), a.get("b"));
        assertEquals(Attr.of("2021-06-01"), a.get("c"));
    }

    @Test
    void schemaRoundTripsThroughJson() {
        Registry r = Registry.empty(1, StoreCodec.ZSTD);
        r.datasets.put("d", new Registry.DatasetEntry());
        ArraySchema s = new ArraySchema(DType.FLOAT64, new long[] {10, 20}, new long[] {5, 5}, List.of("lat", "lon"),
                StoreCodec.ZSTD);
        r.datasets.get("d").arrays.put("grid", s);
        assertEquals(s, roundTrip(r, JSON).datasets.get("d").arrays.get("grid"));
    }

    // ------------------------------------------------------------------------------ extensions

    @Test
    void aDateLikeStringStaysAStringThroughOurExtension() {
        Registry r = withAttrs(Map.of("when", Attr.of("2023-11-14T22:13:20Z")));
        for (RegistryFile f : RegistryFile.PRIORITY) {
            assertEquals(Attr.of("2023-11-14T22:13:20Z"), roundTrip(r, f).datasets.get("ds").attributes.get("when"));
        }
        String json = new String(RegistryCodec.encode(r, JSON), UTF_8);
        assertTrue(json.contains("\"string_attributes\": [\n        \"when\"\n      ]"), json);
        // 0.10 ignores the field; without it the same text reads as a timestamp.
        String stripped = json.replaceAll(",\\n\\s*\"string_attributes\": \\[\\n\\s*\"when\"\\n\\s*]", "");
        assertFalse(stripped.contains("string_attributes"), stripped);
        assertEquals(Attr.timestampNanos(TS_1_7E18), decodeJson(stripped).datasets.get("ds").attributes.get("when"));
    }

    @Test
    void theExtensionIsWrittenOnlyWhenNeededAndMayComeFirst() {
        assertFalse(new String(RegistryCodec.encode(withAttrs(Map.of("s", Attr.of("plain"))), JSON), UTF_8)
                .contains("string_attributes"));
        Registry r = decodeJson("{\"version\":1,\"datasets\":{\"d\":{\"string_attributes\":[\"a\",\"ghost\"],"
                + "\"attributes\":{\"a\":\"2023-11-14T22:13:20Z\",\"b\":\"2023-11-14T22:13:20Z\"}}}}");
        assertEquals(Attr.of("2023-11-14T22:13:20Z"), r.datasets.get("d").attributes.get("a"));
        assertEquals(Attr.timestampNanos(TS_1_7E18), r.datasets.get("d").attributes.get("b"));
    }

    @Test
    void layerPinsRoundTripAndTheirAbsenceIsNull() {
        Registry r = sample();
        r.layers = new LinkedHashMap<>(Map.of("temperature", 2L));
        for (RegistryFile f : RegistryFile.PRIORITY) {
            assertEquals(Map.of("temperature", 2L), roundTrip(r, f).layers);
        }
        String json = new String(RegistryCodec.encode(r, JSON), UTF_8);
        assertTrue(json.endsWith("  },\n  \"layers\": {\n    \"temperature\": 2\n  }\n}"), json);
        r.layers = new LinkedHashMap<>();
        assertEquals(Map.of(), roundTrip(r, JSON).layers);
        r.layers = null;
        assertFalse(new String(RegistryCodec.encode(r, JSON), UTF_8).contains("layers"));
        assertNull(roundTrip(r, MSGPACK).layers);
    }

    // ------------------------------------------------------------------------------ lenient/strict decode

    private static Registry decodeJson(String s) {
        return RegistryCodec.decode(s.getBytes(UTF_8), JSON, "test/atlas.json");
    }

    @Test
    void optionalFieldsDefaultAndUnknownFieldsAreIgnored() {
        Registry r = decodeJson("{\"future\":{\"x\":[1,{}]},\"datasets\":{\"d\":{},\"e\":{\"arrays\":{}}},\"version\":3}");
        assertEquals(3, r.version);
        assertEquals(StoreCodec.ZSTD, r.codec);
        assertEquals(List.of("d", "e"), new ArrayList<>(r.datasets.keySet()));
        assertTrue(r.datasets.get("d").arrays.isEmpty() && r.datasets.get("d").attributes.isEmpty());
        assertNull(r.layers);
    }

    @Test
    void jsonNumbersFollowSerde() {
        Registry r = decodeJson("{\"version\":1,\"datasets\":{\"d\":{\"attributes\":{\"i\":-9223372036854775808,"
                + "\"f\":3.0,\"e\":1e2,\"z\":-0,\"big\":1.7976931348623157e308}}}}");
        Map<String, Attr> a = r.datasets.get("d").attributes;
        assertEquals(Attr.of(Long.MIN_VALUE), a.get("i"));
        assertEquals(Attr.of(3.0), a.get("f"));
        assertEquals(Attr.of(100.0), a.get("e"));
        assertEquals(Attr.of(-0.0), a.get("z"));
        assertEquals(Attr.of(Double.MAX_VALUE), a.get("big"));
    }

    @Test
    void floatsPrintLikeRyu() {
        Object[][] cases = {
            {2.0, "2.0"}, {51.25, "51.25"}, {-0.5, "-0.5"}, {0.0001, "0.0001"}, {1.0000125, "1.0000125"},
            {-1013.625, "-1013.625"}, {0.0, "0.0"}, {-0.0, "-0.0"}, {1e-5, "0.00001"}, {1e-6, "1e-6"},
            {1.5e-7, "1.5e-7"}, {1e300, "1e300"}, {1.5e300, "1.5e300"}, {Double.MAX_VALUE, "1.7976931348623157e308"},
            {Double.MIN_VALUE, "5e-324"}, {Double.MIN_NORMAL, "2.2250738585072014e-308"}, {1e15, "1000000000000000.0"},
            {1e16, "1e16"}, {1.2345678901234567e16, "1.2345678901234568e16"}, {123456789.125, "123456789.125"},
            {0.1, "0.1"}, {1.0 / 3, "0.3333333333333333"}, {100.0, "100.0"}, {9007199254740993.0, "9007199254740992.0"},
            {1e23, "1e23"}, {2.82879384806159e17, "2.82879384806159e17"}, {-1e-300, "-1e-300"}, {0.3, "0.3"},
            {5e-5, "0.00005"}, {1234567890123456.0, "1234567890123456.0"}, {2.0e-3, "0.002"},
        };
        for (Object[] c : cases) {
            assertEquals(c[1], SerdeFloat.format((Double) c[0]), "format of " + c[0]);
            assertEquals((Double) c[0], Double.parseDouble((String) c[1]));
        }
        Random rnd = new Random(42);
        for (int i = 0; i < 20_000; i++) {
            double d = Double.longBitsToDouble(rnd.nextLong());
            if (Double.isFinite(d)) {
                String s = SerdeFloat.format(d);
                assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits(Double.parseDouble(s)), s);
            }
        }
    }

    @Test
    void nonFiniteFloatsAreRefusedInJsonAndKeptInMsgPack() {
        Registry r = withAttrs(Map.of("nan", Attr.of(Double.NaN)));
        InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> RegistryCodec.encode(r, JSON));
        assertTrue(e.getMessage().contains("nan"), e.getMessage());
        assertEquals(Attr.of(Double.NaN), roundTrip(r, MSGPACK).datasets.get("ds").attributes.get("nan"));
        assertEquals(Attr.of(Double.NEGATIVE_INFINITY), roundTrip(withAttrs(Map.of("x",
                Attr.of(Double.NEGATIVE_INFINITY))), MSGPACK).datasets.get("ds").attributes.get("x"));
    }

    @Test
    void loneSurrogatesAreRefusedOnBothSides() {
        assertThrows(InvalidArgumentException.class,
                () -> RegistryCodec.encode(withAttrs(Map.of("s", Attr.of("a\ud800b"))), MSGPACK));
        assertThrows(CorruptFileException.class, () -> decodeJson(
                "{\"version\":1,\"datasets\":{\"d\":{\"attributes\":{\"s\":\"\\ud800\"}}}}"));
    }

    @Test
    void timestampsPrintWithAutoSiDigitsAndParseLikeChrono() {
        Object[][] fmt = {
            {TS_1_7E18, "2023-11-14T22:13:20Z"}, {-500_000_000L, "1969-12-31T23:59:59.500Z"},
            {1L, "1970-01-01T00:00:00.000000001Z"}, {1_000L, "1970-01-01T00:00:00.000001Z"},
            {-1L, "1969-12-31T23:59:59.999999999Z"}, {0L, "1970-01-01T00:00:00Z"},
            {Long.MIN_VALUE, "1677-09-21T00:12:43.145224192Z"}, {Long.MAX_VALUE, "2262-04-11T23:47:16.854775807Z"},
            {1_651_559_415_250_000_000L, "2022-05-03T06:30:15.250Z"}, {1_606_780_799_999_999_000L,
                "2020-11-30T23:59:59.999999Z"},
        };
        for (Object[] c : fmt) {
            assertEquals(c[1], Rfc3339.format((Long) c[0]));
            assertEquals(c[0], Rfc3339.parse((String) c[1]));
        }
        assertEquals(1_561_977_000_000_000_000L, Rfc3339.parse(WRITTEN_TIME));
        assertEquals(TS_1_7E18, Rfc3339.parse("2023-11-14t22:13:20z"));
        assertEquals(TS_1_7E18 + 19_800_000_000_000L, Rfc3339.parse("2023-11-14T22:13:20-05:30"));
        assertEquals(TS_1_7E18 + 123_456_789L, Rfc3339.parse("2023-11-14T22:13:20.1234567891234Z"));
        assertEquals(TS_1_7E18 + 100_000_000L, Rfc3339.parse("2023-11-14T22:13:20.1Z"));
        assertEquals(Rfc3339.parse("2017-01-01T00:00:00Z"), Rfc3339.parse("2016-12-31T23:59:60Z"));
        for (String s : new String[] {"2021-06-01", "not-a-date", "2023-11-14T22:13:20", "2023-11-14T22:13:20.Z",
            "2023-11-14 22:13:20Z", "2023-02-30T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z",
            "2262-04-11T23:47:16.854775808Z", "1677-09-21T00:12:43.145224191Z", "2023-11-14T22:13:20+0200",
            "2023-11-14T22:13:20+24:00", "2023-11-14T22:13:20+02:60", "2023-11-14T22:13:20Zx", "+2023-11-14T22:13:20Z",
            "2023-11-14T22:13:20 Z", "2023-11-14T22:13:20.123+02:00x", "20231-11-14T22:13:20Z", "２０２３-11-14T22:13:20Z"}) {
            assertNull(Rfc3339.parse(s), s);
        }
    }

    // ------------------------------------------------------------------------------ corruption

    private static void assertCorrupt(byte[] b, RegistryFile f) {
        CorruptFileException e = assertThrows(CorruptFileException.class, () -> RegistryCodec.decode(b, f, "bad/key"));
        assertEquals("bad/key", e.file());
    }

    private static void assertCorruptJson(String s) {
        assertCorrupt(s.getBytes(UTF_8), JSON);
    }

    @Test
    void truncatedFixturesAreCorrupt() throws Exception {
        byte[] a1 = registryBytes(expectedStore("A1"));
        byte[] a2 = registryBytes(expectedStore("A2"));
        byte[] a2raw = unzstd(a2);
        for (int n = 0; n < a1.length; n++) {
            assertCorrupt(Arrays.copyOf(a1, n), JSON);
        }
        for (int n = 0; n < a2raw.length; n++) {
            assertCorrupt(Arrays.copyOf(a2raw, n), MSGPACK);
        }
        RegistryFile zst = RegistryFile.ofFileName("atlas.msgpack.zst");
        for (int n = 0; n < a2.length; n++) {
            assertCorrupt(Arrays.copyOf(a2, n), zst);
        }
        RegistryFile lz4 = RegistryFile.ofFileName("atlas.json.lz4");
        byte[] l = RegistryCodec.encode(RegistryCodec.decode(a1, JSON, "A1"), lz4);
        for (int n = 0; n < l.length; n++) {
            assertCorrupt(Arrays.copyOf(l, n), lz4);
        }
    }

    @Test
    void garbageIsCorruptInEveryFile() {
        byte[][] inputs = {new byte[0], "null".getBytes(UTF_8), "[]".getBytes(UTF_8), "{}".getBytes(UTF_8),
            "\u0000\u0001garbage".getBytes(UTF_8), new byte[] {(byte) 0xc1}, new byte[] {(byte) 0xff, 0, 0, 0, 1, 2},
            new byte[] {(byte) 0x28, (byte) 0xb5, 0x2f, (byte) 0xfd, 0, 0, 0}};
        for (RegistryFile f : RegistryFile.PRIORITY) {
            for (byte[] b : inputs) {
                assertCorrupt(b, f);
            }
            Random rnd = new Random(7);
            for (int i = 0; i < 200; i++) {
                byte[] b = new byte[rnd.nextInt(64)];
                rnd.nextBytes(b);
                assertCorrupt(b, f);
            }
        }
    }

    @Test
    void wrongTypesAndMissingFieldsAreCorrupt() {
        String schema = "\"dtype\":{\"type\":\"float32\"},\"shape\":[4],\"chunk_shape\":[4],\"dimension_names\":[\"x\"],"
                + "\"codec\":\"Zstd\"";
        decodeJson("{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema + "}}}}}");
        String[] bad = {
            "{\"datasets\":{}}", "{\"version\":1}", "{\"version\":\"1\",\"datasets\":{}}", "{\"version\":-1,\"datasets\":{}}",
            "{\"version\":4294967296,\"datasets\":{}}", "{\"version\":1.0,\"datasets\":{}}",
            "{\"version\":1,\"codec\":\"Snappy\",\"datasets\":{}}", "{\"version\":1,\"codec\":1,\"datasets\":{}}",
            "{\"version\":1,\"datasets\":[]}", "{\"version\":1,\"datasets\":{\"d\":[]}}",
            "{\"version\":1,\"version\":1,\"datasets\":{}}", "{\"version\":1,\"datasets\":{}} x",
            "{\"version\":1,\"datasets\":{}}{}", "{\"version\":1,\"datasets\":{},}", "{'version':1,\"datasets\":{}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"attributes\":{\"a\":null}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"attributes\":{\"a\":[1]}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"attributes\":{\"a\":{}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"attributes\":{\"a\":9223372036854775808}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"attributes\":{\"a\":1e400}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"attributes\":{\"a\":NaN}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"attributes\":{\"a\":01}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"string_attributes\":\"a\"}}}",
            "{\"version\":1,\"layers\":{\"a\":-1},\"datasets\":{}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("[4],", "\"4\",") + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("[4],\"chunk", "[-4],\"chunk")
                + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("[4],\"chunk", "[4.0],\"chunk")
                + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("float32", "float16") + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("float32", "Float32") + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("\"Zstd\"", "\"zstd\"") + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("[\"x\"]", "[1]") + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace(",\"codec\":\"Zstd\"", "")
                + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("\"dtype\":{\"type\":\"float32\"},",
                "") + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("{\"type\":\"float32\"}",
                "{\"type\":\"list\"}") + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("{\"type\":\"float32\"}",
                "{\"type\":\"fixed_size_list\",\"args\":{\"child\":{\"type\":\"int8\"},\"size\":4294967296}}") + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("{\"type\":\"float32\"}",
                "{\"type\":\"int8\",\"args\":{\"child\":{\"type\":\"int8\"}}}") + "}}}}}",
            "{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace("{\"type\":\"float32\"}",
                "{\"type\":\"list\",\"args\":{\"child\":".repeat(100) + "{\"type\":\"int8\"}" + "}}".repeat(100))
                + "}}}}}",
        };
        for (String s : bad) {
            try {
                decodeJson(s);
                fail("decoded: " + s);
            } catch (CorruptFileException e) {
                assertEquals("test/atlas.json", e.file());
            }
        }
        // A nested list dtype within the depth limit, args before type, is fine.
        Registry r = decodeJson("{\"version\":1,\"datasets\":{\"d\":{\"arrays\":{\"a\":{" + schema.replace(
                "{\"type\":\"float32\"}", "{\"args\":{\"child\":{\"type\":\"int8\"}},\"type\":\"list\"}") + "}}}}}");
        assertEquals(DType.list(DType.INT8), r.datasets.get("d").arrays.get("a").dtype());
    }

    @Test
    void msgPackSpecificDamageIsCorrupt() {
        // {"version": 1, "datasets": {"d": {"attributes": {"a": <value>}}}}
        byte[] head = {(byte) 0x82, (byte) 0xa7, 'v', 'e', 'r', 's', 'i', 'o', 'n', 1, (byte) 0xa8, 'd', 'a', 't', 'a',
            's', 'e', 't', 's', (byte) 0x81, (byte) 0xa1, 'd', (byte) 0x81, (byte) 0xaa, 'a', 't', 't', 'r', 'i', 'b',
            'u', 't', 'e', 's', (byte) 0x81, (byte) 0xa1, 'a'};
        assertEquals(Attr.of(5L), RegistryCodec.decode(concat(head, new byte[] {5}), MSGPACK, "k").datasets.get("d")
                .attributes.get("a"));
        assertEquals(Attr.of(1.5), RegistryCodec.decode(concat(head, new byte[] {(byte) 0xca, 0x3f, (byte) 0xc0, 0, 0}),
                MSGPACK, "k").datasets.get("d").attributes.get("a"), "float 32 widens");
        byte[][] values = {
            {(byte) 0xcf, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0}, // uint 64 above i64::MAX
            {(byte) 0xc0}, // nil
            {(byte) 0xc4, 1, 0}, // bin 8
            {(byte) 0xd4, 1, 0}, // fixext 1
            {(byte) 0xdb, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 'x'}, // str 32 claiming 2 GiB
            {(byte) 0xc6, 0x7f, (byte) 0xff, (byte) 0xff, (byte) 0xff, 'x'}, // bin 32 claiming 2 GiB
            {(byte) 0xdd, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}, // array 32 of 4G elements
            {(byte) 0xdf, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff}, // map 32 of 4G entries
            {(byte) 0x91, (byte) 0x01}, // [1]
            {(byte) 0xc1}, // never used
        };
        for (byte[] v : values) {
            assertCorrupt(concat(head, v), MSGPACK);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void hostileLz4PrefixesAreRefusedBeforeAllocating() {
        RegistryFile lz4 = RegistryFile.ofFileName("atlas.msgpack.lz4");
        assertCorrupt(new byte[] {0, 0, 0, (byte) 0x80, 0x10, 0x41}, lz4); // 2 GiB
        assertCorrupt(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 0x10, 0x41}, lz4); // 4 GiB
        assertCorrupt(new byte[] {0, 0, 0, 0x30, 0x10, 0x41}, lz4); // 768 MiB from 2 bytes
        byte[] good = RegistryCodec.encode(sample(), lz4);
        byte[] shorter = good.clone();
        shorter[0]--;
        assertCorrupt(shorter, lz4);
        byte[] longer = good.clone();
        longer[0]++;
        assertCorrupt(longer, lz4);
    }

    @Test
    void aZstdBombBeyondTheCapIsRefusedWhileStreaming() throws IOException {
        // "{" then 1 GiB + 1 MiB of spaces: valid JSON so far, so only the cap can stop it.
        ByteArrayOutputStream bomb = new ByteArrayOutputStream();
        try (ZstdOutputStream z = new ZstdOutputStream(bomb, 3)) {
            z.write('{');
            byte[] spaces = new byte[1 << 20];
            Arrays.fill(spaces, (byte) ' ');
            for (int i = 0; i <= RegistryCodec.MAX_REGISTRY_BYTES >> 20; i++) {
                z.write(spaces);
            }
        }
        byte[] b = bomb.toByteArray();
        assertTrue(b.length < 1 << 20, "compressed bomb is small: " + b.length);
        CorruptFileException e = assertThrows(CorruptFileException.class,
                () -> RegistryCodec.decode(b, RegistryFile.ofFileName("atlas.json.zst"), "bomb"));
        assertTrue(e.getMessage().contains("maximum"), e.getMessage());
        // MessagePack: a map whose key is a 64 MiB str 32, refused at a 1 MiB cap.
        ByteArrayOutputStream mp = new ByteArrayOutputStream();
        try (ZstdOutputStream z = new ZstdOutputStream(mp, 3)) {
            z.write(new byte[] {(byte) 0x81, (byte) 0xdb, 0x04, 0, 0, 0});
            z.write(new byte[64 << 20]);
        }
        CorruptFileException m = assertThrows(CorruptFileException.class, () -> RegistryCodec.decode(mp.toByteArray(),
                RegistryFile.ofFileName("atlas.msgpack.zst"), "mp-bomb", 1 << 20));
        assertTrue(m.getMessage().contains("maximum"), m.getMessage());
        // The same with a small cap, and a registry that is valid but over a cap.
        byte[] ok = RegistryCodec.encode(rich(), RegistryFile.ofFileName("atlas.json.zst"));
        assertThrows(CorruptFileException.class,
                () -> RegistryCodec.decode(ok, RegistryFile.ofFileName("atlas.json.zst"), "k", 1024));
        assertThrows(CorruptFileException.class, () -> RegistryCodec.decode(RegistryCodec.encode(rich(), JSON), JSON,
                "k", 1024));
        assertThrows(CorruptFileException.class, () -> RegistryCodec.decode(RegistryCodec.encode(rich(),
                RegistryFile.ofFileName("atlas.json.lz4")), RegistryFile.ofFileName("atlas.json.lz4"), "k", 1024));
    }

    @Test
    void trailingGarbageAfterAZstdFrameIsCorrupt() {
        RegistryFile zst = RegistryFile.ofFileName("atlas.json.zst");
        byte[] good = RegistryCodec.encode(sample(), zst);
        assertCorrupt(concat(good, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}), zst);
        assertCorrupt(concat(good, good), zst); // two frames: the JSON of the second is trailing data
    }

    /**
     * Flips, smashes, inserts and deletes bytes of both fixtures (A1 JSON, A2 zstd MessagePack and
     * its decompressed bytes). Every outcome is a registry or a CorruptFileException; a decoded
     * registry re-encodes as MessagePack and decodes to the same content.
     */
    @Test
    void damagedFixturesFailOnlyAsCorrupt() throws Exception {
        long seed = Long.getLong("atlas.fuzz.seed", System.nanoTime());
        int cases = Integer.getInteger("atlas.fuzz.cases", 3_000);
        System.out.println("RegistryCodecTest fuzz seed=" + seed + " cases=" + cases
                + " (rerun with -Datlas.fuzz.seed=" + seed + ")");
        byte[] a1 = registryBytes(expectedStore("A1"));
        byte[] a2 = registryBytes(expectedStore("A2"));
        List<Map.Entry<byte[], RegistryFile>> inputs = List.of(Map.entry(a1, JSON),
                Map.entry(a2, RegistryFile.ofFileName("atlas.msgpack.zst")), Map.entry(unzstd(a2), MSGPACK));
        Random rnd = new Random(seed);
        int decoded = 0;
        for (int c = 0; c < cases; c++) {
            for (Map.Entry<byte[], RegistryFile> in : inputs) {
                byte[] b = mutate(in.getKey(), rnd);
                try {
                    Registry r = RegistryCodec.decode(b, in.getValue(), "fuzz");
                    decoded++;
                    assertEquals(view(r), view(roundTrip(r, MSGPACK)), "seed " + seed + " case " + c);
                } catch (CorruptFileException expected) {
                    assertEquals("fuzz", expected.file());
                } catch (Throwable t) {
                    throw new AssertionError("seed " + seed + " case " + c + " (" + in.getValue().fileName() + "): " + t, t);
                }
            }
        }
        System.out.println("RegistryCodecTest fuzz: " + decoded + " of " + 3 * cases + " damaged inputs still decoded");
    }

    private static byte[] mutate(byte[] src, Random rnd) {
        byte[] b = src.clone();
        int edits = 1 + rnd.nextInt(4);
        for (int e = 0; e < edits; e++) {
            int at = rnd.nextInt(b.length);
            switch (rnd.nextInt(6)) {
                case 0 -> b[at] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> b[at] = (byte) rnd.nextInt(256);
                case 2 -> b[at] = (byte) new int[] {0x00, 0x7f, 0x80, 0xc0, 0xcf, 0xdb, 0xdf, 0xff, '"', '{', '['}
                        [rnd.nextInt(11)];
                case 3 -> b = Arrays.copyOf(b, Math.max(0, at));
                case 4 -> {
                    byte[] n = new byte[b.length + 1];
                    System.arraycopy(b, 0, n, 0, at);
                    n[at] = (byte) rnd.nextInt(256);
                    System.arraycopy(b, at, n, at + 1, b.length - at);
                    b = n;
                }
                default -> {
                    byte[] n = new byte[b.length - 1];
                    System.arraycopy(b, 0, n, 0, at);
                    System.arraycopy(b, at + 1, n, at, b.length - at - 1);
                    b = n;
                }
            }
            if (b.length == 0) {
                break;
            }
        }
        return b;
    }
}
