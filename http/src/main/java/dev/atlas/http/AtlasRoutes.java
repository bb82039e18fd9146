package dev.atlas.http;

import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.AtlasException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.DatasetNotFoundException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.ObjectChangedException;
import dev.atlas.error.StorageException;
import dev.atlas.store.Atlas;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.Exceptions;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.netty.http.server.HttpServer;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;
import reactor.netty.http.server.HttpServerRoutes;

/**
 * The HTTP routes of an {@link Atlas} store, for a reactor-netty server: {@link AtlasHttpServer}'s own,
 * or a caller's ({@link #mount} on its route table, or {@link #handle} as its handler, with
 * {@link #configure} for the timeouts), on the caller's event loops; or any other server through
 * {@link #serve} and a {@link RouteExchange} (the Spring Boot starter's WebFlux
 * {@code RouterFunction} does so). Each route computes a transport-neutral {@link Reply} (status,
 * headers, heap bytes or a stream of buffers) that the exchange writes, so every transport serves
 * the same answers from this one implementation; connection timeouts belong to the server
 * ({@link #configure} for reactor-netty).
 *
 * <table>
 * <caption>Routes</caption>
 * <tr><th>method and path</th><th>answer</th></tr>
 * <tr><td>{@code GET /health}</td><td>{@code {"status":"ok","datasets":N,"commit":version,"refreshed":instant}}</td></tr>
 * <tr><td>{@code GET /metrics}</td><td>Prometheus text</td></tr>
 * <tr><td>{@code GET /datasets?prefix=&limit=&cursor=}</td><td>a page of datasets (name, arrays, attributes), {@code next_cursor}</td></tr>
 * <tr><td>{@code GET /datasets/{ds}}</td><td>attributes and every array's schema, fill, attributes, stats</td></tr>
 * <tr><td>{@code GET /datasets/{ds}/arrays/{arr}}</td><td>one array's schema, fill, attributes, stats</td></tr>
 * <tr><td>{@code GET /datasets/{ds}/arrays/{arr}/data?region=|start=&shape=[&format=json]}</td><td>the region as little-endian C-order bytes (or JSON)</td></tr>
 * <tr><td>{@code GET /datasets/{ds}/arrays/{arr}/png?region=&cmap=&min=&max=}</td><td>a PNG of a 2-D slice</td></tr>
 * <tr><td>{@code GET /arrays}</td><td>array names across the store with dtype and dataset count</td></tr>
 * <tr><td>{@code GET|POST /arrays/{arr}/data}</td><td>the same region of many datasets, stacked in request order</td></tr>
 * <tr><td>{@code GET /zarr/v2/{ds}/...}, {@code GET /zarr/v3/{ds}/...}</td><td>read-only Zarr views of a dataset ({@link ZarrRoutes})</td></tr>
 * <tr><td>{@code GET /zarr/v2/_stack/{prefix}/...}, {@code GET /zarr/v3/_stack/{prefix}/...}</td><td>the datasets of a prefix as one Zarr group of stacked arrays ({@link ZarrStacks})</td></tr>
 * <tr><td>{@code GET /zarr/v2/_names/{names}/...}, {@code GET /zarr/v3/_names/{names}/...}</td><td>the same for a list of names carried in the path ({@link ZarrNames})</td></tr>
 * <tr><td>{@code GET /zarr/v2-zstd/...}, {@code GET /zarr/v3-zstd/...}</td><td>the same keys with zstd-compressed chunks ({@link ZarrRoutes})</td></tr>
 * </table>
 *
 * <p>Every GET route answers HEAD (the transport sends the headers without the body). A method
 * name HTTP does not define is answered 501 and tagged {@code OTHER} in the metrics, so made-up
 * methods cannot add series. Connections that send no complete headers within
 * {@link ServerOptions#idleTimeout()} are closed; a body that pauses longer than
 * {@link ServerOptions#readTimeout()} is answered 408. A client that closes or resets its
 * connection is counted as {@code status="client-closed"}, not as a server error. CORS is off
 * unless {@link ServerOptions#corsOrigins()} names origins: then answers to those origins carry
 * {@code Access-Control-Allow-Origin} and the exposed {@code X-Atlas-*} headers, and preflights are
 * answered 204.
 *
 * <p>Errors: every failure before a response's first byte gets its status and a JSON body
 * ({@link #classify}); data routes read their first piece before they send the status line, so a
 * read that fails (not found, damaged data, a store that changed) is answered with its status, not
 * with {@code 200} and a cut body. Only a failure after the first piece cuts a stream (the client
 * sees fewer bytes than {@code Content-Length} and a closed connection); it is logged in one line
 * and counted ({@code atlas_http_stream_cut_total}).
 *
 * <p>Threading: handlers run on the server's event loops and never block; reads complete on the
 * engine's schedulers; PNG encoding and metric scrapes run on a bounded scheduler the server owns.
 * Memory: a streamed response holds at most one piece ({@link ServerOptions#streamPieceBytes()})
 * in reading plus what Netty's outbound buffer holds up to its high-water mark (64 KiB) plus the
 * piece that crossed it: the next piece is read only when the connection is writable again.
 *
 * <p>The routes do not own the {@link Atlas}: close the store (and its engine resources) after
 * them.
 */
public final class AtlasRoutes implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AtlasRoutes.class);
    /** Largest request body (bulk dataset lists). */
    static final int MAX_BODY_BYTES = 4 << 20;

    private final Atlas atlas;
    private final ServerOptions options;
    private final ServerMetrics metrics;
    private final Scheduler work;
    private final Scheduler timer;
    private final List<Route> routes = new ArrayList<>();
    private final String basePath;
    private final Mono<byte[]> openApi;

    private AtlasRoutes(Atlas atlas, ServerOptions options) {
        KeepAliveCheck.once();
        this.atlas = atlas;
        this.options = options;
        this.basePath = options.basePath();
        this.metrics = new ServerMetrics(options.meterRegistry(), atlas, options.resources());
        this.work = Schedulers.newBoundedElastic(options.pngThreads(), 1_000, "atlas-http-work", 60, true);
        this.timer = Schedulers.newSingle("atlas-http-timer", true);
        this.openApi = Mono.fromCallable(AtlasRoutes::openApiDocument).subscribeOn(work).cache();
        Catalog catalog = new Catalog(atlas, options, metrics, work, timer);
        DataRoutes data = new DataRoutes(atlas, options, metrics, timer);
        QuickLook png = new QuickLook(atlas, options, work, timer);
        // Each route declares the query parameters it reads; reading another one is a bug the tests
        // catch (Call.query), and OpenApiTest checks that /openapi.json documents exactly these.
        get("/health", catalog::health);
        get("/metrics", catalog::metrics);
        get("/openapi.json", this::openApi);
        get("/datasets", catalog::datasets, "prefix", "limit", "cursor");
        get("/datasets/{dataset}", catalog::dataset);
        get("/datasets/{dataset}/arrays/{array}", catalog::array);
        get("/datasets/{dataset}/arrays/{array}/data", data::region, "region", "start", "shape", "format");
        get("/datasets/{dataset}/arrays/{array}/png", png::render, "region", "start", "shape", "cmap", "min", "max", "width",
                "height");
        get("/arrays", catalog::arrays);
        get("/arrays/{array}/data", data::bulk, "datasets", "prefix", "limit", "region", "start", "shape", "format");
        routes.add(new Route(HttpMethod.POST, "/arrays/{array}/data", data::bulk,
                Set.of("region", "start", "shape", "format")));
        // Zarr views (ZarrRoutes), raw and with zstd chunks; a fixed key before the chunk pattern that would also match it.
        for (String variant : List.of("", ZarrRoutes.ZSTD_VARIANT)) {
            ZarrRoutes zarr = new ZarrRoutes(atlas, options, metrics, timer, variant.isEmpty() ? 0 : ZarrRoutes.ZSTD_LEVEL);
            String v2 = "/zarr/v2" + variant;
            String v3 = "/zarr/v3" + variant;
            // Stacks of a prefix (_stack/{prefix}) and of listed names (_names/{names}, a ZarrNames token).
            for (boolean byNames : new boolean[] {false, true}) {
                ZarrStacks stacks = new ZarrStacks(atlas, options, zarr, byNames);
                String at = byNames ? "/_names/{names}" : "/_stack/{prefix}";
                get(v2 + at + "/.zgroup", stacks::group);
                get(v2 + at + "/.zattrs", stacks::groupAttrs);
                get(v2 + at + "/.zmetadata", stacks::consolidated);
                get(v2 + at + "/{array}/.zarray", stacks::array);
                get(v2 + at + "/{array}/.zattrs", stacks::arrayAttrs);
                get(v2 + at + "/{array}/{chunk}", stacks::chunk);
                get(v3 + at + "/zarr.json", stacks::v3Group);
                get(v3 + at + "/{array}/zarr.json", stacks::v3Array);
                get(v3 + at + "/{array}/{chunk}", stacks::v3Chunk);
            }
            get(v2 + "/{dataset}/.zgroup", zarr::v2Group);
            get(v2 + "/{dataset}/.zattrs", zarr::v2GroupAttrs);
            get(v2 + "/{dataset}/.zmetadata", zarr::v2Consolidated);
            get(v2 + "/{dataset}/{array}/.zarray", zarr::v2Array);
            get(v2 + "/{dataset}/{array}/.zattrs", zarr::v2ArrayAttrs);
            get(v2 + "/{dataset}/{array}/{chunk}", zarr::v2Chunk);
            get(v3 + "/{dataset}/zarr.json", zarr::v3Group);
            get(v3 + "/{dataset}/{array}/zarr.json", zarr::v3Array);
            get(v3 + "/{dataset}/{array}/{chunk}", zarr::v3Chunk);
        }
    }

    /**
     * The routes of {@code atlas} with {@code options} (its limits, timeouts, CORS, base path and
     * meter registry; host and port are the caller's server's business). They own two small
     * schedulers (PNG encoding and metric scrapes; timeouts): {@link #close()} them after the
     * server that uses them.
     *
     * @param atlas the store to serve; not owned (close it after the routes)
     */
    public static AtlasRoutes create(Atlas atlas, ServerOptions options) {
        return new AtlasRoutes(atlas, options);
    }

    /**
     * Handles one request, as a reactor-netty handler: the routes under
     * {@link ServerOptions#basePath()}; any other path is a JSON 404. Never blocks: runs on the
     * caller's event loop.
     */
    public Publisher<Void> handle(HttpServerRequest req, HttpServerResponse res) {
        return serve(new NettyExchange(req, res));
    }

    /**
     * Serves one exchange of any transport (reactor-netty's through {@link #handle}, WebFlux's
     * through the Spring Boot starter): matches the route, computes its {@link Reply}, has the
     * exchange write it, answers failures (JSON errors, or a cut once headers went out) and records
     * the request's meters. Never blocks.
     *
     * @return completes when the answer is written (or the client is gone)
     */
    public Mono<Void> serve(RouteExchange ex) {
        long t0 = System.nanoTime();
        String[] route = {"unmatched"};
        boolean[] clientGone = {false};
        int[] status = {200};
        HttpHeaders always = new DefaultHttpHeaders();
        return Mono.defer(() -> dispatch(ex, always, route, t0))
                .flatMap(reply -> write(ex, reply, always, status))
                .onErrorResume(e -> {
                    if (clientClosed(e)) {
                        // The client went away (reset, closed, aborted): not a server error, no
                        // WARN, no answer to write; counted apart.
                        clientGone[0] = true;
                        LOG.debug("{} {}: client closed the connection ({})", ex.method(), ex.uri(), e.toString());
                        return Mono.empty();
                    }
                    return fail(ex, always, route[0], e, status);
                })
                .doOnDiscard(Reply.class, Reply::release)
                .doFinally(sig -> metrics.request(route[0], methodTag(ex.method()),
                        clientGone[0] || sig == reactor.core.publisher.SignalType.CANCEL ? "client-closed"
                                : Integer.toString(status[0]), System.nanoTime() - t0));
    }

    /** Writes {@code reply} with the headers every answer of this exchange carries (CORS, Allow); releases what it holds afterwards. */
    private static Mono<Void> write(RouteExchange ex, Reply reply, HttpHeaders always, int[] status) {
        for (Map.Entry<String, String> h : always) {
            if (!reply.headers().contains(h.getKey())) {
                reply.headers().add(h.getKey(), h.getValue());
            }
        }
        status[0] = reply.status().code();
        return Mono.defer(() -> ex.send(reply)).doFinally(sig -> reply.release());
    }

    /**
     * Whether {@code uri} (a request target: path relative to the server root, maybe a query) is
     * under the base path, so that {@link #serve} answers it; a caller's router uses this to send
     * only these requests here.
     */
    public boolean serves(String uri) {
        if (basePath.isEmpty()) {
            return true;
        }
        return uri.equals(basePath) || uri.startsWith(basePath + "/") || uri.startsWith(basePath + "?");
    }

    /**
     * Mounts the routes on a caller's route table: every request whose path is under
     * {@link ServerOptions#basePath()} (all of them for the empty base path) goes to
     * {@link #handle}. Routes the caller adds before this one take precedence.
     */
    public HttpServerRoutes mount(HttpServerRoutes table) {
        return table.route(this::mine, this::handle);
    }

    /** Whether {@code req}'s path is under the base path. */
    private boolean mine(HttpServerRequest req) {
        return serves(req.uri());
    }

    /**
     * {@code server} with the connection-level protections of {@code options}: the idle, read and
     * request timeouts (see {@link ServerOptions#idleTimeout()}), and the request line and header
     * limits answered with JSON errors (414, 431; this replaces the server's request decoder
     * options: a caller that needs other decoder settings sets them after this, with
     * {@link ServerOptions#maxRequestLineBytes()} and {@link ServerOptions#maxHeaderBytes()}). Apply it to the caller's server
     * that mounts these routes; {@link AtlasHttpServer} does.
     */
    public HttpServer configure(HttpServer server) {
        // Slow or idle clients: a connection waiting for (or stalling inside) its request line and
        // headers is closed after idleTimeout; a body pausing longer than readTimeout, or not
        // complete within requestTimeout, is answered 408.
        return DecoderFailures.configure(server, options, metrics)
                .idleTimeout(options.idleTimeout())
                .readTimeout(options.readTimeout())
                .requestTimeout(options.requestTimeout());
    }

    /** The registry holding the routes' meters (the one given in the options, or their own Prometheus one). */
    public MeterRegistry meterRegistry() {
        return metrics.registry();
    }

    /** Bytes of array data handed to the network so far (binary responses). */
    public long bytesSent() {
        return (long) metrics.bytesSent();
    }

    /** Releases the routes' schedulers; call it after the server that uses them stopped. Does not close the store. */
    @Override
    public void close() {
        work.dispose();
        timer.dispose();
    }

    // ------------------------------------------------------------------ dispatch

    /** A handler of one route. */
    @FunctionalInterface
    interface Handler {
        Mono<Reply> handle(Call call);
    }

    /** A GET route reading query parameters {@code params}, also answering HEAD (the same status and headers; the transport sends no body for HEAD). */
    private void get(String pattern, Handler h, String... params) {
        routes.add(new Route(HttpMethod.GET, pattern, h, Set.of(params)));
        routes.add(new Route(HttpMethod.HEAD, pattern, h, Set.of(params)));
    }

    /** The route table as {@code METHOD pattern -> query parameters} (for the OpenAPI check). */
    Map<String, Set<String>> table() {
        Map<String, Set<String>> t = new java.util.TreeMap<>();
        for (Route r : routes) {
            t.put(r.method().name() + " " + r.pattern(), r.params());
        }
        return t;
    }

    /** {@code GET /openapi.json}: the OpenAPI 3.1 description of these routes (a resource kept beside them). */
    private Mono<Reply> openApi(Call call) {
        // Read on the work scheduler (a class-path resource is a file read), once.
        return Catalog.json(openApi, call, timer);
    }

    /** The OpenAPI document, as UTF-8 bytes. */
    static byte[] openApiDocument() throws java.io.IOException {
        try (java.io.InputStream in = AtlasRoutes.class.getResourceAsStream("openapi.json")) {
            if (in == null) {
                throw new AtlasException("openapi.json is missing from the atlas-http jar");
            }
            return in.readAllBytes();
        }
    }

    /** The methods HTTP defines; any other name is one metrics tag ({@code OTHER}) and a 501. */
    private static final Set<String> KNOWN_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
            "TRACE", "PATCH");

    /** The method as a metrics tag: one of the methods HTTP defines, or {@code OTHER} (a client may send any token). */
    static String methodTag(HttpMethod m) {
        String name = m.name();
        return KNOWN_METHODS.contains(name) ? name : "OTHER";
    }

    /** One route: method, pattern ({@code {name}} segments capture one decoded path segment), handler. */
    record Route(HttpMethod method, String pattern, String[] segments, Handler handler, Set<String> params) {
        Route(HttpMethod method, String pattern, Handler handler, Set<String> params) {
            this(method, pattern, pattern.substring(1).split("/"), handler, params);
        }

        /** Path parameters when the segments match, else null. */
        Map<String, String> match(List<String> path) {
            if (path.size() != segments.length) {
                return null;
            }
            Map<String, String> params = new HashMap<>();
            for (int i = 0; i < segments.length; i++) {
                String s = segments[i];
                if (s.startsWith("{")) {
                    params.put(s.substring(1, s.length() - 1), path.get(i));
                } else if (!s.equals(path.get(i))) {
                    return null;
                }
            }
            return params;
        }
    }

    /** A matched request: its path parameters (decoded), query parameters (decoded), deadline and route pattern. */
    record Call(RouteExchange exchange, Map<String, String> path, Map<String, List<String>> query, long deadline,
            String route) {
        String path(String name) {
            return path.get(name);
        }

        /** Nanoseconds left before the request timeout (may be negative). */
        long remainingNanos() {
            return deadline - System.nanoTime();
        }
    }

    /** Headers a browser page may read from our answers when CORS allows its origin. */
    private static final String CORS_EXPOSED = "X-Atlas-DType, X-Atlas-Shape, X-Atlas-Start, X-Atlas-Byte-Order, X-Atlas-Min,"
            + " X-Atlas-Max, Content-Length, Retry-After";

    /**
     * CORS: when the request's {@code Origin} is allowed, the answer says so (every answer, errors
     * included, so a page can read them); returns whether it was allowed.
     */
    private boolean cors(RouteExchange req, HttpHeaders res) {
        Set<String> allowed = options.corsOrigins();
        String origin = req.header(HttpHeaderNames.ORIGIN);
        if (allowed.isEmpty() || origin == null) {
            return false;
        }
        boolean any = allowed.contains("*");
        if (!any && !allowed.contains(origin)) {
            return false;
        }
        res.set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_ORIGIN, any ? "*" : origin);
        if (!any) {
            res.set(HttpHeaderNames.VARY, HttpHeaderNames.ORIGIN);
        }
        res.set(HttpHeaderNames.ACCESS_CONTROL_EXPOSE_HEADERS, CORS_EXPOSED);
        return true;
    }

    /**
     * The reply of the route {@code req} matches; headers every answer must carry (CORS, Allow)
     * go into {@code res}, failures are thrown (or signalled) for {@link #fail} to answer.
     */
    private Mono<Reply> dispatch(RouteExchange req, HttpHeaders res, String[] routeName, long t0) {
        boolean corsAllowed = cors(req, res);
        if (corsAllowed && req.method().equals(HttpMethod.OPTIONS)
                && req.header(HttpHeaderNames.ACCESS_CONTROL_REQUEST_METHOD) != null) {
            // A preflight: what a page of this origin may send.
            routeName[0] = "cors-preflight";
            Reply preflight = Reply.empty(HttpResponseStatus.NO_CONTENT);
            preflight.headers().set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, POST")
                    .set(HttpHeaderNames.ACCESS_CONTROL_ALLOW_HEADERS, "Content-Type")
                    .set(HttpHeaderNames.ACCESS_CONTROL_MAX_AGE, "600");
            return Mono.just(preflight);
        }
        String uri = req.uri();
        int q = uri.indexOf('?');
        String rawPath = q < 0 ? uri : uri.substring(0, q);
        if (!basePath.isEmpty()) {
            if (!rawPath.equals(basePath) && !rawPath.startsWith(basePath + "/")) {
                throw ApiError.notFound("no route " + rawPath, null);
            }
            rawPath = rawPath.length() == basePath.length() ? "/" : rawPath.substring(basePath.length());
        }
        List<String> path = decodePath(rawPath);
        Map<String, List<String>> query;
        try {
            query = new QueryStringDecoder(uri).parameters();
        } catch (IllegalArgumentException e) {
            throw ApiError.badParameter(null, "malformed query string: " + e.getMessage());
        }
        Set<String> allowed = new LinkedHashSet<>();
        for (Route r : routes) {
            Map<String, String> params = r.match(path);
            if (params == null) {
                continue;
            }
            if (!r.method().equals(req.method())) {
                allowed.add(r.method().name());
                continue;
            }
            routeName[0] = r.pattern();
            Call call = new Call(req, params, declaredOnly(query, r), t0 + options.requestTimeout().toNanos(), r.pattern());
            return r.handler().handle(call);
        }
        if (!KNOWN_METHODS.contains(req.method().name())) {
            routeName[0] = "method-not-implemented";
            throw new ApiError(HttpResponseStatus.NOT_IMPLEMENTED, "method " + req.method().name() + " is not implemented", null);
        }
        if (!allowed.isEmpty()) {
            routeName[0] = "method-not-allowed";
            res.set(HttpHeaderNames.ALLOW, String.join(", ", allowed));
            throw new ApiError(HttpResponseStatus.METHOD_NOT_ALLOWED, req.method().name() + " is not allowed on "
                    + rawPath + " (allowed: " + String.join(", ", allowed) + ")", null);
        }
        throw ApiError.notFound("no route " + rawPath, null);
    }

    /** Splits the raw path at '/' and percent-decodes each segment ('+' stays '+'); a trailing '/' is ignored. */
    static List<String> decodePath(String rawPath) {
        List<String> out = new ArrayList<>();
        if (!rawPath.startsWith("/")) {
            throw ApiError.notFound("no route " + rawPath, null);
        }
        String p = rawPath.length() > 1 && rawPath.endsWith("/") ? rawPath.substring(0, rawPath.length() - 1) : rawPath;
        if (p.equals("/")) {
            out.add("");
            return out;
        }
        for (String seg : p.substring(1).split("/", -1)) {
            try {
                out.add(QueryStringDecoder.decodeComponent(seg.replace("+", "%2B")));
            } catch (IllegalArgumentException e) {
                throw ApiError.badParameter(null, "malformed percent-encoding in path segment '" + seg + "'");
            }
        }
        return out;
    }

    /**
     * {@code query} as a handler of {@code r} may read it: a parameter the route does not declare
     * is a programming error (its documentation would be wrong), never a client's. Parameters a
     * client adds beyond the declared ones are ignored, as before.
     */
    private static Map<String, List<String>> declaredOnly(Map<String, List<String>> query, Route r) {
        return new java.util.AbstractMap<>() {
            @Override
            public List<String> get(Object key) {
                if (!r.params().contains(key)) {
                    throw new IllegalStateException("route " + r.method() + " " + r.pattern() + " reads query parameter '" + key
                            + "' it does not declare");
                }
                return query.get(key);
            }

            @Override
            public boolean containsKey(Object key) {
                return get(key) != null;
            }

            @Override
            public Set<Map.Entry<String, List<String>>> entrySet() {
                Set<Map.Entry<String, List<String>>> out = new LinkedHashSet<>();
                for (Map.Entry<String, List<String>> e : query.entrySet()) {
                    if (r.params().contains(e.getKey())) {
                        out.add(e);
                    }
                }
                return out;
            }
        };
    }

    /** Whether {@code e} says the client closed or reset the connection (nothing left to answer). */
    static boolean clientClosed(Throwable e) {
        Throwable t = Exceptions.unwrap(e);
        for (int depth = 0; t != null && depth < 8; depth++, t = t.getCause()) {
            if (t instanceof reactor.netty.channel.AbortedException || t instanceof java.nio.channels.ClosedChannelException
                    || reactor.netty.channel.AbortedException.isConnectionReset(t)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The error response of a failed request. Data routes make their reply only once their first
     * piece is in hand ({@link StreamedBody}), so every failure up to then arrives here with
     * nothing sent and gets its status. A response whose headers went out can only be cut (its
     * connection closed): {@link StreamedBody} has logged and counted a read failure already; a
     * client that went away needs neither.
     */
    private Mono<Void> fail(RouteExchange ex, HttpHeaders always, String route, Throwable e, int[] status) {
        if (ex.committed()) {
            // Cut: close the connection short of Content-Length. Closing here, rather than handing
            // the error to the server, keeps the log at StreamedBody's one line per cut (reactor-netty
            // would log the error again with its stack trace).
            LOG.debug("response cut after its headers were sent: {}", e.toString());
            return ex.abort(e);
        }
        ApiError api = classify(e);
        if (Exceptions.unwrap(e) instanceof CorruptFileException) {
            // Damaged stored bytes are never served: the client gets this JSON 500, the log one
            // line naming the object and block (below), the metrics a count.
            metrics.corruptRead(route, "error");
        }
        if (api.status().code() >= 500) {
            // The engine's typed errors name what failed (file, block, key): one line. Anything
            // else is a bug worth its stack trace.
            if (Exceptions.unwrap(e) instanceof AtlasException || api.status().code() != 500) {
                LOG.warn("{} {} failed ({}): {}", ex.method(), ex.uri(), api.status().code(), e.toString());
            } else {
                LOG.warn("{} {} failed ({}): {}", ex.method(), ex.uri(), api.status().code(), e.toString(), e);
            }
        }
        // A fresh reply: success headers a handler may have computed before it failed are not in it.
        Reply reply = Reply.bytes(api.status(), "application/json", Json.error(api.getMessage(), api.parameter()));
        if (api.status().code() == 408) {
            reply.headers().set(HttpHeaderNames.CONNECTION, "close"); // the rest of the body is not coming
        }
        if (api.retryAfterSeconds() > 0) {
            reply.headers().set(HttpHeaderNames.RETRY_AFTER, Integer.toString(api.retryAfterSeconds()));
        }
        return write(ex, reply, always, status);
    }

    /**
     * Maps a failure to its answer, the one mapping every route shares: client mistakes 4xx;
     * a missing dataset, array or object 404; a storage failure the engine could not cure by
     * re-planning (the store changed under the read, or a transient backend error) and request
     * timeouts 503, the former with {@code Retry-After}; a request body that stalls 408; damaged
     * stored bytes and anything else 500.
     */
    static ApiError classify(Throwable failure) {
        Throwable e = Exceptions.unwrap(failure);
        if (e instanceof ApiError a) {
            return a;
        }
        if (e instanceof DatasetNotFoundException) {
            return ApiError.notFound(e.getMessage(), "dataset");
        }
        if (e instanceof ArrayNotFoundException) {
            return ApiError.notFound(e.getMessage(), "array");
        }
        if (e instanceof NotFoundException) {
            return ApiError.notFound(e.getMessage(), null);
        }
        if (e instanceof InvalidArgumentException) {
            return ApiError.badParameter(null, e.getMessage());
        }
        if (e instanceof StorageException s && s.retryable()) {
            return ApiError.retryLater((e instanceof ObjectChangedException ? "the store changed during the read"
                    : "storage is temporarily unavailable") + ": " + e.getMessage());
        }
        if (e instanceof io.netty.handler.timeout.TimeoutException) {
            // The request body paused longer than readTimeout or was not complete within requestTimeout.
            return new ApiError(HttpResponseStatus.REQUEST_TIMEOUT, "the request body did not arrive in time", null);
        }
        if (e instanceof TimeoutException) {
            return new ApiError(HttpResponseStatus.SERVICE_UNAVAILABLE, "request timed out", null);
        }
        if (e instanceof CorruptFileException) {
            return new ApiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "stored data is damaged: " + e.getMessage(), null);
        }
        return new ApiError(HttpResponseStatus.INTERNAL_SERVER_ERROR, "internal error: " + e, null);
    }
}
