package dev.atlas.array;

import dev.atlas.error.CorruptFileException;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.ChunkAddress;
import dev.atlas.internal.format.Checksums;
import dev.atlas.internal.format.MergedView;
import dev.atlas.internal.nd.GridCoord;
import dev.atlas.storage.ObjectInfo;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Plans a region read against one snapshot: which block holds each stored chunk of the region
 * (the pending layer first, then the committed layers newest first), grouped so that each block
 * is fetched once. Chunks no layer stores are left out (they read as fill).
 */
final class ReadPlanner {
    private ReadPlanner() {
    }

    /**
     * One block to fetch and the chunks to take from it. Committed: {@code object} and
     * {@code meta} name the block ({@code base} when it is in the base object). Pending:
     * {@code pending} holds the block's bytes or a hold on the spill file, dropped by
     * {@link #release()} (idempotent). {@code checksums}: the committed layer's checksum record
     * the stored bytes are checked against (null: none to check).
     */
    record BlockRead(String file, List<long[]> coords, List<ChunkAddress> addresses, ObjectInfo object, BlockMeta meta,
            boolean base, PendingLayer.BlockRef pending, AtomicBoolean released, Checksums.Layer checksums) {

        void release() {
            if (pending != null && pending.temp() != null && released.compareAndSet(false, true)) {
                pending.temp().release();
            }
        }
    }

    /** The blocks of one region read, planned in base epoch {@code epoch}; {@link #release()} once the read ends. */
    record ReadPlan(List<BlockRead> reads, long epoch) {

        /** Chunks of the region some layer stores (each is planned once, from its newest layer). */
        long storedChunks() {
            long n = 0;
            for (BlockRead r : reads) {
                n += r.coords().size();
            }
            return n;
        }

        void release() {
            reads.forEach(BlockRead::release);
        }
    }

    /** A committed chunk of the plan: its coordinates and where it is stored. */
    private record CommittedChunk(long[] coord, MergedView.ChunkSource source) {
    }

    static ReadPlan plan(Snapshot s, long epoch, Snapshot.Resolved a, long[] start, long[] shape) {
        return plan(s, epoch, a, start, shape, Set.of());
    }

    /** Plans the blocks to fetch for a region, leaving out the pending chunks in {@code skipPending}. */
    static ReadPlan plan(Snapshot s, long epoch, Snapshot.Resolved a, long[] start, long[] shape, Set<GridCoord> skipPending) {
        List<BlockRead> reads = new ArrayList<>();
        Map<String, List<CommittedChunk>> groups = new LinkedHashMap<>();
        MergedView.VisibleArray committed = a.committed();
        PendingLayer p = s.pending();
        try {
            if (p != null && a.pending() != null) {
                PendingLayer.PendingChunks pc = p.chunksIn(a.pending(), a.grid(), start, shape, skipPending,
                        committed != null);
                String what = "pending layer of " + s.committed().layers().get(0).object().key();
                for (PendingLayer.PendingRead r : pc.reads()) {
                    reads.add(new BlockRead(what, r.coords(), r.addresses(), null, null, false, r.ref(),
                            new AtomicBoolean(), null));
                }
                if (committed != null) {
                    for (long[] c : pc.notPending()) {
                        addCommitted(groups, committed, c);
                    }
                }
            } else if (committed != null) {
                a.grid().forEachChunkIn(start, shape, c -> addCommitted(groups, committed, c.clone()));
            }
            for (List<CommittedChunk> g : groups.values()) {
                reads.add(committedRead(s, a, g));
            }
        } catch (RuntimeException e) {
            reads.forEach(BlockRead::release);
            throw e;
        }
        return new ReadPlan(reads, epoch);
    }

    /**
     * A committed block of a cross-dataset plan: the read (its chunks, in one list whatever
     * dataset they belong to) and, for its {@code k}th chunk, the dataset index {@code datasets[k]}.
     */
    record SharedBlock(BlockRead read, int[] datasets) {
    }

    /**
     * One read of the same region of one array name in many datasets (the entries of one file set),
     * planned once against one snapshot: every committed block any dataset needs, each listed once
     * with all the chunks taken from it, in file order (object, then offset); {@code needsFill[i]}
     * when some chunk of dataset {@code i}'s region is stored nowhere.
     */
    record AcrossPlan(List<SharedBlock> blocks, boolean[] needsFill, long epoch) {
    }

    /** Where a chunk's block is: the layer (index in the stack) and the block id. */
    private record BlockKey(int layer, long blockId) {
    }

    /** The chunks one block gives a cross-dataset plan, in the order they were planned. */
    private static final class SharedGroup {
        final List<long[]> coords = new ArrayList<>(4);
        final List<ChunkAddress> addresses = new ArrayList<>(4);
        int[] datasets = new int[4];
        final int layer;
        final long blockId;

        SharedGroup(int layer, long blockId) {
            this.layer = layer;
            this.blockId = blockId;
        }

        void add(int dataset, long[] coord, ChunkAddress address) {
            int k = coords.size();
            if (k == datasets.length) {
                datasets = Arrays.copyOf(datasets, k * 2);
            }
            datasets[k] = dataset;
            coords.add(coord);
            addresses.add(address);
        }
    }

    /**
     * Plans region {@code [start, start + shape)} of {@code arrays[i]} for every {@code i} whose
     * entry is not null (committed arrays: a dataset with a pending entry is read on its own) in
     * one pass: each stored chunk resolved in the merged view, grouped by block across datasets,
     * so a block several datasets need is fetched and decoded once. The regions must lie inside the
     * arrays (checked by the caller).
     *
     * @throws CorruptFileException when a chunk names a block its layer does not have
     */
    static AcrossPlan planAcross(Snapshot s, long epoch, Snapshot.Resolved[] arrays, long[] start, long[] shape) {
        Map<BlockKey, SharedGroup> groups = new java.util.HashMap<>();
        boolean[] needsFill = new boolean[arrays.length];
        long[] stored = new long[1];
        for (int i = 0; i < arrays.length; i++) {
            Snapshot.Resolved a = arrays[i];
            if (a == null) {
                continue;
            }
            MergedView.VisibleArray committed = a.committed();
            int dataset = i;
            stored[0] = 0;
            a.grid().forEachChunkIn(start, shape, c -> {
                MergedView.ChunkSource src = committed.chunks().get(GridCoord.of(c));
                if (src != null) {
                    stored[0]++;
                    groups.computeIfAbsent(new BlockKey(src.layer(), src.address().blockId()),
                            k -> new SharedGroup(k.layer(), k.blockId())).add(dataset, c.clone(), src.address());
                }
            });
            needsFill[i] = stored[0] < a.grid().chunkCountIn(start, shape);
        }
        List<SharedBlock> blocks = new ArrayList<>(groups.size());
        for (SharedGroup g : groups.values()) {
            LayerStack.Layer layer = s.committed().layers().get(g.layer);
            BlockMeta b = layer.blocks().get(g.blockId);
            if (b == null) {
                throw new CorruptFileException(layer.object().key(), "chunk " + Arrays.toString(g.coords.get(0))
                        + " of dataset #" + g.datasets[0] + " refers to missing block " + g.blockId);
            }
            BlockRead r = new BlockRead(layer.object().key(), g.coords, g.addresses, layer.object(), b, g.layer == 0, null,
                    null, layer.checksums());
            blocks.add(new SharedBlock(r, Arrays.copyOf(g.datasets, g.coords.size())));
        }
        blocks.sort((x, y) -> {
            int c = x.read().file().compareTo(y.read().file());
            return c != 0 ? c : Long.compare(x.read().meta().fileOffset(), y.read().meta().fileOffset());
        });
        return new AcrossPlan(blocks, needsFill, epoch);
    }

    private static void addCommitted(Map<String, List<CommittedChunk>> groups, MergedView.VisibleArray a, long[] c) {
        MergedView.ChunkSource src = a.chunks().get(GridCoord.of(c));
        if (src != null) {
            groups.computeIfAbsent(src.layer() + "/" + src.address().blockId(), k -> new ArrayList<>())
                    .add(new CommittedChunk(c, src));
        }
    }

    private static BlockRead committedRead(Snapshot s, Snapshot.Resolved a, List<CommittedChunk> g) {
        MergedView.ChunkSource first = g.get(0).source();
        LayerStack.Layer layer = s.committed().layers().get(first.layer());
        BlockMeta b = layer.blocks().get(first.address().blockId());
        if (b == null) {
            throw new CorruptFileException(layer.object().key(), "array '" + a.name() + "' chunk "
                    + Arrays.toString(g.get(0).coord()) + " refers to missing block " + first.address().blockId());
        }
        List<long[]> coords = new ArrayList<>(g.size());
        List<ChunkAddress> addrs = new ArrayList<>(g.size());
        for (CommittedChunk c : g) {
            coords.add(c.coord());
            addrs.add(c.source().address());
        }
        return new BlockRead(layer.object().key(), coords, addrs, layer.object(), b, first.layer() == 0, null, null,
                layer.checksums());
    }
}
