package dev.atlas.array;

import dev.atlas.format.ArrayStats;
import dev.atlas.internal.format.ChunkCodec;
import dev.atlas.format.DType;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.LayerNames;
import dev.atlas.internal.format.StatsFile;
import dev.atlas.internal.format.StatsKernel;
import dev.atlas.internal.format.Trailer;
import dev.atlas.internal.nd.ChunkGrid;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import reactor.core.publisher.Flux;
import dev.atlas.storage.ObjectInfo;
import reactor.core.publisher.Mono;

/**
 * Keeps the statistics of the committed state: computes an array's statistics from its chunks
 * (taking pending chunks' statistics from when they were written), works out the table after a
 * commit, and writes the stats object stamped with the layer stack it describes.
 */
final class StatsMaintainer {
    private final OpenFileSet state;
    private final BlockSource source;

    StatsMaintainer(OpenFileSet state, BlockSource source) {
        this.state = state;
        this.source = source;
    }

    /** Adds one chunk of {@code n} elements to {@code acc}: fixed-width bytes checked, variable-length ones decoded. */
    static void addChunk(StatsKernel.Accumulator acc, DType dtype, ByteBuffer chunk, long n, Supplier<String> what) {
        if (dtype.elementSize() > 0) {
            ChunkCodec.checkFixed(dtype, chunk.remaining(), n, what);
            acc.addFixed(chunk, n);
        } else {
            acc.addVarLen(RegionAssembler.decodeVarLen(dtype, chunk, n, what.get()));
        }
    }

    /** The statistics of array {@code name} in snapshot {@code s} (pending changes included). */
    Mono<ArrayStats> compute(Snapshot s, long epoch, String name) {
        Snapshot.Resolved a = state.visible(s, name);
        ChunkGrid grid = a.grid();
        DType dtype = a.schema().dtype();
        long[] shape = grid.shape();
        StatsKernel.Accumulator total = StatsKernel.accumulator(dtype, a.schema().fillValue());
        // Pending chunks whose statistics were taken at write time are not read back.
        PendingManifest.ReadyStats ready = s.pending() != null && a.pending() != null ? s.pending().readyStats(a.pending())
                : PendingManifest.ReadyStats.NONE;
        ready.accumulators().forEach(total::merge);
        ReadPlanner.ReadPlan plan = ReadPlanner.plan(s, epoch, a, new long[shape.length], shape, ready.chunks());
        return Flux.fromIterable(plan.reads())
                .flatMap(r -> source.fetch(r, plan.epoch()).map(blk -> {
                    try {
                        StatsKernel.Accumulator acc = StatsKernel.accumulator(dtype, a.schema().fillValue());
                        RegionAssembler.forEachChunk(r, blk, i -> name,
                                (i, coord, chunk, at, what) -> addChunk(acc, dtype, chunk, grid.chunkElementCount(coord), what));
                        return acc;
                    } finally {
                        blk.release();
                    }
                }), state.options.readConcurrency())
                .doOnNext(acc -> {
                    synchronized (total) {
                        total.merge(acc);
                    }
                })
                .then(Mono.fromCallable(() -> {
                    synchronized (total) {
                        return total.finish(name, shape);
                    }
                }))
                .doFinally(sig -> plan.release());
    }

    /**
     * The stats table after committing {@code p}: arrays it deleted are dropped, arrays it defined or
     * wrote are recomputed; when the loaded table is not known to be current, every array is.
     */
    Mono<Map<String, ArrayStats>> after(Snapshot s, PendingLayer p) {
        LayerStack c = s.committed();
        boolean all = c.statsStatus() != ArrayFile.StatsStatus.CURRENT;
        List<String> names = new ArrayList<>();
        Map<String, ArrayStats> base0 = new LinkedHashMap<>();
        if (!all) {
            base0.putAll(c.stats());
            for (PendingManifest.PendingArray e : p.arrays()) {
                if (e.schema() == null || e.buries()) {
                    base0.remove(e.name());
                }
                if (e.schema() != null && (e.fresh() || e.hasChunks())) {
                    names.add(e.name());
                }
            }
        } else {
            names.addAll(s.listArrays());
        }
        return Flux.fromIterable(names)
                .concatMap(name -> compute(s, state.baseEpoch.get(), name), 0)
                .collectList()
                .map(list -> {
                    Map<String, ArrayStats> out = new LinkedHashMap<>(base0);
                    for (ArrayStats st : list) {
                        out.put(st.name(), st);
                    }
                    out.keySet().retainAll(s.listArrays());
                    return out;
                });
    }

    /** Writes the stats file of {@code c} (stamped with its stack). */
    Mono<Void> write(LayerStack c) {
        return Mono.defer(() -> {
            // Crate 0.10 reads unversioned stats: a file set kept at footer v4 keeps that layout too.
            int version = state.options.footerVersion() == Footer.VERSION_V4 ? StatsFile.UNVERSIONED : StatsFile.VERSION_V1;
            StatsFile f = new StatsFile(version, new ArrayList<>(c.stats().values()));
            byte[] bytes = Trailer.statsFile(f, c.stamp());
            state.statsFileStale = true;
            // Compare-and-swap against the stats object this handle last saw: another writer's newer
            // statistics are never overwritten with ours; the next flush (which refreshes first)
            // writes statistics of the newest stack instead.
            String key = LayerNames.stats(state.stem);
            ObjectInfo seen = state.statsObject;
            Mono<ByteBuf> body = Mono.fromSupplier(() -> Unpooled.wrappedBuffer(bytes));
            Mono<ObjectInfo> put = seen == null ? state.storage.putIfAbsent(key, body) : state.storage.putIfMatch(key, seen.version(), body);
            return put
                    .doOnSuccess(info -> {
                        state.statsObject = info;
                        state.statsContent = new Trailer.StampedStats(f, c.stamp());
                        state.statsFileStale = false;
                    })
                    .then()
                    .onErrorResume(e -> e instanceof dev.atlas.error.ObjectChangedException
                            || e instanceof dev.atlas.error.AlreadyExistsException, e -> Mono.empty())
                    .onErrorMap(e -> !(e instanceof ArrayFile.StaleStatsWriteException),
                            e -> new ArrayFile.StaleStatsWriteException(state.base, e));
        });
    }

    /** Recomputes every array's statistics from the committed layers, publishes and writes them (a mutation). */
    Mono<Void> refresh() {
        return Mono.defer(() -> {
            Snapshot committedOnly = state.snapshot.committedOnly();
            List<String> names = new ArrayList<>(committedOnly.committed().view().arrays().keySet());
            return Flux.fromIterable(names).concatMap(n -> compute(committedOnly, state.baseEpoch.get(), n), 0).collectList()
                    .flatMap(list -> {
                        Map<String, ArrayStats> m = new LinkedHashMap<>();
                        list.forEach(st -> m.put(st.name(), st));
                        LayerStack c = committedOnly.committed().withStats(m);
                        state.publish(cur -> new Snapshot(c, cur.pending()));
                        return write(c);
                    });
        });
    }
}
