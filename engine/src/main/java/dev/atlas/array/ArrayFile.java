package dev.atlas.array;

import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.format.ArrayMeta;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.BlockMeta;
import dev.atlas.format.ChunkAddress;
import dev.atlas.format.ChunkCodec;
import dev.atlas.format.DType;
import dev.atlas.format.Fill;
import dev.atlas.format.Footer;
import dev.atlas.format.FooterCodec;
import dev.atlas.format.LayerNames;
import dev.atlas.format.MergedView;
import dev.atlas.format.StatsFile;
import dev.atlas.format.Trailer;
import dev.atlas.nd.ChunkGrid;
import dev.atlas.nd.GridCoord;
import dev.atlas.nd.Overlap;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.IllegalReferenceCountException;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.function.Tuple2;
import reactor.util.function.Tuples;

/**
 * An open {@code .af} file set on a {@link Storage}: its committed layers (base + sidecars), their
 * merged view, and its statistics. This is the read side of the runtime; every read is a
 * {@code Mono<ByteBuf>} range fetch of the blocks a region needs, decompressed on the engine's
 * codec scheduler and copied as fragments into one pooled buffer. Thread-safe; immutable once
 * open (writers and caches are not built yet).
 */
public final class ArrayFile {
    private static final Logger LOG = LoggerFactory.getLogger(ArrayFile.class);

    /** One committed layer. */
    private record Layer(ObjectInfo object, Footer footer, Map<Long, BlockMeta> blocks) {
    }

    private final Storage storage;
    private final String base;
    private final ArrayFileOptions options;
    private final List<Layer> layers;
    private final MergedView view;
    private final StatsFile stats;

    private ArrayFile(Storage storage, String base, ArrayFileOptions options, List<Layer> layers, StatsFile stats) {
        this.storage = storage;
        this.base = base;
        this.options = options;
        this.layers = layers;
        List<Footer> footers = new ArrayList<>(layers.size());
        for (Layer l : layers) {
            footers.add(l.footer());
        }
        this.view = MergedView.of(footers, base);
        this.stats = stats;
    }

    /**
     * Opens the file set whose base object is {@code base} (must end in {@code .af}). Costs one
     * listing of the keys starting with {@code {stem}.} and, per layer, one speculative tail read
     * (a second read only when a footer is longer than the tail), all layers concurrently, plus one
     * read of the stats object if present.
     *
     * @throws NotFoundException (as an error signal) if the base object does not exist
     * @throws CorruptFileException (as an error signal) if a layer does not decode
     */
    public static Mono<ArrayFile> open(Storage storage, String base, ArrayFileOptions options) {
        return Mono.defer(() -> {
            String stem;
            try {
                stem = LayerNames.stem(base);
            } catch (IllegalArgumentException e) {
                return Mono.error(new InvalidArgumentException(e.getMessage()));
            }
            String statsKey = LayerNames.stats(stem);
            return storage.list(stem + ".").collectList().flatMap(objects -> {
                ObjectInfo baseInfo = null;
                ObjectInfo statsInfo = null;
                TreeMap<Long, ObjectInfo> sidecars = new TreeMap<>();
                for (ObjectInfo o : objects) {
                    if (o.key().equals(base)) {
                        baseInfo = o;
                    } else if (o.key().equals(statsKey)) {
                        statsInfo = o;
                    } else {
                        long n = LayerNames.sidecarNumber(stem, o.key());
                        if (n > 0) {
                            sidecars.put(n, o);
                        }
                    }
                }
                if (baseInfo == null) {
                    return Mono.error(new NotFoundException("file set '" + base + "' has no base object"));
                }
                List<ObjectInfo> infos = new ArrayList<>();
                infos.add(baseInfo);
                infos.addAll(sidecars.values());
                Mono<List<Layer>> layersMono = Flux.fromIterable(infos).index()
                        .flatMap(t -> readLayer(storage, t.getT2(), options).map(l -> Tuples.of(t.getT1(), l)),
                                options.readConcurrency())
                        .collectSortedList(Comparator.comparing(Tuple2::getT1))
                        .map(list -> {
                            List<Layer> out = new ArrayList<>(list.size());
                            list.forEach(t -> out.add(t.getT2()));
                            return out;
                        });
                Mono<StatsFile> statsMono = statsInfo == null ? Mono.empty() : readStats(storage, statsInfo);
                return Mono.zip(layersMono, statsMono.map(java.util.Optional::of).defaultIfEmpty(java.util.Optional.empty()))
                        .map(t -> new ArrayFile(storage, base, options, t.getT1(), t.getT2().orElse(null)));
            });
        });
    }

    private static Mono<Layer> readLayer(Storage storage, ObjectInfo info, ArrayFileOptions options) {
        long size = info.size();
        if (size < Trailer.SIZE) {
            return Mono.error(new CorruptFileException(info.key(), "file of " + size + " bytes is too short for the trailer"));
        }
        long tailLen = Math.min(size, options.tailRead());
        return storage.read(info.key(), size - tailLen, tailLen).flatMap(tail -> {
            long payloadLen;
            try {
                payloadLen = Trailer.payloadLength(tail.nioBuffer(), size, Trailer.LAYER_MAGIC, info.key());
            } catch (RuntimeException e) {
                tail.release();
                return Mono.error(e);
            }
            if (payloadLen + Trailer.SIZE <= tailLen) {
                try {
                    int start = (int) (tailLen - Trailer.SIZE - payloadLen);
                    return Mono.just(layer(info, tail.nioBuffer(tail.readerIndex() + start, (int) payloadLen), size, payloadLen));
                } finally {
                    tail.release();
                }
            }
            tail.release();
            if (payloadLen > Integer.MAX_VALUE - 8) {
                return Mono.error(new CorruptFileException(info.key(), "footer of " + payloadLen + " bytes is too large"));
            }
            return storage.read(info.key(), size - Trailer.SIZE - payloadLen, payloadLen).map(p -> {
                try {
                    return layer(info, p.nioBuffer(), size, payloadLen);
                } finally {
                    p.release();
                }
            });
        });
    }

    private static Layer layer(ObjectInfo info, ByteBuffer payload, long size, long payloadLen) {
        Footer f = FooterCodec.decodeFooter(payload, info.key());
        long dataRegion = size - Trailer.SIZE - payloadLen;
        Map<Long, BlockMeta> blocks = new HashMap<>();
        for (BlockMeta b : f.blocks()) {
            if (b.fileEnd() > dataRegion) {
                throw new CorruptFileException(info.key(), "block " + b.id() + " spans [" + b.fileOffset() + ", "
                        + b.fileEnd() + ") beyond the " + dataRegion + "-byte data region");
            }
            blocks.put(b.id(), b);
        }
        return new Layer(info, f, blocks);
    }

    private static Mono<StatsFile> readStats(Storage storage, ObjectInfo info) {
        if (info.size() > Integer.MAX_VALUE - 8) {
            return Mono.error(new CorruptFileException(info.key(), "stats file of " + info.size() + " bytes is too large"));
        }
        return storage.read(info.key(), 0, info.size()).map(b -> {
            try {
                return Trailer.decodeStatsFile(b.nioBuffer(), info.key());
            } finally {
                b.release();
            }
        }).onErrorResume(CorruptFileException.class, e -> {
            // Statistics are derivable from the layers: a damaged stats file must not make the data unreadable.
            LOG.warn("ignoring unreadable statistics: {}", e.getMessage());
            return Mono.empty();
        });
    }

    /** The base object key. */
    public String base() {
        return base;
    }

    /** Committed layers, the base included. */
    public int numLayers() {
        return layers.size();
    }

    /** Visible array names in list order. */
    public List<String> listArrays() {
        return List.copyOf(view.arrays().keySet());
    }

    /**
     * The newest meta (schema) of a visible array.
     *
     * @throws NotFoundException if {@code name} is not visible
     */
    public ArrayMeta arrayMeta(String name) {
        return visible(name).meta();
    }

    /** All attributes of a visible array, resolved, in stored order. */
    public Map<String, AttributeValue> attributes(String name) {
        Map<String, AttributeValue> out = new LinkedHashMap<>();
        for (Map.Entry<String, AttributeValue> e : visible(name).attributes()) {
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    /** One attribute, or null when the array does not have it; {@link NotFoundException} if the array is not visible. */
    public AttributeValue getAttribute(String name, String key) {
        return visible(name).attribute(key);
    }

    /** For each visible array in list order, its value of attribute {@code key} (null when absent). */
    public Map<String, AttributeValue> attributeIndex(String key) {
        Map<String, AttributeValue> out = new LinkedHashMap<>();
        for (MergedView.VisibleArray a : view.arrays().values()) {
            out.put(a.name(), a.attribute(key));
        }
        return out;
    }

    /** Stored statistics of an array, or null when the stats file has no entry (or there is none). */
    public ArrayStats arrayStats(String name) {
        visible(name);
        return stats == null ? null : stats.get(name);
    }

    private MergedView.VisibleArray visible(String name) {
        MergedView.VisibleArray a = view.array(name);
        if (a == null) {
            throw new NotFoundException("array '" + name + "' not found in " + base);
        }
        return a;
    }

    /** Reads a whole array. */
    public Mono<NdArray> readArray(String name) {
        return Mono.defer(() -> {
            long[] shape = visible(name).grid().shape();
            return readArray(name, new long[shape.length], shape);
        });
    }

    /** Reads a whole array, checking its dtype first. */
    public Mono<NdArray> readArray(String name, DType expected, long[] start, long[] shape) {
        return Mono.defer(() -> {
            DType actual = visible(name).meta().dtype();
            if (!actual.equals(expected)) {
                return Mono.error(new DTypeMismatchException(name, actual, expected));
            }
            return readArray(name, start, shape);
        });
    }

    /**
     * Reads the region {@code [start, start + shape)} of a visible array. Cells no layer stores
     * read as the fill element. The region must lie inside the array (no silent clamping).
     *
     * @return an {@link NdArray} the subscriber owns and closes; nothing is retained after an error
     *     or a cancellation
     */
    public Mono<NdArray> readArray(String name, long[] start, long[] shape) {
        return Mono.defer(() -> {
            MergedView.VisibleArray a = visible(name);
            ChunkGrid grid = a.grid();
            checkRegion(name, grid, start, shape);
            DType dtype = a.meta().dtype();
            if (!dtype.isStorable()) {
                return Mono.error(new InvalidArgumentException("array '" + name + "' has dtype " + dtype
                        + ", which has no chunk encoding"));
            }
            long count = ChunkGrid.product(shape);
            List<BlockJob> jobs = plan(a, grid, start, shape);
            if (dtype.elementSize() > 0) {
                return readFixed(name, a, dtype, start, shape, count, jobs);
            }
            return readVarLen(name, dtype, grid, start, shape, count, jobs);
        });
    }

    private static void checkRegion(String name, ChunkGrid grid, long[] start, long[] shape) {
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

    /** The blocks a region needs, each with the chunks to take from it. */
    private record BlockJob(int layer, BlockMeta block, List<long[]> coords, List<ChunkAddress> addresses) {
    }

    private List<BlockJob> plan(MergedView.VisibleArray a, ChunkGrid grid, long[] start, long[] shape) {
        Map<String, BlockJob> jobs = new LinkedHashMap<>();
        grid.forEachChunkIn(start, shape, c -> {
            MergedView.ChunkSource src = a.chunks().get(GridCoord.of(c));
            if (src == null) {
                return;
            }
            Layer layer = layers.get(src.layer());
            BlockMeta b = layer.blocks().get(src.address().blockId());
            if (b == null) {
                throw new CorruptFileException(layer.object().key(), "array '" + a.name() + "' chunk "
                        + Arrays.toString(c) + " refers to missing block " + src.address().blockId());
            }
            BlockJob job = jobs.computeIfAbsent(src.layer() + "/" + b.id(),
                    k -> new BlockJob(src.layer(), b, new ArrayList<>(), new ArrayList<>()));
            job.coords().add(c.clone());
            job.addresses().add(src.address());
        });
        return new ArrayList<>(jobs.values());
    }

    /** Fetches and decompresses one block; the emitted buffer is owned by the subscriber. */
    private Mono<ByteBuf> block(BlockJob job) {
        Layer layer = layers.get(job.layer());
        BlockMeta b = job.block();
        String what = layer.object().key() + " block " + b.id();
        BlockCodec codec;
        try {
            codec = BlockCodecs.forId(b.codec());
        } catch (RuntimeException e) {
            return Mono.error(e);
        }
        ByteBufAllocator alloc = options.resources().allocator();
        return storage.read(layer.object().key(), b.fileOffset(), b.compressedSize())
                .flatMap(raw -> {
                    // Whoever takes the raw buffer out of the holder releases it: the decompression
                    // task, or doFinally when the read is cancelled before that task ran.
                    AtomicReference<ByteBuf> holder = new AtomicReference<>(raw);
                    return Mono.fromCallable(() -> {
                        ByteBuf r = holder.getAndSet(null);
                        if (r == null) {
                            return null;
                        }
                        try {
                            return codec.decompress(r, b.uncompressedSize(), alloc, what);
                        } finally {
                            r.release();
                        }
                    }).subscribeOn(options.resources().codecScheduler()).doFinally(sig -> {
                        ByteBuf r = holder.getAndSet(null);
                        if (r != null) {
                            r.release();
                        }
                    });
                })
                .doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease);
    }

    private static ByteBuffer chunkSlice(ByteBuf block, ChunkAddress addr, String what) {
        long end = addr.offset() + addr.size();
        if (end > block.readableBytes()) {
            throw new CorruptFileException(what, "chunk at [" + addr.offset() + ", " + end + ") lies outside the "
                    + block.readableBytes() + "-byte block " + addr.blockId());
        }
        return block.nioBuffer(block.readerIndex() + (int) addr.offset(), (int) addr.size());
    }

    private Mono<NdArray> readFixed(String name, MergedView.VisibleArray a, DType dtype, long[] start, long[] shape,
            long count, List<BlockJob> jobs) {
        long width = dtype.elementSize();
        if (count > (Integer.MAX_VALUE - 8) / width) {
            return Mono.error(new InvalidArgumentException("region of " + count + " " + dtype
                    + " elements exceeds one buffer; read it in parts"));
        }
        int bytes = (int) (count * width);
        byte[] fill = Fill.element(dtype, a.meta().fillValue());
        ChunkGrid grid = a.grid();
        return Mono.defer(() -> {
            ByteBuf dst = options.resources().allocator().directBuffer(bytes, bytes);
            AtomicBoolean owned = new AtomicBoolean(true);
            try {
                prefill(dst, fill, bytes);
            } catch (RuntimeException e) {
                dst.release();
                return Mono.error(e);
            }
            return Flux.fromIterable(jobs)
                    .flatMap(job -> block(job).map(blk -> {
                        try {
                            copyFixed(name, job, blk, dst, grid, start, shape, dtype, width);
                            return job;
                        } finally {
                            blk.release();
                        }
                    }), options.readConcurrency())
                    .then(Mono.fromCallable(() -> {
                        if (!owned.compareAndSet(true, false)) {
                            throw new IllegalStateException("read result already released");
                        }
                        return new NdArray(dtype, shape, dst, null);
                    }))
                    .doFinally(s -> {
                        if (owned.compareAndSet(true, false)) {
                            dst.release();
                        }
                    })
                    .doOnDiscard(NdArray.class, NdArray::close);
        });
    }

    private static void prefill(ByteBuf dst, byte[] fill, int bytes) {
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

    /** Copies the region's part of every chunk of one block into {@code dst}; skipped if the read was abandoned. */
    private void copyFixed(String name, BlockJob job, ByteBuf blk, ByteBuf dst, ChunkGrid grid, long[] start,
            long[] shape, DType dtype, long width) {
        String file = layers.get(job.layer()).object().key();
        try {
            dst.retain();
        } catch (IllegalReferenceCountException released) {
            return;
        }
        try {
            for (int i = 0; i < job.coords().size(); i++) {
                long[] coord = job.coords().get(i);
                ChunkAddress addr = job.addresses().get(i);
                String what = file + " (array '" + name + "', chunk " + Arrays.toString(coord) + ")";
                ByteBuffer chunk = chunkSlice(blk, addr, what);
                ChunkCodec.checkFixed(dtype, chunk.remaining(), grid.chunkElementCount(coord), what);
                int base = blk.readerIndex() + (int) addr.offset();
                Overlap.forEachRun(grid.chunkOrigin(coord), grid.chunkExtent(coord), start, shape,
                        (to, ro, len) -> dst.setBytes((int) (ro * width), blk, base + (int) (to * width), (int) (len * width)));
            }
        } finally {
            dst.release();
        }
    }

    private Mono<NdArray> readVarLen(String name, DType dtype, ChunkGrid grid, long[] start, long[] shape, long count,
            List<BlockJob> jobs) {
        if (count > Integer.MAX_VALUE - 8) {
            return Mono.error(new InvalidArgumentException("region of " + count + " elements is too large; read it in parts"));
        }
        AtomicReferenceArray<byte[]> out = new AtomicReferenceArray<>((int) count);
        return Flux.fromIterable(jobs)
                .flatMap(job -> block(job).map(blk -> {
                    try {
                        String file = layers.get(job.layer()).object().key();
                        for (int i = 0; i < job.coords().size(); i++) {
                            long[] coord = job.coords().get(i);
                            String what = file + " (array '" + name + "', chunk " + Arrays.toString(coord) + ")";
                            ByteBuffer chunk = chunkSlice(blk, job.addresses().get(i), what);
                            long n = grid.chunkElementCount(coord);
                            List<byte[]> elems = dtype.kind() == DType.Kind.STRING
                                    ? ChunkCodec.decodeUtf8(chunk, n, what)
                                    : ChunkCodec.decodeVarLen(chunk, n, what);
                            Overlap.forEachRun(grid.chunkOrigin(coord), grid.chunkExtent(coord), start, shape, (to, ro, len) -> {
                                for (int k = 0; k < len; k++) {
                                    out.set((int) (ro + k), elems.get((int) (to + k)));
                                }
                            });
                        }
                        return job;
                    } finally {
                        blk.release();
                    }
                }), options.readConcurrency())
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
}
