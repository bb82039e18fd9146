package dev.atlas.array;

import dev.atlas.codec.BlockRanges;
import dev.atlas.error.ClosedHandleException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import dev.atlas.internal.format.ChunkCodec;
import dev.atlas.internal.format.Fill;
import dev.atlas.internal.nd.ChunkGrid;
import dev.atlas.internal.nd.Overlap;
import dev.atlas.storage.ObjectInfo;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * One region of one array name read from many entries of a file set (the datasets of an Atlas
 * store) into one destination, planned once: {@link ReadPlanner#planAcross} resolves every
 * entry's chunks against one snapshot and groups them by block across entries; the blocks not
 * already in the block cache are coalesced into storage ranges (across entries, on every backend),
 * which are fetched {@code ioConcurrency} at a time; each fetched range is cut into its blocks'
 * stored bytes, and the blocks are decoded (through the block cache, so each is decoded once
 * whoever else needs it) {@code cpuConcurrency} at a time, each copying the parts of its chunks
 * straight into their rows of the destination on the codec thread that decoded it. One hand-off
 * per block from the I/O side to the codec scheduler, none per entry.
 */
final class AcrossReads {
    /**
     * Coalescing on storages with cheap range reads: ranges up to 2 MiB, bridging gaps of up to
     * 64 KiB (a gap costs a copy from the page cache, a range a system call and a hand-off).
     */
    static final int LOCAL_MAX_RANGE = 2 << 20;
    static final int LOCAL_MAX_GAP = 64 << 10;
    /**
     * Coalescing on object stores: ranges up to 8 MiB, bridging gaps of up to 512 KiB (a gap costs
     * transfer, a range a request: tens of milliseconds and a price).
     */
    static final int REMOTE_MAX_RANGE = 8 << 20;
    static final int REMOTE_MAX_GAP = 512 << 10;
    /**
     * The smallest range a read is cut to on storages with cheap range reads so that its ranges can
     * be in flight together: the bytes to fetch are spread over at least {@code ioConcurrency}
     * ranges when there are that many blocks, but a range is not cut below this.
     */
    static final int MIN_SPREAD_RANGE = 256 << 10;
    /**
     * The same floor on object stores, where each request costs a round trip, CPU on both ends
     * and a price: 68 MB of the demo store's cold slice went out as 80 GETs of about 1 MiB when
     * cut to 64 in flight, and the time from the first to the last GET followed the request count
     * on loopback S3Proxy (about 5 ms per GET on 2 cores, whatever the delay). Object stores
     * serve 2-16 MiB ranges at full per-connection speed.
     */
    static final int REMOTE_MIN_SPREAD_RANGE = 2 << 20;
    /** A read decoding more than 1/SCAN_FRACTION of the block cache's budget bypasses it (see {@link #readInto}). */
    static final int SCAN_FRACTION = 4;

    private final BlockSource source;

    AcrossReads(BlockSource source) {
        this.source = source;
    }

    /** One coalesced storage range: consecutive blocks of one object. */
    private record Range(ObjectInfo object, boolean base, long offset, long length, List<ReadPlanner.SharedBlock> blocks) {
    }

    /**
     * One block to decode and copy, with its stored bytes when a coalesced range fetched them
     * (taken once by the block cache's load; released by whoever ends up holding them).
     */
    private static final class BlockTask {
        final ReadPlanner.SharedBlock block;
        /** The union of the block's ranges the read's datasets copy from; null: the whole block. */
        final BlockRanges needed;
        private final AtomicReference<ByteBuf> stored;

        /** Whether the block was in the block cache when planned (no stored bytes fetched for it). */
        final boolean wasCached;

        BlockTask(ReadPlanner.SharedBlock block, BlockRanges needed, ByteBuf stored) {
            this.block = block;
            this.needed = needed;
            this.stored = new AtomicReference<>(stored);
            this.wasCached = stored == null;
        }

        /** The stored bytes if not taken yet, still owned by this task (null: none or taken). */
        ByteBuf peek() {
            return stored.get();
        }

        /** The stored bytes, once (null afterwards, or when there were none): the caller owns them. */
        ByteBuf take() {
            return stored.getAndSet(null);
        }

        /** Releases the stored bytes if nobody took them; idempotent. */
        void release() {
            ReferenceCountUtil.safeRelease(take());
        }
    }

    /**
     * Reads region {@code [start, start + shape)} of the entries {@code names} of snapshot
     * {@code s} into {@code dst} (not consumed: each copy takes its own hold), entry {@code i} at
     * byte {@code offset + i * rowBytes}. Entries with unflushed (pending) changes are read on their own
     * through {@code assembler}.
     *
     * @param rowBytes bytes of one entry's region (elements of the region times the element size)
     * @throws InvalidArgumentException (as an error signal) for a variable-length dtype, a region
     *     outside an entry's array, or rows beyond the target's capacity
     */
    Mono<Void> readInto(OpenFileSet state, RegionAssembler assembler, Snapshot s, long epoch, List<String> names,
            DType expected, long[] start, long[] shape, ReadTarget dst, long offset, long rowBytes, int ioConcurrency,
            int cpuConcurrency) {
        return Mono.defer(() -> {
            int n = names.size();
            long width = expected.elementSize();
            if (width <= 0) {
                return Mono.error(new InvalidArgumentException("dtype " + expected + " is variable-length; read it with readArray"));
            }
            if (rowBytes != ChunkGrid.product(shape) * width || offset + rowBytes * n > dst.capacity()) {
                return Mono.error(new InvalidArgumentException(n + " rows of " + rowBytes + " bytes do not fit a read target of "
                        + dst.capacity() + " bytes, or do not match the region"));
            }
            Snapshot.Resolved[] arrays = new Snapshot.Resolved[n];
            ChunkGrid[] grids = new ChunkGrid[n];
            List<Integer> alone = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Snapshot.Resolved a = state.visible(s, names.get(i), expected);
                RegionAssembler.checkRegion(a.name(), a.grid(), start, shape);
                grids[i] = a.grid();
                if (a.pending() != null) {
                    alone.add(i);
                } else {
                    arrays[i] = a;
                }
            }
            ReadPlanner.AcrossPlan plan = ReadPlanner.planAcross(s, epoch, arrays, start, shape);
            if (!dst.acquire()) {
                return Mono.error(new ClosedHandleException("read target already released"));
            }
            try {
                for (int i = 0; i < n; i++) {
                    if (plan.needsFill()[i]) {
                        RegionAssembler.prefill(dst.buf.slice((int) (offset + i * rowBytes), (int) rowBytes),
                                Fill.element(expected, arrays[i].schema().fillValue()), (int) rowBytes);
                    }
                }
            } finally {
                dst.release();
            }
            // Per block, the union of the byte ranges its datasets' chunks are copied from: a block
            // of several zstd frames (the engine's layout) is decoded only in the frames holding
            // them. Such a buffer is cached under exactly these ranges, so no read needing other
            // bytes is ever served from it.
            List<BlockTask> cached = new ArrayList<>();
            List<ReadPlanner.SharedBlock> missing = new ArrayList<>(plan.blocks().size());
            java.util.Map<ReadPlanner.SharedBlock, BlockRanges> neededOf = new java.util.IdentityHashMap<>();
            for (ReadPlanner.SharedBlock b : plan.blocks()) {
                BlockRanges needed = NeededBytes.across(b, grids, width, start, shape);
                if (source.cached(b.read(), needed)) {
                    cached.add(new BlockTask(b, needed, null));
                } else {
                    missing.add(b);
                    if (needed != null) {
                        neededOf.put(b, needed);
                    }
                }
            }
            // A read that decodes more than a quarter of the block cache is a scan: its blocks are
            // decoded for it alone and their buffers go straight back to the pool (keeping them
            // would evict the cache's working set for blocks few reads come back to, and fill
            // fresh memory: measured on the demo store's cold slice, keeping them doubled the CPU
            // time of the read). Cached blocks are still served from the cache.
            long decoded = 0;
            for (ReadPlanner.SharedBlock b : missing) {
                decoded += b.read().meta().uncompressedSize();
            }
            boolean keep = decoded <= source.blockCacheBudget() / SCAN_FRACTION;
            List<Range> ranges = coalesce(missing, ioConcurrency, source.cheapRangeReads());
            Flux<BlockTask> fetched = Flux.fromIterable(ranges)
                    .flatMap(r -> source.fetchRange(r.object(), r.base(), epoch, r.offset(), r.length())
                            .flatMapIterable(buf -> cut(r, buf, neededOf)), ioConcurrency);
            String[] nameOf = names.toArray(new String[0]);
            Flux<Void> stored = Flux.merge(Flux.fromIterable(cached), fetched)
                    .flatMap(t -> Mono.defer(() -> {
                                // Decided on the stored bytes in hand (a block of one frame decodes whole).
                                BlockRanges part = source.partFor(t.block.read(), t.peek(), t.needed, keep);
                                return keep || t.wasCached ? source.fetch(t.block.read(), epoch, t::take, part)
                                        : source.fetchPastCache(t.block.read(), epoch, t::take, part);
                            })
                            // A map, not a doOnNext: a released block must not travel on to then(),
                            // which discards its elements, and a subscriber whose discard hook
                            // releases buffers (reactor-netty's, WebFlux's) would release it again.
                            .map(blk -> {
                                try {
                                    copy(t.block, blk, dst, grids, nameOf, start, shape, width, expected, offset, rowBytes);
                                    return t;
                                } finally {
                                    blk.release();
                                }
                            })
                            .doFinally(sig -> t.release())
                            .then(), cpuConcurrency)
                    .doOnDiscard(BlockTask.class, BlockTask::release);
            Flux<Void> own = Flux.fromIterable(alone).flatMap(i -> assembler.readInto(s, epoch, state.visible(s, names.get(i),
                    expected), start, shape, dst, offset + i * rowBytes), cpuConcurrency);
            return Flux.merge(stored, own).then();
        });
    }

    /**
     * The blocks' stored bytes cut from range {@code r}'s buffer {@code buf} (consumed), one
     * retained slice per task, with the ranges {@code neededOf} names for the block (none: whole).
     */
    private static List<BlockTask> cut(Range r, ByteBuf buf, java.util.Map<ReadPlanner.SharedBlock, BlockRanges> neededOf) {
        List<BlockTask> out = new ArrayList<>(r.blocks().size());
        try {
            for (ReadPlanner.SharedBlock b : r.blocks()) {
                long at = b.read().meta().fileOffset() - r.offset();
                ByteBuf slice = buf.retainedSlice(buf.readerIndex() + (int) at, (int) b.read().meta().compressedSize());
                out.add(new BlockTask(b, neededOf.get(b), slice));
            }
            return out;
        } catch (RuntimeException e) {
            out.forEach(BlockTask::release);
            throw e;
        } finally {
            buf.release();
        }
    }

    /**
     * Coalesces blocks (sorted by object and offset) into ranges: a block joins the range before it
     * when it is in the same object, the gap between them is at most the storage's gap and the
     * range stays within its size cap. The cap shrinks (not below {@link #MIN_SPREAD_RANGE}, or
     * {@link #REMOTE_MIN_SPREAD_RANGE} on object stores) so
     * that the bytes spread over at least {@code ioConcurrency} ranges, which can then be in
     * flight together.
     */
    private static List<Range> coalesce(List<ReadPlanner.SharedBlock> blocks, int ioConcurrency, boolean cheap) {
        long total = 0;
        for (ReadPlanner.SharedBlock b : blocks) {
            total += b.read().meta().compressedSize();
        }
        long maxRange = cheap ? LOCAL_MAX_RANGE : REMOTE_MAX_RANGE;
        long maxGap = cheap ? LOCAL_MAX_GAP : REMOTE_MAX_GAP;
        long minSpread = cheap ? MIN_SPREAD_RANGE : REMOTE_MIN_SPREAD_RANGE;
        long cap = Math.max(minSpread, Math.min(maxRange, (total + ioConcurrency - 1) / Math.max(1, ioConcurrency)));
        List<Range> out = new ArrayList<>();
        List<ReadPlanner.SharedBlock> cur = new ArrayList<>();
        ObjectInfo object = null;
        boolean base = false;
        long from = 0;
        long to = 0;
        for (ReadPlanner.SharedBlock b : blocks) {
            ReadPlanner.BlockRead r = b.read();
            long off = r.meta().fileOffset();
            long end = off + r.meta().compressedSize();
            boolean joins = object != null && object.key().equals(r.object().key()) && off >= to && off - to <= maxGap
                    && end - from <= cap;
            if (!joins) {
                if (object != null) {
                    out.add(new Range(object, base, from, to - from, cur));
                    cur = new ArrayList<>();
                }
                object = r.object();
                base = r.base();
                from = off;
                to = off;
            }
            cur.add(b);
            to = Math.max(to, end);
        }
        if (object != null) {
            out.add(new Range(object, base, from, to - from, cur));
        }
        return out;
    }

    /** Copies every chunk part of {@code blk} (not released) into its entry's row of {@code d}; skipped if the read was abandoned. */
    private static void copy(ReadPlanner.SharedBlock b, ByteBuf blk, ReadTarget d, ChunkGrid[] grids, String[] names,
            long[] start, long[] shape, long width, DType dtype, long offset, long rowBytes) {
        if (!d.acquire()) {
            return;
        }
        ByteBuf dst = d.buf;
        int[] datasets = b.datasets();
        try {
            RegionAssembler.forEachChunk(b.read(), blk, k -> names[datasets[k]], (k, coord, chunk, at, what) -> {
                ChunkGrid grid = grids[datasets[k]];
                int row = (int) (offset + datasets[k] * rowBytes);
                ChunkCodec.checkFixed(dtype, chunk.remaining(), grid.chunkElementCount(coord), what);
                Overlap.forEachRun(grid.chunkOrigin(coord), grid.chunkExtent(coord), start, shape,
                        (to, ro, len) -> dst.setBytes(row + (int) (ro * width), blk, at + (int) (to * width), (int) (len * width)));
            });
        } finally {
            d.release();
        }
    }
}
