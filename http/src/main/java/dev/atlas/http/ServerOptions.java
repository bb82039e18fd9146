package dev.atlas.http;

import dev.atlas.runtime.EngineResources;
import dev.atlas.error.InvalidArgumentException;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;

/**
 * Immutable settings of an {@link AtlasHttpServer}: where it listens and the limits that protect
 * it from requests that would cost too much. Build with {@link #builder()}.
 */
public final class ServerOptions {
    /** Loopback by default: serving a store to the network is an explicit choice. */
    public static final String DEFAULT_HOST = "127.0.0.1";
    /** The usual development port. */
    public static final int DEFAULT_PORT = 8080;
    /** 64 Mi elements: a 256 MiB float32 region, enough for any sensible window, far below a heap. */
    public static final long DEFAULT_MAX_ELEMENTS_PER_REQUEST = 64L << 20;
    /** 256 Mi elements streamed in one response (bulk reads stack many regions). */
    public static final long DEFAULT_MAX_ELEMENTS_PER_RESPONSE = 256L << 20;
    /** JSON renders ~20 bytes an element, in memory: keep it to 1 Mi elements. */
    public static final long DEFAULT_MAX_JSON_ELEMENTS = 1L << 20;
    /** PNG quick-looks are built in memory (4 bytes a pixel): at most 16 Mi pixels (4096 x 4096). */
    public static final long DEFAULT_MAX_PNG_PIXELS = 16L << 20;
    /** Datasets one bulk request may name. */
    public static final int DEFAULT_MAX_DATASETS_PER_BULK = 10_000;
    /** Catalog page size when the request does not say. */
    public static final int DEFAULT_PAGE_SIZE = 100;
    /** Largest catalog page a request may ask for. */
    public static final int DEFAULT_MAX_PAGE_SIZE = 1_000;
    /** A request that has not finished within this time is answered 503 (or its stream aborted). */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);
    /**
     * A connection that has sent no complete request line and headers for this long (a new one, a
     * kept-alive one between requests, or one that stalls inside its headers) is closed.
     */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
    /** A request body that sends nothing for this long is answered 408 and its connection closed. */
    public static final Duration DEFAULT_READ_TIMEOUT = Duration.ofSeconds(10);
    /**
     * Longest request line (method, target and version), as Netty's decoder defaults it: 4 KiB holds
     * every route with a region and a long dataset list in {@code datasets=}; longer lists go in a
     * {@code POST} body. Longer lines are answered 414 with the JSON error.
     */
    public static final int DEFAULT_MAX_REQUEST_LINE_BYTES = 4096;
    /**
     * Largest request head (all header lines), as Netty's decoder defaults it: room for browser
     * headers and cookies of a neighbouring app on the same host. Larger heads are answered 431 with
     * the JSON error.
     */
    public static final int DEFAULT_MAX_HEADER_BYTES = 8192;
    /** Bytes of one streamed piece (one engine read); also the unit of memory a slow client can hold. */
    public static final int DEFAULT_STREAM_PIECE_BYTES = 1 << 20;
    /** Threads encoding PNGs (CPU-bound, off the event loop). */
    public static final int DEFAULT_PNG_THREADS = Math.max(1, Runtime.getRuntime().availableProcessors() / 2);

    private final String host;
    private final int port;
    private final long maxElementsPerRequest;
    private final long maxElementsPerResponse;
    private final long maxJsonElements;
    private final long maxPngPixels;
    private final int maxDatasetsPerBulk;
    private final int defaultPageSize;
    private final int maxPageSize;
    private final Duration requestTimeout;
    private final Duration idleTimeout;
    private final Duration readTimeout;
    private final int maxRequestLineBytes;
    private final int maxHeaderBytes;
    private final java.util.Set<String> corsOrigins;
    private final String basePath;
    private final int streamPieceBytes;
    private final int pngThreads;
    private final EngineResources resources;
    private final MeterRegistry meterRegistry;

    private ServerOptions(Builder b) {
        host = b.host;
        port = b.port;
        maxElementsPerRequest = b.maxElementsPerRequest;
        maxElementsPerResponse = b.maxElementsPerResponse;
        maxJsonElements = b.maxJsonElements;
        maxPngPixels = b.maxPngPixels;
        maxDatasetsPerBulk = b.maxDatasetsPerBulk;
        defaultPageSize = b.defaultPageSize;
        maxPageSize = b.maxPageSize;
        requestTimeout = b.requestTimeout;
        idleTimeout = b.idleTimeout;
        readTimeout = b.readTimeout;
        maxRequestLineBytes = b.maxRequestLineBytes;
        maxHeaderBytes = b.maxHeaderBytes;
        corsOrigins = java.util.Set.copyOf(b.corsOrigins);
        basePath = b.basePath;
        streamPieceBytes = b.streamPieceBytes;
        pngThreads = b.pngThreads;
        resources = b.resources;
        meterRegistry = b.meterRegistry;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Defaults everywhere. */
    public static ServerOptions defaults() {
        return builder().build();
    }

    public String host() {
        return host;
    }

    /** Port to bind; 0 picks a free one (see {@link AtlasHttpServer#port()}). */
    public int port() {
        return port;
    }

    /** Elements one region read (of one dataset) may cover. */
    public long maxElementsPerRequest() {
        return maxElementsPerRequest;
    }

    /** Elements one response may carry (a bulk response: datasets x region). */
    public long maxElementsPerResponse() {
        return maxElementsPerResponse;
    }

    /** Elements a {@code format=json} response may carry. */
    public long maxJsonElements() {
        return maxJsonElements;
    }

    /** Pixels of one PNG quick-look. */
    public long maxPngPixels() {
        return maxPngPixels;
    }

    public int maxDatasetsPerBulk() {
        return maxDatasetsPerBulk;
    }

    public int defaultPageSize() {
        return defaultPageSize;
    }

    public int maxPageSize() {
        return maxPageSize;
    }

    /**
     * Time a request may take from its arrival to its last byte: a response not done by then is
     * answered 503 (or its stream cut), and a request body still arriving then is refused.
     */
    public Duration requestTimeout() {
        return requestTimeout;
    }

    /** See {@link #DEFAULT_IDLE_TIMEOUT}: idle and header-stalling connections are closed after this. */
    public Duration idleTimeout() {
        return idleTimeout;
    }

    /** See {@link #DEFAULT_READ_TIMEOUT}: the longest pause inside a request body. */
    public Duration readTimeout() {
        return readTimeout;
    }

    /** See {@link #DEFAULT_MAX_REQUEST_LINE_BYTES}: longer request lines are answered 414 (JSON). */
    public int maxRequestLineBytes() {
        return maxRequestLineBytes;
    }

    /** See {@link #DEFAULT_MAX_HEADER_BYTES}: larger request heads are answered 431 (JSON). */
    public int maxHeaderBytes() {
        return maxHeaderBytes;
    }

    /**
     * Origins browsers may read answers from (CORS): empty (the default) sends no CORS headers, so
     * browsers keep pages of other origins from reading the service; {@code *} allows any origin.
     */
    public java.util.Set<String> corsOrigins() {
        return corsOrigins;
    }

    /**
     * Path the routes live under ({@code ""}, the default: at the root; else e.g. {@code /atlas},
     * so that {@code GET /atlas/health} is the health route): for mounting them beside a service's
     * own routes ({@link AtlasRoutes#mount}).
     */
    public String basePath() {
        return basePath;
    }

    public int streamPieceBytes() {
        return streamPieceBytes;
    }

    public int pngThreads() {
        return pngThreads;
    }

    /**
     * The engine resources the store was opened with, for the engine's meters (caches, storage
     * calls, codec threads, memory: {@link dev.atlas.metrics.AtlasMetrics}); may be null.
     */
    public EngineResources resources() {
        return resources;
    }

    /** Registry to add the server's meters to; null: the server makes a Prometheus registry. */
    public MeterRegistry meterRegistry() {
        return meterRegistry;
    }

    /**
     * Builder of {@link ServerOptions}; every setter checks its argument and refuses a bad one with an
     * {@link InvalidArgumentException} ({@code atlas serve} reports it as a usage error).
     */
    public static final class Builder {
        private String host = DEFAULT_HOST;
        private int port = DEFAULT_PORT;
        private long maxElementsPerRequest = DEFAULT_MAX_ELEMENTS_PER_REQUEST;
        private long maxElementsPerResponse = DEFAULT_MAX_ELEMENTS_PER_RESPONSE;
        private long maxJsonElements = DEFAULT_MAX_JSON_ELEMENTS;
        private long maxPngPixels = DEFAULT_MAX_PNG_PIXELS;
        private int maxDatasetsPerBulk = DEFAULT_MAX_DATASETS_PER_BULK;
        private int defaultPageSize = DEFAULT_PAGE_SIZE;
        private int maxPageSize = DEFAULT_MAX_PAGE_SIZE;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
        private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
        private Duration readTimeout = DEFAULT_READ_TIMEOUT;
        private int maxRequestLineBytes = DEFAULT_MAX_REQUEST_LINE_BYTES;
        private int maxHeaderBytes = DEFAULT_MAX_HEADER_BYTES;
        private java.util.Set<String> corsOrigins = java.util.Set.of();
        private String basePath = "";
        private int streamPieceBytes = DEFAULT_STREAM_PIECE_BYTES;
        private int pngThreads = DEFAULT_PNG_THREADS;
        private EngineResources resources;
        private MeterRegistry meterRegistry;

        private Builder() {
        }

        public Builder host(String h) {
            if (h == null || h.isBlank()) {
                throw new InvalidArgumentException("host must not be empty");
            }
            host = h;
            return this;
        }

        /** 0 = any free port. */
        public Builder port(int p) {
            if (p < 0 || p > 65535) {
                throw new InvalidArgumentException("port must be 0..65535, got " + p);
            }
            port = p;
            return this;
        }

        public Builder maxElementsPerRequest(long n) {
            maxElementsPerRequest = positive(n, "maxElementsPerRequest");
            return this;
        }

        public Builder maxElementsPerResponse(long n) {
            maxElementsPerResponse = positive(n, "maxElementsPerResponse");
            return this;
        }

        public Builder maxJsonElements(long n) {
            maxJsonElements = positive(n, "maxJsonElements");
            return this;
        }

        public Builder maxPngPixels(long n) {
            maxPngPixels = positive(n, "maxPngPixels");
            return this;
        }

        public Builder maxDatasetsPerBulk(int n) {
            maxDatasetsPerBulk = (int) positive(n, "maxDatasetsPerBulk");
            return this;
        }

        public Builder defaultPageSize(int n) {
            defaultPageSize = (int) positive(n, "defaultPageSize");
            return this;
        }

        public Builder maxPageSize(int n) {
            maxPageSize = (int) positive(n, "maxPageSize");
            return this;
        }

        public Builder requestTimeout(Duration d) {
            requestTimeout = positive(d, "requestTimeout");
            return this;
        }

        public Builder idleTimeout(Duration d) {
            idleTimeout = positive(d, "idleTimeout");
            return this;
        }

        public Builder readTimeout(Duration d) {
            readTimeout = positive(d, "readTimeout");
            return this;
        }

        /** Longest request line, 256 bytes to 1 MiB. */
        public Builder maxRequestLineBytes(int n) {
            maxRequestLineBytes = within(n, 256, 1 << 20, "maxRequestLineBytes");
            return this;
        }

        /** Largest request head, 1 KiB to 1 MiB. */
        public Builder maxHeaderBytes(int n) {
            maxHeaderBytes = within(n, 1024, 1 << 20, "maxHeaderBytes");
            return this;
        }

        /** {@code ""} or a path of segments without a trailing slash ({@code /atlas}, {@code /api/arrays}). */
        public Builder basePath(String p) {
            if (p == null || !(p.isEmpty() || p.matches("(/[A-Za-z0-9._~-]+)+"))) {
                throw new InvalidArgumentException("a base path is empty or /segment[/segment...] without a trailing slash, not '"
                        + p + "'");
            }
            basePath = p;
            return this;
        }

        /**
         * Origins allowed to read answers from a browser (exact {@code scheme://host[:port]}, or
         * {@code *} for any); none by default.
         */
        public Builder corsOrigins(java.util.Collection<String> origins) {
            java.util.Set<String> set = new java.util.LinkedHashSet<>();
            for (String o : origins) {
                if (o == null || o.isBlank() || !(o.equals("*") || o.matches("https?://[^/\\s]+"))) {
                    throw new InvalidArgumentException("a CORS origin is * or scheme://host[:port], not '" + o + "'");
                }
                set.add(o);
            }
            corsOrigins = set;
            return this;
        }

        /** Bytes of one streamed piece, 4 KiB to 64 MiB. */
        public Builder streamPieceBytes(int n) {
            if (n < 4096 || n > (64 << 20)) {
                throw new InvalidArgumentException("streamPieceBytes must be 4 KiB..64 MiB, got " + n);
            }
            streamPieceBytes = n;
            return this;
        }

        public Builder pngThreads(int n) {
            pngThreads = (int) positive(n, "pngThreads");
            return this;
        }

        /**
         * The store's engine resources: their meters (caches, storage calls, codec threads, memory)
         * go to the registry and /metrics, and their storage-call counters are enabled.
         */
        public Builder resources(EngineResources r) {
            resources = r;
            return this;
        }

        public Builder meterRegistry(MeterRegistry r) {
            meterRegistry = r;
            return this;
        }

        public ServerOptions build() {
            if (defaultPageSize > maxPageSize) {
                throw new InvalidArgumentException("defaultPageSize " + defaultPageSize + " exceeds maxPageSize " + maxPageSize);
            }
            return new ServerOptions(this);
        }

        private static Duration positive(Duration d, String what) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new InvalidArgumentException(what + " must be positive");
            }
            return d;
        }

        private static int within(int n, int min, int max, String what) {
            if (n < min || n > max) {
                throw new InvalidArgumentException(what + " must be " + min + ".." + max + ", got " + n);
            }
            return n;
        }

        private static long positive(long n, String what) {
            if (n <= 0) {
                throw new InvalidArgumentException(what + " must be positive, got " + n);
            }
            return n;
        }
    }
}
