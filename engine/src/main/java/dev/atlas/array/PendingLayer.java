package dev.atlas.array;

import dev.atlas.codec.BlockCodec;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.ArrayMeta;
import dev.atlas.internal.Offload;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.Attributes;
import dev.atlas.format.BlockMeta;
import dev.atlas.format.ChunkAddress;
import dev.atlas.format.ChunkEntry;
import dev.atlas.format.CodecId;
import dev.atlas.format.Footer;
import dev.atlas.format.StatsKernel;
import dev.atlas.nd.ChunkGrid;
import dev.atlas.nd.GridCoord;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A layer being built: array entries (definitions, copies of committed arrays that got chunks or
 * attributes, tombstones) and the chunk bytes, packed into blocks. The open block grows in memory;
 * once it would pass {@code blockTargetSize} it is sealed, compressed on the codec scheduler and
 * spilled to a local {@link TempFile}, so a layer can be far larger than the heap. The same class
 * builds flush sidecars and compacted bases.
 *
 * <p>Thread-safety: every field is guarded by this object's monitor; the owning {@link ArrayFile}
 * serialises mutations and takes the monitor to plan reads. A sealed block's raw bytes are
 * immutable until it is spilled, and are released under the monitor.
 */
final class PendingLayer {

    /** One array entry of the layer. */
    static final class Entry {
        final String name;
        /** Schema (chunks and attributes unused), or null for a tombstone only. */
        ArrayMeta schema;
        /** The committed incarnation this layer deletes; a tombstone for it is written first. */
        ArrayMeta buried;
        /** True when the array was defined in this layer: older layers' chunks are not its own. */
        boolean fresh;
        final Map<GridCoord, ChunkAddress> chunks = new HashMap<>();
        /**
         * Statistics of the chunks as written, so a flush need not read them back; a chunk without
         * an entry here, or whose entry is not {@link ChunkStats#ready()} yet, is read when
         * statistics are due.
         */
        final Map<GridCoord, ChunkStats> chunkStats = new HashMap<>();
        final LinkedHashMap<String, AttributeValue> attributes = new LinkedHashMap<>();

        Entry(String name) {
            this.name = name;
        }
    }

    /**
     * The statistics of one staged chunk. Taken either at once (ready from the start) or, for a
     * chunk copied whole into a block, on the codec thread that compresses the block, just before
     * it does: the writer's thread then only copies, and the statistics pass runs on the cores the
     * compression spreads over. Until then {@link #ready()} is false and whoever needs the chunk's
     * statistics reads the chunk instead.
     */
    static final class ChunkStats {
        final dev.atlas.format.StatsKernel.Accumulator acc;
        /** Where the chunk's bytes are in its block, and its element count (deferred form only). */
        private final int offset;
        private final int length;
        private final long count;
        private volatile boolean ready;

        private ChunkStats(dev.atlas.format.StatsKernel.Accumulator acc, int offset, int length, long count, boolean ready) {
            this.acc = acc;
            this.offset = offset;
            this.length = length;
            this.count = count;
            this.ready = ready;
        }

        /** Statistics already taken (or null: none kept). */
        static ChunkStats of(dev.atlas.format.StatsKernel.Accumulator acc) {
            return acc == null ? null : new ChunkStats(acc, 0, 0, 0, true);
        }

        /** Whether {@link #acc} holds the chunk's statistics (a volatile read: publishes them). */
        boolean ready() {
            return ready;
        }

        /** Takes the statistics from the block's raw bytes (called once, by the block's compression). */
        void take(ByteBuf blockRaw) {
            acc.addFixed(blockRaw.nioBuffer(offset, length), count);
            ready = true;
        }
    }

    /** One block: raw bytes in memory until spilled, then a range of the spill file. */
    static final class Block {
        final long id;
        /** Statistics to take from this block's bytes before it compresses (guarded by the layer); null once taken. */
        List<ChunkStats> deferredStats;
        ByteBuf raw;
        long uncompressedSize;
        long tempOffset = -1;
        long storedSize;
        CodecId codec;
        /**
         * Completes once this block's place in the spill file is reserved (or its spill ended
         * without one): the next block's spill waits for it, so blocks spilled one after the other
         * land in the file in id order even though they compress in parallel. Null until a spill
         * starts.
         */
        java.util.concurrent.CompletableFuture<Void> placed;

        Block(long id) {
            this.id = id;
        }
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PendingLayer.class);

    private final BlockCodec codec;
    private final long blockTarget;
    private final long soloChunkSize;
    private final EngineResources resources;
    private final java.util.function.Supplier<Path> tempDir;
    private final String tempPrefix;
    /** The spill file may be adopted by name: it keeps its name until released. */
    private final boolean keepSpillName;
    private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
    private final List<Block> blocks = new ArrayList<>();
    private Block open;
    private TempFile temp;
    private long tempEnd;
    /** Bytes spilled between two background syncs (0: none). */
    private final long syncBehindBytes;
    /** Spilled bytes not yet covered by a background sync, and whether one runs (guarded by this). */
    private long unsynced;
    private boolean syncing;
    /** Background syncs completed (guarded by this). */
    private long syncsBehind;
    private boolean released;
    /** Bumped when a mutation is cancelled: its late stage/publish calls are refused. */
    private long writerEpoch;
    /** Passed by writers that are never cancelled half-way (compaction). */
    static final long ANY_EPOCH = -1;

    /** Sealed blocks compressed and spilled in the background at once (see {@link #spillAhead}). */
    private final int spillConcurrency;
    /** Background spills, oldest first (guarded by this). */
    private final java.util.ArrayDeque<java.util.concurrent.CompletableFuture<Void>> spilling = new java.util.ArrayDeque<>();
    /** The first background spill failure not yet reported to a writer (guarded by this). */
    private Throwable spillFailure;

    PendingLayer(BlockCodec codec, long blockTarget, EngineResources resources, Path tempDir) {
        this(codec, blockTarget, resources, () -> tempDir, "atlas-pending-", false, 1, 0, Long.MAX_VALUE);
    }

    /**
     * @param tempDir where the spill file is created, resolved on the I/O scheduler at first spill
     * @param tempPrefix the spill file's name prefix
     * @param adoptable whether the spill file may be adopted as the layer object (it then keeps its
     *     name, see {@link TempFile#create(Path, String, boolean, reactor.core.scheduler.Scheduler)})
     * @param syncBehindBytes bytes spilled between two background syncs of an adoptable spill file
     *     (0: none; see {@link ArrayFileOptions#syncBehindBytes()})
     * @param soloChunkSize chunks of at least this many bytes get a block of their own (see
     *     {@link ArrayFileOptions#soloChunkSize()})
     */
    PendingLayer(BlockCodec codec, long blockTarget, EngineResources resources, java.util.function.Supplier<Path> tempDir,
            String tempPrefix, boolean adoptable, int spillConcurrency, long syncBehindBytes, long soloChunkSize) {
        this.soloChunkSize = soloChunkSize;
        this.keepSpillName = adoptable;
        this.syncBehindBytes = adoptable ? syncBehindBytes : 0;
        this.codec = codec;
        this.blockTarget = blockTarget;
        this.resources = resources;
        this.tempDir = tempDir;
        this.tempPrefix = tempPrefix;
        this.spillConcurrency = spillConcurrency;
    }

    /**
     * Starts compressing and spilling {@code sealed} in the background and completes once at most
     * {@code spillConcurrency} background spills are still running: writers keep encoding while
     * earlier blocks compress on other codec threads, and memory stays bounded by that many
     * sealed blocks plus the open one. A failed spill leaves its block in memory (a later
     * {@link #sealAll} + {@link #spill} retries it) and fails the next writer that waits here.
     */
    Mono<Void> spillAhead(List<Block> sealed) {
        return Mono.defer(() -> {
            for (Block b : sealed) {
                java.util.concurrent.CompletableFuture<Void> f = new java.util.concurrent.CompletableFuture<>();
                synchronized (this) {
                    spilling.addLast(f);
                }
                spillOne(b).subscribe(null, e -> {
                    synchronized (this) {
                        if (spillFailure == null) {
                            spillFailure = e;
                        }
                    }
                    f.complete(null);
                }, () -> f.complete(null));
            }
            return awaitSpills(spillConcurrency);
        });
    }

    /** Completes when at most {@code max} background spills run; fails with an unreported spill failure. */
    Mono<Void> awaitSpills(int max) {
        return Mono.defer(() -> {
            java.util.concurrent.CompletableFuture<Void> oldest;
            synchronized (this) {
                spilling.removeIf(java.util.concurrent.CompletableFuture::isDone);
                if (spillFailure != null) {
                    Throwable e = spillFailure;
                    spillFailure = null;
                    return Mono.error(e);
                }
                if (spilling.size() <= max) {
                    return Mono.empty();
                }
                oldest = spilling.peekFirst();
            }
            return Mono.fromFuture(oldest, true).then(awaitSpills(max));
        });
    }

    synchronized boolean isEmpty() {
        return entries.isEmpty();
    }

    /**
     * What a reader sees of one entry, copied under the monitor: {@code entry} is an opaque handle
     * to pass back to this layer. {@code schema} null: the array is deleted here; {@code buries}:
     * a committed incarnation is tombstoned; {@code fresh}: defined here (older chunks are not its own).
     */
    record PendingArray(Entry entry, String name, ArrayMeta schema, boolean buries, boolean fresh, boolean hasChunks,
            List<Map.Entry<String, AttributeValue>> attributes) {
    }

    private static PendingArray view(Entry e) {
        List<Map.Entry<String, AttributeValue>> attrs = new ArrayList<>(e.attributes.size());
        e.attributes.forEach((k, v) -> attrs.add(Map.entry(k, v)));
        return new PendingArray(e, e.name, e.schema, e.buried != null, e.fresh, !e.chunks.isEmpty(), attrs);
    }

    /** The entry of {@code name}, or null when this layer does not mention it. */
    synchronized PendingArray resolve(String name) {
        Entry e = entries.get(name);
        return e == null ? null : view(e);
    }

    /** Every entry in layer order, from one consistent view. */
    synchronized List<PendingArray> arrays() {
        List<PendingArray> out = new ArrayList<>(entries.size());
        for (Entry e : entries.values()) {
            out.add(view(e));
        }
        return out;
    }

    /** Pending chunks of one block a reader fetches: their coordinates, addresses in the fetched bytes, and the block. */
    record PendingRead(List<long[]> coords, List<ChunkAddress> addresses, BlockRef ref) {
    }

    /** The pending chunks of a region grouped by block, and (when asked) the region's other chunks in grid order. */
    record PendingChunks(List<PendingRead> reads, List<long[]> notPending) {
    }

    /** A pending chunk of a region: its coordinates and address. */
    private record PendingChunk(long[] coord, ChunkAddress address) {
    }

    /**
     * The chunks of entry {@code e} in region {@code [start, start + shape)}, resolved in one
     * view: pending ones grouped by block (leaving out those in {@code skip}), each group with its
     * block's bytes or a hold on the spill file (released by the reader, see {@link BlockRef}).
     *
     * @param collectRest whether to list the chunks this layer does not hold
     */
    synchronized PendingChunks chunksIn(Entry e, ChunkGrid grid, long[] start, long[] shape, Set<GridCoord> skip,
            boolean collectRest) {
        Map<Long, List<PendingChunk>> groups = new LinkedHashMap<>();
        List<long[]> rest = new ArrayList<>();
        grid.forEachChunkIn(start, shape, c -> {
            GridCoord g = GridCoord.of(c);
            ChunkAddress addr = e.chunks.get(g);
            if (addr == null) {
                if (collectRest) {
                    rest.add(c.clone());
                }
            } else if (skip.isEmpty() || !skip.contains(g)) {
                groups.computeIfAbsent(addr.blockId(), k -> new ArrayList<>()).add(new PendingChunk(c.clone(), addr));
            }
        });
        List<PendingRead> reads = new ArrayList<>(groups.size());
        try {
            for (Map.Entry<Long, List<PendingChunk>> g : groups.entrySet()) {
                reads.add(pendingRead(g.getKey(), g.getValue()));
            }
        } catch (RuntimeException ex) {
            reads.forEach(r -> {
                if (r.ref().temp() != null) {
                    r.ref().temp().release();
                }
            });
            throw ex;
        }
        return new PendingChunks(reads, rest);
    }

    private PendingRead pendingRead(long blockId, List<PendingChunk> group) {
        long from = Long.MAX_VALUE;
        long to = 0;
        for (PendingChunk c : group) {
            from = Math.min(from, c.address().offset());
            to = Math.max(to, c.address().offset() + c.address().size());
        }
        BlockRef ref = blockForRead(blockId, from, to);
        List<long[]> coords = new ArrayList<>(group.size());
        List<ChunkAddress> addrs = new ArrayList<>(group.size());
        long shift = ref.inMemory() != null ? from : 0;
        for (PendingChunk c : group) {
            coords.add(c.coord());
            addrs.add(new ChunkAddress(0, c.address().offset() - shift, c.address().size()));
        }
        return new PendingRead(coords, addrs, ref);
    }

    /** Statistics of an entry's chunks taken when they were written, ready now: the chunks and their accumulators. */
    record ReadyStats(Set<GridCoord> chunks, List<StatsKernel.Accumulator> accumulators) {
        static final ReadyStats NONE = new ReadyStats(Set.of(), List.of());
    }

    /** The statistics of {@code e}'s chunks that are ready (a ready accumulator no longer changes). */
    synchronized ReadyStats readyStats(Entry e) {
        Set<GridCoord> known = new HashSet<>();
        List<StatsKernel.Accumulator> accs = new ArrayList<>();
        for (Map.Entry<GridCoord, ChunkAddress> c : e.chunks.entrySet()) {
            ChunkStats cs = e.chunkStats.get(c.getKey());
            if (cs != null && cs.ready()) {
                known.add(c.getKey());
                accs.add(cs.acc);
            }
        }
        return new ReadyStats(known, accs);
    }

    /**
     * Defines {@code schema} in this layer. The entry moves to the end of the layer (list order:
     * a re-definition after a delete comes last).
     *
     * @param buried a committed incarnation to tombstone first, or null
     */
    synchronized Entry define(ArrayMeta schema, ArrayMeta buried) {
        checkOpen();
        Entry old = entries.remove(schema.name());
        Entry e = new Entry(schema.name());
        e.schema = schema;
        e.fresh = true;
        e.buried = buried != null ? buried : old == null ? null : old.buried;
        entries.put(e.name, e);
        return e;
    }

    /** The entry of a committed array, created as a copy (no chunks) with its resolved attributes. */
    synchronized Entry copy(ArrayMeta schema, Map<String, AttributeValue> attributes) {
        checkOpen();
        Entry e = entries.get(schema.name());
        if (e == null) {
            e = new Entry(schema.name());
            e.schema = schema;
            e.attributes.putAll(attributes);
            entries.put(e.name, e);
        }
        return e;
    }

    /**
     * Deletes {@code name} in this layer: a tombstone when a committed incarnation must be hidden
     * ({@code buried} non-null), else the entry simply disappears.
     */
    synchronized void delete(String name, ArrayMeta buried) {
        checkOpen();
        Entry old = entries.get(name);
        ArrayMeta b = buried != null ? buried : old == null ? null : old.buried;
        if (b == null) {
            entries.remove(name);
            return;
        }
        Entry e = new Entry(name);
        e.buried = b;
        entries.put(name, e);
    }

    synchronized void setAttribute(Entry e, String key, AttributeValue value) {
        checkOpen();
        e.attributes.put(key, value);
    }

    /** Chunk bytes added to blocks but not yet visible: their addresses and the blocks that sealed. */
    record Staged(List<ChunkAddress> addresses, List<Block> sealed) {
    }

    /** Thrown to a reader whose snapshot still held this layer after it was committed or discarded. */
    static final class ReleasedException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        ReleasedException() {
            super("pending layer already committed or discarded");
        }
    }

    /**
     * Appends encoded chunks to the blocks without making them visible (see {@link #publish}). A
     * block is sealed before a chunk that would take it past the target, and as soon as it reaches
     * the target, so blocks stay below the target unless one chunk alone is larger. A chunk of
     * {@code soloChunkSize} bytes or more gets a block of its own.
     *
     * @param encoded read from position to limit, not modified
     * @return the chunks' addresses and the blocks sealed by this call, which the caller must {@link #spill}
     */
    synchronized Staged stage(long epoch, List<ByteBuffer> encoded) {
        checkOpen();
        checkEpoch(epoch);
        List<Block> sealed = new ArrayList<>();
        List<ChunkAddress> addresses = new ArrayList<>(encoded.size());
        for (ByteBuffer bytes : encoded) {
            addresses.add(append(bytes.remaining(), (dst, at) -> dst.setBytes(at, bytes.duplicate()), sealed));
        }
        return new Staged(addresses, sealed);
    }

    /** Writes one chunk's encoded bytes straight into a block (see {@link #stageInto}). */
    interface ChunkFiller {
        /** Writes exactly the chunk's bytes at {@code [at, at + length)} of {@code dst}; nothing else. */
        void fill(ByteBuf dst, int at);
    }

    /**
     * As {@link #stage} for one fixed-width chunk of {@code length} bytes ({@code count} elements)
     * that {@code filler} writes in place in the open block (under this monitor): no intermediate
     * copy. Its statistics go to {@code acc} (empty) on the codec thread that compresses the block
     * (see {@link ChunkStats}); the entry is added to {@code stats}.
     */
    synchronized Staged stageInto(long epoch, int length, ChunkFiller filler, dev.atlas.format.StatsKernel.Accumulator acc,
            long count, List<ChunkStats> stats) {
        checkOpen();
        checkEpoch(epoch);
        List<Block> sealed = new ArrayList<>(1);
        ChunkAddress a = append(length, filler, sealed);
        stats.add(deferStats(a, acc, count));
        return new Staged(List.of(a), sealed);
    }

    /** Registers the statistics of the chunk at {@code a} with its block, to be taken before it compresses. */
    private ChunkStats deferStats(ChunkAddress a, dev.atlas.format.StatsKernel.Accumulator acc, long count) {
        ChunkStats cs = new ChunkStats(acc, (int) a.offset(), (int) a.size(), count, false);
        Block b = blocks.get((int) a.blockId());
        if (b.deferredStats == null) {
            b.deferredStats = new ArrayList<>();
        }
        b.deferredStats.add(cs);
        return cs;
    }

    /**
     * Stages {@code chunks}, fixed-width chunks already laid out one after the other (their lengths
     * in {@code lengths}), packed into blocks exactly as {@link #stage} would pack them, but a block
     * that these chunks fill from empty to sealed is not copied: it holds a retained slice of
     * {@code chunks}. Chunks that top up the open block, and a tail that leaves a block open, are
     * copied into the open block as usual. Statistics are deferred to the blocks' compression.
     *
     * @param chunks not released: the caller keeps its reference (the blocks take their own)
     * @param counts each chunk's element count
     * @param newStats an empty accumulator for each chunk
     * @param stats receives each chunk's statistics, in order
     * @return the chunks' addresses and the blocks sealed (the caller must {@link #spill} them)
     */
    synchronized Staged adopt(long epoch, ByteBuf chunks, int[] lengths, long[] counts,
            java.util.function.Supplier<dev.atlas.format.StatsKernel.Accumulator> newStats, List<ChunkStats> stats) {
        checkOpen();
        checkEpoch(epoch);
        List<Block> sealed = new ArrayList<>();
        List<ChunkAddress> addresses = new ArrayList<>(lengths.length);
        int n = lengths.length;
        int i = 0;
        int pos = chunks.readerIndex();
        // Top up a non-empty open block until it seals (copies, as stage does).
        while (i < n && open != null && open.raw.readableBytes() > 0) {
            if (lengths[i] >= soloChunkSize || open.raw.readableBytes() + (long) lengths[i] > blockTarget) {
                sealed.add(sealOpen());
                break;
            }
            copyIn(chunks, pos, lengths[i], counts[i], newStats, addresses, stats, sealed);
            pos += lengths[i++];
        }
        // Whole blocks, from empty to sealed: slices, no copy.
        while (i < n && (open == null || open.raw.readableBytes() == 0)) {
            long size = lengths[i];
            int j = i + 1;
            if (lengths[i] < soloChunkSize) {
                while (j < n && lengths[j] < soloChunkSize && size < blockTarget && size + lengths[j] <= blockTarget) {
                    size += lengths[j];
                    j++;
                }
            }
            // Sealed unless these chunks ran out first with the block still below its target.
            if (j == n && lengths[i] < soloChunkSize && size < blockTarget) {
                break;
            }
            Block b = new Block(blocks.size());
            b.raw = chunks.retainedSlice(pos, (int) size);
            b.uncompressedSize = size;
            blocks.add(b);
            int off = 0;
            for (int k = i; k < j; k++) {
                ChunkAddress a = new ChunkAddress(b.id, off, lengths[k]);
                addresses.add(a);
                stats.add(deferStats(a, newStats.get(), counts[k]));
                off += lengths[k];
            }
            sealed.add(b);
            pos += (int) size;
            i = j;
        }
        // The tail starts the next open block (copies).
        for (; i < n; i++) {
            copyIn(chunks, pos, lengths[i], counts[i], newStats, addresses, stats, sealed);
            pos += lengths[i];
        }
        return new Staged(addresses, sealed);
    }

    /** Appends one chunk of {@code chunks} by copy, its statistics deferred to its block. */
    private void copyIn(ByteBuf chunks, int pos, int len, long count,
            java.util.function.Supplier<dev.atlas.format.StatsKernel.Accumulator> newStats, List<ChunkAddress> addresses,
            List<ChunkStats> stats, List<Block> sealed) {
        ChunkAddress a = append(len, (dst, at) -> dst.setBytes(at, chunks, pos, len), sealed);
        addresses.add(a);
        stats.add(deferStats(a, newStats.get(), count));
    }

    /** Takes the block's deferred statistics from {@code raw} (its bytes), once; any thread. */
    private void takeDeferredStats(Block b, ByteBuf raw) {
        List<ChunkStats> todo;
        synchronized (this) {
            todo = b.deferredStats;
            b.deferredStats = null;
        }
        if (todo != null) {
            for (ChunkStats cs : todo) {
                cs.take(raw);
            }
        }
    }

    private ChunkAddress append(int len, ChunkFiller filler, List<Block> sealed) {
        boolean solo = len >= soloChunkSize;
        if (open != null && open.raw.readableBytes() > 0 && (solo || open.raw.readableBytes() + (long) len > blockTarget)) {
            sealed.add(sealOpen());
        }
        if (open == null) {
            open = new Block(blocks.size());
            // A solo chunk gets exactly its size. Large chunks (a sixteenth of the target or more)
            // start the block at its full size; small ones start small, so many files with a small
            // pending write hold little.
            long full = Math.min(blockTarget, MAX_INITIAL_BLOCK);
            int initial = solo ? len : (int) Math.max(len, len * 16L >= full ? full : Math.min(64 * 1024, full));
            open.raw = resources.allocator().directBuffer(initial, Integer.MAX_VALUE - 8);
            blocks.add(open);
        }
        if (open.raw.readableBytes() + (long) len > Integer.MAX_VALUE - 8) {
            throw new InvalidArgumentException("chunk of " + len + " bytes does not fit a block");
        }
        growOpen(len);
        int offset = open.raw.writerIndex();
        filler.fill(open.raw, offset);
        open.raw.writerIndex(offset + len);
        ChunkAddress address = new ChunkAddress(open.id, offset, len);
        if (solo || open.raw.readableBytes() >= blockTarget) {
            sealed.add(sealOpen());
        }
        return address;
    }

    /** Makes staged chunks visible at once, replacing earlier addresses of the same coordinates. */
    synchronized void publish(long epoch, Entry e, List<long[]> coords, List<ChunkAddress> addresses) {
        publish(epoch, e, coords, addresses, null);
    }

    /** As {@link #publish(long, Entry, List, List)}, with each chunk's statistics (or null: unknown). */
    synchronized void publish(long epoch, Entry e, List<long[]> coords, List<ChunkAddress> addresses,
            List<ChunkStats> stats) {
        checkOpen();
        checkEpoch(epoch);
        for (int i = 0; i < coords.size(); i++) {
            GridCoord g = GridCoord.of(coords.get(i));
            e.chunks.put(g, addresses.get(i));
            ChunkStats a = stats == null ? null : stats.get(i);
            if (a == null) {
                e.chunkStats.remove(g);
            } else {
                e.chunkStats.put(g, a);
            }
        }
    }

    /** The largest capacity an open block starts with, or jumps to on its first growth. */
    private static final long MAX_INITIAL_BLOCK = 8L << 20;

    /**
     * Makes room for {@code len} more bytes in the open block. It grows by a fresh buffer from the
     * engine's allocator (at least doubling, straight to the block target when that is within
     * {@link #MAX_INITIAL_BLOCK}), not by {@code ensureWritable}: a pooled buffer reallocating past
     * Netty's chunk size gets fresh, zeroed memory each time, where the engine's allocator recycles
     * block-sized buffers.
     */
    private void growOpen(int len) {
        ByteBuf raw = open.raw;
        if (raw.writableBytes() >= len) {
            return;
        }
        long needed = (long) raw.writerIndex() + len;
        long want = Math.max(2L * raw.capacity(), Math.min(blockTarget, MAX_INITIAL_BLOCK));
        int cap = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(needed, want));
        ByteBuf bigger = resources.allocator().directBuffer(cap, Integer.MAX_VALUE - 8);
        try {
            bigger.writeBytes(raw, raw.readerIndex(), raw.readableBytes());
        } catch (RuntimeException e) {
            bigger.release();
            throw e;
        }
        open.raw = bigger;
        raw.release();
    }

    private Block sealOpen() {
        Block b = open;
        open = null;
        b.uncompressedSize = b.raw.readableBytes();
        return b;
    }

    /** Seals the open block (if any) and returns every block still held in memory, for spilling. */
    synchronized List<Block> sealAll() {
        checkOpen();
        if (open != null) {
            sealOpen();
        }
        List<Block> out = new ArrayList<>();
        for (Block b : blocks) {
            if (b.raw != null) {
                out.add(b);
            }
        }
        return out;
    }

    /**
     * Compresses and spills sealed blocks one after the other. A block whose spill fails keeps its
     * raw bytes, so a later {@link #sealAll} + spill retries it; nothing is lost.
     */
    Mono<Void> spill(List<Block> sealed) {
        return Flux.fromIterable(sealed).concatMap(this::spillOne, 0).then();
    }

    private Mono<Void> spillOne(Block b) {
        return Mono.defer(() -> {
            ByteBuf raw;
            java.util.concurrent.CompletableFuture<Void> before;
            java.util.concurrent.CompletableFuture<Void> placed = new java.util.concurrent.CompletableFuture<>();
            synchronized (this) {
                if (released) {
                    return Mono.error(new ReleasedException());
                }
                if (b.raw == null) {
                    return Mono.empty();
                }
                raw = b.raw.retainedDuplicate();
                // Wait only for a predecessor whose spill has started: one that has not may never
                // start before a flush (a cancelled writer's sealed block), and waiting on it could
                // hang. Started spills always finish, so this chain cannot deadlock.
                Block prev = b.id > 0 ? blocks.get((int) b.id - 1) : null;
                before = prev == null ? null : prev.placed;
                b.placed = placed;
            }
            Mono<Void> predecessorPlaced = before == null || before.isDone() ? Mono.empty()
                    : Mono.fromFuture(before.handle((v, e) -> (Void) null), false);
            return Offload.run(resources.codecScheduler(), raw, r -> {
                        takeDeferredStats(b, r);
                        return codec.compress(r, resources.allocator());
                    })
                    .flatMap(compressed -> Mono.using(() -> compressed,
                            c -> predecessorPlaced.then(Mono.defer(() -> Offload.run(resources.ioScheduler(), c.retain(), cc -> {
                                int n = cc.readableBytes();
                                long at;
                                synchronized (this) {
                                    at = tempEnd;
                                    tempEnd += n;
                                }
                                placed.complete(null);
                                TempFile t = retainedTemp();
                                try {
                                    t.write(cc.nioBuffer(cc.readerIndex(), n), at);
                                    syncBehind(t, n);
                                } finally {
                                    t.release();
                                }
                                synchronized (this) {
                                    if (!released && b.raw != null) {
                                        b.tempOffset = at;
                                        b.storedSize = n;
                                        b.codec = codec.id();
                                        b.raw.release();
                                        b.raw = null;
                                    }
                                }
                                return Boolean.TRUE;
                            }))), ByteBuf::release))
                    .doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease)
                    .doFinally(sig -> placed.complete(null))
                    .then();
        });
    }

    /**
     * Starts a background sync of the spill file (holding {@code t}, which the caller keeps) once
     * {@code syncBehindBytes} were spilled since the last, one at a time, on the I/O scheduler.
     * Only for spill files that become the layer: a copied spill file is never synced. A failed
     * sync is left to the flush's own, which reports it.
     */
    private void syncBehind(TempFile t, int n) {
        if (syncBehindBytes <= 0) {
            return;
        }
        synchronized (this) {
            unsynced += n;
            if (syncing || released || unsynced < syncBehindBytes) {
                return;
            }
            syncing = true;
            unsynced = 0;
        }
        TempFile held = (TempFile) t.retain();
        Runnable sync = () -> {
            try {
                held.force();
                synchronized (this) {
                    syncsBehind++;
                }
            } catch (RuntimeException e) {
                LOG.debug("write-behind sync of {} failed (the flush syncs again): {}", held.path(), e.getMessage());
            } finally {
                held.release();
                synchronized (this) {
                    syncing = false;
                }
            }
        };
        try {
            resources.ioScheduler().schedule(sync);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            held.release();
            synchronized (this) {
                syncing = false;
            }
        }
    }

    /** Background syncs of the spill file completed so far. */
    synchronized long syncsBehind() {
        return syncsBehind;
    }

    /**
     * The spill file with one reference for the caller, created on first use (blocking: call on
     * the I/O scheduler). The file is created outside the monitor, which readers take.
     */
    private TempFile retainedTemp() {
        synchronized (this) {
            checkOpen();
            if (temp != null) {
                return (TempFile) temp.retain();
            }
        }
        TempFile created = TempFile.create(tempDir.get(), tempPrefix, keepSpillName, resources.ioScheduler());
        synchronized (this) {
            if (released) {
                created.release();
                throw new ReleasedException();
            }
            if (temp == null) {
                temp = created;
            } else {
                created.release();
            }
            return (TempFile) temp.retain();
        }
    }

    /**
     * The footer of this layer once every block is spilled (call after {@link #sealAll} and a
     * successful spill): blocks in id order packed from offset 0, entries in layer order
     * (a tombstone before a re-definition), chunks in C order of their grid coordinates, attributes
     * interned into this layer's own dictionaries.
     */
    synchronized Footer footer(int version, long overlayIndex, String baseHint) {
        List<Block> order = fileOrder();
        List<BlockMeta> metas = new ArrayList<>(order.size());
        long[] renumbered = new long[blocks.size()];
        long offset = 0;
        for (int i = 0; i < order.size(); i++) {
            Block b = order.get(i);
            renumbered[(int) b.id] = i;
            metas.add(new BlockMeta(i, offset, b.storedSize, b.uncompressedSize, b.codec));
            offset += b.storedSize;
        }
        List<String> keys = new ArrayList<>();
        Map<String, Long> keyIndex = new HashMap<>();
        List<AttributeValue> values = new ArrayList<>();
        Map<AttributeValue, Long> valueIndex = new HashMap<>();
        List<ArrayMeta> arrays = new ArrayList<>();
        for (Entry e : entries.values()) {
            if (e.buried != null) {
                arrays.add(e.buried.asTombstone().withAttributes(Attributes.EMPTY));
            }
            if (e.schema == null) {
                continue;
            }
            Attributes pairs = Attributes.EMPTY;
            for (Map.Entry<String, AttributeValue> a : e.attributes.entrySet()) {
                long k = keyIndex.computeIfAbsent(a.getKey(), x -> {
                    keys.add(x);
                    return (long) keys.size() - 1;
                });
                long v = valueIndex.computeIfAbsent(a.getValue(), x -> {
                    values.add(x);
                    return (long) values.size() - 1;
                });
                pairs = pairs.with(k, v);
            }
            List<ChunkEntry> chunks = new ArrayList<>(e.chunks.size());
            for (Map.Entry<GridCoord, ChunkAddress> c : e.chunks.entrySet()) {
                ChunkAddress a = c.getValue();
                chunks.add(new ChunkEntry(c.getKey().toArray(), new ChunkAddress(renumbered[(int) a.blockId()], a.offset(), a.size())));
            }
            chunks.sort(CHUNK_ORDER);
            arrays.add(e.schema.withChunks(chunks).withAttributes(pairs));
        }
        return new Footer(version, metas, arrays, keys, values, overlayIndex, baseHint);
    }

    private static final Comparator<ChunkEntry> CHUNK_ORDER = (a, b) -> {
        for (int i = 0; i < a.rank(); i++) {
            int c = Long.compare(a.coord(i), b.coord(i));
            if (c != 0) {
                return c;
            }
        }
        return 0;
    };

    /**
     * Every block, spilled, in the order of its place in the spill file: the order of the written
     * layer, whose block ids are these positions. Blocks spilled one after the other are placed in
     * id order (see {@link Block#placed}), so this is usually id order; spills that ran
     * side by side (compaction) or a retried one may change it, never the content.
     */
    private List<Block> fileOrder() {
        List<Block> order = new ArrayList<>(blocks);
        for (Block b : order) {
            if (b.raw != null || b.tempOffset < 0) {
                throw new IllegalStateException("block " + b.id + " is not spilled");
            }
        }
        order.sort(Comparator.comparingLong(b -> b.tempOffset));
        return order;
    }

    /**
     * Whether the spill file is already this layer's data region: every block spilled, packed
     * from offset 0 with no gap (a failed spill leaves one) up to the end of the file's data.
     * Then the file itself, with the footer appended, can become the layer object.
     */
    synchronized boolean spillFileIsDataRegion() {
        if (!keepSpillName || released || temp == null || blocks.isEmpty()) {
            return false;
        }
        long at = 0;
        for (Block b : fileOrder()) {
            if (b.tempOffset != at) {
                return false;
            }
            at += b.storedSize;
        }
        return at == tempEnd;
    }

    /**
     * Appends {@code tail} (footer and trailer) after the data in the spill file and hands the
     * file to {@code adoption} as object {@code key}: the layer is written once, not copied. Call
     * only when {@link #spillFileIsDataRegion()}; the layer stays usable if this fails (the tail
     * is rewritten, and the file cut to length, on the next attempt).
     */
    Mono<dev.atlas.storage.ObjectInfo> adoptSpillFile(dev.atlas.storage.FileAdoption adoption, String key, byte[] tail,
            boolean ifAbsent) {
        return Offload.run(resources.ioScheduler(), null, none -> {
            TempFile t;
            long end;
            synchronized (this) {
                checkOpen();
                t = (TempFile) temp.retain();
                end = tempEnd;
            }
            t.write(ByteBuffer.wrap(tail), end);
            t.truncate(end + tail.length);
            t.force();
            return t;
        }).flatMap(t -> adoption.adopt(key, t.path(), ifAbsent).doFinally(sig -> t.release()));
    }

    /**
     * The data region of this layer: every spilled block in file order, read from the spill file in
     * pieces of at most 1 MiB on the I/O scheduler. Buffers are owned by the subscriber.
     */
    Flux<ByteBuf> dataRegion() {
        return Flux.defer(this::dataRegionNow);
    }

    private Flux<ByteBuf> dataRegionNow() {
        List<long[]> ranges = new ArrayList<>();
        TempFile t;
        synchronized (this) {
            checkOpen();
            for (Block b : fileOrder()) {
                ranges.add(new long[] {b.tempOffset, b.storedSize});
            }
            if (ranges.isEmpty() || temp == null) {
                return Flux.empty();
            }
            t = (TempFile) temp.retain();
        }
        ByteBufAllocator alloc = resources.allocator();
        int piece = 1 << 20;
        return Flux.fromIterable(ranges).concatMap(r -> {
            long pieces = (r[1] + piece - 1) / piece;
            return Flux.range(0, (int) pieces).concatMap(i -> Offload.run(resources.ioScheduler(), null, none -> {
                long at = r[0] + (long) i * piece;
                int n = (int) Math.min(piece, r[1] - (long) i * piece);
                ByteBuf buf = alloc.directBuffer(n, n);
                try {
                    t.read(buf.nioBuffer(0, n), at);
                    buf.writerIndex(n);
                    return buf;
                } catch (RuntimeException e) {
                    buf.release();
                    throw e;
                }
            }), 0);
        }, 0).doFinally(sig -> t.release()).doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease);
    }

    /** What a reader needs to fetch a pending block's bytes (see {@link ArrayFile}). */
    record BlockRef(long id, byte[] inMemory, TempFile temp, long tempOffset, long storedSize, long uncompressedSize,
            CodecId codec) {
    }

    /**
     * Resolves a pending block for a reader, under the monitor: an in-memory block yields a copy of
     * bytes {@code [from, to)}; a spilled one a retained reference to the spill file, which the
     * reader must release.
     */
    private BlockRef blockForRead(long id, long from, long to) {
        checkOpen();
        Block b = blocks.get((int) id);
        if (b.raw != null) {
            byte[] copy = new byte[(int) (to - from)];
            b.raw.getBytes(b.raw.readerIndex() + (int) from, copy);
            return new BlockRef(id, copy, null, 0, 0, 0, null);
        }
        temp.retain();
        return new BlockRef(id, null, temp, b.tempOffset, b.storedSize, b.uncompressedSize, b.codec);
    }

    synchronized long bytesInMemory() {
        long n = 0;
        for (Block b : blocks) {
            if (b.raw != null) {
                n += b.raw.capacity();
            }
        }
        return n;
    }

    synchronized int blockCount() {
        return blocks.size();
    }

    /** The current writer epoch, for a mutation to pass to stage/publish. */
    synchronized long writerEpoch() {
        return writerEpoch;
    }

    /** Refuses every later stage/publish of the mutations that started before (a cancelled write). */
    synchronized void fence() {
        writerEpoch++;
    }

    private void checkEpoch(long epoch) {
        if (epoch != ANY_EPOCH && epoch != writerEpoch) {
            throw new ReleasedException();
        }
    }

    private void checkOpen() {
        if (released) {
            throw new ReleasedException();
        }
    }

    /** Frees the in-memory blocks and this layer's reference to the spill file; idempotent. */
    synchronized void release() {
        if (released) {
            return;
        }
        released = true;
        for (Block b : blocks) {
            if (b.raw != null) {
                b.raw.release();
                b.raw = null;
            }
        }
        open = null;
        if (temp != null) {
            temp.release();
            temp = null;
        }
    }
}
