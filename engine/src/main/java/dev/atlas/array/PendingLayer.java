package dev.atlas.array;

import dev.atlas.codec.BlockCodec;
import dev.atlas.error.AtlasException;
import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.internal.Offload;
import dev.atlas.format.AttributeValue;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.ChunkAddress;
import dev.atlas.internal.format.Checksums;
import dev.atlas.codec.CodecId;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.StatsKernel;
import dev.atlas.internal.nd.ChunkGrid;
import dev.atlas.internal.nd.GridCoord;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.FileAdoption;
import dev.atlas.storage.ObjectInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A layer being built: its array entries ({@link PendingManifest}) and the chunk bytes, packed
 * into blocks ({@link PendingBlock}). The open block grows in memory; once it would pass
 * {@code blockTargetSize} it is sealed, compressed on the codec scheduler and spilled to its
 * {@link SpillFile}, so a layer can be far larger than the heap. The same class builds flush
 * sidecars and compacted bases.
 *
 * <p>Thread-safety: this object's monitor guards the manifest, the blocks and its own fields, and
 * only this class takes it. Writers are serialised by the owning {@link ArrayFile}; readers get
 * immutable views ({@link #resolve}, {@link #arrays}, {@link #chunksIn}, {@link #readyStats}). A
 * sealed block's raw bytes are immutable until it is spilled, and are released under the monitor.
 */
final class PendingLayer {

    private final BlockCodec codec;
    private final EngineResources resources;
    private final PendingManifest manifest = new PendingManifest();
    private final BlockPacker packer;
    /** The packer's blocks, by id (guarded by this). */
    private final List<PendingBlock> blocks;
    private final SpillFile spillFile;
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
        this.codec = codec;
        this.packer = new BlockPacker(blockTarget, soloChunkSize, resources.allocator());
        this.blocks = packer.blocks();
        this.resources = resources;
        this.spillFile = new SpillFile(resources, tempDir, tempPrefix, adoptable, syncBehindBytes);
        this.spillConcurrency = spillConcurrency;
    }

    /**
     * Starts compressing and spilling {@code sealed} in the background and completes once at most
     * {@code spillConcurrency} background spills are still running: writers keep encoding while
     * earlier blocks compress on other codec threads, and memory stays bounded by that many
     * sealed blocks plus the open one. A failed spill leaves its block in memory (a later
     * {@link #sealAll} + {@link #spill} retries it) and fails the next writer that waits here.
     */
    Mono<Void> spillAhead(List<PendingBlock> sealed) {
        return Mono.defer(() -> {
            for (PendingBlock b : sealed) {
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
        return manifest.isEmpty();
    }

    /** What a reader sees of the entry of {@code name} (a copy), or null when this layer does not mention it. */
    synchronized PendingManifest.PendingArray resolve(String name) {
        return manifest.resolve(name);
    }

    /** Every entry in layer order, from one consistent view. */
    synchronized List<PendingManifest.PendingArray> arrays() {
        return manifest.arrays();
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
    synchronized PendingChunks chunksIn(PendingManifest.Entry e, ChunkGrid grid, long[] start, long[] shape, Set<GridCoord> skip,
            boolean collectRest) {
        Map<Long, List<PendingChunk>> groups = new LinkedHashMap<>();
        List<long[]> rest = new ArrayList<>();
        grid.forEachChunkIn(start, shape, c -> {
            GridCoord g = GridCoord.of(c);
            ChunkAddress addr = e.chunk(g);
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

    /** The statistics of {@code e}'s chunks taken when they were written and ready now (a ready accumulator no longer changes). */
    synchronized PendingManifest.ReadyStats readyStats(PendingManifest.Entry e) {
        return manifest.readyStats(e);
    }
    /**
     * Defines {@code schema} in this layer. The entry moves to the end of the layer (list order:
     * a re-definition after a delete comes last).
     *
     * @param buried a committed incarnation to tombstone first, or null
     */
    synchronized PendingManifest.Entry define(ArrayMeta schema, ArrayMeta buried) {
        checkOpen();
        return manifest.define(schema, buried);
    }
    /** The entry of a committed array, created as a copy (no chunks) with its resolved attributes. */
    synchronized PendingManifest.Entry copy(ArrayMeta schema, Map<String, AttributeValue> attributes) {
        checkOpen();
        return manifest.copy(schema, attributes);
    }
    /**
     * Deletes {@code name} in this layer: a tombstone when a committed incarnation must be hidden
     * ({@code buried} non-null), else the entry simply disappears.
     */
    synchronized void delete(String name, ArrayMeta buried) {
        checkOpen();
        manifest.delete(name, buried);
    }
    synchronized void setAttribute(PendingManifest.Entry e, String key, AttributeValue value) {
        checkOpen();
        manifest.setAttribute(e, key, value);
    }

    /** Chunk bytes added to blocks but not yet visible: their addresses and the blocks that sealed. */
    record Staged(List<ChunkAddress> addresses, List<PendingBlock> sealed) {
    }

    /** Thrown to a reader whose snapshot still held this layer after it was committed or discarded. */
    static final class ReleasedException extends AtlasException {
        private static final long serialVersionUID = 1L;

        ReleasedException() {
            super("pending layer already committed or discarded");
        }
    }

    /**
     * Appends encoded chunks to the blocks without making them visible (see {@link #publish}); see
     * {@link BlockPacker#stage}.
     *
     * @param encoded read from position to limit, not modified
     * @return the chunks' addresses and the blocks sealed by this call, which the caller must {@link #spill}
     */
    synchronized Staged stage(long epoch, List<ByteBuffer> encoded) {
        return stage(epoch, encoded, null);
    }

    /**
     * As {@link #stage(long, List)}, the chunks belonging to {@code run} (the entry written: chunks
     * of one run are laid out to be read together, see {@link dev.atlas.codec.BlockCodec#compress(ByteBuf, int[], int[], io.netty.buffer.ByteBufAllocator)}).
     */
    synchronized Staged stage(long epoch, List<ByteBuffer> encoded, Object run) {
        checkOpen();
        checkEpoch(epoch);
        return packer.stage(encoded, run);
    }

    /** As {@link #stage} for one fixed-width chunk written in place by {@code filler}; see {@link BlockPacker#stageInto}. */
    synchronized Staged stageInto(long epoch, int length, BlockPacker.ChunkFiller filler, StatsKernel.Accumulator acc,
            long count, List<ChunkStats> stats, Object run) {
        checkOpen();
        checkEpoch(epoch);
        return packer.stageInto(length, filler, acc, count, stats, run);
    }

    /**
     * Stages whole fixed-width chunks laid out one after the other in {@code chunks} (not
     * released), blocks they fill whole as slices; see {@link BlockPacker#adopt}.
     */
    synchronized Staged adopt(long epoch, ByteBuf chunks, int[] lengths, long[] counts,
            java.util.function.Supplier<StatsKernel.Accumulator> newStats, List<ChunkStats> stats, Object run) {
        checkOpen();
        checkEpoch(epoch);
        return packer.adopt(chunks, lengths, counts, newStats, stats, run);
    }

    /** Seals the open block (if any) and returns every block still held in memory, for spilling. */
    synchronized List<PendingBlock> sealAll() {
        checkOpen();
        return packer.sealAll();
    }

    /** Takes the block's deferred statistics from {@code raw} (its bytes), once; any thread. */
    private void takeDeferredStats(PendingBlock b, ByteBuf raw) {
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

    /** Makes staged chunks visible at once, replacing earlier addresses of the same coordinates. */
    synchronized void publish(long epoch, PendingManifest.Entry e, List<long[]> coords, List<ChunkAddress> addresses) {
        publish(epoch, e, coords, addresses, null);
    }
    /** As {@link #publish(long, PendingManifest.Entry, List, List)}, with each chunk's statistics (or null: unknown). */
    synchronized void publish(long epoch, PendingManifest.Entry e, List<long[]> coords, List<ChunkAddress> addresses,
            List<ChunkStats> stats) {
        checkOpen();
        checkEpoch(epoch);
        manifest.publish(e, coords, addresses, stats);
    }

    /**
     * Compresses and spills sealed blocks one after the other. A block whose spill fails keeps its
     * raw bytes, so a later {@link #sealAll} + spill retries it; nothing is lost.
     */
    Mono<Void> spill(List<PendingBlock> sealed) {
        return Flux.fromIterable(sealed).concatMap(this::spillOne, 0).then();
    }

    private Mono<Void> spillOne(PendingBlock b) {
        return Mono.defer(() -> {
            ByteBuf raw;
            int[] starts;
            int[] runs;
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
                starts = b.chunkStarts();
                runs = b.runStarts();
                // Wait only for a predecessor whose spill has started: one that has not may never
                // start before a flush (a cancelled writer's sealed block), and waiting on it could
                // hang. Started spills always finish, so this chain cannot deadlock.
                PendingBlock prev = b.id > 0 ? blocks.get((int) b.id - 1) : null;
                before = prev == null ? null : prev.placed;
                b.placed = placed;
            }
            Mono<Void> predecessorPlaced = before == null || before.isDone() ? Mono.empty()
                    : Mono.fromFuture(before.handle((v, e) -> (Void) null), false);
            int[] crc = new int[1];
            return Offload.run(resources.codecScheduler(), raw, r -> {
                        takeDeferredStats(b, r);
                        ByteBuf c = codec.compress(r, starts, runs, resources.allocator());
                        crc[0] = Checksums.crc(c.nioBuffer(c.readerIndex(), c.readableBytes()));
                        return c;
                    })
                    .flatMap(compressed -> Mono.using(() -> compressed,
                            c -> predecessorPlaced.then(Mono.defer(() -> Offload.run(resources.ioScheduler(), c.retain(), cc -> {
                                int n = cc.readableBytes();
                                long at = spillFile.reserve(n);
                                placed.complete(null);
                                spillFile.write(cc.nioBuffer(cc.readerIndex(), n), at);
                                synchronized (this) {
                                    if (!released && b.raw != null) {
                                        b.tempOffset = at;
                                        b.storedSize = n;
                                        b.crc = crc[0];
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
    /** Background syncs of the spill file completed so far. */
    long syncsBehind() {
        return spillFile.syncsBehind();
    }
    /**
     * The footer of this layer once every block is spilled (call after {@link #sealAll} and a
     * successful spill): blocks in file order packed from offset 0, then the entries (see
     * {@link PendingManifest#footer}).
     */
    synchronized Footer footer(int version, long overlayIndex, String baseHint) {
        List<PendingBlock> order = fileOrder();
        List<BlockMeta> metas = new ArrayList<>(order.size());
        long[] renumbered = new long[blocks.size()];
        long offset = 0;
        for (int i = 0; i < order.size(); i++) {
            PendingBlock b = order.get(i);
            renumbered[(int) b.id] = i;
            metas.add(new BlockMeta(i, offset, b.storedSize, b.uncompressedSize, b.codec));
            offset += b.storedSize;
        }
        return manifest.footer(version, metas, renumbered, overlayIndex, baseHint);
    }

    /** The CRC-32C of each block's stored bytes, in the order of {@link #footer}'s block table. */
    synchronized int[] blockCrcs() {
        List<PendingBlock> order = fileOrder();
        int[] crcs = new int[order.size()];
        for (int i = 0; i < crcs.length; i++) {
            crcs[i] = order.get(i).crc;
        }
        return crcs;
    }

    /**
     * Every block, spilled, in the order of its place in the spill file: the order of the written
     * layer, whose block ids are these positions. Blocks spilled one after the other are placed in
     * id order (see {@link PendingBlock#placed}), so this is usually id order; spills that ran
     * side by side (compaction) or a retried one may change it, never the content.
     */
    private List<PendingBlock> fileOrder() {
        List<PendingBlock> order = new ArrayList<>(blocks);
        for (PendingBlock b : order) {
            if (b.raw != null || b.tempOffset < 0) {
                throw new AtlasException("block " + b.id + " is not spilled");
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
        if (!spillFile.adoptable() || released || !spillFile.exists() || blocks.isEmpty()) {
            return false;
        }
        long at = 0;
        for (PendingBlock b : fileOrder()) {
            if (b.tempOffset != at) {
                return false;
            }
            at += b.storedSize;
        }
        return at == spillFile.end();
    }
    /**
     * Appends {@code tail} (footer and trailer) after the data in the spill file and hands the
     * file to {@code adoption} as object {@code key}: the layer is written once, not copied. Call
     * only when {@link #spillFileIsDataRegion()}; the layer stays usable if this fails.
     */
    Mono<ObjectInfo> adoptSpillFile(FileAdoption adoption, String key, byte[] tail, boolean ifAbsent) {
        return Mono.defer(() -> {
            synchronized (this) {
                checkOpen();
            }
            return spillFile.adopt(adoption, key, tail, ifAbsent);
        });
    }

    /** As {@link #adoptSpillFile} replacing {@code key} only if it is still version {@code expectedVersion}. */
    Mono<ObjectInfo> adoptSpillFileIfMatch(FileAdoption adoption, String key, byte[] tail, String expectedVersion) {
        return Mono.defer(() -> {
            synchronized (this) {
                checkOpen();
            }
            return spillFile.adoptIfMatch(adoption, key, tail, expectedVersion);
        });
    }

    /**
     * The data region of this layer: every spilled block in file order, read from the spill file in
     * pieces of at most 1 MiB on the I/O scheduler. Buffers are owned by the subscriber.
     */
    Flux<ByteBuf> dataRegion() {
        return Flux.defer(this::dataRegionNow);
    }
    private Flux<ByteBuf> dataRegionNow() {
        List<SpillFile.Range> ranges = new ArrayList<>();
        synchronized (this) {
            checkOpen();
            for (PendingBlock b : fileOrder()) {
                ranges.add(new SpillFile.Range(b.tempOffset, b.storedSize));
            }
        }
        return spillFile.read(ranges);
    }

    /** What a reader needs to fetch a pending block's bytes (see {@link BlockSource}): the bytes, or a hold on the spill file the reader releases. */
    record BlockRef(long id, byte[] inMemory, TempFile temp, long tempOffset, long storedSize, long uncompressedSize,
            CodecId codec, int crc) {
    }

    /**
     * Resolves a pending block for a reader, under the monitor: an in-memory block yields a copy of
     * bytes {@code [from, to)}; a spilled one a retained reference to the spill file, which the
     * reader must release.
     */
    private BlockRef blockForRead(long id, long from, long to) {
        checkOpen();
        PendingBlock b = blocks.get((int) id);
        if (b.raw != null) {
            byte[] copy = new byte[(int) (to - from)];
            b.raw.getBytes(b.raw.readerIndex() + (int) from, copy);
            return new BlockRef(id, copy, null, 0, 0, 0, null, 0);
        }
        return new BlockRef(id, null, spillFile.retainedIfExists(), b.tempOffset, b.storedSize, b.uncompressedSize, b.codec,
                b.crc);
    }

    synchronized long bytesInMemory() {
        long n = 0;
        for (PendingBlock b : blocks) {
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
        for (PendingBlock b : blocks) {
            if (b.raw != null) {
                b.raw.release();
                b.raw = null;
            }
        }
        packer.clearOpen();
        spillFile.release();
    }
}
