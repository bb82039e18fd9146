package dev.atlas.storage.s3;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.util.ReferenceCountUtil;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import reactor.netty.resources.ConnectionProvider;

/**
 * A fault-injecting HTTP proxy on loopback in front of an S3 server (reactor-netty HttpServer
 * forwarding with HttpClient). Per request it draws from a seeded {@link Random}: answer 503
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
    private final ConnectionProvider pool;
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
        this.pool = ConnectionProvider.builder("fault-proxy").maxConnections(128).pendingAcquireMaxCount(-1).build();
        this.client = HttpClient.create(pool).baseUrl(target.toString()).compress(false).followRedirect(false);
        this.server = HttpServer.create().host("127.0.0.1").port(0).handle(this::handle).bindNow(Duration.ofSeconds(10));
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
                return forward(req, res, true);
            case DELAY:
                return Mono.delay(delay).then(Mono.defer(() -> Mono.from(forward(req, res, false))));
            default:
                return forward(req, res, false);
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

    private Publisher<Void> forward(HttpServerRequest req, HttpServerResponse res, boolean cutBody) {
        HttpHeaders in = req.requestHeaders();
        boolean isGet = req.method().equals(HttpMethod.GET);
        return client.headers(h -> {
                    h.set(in);
                    h.remove(HttpHeaderNames.EXPECT);
                    h.remove(HttpHeaderNames.CONNECTION);
                })
                .request(req.method())
                .uri(req.uri())
                .send((r, out) -> out.send(req.receive().retain()))
                .<Void>response((resp, body) -> {
                    res.status(resp.status());
                    HttpHeaders h = resp.responseHeaders().copy();
                    h.remove(HttpHeaderNames.CONNECTION);
                    h.remove(HttpHeaderNames.TRANSFER_ENCODING);
                    h.remove("Keep-Alive");
                    res.headers(h);
                    if (req.method().equals(HttpMethod.HEAD)) {
                        return body.then().then(Mono.defer(() -> Mono.from(res.send())));
                    }
                    // Bodies are small here (XML, ranges): aggregate, then forward whole or cut.
                    // The aggregate is held by Mono.using, released however the exchange ends (a
                    // client that cancels closes the connection before the send reads anything);
                    // the send takes its own reference only when it subscribes.
                    return body.aggregate().retain().defaultIfEmpty(Unpooled.EMPTY_BUFFER).flatMap(agg -> Mono.using(() -> agg, buf -> {
                        int n = buf.readableBytes();
                        res.header(HttpHeaderNames.CONTENT_LENGTH, Integer.toString(n));
                        if (cutBody && n > 1) {
                            // Headers with the full Content-Length and half the body, then the connection is cut.
                            return res.send(Mono.fromSupplier(() -> buf.retainedSlice(buf.readerIndex(), n / 2))).then()
                                    .then(Mono.<Void>fromRunnable(() -> res.withConnection(c -> c.channel().close())));
                        }
                        if (isGet && resp.status().code() / 100 == 2) {
                            getBytes.addAndGet(n);
                        }
                        return res.send(Mono.fromSupplier(buf::retain)).then();
                    }, ReferenceCountUtil::safeRelease));
                    // No doOnDiscard here: discard hooks compose upstream, and aggregate() already
                    // releases the parts it collected when the exchange is cancelled (a second
                    // hook released them twice).
                })
                .then();
    }

    @Override
    public void close() {
        server.disposeNow(Duration.ofSeconds(10));
        pool.disposeLater().block(Duration.ofSeconds(10));
    }
}
