package dev.atlas.storage.s3;

import dev.atlas.error.InvalidArgumentException;
import java.net.URI;
import java.time.Duration;
import java.util.Objects;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;

/**
 * Immutable configuration of an {@link S3Storage}: where the objects live (bucket, key prefix,
 * region, endpoint, addressing style), who signs (credentials), and how requests behave (checksums,
 * timeouts, concurrency, part size, retries). Every default is a named constant.
 *
 * <pre>{@code
 * S3StorageOptions o = S3StorageOptions.builder("my-bucket")
 *         .keyPrefix("stores/prod/")
 *         .region(Region.EU_WEST_1)
 *         .build();
 * }</pre>
 */
public final class S3StorageOptions {
    /** Region when none is given: the SDK needs one to sign, and S3-compatible servers accept any. */
    public static final Region DEFAULT_REGION = Region.US_EAST_1;
    /** Multipart part size: S3's sweet spot for throughput, and the CRT client's own default. */
    public static final int DEFAULT_PART_SIZE = 8 << 20;
    /** S3 refuses parts (other than the last) smaller than this. */
    public static final int MIN_PART_SIZE = 5 << 20;
    /** Largest part accepted here: parts are held in memory while they upload. */
    public static final int MAX_PART_SIZE = 64 << 20;
    /** Parts of one upload in flight at once: with one being filled, memory stays under 5 parts. */
    public static final int DEFAULT_UPLOAD_CONCURRENCY = 4;
    /** Concurrent connections of the CRT client: plenty for loopback and for one instance on EC2. */
    public static final int DEFAULT_MAX_CONCURRENCY = 64;
    /** TCP connect timeout: a healthy endpoint connects in milliseconds. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(5);
    /** Time for one request attempt, body included (an 8 MiB part at a slow 1 MiB/s fits). */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);
    /**
     * How long a connection with a request in flight may move no byte before the CRT closes it
     * (and the attempt fails retryably): a response that stops mid-body or never starts (seen
     * from S3Mock when an object was deleted while it was being served) costs this, not the whole
     * {@link #DEFAULT_REQUEST_TIMEOUT}. Far above a healthy first-byte latency.
     */
    public static final Duration DEFAULT_STALL_TIMEOUT = Duration.ofSeconds(10);
    /** Keys per listing page: the S3 maximum, fewest requests. */
    public static final int DEFAULT_LIST_PAGE_SIZE = 1000;
    /**
     * Passed to the CRT as {@code numRetries}. Measured with the fault proxy: 0 does NOT switch the
     * CRT's own retries off (it still retries 503s and resets with its own backoff before
     * {@link RetryPolicy} sees a failure), so {@link S3Stats} counts attempts as the SDK sees them
     * and the wire may carry more.
     */
    public static final int DEFAULT_NATIVE_RETRIES = 0;

    /** Which checksums the client computes on uploads and validates on downloads. */
    public enum ChecksumMode {
        /** The SDK's default: CRC checksums on every upload and on whole-object downloads. */
        SDK_DEFAULT,
        /** Only where the operation requires one (e.g. batch delete): for servers without flexible checksums. */
        WHEN_REQUIRED
    }

    /**
     * Whether the server honours {@code If-None-Match: *} and {@code If-Match: <etag>} on PUT and
     * CompleteMultipartUpload.
     */
    public enum ConditionalWrites {
        /** Use conditional writes (AWS S3 since 2024, S3Mock). A server that refuses them raises {@link ConditionalWriteUnsupportedException}. */
        SUPPORTED,
        /**
         * The server does not support them: {@code putIfAbsent} and {@code putIfMatch} check with
         * a HEAD first and then write, which is only safe with a single writer per key (see
         * {@link S3Storage}).
         */
        UNSUPPORTED_SINGLE_WRITER
    }

    private final String bucket;
    private final String keyPrefix;
    private final Region region;
    private final URI endpoint;
    private final boolean pathStyle;
    private final AwsCredentialsProvider credentials;
    private final ChecksumMode checksumMode;
    private final ConditionalWrites conditionalWrites;
    private final Duration connectTimeout;
    private final Duration requestTimeout;
    private final Duration stallTimeout;
    private final int maxConcurrency;
    private final int partSize;
    private final int uploadConcurrency;
    private final int listPageSize;
    private final int nativeRetries;
    private final RetryPolicy retryPolicy;

    private S3StorageOptions(Builder b) {
        this.bucket = b.bucket;
        this.keyPrefix = b.keyPrefix;
        this.region = b.region;
        this.endpoint = b.endpoint;
        this.pathStyle = b.pathStyle;
        this.credentials = b.credentials;
        this.checksumMode = b.checksumMode;
        this.conditionalWrites = b.conditionalWrites;
        this.connectTimeout = b.connectTimeout;
        this.requestTimeout = b.requestTimeout;
        this.stallTimeout = b.stallTimeout;
        this.maxConcurrency = b.maxConcurrency;
        this.partSize = b.partSize;
        this.uploadConcurrency = b.uploadConcurrency;
        this.listPageSize = b.listPageSize;
        this.nativeRetries = b.nativeRetries;
        this.retryPolicy = b.retryPolicy;
    }

    /** A builder for objects in {@code bucket}, everything else at its default. */
    public static Builder builder(String bucket) {
        return new Builder(bucket);
    }

    /** A builder holding these options. */
    public Builder toBuilder() {
        Builder b = new Builder(bucket);
        b.keyPrefix = keyPrefix;
        b.region = region;
        b.endpoint = endpoint;
        b.pathStyle = pathStyle;
        b.credentials = credentials;
        b.checksumMode = checksumMode;
        b.conditionalWrites = conditionalWrites;
        b.connectTimeout = connectTimeout;
        b.requestTimeout = requestTimeout;
        b.stallTimeout = stallTimeout;
        b.maxConcurrency = maxConcurrency;
        b.partSize = partSize;
        b.uploadConcurrency = uploadConcurrency;
        b.listPageSize = listPageSize;
        b.nativeRetries = nativeRetries;
        b.retryPolicy = retryPolicy;
        return b;
    }

    public String bucket() {
        return bucket;
    }

    /** Prepended to every storage key (empty, or ending in {@code /}). */
    public String keyPrefix() {
        return keyPrefix;
    }

    public Region region() {
        return region;
    }

    /** Endpoint override (S3-compatible servers), or null for AWS's endpoint of the region. */
    public URI endpoint() {
        return endpoint;
    }

    /** Path-style addressing ({@code host/bucket/key}) instead of virtual-hosted ({@code bucket.host/key}). */
    public boolean pathStyle() {
        return pathStyle;
    }

    public AwsCredentialsProvider credentials() {
        return credentials;
    }

    public ChecksumMode checksumMode() {
        return checksumMode;
    }

    public ConditionalWrites conditionalWrites() {
        return conditionalWrites;
    }

    public Duration connectTimeout() {
        return connectTimeout;
    }

    public Duration requestTimeout() {
        return requestTimeout;
    }

    /** See {@link #DEFAULT_STALL_TIMEOUT}. */
    public Duration stallTimeout() {
        return stallTimeout;
    }

    public int maxConcurrency() {
        return maxConcurrency;
    }

    /** Bodies up to this size are one PUT; larger ones a multipart upload of parts of this size. */
    public int partSize() {
        return partSize;
    }

    public int uploadConcurrency() {
        return uploadConcurrency;
    }

    public int listPageSize() {
        return listPageSize;
    }

    public int nativeRetries() {
        return nativeRetries;
    }

    public RetryPolicy retryPolicy() {
        return retryPolicy;
    }

    @Override
    public String toString() {
        return "S3StorageOptions{bucket=" + bucket + ", keyPrefix=" + keyPrefix + ", region=" + region + ", endpoint="
                + endpoint + ", pathStyle=" + pathStyle + ", checksumMode=" + checksumMode + ", conditionalWrites="
                + conditionalWrites + ", connectTimeout=" + connectTimeout + ", requestTimeout=" + requestTimeout + ", stallTimeout=" + stallTimeout
                + ", maxConcurrency=" + maxConcurrency + ", partSize=" + partSize + ", uploadConcurrency="
                + uploadConcurrency + ", listPageSize=" + listPageSize + ", nativeRetries=" + nativeRetries + ", "
                + retryPolicy + '}';
    }

    /** Builder of {@link S3StorageOptions}; not thread-safe. */
    public static final class Builder {
        private final String bucket;
        private String keyPrefix = "";
        private Region region = DEFAULT_REGION;
        private URI endpoint;
        private boolean pathStyle;
        private AwsCredentialsProvider credentials;
        private ChecksumMode checksumMode = ChecksumMode.SDK_DEFAULT;
        private ConditionalWrites conditionalWrites = ConditionalWrites.SUPPORTED;
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
        private Duration stallTimeout = DEFAULT_STALL_TIMEOUT;
        private int maxConcurrency = DEFAULT_MAX_CONCURRENCY;
        private int partSize = DEFAULT_PART_SIZE;
        private int uploadConcurrency = DEFAULT_UPLOAD_CONCURRENCY;
        private int listPageSize = DEFAULT_LIST_PAGE_SIZE;
        private int nativeRetries = DEFAULT_NATIVE_RETRIES;
        private RetryPolicy retryPolicy = RetryPolicy.defaults();

        private Builder(String bucket) {
            if (bucket == null || bucket.isBlank()) {
                throw new InvalidArgumentException("bucket name must not be empty");
            }
            this.bucket = bucket;
        }

        /** Prefix of every key (default empty); a non-empty prefix must end in {@code /}. */
        public Builder keyPrefix(String prefix) {
            Objects.requireNonNull(prefix, "prefix");
            if (!prefix.isEmpty() && (!prefix.endsWith("/") || prefix.startsWith("/"))) {
                throw new InvalidArgumentException("key prefix '" + prefix + "' must be relative and end in '/'");
            }
            this.keyPrefix = prefix;
            return this;
        }

        /** Region (default {@link #DEFAULT_REGION}). */
        public Builder region(Region region) {
            this.region = Objects.requireNonNull(region, "region");
            return this;
        }

        /**
         * Endpoint of an S3-compatible server, e.g. {@code http://127.0.0.1:9090} (default, or null: AWS).
         *
         * @throws InvalidArgumentException unless it is an {@code http} or {@code https} URI with a host
         */
        public Builder endpoint(URI endpoint) {
            if (endpoint != null && (endpoint.getScheme() == null || endpoint.getHost() == null
                    || !(endpoint.getScheme().equalsIgnoreCase("http") || endpoint.getScheme().equalsIgnoreCase("https")))) {
                throw new InvalidArgumentException("S3 endpoint '" + endpoint + "' is not an http(s) URI with a host");
            }
            this.endpoint = endpoint;
            return this;
        }

        /** Path-style addressing (default false: virtual-hosted, as AWS prefers; most other servers need true). */
        public Builder pathStyle(boolean pathStyle) {
            this.pathStyle = pathStyle;
            return this;
        }

        /** Credentials provider (default: the SDK's default chain: environment, system properties, profile, container, instance). */
        public Builder credentials(AwsCredentialsProvider provider) {
            this.credentials = provider;
            return this;
        }

        /** Static credentials. */
        public Builder staticCredentials(String accessKeyId, String secretAccessKey) {
            this.credentials = StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKeyId, secretAccessKey));
            return this;
        }

        /** Checksum mode (default {@link ChecksumMode#SDK_DEFAULT}). */
        public Builder checksumMode(ChecksumMode mode) {
            this.checksumMode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** Conditional-write support of the server (default {@link ConditionalWrites#SUPPORTED}). */
        public Builder conditionalWrites(ConditionalWrites mode) {
            this.conditionalWrites = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** Connect timeout (default {@link #DEFAULT_CONNECT_TIMEOUT}). */
        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = positive(timeout, "connectTimeout");
            return this;
        }

        /** Timeout of one request attempt (default {@link #DEFAULT_REQUEST_TIMEOUT}); a timed-out attempt is retryable. */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = positive(timeout, "requestTimeout");
            return this;
        }

        /**
         * How long a connection with a request in flight may transfer nothing before it is closed
         * and the attempt retried (default {@link #DEFAULT_STALL_TIMEOUT}; whole seconds, at least 1).
         */
        public Builder stallTimeout(Duration timeout) {
            Duration d = positive(timeout, "stallTimeout");
            if (d.toSeconds() < 1) {
                throw new InvalidArgumentException("stallTimeout must be at least 1 s (the CRT counts whole seconds), not " + d);
            }
            this.stallTimeout = d;
            return this;
        }

        /** Connections of the CRT client (default {@link #DEFAULT_MAX_CONCURRENCY}). */
        public Builder maxConcurrency(int n) {
            this.maxConcurrency = atLeast(n, 1, "maxConcurrency");
            return this;
        }

        /** Part size, also the single-PUT limit (default {@link #DEFAULT_PART_SIZE}; {@link #MIN_PART_SIZE}..{@link #MAX_PART_SIZE}). */
        public Builder partSize(int bytes) {
            if (bytes < MIN_PART_SIZE || bytes > MAX_PART_SIZE) {
                throw new InvalidArgumentException("part size " + bytes + " outside [" + MIN_PART_SIZE + ", " + MAX_PART_SIZE + "]");
            }
            this.partSize = bytes;
            return this;
        }

        /** Parts of one upload in flight (default {@link #DEFAULT_UPLOAD_CONCURRENCY}). */
        public Builder uploadConcurrency(int n) {
            this.uploadConcurrency = atLeast(n, 1, "uploadConcurrency");
            return this;
        }

        /** Keys per listing page (default {@link #DEFAULT_LIST_PAGE_SIZE}; 1..1000). */
        public Builder listPageSize(int n) {
            if (n < 1 || n > 1000) {
                throw new InvalidArgumentException("list page size " + n + " outside [1, 1000]");
            }
            this.listPageSize = n;
            return this;
        }

        /** Retries inside the CRT client (default {@link #DEFAULT_NATIVE_RETRIES}). */
        public Builder nativeRetries(int n) {
            this.nativeRetries = atLeast(n, 0, "nativeRetries");
            return this;
        }

        /** Retry policy (default {@link RetryPolicy#defaults()}). */
        public Builder retryPolicy(RetryPolicy policy) {
            this.retryPolicy = Objects.requireNonNull(policy, "policy");
            return this;
        }

        public S3StorageOptions build() {
            if (credentials == null) {
                credentials = DefaultCredentialsProvider.builder().build();
            }
            return new S3StorageOptions(this);
        }

        private static Duration positive(Duration d, String what) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new InvalidArgumentException(what + " must be positive, not " + d);
            }
            return d;
        }

        private static int atLeast(int n, int min, String what) {
            if (n < min) {
                throw new InvalidArgumentException(what + " must be at least " + min + ", not " + n);
            }
            return n;
        }
    }
}
