package dev.atlas.http;

import dev.atlas.runtime.EngineResources;
import dev.atlas.buffer.BlockBufferAllocator;
import dev.atlas.cache.CacheStats;
import dev.atlas.store.Atlas;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToLongFunction;

/**
 * The server's meters: request timers by route, method and status; bytes sent; streams cut off
 * after their first piece ({@code atlas.http.stream.cut}); reads that found damaged stored bytes
 * ({@code atlas.corrupt.reads}, by route and outcome); the read caches'
 * counters (requests, hits, misses, loads = storage range reads for the slab cache, loaded bytes =
 * bytes read from storage) and hit rates; Netty's pooled direct/heap memory; JVM memory.
 */
final class ServerMetrics {
    private final MeterRegistry registry;
    private final PrometheusMeterRegistry prometheus;
    private final Counter bytesSent;
    private final Counter pieces;
    private final Counter cuts;
    /** Micrometer holds gauge and function-counter targets weakly: keep them here for the server's life. */
    private final java.util.List<Object> targets = new java.util.ArrayList<>();

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
        Gauge.builder("atlas.store.datasets", atlas, Atlas::datasetCount).description("Datasets registered")
                .register(registry);
        // The live store: how often this server moved to a newer commit, what that cost, and how
        // many reads had to re-plan because another process replaced an object under them.
        for (String[] c : new String[][] {{"refreshes", "Refreshes that loaded a newer commit"},
                {"registryReads", "Conditional reads of the registry (refreshes and re-plans)"},
                {"replans", "Reads re-planned on a refreshed file set after an object changed under them"},
                {"retainedReads", "Block reads answered by the copy a compaction retained of the object they were planned on"},
                {"commitRetries", "Registry commits merged onto another writer's commit and retried"}}) {
            FunctionCounter.builder("atlas.store.live." + c[0].toLowerCase(java.util.Locale.ROOT), atlas,
                    a -> a.liveCounters().getOrDefault(c[0], 0L)).description(c[1]).register(registry);
        }
        PooledByteBufAllocator pooled = PooledByteBufAllocator.DEFAULT;
        Gauge.builder("atlas.netty.pooled.memory.used", pooled, a -> a.metric().usedDirectMemory()).baseUnit("bytes")
                .tag("kind", "direct").description("Netty's default pooled allocator, direct memory in use").register(registry);
        Gauge.builder("atlas.netty.pooled.memory.used", pooled, a -> a.metric().usedHeapMemory()).baseUnit("bytes")
                .tag("kind", "heap").description("Netty's default pooled allocator, heap memory in use").register(registry);
        new JvmMemoryMetrics().bindTo(registry);
        if (resources != null) {
            cache("slab", () -> resources.caches().slabs().stats());
            cache("block", () -> resources.caches().blocks().stats());
            if (resources.allocator() instanceof BlockBufferAllocator b) {
                Gauge.builder("atlas.engine.block.buffers.idle", b, BlockBufferAllocator::idleBytes).baseUnit("bytes")
                        .description("Block-sized buffers kept for reuse").register(registry);
            }
        }
    }

    private void cache(String name, Supplier<CacheStats> stats) {
        targets.add(stats);
        counter(name, "requests", "Lookups", stats, CacheStats::requests);
        counter(name, "hits", "Lookups served by a resident or in-flight entry", stats, CacheStats::hits);
        counter(name, "misses", "Lookups that started a load", stats, CacheStats::misses);
        counter(name, "loads", name.equals("slab") ? "Storage range reads" : "Block decompressions", stats,
                CacheStats::loads);
        counter(name, "loaded.bytes", name.equals("slab") ? "Bytes read from storage" : "Bytes decompressed", stats,
                CacheStats::loadedBytes);
        counter(name, "evictions", "Entries evicted for size", stats, CacheStats::evictions);
        Gauge.builder("atlas.cache.resident.bytes", stats, s -> s.get().residentBytes()).tag("cache", name)
                .baseUnit("bytes").register(registry);
        Gauge.builder("atlas.cache.hit.ratio", stats, s -> s.get().hitRate()).tag("cache", name)
                .description("Hits over requests since start").register(registry);
    }

    private void counter(String cache, String what, String description, Supplier<CacheStats> stats,
            ToLongFunction<CacheStats> f) {
        FunctionCounter.builder("atlas.cache." + what, stats, s -> f.applyAsLong(s.get())).tag("cache", cache)
                .description(description).register(registry);
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
