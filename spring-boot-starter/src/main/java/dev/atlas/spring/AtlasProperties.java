package dev.atlas.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.util.unit.DataSize;

/**
 * The {@code atlas.*} properties of the starter: which store to open and how, and how its routes
 * are served. Unset numeric limits keep the engine's and {@code ServerOptions}' defaults.
 */
@ConfigurationProperties("atlas")
public class AtlasProperties {
    /** The store: a directory ({@code /data/store} or {@code file:///data/store}) or {@code s3://bucket/prefix}. */
    private String store;
    /** Create an empty store when there is none at {@code store} (default: refuse to start). */
    private boolean create;
    /** How often the handle brings itself to the store's latest commit; 0 never. */
    private Duration refreshInterval = Duration.ofSeconds(2);
    /** Concurrent storage reads of one bulk read (default: the engine's per-storage choice). */
    private Integer ioConcurrency;
    /** Concurrent decompressions of one bulk read (default: twice the cores). */
    private Integer cpuConcurrency;
    private final S3 s3 = new S3();
    private final Cache cache = new Cache();
    private final Engine engine = new Engine();
    private final Http http = new Http();

    public String getStore() {
        return store;
    }

    public void setStore(String store) {
        this.store = store;
    }

    public boolean isCreate() {
        return create;
    }

    public void setCreate(boolean create) {
        this.create = create;
    }

    public Duration getRefreshInterval() {
        return refreshInterval;
    }

    public void setRefreshInterval(Duration refreshInterval) {
        this.refreshInterval = refreshInterval;
    }

    public Integer getIoConcurrency() {
        return ioConcurrency;
    }

    public void setIoConcurrency(Integer ioConcurrency) {
        this.ioConcurrency = ioConcurrency;
    }

    public Integer getCpuConcurrency() {
        return cpuConcurrency;
    }

    public void setCpuConcurrency(Integer cpuConcurrency) {
        this.cpuConcurrency = cpuConcurrency;
    }

    public S3 getS3() {
        return s3;
    }

    public Cache getCache() {
        return cache;
    }

    public Engine getEngine() {
        return engine;
    }

    public Http getHttp() {
        return http;
    }

    /** {@code atlas.s3.*}: how to reach S3 for an {@code s3://} store; credentials come from the AWS default chain. */
    public static class S3 {
        /** Endpoint of an S3-compatible server (e.g. {@code http://127.0.0.1:9000}); default AWS. */
        private String endpoint;
        /** Region; default {@code AWS_REGION} / {@code AWS_DEFAULT_REGION}, else the AWS profile's, else us-east-1. */
        private String region;
        /** Path-style addressing (most S3-compatible servers want it). */
        private boolean pathStyle;

        public String getEndpoint() {
            return endpoint;
        }

        public void setEndpoint(String endpoint) {
            this.endpoint = endpoint;
        }

        public String getRegion() {
            return region;
        }

        public void setRegion(String region) {
            this.region = region;
        }

        public boolean isPathStyle() {
            return pathStyle;
        }

        public void setPathStyle(boolean pathStyle) {
            this.pathStyle = pathStyle;
        }
    }

    /** {@code atlas.cache.*}: the read caches' budgets (default: the engine's, each capped at an eighth of direct memory). */
    public static class Cache {
        /** Budget of the slab cache (stored, compressed bytes); 0 disables it. */
        private DataSize slabs;
        /** Budget of the block cache (decompressed blocks); 0 disables it. */
        private DataSize blocks;

        public DataSize getSlabs() {
            return slabs;
        }

        public void setSlabs(DataSize slabs) {
            this.slabs = slabs;
        }

        public DataSize getBlocks() {
            return blocks;
        }

        public void setBlocks(DataSize blocks) {
            this.blocks = blocks;
        }
    }

    /** {@code atlas.engine.*}: the engine's thread pools. */
    public static class Engine {
        /** Codec (decompression) threads; default one per core. */
        private Integer codecThreads;
        /** Blocking-I/O threads (local files); default max(4, 2 x cores). */
        private Integer ioThreads;

        public Integer getCodecThreads() {
            return codecThreads;
        }

        public void setCodecThreads(Integer codecThreads) {
            this.codecThreads = codecThreads;
        }

        public Integer getIoThreads() {
            return ioThreads;
        }

        public void setIoThreads(Integer ioThreads) {
            this.ioThreads = ioThreads;
        }
    }

    /** {@code atlas.http.*}: the routes as a WebFlux {@code RouterFunction}. */
    public static class Http {
        /** Expose the routes (in a WebFlux application). */
        private boolean enabled = true;
        /** Path the routes live under ({@code ""} for the root). */
        private String basePath = "/atlas";
        /** Elements one region read may cover. */
        private Long maxElementsPerRequest;
        /** Elements one response may carry, bulk reads included. */
        private Long maxElementsPerResponse;
        /** Elements a {@code format=json} response may carry. */
        private Long maxJsonElements;
        /** Pixels of one PNG quick-look (larger slices are downsampled). */
        private Long maxPngPixels;
        /** Datasets one bulk read may name. */
        private Integer maxDatasetsPerBulk;
        /** Time a request may take before it is answered 503 (or its stream cut). */
        private Duration requestTimeout;
        /** Bytes of one streamed piece (one engine read): the memory a slow client can hold. */
        private DataSize streamPieceSize;
        /** Origins whose pages may read answers (CORS); {@code *} for any; empty: CORS off. */
        private List<String> corsOrigins = new ArrayList<>();

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public String getBasePath() {
            return basePath;
        }

        public void setBasePath(String basePath) {
            this.basePath = basePath;
        }

        public Long getMaxElementsPerRequest() {
            return maxElementsPerRequest;
        }

        public void setMaxElementsPerRequest(Long maxElementsPerRequest) {
            this.maxElementsPerRequest = maxElementsPerRequest;
        }

        public Long getMaxElementsPerResponse() {
            return maxElementsPerResponse;
        }

        public void setMaxElementsPerResponse(Long maxElementsPerResponse) {
            this.maxElementsPerResponse = maxElementsPerResponse;
        }

        public Long getMaxJsonElements() {
            return maxJsonElements;
        }

        public void setMaxJsonElements(Long maxJsonElements) {
            this.maxJsonElements = maxJsonElements;
        }

        public Long getMaxPngPixels() {
            return maxPngPixels;
        }

        public void setMaxPngPixels(Long maxPngPixels) {
            this.maxPngPixels = maxPngPixels;
        }

        public Integer getMaxDatasetsPerBulk() {
            return maxDatasetsPerBulk;
        }

        public void setMaxDatasetsPerBulk(Integer maxDatasetsPerBulk) {
            this.maxDatasetsPerBulk = maxDatasetsPerBulk;
        }

        public Duration getRequestTimeout() {
            return requestTimeout;
        }

        public void setRequestTimeout(Duration requestTimeout) {
            this.requestTimeout = requestTimeout;
        }

        public DataSize getStreamPieceSize() {
            return streamPieceSize;
        }

        public void setStreamPieceSize(DataSize streamPieceSize) {
            this.streamPieceSize = streamPieceSize;
        }

        public List<String> getCorsOrigins() {
            return corsOrigins;
        }

        public void setCorsOrigins(List<String> corsOrigins) {
            this.corsOrigins = corsOrigins;
        }
    }
}
