package dev.atlas.storage.s3;

import dev.atlas.runtime.EngineResources;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.ObjectChangedException;
import dev.atlas.error.RangeNotSatisfiableException;
import dev.atlas.error.StorageException;
import dev.atlas.storage.Keys;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import dev.atlas.storage.StoredObject;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.reactivestreams.Publisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.retry.Retry;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.services.s3.S3AsyncClient;
import software.amazon.awssdk.services.s3.S3CrtAsyncClientBuilder;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.Delete;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.S3Error;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/**
 * A {@link Storage} on Amazon S3 or any S3-compatible object store, through the AWS SDK v2 CRT
 * async client. Key {@code a/b.af} is the object {@code keyPrefix + "a/b.af"} in the bucket.
 *
 * <ul>
 *   <li><b>Reads</b> are GETs with an explicit {@code Range: bytes=a-b} (never a suffix range,
 *       which several servers get wrong and which makes the CRT client add a HEAD), streamed into
 *       one pooled direct buffer of the requested length. Cancelling the Mono aborts the request.
 *       A zero-length read is a HEAD (no byte range can express it).</li>
 *   <li><b>Writes</b> of up to {@link S3StorageOptions#partSize()} bytes are one PUT; larger bodies
 *       become an explicit multipart upload whose parts are cut from the body as it streams, at most
 *       {@link S3StorageOptions#uploadConcurrency()} in flight, so memory stays bounded whatever the
 *       size. A failed or cancelled upload is aborted: nothing becomes visible. (An upload whose
 *       abort itself fails, or a process that dies mid-upload, leaves an incomplete upload that
 *       is invisible but billed: {@link #abortPendingUploads} clears them, as does a bucket
 *       lifecycle rule {@code AbortIncompleteMultipartUpload}.) Adobe S3Mock 5.2.3 deletes the
 *       existing object of a key when an upload to that key is aborted (a server bug): there, a
 *       failed replacement of a large object loses the old one.</li>
 *   <li><b>Create-if-absent</b> is a conditional write ({@code If-None-Match: *} on the PUT or on
 *       CompleteMultipartUpload): atomic, exactly one of concurrent writers wins. A server that
 *       refuses it raises {@link ConditionalWriteUnsupportedException}. With
 *       {@link S3StorageOptions.ConditionalWrites#UNSUPPORTED_SINGLE_WRITER} the check is a HEAD
 *       before the write instead, which is <b>only correct with a single writer per file set</b>
 *       (two concurrent flushes of one file set could then both "win").</li>
 *   <li><b>Versions</b> are ETags, spelled as the HTTP entity tag with its quotes by every call
 *       ({@link #version}). A version-checked read is the ranged GET with {@code If-Match}; a
 *       compare-and-swap ({@link #putIfMatch}) carries {@code If-Match} on the PUT or on
 *       CompleteMultipartUpload; {@link #getIfChanged} is one GET with {@code If-None-Match}, a
 *       304 costing that one request. A 412 is {@link ObjectChangedException}, never retried.
 *       Atomicity of a compare-and-swap is the server's: AWS S3 decides concurrent conditional
 *       writes atomically; S3Mock 5.2.3 and S3Proxy 4.1.0 (filesystem) compare and then write in
 *       two steps, so there two concurrent writers naming one ETag can both succeed.</li>
 *   <li><b>Listing</b> pages through ListObjectsV2 ({@link S3StorageOptions#listPageSize()} keys
 *       a page). S3 orders keys by their UTF-8 bytes, which equals the SPI's UTF-16 order except for
 *       keys that mix characters above U+FFFF with ones in U+E000..U+FFFF.</li>
 *   <li><b>Failures</b> are mapped to the engine's typed exceptions by HTTP status (404 is
 *       recognised by status, whatever exception the CRT raised); throttling, 5xx, timeouts and
 *       broken connections are retryable and each request is retried by the
 *       {@link RetryPolicy} (exponential backoff with jitter). Bodies are never re-read: a retried
 *       PUT or part re-sends the bytes it already holds.</li>
 *   <li><b>Counters</b>: {@link #stats()} counts requests by kind, failures, retries and bytes.</li>
 * </ul>
 * Nothing here blocks: SDK futures complete on the SDK's completion threads and body bytes are
 * copied on the CRT's event-loop threads.
 */
public final class S3Storage implements Storage, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(S3Storage.class);
    /** Keys per DeleteObjects request: the S3 maximum. */
    public static final int MAX_BATCH_DELETE = 1000;

    private final S3AsyncClient s3;
    private final boolean ownsClient;
    private final S3StorageOptions options;
    private final String bucket;
    private final String keyPrefix;
    private final ByteBufAllocator alloc;
    private final Scheduler timer;
    private final S3Counters counters = new S3Counters();
    private final Retry retry;
    private final AwsRequestOverrideConfiguration perRequest;
    private final boolean conditional;
    private final boolean checksums;

    private S3Storage(S3AsyncClient s3, boolean ownsClient, S3StorageOptions options, ByteBufAllocator alloc,
            Scheduler timer) {
        this.s3 = s3;
        this.ownsClient = ownsClient;
        this.options = options;
        this.bucket = options.bucket();
        this.keyPrefix = options.keyPrefix();
        this.alloc = alloc;
        this.timer = timer;
        this.retry = options.retryPolicy().toRetry(timer, counters::retry);
        this.perRequest = AwsRequestOverrideConfiguration.builder().apiCallTimeout(options.requestTimeout()).build();
        this.conditional = options.conditionalWrites() == S3StorageOptions.ConditionalWrites.SUPPORTED;
        this.checksums = options.checksumMode() == S3StorageOptions.ChecksumMode.SDK_DEFAULT;
    }

    /**
     * A store on a new CRT client built from {@code options}, reading into the allocator of
     * {@code resources} and timing retries on its codec scheduler. {@link #close()} closes the client.
     */
    public static S3Storage open(S3StorageOptions options, EngineResources resources) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(resources, "resources");
        return new S3Storage(crtClient(options), true, options, resources.allocator(), resources.codecScheduler());
    }

    /**
     * A store on a client the caller built and owns (it is not closed by {@link #close()}). Only
     * bucket, prefix, part size, concurrency, conditional-write, checksum, timeout and retry
     * settings of {@code options} apply; the client's own settings decide the rest.
     */
    public static S3Storage of(S3AsyncClient client, S3StorageOptions options, ByteBufAllocator alloc, Scheduler timer) {
        return new S3Storage(Objects.requireNonNull(client, "client"), false, Objects.requireNonNull(options, "options"),
                Objects.requireNonNull(alloc, "alloc"), Objects.requireNonNull(timer, "timer"));
    }

    /**
     * The CRT client {@link #open} builds for {@code options}.
     *
     * @throws InvalidArgumentException if the SDK refuses the settings
     */
    public static S3AsyncClient crtClient(S3StorageOptions o) {
        try {
            return crtBuilder(o).build();
        } catch (IllegalArgumentException | IllegalStateException e) {
            throw new InvalidArgumentException("the S3 client refuses " + o + ": " + e.getMessage());
        }
    }

    private static S3CrtAsyncClientBuilder crtBuilder(S3StorageOptions o) {
        S3CrtAsyncClientBuilder b = S3AsyncClient.crtBuilder()
                .region(o.region())
                .credentialsProvider(o.credentials())
                .forcePathStyle(o.pathStyle())
                .maxConcurrency(o.maxConcurrency())
                .minimumPartSizeInBytes((long) o.partSize())
                // Our single PUTs are at most one part: the CRT's own automatic multipart never starts.
                .thresholdInBytes((long) S3StorageOptions.MAX_PART_SIZE + 1)
                // A connection that moves less than 1 byte/s for stallTimeout is closed by the CRT: a
                // response that stops mid-body fails its attempt (retryable) instead of waiting out
                // the request timeout.
                .httpConfiguration(h -> h.connectionTimeout(o.connectTimeout())
                        .connectionHealthConfiguration(c -> c.minimumThroughputInBps(1L)
                                .minimumThroughputTimeout(o.stallTimeout())))
                .retryConfiguration(r -> r.numRetries(o.nativeRetries()));
        if (o.checksumMode() == S3StorageOptions.ChecksumMode.WHEN_REQUIRED) {
            b.requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                    .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED);
        }
        if (o.endpoint() != null) {
            b.endpointOverride(o.endpoint());
        }
        return b;
    }

    public S3StorageOptions options() {
        return options;
    }

    /** {@link dev.atlas.storage.StorageKind#S3}. */
    @Override
    public dev.atlas.storage.StorageKind kind() {
        return dev.atlas.storage.StorageKind.S3;
    }

    /** A snapshot of the request and byte counters. */
    public S3Stats stats() {
        return counters.snapshot();
    }

    /** Closes the client if this store built it. Blocking: call it at shutdown. */
    @Override
    public void close() {
        if (ownsClient) {
            s3.close();
        }
    }

    private String objectKey(String key) {
        return keyPrefix + key;
    }

    /** The precondition a request carries, which decides what its 412 (and kin) means. */
    private enum Condition {
        /** Unconditional. */
        NONE,
        /** {@code If-None-Match: *} on a write: create-if-absent. */
        IF_ABSENT,
        /** {@code If-Match: <etag>} on a ranged GET. */
        READ_IF_MATCH,
        /** {@code If-Match: <etag>} on a PUT or CompleteMultipartUpload: compare-and-swap. */
        WRITE_IF_MATCH
    }

    /**
     * One request: counted, mapped at the edge, retried by the policy. {@code call} runs once per
     * attempt, at subscription.
     */
    private <X> Mono<X> call(S3Request kind, String what, String key, Condition condition,
            Supplier<CompletableFuture<X>> call) {
        return Mono.defer(() -> {
            counters.request(kind);
            return SdkCall.of(call);
        }).onErrorMap(e -> mapFailure(e, what, key, condition)).retryWhen(retry);
    }

    /**
     * The typed failure of one attempt. A 412 is the server's answer to a precondition, never a
     * transient state: {@link ObjectChangedException} for {@code If-Match} (which {@link RetryPolicy}
     * never repeats) and {@link AlreadyExistsException} for {@code If-None-Match: *}. The CRT does
     * not retry 4xx answers itself (only 5xx and transport failures), so the status seen here is
     * the server's own.
     */
    private Throwable mapFailure(Throwable e, String what, String key, Condition condition) {
        counters.failure();
        Throwable t = SdkCall.unwrap(e);
        int status = S3Errors.status(t);
        String code = S3Errors.code(t);
        switch (condition) {
            case IF_ABSENT:
                if (status == 412) {
                    return new AlreadyExistsException("object '" + key + "' already exists");
                }
                if (status == 501 || "NotImplemented".equals(code)) {
                    return unsupported(what, "If-None-Match: *", t);
                }
                break;
            case READ_IF_MATCH:
                if (status == 412) {
                    return new ObjectChangedException(key, "object '" + key + "' is no longer the version read ("
                            + what + ": HTTP 412)", t);
                }
                break;
            case WRITE_IF_MATCH:
                // 412: another version is stored. 409 ConditionalRequestConflict: a concurrent
                // conditional write to the key was in progress, so our expected version is about to
                // be stale. 404: AWS answers If-Match on a missing key with NoSuchKey.
                if (status == 412 || status == 409 && "ConditionalRequestConflict".equals(code)
                        || status == 404 && !"NoSuchBucket".equals(code) && !"NoSuchUpload".equals(code)) {
                    return new ObjectChangedException(key, "object '" + key + "' is not the version expected (" + what
                            + ": HTTP " + status + (code == null ? "" : " " + code) + ")", t);
                }
                if (status == 501 || "NotImplemented".equals(code)) {
                    return unsupported(what, "If-Match", t);
                }
                break;
            default:
                break;
        }
        return S3Errors.map(t, what, key);
    }

    private static ConditionalWriteUnsupportedException unsupported(String what, String header, Throwable t) {
        return new ConditionalWriteUnsupportedException(what + ": the server does not support conditional writes ("
                + header + "); configure ConditionalWrites.UNSUPPORTED_SINGLE_WRITER and keep to one writer per file set", t);
    }

    // ------------------------------------------------------------------ reads

    @Override
    public Mono<ByteBuf> read(String key, long offset, long length) {
        return read(key, offset, length, null);
    }

    /**
     * {@inheritDoc}
     *
     * <p>The ranged GET of {@link #read(String, long, long)} with {@code If-Match: <version>}: a
     * {@code 412 Precondition Failed} is {@link ObjectChangedException} (never retried), a 404
     * {@link dev.atlas.error.NotFoundException}. S3 checks the precondition before it sends a
     * byte, so a replaced object never contributes one. A zero-length read compares the version of
     * a HEAD. {@code version} null reads whatever is stored.
     */
    @Override
    public Mono<ByteBuf> read(String key, long offset, long length, String version) {
        return Mono.defer(() -> {
            Keys.check(key);
            Keys.checkRange(key, offset, length);
            String expected = version == null ? null : version(version);
            if (length == 0) {
                return head(key).map(info -> {
                    if (expected != null && !expected.equals(info.version())) {
                        throw new ObjectChangedException(key, "object '" + key + "' is version " + info.version() + ", not "
                                + expected);
                    }
                    if (offset > info.size()) {
                        throw new RangeNotSatisfiableException(key, offset, length, info.size());
                    }
                    return alloc.directBuffer(0);
                });
            }
            String what = "GET of '" + key + "' [" + offset + ", " + (offset + length) + ")"
                    + (expected == null ? "" : " if-match " + expected);
            String range = "bytes=" + offset + "-" + (offset + length - 1);
            String sk = objectKey(key);
            Condition condition = expected == null ? Condition.NONE : Condition.READ_IF_MATCH;
            // Each attempt parks its filled buffer in the slot and emits only the response, so no
            // buffer crosses retryWhen (its serialising subscriber discards a value that meets a
            // cancel, and a discard hook here would stack with the caller's and release twice).
            // The slot hands the buffer out through one SdkCall: delivered once or released once.
            ReadSlot slot = new ReadSlot(what);
            Mono<GetObjectResponse> attempts = Mono.defer(() -> {
                counters.request(S3Request.GET);
                RangeBody body = new RangeBody(alloc, key, offset, (int) length, counters, expected);
                return SdkCall.of(() -> s3.getObject(b -> b.bucket(bucket).key(sk).range(range).ifMatch(expected)
                        .overrideConfiguration(perRequest), body), r -> {
                            slot.fill(body.take());
                            return r;
                        }, body::close);
            }).onErrorMap(e -> mapFailure(e, what, key, condition)).retryWhen(retry);
            return SdkCall.of(attempts::toFuture, r -> slot.take(), slot::close).onErrorResume(StorageException.class, e -> {
                if (S3Errors.status(e) != 416 || e instanceof ObjectChangedException) {
                    return Mono.error(e);
                }
                // Past the end: learn the size for the message (a HEAD, only on this error path). A
                // server may answer 416 before it checks If-Match: a read of a version
                // that is no longer current is a changed object, whatever the new one's size.
                return head(key).flatMap(info -> Mono.error(expected != null && !expected.equals(info.version())
                        ? new ObjectChangedException(key, "object '" + key + "' is version " + info.version() + ", not "
                                + expected + " (a range past the end of the current one was asked)")
                        : new RangeNotSatisfiableException(key, offset, length, info.size())));
            });
        });
    }

    /**
     * {@inheritDoc}
     *
     * <p>One GET, with {@code If-None-Match: <knownVersion>} when one is given: a
     * {@code 304 Not Modified} completes empty, so a refresh that finds nothing new costs exactly
     * one request (no HEAD first). Otherwise the body streams into one pooled buffer sized by the
     * object size the response reports, which is checked against {@code maxBytes} before a byte is
     * accepted (the request is then aborted). The version is the response's ETag, the modification
     * time its {@code Last-Modified}. The GET names the range {@code bytes=0-maxBytes} (the CRT
     * sends a HEAD first for a GET without one); an empty object, which no range fits, costs a
     * HEAD more on that path.
     */
    @Override
    public Mono<StoredObject> getIfChanged(String key, String knownVersion, long maxBytes) {
        return Mono.defer(() -> {
            Keys.check(key);
            if (maxBytes < 0) {
                throw new InvalidArgumentException("negative size limit " + maxBytes + " for '" + key + "'");
            }
            // One buffer holds the object: no more than an int's worth, whatever the caller allows.
            long limit = Math.min(maxBytes, Integer.MAX_VALUE - 8);
            String known = knownVersion == null ? null : version(knownVersion);
            String what = "GET of '" + key + "'" + (known == null ? "" : " if-none-match " + known);
            String sk = objectKey(key);
            // An explicit range from 0 to one byte past the limit. Without a range the CRT client
            // sends a HEAD (carrying the If-None-Match) before the GET: measured through a counting
            // proxy, a changed object cost two requests. With it, one GET whose Content-Range
            // reports the object size, so a too-large object is refused on its headers.
            String range = "bytes=0-" + limit;
            ReadSlot slot = new ReadSlot(what);
            Mono<GetObjectResponse> attempts = Mono.defer(() -> {
                counters.request(S3Request.GET);
                WholeBody body = new WholeBody(alloc, key, limit, counters);
                return SdkCall.of(() -> s3.getObject(b -> b.bucket(bucket).key(sk).range(range).ifNoneMatch(known)
                        .overrideConfiguration(perRequest), body), r -> {
                            slot.fill(body.take());
                            return r;
                        }, body::close);
            }).onErrorMap(e -> {
                // 304 is the answer asked for, not a failure: not counted, not retried, not mapped.
                Throwable t = SdkCall.unwrap(e);
                // A 412 can only come from the CRT's own If-Match on the later parts of a large
                // object that was replaced mid-download: it changed, read it again later.
                return known != null && S3Errors.status(t) == 304 ? NotModified.INSTANCE
                        : mapFailure(t, what, key, Condition.READ_IF_MATCH);
            }).retryWhen(retry);
            // The buffer travels alone through SdkCall (which releases it if a cancel meets it) and
            // becomes a StoredObject in a synchronous map after it: a record is not reference-counted.
            AtomicReference<GetObjectResponse> response = new AtomicReference<>();
            return SdkCall.of(attempts::toFuture, r -> {
                response.set(r);
                return slot.take();
            }, slot::close).map(content -> {
                GetObjectResponse r = response.get();
                return new StoredObject(new ObjectInfo(key, content.readableBytes(), version(r.eTag()), r.lastModified()),
                        content);
            }).onErrorResume(NotModified.class, e -> Mono.empty()).onErrorResume(StorageException.class, e -> {
                if (S3Errors.status(e) != 416 || e instanceof ObjectChangedException) {
                    return Mono.error(e);
                }
                // No range of an empty object is satisfiable: the HEAD of this error path says all.
                return head(key).flatMap(info -> {
                    if (info.size() != 0) {
                        return Mono.error(new ObjectChangedException(key, "object '" + key + "' was replaced while read"));
                    }
                    return info.version().equals(known) ? Mono.empty()
                            : Mono.fromSupplier(() -> new StoredObject(info, alloc.directBuffer(0)));
                });
            });
        });
    }

    /** The 304 of a conditional GET inside {@link #getIfChanged}, before it becomes an empty Mono. */
    private static final class NotModified extends RuntimeException {
        private static final long serialVersionUID = 1L;
        static final NotModified INSTANCE = new NotModified();

        private NotModified() {
            super("304 Not Modified", null, false, false);
        }
    }

    @Override
    public Mono<ObjectInfo> head(String key) {
        return Mono.defer(() -> {
            Keys.check(key);
            String sk = objectKey(key);
            return call(S3Request.HEAD, "HEAD of '" + key + "'", key, Condition.NONE,
                    () -> s3.headObject(b -> b.bucket(bucket).key(sk).overrideConfiguration(perRequest)))
                    .map(r -> new ObjectInfo(key, r.contentLength(), version(r.eTag()), r.lastModified()));
        });
    }

    @Override
    public Flux<ObjectInfo> list(String prefix) {
        return Flux.defer(() -> {
            Objects.requireNonNull(prefix, "prefix");
            String full = objectKey(prefix);
            return page(prefix, full, null)
                    .expand(r -> Boolean.TRUE.equals(r.isTruncated()) && r.nextContinuationToken() != null
                            ? page(prefix, full, r.nextContinuationToken()) : Mono.empty())
                    .concatMapIterable(ListObjectsV2Response::contents)
                    .filter(o -> o.key().startsWith(full) && o.key().length() > keyPrefix.length())
                    .map(o -> new ObjectInfo(o.key().substring(keyPrefix.length()), o.size() == null ? 0 : o.size(),
                            version(o.eTag()), o.lastModified()));
        });
    }

    private Mono<ListObjectsV2Response> page(String prefix, String full, String token) {
        return call(S3Request.LIST, "LIST of '" + prefix + "'", prefix, Condition.NONE, () -> s3.listObjectsV2(b -> b.bucket(bucket)
                .prefix(full).maxKeys(options.listPageSize()).continuationToken(token).overrideConfiguration(perRequest)));
    }

    /**
     * The version token of an ETag, spelled the same whichever response carried it: as the HTTP
     * entity tag with its quotes ({@code "9b2cf535f27731c974343645a3985328"}), which is also what
     * {@code If-Match} and {@code If-None-Match} take. Servers differ in whether the ETag of a
     * listing or of a CompleteMultipartUpload answer keeps its quotes; an unquoted one gains them
     * here, a quoted or weak ({@code W/"..."}) one is kept. An absent ETag is the empty string.
     */
    static String version(String etag) {
        if (etag == null) {
            return "";
        }
        String e = etag.trim();
        if (e.isEmpty() || e.startsWith("\"") || e.startsWith("W/")) {
            return e;
        }
        return '"' + e + '"';
    }

    // ------------------------------------------------------------------ writes

    @Override
    public Mono<ObjectInfo> put(String key, Publisher<ByteBuf> body) {
        return write(key, body, Condition.NONE, null);
    }

    @Override
    public Mono<ObjectInfo> putIfAbsent(String key, Publisher<ByteBuf> body) {
        return write(key, body, Condition.IF_ABSENT, null);
    }

    /**
     * {@inheritDoc}
     *
     * <p>A conditional write: {@code If-Match: <expectedVersion>} on the PUT, or, for a body above
     * the part size, on CompleteMultipartUpload (SDK 2.56 models the header on both requests:
     * {@code PutObjectRequest.ifMatch}, {@code CompleteMultipartUploadRequest.ifMatch}), so the
     * server decides the race when the object would become visible. A multipart body is first
     * checked with a HEAD, so parts that would lose anyway are not uploaded; a failed completion
     * aborts the upload. 412, 409 {@code ConditionalRequestConflict} and the 404 S3 answers for a
     * missing key are {@link ObjectChangedException}; a server that refuses the header raises
     * {@link ConditionalWriteUnsupportedException}. With
     * {@link S3StorageOptions.ConditionalWrites#UNSUPPORTED_SINGLE_WRITER} the check is a HEAD
     * before an unconditional write: correct only with a single writer.
     */
    @Override
    public Mono<ObjectInfo> putIfMatch(String key, String expectedVersion, Publisher<ByteBuf> body) {
        if (expectedVersion == null || expectedVersion.isBlank()) {
            // Fails before reading the body, which is then never subscribed (see Storage#put).
            return Mono.error(() -> new InvalidArgumentException("putIfMatch of '" + key
                    + "' needs the version to replace, not '" + expectedVersion + "'"));
        }
        return write(key, body, Condition.WRITE_IF_MATCH, version(expectedVersion));
    }

    private Mono<ObjectInfo> write(String key, Publisher<ByteBuf> body, Condition condition, String ifMatch) {
        return Mono.defer(() -> {
            Keys.check(key);
            String sk = objectKey(key);
            Mono<Void> precheck = Mono.empty();
            Condition sent = condition;
            if (!conditional && condition != Condition.NONE) {
                precheck = check(key, condition, ifMatch);
                sent = Condition.NONE;
            }
            Condition onWire = sent;
            return precheck.then(PartAssembler.parts(body, options.partSize())
                    .switchOnFirst((first, parts) -> {
                        if (first.hasValue() && first.get().last()) {
                            PartAssembler.Part p = first.get();
                            return parts.then(putSingle(key, sk, p, onWire, ifMatch));
                        }
                        if (first.hasValue()) {
                            // A conditional write of a large body: fail before uploading parts that
                            // would lose anyway (the conditional completion still decides races).
                            Mono<Void> early = onWire == Condition.NONE ? Mono.empty() : check(key, onWire, ifMatch);
                            return early.then(multipart(key, sk, parts, onWire, ifMatch));
                        }
                        return parts.then(Mono.<ObjectInfo>empty());
                    })
                    .single());
        });
    }

    /**
     * A HEAD that fails the way the condition would: {@code AlreadyExistsException} if a
     * create-if-absent finds an object, {@code ObjectChangedException} if a compare-and-swap finds
     * another version or none.
     */
    private Mono<Void> check(String key, Condition condition, String ifMatch) {
        if (condition == Condition.IF_ABSENT) {
            return head(key).<Void>flatMap(i -> Mono.error(new AlreadyExistsException("object '" + key + "' already exists")))
                    .onErrorResume(NotFoundException.class, e -> Mono.empty());
        }
        return head(key).onErrorMap(NotFoundException.class, e -> new ObjectChangedException(key, "object '" + key
                + "' is not version " + ifMatch + ": it does not exist", e))
                .flatMap(i -> ifMatch.equals(i.version()) ? Mono.<Void>empty() : Mono.error(new ObjectChangedException(key,
                        "object '" + key + "' is version " + i.version() + ", not " + ifMatch)));
    }

    private static AsyncRequestBody bodyOf(PartAssembler.Part p) {
        return AsyncRequestBody.fromByteBufferUnsafe(ByteBuffer.wrap(p.bytes(), 0, p.length()));
    }

    private Mono<ObjectInfo> putSingle(String key, String sk, PartAssembler.Part p, Condition condition, String ifMatch) {
        String ifNoneMatch = condition == Condition.IF_ABSENT ? "*" : null;
        String match = condition == Condition.WRITE_IF_MATCH ? ifMatch : null;
        return call(S3Request.PUT, "PUT of '" + key + "' (" + p.length() + " bytes)" + (match == null ? "" : " if-match " + match),
                key, condition, () -> s3.putObject(b -> b.bucket(bucket).key(sk).contentLength((long) p.length())
                        .ifNoneMatch(ifNoneMatch).ifMatch(match).overrideConfiguration(perRequest), bodyOf(p)))
                .map(r -> {
                    counters.bytesOut(p.length());
                    return new ObjectInfo(key, p.length(), version(r.eTag()));
                });
    }

    private Mono<ObjectInfo> multipart(String key, String sk, Flux<PartAssembler.Part> parts, Condition condition,
            String ifMatch) {
        String ifNoneMatch = condition == Condition.IF_ABSENT ? "*" : null;
        String match = condition == Condition.WRITE_IF_MATCH ? ifMatch : null;
        return Mono.usingWhen(createUpload(key, sk), id -> {
            AtomicLong total = new AtomicLong();
            return parts.index()
                    .flatMap(t -> uploadPart(key, sk, id, (int) (t.getT1() + 1), t.getT2())
                            .doOnNext(x -> total.addAndGet(t.getT2().length())), options.uploadConcurrency(), 1)
                    .collectSortedList(Comparator.comparing(CompletedPart::partNumber))
                    .flatMap(done -> call(S3Request.COMPLETE_MULTIPART, "CompleteMultipartUpload of '" + key + "' ("
                            + done.size() + " parts)" + (match == null ? "" : " if-match " + match), key, condition,
                            () -> s3.completeMultipartUpload(b -> b.bucket(bucket).key(sk).uploadId(id)
                                    .multipartUpload(m -> m.parts(done)).ifNoneMatch(ifNoneMatch).ifMatch(match)
                                    .overrideConfiguration(perRequest))))
                    .map(r -> new ObjectInfo(key, total.get(), version(r.eTag())));
        }, id -> Mono.empty(), (id, err) -> abort(key, sk, id), id -> abort(key, sk, id));
    }

    /**
     * Starts a multipart upload. A cancellation while the request is in flight does not abandon
     * the upload: once it exists it is aborted. The state decides between a cancel that came
     * first (abort here) and a response that came first (hand the id on); an id handed on that
     * still meets the cancel inside the sink is discarded there, and the discard hook aborts it.
     */
    private Mono<String> createUpload(String key, String sk) {
        Mono<String> create = call(S3Request.CREATE_MULTIPART, "CreateMultipartUpload of '" + key + "'", key, Condition.NONE,
                () -> s3.createMultipartUpload(b -> b.bucket(bucket).key(sk)
                        .checksumAlgorithm(checksums ? ChecksumAlgorithm.CRC32 : null).overrideConfiguration(perRequest)))
                .map(r -> r.uploadId());
        return Mono.<String>create(sink -> {
            AtomicInteger state = new AtomicInteger(); // 0 open, 1 delivered, 2 cancelled
            sink.onCancel(() -> state.compareAndSet(0, 2));
            create.subscribe(id -> {
                if (state.compareAndSet(0, 1)) {
                    sink.success(id);
                } else {
                    abort(key, sk, id).subscribe();
                }
            }, sink::error);
        }).doOnDiscard(String.class, id -> abort(key, sk, id).subscribe());
    }

    private Mono<CompletedPart> uploadPart(String key, String sk, String id, int number, PartAssembler.Part p) {
        return call(S3Request.UPLOAD_PART, "UploadPart " + number + " of '" + key + "' (" + p.length() + " bytes)", key,
                Condition.NONE, () -> s3.uploadPart(b -> b.bucket(bucket).key(sk).uploadId(id).partNumber(number)
                        .contentLength((long) p.length()).checksumAlgorithm(checksums ? ChecksumAlgorithm.CRC32 : null)
                        .overrideConfiguration(perRequest), bodyOf(p)))
                .map((UploadPartResponse r) -> {
                    counters.bytesOut(p.length());
                    return CompletedPart.builder().partNumber(number).eTag(r.eTag()).checksumCRC32(r.checksumCRC32()).build();
                });
    }

    private Mono<Void> abort(String key, String sk, String id) {
        return call(S3Request.ABORT_MULTIPART, "AbortMultipartUpload of '" + key + "'", key, Condition.NONE,
                () -> s3.abortMultipartUpload(b -> b.bucket(bucket).key(sk).uploadId(id).overrideConfiguration(perRequest)))
                .then()
                .onErrorResume(e -> {
                    LOG.warn("could not abort the multipart upload {} of '{}' (clear it with abortPendingUploads): {}", id, key,
                            e.getMessage());
                    return Mono.empty();
                });
    }

    // ------------------------------------------------------------------ deletes

    /** The largest object one CopyObject request may copy (S3's limit); larger ones are streamed. */
    private static final long MAX_SINGLE_COPY = 5L << 30;

    /**
     * {@inheritDoc}
     *
     * <p>A server-side CopyObject with {@code x-amz-copy-source-if-match}: no byte passes through
     * this process, and a 412 (the source is another version now) is
     * {@link ObjectChangedException}. Objects above 5 GiB (CopyObject's limit) take the default's
     * streamed copy.
     */
    @Override
    public Mono<ObjectInfo> copy(ObjectInfo from, String toKey) {
        if (from.size() > MAX_SINGLE_COPY) {
            return Storage.super.copy(from, toKey);
        }
        return Mono.defer(() -> {
            Keys.check(from.key());
            Keys.check(toKey);
            String src = objectKey(from.key());
            String dst = objectKey(toKey);
            String ifMatch = from.version() == null ? null : version(from.version());
            return call(S3Request.COPY, "CopyObject of '" + from.key() + "' to '" + toKey + "'", from.key(),
                    Condition.READ_IF_MATCH, () -> s3.copyObject(b -> b.sourceBucket(bucket).sourceKey(src)
                            .destinationBucket(bucket).destinationKey(dst).copySourceIfMatch(ifMatch)
                            .overrideConfiguration(perRequest)))
                    .map(r -> new ObjectInfo(toKey, from.size(), version(r.copyObjectResult().eTag()),
                            r.copyObjectResult().lastModified()));
        });
    }

    @Override
    public Mono<Void> delete(String key) {
        return Mono.defer(() -> {
            Keys.check(key);
            String sk = objectKey(key);
            return call(S3Request.DELETE, "DELETE of '" + key + "'", key, Condition.NONE,
                    () -> s3.deleteObject(b -> b.bucket(bucket).key(sk).overrideConfiguration(perRequest)))
                    .then()
                    .onErrorResume(NotFoundException.class, e -> Mono.empty());
        });
    }

    /**
     * Deletes many keys with DeleteObjects, {@link #MAX_BATCH_DELETE} a request (idempotent like
     * {@link #delete}). Fails with a {@link StorageException} naming the keys the server refused.
     */
    public Mono<Void> deleteAll(Collection<String> keys) {
        return Mono.defer(() -> {
            List<String> all = new ArrayList<>(keys);
            all.forEach(Keys::check);
            List<List<String>> batches = new ArrayList<>();
            for (int i = 0; i < all.size(); i += MAX_BATCH_DELETE) {
                batches.add(all.subList(i, Math.min(all.size(), i + MAX_BATCH_DELETE)));
            }
            return Flux.fromIterable(batches).concatMap(batch -> {
                List<ObjectIdentifier> ids = batch.stream().map(k -> ObjectIdentifier.builder().key(objectKey(k)).build()).toList();
                return call(S3Request.DELETE_BATCH, "DeleteObjects of " + batch.size() + " keys", batch.get(0), Condition.NONE,
                        () -> s3.deleteObjects(b -> b.bucket(bucket).delete(Delete.builder().objects(ids).quiet(true).build())
                                .overrideConfiguration(perRequest)))
                        .flatMap(this::checkDeleted);
            }).then();
        });
    }

    private Mono<Void> checkDeleted(DeleteObjectsResponse r) {
        List<String> failed = new ArrayList<>();
        for (S3Error e : r.errors()) {
            if (!"NoSuchKey".equals(e.code())) {
                failed.add(e.key() + " (" + e.code() + ")");
            }
        }
        return failed.isEmpty() ? Mono.empty()
                : Mono.error(new StorageException("DeleteObjects refused " + failed.size() + " keys: " + failed, false));
    }

    // ------------------------------------------------------------------ incomplete uploads

    /** Keys (relative to the prefix) of multipart uploads in progress under {@code prefix}. */
    public Flux<String> pendingUploads(String prefix) {
        return uploads(prefix).map(u -> u.key().substring(keyPrefix.length()));
    }

    /**
     * Aborts every multipart upload in progress under {@code prefix} (e.g. left by a process that
     * died mid-upload). Only for maintenance: it also aborts uploads that are still running.
     *
     * @return the number aborted
     */
    public Mono<Long> abortPendingUploads(String prefix) {
        return uploads(prefix).concatMap(u -> abort(u.key(), u.key(), u.uploadId()).thenReturn(1L)).count();
    }

    private Flux<MultipartUpload> uploads(String prefix) {
        String full = objectKey(prefix);
        return uploadPage(prefix, full, null, null)
                .expand(r -> Boolean.TRUE.equals(r.isTruncated())
                        ? uploadPage(prefix, full, r.nextKeyMarker(), r.nextUploadIdMarker()) : Mono.empty())
                .concatMapIterable(ListMultipartUploadsResponse::uploads);
    }

    private Mono<ListMultipartUploadsResponse> uploadPage(String prefix, String full, String keyMarker, String idMarker) {
        return call(S3Request.LIST, "ListMultipartUploads of '" + prefix + "'", prefix, Condition.NONE,
                () -> s3.listMultipartUploads(b -> b.bucket(bucket).prefix(full).keyMarker(keyMarker)
                        .uploadIdMarker(idMarker).overrideConfiguration(perRequest)));
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "S3Storage{s3://%s/%s}", bucket, keyPrefix);
    }
}
