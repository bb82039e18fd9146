package dev.atlas.http;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.Await.poll;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetView;
import dev.atlas.testing.EngineTestBase;
import io.netty.handler.codec.http.HttpHeaders;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * The HTTP service over loopback against a real LocalAtlas store: every route, content checks
 * against the engine's own reads, every error class, path traversal, PNG decoding, metrics,
 * backpressure (a client that stops reading) and clients that disconnect mid-stream. Leak check
 * and BlockHound run as for every test.
 */
class AtlasHttpServerTest extends EngineTestBase {
    static final ObjectMapper MAPPER = new ObjectMapper();
    static final int GRIDS = 5;
    static final long[] TEMP_SHAPE = {4, 64, 128};
    static final long[] BIG_SHAPE = {8, 1024, 1024};          // 32 MiB of float32
    static final int PIECE = 256 << 10;

    static Atlas atlas;
    static AtlasHttpServer server;
    static HttpClient client;
    static ConnectionProvider pool;

    @BeforeAll
    static void startServer() {
        atlas = LocalAtlas.create(tmp.resolve("store"), AtlasOptions.builder(resources).tempDirectory(tmp).build())
                .block(TIMEOUT);
        Random rnd = new Random(42);
        for (int d = 0; d < GRIDS; d++) {
            DatasetView ds = atlas.createDataset(String.format("grid_%03d", d)).block(TIMEOUT);
            ds.setAttribute("title", Attr.of("grid " + d)).block(TIMEOUT);
            ds.setAttribute("index", Attr.of((long) d)).block(TIMEOUT);
            ds.defineArray("temperature", ArraySpec.of(DType.FLOAT32, TEMP_SHAPE).withChunks(1, 32, 32)
                    .withDimensions("time", "lat", "lon").withFill(new FillValue.Float(Double.NaN))).block(TIMEOUT);
            // Time steps 0..2 written (with a NaN cell); step 3 left to the fill value.
            float[] v = new float[3 * 64 * 128];
            for (int i = 0; i < v.length; i++) {
                v[i] = 250 + d + rnd.nextFloat() * 50;
            }
            v[5 * 128 + 7] = Float.NaN;                          // step 0, row 5, column 7
            try (NdArray slab = NdArray.ofFloats(new long[] {3, 64, 128}, v)) {
                ds.writeArray("temperature", new long[] {0, 0, 0}, slab).block(TIMEOUT);
            }
            ds.setArrayAttribute("temperature", "units", AttributeValue.ofString("K")).block(TIMEOUT);
            ds.defineArray("mask", ArraySpec.of(DType.UINT8, 64, 128).withChunks(64, 64)
                    .withFill(new FillValue.UInt(0))).block(TIMEOUT);
            byte[] m = new byte[64 * 128];
            for (int i = 0; i < m.length; i++) {
                m[i] = (byte) (i % 3);
            }
            try (NdArray slab = NdArray.ofBytes(DType.UINT8, new long[] {64, 128}, m)) {
                ds.writeArray("mask", new long[] {0, 0}, slab).block(TIMEOUT);
            }
        }
        DatasetView big = atlas.createDataset("big").block(TIMEOUT);
        big.defineArray("field", ArraySpec.of(DType.FLOAT32, BIG_SHAPE).withChunks(1, 256, 256)).block(TIMEOUT);
        for (int t = 0; t < BIG_SHAPE[0]; t++) {
            float[] v = new float[1024 * 1024];
            for (int i = 0; i < v.length; i++) {
                v[i] = t * 1_000_000f + i;
            }
            try (NdArray slab = NdArray.ofFloats(new long[] {1, 1024, 1024}, v)) {
                big.writeArray("field", new long[] {t, 0, 0}, slab).block(TIMEOUT);
            }
        }
        DatasetView labels = atlas.createDataset("labels").block(TIMEOUT);
        labels.defineArray("names", ArraySpec.of(DType.STRING, 3)).block(TIMEOUT);
        try (NdArray s = NdArray.ofStrings(new long[] {3}, List.of("a", "b\"c", "δ"))) {
            labels.writeArray("names", new long[] {0}, s).block(TIMEOUT);
        }
        atlas.flush().block(TIMEOUT);
        server = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0)
                .maxElementsPerRequest(9L << 20)
                .maxElementsPerResponse(12L << 20)
                .maxJsonElements(20_000)
                .maxPngPixels(1 << 20)
                .maxDatasetsPerBulk(50)
                .streamPieceBytes(PIECE)
                .resources(resources)
                .build());
        pool = ConnectionProvider.builder("test").maxConnections(16).build();
        client = HttpClient.create(pool).baseUrl(server.baseUrl()).responseTimeout(TIMEOUT);
    }

    @AfterAll
    static void stopServer() {
        server.close();
        pool.disposeLater().block(TIMEOUT);
        atlas.close().block(TIMEOUT);
    }

    record Resp(int status, HttpHeaders headers, byte[] body) {
        JsonNode json() throws Exception {
            return MAPPER.readTree(body);
        }

        String text() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    static Resp get(String uri) {
        return client.get().uri(uri).responseSingle((r, b) -> b.asByteArray().defaultIfEmpty(new byte[0])
                .map(bytes -> new Resp(r.status().code(), r.responseHeaders(), bytes))).block(TIMEOUT);
    }

    static Resp send(String method, String uri, String body) {
        return client.request(io.netty.handler.codec.http.HttpMethod.valueOf(method)).uri(uri)
                .send(body == null ? Mono.empty() : reactor.netty.ByteBufFlux.fromString(Mono.just(body)))
                .responseSingle((r, b) -> b.asByteArray().defaultIfEmpty(new byte[0])
                        .map(bytes -> new Resp(r.status().code(), r.responseHeaders(), bytes))).block(TIMEOUT);
    }

    static byte[] engineBytes(String ds, String array, long[] start, long[] shape) {
        try (NdArray a = atlas.dataset(ds).readArray(array, start, shape).block(TIMEOUT)) {
            byte[] out = new byte[a.data().readableBytes()];
            a.data().getBytes(a.data().readerIndex(), out);
            return out;
        }
    }

    static void assertError(Resp r, int status, String parameter) throws Exception {
        assertEquals(status, r.status(), () -> "body: " + r.text());
        assertEquals("application/json", r.headers().get("Content-Type"));
        JsonNode j = r.json();
        assertTrue(j.get("error").asText().length() > 5, r.text());
        if (parameter == null) {
            assertNull(j.get("parameter"), r.text());
        } else {
            assertEquals(parameter, j.path("parameter").asText(null), r.text());
        }
    }

    // ------------------------------------------------------------------ catalog

    @Test
    void healthReportsTheDatasetCount() throws Exception {
        Resp r = get("/health");
        assertEquals(200, r.status());
        assertEquals("ok", r.json().get("status").asText());
        assertEquals(GRIDS + 2, r.json().get("datasets").asInt());
        assertTrue(r.json().has("commit") && r.json().has("refreshed"), r.text());
    }

    @Test
    void healthReportsTheCommitItServes() throws Exception {
        JsonNode j = get("/health").json();
        assertFalse(j.get("commit").isNull(), j.toString());
        assertEquals(atlas.commitVersion(), j.get("commit").asText());
        assertEquals(atlas.lastRefresh(), java.time.Instant.parse(j.get("refreshed").asText()));
    }

    @Test
    void datasetPagesFollowTheirCursorsToTheEnd() throws Exception {
        List<String> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            Resp r = get("/datasets?limit=3" + (cursor == null ? "" : "&cursor=" + cursor));
            assertEquals(200, r.status(), r.text());
            JsonNode j = r.json();
            assertEquals(GRIDS + 2, j.get("total").asInt());
            j.get("datasets").forEach(d -> seen.add(d.get("name").asText()));
            cursor = j.get("next_cursor").isNull() ? null : j.get("next_cursor").asText();
            pages++;
        } while (cursor != null);
        assertEquals(3, pages);
        assertEquals(atlas.listDatasets(), seen);

        JsonNode grids = get("/datasets?prefix=grid_&limit=100").json();
        assertEquals(GRIDS, grids.get("total").asInt());
        JsonNode first = grids.get("datasets").get(0);
        assertEquals("grid_000", first.get("name").asText());
        assertEquals("temperature", first.get("arrays").get(0).get("name").asText());
        assertEquals("float32", first.get("arrays").get(0).get("dtype").asText().toLowerCase());
        assertEquals("grid 0", first.get("attributes").get("title").get("value").asText());
        assertEquals(0, get("/datasets?prefix=nothing").json().get("datasets").size());
    }

    @Test
    void oneDatasetShowsSchemasFillAttributesAndStats() throws Exception {
        Resp r = get("/datasets/grid_001");
        assertEquals(200, r.status(), r.text());
        JsonNode j = r.json();
        assertEquals("grid_001", j.get("name").asText());
        assertEquals(1, j.get("attributes").get("index").get("value").asInt());
        JsonNode t = j.get("arrays").get(0);
        assertEquals("temperature", t.get("name").asText());
        assertEquals("[4,64,128]", t.get("shape").toString());
        assertEquals("[1,32,32]", t.get("chunks").toString());
        assertEquals("[\"time\",\"lat\",\"lon\"]", t.get("dims").toString());
        assertEquals("NaN", t.get("fill").get("value").asText());
        assertEquals("K", t.get("attributes").get("units").get("value").asText());
        JsonNode stats = t.get("stats");
        assertTrue(stats.isObject(), r.text());
        double min = stats.get("min").get("value").asDouble();
        assertTrue(min >= 251 && min < 260, "min " + min);
        assertEquals(4 * 64 * 128, stats.get("row_count").asLong());
        JsonNode mask = j.get("arrays").get(1);
        assertEquals("mask", mask.get("name").asText());
        assertEquals("[64,64]", mask.get("chunks").toString());

        JsonNode one = get("/datasets/grid_001/arrays/mask").json();
        assertEquals("mask", one.get("name").asText());
        assertEquals("[64,128]", one.get("shape").toString());
    }

    @Test
    void arraysAcrossTheStoreCountTheirDatasets() throws Exception {
        JsonNode arrays = get("/arrays").json().get("arrays");
        List<String> names = new ArrayList<>();
        arrays.forEach(a -> names.add(a.get("name").asText()));
        assertEquals(List.of("field", "mask", "names", "temperature"), names);
        assertEquals(GRIDS, arrays.get(3).get("datasets").asInt());
        assertEquals(1, arrays.get(0).get("datasets").asInt());
    }

    // ------------------------------------------------------------------ data

    @Test
    void binaryRegionsEqualTheEnginesBytes() {
        String[][] cases = {
            {"region=0:1,10:42,10:74", "0,10,10", "1,32,64"},
            {"start=1,0,0&shape=2,64,128", "1,0,0", "2,64,128"},
            {"region=3,:,5:6", "3,0,5", "1,64,1"},                // unwritten: fill (NaN)
            {"", "0,0,0", "4,64,128"},                             // whole array
            {"region=:,63,:", "0,63,0", "4,1,128"},
        };
        for (String[] c : cases) {
            long[] start = Arrays.stream(c[1].split(",")).mapToLong(Long::parseLong).toArray();
            long[] shape = Arrays.stream(c[2].split(",")).mapToLong(Long::parseLong).toArray();
            Resp r = get("/datasets/grid_002/arrays/temperature/data?" + c[0]);
            assertEquals(200, r.status(), c[0] + ": " + r.text());
            assertEquals("application/octet-stream", r.headers().get("Content-Type"));
            assertEquals("float32", r.headers().get("X-Atlas-DType").toLowerCase());
            assertEquals(c[2], r.headers().get("X-Atlas-Shape"));
            assertEquals(c[1], r.headers().get("X-Atlas-Start"));
            assertArrayEquals(engineBytes("grid_002", "temperature", start, shape), r.body(), c[0]);
        }
        Resp mask = get("/datasets/grid_000/arrays/mask/data?region=1:3,60:70");
        assertArrayEquals(engineBytes("grid_000", "mask", new long[] {1, 60}, new long[] {2, 10}), mask.body());
    }

    @Test
    void largeRegionsStreamInManyPiecesInCOrder() {
        long[] start = {2, 100, 3};
        long[] shape = {3, 900, 1000};                             // 10.3 MiB, pieces cut inside rows
        Resp r = get("/datasets/big/arrays/field/data?start=2,100,3&shape=3,900,1000");
        assertEquals(200, r.status());
        assertEquals(3L * 900 * 1000 * 4, r.body().length);
        assertEquals(Long.toString(3L * 900 * 1000 * 4), r.headers().get("Content-Length"));
        assertArrayEquals(engineBytes("big", "field", start, shape), r.body());
    }

    @Test
    void jsonRegionsCarryValuesInCOrder() throws Exception {
        JsonNode j = get("/datasets/grid_003/arrays/temperature/data?region=0,4:6,6:9&format=json").json();
        assertEquals("[1,2,3]", j.get("shape").toString());
        try (NdArray a = atlas.dataset("grid_003").readArray("temperature", new long[] {0, 4, 6}, new long[] {1, 2, 3})
                .block(TIMEOUT)) {
            for (int i = 0; i < 6; i++) {
                JsonNode v = j.get("values").get(i);
                float expected = a.getFloat(i);
                if (Float.isNaN(expected)) {
                    assertEquals("NaN", v.asText());
                } else {
                    assertEquals(expected, (float) v.asDouble(), "value " + i);
                }
            }
        }
        assertEquals("NaN", j.get("values").get(4).asText());     // row 5, column 7: the NaN cell
        JsonNode s = get("/datasets/labels/arrays/names/data?format=json").json();
        assertEquals("[\"a\",\"b\\\"c\",\"δ\"]", s.get("values").toString());
    }

    @Test
    void bulkReadsStackRegionsInRequestOrder() throws Exception {
        List<String> order = List.of("grid_004", "grid_000", "grid_002");
        long[] start = {0, 8, 16};
        long[] shape = {2, 16, 16};
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        for (String ds : order) {
            expected.write(engineBytes(ds, "temperature", start, shape));
        }
        Resp get = get("/arrays/temperature/data?datasets=" + String.join(",", order) + "&region=0:2,8:24,16:32");
        assertEquals(200, get.status(), get.text());
        assertEquals("3,2,16,16", get.headers().get("X-Atlas-Shape"));
        assertArrayEquals(expected.toByteArray(), get.body());

        Resp post = send("POST", "/arrays/temperature/data?start=0,8,16&shape=2,16,16",
                "{\"datasets\": [\"grid_004\", \"grid_000\", \"grid_002\"]}");
        assertEquals(200, post.status(), post.text());
        assertArrayEquals(expected.toByteArray(), post.body());

        Resp prefix = get("/arrays/mask/data?prefix=grid_&limit=4&region=0:2,0:3");
        assertEquals("4,2,3", prefix.headers().get("X-Atlas-Shape"));
        ByteArrayOutputStream e2 = new ByteArrayOutputStream();
        for (int d = 0; d < 4; d++) {
            e2.write(engineBytes(String.format("grid_%03d", d), "mask", new long[] {0, 0}, new long[] {2, 3}));
        }
        assertArrayEquals(e2.toByteArray(), prefix.body());

        JsonNode json = get("/arrays/mask/data?datasets=grid_001,grid_000&region=0,0:4&format=json").json();
        assertEquals("[2,1,4]", json.get("shape").toString());
        assertEquals("[0,1,2,0,0,1,2,0]", json.get("values").toString());
        assertEquals("[\"grid_001\",\"grid_000\"]", json.get("datasets").toString());
    }

    @Test
    void bulkRegionsLargerThanAPieceStreamDatasetByDataset() throws Exception {
        Resp whole = get("/arrays/temperature/data?datasets=grid_001,grid_003");   // 128 KiB each: one batch
        assertEquals(200, whole.status(), whole.text());
        ByteArrayOutputStream expected = new ByteArrayOutputStream();
        expected.write(engineBytes("grid_001", "temperature", new long[3], TEMP_SHAPE));
        expected.write(engineBytes("grid_003", "temperature", new long[3], TEMP_SHAPE));
        assertArrayEquals(expected.toByteArray(), whole.body());
        Resp big = get("/arrays/field/data?datasets=big&region=2:4,0:512,1:513");   // 2 MiB: in pieces
        assertEquals(200, big.status(), big.text());
        assertEquals("1,2,512,512", big.headers().get("X-Atlas-Shape"));
        assertArrayEquals(engineBytes("big", "field", new long[] {2, 0, 1}, new long[] {2, 512, 512}), big.body());
    }

    // ------------------------------------------------------------------ png

    @Test
    void pngQuickLooksDecodeWithTransparentFill() throws Exception {
        Resp r = get("/datasets/grid_000/arrays/temperature/png?region=0,0:64,0:128");
        assertEquals(200, r.status(), r.text());
        assertEquals("image/png", r.headers().get("Content-Type"));
        BufferedImage img = ImageIO.read(new ByteArrayInputStream(r.body()));
        assertNotNull(img);
        assertEquals(128, img.getWidth());
        assertEquals(64, img.getHeight());
        assertEquals(0, img.getRGB(7, 5) >>> 24, "the NaN cell is transparent");
        assertEquals(255, img.getRGB(8, 5) >>> 24, "its neighbour is opaque");
        double min = Double.parseDouble(r.headers().get("X-Atlas-Min"));
        assertTrue(min >= 250 && min < 260, "min " + min);

        BufferedImage fill = ImageIO.read(new ByteArrayInputStream(
                get("/datasets/grid_000/arrays/temperature/png?region=3,0:10,0:20").body()));
        assertEquals(20, fill.getWidth());
        assertEquals(10, fill.getHeight());
        for (int x = 0; x < 20; x++) {
            assertEquals(0, fill.getRGB(x, 3) >>> 24, "unwritten step (fill) is transparent");
        }

        // Asked for at most 32 columns: every 4th row and column of the same picture, same scale.
        Resp small = get("/datasets/grid_000/arrays/temperature/png?region=0,0:64,0:128&width=32&min=250&max=300");
        Resp full = get("/datasets/grid_000/arrays/temperature/png?region=0,0:64,0:128&min=250&max=300");
        assertEquals("4", small.headers().get("X-Atlas-Stride"));
        assertEquals("1", full.headers().get("X-Atlas-Stride"));
        BufferedImage si = ImageIO.read(new ByteArrayInputStream(small.body()));
        BufferedImage fi = ImageIO.read(new ByteArrayInputStream(full.body()));
        assertEquals(32, si.getWidth());
        assertEquals(16, si.getHeight());
        for (int y = 0; y < 16; y++) {
            for (int x = 0; x < 32; x++) {
                assertEquals(fi.getRGB(4 * x, 4 * y), si.getRGB(x, y), x + "," + y);
            }
        }
        assertError(get("/datasets/grid_000/arrays/temperature/png?width=0"), 400, "width");

        Resp gray = get("/datasets/grid_000/arrays/mask/png?cmap=gray&min=0&max=2");
        BufferedImage g = ImageIO.read(new ByteArrayInputStream(gray.body()));
        assertEquals(128, g.getWidth());
        assertEquals(64, g.getHeight());
        assertEquals(0, g.getRGB(0, 0) >>> 24, "0 is the mask's fill value: transparent");
        assertEquals(0xFF808080, g.getRGB(1, 0), "1 of 0..2 -> mid gray");
        assertEquals(0xFFFFFFFF, g.getRGB(2, 0), "2 -> white");
    }

    // ------------------------------------------------------------------ metrics

    @Test
    void metricsExposeRequestsCachesAndMemory() {
        get("/health");
        get("/datasets/grid_000/arrays/mask/data?region=0:1,0:8");
        get("/datasets/nope");
        String text = get("/metrics").text();
        assertTrue(text.contains("atlas_http_requests_seconds_count{method=\"GET\",route=\"/health\",status=\"200\"}"), text);
        assertTrue(text.contains("route=\"/datasets/{dataset}\",status=\"404\""), text);
        assertTrue(text.contains("atlas_http_response_bytes_total"), text);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("atlas_cache_requests_total\\{cache=\"block\"\\} (\\S+)")
                .matcher(text);
        assertTrue(m.find(), text);
        assertTrue(Double.parseDouble(m.group(1)) > 0, "block cache requests counted: " + m.group(1));
        assertTrue(text.contains("atlas_cache_hit_ratio{cache=\"block\"}"), text);
        assertTrue(text.contains("atlas_cache_loaded_bytes_total{cache=\"slab\"}"), text);
        assertTrue(text.contains("atlas_netty_pooled_memory_used_bytes{kind=\"direct\"}"), text);
        assertTrue(text.contains("jvm_memory_used_bytes{area=\"heap\""), text);
    }

    // ------------------------------------------------------------------ errors

    @Test
    void badParametersAre400NamingTheParameter() throws Exception {
        String t = "/datasets/grid_000/arrays/temperature";
        assertError(get(t + "/data?region=0:1,0:65,0:10"), 400, "region");         // outside
        assertError(get(t + "/data?region=0:1,0:10"), 400, "region");               // rank
        assertError(get(t + "/data?region=0:1,5:5,0:10"), 400, "region");           // empty
        assertError(get(t + "/data?region=0:1,a:b,0:10"), 400, "region");
        assertError(get(t + "/data?region=0:1:2,0:1,0:1"), 400, "region");          // steps
        assertError(get(t + "/data?start=0,0,0"), 400, "shape");
        assertError(get(t + "/data?start=0,0,-1&shape=1,1,1"), 400, "start");
        assertError(get(t + "/data?start=0,0,0&shape=1,1"), 400, "shape");
        assertError(get(t + "/data?region=0,0,0&start=0,0,0&shape=1,1,1"), 400, "region");
        assertError(get(t + "/data?format=xml"), 400, "format");
        assertError(get(t + "/data?format=json&format=json"), 400, "format");
        assertError(get("/datasets/labels/arrays/names/data"), 400, "format");      // strings: JSON only
        assertError(get("/datasets?limit=0"), 400, "limit");
        assertError(get("/datasets?limit=100000"), 400, "limit");
        assertError(get("/datasets?cursor=x"), 400, "cursor");
        assertError(get(t + "/png?cmap=rainbow"), 400, "cmap");
        assertError(get(t + "/png?min=x"), 400, "min");
        assertError(get(t + "/png?min=5&max=1"), 400, "max");
        assertError(get(t + "/png?region=0:2,0:4,0:4"), 400, "region");              // 3-D
        assertError(get("/datasets/labels/arrays/names/png"), 400, "array");
        assertError(get("/arrays/temperature/data"), 400, "datasets");
        assertError(get("/arrays/temperature/data?datasets=grid_000,grid_000"), 400, "datasets");
        assertError(get("/arrays/temperature/data?datasets=grid_000&limit=3"), 400, "limit");
        assertError(send("POST", "/arrays/temperature/data", "{not json"), 400, "body");
        assertError(send("POST", "/arrays/temperature/data", "{\"datasets\": 3}"), 400, "datasets");
        assertError(send("POST", "/arrays/temperature/data", "{\"other\": []}"), 400, "body");
    }

    @Test
    void unknownNamesAndRoutesAre404WrongMethods405() throws Exception {
        assertError(get("/datasets/nope"), 404, "dataset");
        assertError(get("/datasets/nope/arrays/temperature/data"), 404, "dataset");
        assertError(get("/datasets/grid_000/arrays/nope/data"), 404, "array");
        assertError(get("/datasets/grid_000/arrays/nope"), 404, "array");
        assertError(get("/datasets/grid_000/arrays/nope/png"), 404, "array");
        assertError(get("/arrays/temperature/data?datasets=grid_000,nope"), 404, "dataset");
        assertError(get("/arrays/temperature/data?datasets=grid_000,big"), 404, "datasets");
        assertError(get("/arrays/temperature/data?prefix=zzz"), 404, "prefix");
        assertError(get("/nothing/here"), 404, null);
        assertError(get("/"), 404, null);
        Resp post = send("POST", "/health", "{}");
        assertError(post, 405, null);
        assertEquals("GET, HEAD", post.headers().get("Allow"));
        Resp del = send("DELETE", "/arrays/temperature/data", null);
        assertError(del, 405, null);
        assertEquals("GET, HEAD, POST", del.headers().get("Allow"));
    }

    @Test
    void limitsAre413() throws Exception {
        assertError(get("/datasets/big/arrays/field/data?region=0,0:200,0:200&format=json"), 413, "region");
        try (AtlasHttpServer small = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0)
                .maxElementsPerRequest(1000).maxElementsPerResponse(2500).maxJsonElements(100)
                .maxDatasetsPerBulk(3).maxPngPixels(100).maxPageSize(5).defaultPageSize(2).build())) {
            HttpClient c = HttpClient.create(pool).baseUrl(small.baseUrl());
            java.util.function.Function<String, Resp> g = uri -> c.get().uri(uri).responseSingle((r, b) -> b.asByteArray()
                    .defaultIfEmpty(new byte[0]).map(bytes -> new Resp(r.status().code(), r.responseHeaders(), bytes)))
                    .block(TIMEOUT);
            String t = "/datasets/grid_000/arrays/temperature";
            assertError(g.apply(t + "/data?region=0,0:32,0:32"), 413, "region");           // 1024 > 1000
            assertEquals(200, g.apply(t + "/data?region=0,0:31,0:32").status());            // 992
            assertError(g.apply(t + "/data?region=0,0:11,0:10&format=json"), 413, "region"); // 110 > 100
            assertError(g.apply("/arrays/temperature/data?prefix=grid_&region=0,0:30,0:30"), 413, "datasets");
            assertError(g.apply("/arrays/temperature/data?datasets=grid_000,grid_001,grid_002&region=0,0:30,0:30"),
                    413, "datasets");                                                        // 2700 > 2500
            assertEquals(200, g.apply("/arrays/temperature/data?prefix=grid_&limit=2&region=0,0:30,0:30").status());
            Resp strided = g.apply(t + "/png?region=0,0:11,0:10");                     // 110 pixels > 100: every 2nd
            assertEquals(200, strided.status(), strided.text());
            assertEquals("2", strided.headers().get("X-Atlas-Stride"));
            BufferedImage si = ImageIO.read(new ByteArrayInputStream(strided.body()));
            assertEquals(5, si.getWidth());
            assertEquals(6, si.getHeight());
            assertError(g.apply(t + "/png?region=0,0:32,0:32"), 413, "region");            // 1024 elements > 1000
            assertError(g.apply("/datasets?limit=6"), 400, "limit");
            assertEquals(2, g.apply("/datasets").json().get("datasets").size());
        }
    }

    @Test
    void namesCannotTraversePaths() throws Exception {
        for (String name : new String[] {"..", "%2E%2E", "..%2F..%2Fetc%2Fpasswd", "a%2Fb", "a%5Cb", "x%00y", "%2F"}) {
            Resp r = get("/datasets/" + name);
            assertError(r, 400, "dataset");
            assertError(get("/datasets/grid_000/arrays/" + name + "/data"), 400, "array");
            assertError(get("/arrays/" + name + "/data?datasets=grid_000"), 400, "array");
        }
        assertError(get("/arrays/temperature/data?datasets=..,grid_000"), 400, "datasets");
        assertError(get("/datasets/%zz"), 400, null);
        // Raw dot segments (no client normalisation): never a file, never a 500.
        for (String raw : new String[] {"/datasets/../../etc/passwd", "/datasets/./grid_000", "/datasets//grid_000"}) {
            int status = rawStatus(raw);
            assertTrue(status == 400 || status == 404, raw + " -> " + status);
        }
    }

    /** Sends a request line exactly as given and returns the status code. */
    static int rawStatus(String target) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            String head = new String(s.getInputStream().readNBytes(12), StandardCharsets.US_ASCII);
            return Integer.parseInt(head.substring(9, 12));
        }
    }

    // ------------------------------------------------------------------ backpressure and disconnects

    /** Opens a raw connection with a small receive buffer and sends GET {@code target}; returns the socket positioned after the headers. */
    static Socket openStream(String target) throws Exception {
        Socket s = new Socket();
        s.setReceiveBufferSize(64 << 10);
        s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
        s.setSoTimeout(30_000);
        OutputStream out = s.getOutputStream();
        out.write(("GET " + target + " HTTP/1.1\r\nHost: x\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = s.getInputStream();
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new AssertionError("connection closed in the headers: " + head);
            }
            head.append((char) c);
        }
        assertTrue(head.toString().startsWith("HTTP/1.1 200"), head.toString());
        return s;
    }

    @Test
    void aClientThatStopsReadingHoldsOnlyAFewPiecesOnTheServer() throws Exception {
        long total = 8L * 1024 * 1024 * 4;                          // the whole 32 MiB field
        long sentBefore = server.bytesSent();
        byte[] expected = engineBytes("big", "field", new long[3], BIG_SHAPE);
        try (Socket s = openStream("/datasets/big/arrays/field/data")) {
            InputStream in = s.getInputStream();
            byte[] got = new byte[(int) total];
            int read = in.readNBytes(got, 0, 64 << 10);
            Thread.sleep(1500);                                   // the client stalls
            long handedOver1 = server.bytesSent() - sentBefore;
            Thread.sleep(1000);
            long handedOver2 = server.bytesSent() - sentBefore;
            System.out.printf("stalled client: read %d bytes, server handed %d bytes to the network%n", read, handedOver2);
            assertEquals(handedOver1, handedOver2, "the server stopped producing while the client stalls");
            // Kernel socket buffers on both sides take a few MiB; the server itself holds at most a few pieces.
            assertTrue(handedOver2 - read < 16L << 20, "bytes produced ahead of the client: " + (handedOver2 - read));
            assertTrue(handedOver2 < total / 2, "produced " + handedOver2 + " of " + total);
            while (read < total) {                                // the client resumes
                int n = in.read(got, read, (int) Math.min(1 << 20, total - read));
                assertTrue(n > 0, "stream ended early at " + read);
                read += n;
            }
            assertArrayEquals(expected, got);
        }
        assertEquals(total, server.bytesSent() - sentBefore);
    }

    @Test
    void clientsThatDisconnectMidStreamLeakNothing() throws Exception {
        Random rnd = new Random(7);
        for (int i = 0; i < 12; i++) {
            String target = i % 3 == 2
                    ? "/arrays/field/data?datasets=big&region=0:8,0:1024,0:1024"
                    : "/datasets/big/arrays/field/data?region=0:" + (1 + rnd.nextInt(8)) + ",:,:";
            Socket s = openStream(target);
            s.getInputStream().readNBytes(rnd.nextInt(2 << 20));
            if (i % 2 == 0) {
                s.setSoLinger(true, 0);                             // RST instead of FIN
            }
            s.close();
        }
        // The server notices the resets; afterwards it still serves and holds nothing (the leak check runs after this test).
        poll(() -> get("/health").status(), status -> status == 200, Duration.ofMillis(100));
        Thread.sleep(500);
        assertEquals(200, get("/health").status());
        Resp r = get("/datasets/big/arrays/field/data?region=7,0:16,0:16");
        assertArrayEquals(engineBytes("big", "field", new long[] {7, 0, 0}, new long[] {1, 16, 16}), r.body());
    }

    @Test
    void theServerIsNotTheStoresOwner() {
        assertFalse(server.baseUrl().isEmpty());
        assertTrue(server.port() > 0);
        assertTrue(server.baseUrl().startsWith("http://127.0.0.1:"));
    }
}
