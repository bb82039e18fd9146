package dev.atlas.cache;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.atlas.codec.BlockRanges;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.internal.FutureTake;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import reactor.core.publisher.Mono;

/**
 * Decompressed blocks, keyed by (storage, object key, object version, block offset): a block of a
 * replaced object (another version) is never served. Byte budget with Caffeine's W-TinyLFU
 * admission (a one-off scan larger than the budget does not flush the hot blocks), single flight
 * (concurrent readers of one block wait for one decompression), and exact buffer ownership: a
 * served block is a retained duplicate that its reader releases; eviction drops the cache's own
 * reference, and the memory goes back to the pool when the last reader releases. One cache can
 * serve many files under one budget. Thread-safe and non-blocking.
 */
public final class BlockCache {
    /** Default budget: 256 MiB, 32 blocks of the default 8 MiB. */
    public static final long DEFAULT_BUDGET = 256L << 20;

    /** {@code part}: null for a whole block, else the exact ranges a partly decoded entry holds. */
    private record Key(Storage storage, String object, String version, long block, BlockRanges part, boolean stored)
            implements CacheSupport.ObjectKey {
    }

    private final long budget;
    private final AsyncCache<Key, CachedBuffer> cache;
    private final LongAdder requests = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder loadedBytes = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder bypassed = new LongAdder();
    /**
     * The blocks asked for (decoded, whole or in part) lately, whatever became of their entries:
     * at most one key per 16 KiB of budget (at least 1,024), least recently asked dropped first.
     */
    private final Cache<Key, Boolean> asked;

    private BlockCache(long budget) {
        this.budget = budget;
        this.cache = CacheSupport.build(budget, (Key k, CachedBuffer e) -> e.buf == null ? 0 : e.buf.capacity(), CachedBuffer::evict, evictions);
        this.asked = Caffeine.newBuilder().maximumSize(Math.max(1024, budget >> 14)).executor(Runnable::run).build();
    }

    /** A cache holding at most {@code budget} bytes of decompressed blocks (0 disables it). */
    public static BlockCache create(long budget) {
        if (budget < 0) {
            throw new InvalidArgumentException("block cache budget must be >= 0, not " + budget);
        }
        return new BlockCache(budget);
    }

    public long budget() {
        return budget;
    }

    /**
     * The decompressed block at {@code blockOffset} of the object {@code info} names: from the
     * cache, from a load in flight, or by subscribing to {@code loader} (whose buffer the cache
     * then owns).
     *
     * @param loader emits the decompressed block, owned by its subscriber; subscribed at most once
     *     per call, and not at all on a hit
     * @return a buffer the subscriber owns and releases (a retained duplicate of the cached block;
     *     treat it as read-only); a cancel strands nothing and does not stop a load other readers
     *     wait for
     */
    public Mono<ByteBuf> get(Storage storage, ObjectInfo info, long blockOffset, Supplier<Mono<ByteBuf>> loader) {
        return get(storage, info, blockOffset, null, loader);
    }

    /**
     * As {@link #get(Storage, ObjectInfo, long, Supplier)} for a block decoded only in part: an
     * entry holding {@code part} of a block (the other bytes unspecified, see
     * {@link dev.atlas.codec.BlockCodec#decompress(ByteBuf, long, BlockRanges, io.netty.buffer.ByteBufAllocator, String)})
     * is its own key, served only to reads asking for exactly those ranges, never for the whole
     * block nor for other ranges; those load their own.
     *
     * @param part the ranges the loader decodes; null: the whole block
     */
    public Mono<ByteBuf> get(Storage storage, ObjectInfo info, long blockOffset, BlockRanges part,
            Supplier<Mono<ByteBuf>> loader) {
        if (budget == 0) {
            return loader.get();
        }
        Key key = new Key(storage, info.key(), info.version(), blockOffset, part, false);
        asked.put(part == null ? key : new Key(storage, info.key(), info.version(), blockOffset, null, false), Boolean.TRUE);
        return attempt(key, loader, 0);
    }

    /**
     * Whether the block at {@code blockOffset} of the object {@code info} names was asked for
     * before through {@link #get} (whole or any part of it), among the last blocks asked for (one
     * per 16 KiB of budget, at least 1,024), whether or not it is still cached. A reader that could
     * decode only part of a block asks this first: a block met for the first time is decoded only
     * as far as that reader needs, and one asked for again is decoded whole, so that its entry
     * serves every later reader instead of one more entry of one more set of ranges. Always false
     * when the cache is disabled.
     */
    public boolean askedBefore(Storage storage, ObjectInfo info, long blockOffset) {
        return budget != 0 && asked.getIfPresent(new Key(storage, info.key(), info.version(), blockOffset, null, false)) != null;
    }

    /**
     * The <em>stored</em> (compressed, verified) bytes of the block at {@code blockOffset}, cached
     * under a key of their own, so that reads decoding different parts of one block read and
     * verify it once. Same contract as {@link #get(Storage, ObjectInfo, long, Supplier)}; a
     * loader that fails (a block failing its checksum) is never cached.
     *
     * @param loader emits the verified stored bytes, owned by its subscriber
     * @return a buffer the subscriber owns and releases (a retained duplicate; read-only)
     */
    public Mono<ByteBuf> getStored(Storage storage, ObjectInfo info, long blockOffset, Supplier<Mono<ByteBuf>> loader) {
        if (budget == 0) {
            return loader.get();
        }
        return attempt(new Key(storage, info.key(), info.version(), blockOffset, null, true), loader, 0);
    }

    private Mono<ByteBuf> attempt(Key key, Supplier<Mono<ByteBuf>> loader, int tries) {
        return Mono.defer(() -> {
            if (tries >= 3) {
                bypassed.increment();
                return loader.get();
            }
            requests.increment();
            // The reader that starts the load gets its own reference before the block is published,
            // so a block evicted the moment it arrives (larger than the budget, or not admitted)
            // still costs one decompression.
            AtomicReference<ByteBuf> mine = new AtomicReference<>();
            CompletableFuture<CachedBuffer> f;
            try {
                // Publish an in-flight future first and start the load only after, outside the
                // map's compute: a loader may itself use this cache (a partial decode gets the
                // stored bytes through getStored), and a nested compute on one map fails
                // ("Recursive update") or deadlocks.
                CompletableFuture<CachedBuffer> ours = new CompletableFuture<>();
                CompletableFuture<CachedBuffer> present = cache.asMap().putIfAbsent(key, ours);
                f = present != null ? present : ours;
                if (present == null) {
                    misses.increment();
                    Mono<ByteBuf> load;
                    try {
                        load = loader.get();
                    } catch (RuntimeException err) {
                        load = Mono.error(err);
                    }
                    load.map(buf -> {
                        loadedBytes.add(buf.readableBytes());
                        CachedBuffer e = new CachedBuffer(buf, null);
                        mine.set(buf.retainedDuplicate());
                        return e;
                    }).onErrorResume(err -> Mono.just(new CachedBuffer(null, err))).toFuture()
                            .whenComplete((v, err) -> {
                                if (err != null) {
                                    ours.complete(new CachedBuffer(null, err));
                                } else {
                                    ours.complete(v);
                                }
                            });
                }
            } catch (RuntimeException e) {
                return Mono.error(e);
            }
            return FutureTake.of(f, e -> {
                if (e.error != null) {
                    cache.asMap().remove(key, f);
                    throw reraise(e.error);
                }
                ByteBuf m = mine.getAndSet(null);
                return m != null ? m : e.retainedDuplicate();
            }).switchIfEmpty(Mono.defer(() -> attempt(key, loader, tries + 1)));
        });
    }

    /**
     * Whether the block at {@code blockOffset} of the object {@code info} names is cached or being
     * loaded right now (a hint: it may be evicted a moment later, and {@link #get} then loads it).
     * A bulk read asks this to leave cached blocks out of the storage ranges it fetches.
     */
    public boolean contains(Storage storage, ObjectInfo info, long blockOffset) {
        return contains(storage, info, blockOffset, null);
    }

    /**
     * As {@link #contains(Storage, ObjectInfo, long)} for the entry holding exactly {@code part} of
     * the block (see {@link #get(Storage, ObjectInfo, long, BlockRanges, Supplier)}; null: the
     * whole block's entry). An entry of other ranges does not count.
     */
    public boolean contains(Storage storage, ObjectInfo info, long blockOffset, BlockRanges part) {
        return budget != 0
                && cache.asMap().containsKey(new Key(storage, info.key(), info.version(), blockOffset, part, false));
    }

    /** Drops every block of {@code object} in {@code storage}, all versions. */
    public void invalidate(Storage storage, String object) {
        CacheSupport.drop(cache, storage, object, null);
    }

    /** Drops every block of {@code object} in {@code storage} whose version is not {@code keep}. */
    public void invalidateOtherVersions(Storage storage, String object, String keep) {
        CacheSupport.drop(cache, storage, object, keep);
    }

    public void invalidateAll() {
        CacheSupport.dropAll(cache);
        asked.invalidateAll();
    }

    /** Reads that bypassed the cache after repeatedly losing their block to eviction. */
    public long bypassed() {
        return bypassed.sum();
    }

    public CacheStats stats() {
        long miss = misses.sum();
        // Every miss is one load (of one block).
        return CacheSupport.stats(cache, requests.sum(), miss, miss, loadedBytes.sum(), evictions.sum());
    }

    @Override
    public String toString() {
        return "BlockCache" + stats();
    }

    static RuntimeException reraise(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new java.util.concurrent.CompletionException(t);
    }
}
