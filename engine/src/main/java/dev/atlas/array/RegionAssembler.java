package dev.atlas.array;

import dev.atlas.error.ClosedHandleException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.internal.format.ChunkAddress;
import dev.atlas.internal.format.ChunkCodec;
import dev.atlas.format.DType;
import dev.atlas.internal.format.Fill;
import dev.atlas.internal.nd.ChunkGrid;
import dev.atlas.internal.nd.GridCoord;
import dev.atlas.internal.nd.Overlap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.IntFunction;
import java.util.function.Supplier;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Assembles a planned region from its blocks: into one destination buffer (fixed width), a list of
 * elements (variable length) or one fragment per chunk. Every output walks the chunks of a fetched
 * block through the one visitor {@link #forEachChunk}.
 */
final class RegionAssembler {
    private final BlockSource source;
    private final ByteBufAllocator alloc;
    private final int readConcurrency;

    RegionAssembler(BlockSource source, ArrayFileOptions options) {
        this.source = source;
        this.alloc = options.resources().allocator();
        this.readConcurrency = options.readConcurrency();
    }

    /** What one chunk of a fetched block is handed to a visitor as. */
    @FunctionalInterface
    interface ChunkVisitor {
        /**
         * @param chunk the chunk's bytes (a view of the block, valid during the call)
         * @param at the chunk's first byte's index in the block buffer
         * @param what names the chunk in an error (built only then)
         */
        void visit(int i, long[] coord, ByteBuffer chunk, int at, Supplier<String> what);
    }

    /**
     * Hands every chunk {@code r} takes from {@code block} to {@code v} (the {@code i}th with the
     * name {@code arrayOf} gives it, for errors), checking it lies inside the block. {@code block}
     * is not released.
     */
    static void forEachChunk(ReadPlanner.BlockRead r, ByteBuf block, IntFunction<String> arrayOf, ChunkVisitor v) {
        for (int i = 0; i < r.coords().size(); i++) {
            long[] coord = r.coords().get(i);
            ChunkAddress addr = r.addresses().get(i);
            // Built only for an error: this loop runs once per chunk of every read.
            int index = i;
            Supplier<String> what = () -> r.file() + " (array '" + arrayOf.apply(index) + "', chunk " + Arrays.toString(coord) + ")";
            long end = addr.offset() + addr.size();
            if (end > block.readableBytes()) {
                throw new CorruptFileException(what.get(), "chunk at [" + addr.offset() + ", " + end + ") lies outside the "
                        + block.readableBytes() + "-byte block " + addr.blockId());
            }
            int at = block.readerIndex() + (int) addr.offset();
            v.visit(i, coord, block.nioBuffer(at, (int) addr.size()), at, what);
        }
    }

    /** The elements of a variable-length chunk of {@code n} elements. */
    static List<byte[]> decodeVarLen(DType dtype, ByteBuffer chunk, long n, String what) {
        return dtype.kind() == DType.Kind.STRING ? ChunkCodec.decodeUtf8(chunk, n, what) : ChunkCodec.decodeVarLen(chunk, n, what);
    }

    static void checkRegion(String name, ChunkGrid grid, long[] start, long[] shape) {
        if (start.length != grid.rank() || shape.length != grid.rank()) {
            throw new InvalidArgumentException("array '" + name + "' has rank " + grid.rank() + ", region start "
                    + Arrays.toString(start) + " and shape " + Arrays.toString(shape) + " do not");
        }
        for (int i = 0; i < start.length; i++) {
            if (start[i] < 0 || shape[i] < 0 || start[i] > grid.shape(i) - shape[i]) {
                throw new InvalidArgumentException("region [" + Arrays.toString(start) + " + " + Arrays.toString(shape)
                        + ") is outside array '" + name + "' of shape " + Arrays.toString(grid.shape()) + " on axis " + i);
            }
        }
    }

    /** Reads region {@code [start, start + shape)} of {@code a} in snapshot {@code s}: plan, fetch, assemble. */
    Mono<NdArray> read(Snapshot s, long epoch, Snapshot.Resolved a, long[] start, long[] shape) {
        String name = a.name();
        ChunkGrid grid = a.grid();
        checkRegion(name, grid, start, shape);
        DType dtype = a.schema().dtype();
        if (!dtype.isStorable()) {
            return Mono.error(new InvalidArgumentException("array '" + name + "' has dtype " + dtype
                    + ", which has no chunk encoding"));
        }
        long count = ChunkGrid.product(shape);
        ReadPlanner.ReadPlan plan = ReadPlanner.plan(s, epoch, a, start, shape);
        Mono<NdArray> read;
        try {
            read = dtype.elementSize() > 0 ? readFixed(a, start, shape, count, plan) : readVarLen(a, start, shape, count, plan);
        } catch (RuntimeException e) {
            plan.release();
            throw e;
        }
        return read.doFinally(sig -> plan.release());
    }

    /** A planned fragment read: the array, the region and its plan. */
    record FragmentPlan(Snapshot.Resolved array, long[] start, long[] shape, ReadPlanner.ReadPlan plan) {
    }

    /** Plans the fragments of a region of {@code a} in snapshot {@code s}. */
    FragmentPlan planFragments(Snapshot s, long epoch, Snapshot.Resolved a, long[] start, long[] shape) {
        checkRegion(a.name(), a.grid(), start, shape);
        return new FragmentPlan(a, start, shape, ReadPlanner.plan(s, epoch, a, start, shape));
    }

    /**
     * Reads a region of fixed-width {@code a} into {@code target} (not consumed) at byte {@code offset}:
     * checks the dtype and bounds, plans, and fills.
     */
    Mono<Void> readInto(Snapshot s, long epoch, Snapshot.Resolved a, long[] start, long[] shape, ReadTarget target,
            long offset) {
        DType actual = a.schema().dtype();
        if (actual.elementSize() <= 0) {
            return Mono.error(new InvalidArgumentException("array '" + a.name() + "' has variable-length dtype " + actual
                    + "; read it with readArray"));
        }
        checkRegion(a.name(), a.grid(), start, shape);
        long bytes = ChunkGrid.product(shape) * actual.elementSize();
        if (offset < 0 || bytes > target.capacity() - offset) {
            return Mono.error(new InvalidArgumentException("region of " + bytes + " bytes at offset " + offset
                    + " does not fit a read target of " + target.capacity() + " bytes"));
        }
        ReadPlanner.ReadPlan plan = ReadPlanner.plan(s, epoch, a, start, shape);
        return into(a, start, shape, plan, target, (int) offset, (int) bytes).doFinally(sig -> plan.release());
    }

    private Mono<NdArray> readFixed(Snapshot.Resolved a, long[] start, long[] shape, long count, ReadPlanner.ReadPlan plan) {
        DType dtype = a.schema().dtype();
        long width = dtype.elementSize();
        if (count > (Integer.MAX_VALUE - 8) / width) {
            return Mono.error(new InvalidArgumentException("region of " + count + " " + dtype
                    + " elements exceeds one buffer; read it in parts"));
        }
        int bytes = (int) (count * width);
        return Mono.defer(() -> {
            ReadTarget dst = new ReadTarget(alloc.directBuffer(bytes, bytes));
            AtomicBoolean handedOver = new AtomicBoolean();
            return into(a, start, shape, plan, dst, 0, bytes)
                    .then(Mono.fromCallable(() -> {
                        ByteBuf result = dst.take();
                        if (result == null) {
                            throw new ClosedHandleException("read result already released");
                        }
                        result.writerIndex(bytes);
                        handedOver.set(true);
                        return new NdArray(dtype, shape, result, null);
                    }))
                    .doFinally(sig -> {
                        if (!handedOver.get()) {
                            dst.release();
                        }
                    })
                    .doOnDiscard(NdArray.class, NdArray::close);
        });
    }

    /**
     * Writes the region into {@code dst} at {@code [offset, offset + bytes)}: the fill element
     * first when some chunk of the region is not stored, then every stored chunk's part.
     * {@code dst} is not consumed (each copy takes its own hold).
     */
    private Mono<Void> into(Snapshot.Resolved a, long[] start, long[] shape, ReadPlanner.ReadPlan plan, ReadTarget dst,
            int offset, int bytes) {
        DType dtype = a.schema().dtype();
        long width = dtype.elementSize();
        byte[] fill = Fill.element(dtype, a.schema().fillValue());
        ChunkGrid grid = a.grid();
        // Chunks no layer stores read as fill. When the plan stores every chunk of the region, the
        // copies write every byte of the destination and the fill pass, a full extra write of the
        // result, is skipped.
        boolean needsFill = plan.storedChunks() < grid.chunkCountIn(start, shape);
        return Mono.defer(() -> {
            if (!dst.acquire()) {
                return Mono.error(new ClosedHandleException("read target already released"));
            }
            try {
                if (needsFill) {
                    prefill(dst.buf.slice(offset, bytes), fill, bytes);
                }
            } finally {
                dst.release();
            }
            return Flux.fromIterable(plan.reads())
                    .flatMap(r -> source.fetchPart(r, plan.epoch(), NeededBytes.of(r, grid, width, start, shape)).map(blk -> {
                        try {
                            copyFixed(a.name(), r, blk, dst, offset, grid, start, shape, width, dtype);
                            return r;
                        } finally {
                            blk.release();
                        }
                    }), readConcurrency)
                    .then();
        });
    }

    /** Copies the region's part of every chunk of {@code blk} (not released) into {@code d}; skipped if the read was abandoned. */
    private static void copyFixed(String name, ReadPlanner.BlockRead r, ByteBuf blk, ReadTarget d, int offset, ChunkGrid grid,
            long[] start, long[] shape, long width, DType dtype) {
        if (!d.acquire()) {
            return;
        }
        ByteBuf dst = d.buf;
        try {
            forEachChunk(r, blk, i -> name, (i, coord, chunk, at, what) -> {
                ChunkCodec.checkFixed(dtype, chunk.remaining(), grid.chunkElementCount(coord), what);
                Overlap.forEachRun(grid.chunkOrigin(coord), grid.chunkExtent(coord), start, shape,
                        (to, ro, len) -> dst.setBytes(offset + (int) (ro * width), blk, at + (int) (to * width),
                                (int) (len * width)));
            });
        } finally {
            d.release();
        }
    }

    private Mono<NdArray> readVarLen(Snapshot.Resolved a, long[] start, long[] shape, long count, ReadPlanner.ReadPlan plan) {
        if (count > Integer.MAX_VALUE - 8) {
            return Mono.error(new InvalidArgumentException("region of " + count + " elements is too large; read it in parts"));
        }
        DType dtype = a.schema().dtype();
        ChunkGrid grid = a.grid();
        AtomicReferenceArray<byte[]> out = new AtomicReferenceArray<>((int) count);
        return Flux.fromIterable(plan.reads())
                .flatMap(r -> source.fetch(r, plan.epoch()).map(blk -> {
                    try {
                        forEachChunk(r, blk, i -> a.name(), (i, coord, chunk, at, what) -> {
                            List<byte[]> elems = decodeVarLen(dtype, chunk, grid.chunkElementCount(coord), what.get());
                            Overlap.forEachRun(grid.chunkOrigin(coord), grid.chunkExtent(coord), start, shape, (to, ro, len) -> {
                                for (int k = 0; k < len; k++) {
                                    out.set((int) (ro + k), elems.get((int) (to + k)));
                                }
                            });
                        });
                        return r;
                    } finally {
                        blk.release();
                    }
                }), readConcurrency)
                .then(Mono.fromCallable(() -> {
                    List<byte[]> list = new ArrayList<>((int) count);
                    byte[] empty = new byte[0];
                    for (int i = 0; i < count; i++) {
                        byte[] e = out.get(i);
                        list.add(e == null ? empty : e);
                    }
                    return new NdArray(dtype, shape, null, list);
                }));
    }

    /**
     * One fragment per chunk of the region (fill fragments for chunks no layer stores), honouring
     * demand: at most {@code readConcurrency} blocks are fetched ahead. Releases the plan when the
     * stream ends; fragments not delivered are closed.
     */
    Flux<ChunkFragment> fragments(FragmentPlan fp) {
        Snapshot.Resolved a = fp.array();
        long[] start = fp.start();
        long[] shape = fp.shape();
        ReadPlanner.ReadPlan plan = fp.plan();
        ChunkGrid grid = a.grid();
        DType dtype = a.schema().dtype();
        Set<GridCoord> stored = new HashSet<>();
        for (ReadPlanner.BlockRead r : plan.reads()) {
            r.coords().forEach(c -> stored.add(GridCoord.of(c)));
        }
        List<long[]> missing = new ArrayList<>();
        grid.forEachChunkIn(start, shape, c -> {
            if (!stored.contains(GridCoord.of(c))) {
                missing.add(c.clone());
            }
        });
        byte[] fill = dtype.elementSize() > 0 ? Fill.element(dtype, a.schema().fillValue()) : null;
        Flux<ChunkFragment> fromBlocks = Flux.fromIterable(plan.reads()).flatMap(r -> source.fetch(r, plan.epoch())
                .flatMapMany(blk -> {
                    List<ChunkFragment> out = new ArrayList<>(r.coords().size());
                    try {
                        forEachChunk(r, blk, i -> a.name(),
                                (i, coord, chunk, at, what) -> out.add(fragment(dtype, grid, coord, start, shape, chunk, what.get())));
                    } catch (RuntimeException e) {
                        out.forEach(ChunkFragment::close);
                        return Flux.error(e);
                    } finally {
                        blk.release();
                    }
                    return Flux.fromIterable(out);
                }), readConcurrency, 1);
        Flux<ChunkFragment> fills = Flux.fromIterable(missing).map(c -> {
            long[][] box = intersect(grid, c, start, shape);
            long n = ChunkGrid.product(box[1]);
            if (n > (Integer.MAX_VALUE - 8) / Math.max(1, fill == null ? 1 : fill.length)) {
                throw new InvalidArgumentException("a fragment of " + n + " elements exceeds one buffer; read smaller regions");
            }
            if (fill == null) {
                return new ChunkFragment(dtype, c, box[0], box[1], null, Collections.nCopies((int) n, new byte[0]), false);
            }
            int bytes = (int) (n * fill.length);
            ByteBuf buf = alloc.directBuffer(bytes, bytes);
            prefill(buf, fill, bytes);
            return new ChunkFragment(dtype, c, box[0], box[1], buf, null, false);
        });
        return Flux.merge(1, fromBlocks, fills)
                .doFinally(sig -> plan.release())
                .doOnDiscard(ChunkFragment.class, ChunkFragment::close);
    }

    /** The intersection of chunk {@code c} with a region: {start, shape}. */
    private static long[][] intersect(ChunkGrid grid, long[] c, long[] start, long[] shape) {
        long[] o = grid.chunkOrigin(c);
        long[] e = grid.chunkExtent(c);
        long[] bs = new long[o.length];
        long[] bn = new long[o.length];
        for (int i = 0; i < o.length; i++) {
            bs[i] = Math.max(o[i], start[i]);
            bn[i] = Math.min(o[i] + e[i], start[i] + shape[i]) - bs[i];
        }
        return new long[][] {bs, bn};
    }

    private ChunkFragment fragment(DType dtype, ChunkGrid grid, long[] coord, long[] start, long[] shape, ByteBuffer chunk,
            String what) {
        long[][] box = intersect(grid, coord, start, shape);
        long n = grid.chunkElementCount(coord);
        long[] origin = grid.chunkOrigin(coord);
        long[] extent = grid.chunkExtent(coord);
        if (dtype.elementSize() > 0) {
            ChunkCodec.checkFixed(dtype, chunk.remaining(), n, what);
            int w = (int) dtype.elementSize();
            int bytes = (int) (ChunkGrid.product(box[1]) * w);
            ByteBuf buf = alloc.directBuffer(bytes, bytes);
            int pos = chunk.position();
            Overlap.forEachRun(origin, extent, box[0], box[1],
                    (to, ro, len) -> buf.setBytes((int) (ro * w), chunk.duplicate().position(pos + (int) (to * w))
                            .limit(pos + (int) ((to + len) * w))));
            buf.writerIndex(bytes);
            return new ChunkFragment(dtype, coord, box[0], box[1], buf, null, true);
        }
        List<byte[]> elems = decodeVarLen(dtype, chunk, n, what);
        List<byte[]> part = new ArrayList<>(Collections.nCopies((int) ChunkGrid.product(box[1]), (byte[]) null));
        Overlap.forEachRun(origin, extent, box[0], box[1], (to, ro, len) -> {
            for (int k = 0; k < len; k++) {
                part.set((int) (ro + k), elems.get((int) (to + k)));
            }
        });
        return new ChunkFragment(dtype, coord, box[0], box[1], null, part, true);
    }

    /** Writes {@code bytes} bytes of repeated {@code fill} at the start of {@code dst} (not released) and sets its writer index there. */
    static void prefill(ByteBuf dst, byte[] fill, int bytes) {
        boolean zero = true;
        for (byte x : fill) {
            zero &= x == 0;
        }
        if (zero) {
            dst.setZero(0, bytes);
        } else if (bytes > 0) {
            dst.setBytes(0, fill);
            int filled = fill.length;
            while (filled < bytes) {
                int n = Math.min(filled, bytes - filled);
                dst.setBytes(filled, dst, 0, n);
                filled += n;
            }
        }
        dst.writerIndex(bytes);
    }
}
