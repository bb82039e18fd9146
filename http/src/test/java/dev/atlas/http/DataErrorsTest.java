package dev.atlas.http;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.codec.CodecId;
import dev.atlas.error.ObjectChangedException;
import dev.atlas.format.DType;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.ChunkEntry;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.Trailer;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.storage.local.LocalStorage;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import dev.atlas.store.StoreCodec;
import dev.atlas.testing.EngineTestBase;
import dev.atlas.testing.ForwardingStorage;
import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaders;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.function.LongPredicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;

/**
 * Read failures over real sockets: the status line of a data response waits for its first piece,
 * so a read that fails at once is answered with its status and a JSON body on every data route
 * (404 for names the store lacks, 500 for damaged blocks, 503 with {@code Retry-After} for a
 * store that changed under the read), never {@code 200} with a cut body; a read that fails after
 * the first piece cuts the stream short of {@code Content-Length} and is counted. The store is a
 * real local directory whose block bytes are damaged on disk; the store-changed failure is
 * injected by a storage wrapper. Leak check (paranoid) and BlockHound run as for every test.
 */
class DataErrorsTest extends EngineTestBase {
    static final ObjectMapper MAPPER = new ObjectMapper();
    /** Piece size of the server: one chunk of {@code long} and {@code bad} per piece. */
    static final int PIECE = 64 << 10;
    /** {@code [time, 128, 128]} float32 arrays: 64 KiB per time step (one chunk, one block each). */
    static final long[] ROW = {1, 128, 128};
    static final long LONG_STEPS = 8;

    static Path dir;
    static FaultyReads storage;
    static Atlas atlas;
    static AtlasHttpServer server;
    static ConnectionProvider pool;
    static HttpClient client;

    @BeforeAll
    static void damagedStoreAndServer() throws Exception {
        dir = tmp.resolve("store");
        // Small blocks: every chunk its own zstd block, so one damaged block fails one piece.
        AtlasOptions options = AtlasOptions.builder(resources).tempDirectory(tmp).codec(StoreCodec.ZSTD)
                .blockTargetSize(16 << 10).build();
        Atlas writer = LocalAtlas.create(dir, options).block(TIMEOUT);
        DatasetView d = writer.createDataset("d").block(TIMEOUT);
        define(d, "fine", 2);
        define(d, "bad", 2);
        define(d, "long", LONG_STEPS);
        define(d, "slow", 2);
        writer.flush().block(TIMEOUT);
        writer.close().block(TIMEOUT);
        damage("bad", t -> t == 0);                        // the first piece fails
        damage("long", t -> t == LONG_STEPS - 1);         // the first pieces read, the last fails

        storage = new FaultyReads(LocalStorage.open(dir, resources));
        atlas = Atlas.open(storage, "", options).block(TIMEOUT).closeWith(storage.local);
        server = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0).streamPieceBytes(PIECE)
                .resources(resources).build());
        pool = ConnectionProvider.builder("errors").maxConnections(8).build();
        client = HttpClient.create(pool).baseUrl(server.baseUrl()).responseTimeout(TIMEOUT);
    }

    @AfterAll
    static void stop() {
        server.close();
        pool.disposeLater().block(TIMEOUT);
        atlas.close().block(TIMEOUT);
    }

    /** Defines {@code [steps, 128, 128]} float32 in chunks of one step and writes step t as the constant t + 1 (compressible: zstd). */
    static void define(DatasetView d, String array, long steps) {
        d.defineArray(array, ArraySpec.of(DType.FLOAT32, steps, ROW[1], ROW[2]).withChunks(ROW)).block(TIMEOUT);
        for (long t = 0; t < steps; t++) {
            float[] v = new float[(int) (ROW[1] * ROW[2])];
            Arrays.fill(v, t + 1);
            try (NdArray slab = NdArray.ofFloats(ROW, v)) {
                d.writeArray(array, new long[] {t, 0, 0}, slab).block(TIMEOUT);
            }
        }
    }

    /**
     * Overwrites, in every layer file of {@code array}, the compressed bytes of the blocks holding
     * the chunks of the time steps {@code steps} accepts, so that decoding them fails.
     */
    static void damage(String array, LongPredicate steps) throws IOException {
        int damaged = 0;
        try (Stream<Path> files = Files.walk(dir.resolve(array))) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                byte[] bytes = Files.readAllBytes(f);
                String magic = new String(bytes, Math.max(0, bytes.length - 4), Math.min(4, bytes.length), StandardCharsets.ISO_8859_1);
                if (!magic.equals(Trailer.LAYER_MAGIC)) {
                    continue;
                }
                Footer footer = Trailer.decodeLayer(ByteBuffer.wrap(bytes), f.toString());
                for (var meta : footer.arrays()) {
                    for (ChunkEntry c : meta.chunks()) {
                        if (!steps.test(c.coord(0))) {
                            continue;
                        }
                        BlockMeta block = footer.blocks().stream().filter(b -> b.id() == c.address().blockId()).findFirst()
                                .orElseThrow();
                        assertNotEquals(CodecId.NONE, block.codec(), "a compressed block, so damage is detected");
                        byte[] garbage = new byte[(int) block.compressedSize()];
                        Arrays.fill(garbage, (byte) 0x5A);
                        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                            ch.write(ByteBuffer.wrap(garbage), block.fileOffset());
                        }
                        damaged++;
                    }
                }
            }
        }
        assertTrue(damaged > 0, "damaged a block of " + array);
    }

    record Resp(int status, HttpHeaders headers, byte[] body) {
        JsonNode json() throws IOException {
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

    static Resp post(String uri, String body) {
        return client.post().uri(uri).send(ByteBufFlux.fromString(Mono.just(body)))
                .responseSingle((r, b) -> b.asByteArray().defaultIfEmpty(new byte[0])
                        .map(bytes -> new Resp(r.status().code(), r.responseHeaders(), bytes))).block(TIMEOUT);
    }

    static JsonNode assertJsonError(Resp r, int status, String what) throws IOException {
        assertEquals(status, r.status(), () -> what + ": " + r.text());
        assertEquals("application/json", r.headers().get("Content-Type"), what);
        assertNull(r.headers().get("X-Atlas-DType"), what + ": no data headers on an error");
        JsonNode j = r.json();
        assertTrue(j.get("error").asText().length() > 5, what + ": " + r.text());
        return j;
    }

    /** Cut streams counted so far, as the Prometheus endpoint shows them. */
    static double cuts() {
        Matcher m = Pattern.compile("(?m)^atlas_http_stream_cut_total (\\S+)$").matcher(get("/metrics").text());
        assertTrue(m.find(), "atlas_http_stream_cut_total on /metrics");
        return Double.parseDouble(m.group(1));
    }

    /** Reads that found damaged bytes with {@code outcome} ({@code error} or {@code cut}), summed over routes, from the server's registry. */
    static double corruptReads(String outcome) {
        return server.meterRegistry().find("atlas.corrupt.reads").tag("outcome", outcome).counters().stream()
                .mapToDouble(io.micrometer.core.instrument.Counter::count).sum();
    }

    /** Cut streams counted so far, from the server's registry (0 while the meter is absent). */
    static double cutCount() {
        var c = server.meterRegistry().find("atlas.http.stream.cut").counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void everyDataRouteAnswersMissingNamesWith404Json() throws Exception {
        String[][] cases = {
            {"/datasets/nope/arrays/fine/data", "dataset"},
            {"/datasets/d/arrays/nope/data", "array"},
            {"/datasets/d/arrays/nope/data?format=json", "array"},
            {"/datasets/nope/arrays/fine/data?region=0,0:2,0:2&format=json", "dataset"},
            {"/datasets/d/arrays/nope/png", "array"},
            {"/arrays/fine/data?datasets=d,nope", "dataset"},
            {"/arrays/nope/data?datasets=d", "datasets"},
            {"/arrays/fine/data?datasets=nope&format=json", "dataset"},
            {"/arrays/nope/data?prefix=d", "prefix"},
        };
        for (String[] c : cases) {
            assertEquals(c[1], assertJsonError(get(c[0]), 404, c[0]).path("parameter").asText(null), c[0]);
        }
        assertJsonError(post("/arrays/fine/data", "{\"datasets\": [\"d\", \"nope\"]}"), 404, "POST with a missing dataset");
        assertJsonError(post("/arrays/nope/data", "{\"datasets\": [\"d\"]}"), 404, "POST with a missing array");
    }

    @Test
    void aDamagedFirstBlockIsAJson500OnEveryDataRoute() throws Exception {
        double cutsBefore = cutCount();
        double corruptBefore = corruptReads("error");
        // slf4j-simple writes to whatever System.err is when it logs: capture what the requests log.
        java.io.PrintStream stderr = System.err;
        ByteArrayOutputStream logged = new ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(logged, true, StandardCharsets.UTF_8));
        try {
            for (String uri : List.of(
                    "/datasets/d/arrays/bad/data",                          // single read, binary stream
                    "/datasets/d/arrays/bad/data?region=0,0:4,0:4&format=json",
                    "/datasets/d/arrays/bad/png?region=0,:,:",
                    "/arrays/bad/data?datasets=d&region=0,0:8,0:8",         // bulk: one stacked read per batch
                    "/arrays/bad/data?datasets=d",                          // bulk: dataset by dataset, in pieces
                    "/arrays/bad/data?datasets=d&region=0,0:2,0:2&format=json")) {
                JsonNode j = assertJsonError(get(uri), 500, uri);
                assertTrue(j.get("error").asText().contains("damaged"), uri + ": " + j);
            }
            assertJsonError(post("/arrays/bad/data", "{\"datasets\": [\"d\"]}"), 500, "POST bulk");
        } finally {
            System.setErr(stderr);
        }
        List<String> lines = logged.toString(StandardCharsets.UTF_8).lines().toList();
        stderr.print(logged.toString(StandardCharsets.UTF_8));
        assertEquals(7, lines.stream().filter(l -> l.contains("CorruptFileException") && l.contains("bad/data.1.af")).count(),
                "one line per damaged read, naming object and block: " + lines);
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("\tat ")), "no stack traces: " + lines);
        // The undamaged step of the same array still reads, and nothing above was a cut stream.
        Resp ok = get("/datasets/d/arrays/bad/data?region=1,:,:");
        assertEquals(200, ok.status(), ok.text());
        assertEquals(ROW[1] * ROW[2] * 4, ok.body().length);
        assertEquals(2f, ByteBuffer.wrap(ok.body()).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat(0));
        assertEquals(cutsBefore, cutCount(), "errors before the first piece are not cut streams");
        assertEquals(corruptBefore + 7, corruptReads("error"), "each damaged read answered with a 500 is counted");
        Matcher m = Pattern.compile("(?m)^atlas_corrupt_reads_total\\{outcome=\"error\",route=\"/datasets/\\{dataset}/arrays/"
                + "\\{array}/data\",?} (\\S+)$").matcher(get("/metrics").text());
        assertTrue(m.find(), "atlas_corrupt_reads_total by route and outcome on /metrics");
        assertTrue(Double.parseDouble(m.group(1)) >= 2, m.group());
    }

    @Test
    void aStoreThatChangedUnderTheReadIs503WithRetryAfter() throws Exception {
        // The file set opens (footers, stats) first; then its block reads fail as if replaced.
        assertEquals(200, get("/datasets/d/arrays/fine").status());
        storage.failing = key -> key.startsWith("fine/");
        try {
            for (String uri : List.of("/datasets/d/arrays/fine/data", "/datasets/d/arrays/fine/data?format=json",
                    "/arrays/fine/data?datasets=d", "/arrays/fine/data?datasets=d&region=0,0:4,0:4")) {
                Resp r = get(uri);
                JsonNode j = assertJsonError(r, 503, uri);
                assertEquals("1", r.headers().get("Retry-After"), uri);
                assertTrue(j.get("error").asText().contains("changed"), uri + ": " + j);
            }
        } finally {
            storage.failing = key -> false;
        }
        Resp r = get("/datasets/d/arrays/fine/data?region=1,0:2,0:2");
        assertEquals(200, r.status(), r.text());
    }

    /** Sends GET {@code target} on a raw socket; returns the status line, headers and every body byte until the server closes. */
    static String[] rawExchange(String target, ByteArrayOutputStream body) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout((int) TIMEOUT.toMillis());
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
            in.transferTo(body);                                // until the server closes the connection
            return head.toString().split("\r\n");
        }
    }

    static long contentLength(String[] head) {
        for (String h : head) {
            if (h.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                return Long.parseLong(h.substring(h.indexOf(':') + 1).trim());
            }
        }
        throw new AssertionError("no Content-Length in " + Arrays.toString(head));
    }

    @Test
    void aReadFailingAfterTheFirstPieceCutsTheStreamAndIsCounted() throws Exception {
        double before = cutCount();
        double corruptCutsBefore = corruptReads("cut");
        for (String target : List.of("/datasets/d/arrays/long/data", "/arrays/long/data?datasets=d")) {
            ByteArrayOutputStream body = new ByteArrayOutputStream();
            String[] head = rawExchange(target, body);
            assertEquals("HTTP/1.1 200 OK", head[0], target);
            long promised = contentLength(head);
            assertEquals(LONG_STEPS * ROW[1] * ROW[2] * 4, promised, target);
            long good = (LONG_STEPS - 1) * ROW[1] * ROW[2] * 4;   // every step before the damaged last one
            assertEquals(good, body.size(), target + ": the body stops where the failed piece starts");
            ByteBuffer b = ByteBuffer.wrap(body.toByteArray()).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int t = 0; t < LONG_STEPS - 1; t++) {
                assertEquals(t + 1f, b.getFloat((int) (t * ROW[1] * ROW[2] * 4)), target + " step " + t);
            }
        }
        // The counter is incremented before the connection closes; a scrape after the exchanges sees both.
        assertEquals(before + 2, cuts(), "two cut streams counted");
        assertEquals(corruptCutsBefore + 2, corruptReads("cut"), "both were damaged bytes, counted as such");
        // Only the failure after the first piece cuts: a region that ends before the damage is whole.
        Resp whole = get("/datasets/d/arrays/long/data?region=0:7,:,:");
        assertEquals(200, whole.status());
        assertEquals((LONG_STEPS - 1) * ROW[1] * ROW[2] * 4, whole.body().length);
    }

    @Test
    void aClientGoneWhileTheFirstPieceIsReadLeaksNothing() throws Exception {
        storage.delayed = key -> key.startsWith("slow/");
        try {
            for (int i = 0; i < 4; i++) {
                Socket s = new Socket();
                s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
                s.getOutputStream().write(("GET /datasets/d/arrays/slow/data HTTP/1.1\r\nHost: x\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                s.getOutputStream().flush();
                Thread.sleep(50);                                     // the server is reading the first piece
                if (i % 2 == 0) {
                    s.setSoLinger(true, 0);                           // RST instead of FIN
                }
                s.close();
            }
            Thread.sleep(3 * FaultyReads.DELAY.toMillis());           // the delayed reads complete for nobody
        } finally {
            storage.delayed = key -> false;
        }
        // The held first pieces were released (the leak check runs after this test); the server still serves.
        Resp r = get("/datasets/d/arrays/slow/data?region=1,0:1,0:1");
        assertEquals(200, r.status(), r.text());
        assertEquals(2f, ByteBuffer.wrap(r.body()).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat(0));
    }

    /**
     * The local storage with injectable range-read faults: reads of keys {@link #failing} accepts
     * fail with {@link ObjectChangedException} (the store changed under the read, every retry
     * too); reads of keys {@link #delayed} accepts complete after {@link #DELAY}.
     */
    static final class FaultyReads extends ForwardingStorage {
        static final Duration DELAY = Duration.ofMillis(300);
        final LocalStorage local;
        volatile java.util.function.Predicate<String> failing = key -> false;
        volatile java.util.function.Predicate<String> delayed = key -> false;

        FaultyReads(LocalStorage local) {
            super(local);
            this.local = local;
        }

        private Mono<ByteBuf> faulty(String key, Mono<ByteBuf> read) {
            return Mono.defer(() -> {
                if (failing.test(key)) {
                    return Mono.error(new ObjectChangedException(key, "injected: '" + key + "' was replaced"));
                }
                // delaySubscription: the read itself starts late, so a cancel before then reads nothing.
                return delayed.test(key) ? read.delaySubscription(DELAY) : read;
            });
        }

        @Override
        public Mono<ByteBuf> read(String key, long offset, long length) {
            return faulty(key, super.read(key, offset, length));
        }

        @Override
        public Mono<ByteBuf> read(String key, long offset, long length, String version) {
            return faulty(key, super.read(key, offset, length, version));
        }
    }
}
