package dev.atlas.metrics;

import dev.atlas.buffer.BlockBufferAllocator;
import dev.atlas.cache.CacheStats;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.StorageKind;
import dev.atlas.storage.StorageMeters;
import dev.atlas.storage.StorageMeters.Operation;
import dev.atlas.storage.StorageMeters.Outcome;
import dev.atlas.store.Atlas;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.netty.buffer.PooledByteBufAllocator;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.ToDoubleFunction;
import java.util.function.ToLongFunction;

/**
 * The engine's meters, for any Micrometer {@link MeterRegistry}: read caches, storage calls,
 * codec threads, engine memory, and (given an {@link Atlas}) the store's bulk reads and live-store
 * machinery. Every meter reads counters the engine keeps anyway (plain {@code LongAdder}s, cache
 * statistics) when the registry is scraped; binding also {@linkplain StorageMeters#enable()
 * enables} the storage-call counters of the resources, which count from then on. Every tag value
 * is one of a fixed set: no dataset, array, key or path ever becomes a label.
 *
 * <table>
 * <caption>Meters (Prometheus names add {@code _total}, {@code _seconds}, {@code _bytes} as usual)</caption>
 * <tr><th>name</th><th>type</th><th>tags</th><th>unit</th><th>what</th></tr>
 * <tr><td>{@code atlas.cache.requests}</td><td>function counter</td><td>{@code cache=slab|block}</td><td></td>
 *     <td>lookups (a slab-cache read counts once per slab it touches)</td></tr>
 * <tr><td>{@code atlas.cache.hits}</td><td>function counter</td><td>{@code cache}</td><td></td>
 *     <td>lookups served by a resident entry or a load already in flight</td></tr>
 * <tr><td>{@code atlas.cache.misses}</td><td>function counter</td><td>{@code cache}</td><td></td>
 *     <td>lookups that started a load</td></tr>
 * <tr><td>{@code atlas.cache.loads}</td><td>function counter</td><td>{@code cache}</td><td></td>
 *     <td>loads: storage range reads (slab), block decompressions (block)</td></tr>
 * <tr><td>{@code atlas.cache.loaded.bytes}</td><td>function counter</td><td>{@code cache}</td><td>bytes</td>
 *     <td>bytes those loads produced</td></tr>
 * <tr><td>{@code atlas.cache.evictions}</td><td>function counter</td><td>{@code cache}</td><td></td>
 *     <td>entries evicted for size</td></tr>
 * <tr><td>{@code atlas.cache.resident.bytes}</td><td>gauge</td><td>{@code cache}</td><td>bytes</td>
 *     <td>weight held now</td></tr>
 * <tr><td>{@code atlas.cache.entries}</td><td>gauge</td><td>{@code cache}</td><td></td>
 *     <td>entries held now</td></tr>
 * <tr><td>{@code atlas.cache.hit.ratio}</td><td>gauge</td><td>{@code cache}</td><td></td>
 *     <td>hits over requests since start</td></tr>
 * <tr><td>{@code atlas.storage.requests}</td><td>function timer</td>
 *     <td>{@code backend=memory|local|s3|other}, {@code operation=read|get|head|list|put|copy|delete},
 *     {@code outcome=ok|not-found|conflict|error|cancelled}</td><td>seconds</td>
 *     <td>storage calls and their time from subscription to end (see {@link StorageMeters})</td></tr>
 * <tr><td>{@code atlas.storage.read.bytes}</td><td>function counter</td><td>{@code backend}</td><td>bytes</td>
 *     <td>bytes delivered by range reads and whole-object reads</td></tr>
 * <tr><td>{@code atlas.storage.written.bytes}</td><td>function counter</td><td>{@code backend}</td><td>bytes</td>
 *     <td>sizes of the objects written (puts and file adoptions)</td></tr>
 * <tr><td>{@code atlas.codec.queued}</td><td>gauge</td><td></td><td></td>
 *     <td>codec tasks (decompression, compression, copies) waiting for a codec thread</td></tr>
 * <tr><td>{@code atlas.codec.active}</td><td>gauge</td><td></td><td></td><td>codec threads running a task</td></tr>
 * <tr><td>{@code atlas.codec.tasks}</td><td>function timer</td><td></td><td>seconds</td>
 *     <td>codec tasks run and the time they took</td></tr>
 * <tr><td>{@code atlas.engine.block.buffers.idle}</td><td>gauge</td><td></td><td>bytes</td>
 *     <td>block-sized buffers kept for reuse (when the allocator is a {@link BlockBufferAllocator})</td></tr>
 * <tr><td>{@code atlas.netty.pooled.memory.used}</td><td>gauge</td><td>{@code kind=direct|heap}</td><td>bytes</td>
 *     <td>memory in use in Netty's default pooled allocator</td></tr>
 * <tr><td>{@code atlas.store.datasets}</td><td>gauge</td><td></td><td></td><td>datasets registered (with a store)</td></tr>
 * <tr><td>{@code atlas.store.bulk.reads}</td><td>function counter</td><td></td><td></td>
 *     <td>bulk reads started (reads of one region across many datasets)</td></tr>
 * <tr><td>{@code atlas.store.bulk.reads.inflight}</td><td>gauge</td><td></td><td></td>
 *     <td>bulk reads started and not yet ended</td></tr>
 * <tr><td>{@code atlas.store.live.refreshes}</td><td>function counter</td><td></td><td></td>
 *     <td>refreshes that loaded a newer commit</td></tr>
 * <tr><td>{@code atlas.store.live.registryreads}</td><td>function counter</td><td></td><td></td>
 *     <td>conditional reads of the registry (refreshes and re-plans)</td></tr>
 * <tr><td>{@code atlas.store.live.replans}</td><td>function counter</td><td></td><td></td>
 *     <td>reads re-planned after an object changed under them</td></tr>
 * <tr><td>{@code atlas.store.live.retainedreads}</td><td>function counter</td><td></td><td></td>
 *     <td>block reads answered by a compaction's retained copy</td></tr>
 * <tr><td>{@code atlas.store.live.commitretries}</td><td>function counter</td><td></td><td></td>
 *     <td>registry commits merged onto another writer's commit and retried</td></tr>
 * </table>
 *
 * <p>Storage series are registered per backend kind in use: those metered so far when bound, and
 * each further kind when a store first opens a storage of it. Cache, codec and memory meters need
 * the {@link EngineResources}; store meters need the {@link Atlas}. Meters hold the resources and
 * the store weakly (Micrometer's rule): they read {@code NaN} once those are gone.
 */
public final class AtlasMetrics implements MeterBinder {
    private final EngineResources resources;
    private final Atlas atlas;

    /** The engine's meters of {@code resources} (caches, storage calls, codec, memory). */
    public AtlasMetrics(EngineResources resources) {
        this(resources, null);
    }

    /**
     * The engine's meters of {@code resources} and the store meters of {@code atlas}; either may
     * be null (not both): then its meters are left out.
     */
    public AtlasMetrics(EngineResources resources, Atlas atlas) {
        if (resources == null && atlas == null) {
            throw new dev.atlas.error.InvalidArgumentException("AtlasMetrics needs engine resources, a store, or both");
        }
        this.resources = resources;
        this.atlas = atlas;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        if (resources != null) {
            bindEngine(registry, resources);
        }
        if (atlas != null) {
            bindStore(registry, atlas);
        }
    }

    private static void bindEngine(MeterRegistry registry, EngineResources resources) {
        cache(registry, "slab", resources, r -> r.caches().slabs().stats());
        cache(registry, "block", resources, r -> r.caches().blocks().stats());
        Gauge.builder("atlas.codec.queued", resources, EngineResources::codecQueued)
                .description("Codec tasks waiting for a codec thread").register(registry);
        Gauge.builder("atlas.codec.active", resources, EngineResources::codecActive)
                .description("Codec threads running a task").register(registry);
        FunctionTimer.builder("atlas.codec.tasks", resources, EngineResources::codecTasks,
                        EngineResources::codecTaskNanos, TimeUnit.NANOSECONDS)
                .description("Codec tasks (decompression, compression, copies) run, and their time").register(registry);
        if (resources.allocator() instanceof BlockBufferAllocator b) {
            Gauge.builder("atlas.engine.block.buffers.idle", b, BlockBufferAllocator::idleBytes).baseUnit("bytes")
                    .description("Block-sized buffers kept for reuse").register(registry);
        }
        PooledByteBufAllocator pooled = PooledByteBufAllocator.DEFAULT;
        Gauge.builder("atlas.netty.pooled.memory.used", pooled, a -> a.metric().usedDirectMemory()).baseUnit("bytes")
                .tag("kind", "direct").description("Netty's default pooled allocator, direct memory in use")
                .register(registry);
        Gauge.builder("atlas.netty.pooled.memory.used", pooled, a -> a.metric().usedHeapMemory()).baseUnit("bytes")
                .tag("kind", "heap").description("Netty's default pooled allocator, heap memory in use")
                .register(registry);
        StorageMeters meters = resources.storageMeters();
        meters.onBackend(kind -> storage(registry, meters, kind));
        meters.enable();
    }

    private static void cache(MeterRegistry registry, String name, EngineResources resources,
            Function<EngineResources, CacheStats> stats) {
        boolean slab = name.equals("slab");
        cacheCounter(registry, name, "requests", "Lookups", resources, stats, CacheStats::requests, null);
        cacheCounter(registry, name, "hits", "Lookups served by a resident or in-flight entry", resources, stats,
                CacheStats::hits, null);
        cacheCounter(registry, name, "misses", "Lookups that started a load", resources, stats, CacheStats::misses, null);
        cacheCounter(registry, name, "loads", slab ? "Storage range reads" : "Block decompressions", resources, stats,
                CacheStats::loads, null);
        cacheCounter(registry, name, "loaded.bytes", slab ? "Bytes read from storage" : "Bytes decompressed", resources,
                stats, CacheStats::loadedBytes, "bytes");
        cacheCounter(registry, name, "evictions", "Entries evicted for size", resources, stats, CacheStats::evictions,
                null);
        cacheGauge(registry, name, "resident.bytes", "Weight held now", "bytes", resources,
                r -> stats.apply(r).residentBytes());
        cacheGauge(registry, name, "entries", "Entries held now", null, resources, r -> stats.apply(r).entries());
        cacheGauge(registry, name, "hit.ratio", "Hits over requests since start", null, resources,
                r -> stats.apply(r).hitRate());
    }

    private static void cacheCounter(MeterRegistry registry, String cache, String what, String description,
            EngineResources resources, Function<EngineResources, CacheStats> stats, ToLongFunction<CacheStats> f,
            String unit) {
        FunctionCounter.builder("atlas.cache." + what, resources, r -> f.applyAsLong(stats.apply(r)))
                .tag("cache", cache).baseUnit(unit).description(description).register(registry);
    }

    private static void cacheGauge(MeterRegistry registry, String cache, String what, String description, String unit,
            EngineResources resources, ToDoubleFunction<EngineResources> f) {
        Gauge.builder("atlas.cache." + what, resources, f).tag("cache", cache).baseUnit(unit)
                .description(description).register(registry);
    }

    /** The series of one backend kind: a timer per operation and outcome, bytes read and written. */
    private static void storage(MeterRegistry registry, StorageMeters meters, StorageKind kind) {
        for (Operation op : Operation.values()) {
            for (Outcome outcome : Outcome.values()) {
                FunctionTimer.builder("atlas.storage.requests", meters, m -> m.calls(kind, op, outcome),
                                m -> m.nanos(kind, op, outcome), TimeUnit.NANOSECONDS)
                        .tag("backend", kind.tag()).tag("operation", op.tag()).tag("outcome", outcome.tag())
                        .description("Storage calls by backend, operation and outcome, and their time")
                        .register(registry);
            }
        }
        FunctionCounter.builder("atlas.storage.read.bytes", meters,
                        m -> m.bytes(kind, Operation.READ) + m.bytes(kind, Operation.GET))
                .tag("backend", kind.tag()).baseUnit("bytes")
                .description("Bytes delivered by storage range reads and whole-object reads").register(registry);
        FunctionCounter.builder("atlas.storage.written.bytes", meters, m -> m.bytes(kind, Operation.PUT))
                .tag("backend", kind.tag()).baseUnit("bytes")
                .description("Sizes of the objects written to storage (puts and file adoptions)").register(registry);
    }

    private static void bindStore(MeterRegistry registry, Atlas atlas) {
        Gauge.builder("atlas.store.datasets", atlas, Atlas::datasetCount).description("Datasets registered")
                .register(registry);
        FunctionCounter.builder("atlas.store.bulk.reads", atlas, Atlas::bulkReadsStarted)
                .description("Bulk reads (one region across many datasets) started").register(registry);
        Gauge.builder("atlas.store.bulk.reads.inflight", atlas, Atlas::bulkReadsInFlight)
                .description("Bulk reads started and not yet ended").register(registry);
        // The live store: how often this handle moved to a newer commit, what that cost, and how
        // many reads had to re-plan because another process replaced an object under them.
        for (String[] c : new String[][] {{"refreshes", "Refreshes that loaded a newer commit"},
                {"registryReads", "Conditional reads of the registry (refreshes and re-plans)"},
                {"replans", "Reads re-planned on a refreshed file set after an object changed under them"},
                {"retainedReads", "Block reads answered by the copy a compaction retained of the object they were planned on"},
                {"commitRetries", "Registry commits merged onto another writer's commit and retried"}}) {
            String key = c[0];
            FunctionCounter.builder("atlas.store.live." + key.toLowerCase(Locale.ROOT), atlas,
                    a -> a.liveCounters().getOrDefault(key, 0L)).description(c[1]).register(registry);
        }
    }
}
