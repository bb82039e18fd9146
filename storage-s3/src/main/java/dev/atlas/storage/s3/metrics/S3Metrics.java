package dev.atlas.storage.s3.metrics;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.storage.s3.S3Request;
import dev.atlas.storage.s3.S3Stats;
import dev.atlas.storage.s3.S3Storage;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.Locale;
import java.util.function.ToLongFunction;

/**
 * The request-level counters of an {@link S3Storage} ({@link S3Storage#stats()}) as Micrometer
 * meters: what the engine's storage meters
 * ({@code dev.atlas.metrics.AtlasMetrics}, one count per storage call) cannot see inside a call
 * (every attempt, retries, multipart parts).
 *
 * <table>
 * <caption>Meters (Prometheus names add {@code _total})</caption>
 * <tr><th>name</th><th>tags</th><th>unit</th><th>what</th></tr>
 * <tr><td>{@code atlas.s3.requests}</td><td>{@code request=get|head|put|list|delete|delete-batch|create-multipart|upload-part|complete-multipart|abort-multipart|copy}</td>
 *     <td></td><td>request attempts sent (each retry counts again)</td></tr>
 * <tr><td>{@code atlas.s3.failures}</td><td></td><td></td><td>attempts that failed</td></tr>
 * <tr><td>{@code atlas.s3.retries}</td><td></td><td></td><td>retries the retry policy made</td></tr>
 * <tr><td>{@code atlas.s3.bytes}</td><td>{@code direction=in|out}</td><td>bytes</td>
 *     <td>payload received (GET bodies) and sent (PUT and part bodies that completed)</td></tr>
 * </table>
 *
 * All function counters, read at scrape time; the storage is held weakly (Micrometer's rule: the
 * meters read {@code NaN} once it is gone). One S3 storage per registry: a second binder's meters
 * would have the same names and tags, and Micrometer keeps the first.
 */
public final class S3Metrics implements MeterBinder {
    private final S3Storage storage;

    /** The counters of {@code storage}. */
    public S3Metrics(S3Storage storage) {
        if (storage == null) {
            throw new InvalidArgumentException("S3Metrics needs an S3Storage");
        }
        this.storage = storage;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (S3Request r : S3Request.values()) {
            counter("atlas.s3.requests", "S3 request attempts sent (each retry counts again)", null,
                    s -> s.requests(r)).tag("request", r.name().toLowerCase(Locale.ROOT).replace('_', '-'))
                    .register(registry);
        }
        counter("atlas.s3.failures", "S3 request attempts that failed", null, S3Stats::failures)
                .register(registry);
        counter("atlas.s3.retries", "S3 requests retried by the retry policy", null, S3Stats::retries)
                .register(registry);
        String bytes = "S3 payload bytes received (GET bodies) and sent (PUT and part bodies that completed)";
        counter("atlas.s3.bytes", bytes, "bytes", S3Stats::bytesIn).tag("direction", "in").register(registry);
        counter("atlas.s3.bytes", bytes, "bytes", S3Stats::bytesOut).tag("direction", "out").register(registry);
    }

    private FunctionCounter.Builder<S3Storage> counter(String name, String description, String unit,
            ToLongFunction<S3Stats> f) {
        return FunctionCounter.builder(name, storage, s -> f.applyAsLong(s.stats())).description(description)
                .baseUnit(unit);
    }
}
