package dev.atlas.cache;

/**
 * A point-in-time snapshot of one cache's counters (all cumulative since the cache was made,
 * except {@code residentBytes} and {@code entries}).
 *
 * @param requests lookups (a slab-cache read counts once per slab it touches)
 * @param hits lookups served by a resident entry or by joining a load already in flight
 * @param misses lookups that started a load
 * @param loads loads issued to the layer below (storage range reads for the slab cache,
 *     decompressions for the block cache); a coalesced slab-cache read counts once
 * @param loadedBytes bytes those loads produced
 * @param evictions entries dropped for size (not counting explicit invalidation)
 * @param residentBytes weight currently held (bytes)
 * @param entries entries currently held
 */
public record CacheStats(long requests, long hits, long misses, long loads, long loadedBytes, long evictions,
        long residentBytes, long entries) {

    /** Hits over requests, or 0 when nothing was asked yet. */
    public double hitRate() {
        return requests == 0 ? 0 : (double) hits / requests;
    }

    /** The difference of two snapshots (resident figures are taken from {@code this}). */
    public CacheStats minus(CacheStats earlier) {
        return new CacheStats(requests - earlier.requests, hits - earlier.hits, misses - earlier.misses,
                loads - earlier.loads, loadedBytes - earlier.loadedBytes, evictions - earlier.evictions,
                residentBytes, entries);
    }
}
