package dev.atlas.http;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import dev.atlas.testing.EngineTestBase;
import io.micrometer.core.instrument.Meter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The service against hostile or careless clients, over raw loopback sockets: connections that
 * send nothing, stall inside their headers or inside their body are closed within the configured
 * timeouts; made-up methods get one answer and one metrics tag; HEAD answers every GET route with
 * its headers and no body; a client that goes away is not a server error; request lines and heads
 * over the limits get 414 and 431 with the JSON error body.
 */
class HttpHardeningTest extends EngineTestBase {
    static final Duration IDLE = Duration.ofMillis(700);
    static final Duration READ = Duration.ofMillis(700);

    static Atlas atlas;
    static AtlasHttpServer server;

    @BeforeAll
    static void startServer() {
        atlas = LocalAtlas.create(tmp.resolve("store"), AtlasOptions.builder(resources).tempDirectory(tmp).build())
                .block(TIMEOUT);
        DatasetView ds = atlas.createDataset("grid").block(TIMEOUT);
        ds.defineArray("field", ArraySpec.of(DType.FLOAT32, 64, 1024, 1024).withChunks(1, 1024, 1024)).block(TIMEOUT);
        float[] v = new float[1024 * 1024];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        for (int t = 0; t < 64; t += 8) {
            try (NdArray a = NdArray.ofFloats(new long[] {1, 1024, 1024}, v)) {
                ds.writeArray("field", new long[] {t, 0, 0}, a).block(TIMEOUT);
            }
        }
        atlas.flush().block(TIMEOUT);
        server = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0).idleTimeout(IDLE).readTimeout(READ)
                .resources(resources).build());
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
        if (atlas != null) {
            atlas.close().block(TIMEOUT);
        }
    }

    private static Socket connect() throws IOException {
        Socket s = new Socket();
        s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
        s.setSoTimeout(10_000);
        return s;
    }

    /** Milliseconds until the server closes {@code s} (reads and drops whatever it sends first). */
    private static long millisUntilClosed(Socket s) throws IOException {
        long t0 = System.nanoTime();
        InputStream in = s.getInputStream();
        try {
            while (in.read() >= 0) {
                // a 408 or whatever precedes the close
            }
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the server kept the connection open for 10 s", e);
        } catch (IOException reset) {
            // closed with a reset: closed all the same
        }
        return (System.nanoTime() - t0) / 1_000_000;
    }

    private static void send(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /** Reads one response's head (status line and headers) from {@code in}. */
    private static String head(InputStream in) throws IOException {
        StringBuilder h = new StringBuilder();
        while (!h.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new AssertionError("closed inside the headers: " + h);
            }
            h.append((char) c);
        }
        return h.toString();
    }

    private static long contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                return Long.parseLong(line.substring(15).trim());
            }
        }
        return -1;
    }

    @Test
    void connectionsThatSendNothingOrStallInTheirHeadersAreClosed() throws Exception {
        try (Socket silent = connect(); Socket partial = connect()) {
            send(partial, "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ");
            long a = millisUntilClosed(silent);
            long b = millisUntilClosed(partial);
            assertTrue(a < IDLE.toMillis() + 3000, "silent connection closed after " + a + " ms");
            assertTrue(b < IDLE.toMillis() + 3000, "header-stalling connection closed after " + b + " ms");
        }
        // A kept-alive connection that goes quiet after a request is closed too.
        try (Socket s = connect()) {
            send(s, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
            InputStream in = s.getInputStream();
            String h = head(in);
            assertTrue(h.startsWith("HTTP/1.1 200"), h);
            in.readNBytes((int) contentLength(h));
            long c = millisUntilClosed(s);
            assertTrue(c < IDLE.toMillis() + 3000, "idle kept-alive connection closed after " + c + " ms");
        }
    }

    @Test
    void aBodyThatStallsIsRefusedAndItsConnectionClosed() throws Exception {
        try (Socket s = connect()) {
            send(s, "POST /arrays/field/data?region=0,0:4,0:4 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
                    + "Content-Length: 1000\r\n\r\ngrid\n");
            long t0 = System.nanoTime();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            try {
                for (int c; (c = in.read()) >= 0; ) {
                    got.write(c);
                }
            } catch (IOException reset) {
                // closed
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < READ.toMillis() + 3000, "stalled body held for " + ms + " ms");
            String answer = got.toString(StandardCharsets.US_ASCII);
            assertTrue(answer.startsWith("HTTP/1.1 408") && answer.contains("did not arrive in time"), answer);
        }
    }

    @Test
    void madeUpMethodsGetOneAnswerAndOneMetricsTag() throws Exception {
        for (int i = 0; i < 40; i++) {
            try (Socket s = connect()) {
                send(s, "BREW" + i + " /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                InputStream in = s.getInputStream();
                String h = head(in);
                assertTrue(h.startsWith("HTTP/1.1 501"), h);
                String body = new String(in.readNBytes((int) contentLength(h)), StandardCharsets.UTF_8);
                assertTrue(body.startsWith("{") && body.contains("not implemented"), body);
            }
        }
        Set<String> methods = new TreeSet<>();
        for (Meter m : server.meterRegistry().getMeters()) {
            if (m.getId().getName().equals("atlas.http.requests")) {
                methods.add(m.getId().getTag("method"));
            }
        }
        assertTrue(methods.contains("OTHER"), methods.toString());
        assertTrue(methods.stream().noneMatch(m -> m.startsWith("BREW")), methods.toString());
    }

    @Test
    void headAnswersEveryGetRouteWithItsHeadersAndNoBody() throws Exception {
        String[] targets = {"/health", "/datasets", "/datasets/grid", "/datasets/grid/arrays/field", "/arrays",
            "/datasets/grid/arrays/field/data?region=0,0:16,0:16", "/arrays/field/data?datasets=grid&region=0,0:2,0:2",
            "/datasets/grid/arrays/field/png?region=0,0:64,0:64", "/metrics"};
        try (Socket s = connect()) {
            InputStream in = s.getInputStream();
            for (String t : targets) {
                send(s, "HEAD " + t + " HTTP/1.1\r\nHost: x\r\n\r\n");
                String h = head(in);
                assertTrue(h.startsWith("HTTP/1.1 200"), t + ": " + h);
                if (t.contains("/data?")) {
                    assertTrue(h.contains("X-Atlas-DType") || h.contains("x-atlas-dtype"), t + ": " + h);
                }
            }
            // No body came after any of those heads: the next answer on the connection starts at once.
            send(s, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
            String h = head(in);
            assertTrue(h.startsWith("HTTP/1.1 200"), "a body of an earlier HEAD came first: " + h);
        }
    }

    /** The answer's head to {@code request} (sent as given) on a fresh connection to {@code port}. */
    private static String exchange(int port, String request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(10_000);
            send(s, request);
            return head(s.getInputStream());
        }
    }

    /**
     * A read that does not finish within the request timeout (here every storage call takes 5 s,
     * as a request lost without an answer would take forever) is answered 503 with the JSON
     * error once the timeout passes, not left open until the client gives up. Seen in a fleet
     * test as a response still pending after the client's 60 s.
     */
    @Test
    void aReadThatOutlivesTheRequestTimeoutIsAnsweredNotLeftHanging() throws Exception {
        dev.atlas.testing.FaultInjectingStorage slow = new dev.atlas.testing.FaultInjectingStorage(
                dev.atlas.storage.local.LocalStorage.open(tmp.resolve("store"), resources));
        Atlas reopened = Atlas.open(slow, "", AtlasOptions.builder(resources).tempDirectory(tmp).build()).block(TIMEOUT);
        slow.delay(Duration.ofSeconds(5));
        try (AtlasHttpServer s = AtlasHttpServer.start(reopened, ServerOptions.builder().port(0)
                .requestTimeout(Duration.ofSeconds(1)).build())) {
            long t0 = System.nanoTime();
            String answer = exchange(s.port(), "GET /datasets/grid/arrays/field/data?region=0:1,0:4,0:4 HTTP/1.1\r\n"
                    + "Host: x\r\nConnection: close\r\n\r\n");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(answer.startsWith("HTTP/1.1 503") && answer.contains("application/json"), answer);
            assertTrue(ms < 4500, "answered after " + ms + " ms, the request timeout is 1 s and a storage call 5 s");
        } finally {
            slow.delay(Duration.ZERO);
            reopened.close().block(TIMEOUT);
        }
    }

    @Test
    void corsIsOffByDefaultAndAnswersOnlyTheOriginsItWasGiven() throws Exception {
        String get = "GET /health HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\nConnection: close\r\n\r\n";
        String off = exchange(server.port(), get).toLowerCase(java.util.Locale.ROOT);
        assertFalse(off.contains("access-control-"), off);
        try (AtlasHttpServer cors = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0)
                .corsOrigins(java.util.List.of("https://app.example")).build())) {
            String on = exchange(cors.port(), get).toLowerCase(java.util.Locale.ROOT);
            assertTrue(on.startsWith("http/1.1 200") && on.contains("access-control-allow-origin: https://app.example"), on);
            assertTrue(on.contains("access-control-expose-headers: x-atlas-dtype"), on);
            String other = exchange(cors.port(), get.replace("app.example", "evil.example")).toLowerCase(java.util.Locale.ROOT);
            assertFalse(other.contains("access-control-"), other);
            String err = exchange(cors.port(), get.replace("/health", "/datasets/nope")).toLowerCase(java.util.Locale.ROOT);
            assertTrue(err.startsWith("http/1.1 404") && err.contains("access-control-allow-origin"), "errors readable too: " + err);
            String pre = exchange(cors.port(), "OPTIONS /arrays/field/data HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
                    + "Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n").toLowerCase(java.util.Locale.ROOT);
            assertTrue(pre.startsWith("http/1.1 204") && pre.contains("access-control-allow-methods: get, head, post"), pre);
        }
        org.junit.jupiter.api.Assertions.assertThrows(dev.atlas.error.InvalidArgumentException.class,
                () -> ServerOptions.builder().corsOrigins(java.util.List.of("app.example/path")));
    }

    /** Sends {@code request} on a fresh connection; the whole answer up to the server's close. */
    private static String answerUntilClosed(int port, String request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(10_000);
            send(s, request);
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            try {
                for (int c; (c = in.read()) >= 0; ) {
                    got.write(c);
                }
            } catch (SocketTimeoutException e) {
                throw new AssertionError("the server kept the connection open for 10 s after: " + got, e);
            } catch (IOException reset) {
                // closed with a reset: closed all the same
            }
            return got.toString(StandardCharsets.UTF_8);
        }
    }

    /** The JSON body of a complete answer, checked to be as long as its Content-Length says. */
    private static String jsonBody(String answer) {
        int split = answer.indexOf("\r\n\r\n");
        assertTrue(split > 0, answer);
        String head = answer.substring(0, split + 4);
        String body = answer.substring(split + 4);
        assertTrue(head.toLowerCase(java.util.Locale.ROOT).contains("content-type: application/json"), head);
        assertEquals(contentLength(head), body.getBytes(StandardCharsets.UTF_8).length, answer);
        assertTrue(body.startsWith("{\"error\":"), body);
        return body;
    }

    @Test
    void tooLongRequestLinesAndHeadersGetTheJsonError() throws Exception {
        double[] before = {refused("414"), refused("431"), refused("400")};
        String line = answerUntilClosed(server.port(), "GET /datasets/" + "x".repeat(5000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(line.startsWith("HTTP/1.1 414 "), line);
        assertTrue(jsonBody(line).contains("the request line is longer than 4096 bytes"), line);

        String headers = answerUntilClosed(server.port(), "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + "y".repeat(9000)
                + "\r\n\r\n");
        assertTrue(headers.startsWith("HTTP/1.1 431 "), headers);
        assertTrue(jsonBody(headers).contains("the request headers are larger than 8192 bytes"), headers);

        String garbage = answerUntilClosed(server.port(), "GET /health NOT-HTTP\r\nHost: x\r\n\r\n");
        assertTrue(garbage.startsWith("HTTP/1.1 400 "), garbage);
        assertTrue(jsonBody(garbage).contains("malformed HTTP request"), garbage);
        // Refused before routing, yet counted: one series per status.
        String[] statuses = {"414", "431", "400"};
        for (int i = 0; i < statuses.length; i++) {
            assertEquals(before[i] + 1, refused(statuses[i]), "atlas.http.refused{status=" + statuses[i] + "}");
        }

        // The limits are the options' (and requests within them are served as before).
        try (AtlasHttpServer small = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0).maxRequestLineBytes(512)
                .maxHeaderBytes(2048).resources(resources).build())) {
            String ok = answerUntilClosed(small.port(), "GET /datasets/grid?" + "a".repeat(400) + " HTTP/1.1\r\nHost: x\r\n"
                    + "X-Fill: " + "z".repeat(1500) + "\r\nConnection: close\r\n\r\n");
            assertTrue(ok.startsWith("HTTP/1.1 200 "), ok);
            String longLine = answerUntilClosed(small.port(), "GET /datasets/grid?" + "a".repeat(600) + " HTTP/1.1\r\n\r\n");
            assertTrue(longLine.startsWith("HTTP/1.1 414 ") && jsonBody(longLine).contains("longer than 512 bytes"), longLine);
            String bigHead = answerUntilClosed(small.port(), "GET /health HTTP/1.1\r\nX-Fill: " + "z".repeat(2100) + "\r\n\r\n");
            assertTrue(bigHead.startsWith("HTTP/1.1 431 ") && jsonBody(bigHead).contains("larger than 2048 bytes"), bigHead);
        }
        org.junit.jupiter.api.Assertions.assertThrows(dev.atlas.error.InvalidArgumentException.class,
                () -> ServerOptions.builder().maxHeaderBytes(10));
    }

    /** The count of {@code atlas.http.refused} for {@code status} on the shared server (0 before its first). */
    private static double refused(String status) {
        io.micrometer.core.instrument.Counter c = server.meterRegistry().find("atlas.http.refused").tag("status", status)
                .counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void aClientThatGoesAwayIsNotAServerError() throws Exception {
        for (int i = 0; i < 6; i++) {
            try (Socket s = connect()) {
                s.setReceiveBufferSize(32 << 10);
                send(s, "GET /datasets/grid/arrays/field/data HTTP/1.1\r\nHost: x\r\n\r\n");
                if (i % 2 == 0) {
                    head(s.getInputStream());
                    s.getInputStream().readNBytes(100_000);
                }
                s.setSoLinger(true, 0);
            }
        }
        Thread.sleep(500);
        for (Meter m : server.meterRegistry().getMeters()) {
            if (m.getId().getName().equals("atlas.http.requests")) {
                assertFalse("500".equals(m.getId().getTag("status")), m.getId().toString());
            }
        }
    }
}
