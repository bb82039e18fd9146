package dev.atlas.benchmarks;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.net.URI;
import java.time.Duration;
import reactor.core.publisher.Mono;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;

/**
 * An experiment for {@link BulkLimitBench}, not a storage backend: ranged S3 GETs signed with
 * SigV4 (the SDK's signer) and sent on reactor-netty's HTTP client, each body copied into one
 * pooled direct buffer of the range's size. It measures what the raw limit of a bulk read costs
 * on a receive path without the CRT (its own event loop, then a hop to the SDK's response thread),
 * before anything like it is built into {@code S3Storage}. Path-style addressing, plain HTTP, no
 * retries, no version check: what a benchmark on loopback needs and nothing more.
 */
final class NettyRangeGets implements AutoCloseable {
    private final HttpClient http;
    private final ConnectionProvider pool;
    private final URI endpoint;
    private final String bucket;
    private final String keyPrefix;
    private final String region;
    private final AwsCredentialsIdentity identity;
    private final AwsV4HttpSigner signer = AwsV4HttpSigner.create();
    private final ByteBufAllocator alloc;

    NettyRangeGets(URI endpoint, String bucket, String keyPrefix, String region, String accessKey, String secretKey,
            int maxConnections, ByteBufAllocator alloc) {
        this.endpoint = endpoint;
        this.bucket = bucket;
        this.keyPrefix = keyPrefix;
        this.region = region;
        this.identity = AwsCredentialsIdentity.create(accessKey, secretKey);
        this.alloc = alloc;
        this.pool = ConnectionProvider.builder("range-gets").maxConnections(maxConnections).pendingAcquireMaxCount(-1)
                .pendingAcquireTimeout(Duration.ofMinutes(1)).build();
        this.http = HttpClient.create(pool).baseUrl(endpoint.toString()).keepAlive(true);
    }

    /**
     * Bytes {@code [offset, offset + length)} of {@code key}: a buffer of exactly {@code length}
     * bytes that the subscriber owns and releases.
     */
    Mono<ByteBuf> read(String key, long offset, int length) {
        return Mono.defer(() -> {
            String path = "/" + bucket + "/" + keyPrefix + key;
            String range = "bytes=" + offset + "-" + (offset + length - 1);
            SdkHttpRequest unsigned = SdkHttpRequest.builder().method(SdkHttpMethod.GET).uri(endpoint.resolve(path))
                    .putHeader("Range", range).build();
            SignedRequest signed = signer.sign(r -> r.identity(identity).request(unsigned)
                    .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "s3")
                    .putProperty(AwsV4HttpSigner.REGION_NAME, region)
                    .putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, false));
            return http.headers(h -> signed.request().forEachHeader((name, values) -> values.forEach(v -> h.add(name, v))))
                    .get().uri(path)
                    .response((res, body) -> {
                        if (res.status().code() != HttpResponseStatus.PARTIAL_CONTENT.code()) {
                            return body.aggregate().asString()
                                    .defaultIfEmpty("")
                                    .flatMap(s -> Mono.error(new IllegalStateException("GET " + path + " " + range + ": "
                                            + res.status() + " " + s)));
                        }
                        ByteBuf out = alloc.directBuffer(length, length);
                        return body.doOnNext(b -> out.writeBytes(b, b.readerIndex(), Math.min(b.readableBytes(), out.writableBytes())))
                                .then(Mono.fromCallable(() -> {
                                    if (out.readableBytes() != length) {
                                        out.release();
                                        throw new IllegalStateException("GET " + path + " " + range + ": short body "
                                                + out.readableBytes());
                                    }
                                    return out;
                                }))
                                .doOnError(e -> {
                                    if (out.refCnt() > 0) {
                                        out.release();
                                    }
                                });
                    })
                    .single();
        });
    }

    @Override
    public void close() {
        pool.disposeLater().block(Duration.ofSeconds(10));
    }
}
