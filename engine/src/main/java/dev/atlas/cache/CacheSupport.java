package dev.atlas.cache;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.RemovalCause;
import com.github.benmanes.caffeine.cache.Weigher;
import dev.atlas.storage.Storage;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/** What the slab and block caches share: their Caffeine set-up, version-aware invalidation, residency. */
final class CacheSupport {
    private CacheSupport() {
    }

    /** A cache key naming one incarnation of one object. */
    interface ObjectKey {
        Storage storage();

        String object();

        String version();
    }

    /**
     * A byte-budgeted asynchronous cache whose removals call {@code evict} (which drops the cache's
     * buffer reference) and count evictions for size. Maintenance and notifications run on the
     * caller's thread: library code never uses a global pool.
     */
    static <K extends ObjectKey, V> AsyncCache<K, V> build(long budget, Weigher<K, V> weigher, Consumer<V> evict,
            LongAdder evictions) {
        return Caffeine.newBuilder()
                .maximumWeight(budget)
                .weigher(weigher)
                .executor(Runnable::run)
                .removalListener((K k, V v, RemovalCause cause) -> {
                    if (v != null) {
                        evict.accept(v);
                    }
                    if (cause.wasEvicted()) {
                        evictions.increment();
                    }
                })
                .buildAsync();
    }

    /**
     * Removes the entries of {@code object} in {@code storage} (compared with {@code equals}: metered views of one
     * storage are one storage): all versions, or all but {@code keep} when it is not null.
     */
    static void drop(AsyncCache<? extends ObjectKey, ?> cache, Storage storage, String object, String keep) {
        cache.synchronous().asMap().keySet().removeIf(k -> k.storage().equals(storage) && k.object().equals(object)
                && (keep == null || !k.version().equals(keep)));
    }

    static void dropAll(AsyncCache<?, ?> cache) {
        cache.synchronous().invalidateAll();
        cache.synchronous().cleanUp();
    }

    /** The counters of a cache with its current residency; hits are the requests that did not miss. */
    static CacheStats stats(AsyncCache<?, ?> cache, long requests, long misses, long loads, long loadedBytes,
            long evictions) {
        return new CacheStats(requests, Math.max(0, requests - misses), misses, loads, loadedBytes, evictions,
                resident(cache), cache.synchronous().estimatedSize());
    }

    /** Weight currently held. */
    private static long resident(AsyncCache<?, ?> cache) {
        var ev = cache.synchronous().policy().eviction();
        return ev.isPresent() ? ev.get().weightedSize().orElse(0) : 0;
    }
}
