package dev.atlas.array;

import dev.atlas.error.CorruptFileException;
import dev.atlas.format.ArrayStats;
import dev.atlas.internal.format.Attributes;
import dev.atlas.internal.format.BlockMeta;
import dev.atlas.internal.format.ChunkAddress;
import dev.atlas.format.DType;
import dev.atlas.internal.format.LayerNames;
import dev.atlas.internal.format.MergedView;
import dev.atlas.internal.format.StatsKernel;
import dev.atlas.internal.nd.GridCoord;
import dev.atlas.storage.ObjectInfo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Merges every committed layer into a new base: copies each visible chunk once (grouped by the
 * block it lives in, so each block is fetched once), taking the statistics on the way, writes the
 * base through {@link LayerCommitter}, publishes it inside an odd base epoch, then deletes the
 * absorbed sidecars.
 */
final class Compactor {
    private final OpenFileSet state;
    private final BlockSource source;
    private final LayerCommitter committer;
    private final StatsMaintainer stats;

    Compactor(OpenFileSet state, BlockSource source, LayerCommitter committer, StatsMaintainer stats) {
        this.state = state;
        this.source = source;
        this.committer = committer;
        this.stats = stats;
    }

    /** One visible chunk to copy: its array, coordinates and where it is stored. */
    private record VisibleChunk(MergedView.VisibleArray array, long[] coord, MergedView.ChunkSource source) {
    }

    /** The chunks of one committed block to copy, as a read of that block. */
    private record BlockCopy(ReadPlanner.BlockRead read, List<VisibleChunk> chunks) {
    }

    /**
     * Compacts the committed layers (call inside a mutation, after a flush), unless another writer
     * is committing a layer to this file set: a sidecar no commit counts yet, numbered above the
     * committed ones and younger than {@code inFlightAge}, is a flush in progress, and a base
     * that absorbed the numbers around it could strand it; then compaction yields.
     *
     * @return whether it compacted (false: it yielded)
     */
    Mono<Boolean> compact(java.time.Duration inFlightAge) {
        return state.refresh(true).then(Mono.defer(() -> {
            LayerStack c = state.snapshot.committed();
            java.time.Instant young = java.time.Instant.now().minus(inFlightAge);
            for (ObjectInfo o : state.uncommitted) {
                if (o.modified() == null || o.modified().isAfter(young)) {
                    LOG.info("not compacting {}: {} is another writer's flush in progress", state.base, o.key());
                    return Mono.just(false);
                }
            }
            return compact(c).thenReturn(true);
        }));
    }

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Compactor.class);

    private Mono<Void> compact(LayerStack c) {
        PendingLayer out = committer.newPendingLayer(1);
        Map<String, List<VisibleChunk>> byBlock = new LinkedHashMap<>();
        Map<String, StatsKernel.Accumulator> accs = new LinkedHashMap<>();
        Map<String, PendingManifest.Entry> entries = new HashMap<>();
        for (MergedView.VisibleArray a : c.view().arrays().values()) {
            PendingManifest.Entry e = out.define(a.meta().withChunks(List.of()).withAttributes(Attributes.EMPTY), null);
            a.attributes().forEach(kv -> out.setAttribute(e, kv.getKey(), kv.getValue()));
            entries.put(a.name(), e);
            accs.put(a.name(), StatsKernel.accumulator(a.meta().dtype(), a.meta().fillValue()));
            for (Map.Entry<GridCoord, MergedView.ChunkSource> ch : a.chunks().entrySet()) {
                MergedView.ChunkSource src = ch.getValue();
                byBlock.computeIfAbsent(src.layer() + "/" + src.address().blockId(), k -> new ArrayList<>())
                        .add(new VisibleChunk(a, ch.getKey().toArray(), src));
            }
        }
        List<BlockCopy> copies = new ArrayList<>(byBlock.size());
        for (List<VisibleChunk> g : byBlock.values()) {
            MergedView.ChunkSource first = g.get(0).source();
            LayerStack.Layer layer = c.layers().get(first.layer());
            BlockMeta b = layer.blocks().get(first.address().blockId());
            if (b == null) {
                out.release();
                return Mono.error(new CorruptFileException(layer.object().key(), "a chunk refers to missing block "
                        + first.address().blockId()));
            }
            List<long[]> coords = new ArrayList<>(g.size());
            List<ChunkAddress> addrs = new ArrayList<>(g.size());
            g.forEach(v -> {
                coords.add(v.coord());
                addrs.add(v.source().address());
            });
            copies.add(new BlockCopy(new ReadPlanner.BlockRead(layer.object().key(), coords, addrs, layer.object(), b,
                    first.layer() == 0, null, new AtomicBoolean(), layer.checksums()), g));
        }
        long absorbedUpTo = c.lastNumber();
        Mono<Void> copy = Flux.fromIterable(copies)
                .flatMap(bc -> source.fetchUncached(bc.read()).flatMap(blk -> {
                    List<PendingBlock> sealed = new ArrayList<>();
                    try {
                        RegionAssembler.forEachChunk(bc.read(), blk, i -> bc.chunks().get(i).array().name(),
                                (i, coord, chunk, at, what) -> {
                            MergedView.VisibleArray a = bc.chunks().get(i).array();
                            DType dtype = a.meta().dtype();
                            StatsKernel.Accumulator acc = StatsKernel.accumulator(dtype, a.meta().fillValue());
                            StatsMaintainer.addChunk(acc, dtype, chunk, a.grid().chunkElementCount(coord), what);
                            StatsKernel.Accumulator total = accs.get(a.name());
                            synchronized (total) {
                                total.merge(acc);
                            }
                            PendingLayer.Staged st = out.stage(PendingLayer.ANY_EPOCH, List.of(chunk), a.name());
                            out.publish(PendingLayer.ANY_EPOCH, entries.get(a.name()), List.of(coord), st.addresses());
                            sealed.addAll(st.sealed());
                        });
                    } catch (PendingLayer.ReleasedException cancelled) {
                        return Mono.empty(); // the compaction failed or was cancelled meanwhile
                    } catch (RuntimeException e) {
                        return Mono.error(e);
                    } finally {
                        blk.release();
                    }
                    return out.spill(sealed);
                }), state.options.readConcurrency())
                .then();
        String baseKey = state.base;
        return copy.then(Mono.defer(() -> out.spill(out.sealAll()))).then(Mono.defer(() -> {
            LayerCommitter.SealedLayer sl = committer.seal(out, absorbedUpTo, "", baseKey);
            MergedView newView = MergedView.of(List.of(sl.footer()), baseKey);
            List<ObjectInfo> garbage = new ArrayList<>(c.absorbed());
            for (LayerStack.Layer l : c.layers()) {
                if (l.number() > 0) {
                    garbage.add(l.object());
                }
            }
            garbage.sort(Comparator.comparingLong(o -> LayerNames.sidecarNumber(state.stem, o.key())));
            Map<String, ArrayStats> table = new LinkedHashMap<>();
            for (MergedView.VisibleArray a : c.view().arrays().values()) {
                table.put(a.name(), accs.get(a.name()).finish(a.name(), a.grid().shape()));
            }
            return Mono.fromRunnable(state.baseEpoch::incrementAndGet)
                    .then(committer.replaceBase(out, c.layers().get(0).object(), sl.tail()))
                    .map(info -> {
                        // Publish the new snapshot, then turn the epoch even again: before anything
                        // downstream (or the caller, once compact() completes) can plan a read.
                        LayerStack nc = new LayerStack(List.of(sl.layer(info, 0)), newView, Collections.unmodifiableMap(table),
                                ArrayFile.StatsStatus.CURRENT, List.copyOf(garbage), absorbedUpTo);
                        state.publish(cur -> new Snapshot(nc, cur.pending()));
                        state.options.caches().invalidateOtherVersions(state.storage, baseKey, info.version());
                        state.baseEpoch.incrementAndGet();
                        return nc;
                    })
                    // A failed or cancelled replacement: the epoch turns even here.
                    .doFinally(sig -> {
                        if (state.baseEpoch.get() % 2 != 0) {
                            state.baseEpoch.incrementAndGet();
                        }
                    })
                    .flatMap(nc -> stats.write(nc).then(committer.deleteAbsorbed()));
        })).doFinally(sig -> out.release());
    }
}
