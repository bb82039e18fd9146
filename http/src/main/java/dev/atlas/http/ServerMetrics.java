package dev.atlas.http;

import dev.atlas.metrics.AtlasMetrics;
import dev.atlas.runtime.EngineResources;
import dev.atlas.store.Atlas;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.util.concurrent.TimeUnit;

/**
 * The server's meters: request timers by route, method and status; request heads refused before
 * routing ({@code atlas.http.refused}, by status); bytes sent; streams cut off after their first
 * piece ({@code atlas.http.stream.cut}); reads that found damaged stored bytes
 * ({@code atlas.corrupt.reads}, by route and outcome); JVM memory; and the engine's and the
 * store's meters through {@link AtlasMetrics} (read caches, storage calls by backend and outcome,
 * codec threads, Netty's pooled memory, bulk reads, the live store; listed there), the engine ones
 * only when the server was given the store's {@link EngineResources}.
 */
final class ServerMetrics {
    private final MeterRegistry registry;
    private final PrometheusMeterRegistry prometheus;
    private final Counter bytesSent;
    private final Counter pieces;
    private final Counter cuts;

    ServerMetrics(MeterRegistry given, Atlas atlas, EngineResources resources) {
        if (given == null) {
            PrometheusMeterRegistry p = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
            registry = p;
            prometheus = p;
        } else {
            registry = given;
            prometheus = findPrometheus(given);
        }
        bytesSent = Counter.builder("atlas.http.response.bytes").baseUnit("bytes")
                .description("Array data bytes handed to the network (binary responses)").register(registry);
        pieces = Counter.builder("atlas.http.stream.pieces")
                .description("Engine reads issued for streamed responses (one per piece)").register(registry);
        cuts = Counter.builder("atlas.http.stream.cut")
                .description("Streamed responses cut off because a read failed after their first piece was sent")
                .register(registry);
        // The engine's and the store's meters (caches, storage calls, codec, memory, bulk reads,
        // the live store) come from the engine's binder; this class adds the HTTP ones.
        new AtlasMetrics(resources, atlas).bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
    }

    private static PrometheusMeterRegistry findPrometheus(MeterRegistry r) {
        if (r instanceof PrometheusMeterRegistry p) {
            return p;
        }
        if (r instanceof CompositeMeterRegistry c) {
            for (MeterRegistry m : c.getRegistries()) {
                PrometheusMeterRegistry p = findPrometheus(m);
                if (p != null) {
                    return p;
                }
            }
        }
        return null;
    }

    MeterRegistry registry() {
        return registry;
    }

    /** The registry /metrics scrapes; null when the given registry has no Prometheus part. */
    PrometheusMeterRegistry prometheus() {
        return prometheus;
    }

    /**
     * Records one request. Every tag is bounded: {@code route} is a route pattern or one of a few
     * fixed names, {@code method} one of HTTP's methods or {@code OTHER}, {@code status} a status
     * code or {@code client-closed}.
     */
    void request(String route, String method, String status, long nanos) {
        Timer.builder("atlas.http.requests").tag("route", route).tag("method", method)
                .tag("status", status).description("HTTP requests by route, method and status")
                .register(registry).record(nanos, TimeUnit.NANOSECONDS);
    }

    /**
     * A request head Netty's decoder refused was answered {@code status} (414, 431 or 400) before
     * reaching any route. Bounded: one series per such status.
     */
    void refused(int status) {
        Counter.builder("atlas.http.refused").tag("status", Integer.toString(status))
                .description("Requests refused before routing: request line too long (414), headers too large (431), unparseable head (400)")
                .register(registry).increment();
    }

    void sent(long bytes) {
        bytesSent.increment(bytes);
    }

    void piece() {
        pieces.increment();
    }

    /** A streamed response was cut off: a read failed after its status line and first piece went out. */
    void cut() {
        cuts.increment();
    }

    double cuts() {
        return cuts.count();
    }

    /**
     * A read found damaged stored bytes ({@code CorruptFileException}) on {@code route}:
     * {@code outcome} is {@code error} when the client got a JSON 500, {@code cut} when the stream
     * was already under way and was cut. Scraped as {@code atlas_corrupt_reads_total}; the object
     * and block are in the log line, not in labels (they are unbounded).
     */
    void corruptRead(String route, String outcome) {
        Counter.builder("atlas.corrupt.reads").tag("route", route).tag("outcome", outcome)
                .description("Reads that found damaged stored bytes (never served as data)").register(registry).increment();
    }

    double bytesSent() {
        return bytesSent.count();
    }
}
