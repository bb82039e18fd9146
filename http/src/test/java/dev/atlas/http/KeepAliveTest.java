package dev.atlas.http;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.testing.EngineTestBase;
import io.netty.handler.codec.http.HttpHeaderNames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;

/**
 * Keep-alive connections keep being read. A client that sends its next request on a connection
 * before the server finished with the previous one (the previous handler completes after its
 * response went out, or requests are pipelined) must get every answer: with reactor-netty 1.3.0
 * to 1.3.7 such a connection could stop being read for good (reactor-netty issues 4188 and
 * 4361), and `ServeLoad`'s 200 keep-alive clients saw requests go unanswered until their own
 * timeout. The server here is the one {@link AtlasRoutes#configure} sets up, with two routes of
 * the test's own that widen the races to certainties.
 */
class KeepAliveTest extends EngineTestBase {
    private static final int SOCKET_TIMEOUT_MS = 10_000;

    private void withServer(Consumer<Integer> test) {
        Atlas atlas = LocalAtlas.create(tmp.resolve("keepalive-" + System.nanoTime()), AtlasOptions.builder(resources).tempDirectory(tmp).build())
                .block(TIMEOUT);
        AtlasRoutes routes = AtlasRoutes.create(atlas, ServerOptions.builder().basePath("/atlas").resources(resources).build());
        DisposableServer server = null;
        try {
            server = routes.configure(HttpServer.create().host("127.0.0.1").port(0))
                    .route(table -> routes.mount(table
                            // The whole response is sent at once; the handler completes 300 ms later.
                            .get("/late", (req, res) -> res.header(HttpHeaderNames.CONTENT_LENGTH, "4")
                                    .sendString(Mono.just("late")).then()
                                    .then(Mono.delay(Duration.ofMillis(300)).then()))
                            // Answered after 50 ms.
                            .get("/slow", (req, res) -> res.header(HttpHeaderNames.CONTENT_LENGTH, "4")
                                    .sendString(Mono.delay(Duration.ofMillis(50)).thenReturn("slow")))))
                    .bindNow(Duration.ofSeconds(30));
            test.accept(server.port());
        } finally {
            if (server != null) {
                server.disposeNow(Duration.ofSeconds(30));
            }
            routes.close();
            atlas.close().block(TIMEOUT);
        }
    }

    @Test
    void aRequestSentBeforeThePreviousHandlerCompletedIsAnswered() {
        withServer(port -> {
            try (Socket s = socket(port)) {
                for (int i = 0; i < 3; i++) {
                    send(s, "/late");
                    assertEquals(List.of("late"), read(s, 1), "round " + i + ": /late");
                    // The previous handler has not completed yet (it does 300 ms after its response).
                    send(s, "/atlas/health");
                    assertEquals(1, read(s, 1).size(), "round " + i + ": the request after /late is answered");
                }
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
    }

    @Test
    void pipelinedRequestsAreAllAnsweredAndTheConnectionKeepsBeingRead() {
        withServer(port -> {
            try (Socket s = socket(port)) {
                for (int i = 0; i < 3; i++) {
                    // Three requests in one write: the second and third wait behind the slow first,
                    // and the second completes at once when its turn comes.
                    send(s, "/slow", "/hello-missing", "/atlas/nothing-here");
                    List<String> got = read(s, 3);
                    assertEquals(3, got.size(), "round " + i + ": three pipelined requests, three answers");
                    assertEquals("slow", got.get(0));
                    // The connection is still read afterwards.
                    send(s, "/slow");
                    assertEquals(List.of("slow"), read(s, 1), "round " + i + ": the request after the pipelined ones");
                }
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        });
    }

    private static Socket socket(int port) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), port);
        s.setSoTimeout(SOCKET_TIMEOUT_MS);
        s.setTcpNoDelay(true);
        return s;
    }

    /** Sends GET requests for {@code paths} in one write. */
    private static void send(Socket s, String... paths) throws IOException {
        StringBuilder b = new StringBuilder();
        for (String p : paths) {
            b.append("GET ").append(p).append(" HTTP/1.1\r\nHost: localhost\r\n\r\n");
        }
        OutputStream out = s.getOutputStream();
        out.write(b.toString().getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    /**
     * Reads {@code n} responses (each with a Content-Length, as every answer here has) and returns
     * their bodies; fewer when the server stops answering for {@link #SOCKET_TIMEOUT_MS}.
     */
    private static List<String> read(Socket s, int n) throws IOException {
        InputStream in = s.getInputStream();
        List<String> bodies = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                ByteArrayOutputStream head = new ByteArrayOutputStream();
                while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
                    int c = in.read();
                    if (c < 0) {
                        return bodies;
                    }
                    head.write(c);
                }
                int length = 0;
                for (String line : head.toString(StandardCharsets.US_ASCII).split("\r\n")) {
                    if (line.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:")) {
                        length = Integer.parseInt(line.substring("content-length:".length()).trim());
                    }
                }
                bodies.add(new String(in.readNBytes(length), StandardCharsets.UTF_8));
            }
        } catch (SocketTimeoutException stalled) {
            // The server stopped answering: fewer bodies than asked for.
        }
        return bodies;
    }

    @Test
    void anApplicationOnAReactorNettyWithoutTheFixIsWarned() {
        for (String v : List.of("1.3.7", "1.3.6", "1.3.0", "1.2.18", "0.9.25.RELEASE")) {
            assertTrue(KeepAliveCheck.affected(v), v);
        }
        for (String v : List.of("1.3.8", "1.3.8-SNAPSHOT", "1.3.10", "1.4.0", "2.0.0-M1")) {
            assertFalse(KeepAliveCheck.affected(v), v);
        }
        assertFalse(KeepAliveCheck.affected(null), "a version the jar does not state is not guessed");
        assertFalse(KeepAliveCheck.affected("weird"), "nor one this check cannot read");
        // This build runs a fixed release, which the check finds in the jar's manifest.
        String running = HttpServer.class.getPackage().getImplementationVersion();
        assertTrue(running != null && running.startsWith("1."), "the version the jar states: " + running);
        assertFalse(KeepAliveCheck.affected(running), running);
    }
}
