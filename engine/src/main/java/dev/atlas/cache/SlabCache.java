package dev.atlas.cache;

import com.github.benmanes.caffeine.cache.AsyncCache;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.internal.FutureTake;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The I/O cache between the engine and a {@link Storage}: byte ranges of objects are mapped to
 * aligned slabs of {@link Options#slabSize()} bytes; slabs are the cached unit.
 *
 * <ul>
 *   <li>Single flight: concurrent reads touching the same missing slab share one fetch (Caffeine's
 *       asynchronous bulk load keeps the in-flight slabs visible to every caller).</li>
 *   <li>Coalescing: the slabs one read misses are fetched as few range reads as possible: runs of
 *       adjacent missing slabs, bridged over up to {@link Options#maxGap()} bytes of resident slabs,
 *       each at most {@link Options#maxCoalesce()} bytes.</li>
 *   <li>Any size: a read spanning many slabs is served as one retained slice when its slabs came
 *       from one fetch (no copy: the usual cold read of a large block), or assembled into one new
 *       buffer when they came from several.</li>
 *   <li>A byte budget bounds the resident slabs (Caffeine's W-TinyLFU admission and eviction);
 *       eviction releases a slab's hold on its fetch buffer, which is freed once the last slab and
 *       the last slice served from it are released.</li>
 * </ul>
 *
 * Keys include the object's version, so a replaced object's bytes are never served for the new
 * incarnation. One cache can serve many files and storages under one budget. Thread-safe and
 * non-blocking.
 */
public final class SlabCache {

    /**
     * Tuning of a slab cache.
     *
     * @param slabSize bytes per slab (a power of two, 4 KiB .. 64 MiB)
     * @param budget bytes of resident slabs (0 disables caching: every read goes to storage)
     * @param maxGap bytes of already-resident slabs a coalesced read may re-fetch to join two runs
     * @param maxCoalesce largest single range read the cache issues (at least one slab)
     * @param loadConcurrency range reads one request issues at once
     * @param directThreshold on a storage with {@linkplain Storage#cheapRangeReads() cheap range
     *     reads}, reads of at least this many bytes skip the slabs: one exact range read, not cached
     *     here. Aligning a large read to slabs multiplies the bytes it fetches (a 240 KB block read as
     *     two 1 MiB slabs is 8x) for neighbours that may never be read; the block cache above holds
     *     what such reads decode. On an object store every read goes through slabs: there fewer
     *     requests are worth the extra bytes. {@link Integer#MAX_VALUE} sends every read through
     *     slabs.
     */
    public record Options(int slabSize, long budget, int maxGap, int maxCoalesce, int loadConcurrency,
            int directThreshold) {
        public Options {
            if (slabSize < 4096 || slabSize > (64 << 20) || Integer.bitCount(slabSize) != 1) {
                throw new InvalidArgumentException("slabSize must be a power of two in 4 KiB .. 64 MiB, not " + slabSize);
            }
            if (budget < 0 || maxGap < 0 || maxCoalesce < slabSize || loadConcurrency < 1 || loadConcurrency > 1024
                    || directThreshold < 1) {
                throw new InvalidArgumentException("invalid slab cache options: budget " + budget + ", maxGap " + maxGap
                        + ", maxCoalesce " + maxCoalesce + " (at least one slab), loadConcurrency " + loadConcurrency
                        + ", directThreshold " + directThreshold);
            }
        }

        /** Every read through slabs (no direct threshold). */
        public Options(int slabSize, long budget, int maxGap, int maxCoalesce, int loadConcurrency) {
            this(slabSize, budget, maxGap, maxCoalesce, loadConcurrency, Integer.MAX_VALUE);
        }

        /**
         * 1 MiB slabs, 256 MiB budget, gaps up to one slab, 16 MiB reads, 8 at once, reads of 128 KiB
         * and more direct (see benchmarks/RESULTS.md for the slab size and the threshold).
         */
        public static Options defaults() {
            return new Options(1 << 20, 256L << 20, 1 << 20, 16 << 20, 8, DEFAULT_DIRECT_THRESHOLD);
        }

        public Options withBudget(long bytes) {
            return new Options(slabSize, bytes, maxGap, maxCoalesce, loadConcurrency, directThreshold);
        }

        public Options withSlabSize(int bytes) {
            return new Options(bytes, budget, Math.max(maxGap, 0), Math.max(maxCoalesce, bytes), loadConcurrency,
                    directThreshold);
        }

        public Options withMaxGap(int bytes) {
            return new Options(slabSize, budget, bytes, maxCoalesce, loadConcurrency, directThreshold);
        }

        public Options withMaxCoalesce(int bytes) {
            return new Options(slabSize, budget, maxGap, bytes, loadConcurrency, directThreshold);
        }

        public Options withDirectThreshold(int bytes) {
            return new Options(slabSize, budget, maxGap, maxCoalesce, loadConcurrency, bytes);
        }
    }

    /** Reads of at least 128 KiB skip the slabs by default. */
    public static final int DEFAULT_DIRECT_THRESHOLD = 128 << 10;

    /**
     * One cached slab: a window of a fetch buffer shared with the other slabs of that fetch (each
     * holds one reference). A slice taken through a slab may extend past it into its fetch siblings:
     * they share the buffer, and this slab's hold keeps it alive.
     */
    private static final class Slab extends CachedBuffer {
        /** This slab's first byte in the fetch buffer. */
        final int at;
        final int length;

        Slab(ByteBuf backing, int at, int length) {
            super(backing, null);
            this.at = at;
            this.length = length;
        }

        Slab(Throwable error) {
            super(null, error);
            this.at = 0;
            this.length = 0;
        }
    }

    private record Key(Storage storage, String object, String version, long index) implements CacheSupport.ObjectKey {
    }

    private final Options options;
    private final ByteBufAllocator alloc;
    private final AsyncCache<Key, Slab> cache;
    private final LongAdder requests = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder loads = new LongAdder();
    private final LongAdder loadedBytes = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder bypassed = new LongAdder();
    private final LongAdder direct = new LongAdder();
    private final LongAdder directBytes = new LongAdder();

    private SlabCache(Options options, ByteBufAllocator alloc) {
        this.options = options;
        this.alloc = alloc;
        this.cache = CacheSupport.build(options.budget(), (Key k, Slab s) -> s.length, Slab::evict, evictions);
    }

    /** A cache whose fetch and assembly buffers come from {@code alloc}. */
    public static SlabCache create(Options options, ByteBufAllocator alloc) {
        return new SlabCache(options, alloc);
    }

    public Options options() {
        return options;
    }

    /**
     * Reads {@code [offset, offset + length)} of the object {@code info} names, through the cache.
     * A range past the object's recorded size, or an empty range, goes straight to storage (which
     * reports it).
     *
     * @return a buffer of exactly {@code length} readable bytes that the subscriber owns and releases
     *     (often a retained slice of a cached fetch buffer; treat it as read-only); a cancel strands
     *     nothing
     */
    public Mono<ByteBuf> read(Storage storage, ObjectInfo info, long offset, long length) {
        if (options.budget() == 0 || length <= 0 || offset < 0 || offset + length > info.size()
                || length > Integer.MAX_VALUE - 8) {
            return storage.read(info.key(), offset, length, info.version());
        }
        if (length >= options.directThreshold() && storage.cheapRangeReads()) {
            // Counted as loads too, so loads and loaded bytes stay "storage range reads" and "bytes read".
            direct.increment();
            loads.increment();
            return storage.read(info.key(), offset, length, info.version()).doOnNext(b -> {
                directBytes.add(length);
                loadedBytes.add(length);
            });
        }
        return attempt(storage, info, offset, (int) length, 0);
    }

    /** A lease lost to a racing eviction is retried; after three such races the read bypasses the cache. */
    private Mono<ByteBuf> attempt(Storage storage, ObjectInfo info, long offset, int length, int tries) {
        return Mono.defer(() -> {
            if (tries >= 3) {
                bypassed.increment();
                return storage.read(info.key(), offset, length, info.version());
            }
            int s = options.slabSize();
            long first = offset / s;
            long last = (offset + length - 1) / s;
            List<Key> keys = new ArrayList<>((int) (last - first + 1));
            for (long i = first; i <= last; i++) {
                keys.add(new Key(storage, info.key(), info.version(), i));
            }
            requests.add(keys.size());
            AtomicReference<ByteBuf> mine = new AtomicReference<>();
            CompletableFuture<Map<Key, Slab>> f;
            try {
                f = cache.getAll(keys, (Set<? extends Key> missing, Executor ex) ->
                        load(storage, info, missing, offset, length, mine));
            } catch (RuntimeException e) {
                ReferenceCountUtil.safeRelease(mine.getAndSet(null));
                return Mono.error(e);
            }
            return FutureTake.of(f, map -> {
                Throwable failure = null;
                for (Key k : keys) {
                    Slab x = map.get(k);
                    if (x != null && x.error != null) {
                        cache.synchronous().asMap().remove(k, x);
                        failure = x.error;
                    }
                }
                if (failure != null) {
                    ReferenceCountUtil.safeRelease(mine.getAndSet(null));
                    throw BlockCache.reraise(failure);
                }
                ByteBuf m = mine.getAndSet(null);
                return m != null ? m : assemble(map, keys, offset, length);
            }).switchIfEmpty(Mono.defer(() -> attempt(storage, info, offset, length, tries + 1)));
        });
    }

    private record Run(long firstIndex, long lastIndex, List<Key> members) {
    }

    /**
     * Fetches the missing slabs in coalesced runs. When one run covers the whole request, a slice
     * for the requester is taken before the slabs are published ({@code mine}): a cold read of a
     * block larger than the budget then still costs one fetch, however fast eviction is.
     */
    private CompletableFuture<Map<Key, Slab>> load(Storage storage, ObjectInfo info, Set<? extends Key> missing,
            long offset, int length, AtomicReference<ByteBuf> mine) {
        misses.add(missing.size());
        List<Key> sorted = new ArrayList<>(missing);
        sorted.sort((a, b) -> Long.compare(a.index(), b.index()));
        int s = options.slabSize();
        long gapSlabs = options.maxGap() / s;
        long maxSlabs = Math.max(1, options.maxCoalesce() / s);
        List<Run> runs = new ArrayList<>();
        List<Key> cur = new ArrayList<>();
        for (Key k : sorted) {
            if (!cur.isEmpty()) {
                long prev = cur.get(cur.size() - 1).index();
                long start = cur.get(0).index();
                if (k.index() - prev - 1 > gapSlabs || k.index() - start + 1 > maxSlabs) {
                    runs.add(new Run(start, prev, cur));
                    cur = new ArrayList<>();
                }
            }
            cur.add(k);
        }
        if (!cur.isEmpty()) {
            runs.add(new Run(cur.get(0).index(), cur.get(cur.size() - 1).index(), cur));
        }
        long size = info.size();
        return Flux.fromIterable(runs)
                .flatMap(run -> {
                    long from = run.firstIndex() * s;
                    long to = Math.min(size, (run.lastIndex() + 1) * s);
                    loads.increment();
                    return storage.read(info.key(), from, to - from, info.version()).map(buf -> {
                        loadedBytes.add(to - from);
                        return slabs(run, buf, from, size, offset, length, mine);
                    });
                }, options.loadConcurrency())
                .doOnDiscard(Map.class, m -> release(castSlabs(m)))
                .doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease)
                .collectList()
                .map(parts -> {
                    Map<Key, Slab> all = new HashMap<>();
                    parts.forEach(all::putAll);
                    return all;
                })
                .onErrorResume(e -> {
                    ReferenceCountUtil.safeRelease(mine.getAndSet(null));
                    Map<Key, Slab> failed = new HashMap<>();
                    missing.forEach(k -> failed.put(k, new Slab(e)));
                    return Mono.just(failed);
                })
                .toFuture();
    }

    @SuppressWarnings("unchecked")
    private static Map<Key, Slab> castSlabs(Map<?, ?> m) {
        return (Map<Key, Slab>) m;
    }

    private static void release(Map<Key, Slab> slabs) {
        slabs.values().forEach(Slab::evict);
    }

    /** Cuts one fetch buffer into slabs (each holding one reference to it); consumes {@code buf}. */
    private Map<Key, Slab> slabs(Run run, ByteBuf buf, long from, long size, long offset, int length,
            AtomicReference<ByteBuf> mine) {
        int s = options.slabSize();
        Map<Key, Slab> out = new HashMap<>();
        try {
            if (buf.readableBytes() != (int) Math.min(size - from, (run.lastIndex() - run.firstIndex() + 1) * (long) s)) {
                throw new dev.atlas.error.StorageException("storage returned " + buf.readableBytes()
                        + " bytes for a range read of " + run + " of '" + run.members().get(0).object() + "'", true);
            }
            if (run.members().size() > 1) {
                buf.retain(run.members().size() - 1);
            }
            for (Key k : run.members()) {
                int at = (int) (k.index() * s - from) + buf.readerIndex();
                int len = (int) Math.min(s, size - k.index() * s);
                out.put(k, new Slab(buf, at, len));
            }
            if (offset >= from && offset + length <= from + buf.readableBytes()) {
                ReferenceCountUtil.safeRelease(mine.getAndSet(buf.retainedSlice(buf.readerIndex() + (int) (offset - from), length)));
            }
            return out;
        } catch (RuntimeException e) {
            if (out.isEmpty()) {
                buf.release();
            } else {
                release(out);
            }
            throw e;
        }
    }

    /** The request's bytes from resident slabs: one retained slice if they share a fetch, else a copy; null if one was evicted meanwhile. */
    private ByteBuf assemble(Map<Key, Slab> map, List<Key> keys, long offset, int length) {
        int s = options.slabSize();
        Slab first = map.get(keys.get(0));
        if (first == null) {
            return null;
        }
        boolean shared = true;
        for (int i = 1; i < keys.size() && shared; i++) {
            Slab x = map.get(keys.get(i));
            shared = x != null && x.buf == first.buf && x.at == first.at + i * s;
        }
        int skip = (int) (offset - keys.get(0).index() * s);
        if (shared) {
            return first.retainedSlice(first.at + skip, length);
        }
        ByteBuf out = alloc.directBuffer(length, length);
        try {
            int written = 0;
            for (Key k : keys) {
                Slab x = map.get(k);
                long slabStart = k.index() * s;
                long from = Math.max(offset, slabStart);
                long to = Math.min(offset + length, slabStart + (x == null ? 0 : x.length));
                ByteBuf part = x == null || to <= from ? null : x.retainedSlice(x.at + (int) (from - slabStart), (int) (to - from));
                if (part == null) {
                    out.release();
                    return null;
                }
                try {
                    out.setBytes(written, part, part.readerIndex(), part.readableBytes());
                    written += part.readableBytes();
                } finally {
                    part.release();
                }
            }
            if (written != length) {
                out.release();
                return null;
            }
            out.writerIndex(length);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    /** Drops every slab of {@code object} in {@code storage}, all versions. */
    public void invalidate(Storage storage, String object) {
        CacheSupport.drop(cache, storage, object, null);
    }

    /** Drops every slab of {@code object} in {@code storage} whose version is not {@code keep}. */
    public void invalidateOtherVersions(Storage storage, String object, String keep) {
        CacheSupport.drop(cache, storage, object, keep);
    }

    /** Drops every slab (buffers are freed as soon as no served slice holds them). */
    public void invalidateAll() {
        CacheSupport.dropAll(cache);
    }

    /** Reads that bypassed the cache after repeatedly losing their slabs to eviction. */
    public long bypassed() {
        return bypassed.sum();
    }

    /**
     * Reads at or above {@link Options#directThreshold()}, sent to storage as they came (also
     * counted in {@link CacheStats#loads()}, which counts every storage range read).
     */
    public long directReads() {
        return direct.sum();
    }

    /** Bytes of the {@linkplain #directReads() direct reads}. */
    public long directBytes() {
        return directBytes.sum();
    }

    public CacheStats stats() {
        return CacheSupport.stats(cache, requests.sum(), misses.sum(), loads.sum(), loadedBytes.sum(), evictions.sum());
    }

    @Override
    public String toString() {
        return "SlabCache" + stats();
    }
}
