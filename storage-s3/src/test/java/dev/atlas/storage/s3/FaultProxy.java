package dev.atlas.storage.s3;

import static dev.atlas.testing.Await.TIMEOUT;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/**
 * A fault-injecting HTTP proxy on loopback in front of an S3 server: a reactor-netty HttpServer
 * that forwards with the JDK's {@code java.net.http} client, bodies as byte arrays, so that no
 * Netty buffer of the proxy's own outbound leg exists to leak (reactor-netty's client once leaked a
 * response buffer here when the S3 client cancelled mid-exchange, failing a CI run's leak check). Per request it draws from a seeded {@link Random}: answer 503
 * SlowDown, answer 500 InternalError, cut the connection (mid-body for a GET: headers and half
 * the body, then a close; before any response otherwise), or delay the response; else forward
 * untouched, Host header included, so SigV4 signatures stay valid. It counts every request it
 * receives by S3 operation (the ground truth of what went over the wire) and every fault.
 */
final class FaultProxy implements AutoCloseable {
    enum Fault { NONE, S503, S500, RESET, DELAY }

    private final URI target;
    private final Random random;
    private final DisposableServer server;
    /** JDK client property that lets a request carry its own Host header (set by the pom). */
    private static final String RESTRICTED = "jdk.httpclient.allowRestrictedHeaders";
    /** Headers the JDK client sets itself or that belong to one connection only. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "content-length", "expect", "upgrade",
            "transfer-encoding", "keep-alive");
    private final HttpClient client;
    private volatile double p503;
    private volatile double p500;
    private volatile double pReset;
    private volatile double pDelay;
    private volatile Duration delay = Duration.ofMillis(200);
    private volatile java.util.Set<S3Request> targets = java.util.EnumSet.allOf(S3Request.class);
    private final EnumMap<S3Request, LongAdder> requests = new EnumMap<>(S3Request.class);
    private final EnumMap<Fault, LongAdder> faults = new EnumMap<>(Fault.class);
    private final AtomicLong getBytes = new AtomicLong();

    private FaultProxy(URI target, long seed) {
        this.target = target;
        this.random = new Random(seed);
        for (S3Request r : S3Request.values()) {
            requests.put(r, new LongAdder());
        }
        for (Fault f : Fault.values()) {
            faults.put(f, new LongAdder());
        }
        if (!String.valueOf(System.getProperty(RESTRICTED)).toLowerCase(Locale.ROOT).contains("host")) {
            throw new IllegalStateException("the fault proxy forwards the signed Host header; run the tests with -D"
                    + RESTRICTED + "=host (storage-s3's pom sets it)");
        }
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NEVER).connectTimeout(TIMEOUT).build();
        this.server = HttpServer.create().host("127.0.0.1").port(0).handle(this::handle).bindNow(TIMEOUT);
    }

    /** A proxy to {@code target}, faults drawn from {@code seed} (rates start at 0). */
    static FaultProxy start(URI target, long seed) {
        return new FaultProxy(target, seed);
    }

    URI endpoint() {
        return URI.create("http://127.0.0.1:" + server.port());
    }

    /** Sets the fault rates (each a probability per request; their sum at most 1). */
    FaultProxy rates(double s503, double s500, double reset, double slow) {
        this.p503 = s503;
        this.p500 = s500;
        this.pReset = reset;
        this.pDelay = slow;
        return this;
    }

    /** Injects faults only into requests of these kinds (default: all). */
    FaultProxy only(S3Request first, S3Request... more) {
        this.targets = java.util.EnumSet.of(first, more);
        return this;
    }

    private volatile boolean dropIfMatchOnGet;
    private final java.util.concurrent.atomic.AtomicInteger stalls = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * The next {@code n} GETs of an object get their headers and half their body, and then
     * nothing: the connection stays open and silent, as a server whose handler died mid-response
     * may leave it.
     */
    FaultProxy stallNextGets(int n) {
        stalls.set(n);
        return this;
    }

    /**
     * Drops {@code If-Match} from GETs before forwarding: the server then answers as one that
     * checks the range before the precondition (a 416 for a range past the end of a newer,
     * shorter object instead of a 412). S3Mock only: S3Proxy checks the signature, which covers it.
     */
    FaultProxy dropIfMatchOnGet(boolean drop) {
        this.dropIfMatchOnGet = drop;
        return this;
    }

    FaultProxy delay(Duration d) {
        this.delay = d;
        return this;
    }

    long requests(S3Request kind) {
        return requests.get(kind).sum();
    }

    long totalRequests() {
        return requests.values().stream().mapToLong(LongAdder::sum).sum();
    }

    long faults(Fault f) {
        return faults.get(f).sum();
    }

    /** Body bytes of GET responses forwarded whole. */
    long getBytes() {
        return getBytes.get();
    }

    Map<S3Request, Long> requestCounts() {
        EnumMap<S3Request, Long> m = new EnumMap<>(S3Request.class);
        requests.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    String summary() {
        StringBuilder sb = new StringBuilder("proxy{");
        requests.forEach((k, v) -> {
            if (v.sum() > 0) {
                sb.append(k).append('=').append(v.sum()).append(' ');
            }
        });
        faults.forEach((k, v) -> sb.append(k).append('=').append(v.sum()).append(' '));
        return sb.append('}').toString();
    }

    private Fault draw() {
        double x;
        synchronized (random) {
            x = random.nextDouble();
        }
        if ((x -= p503) < 0) {
            return Fault.S503;
        }
        if ((x -= p500) < 0) {
            return Fault.S500;
        }
        if ((x -= pReset) < 0) {
            return Fault.RESET;
        }
        if ((x -= pDelay) < 0) {
            return Fault.DELAY;
        }
        return Fault.NONE;
    }

    static S3Request classify(HttpMethod m, String uri) {
        String q = uri.contains("?") ? uri.substring(uri.indexOf('?') + 1) : "";
        if (m.equals(HttpMethod.GET)) {
            return q.contains("list-type") || q.contains("uploads") || q.contains("prefix") ? S3Request.LIST : S3Request.GET;
        }
        if (m.equals(HttpMethod.HEAD)) {
            return S3Request.HEAD;
        }
        if (m.equals(HttpMethod.PUT)) {
            return q.contains("partNumber") ? S3Request.UPLOAD_PART : S3Request.PUT;
        }
        if (m.equals(HttpMethod.POST)) {
            return q.contains("uploadId") ? S3Request.COMPLETE_MULTIPART
                    : q.contains("uploads") ? S3Request.CREATE_MULTIPART : S3Request.DELETE_BATCH;
        }
        return q.contains("uploadId") ? S3Request.ABORT_MULTIPART : S3Request.DELETE;
    }

    private Publisher<Void> handle(HttpServerRequest req, HttpServerResponse res) {
        S3Request kind = classify(req.method(), req.uri());
        requests.get(kind).increment();
        if (kind == S3Request.GET && stalls.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            return forward(req, res, false, true);
        }
        Fault f = targets.contains(kind) ? draw() : Fault.NONE;
        faults.get(f).increment();
        switch (f) {
            case S503:
                return error(req, res, 503, "SlowDown", "injected throttling");
            case S500:
                return error(req, res, 500, "InternalError", "injected failure");
            case RESET:
                if (!req.method().equals(HttpMethod.GET)) {
                    // Cut the connection before answering (the client is sending or waiting).
                    return req.receive().then().then(Mono.fromRunnable(() -> res.withConnection(c -> c.channel().close())));
                }
                return forward(req, res, true, false);
            case DELAY:
                return Mono.delay(delay).then(Mono.defer(() -> Mono.from(forward(req, res, false, false))));
            default:
                return forward(req, res, false, false);
        }
    }

    private static Publisher<Void> error(HttpServerRequest req, HttpServerResponse res, int status, String code, String msg) {
        byte[] xml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" + msg
                + "</Message></Error>").getBytes(StandardCharsets.UTF_8);
        return req.receive().then().then(Mono.defer(() -> res.status(status)
                .header(HttpHeaderNames.CONTENT_TYPE, "application/xml")
                .header(HttpHeaderNames.CONTENT_LENGTH, Integer.toString(xml.length))
                .sendByteArray(Mono.just(xml)).then()));
    }

    private Publisher<Void> forward(HttpServerRequest req, HttpServerResponse res, boolean cutBody, boolean stall) {
        HttpHeaders in = req.requestHeaders();
        String method = req.method().name();
        boolean isGet = req.method().equals(HttpMethod.GET);
        boolean isHead = req.method().equals(HttpMethod.HEAD);
        // The request body becomes a byte[] here (asByteArray releases what it aggregated), so no
        // Netty buffer of this exchange outlives the server's own pipeline.
        return req.receive().aggregate().asByteArray().defaultIfEmpty(new byte[0]).flatMap(body -> {
            HttpRequest.Builder rb = HttpRequest.newBuilder(target.resolve(req.uri())).timeout(TIMEOUT);
            for (Map.Entry<String, String> e : in) {
                if (isGet && dropIfMatchOnGet && e.getKey().equalsIgnoreCase("if-match")) {
                    continue;
                }
                if (!HOP_BY_HOP.contains(e.getKey().toLowerCase(Locale.ROOT))) {
                    rb.header(e.getKey(), e.getValue());
                }
            }
            rb.method(method, body.length == 0 && (isGet || isHead) ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofByteArray(body));
            return Mono.fromFuture(() -> client.sendAsync(rb.build(), HttpResponse.BodyHandlers.ofByteArray()));
        }).flatMap(resp -> {
            byte[] bytes = resp.body() == null ? new byte[0] : resp.body();
            res.status(resp.statusCode());
            resp.headers().map().forEach((name, values) -> {
                String lower = name.toLowerCase(Locale.ROOT);
                // A HEAD answer keeps the object's Content-Length; other answers get their body's.
                if (!lower.startsWith(":") && (!HOP_BY_HOP.contains(lower) || isHead && lower.equals("content-length"))) {
                    values.forEach(v -> res.addHeader(name, v));
                }
            });
            if (isHead) {
                return Mono.from(res.send());
            }
            int n = bytes.length;
            res.header(HttpHeaderNames.CONTENT_LENGTH, Integer.toString(n));
            if (stall && n > 1) {
                // Headers with the full Content-Length and half the body, then silence on an open connection.
                return res.sendByteArray(Mono.just(Arrays.copyOf(bytes, n / 2))).then().then(Mono.<Void>never());
            }
            if (cutBody && n > 1) {
                // Headers with the full Content-Length and half the body, then the connection is cut.
                return res.sendByteArray(Mono.just(Arrays.copyOf(bytes, n / 2))).then()
                        .then(Mono.<Void>fromRunnable(() -> res.withConnection(c -> c.channel().close())));
            }
            if (isGet && resp.statusCode() / 100 == 2) {
                getBytes.addAndGet(n);
            }
            return res.sendByteArray(Mono.just(bytes)).then();
        });
    }

    @Override
    public void close() {
        server.disposeNow(TIMEOUT);
    }
}
