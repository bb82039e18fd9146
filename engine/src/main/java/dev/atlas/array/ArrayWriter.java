package dev.atlas.array;

import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.format.AttributeValue;
import dev.atlas.internal.format.Attributes;
import dev.atlas.internal.format.ChunkCodec;
import dev.atlas.internal.format.ChunkAddress;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.format.MergedView;
import dev.atlas.internal.format.StatsKernel;
import dev.atlas.internal.nd.ChunkGrid;
import dev.atlas.internal.nd.Overlap;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The mutations that change the pending layer: define, delete, attributes, region writes (whole
 * chunks copied straight into the open block, partly covered ones read, patched and rewritten)
 * and streamed writes, whose bands {@link SlabGatherer} gathers. Each public entry runs as one
 * mutation of the handle.
 */
final class ArrayWriter {
    private final OpenFileSet state;
    private final RegionAssembler reader;
    private final LayerCommitter committer;
    /** Streamed bands written as blocks without a copy (see {@link #writeWholeChunks}). */
    private final LongAdder chunkMajorBands = new LongAdder();

    ArrayWriter(OpenFileSet state, RegionAssembler reader, LayerCommitter committer) {
        this.state = state;
        this.reader = reader;
        this.committer = committer;
    }

    /** How many streamed bands were laid out chunk-major and became blocks without a copy. */
    long chunkMajorBands() {
        return chunkMajorBands.sum();
    }

    /** The pending layer, created on first use (call inside a mutation). */
    private PendingLayer pendingForWrite() {
        Snapshot s = state.snapshot;
        if (s.pending() != null) {
            return s.pending();
        }
        PendingLayer p = committer.newPendingLayer(state.options.writeConcurrency());
        state.publish(cur -> new Snapshot(cur.committed(), p));
        return p;
    }

    private PendingManifest.Entry entryForWrite(Snapshot.Resolved r) {
        if (r.pending() != null) {
            return r.pending();
        }
        Map<String, AttributeValue> attrs = new LinkedHashMap<>();
        r.attributes().forEach(e -> attrs.put(e.getKey(), e.getValue()));
        return pendingForWrite().copy(r.schema(), attrs);
    }

    Mono<Void> define(String name, ArraySpec spec) {
        return state.mutation(() -> Mono.fromRunnable(() -> {
            if (name == null || name.isEmpty()) {
                throw new InvalidArgumentException("array name must not be empty");
            }
            Snapshot s = state.snapshot;
            if (s.resolve(name) != null) {
                throw new AlreadyExistsException("array '" + name + "' already exists in " + state.base);
            }
            MergedView.VisibleArray c = s.committed().view().array(name);
            ArrayMeta schema = new ArrayMeta(name, spec.dtype(), spec.shape(), spec.dimensionNames(), spec.chunkShape(),
                    List.of(), spec.fill(), false, Attributes.EMPTY);
            pendingForWrite().define(schema, c == null ? null : c.meta());
        }));
    }

    Mono<Void> delete(String name) {
        return state.mutation(() -> Mono.fromRunnable(() -> {
            Snapshot s = state.snapshot;
            state.visible(s, name);
            MergedView.VisibleArray c = s.committed().view().array(name);
            pendingForWrite().delete(name, c == null ? null : c.meta());
        }));
    }

    Mono<Void> setAttribute(String name, String key, AttributeValue value) {
        return state.mutation(() -> Mono.fromRunnable(() -> {
            if (key == null || value == null) {
                throw new InvalidArgumentException("attribute key and value must not be null");
            }
            if (state.options.footerVersion() == Footer.VERSION_V4 && !value.kind().inFooterV4()) {
                throw new InvalidArgumentException("footer v4 cannot hold attribute variant " + value.kind().displayName());
            }
            PendingManifest.Entry e = entryForWrite(state.visible(state.snapshot, name));
            pendingForWrite().setAttribute(e, key, value);
        }));
    }

    /** Writes {@code data} (not released) into the region at {@code start}, as one mutation. */
    Mono<Void> write(String name, long[] start, NdArray data) {
        return state.mutation(() -> Mono.defer(() -> {
            Snapshot s = state.snapshot;
            Snapshot.Resolved r = state.visible(s, name);
            DType dtype = r.schema().dtype();
            if (!dtype.equals(data.dtype())) {
                throw new DTypeMismatchException(name, dtype, data.dtype());
            }
            long[] shape = data.shape();
            RegionAssembler.checkRegion(name, r.grid(), start, shape);
            if (ChunkGrid.product(shape) == 0) {
                return Mono.empty();
            }
            if (dtype.elementSize() > 0 && data.buffer() == null) {
                throw new InvalidArgumentException("fixed-width data without a buffer");
            }
            List<long[]> coords = new ArrayList<>();
            r.grid().forEachChunkIn(start, shape, c -> coords.add(c.clone()));
            PendingManifest.Entry entry = entryForWrite(r);
            PendingLayer p = pendingForWrite();
            long epoch = p.writerEpoch();
            List<ChunkAddress> staged = new ArrayList<>(coords.size());
            List<ChunkStats> stats = new ArrayList<>(coords.size());
            ChunkGrid grid = r.grid();
            FillValue fillValue = r.schema().fillValue();
            // A cancelled write fences itself off: its late stage/publish calls are refused, so
            // nothing of it lands after the gate has moved on to the next mutation.
            return Flux.fromIterable(coords)
                    .concatMap(c -> coversChunk(grid, c, start, shape) && dtype.elementSize() > 0
                            ? Mono.defer(() -> {
                                // A whole fixed-width chunk: copied from the data straight into the
                                // open block; its statistics are taken from there by the codec thread
                                // that compresses the block, so this thread only copies.
                                long[] origin = grid.chunkOrigin(c);
                                long[] extent = grid.chunkExtent(c);
                                long n = ChunkGrid.product(extent);
                                int w = (int) dtype.elementSize();
                                int len = Math.toIntExact(n * w);
                                ByteBuf src = data.buffer();
                                int srcBase = src.readerIndex();
                                PendingLayer.Staged st = p.stageInto(epoch, len, (dst, at) -> Overlap.forEachRun(origin, extent,
                                        start, shape, (to, ro, runLen) -> dst.setBytes(at + (int) (to * w), src,
                                                srcBase + (int) (ro * w), (int) (runLen * w))),
                                        StatsKernel.accumulator(dtype, fillValue), n, stats, entry);
                                staged.add(st.addresses().get(0));
                                return p.spillAhead(st.sealed());
                            })
                            : encodeChunk(r, c, start, data)
                            .flatMap(bytes -> {
                                stats.add(ChunkStats.of(chunkStats(dtype, fillValue, bytes, grid.chunkElementCount(c))));
                                PendingLayer.Staged st = p.stage(epoch, List.of(bytes), entry);
                                staged.add(st.addresses().get(0));
                                return p.spillAhead(st.sealed());
                            }), 0)
                    .then(Mono.<Void>fromRunnable(() -> p.publish(epoch, entry, coords, staged, stats)))
                    .doOnCancel(p::fence);
        }));
    }

    /** Streams {@code slabs} (each consumed) along axis 0 from {@code start}; emits the rows written. */
    Mono<Long> writeStreamed(String name, long[] start, Publisher<NdArray> slabs) {
        return Mono.defer(() -> {
            Snapshot.Resolved r = state.visible(state.snapshot, name);
            DType dtype = r.schema().dtype();
            ChunkGrid grid = r.grid();
            if (dtype.elementSize() <= 0) {
                throw new InvalidArgumentException("streamed writes need a fixed-width dtype; array '" + name + "' is " + dtype);
            }
            if (start.length != grid.rank() || grid.rank() == 0) {
                throw new InvalidArgumentException("array '" + name + "' has rank " + grid.rank() + ", start "
                        + Arrays.toString(start) + " does not (or the array is a scalar)");
            }
            SlabGatherer st = new SlabGatherer(name, dtype, grid, start.clone(), state.options.resources().allocator());
            return Flux.from(slabs)
                    .concatMap(slab -> {
                        List<SlabGatherer.Band> full;
                        try {
                            full = st.accept(slab);
                        } finally {
                            slab.close();
                        }
                        return Flux.fromIterable(full).concatMap(this::writeBand, 0);
                    }, 0)
                    .thenMany(Flux.defer(() -> Flux.fromIterable(st.finish())).concatMap(this::writeBand, 0))
                    .then(Mono.fromSupplier(st::rows))
                    .doOnDiscard(NdArray.class, NdArray::close)
                    .doFinally(sig -> st.release());
        });
    }

    private Mono<Void> writeBand(SlabGatherer.Band b) {
        return Mono.defer(() -> b.chunks() == null ? write(b.name(), b.start(), b.data()) : writeWholeChunks(b))
                .doFinally(sig -> b.data().close());
    }

    /**
     * Writes a band of whole chunks already laid out chunk after chunk, as blocks that hold slices
     * of the band (no copy). Checks that the array still has the grid the band was laid out for.
     */
    private Mono<Void> writeWholeChunks(SlabGatherer.Band b) {
        return state.mutation(() -> Mono.defer(() -> {
            chunkMajorBands.increment();
            Snapshot.Resolved r = state.visible(state.snapshot, b.name());
            DType dtype = r.schema().dtype();
            if (!dtype.equals(b.data().dtype()) || !Arrays.equals(r.grid().shape(), b.grid().shape())
                    || !Arrays.equals(r.grid().chunkShape(), b.grid().chunkShape())) {
                throw new InvalidArgumentException("array '" + b.name() + "' was redefined during the streamed write");
            }
            PendingManifest.Entry entry = entryForWrite(r);
            PendingLayer p = pendingForWrite();
            long epoch = p.writerEpoch();
            FillValue fill = r.schema().fillValue();
            List<ChunkStats> stats = new ArrayList<>(b.chunks().size());
            PendingLayer.Staged st = p.adopt(epoch, b.data().buffer(), b.lengths(), b.counts(),
                    () -> StatsKernel.accumulator(dtype, fill), stats, entry);
            return p.spillAhead(st.sealed())
                    .then(Mono.<Void>fromRunnable(() -> p.publish(epoch, entry, b.chunks(), st.addresses(), stats)))
                    .doOnCancel(p::fence);
        }));
    }

    /** Statistics of one encoded chunk (fixed-width: one pass over bytes still in cache); null when not kept. */
    private static StatsKernel.Accumulator chunkStats(DType dtype, FillValue fill, ByteBuffer encoded, long n) {
        if (dtype.elementSize() <= 0) {
            return null; // var-len chunks are decoded when statistics are due
        }
        return StatsKernel.accumulator(dtype, fill).addFixed(encoded.duplicate(), n);
    }

    /** Whether the region {@code start + shape} covers chunk {@code coord} whole. */
    private static boolean coversChunk(ChunkGrid grid, long[] coord, long[] start, long[] shape) {
        long[] origin = grid.chunkOrigin(coord);
        long[] extent = grid.chunkExtent(coord);
        for (int i = 0; i < origin.length; i++) {
            if (start[i] > origin[i] || origin[i] + extent[i] > start[i] + shape[i]) {
                return false;
            }
        }
        return true;
    }

    /** The encoded bytes of one chunk after writing the data's part of it (read-modify-write when partly covered). */
    private Mono<ByteBuffer> encodeChunk(Snapshot.Resolved r, long[] coord, long[] start, NdArray data) {
        ChunkGrid grid = r.grid();
        long[] origin = grid.chunkOrigin(coord);
        long[] extent = grid.chunkExtent(coord);
        DType dtype = r.schema().dtype();
        if (coversChunk(grid, coord, start, data.shape())) {
            return Mono.fromCallable(() -> patch(dtype, ChunkGrid.product(extent), null, origin, extent, start, data));
        }
        return reader.read(state.snapshot, state.baseEpoch.get(), r, origin, extent).map(current -> {
            try {
                return patch(dtype, ChunkGrid.product(extent), current, origin, extent, start, data);
            } finally {
                current.close();
            }
        });
    }

    private static ByteBuffer patch(DType dtype, long n, NdArray current, long[] origin, long[] extent, long[] start,
            NdArray data) {
        long[] dataShape = data.shape();
        if (dtype.elementSize() > 0) {
            int w = (int) dtype.elementSize();
            byte[] out = new byte[Math.toIntExact(n * w)];
            if (current != null) {
                current.buffer().getBytes(current.buffer().readerIndex(), out);
            }
            ByteBuf src = data.buffer();
            int base = src.readerIndex();
            Overlap.forEachRun(origin, extent, start, dataShape,
                    (to, ro, len) -> src.getBytes(base + (int) (ro * w), out, (int) (to * w), (int) (len * w)));
            return ByteBuffer.wrap(out);
        }
        List<byte[]> elems = new ArrayList<>(current != null ? current.varLenElements() : Collections.nCopies((int) n, (byte[]) null));
        List<byte[]> src = data.varLenElements();
        Overlap.forEachRun(origin, extent, start, dataShape, (to, ro, len) -> {
            for (int k = 0; k < len; k++) {
                elems.set((int) (to + k), src.get((int) (ro + k)));
            }
        });
        try {
            return ByteBuffer.wrap(ChunkCodec.encodeVarLen(elems));
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException(e.getMessage());
        }
    }
}
