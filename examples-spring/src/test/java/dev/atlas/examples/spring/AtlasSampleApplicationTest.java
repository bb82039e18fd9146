package dev.atlas.examples.spring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.http.HttpStatus;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.EntityExchangeResult;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The sample application with the starter, on a real port: a store written to disk with the
 * engine (three datasets of one 2-D float32 array, one larger array), then read through the
 * WebFlux routes (a region, a bulk stack, a streamed read of many pieces, HEAD, a JSON 404) and
 * the engine's and routes' meters read back from {@code /actuator/prometheus}.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"atlas.http.stream-piece-size=64KB", "atlas.refresh-interval=0s"})
class AtlasSampleApplicationTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    /** Side of the large array: 1024 x 1024 float32 = 4 MiB, 64 pieces of 64 KiB (more than loopback's socket buffers hold). */
    private static final int BIG = 1024;
    /** Side of the stall test's array: 2048 x 2048 float32 = 16 MiB, 256 pieces (far more than the kernel's 4 MiB send buffer holds). */
    private static final int HUGE = 2048;

    @Value("${local.server.port}")
    int port;

    @DynamicPropertySource
    static void store(DynamicPropertyRegistry registry) throws Exception {
        Path dir = Paths.get("target", "sample-store-" + System.nanoTime()).toAbsolutePath();
        Files.createDirectories(dir.getParent());
        writeStore(dir);
        registry.add("atlas.store", dir::toString);
    }

    /** Datasets d0, d1, d2 with array t (4 x 6 float32, value 100 * dataset + 6 * row + column); d0 also has big. */
    static void writeStore(Path dir) {
        EngineResources resources = EngineResources.create();
        try {
            Atlas atlas = LocalAtlas.create(dir, AtlasOptions.builder(resources).build()).block(TIMEOUT);
            try {
                for (int d = 0; d < 3; d++) {
                    DatasetView ds = atlas.createDataset("d" + d).block(TIMEOUT);
                    ds.defineArray("t", ArraySpec.of(DType.FLOAT32, 4, 6).withChunks(2, 3)).block(TIMEOUT);
                    float[] v = new float[24];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = 100 * d + i;
                    }
                    try (NdArray a = NdArray.ofFloats(new long[] {4, 6}, v)) {
                        ds.writeArray("t", new long[2], a).block(TIMEOUT);
                    }
                }
                DatasetView d0 = atlas.dataset("d0");
                d0.defineArray("big", ArraySpec.of(DType.FLOAT32, BIG, BIG).withChunks(128, 256)).block(TIMEOUT);
                float[] v = new float[BIG * BIG];
                for (int i = 0; i < v.length; i++) {
                    v[i] = i;
                }
                try (NdArray a = NdArray.ofFloats(new long[] {BIG, BIG}, v)) {
                    d0.writeArray("big", new long[2], a).block(TIMEOUT);
                }
                d0.defineArray("huge", ArraySpec.of(DType.FLOAT32, HUGE, HUGE).withChunks(256, 512)).block(TIMEOUT);
                float[] h = new float[HUGE * HUGE];
                java.util.Arrays.fill(h, 7f);
                try (NdArray a = NdArray.ofFloats(new long[] {HUGE, HUGE}, h)) {
                    d0.writeArray("huge", new long[2], a).block(TIMEOUT);
                }
                atlas.flush().block(TIMEOUT);
            } finally {
                atlas.close().block(TIMEOUT);
            }
        } finally {
            resources.disposeLater().block(TIMEOUT);
        }
    }

    private WebTestClient client() {
        return WebTestClient.bindToServer().baseUrl("http://127.0.0.1:" + port).responseTimeout(TIMEOUT)
                .codecs(c -> c.defaultCodecs().maxInMemorySize(16 << 20)).build();
    }

    private static float[] floats(byte[] body) {
        ByteBuffer b = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[body.length / 4];
        for (int i = 0; i < out.length; i++) {
            out[i] = b.getFloat(4 * i);
        }
        return out;
    }

    @Test
    void readsARegion() {
        assertTrue(dev.atlas.testing.AtlasTestSession.blockHoundInstalled(), "BlockHound watches this JVM's non-blocking threads");
        EntityExchangeResult<byte[]> r = client().get().uri("/atlas/datasets/d1/arrays/t/data?region=1:3,2:5").exchange()
                .expectStatus().isOk()
                .expectHeader().valueEquals("X-Atlas-DType", "Float32")
                .expectHeader().valueEquals("X-Atlas-Shape", "2,3")
                .expectHeader().contentLength(24)
                .expectBody(byte[].class).returnResult();
        assertArrayEquals(new float[] {108, 109, 110, 114, 115, 116}, floats(r.getResponseBody()));
    }

    @Test
    void readsABulkStackAcrossDatasets() {
        EntityExchangeResult<byte[]> r = client().get().uri("/atlas/arrays/t/data?datasets=d2,d0&region=0:2,4:6").exchange()
                .expectStatus().isOk()
                .expectHeader().valueEquals("X-Atlas-Shape", "2,2,2")
                .expectBody(byte[].class).returnResult();
        // d2's rows first (request order), then d0's.
        assertArrayEquals(new float[] {204, 205, 210, 211, 4, 5, 10, 11}, floats(r.getResponseBody()));
        EntityExchangeResult<byte[]> posted = client().post().uri("/atlas/arrays/t/data?region=3:4,0:2")
                .header("Content-Type", "application/json").bodyValue("{\"datasets\":[\"d0\",\"d1\",\"d2\"]}").exchange()
                .expectStatus().isOk()
                .expectBody(byte[].class).returnResult();
        assertArrayEquals(new float[] {18, 19, 118, 119, 218, 219}, floats(posted.getResponseBody()));
    }

    @Test
    void streamsALargeReadInPieces() {
        EntityExchangeResult<byte[]> r = client().get().uri("/atlas/datasets/d0/arrays/big/data").exchange()
                .expectStatus().isOk()
                .expectHeader().contentLength(4L * BIG * BIG)
                .expectBody(byte[].class).returnResult();
        float[] v = floats(r.getResponseBody());
        assertEquals(BIG * BIG, v.length);
        for (int i = 0; i < v.length; i++) {
            if (v[i] != i) {
                throw new AssertionError("element " + i + " is " + v[i]);
            }
        }
    }

    @Test
    void aClientLeavingMidStreamIsCountedAndItsBuffersReleased() throws Exception {
        // Take the first chunk of a 4 MiB answer, then close the connection: the server's stream is
        // cancelled mid-way; the leak check after this test proves every piece was released.
        byte[] first = reactor.netty.http.client.HttpClient.create().baseUrl("http://127.0.0.1:" + port)
                .get().uri("/atlas/datasets/d0/arrays/big/data")
                .responseContent().take(1).map(b -> {
                    byte[] out = new byte[b.readableBytes()];
                    b.readBytes(out);
                    return out;
                }).blockLast(TIMEOUT);
        assertNotNull(first);
        assertTrue(first.length > 0 && first.length < 4 * BIG * BIG, "got " + first.length + " bytes");
        // The routes record the request as the client's doing, not as a server error.
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String text = "";
        while (System.nanoTime() < deadline) {
            text = client().get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
                    .expectBody(String.class).returnResult().getResponseBody();
            if (text.lines().anyMatch(l -> l.startsWith("atlas_http_requests_seconds_count{")
                    && l.contains("route=\"/datasets/{dataset}/arrays/{array}/data\"") && l.contains("status=\"client-closed\""))) {
                break;
            }
            Thread.sleep(50);
        }
        assertTrue(text.contains("status=\"client-closed\""), text);
        assertTrue(text.lines().noneMatch(l -> l.startsWith("atlas_http_requests_seconds_count{") && l.contains("status=\"500\"")),
                text);
        // The server goes on serving.
        client().get().uri("/atlas/health").exchange().expectStatus().isOk().expectBody().jsonPath("$.status").isEqualTo("ok");
    }

    /** The value of counter {@code name} (no tags) in a scrape. */
    private double counter(String name) {
        String text = client().get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
                .expectBody(String.class).returnResult().getResponseBody();
        return text.lines().filter(l -> l.startsWith(name + " ")).mapToDouble(l -> Double.parseDouble(l.substring(name.length() + 1)))
                .findFirst().orElse(0);
    }

    /** The most a TCP socket's send buffer may grow to (Linux: the third field of tcp_wmem), 4 MiB when unknown. */
    private static long kernelSendBufferMax() {
        try {
            String[] f = Files.readString(Paths.get("/proc/sys/net/ipv4/tcp_wmem")).trim().split("\\s+");
            return Long.parseLong(f[2]);
        } catch (Exception e) {
            return 4L << 20;
        }
    }

    @Test
    void aStalledClientStallsTheReadsNotTheMemory() throws Exception {
        // A client that sends its request and then reads nothing: the stream must stop reading
        // pieces once the connection stops draining (the writability gate on WebFlux's Netty
        // channel). What may be read: what the kernel's send buffer takes (up to tcp_wmem's 4 MiB,
        // 64 pieces) and a piece or two more; without the gate reactor-netty's send would also
        // read 128 pieces ahead into its queue.
        double before = counter("atlas_http_stream_pieces_total");
        try (java.net.Socket socket = new java.net.Socket()) {
            socket.setReceiveBufferSize(16 << 10);
            socket.connect(new java.net.InetSocketAddress("127.0.0.1", port));
            socket.getOutputStream().write(("GET /atlas/datasets/d0/arrays/huge/data HTTP/1.1\r\nHost: x\r\n\r\n")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            socket.getOutputStream().flush();
            Thread.sleep(1_000);
            double stalled = counter("atlas_http_stream_pieces_total") - before;
            // The kernel's largest send buffer (tcp_wmem's maximum; 4 MiB here and by default) in pieces, plus slack.
            long kernelPieces = kernelSendBufferMax() / (64 << 10);
            long bound = kernelPieces + 8;
            assertTrue(bound < 128, "a send buffer of " + kernelPieces + " pieces hides the gate; enlarge the array");
            assertTrue(stalled >= 1 && stalled <= bound, stalled + " of 256 pieces read while the client read nothing (bound "
                    + bound + ")");
            // Then the client reads: the rest arrives, all of it.
            java.io.InputStream in = socket.getInputStream();
            long total = 0;
            byte[] buf = new byte[1 << 16];
            boolean headersDone = false;
            StringBuilder head = new StringBuilder();
            while (total < 4L * HUGE * HUGE) {
                int n = in.read(buf);
                if (n < 0) {
                    break;
                }
                if (!headersDone) {
                    head.append(new String(buf, 0, n, java.nio.charset.StandardCharsets.ISO_8859_1));
                    int end = head.indexOf("\r\n\r\n");
                    if (end < 0) {
                        continue;
                    }
                    headersDone = true;
                    total = head.length() - (end + 4);
                    continue;
                }
                total += n;
            }
            assertEquals(4L * HUGE * HUGE, total);
        }
    }

    @Test
    void answersHeadAndErrorsLikeTheReactorNettyRoutes() {
        client().head().uri("/atlas/datasets/d0/arrays/big/data").exchange()
                .expectStatus().isOk()
                .expectHeader().contentLength(4L * BIG * BIG)
                .expectBody().isEmpty();
        client().get().uri("/atlas/datasets/nope").exchange()
                .expectStatus().isEqualTo(HttpStatus.NOT_FOUND)
                .expectHeader().contentType("application/json")
                .expectBody().jsonPath("$.parameter").isEqualTo("dataset");
        client().delete().uri("/atlas/datasets/d0").exchange()
                .expectStatus().isEqualTo(HttpStatus.METHOD_NOT_ALLOWED)
                .expectHeader().exists("Allow")
                .expectBody().jsonPath("$.error").exists();
        client().get().uri("/atlas/health").exchange()
                .expectStatus().isOk()
                .expectBody().jsonPath("$.datasets").isEqualTo(3);
    }

    @Test
    void prometheusShowsEngineAndRouteMeters() {
        client().get().uri("/atlas/datasets/d2/arrays/t/data?region=0:1,0:1").exchange().expectStatus().isOk()
                .expectBody(byte[].class).isEqualTo(new byte[] {0, 0, 0x48, 0x43}); // 200.0f, little-endian
        String text = client().get().uri("/actuator/prometheus").exchange()
                .expectStatus().isOk()
                .expectBody(String.class).returnResult().getResponseBody();
        assertNotNull(text);
        // The engine's read caches: lookups, and the slab cache's loads (storage range reads) and bytes read from storage.
        assertTrue(text.contains("atlas_cache_requests_total{cache=\"block\""), text);
        assertTrue(text.lines().anyMatch(l -> l.startsWith("atlas_cache_loads_total{cache=\"slab\"") && !l.endsWith(" 0.0")),
                "storage range reads counted:\n" + text);
        assertTrue(text.lines().anyMatch(l -> l.startsWith("atlas_cache_loaded_bytes_total{cache=\"slab\"")
                && !l.endsWith(" 0.0")), "bytes read from storage counted:\n" + text);
        assertTrue(text.contains("atlas_store_datasets"), text);
        // The engine's storage calls, timed by backend, operation and outcome (AtlasMetrics).
        assertTrue(text.lines().anyMatch(l -> l.startsWith("atlas_storage_requests_seconds_count{")
                && l.contains("backend=\"local\"") && l.contains("operation=\"read\"") && l.contains("outcome=\"ok\"")
                && !l.endsWith(" 0.0")), "storage reads timed:\n" + text);
        // The routes' own request timers, by route pattern and status.
        assertTrue(text.lines().anyMatch(l -> l.startsWith("atlas_http_requests_seconds_count{")
                && l.contains("route=\"/datasets/{dataset}/arrays/{array}/data\"") && l.contains("status=\"200\"")), text);
    }
}
