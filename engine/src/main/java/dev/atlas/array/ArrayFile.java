package dev.atlas.array;

import dev.atlas.cache.ReadCaches;
import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.AtlasException;
import dev.atlas.error.ConflictException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.StorageException;
import dev.atlas.format.ArrayMeta;
import dev.atlas.internal.Offload;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.Attributes;
import dev.atlas.format.BlockMeta;
import dev.atlas.format.ChunkAddress;
import dev.atlas.format.ChunkCodec;
import dev.atlas.format.CodecId;
import dev.atlas.format.DType;
import dev.atlas.format.Fill;
import dev.atlas.format.FillValue;
import dev.atlas.format.Footer;
import dev.atlas.format.FooterCodec;
import dev.atlas.format.LayerNames;
import dev.atlas.format.MergedView;
import dev.atlas.format.StatsFile;
import dev.atlas.format.StatsKernel;
import dev.atlas.format.StatsStamp;
import dev.atlas.format.Trailer;
import dev.atlas.nd.ChunkGrid;
import dev.atlas.nd.GridCoord;
import dev.atlas.nd.Overlap;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;
import java.util.zip.CRC32C;
import java.time.Duration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.function.Tuple2;
import reactor.util.function.Tuples;
import reactor.util.retry.Retry;

/**
 * An open {@code .af} file set on a {@link Storage}: the committed layers (base + sidecars
 * {@code {stem}.N.af}), a pending layer of unflushed changes, their merged view, and statistics.
 *
 * <p><b>Reads</b> ({@link #readArray}) resolve the chunks a region overlaps (pending first, then
 * committed layers newest first, stopping at a delete), fetch the blocks they live in as
 * {@code Mono<ByteBuf>} range reads, decompress them on the engine's codec scheduler and copy the
 * fragments into one pooled buffer the caller owns. Any number of reads run concurrently, also
 * while a mutation runs: a read sees the state before or after each mutation, never a part.
 *
 * <p><b>Mutations</b> ({@link #defineArray}, {@link #writeArray}, {@link #delete},
 * {@link #setAttribute}, {@link #flush}, {@link #compact}) are queued and run one at a time in
 * subscription order. They change the pending layer, which is private to this handle until
 * {@link #flush} commits it as a new sidecar with one create-if-absent put. {@link #compact}
 * rewrites the base with the merged state; the base records the highest sidecar number it absorbed,
 * so readers ignore absorbed sidecars even before they are deleted (crash-safe at every step).
 *
 * <p>Statistics describe the committed state; each stats file carries a stamp of the layer stack it
 * was computed for, and a file that does not match the stack is reported {@link StatsStatus#STALE}
 * instead of being served.
 */
public final class ArrayFile {
    private static final Logger LOG = LoggerFactory.getLogger(ArrayFile.class);

    /** Whether the loaded statistics describe the committed layers. */
    public enum StatsStatus {
        /** No stats file (and nothing computed yet). */
        NONE,
        /** Stamped for exactly the committed layers. */
        CURRENT,
        /** Stamped for another layer stack (e.g. a crash between a flush and its stats write): not served. */
        STALE,
        /** Written without a stamp (by the reference crate): served as found, recomputed on the next flush. */
        UNVERIFIED
    }

    /** One committed layer; {@code number} is 0 for the base, N for sidecar {@code {stem}.N.af}. */
    private record Layer(ObjectInfo object, Footer footer, Map<Long, BlockMeta> blocks, long number, long footerCrc) {
    }

    /** The committed state; replaced as a whole. */
    private record Committed(List<Layer> layers, MergedView view, Map<String, ArrayStats> stats, StatsStatus statsStatus,
            List<ObjectInfo> absorbed, long lastNumber) {
        StatsStamp stamp() {
            return stampOf(layers);
        }
    }

    /** The stamp of a layer stack: its size and the hash of each layer's key, size and footer checksum. */
    private static StatsStamp stampOf(List<Layer> layers) {
        long h = StatsStamp.EMPTY_STACK;
        for (Layer l : layers) {
            h = StatsStamp.hashLayer(h, l.object().key(), l.object().size(), l.footerCrc());
        }
        return new StatsStamp(layers.size(), h);
    }

    /** What readers see: committed state plus the pending layer (null when none). */
    private record Snapshot(Committed committed, PendingLayer pending) {
    }

    private final Storage storage;
    private final String base;
    private final String stem;
    private final ArrayFileOptions options;
    private final boolean readOnly;
    private final dev.atlas.internal.AsyncGate gate = new dev.atlas.internal.AsyncGate();
    private volatile Snapshot snapshot;
    private volatile boolean closed;
    /** Streamed bands written as blocks without a copy (see {@link #writeWholeChunks}); read by tests. */
    final java.util.concurrent.atomic.LongAdder chunkMajorBands = new java.util.concurrent.atomic.LongAdder();
    /** True from the start of a stats write until it succeeds: the stats object lags the layers. */
    private volatile boolean statsFileStale;
    /**
     * Sidecars numbered above the committed number an open was pinned to (see
     * {@link #open(Storage, String, ArrayFileOptions, long)}), newest first: invisible, deleted
     * before this handle writes a layer.
     */
    private volatile List<ObjectInfo> uncommitted = List.of();

    private ArrayFile(Storage storage, String base, ArrayFileOptions options, Committed committed, boolean readOnly) {
        this.storage = storage;
        this.base = base;
        this.stem = LayerNames.stem(base);
        this.options = options;
        this.readOnly = readOnly;
        this.snapshot = new Snapshot(committed, null);
    }

    // ------------------------------------------------------------------ create / open

    /**
     * Creates a new, empty file set: writes an empty base with create-if-absent.
     *
     * @throws AlreadyExistsException (as an error signal) if the base, a sidecar or a stats object
     *     of this stem already exists (an old file set is never silently stacked on)
     */
    public static Mono<ArrayFile> create(Storage storage, String base, ArrayFileOptions options) {
        return Mono.defer(() -> {
            String stem = stemOf(base);
            return storage.list(stem + ".").filter(o -> isFileSetMember(stem, base, o.key())).collectList().flatMap(found -> {
                if (!found.isEmpty()) {
                    return Mono.error(new AlreadyExistsException("file set '" + base + "' already has objects: "
                            + found.stream().map(ObjectInfo::key).toList()));
                }
                Footer f = Footer.empty(options.footerVersion());
                byte[] payload = FooterCodec.encodeFooter(f);
                byte[] file = Trailer.frame(payload, Trailer.LAYER_MAGIC);
                return storage.putIfAbsent(base, Mono.fromSupplier(() -> Unpooled.wrappedBuffer(file))).map(info -> {
                    Layer l = new Layer(info, f, Map.of(), 0, crc(ByteBuffer.wrap(payload)));
                    return new ArrayFile(storage, base, options, committed(List.of(l), null, null, List.of(), 0), false);
                });
            });
        });
    }

    private static boolean isFileSetMember(String stem, String base, String key) {
        return key.equals(base) || key.equals(LayerNames.stats(stem)) || LayerNames.sidecarNumber(stem, key) > 0;
    }

    private static String stemOf(String base) {
        try {
            return LayerNames.stem(base);
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException(e.getMessage());
        }
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
        return open(storage, base, options, Integer.MAX_VALUE, false, Long.MAX_VALUE);
    }

    /**
     * Opens the file set as committed through sidecar number {@code committedThrough} (0: the base
     * alone), for a caller that keeps its own commit record naming {@link #committedThrough()}
     * after each flush (the Atlas registry does). Sidecars numbered above it were written by a
     * flush whose commit record never followed (a crash in between): they are invisible, and this
     * handle deletes them before it writes its first layer, whose number is then
     * {@code committedThrough + 1}.
     *
     * @throws CorruptFileException (as an error signal) if the base already absorbed a layer above
     *     {@code committedThrough} (the commit record is older than the data it should describe)
     */
    public static Mono<ArrayFile> open(Storage storage, String base, ArrayFileOptions options, long committedThrough) {
        if (committedThrough < 0) {
            return Mono.error(new InvalidArgumentException("committedThrough must be >= 0, not " + committedThrough));
        }
        return open(storage, base, options, Integer.MAX_VALUE, false, committedThrough);
    }

    /**
     * The number of the newest committed layer (0 for a lone base that absorbed nothing; after a
     * compaction, the newest sidecar it absorbed). Record it after {@link #flush()} to pin a later
     * {@link #open(Storage, String, ArrayFileOptions, long)}.
     */
    public long committedThrough() {
        return snapshot.committed().lastNumber();
    }

    /** The footer version this handle writes (kept at 4 for a file set whose layers are all version 4). */
    public int footerVersion() {
        return options.footerVersion();
    }

    /**
     * Opens the file set read-only as it was when it had {@code layers} committed layers (the base
     * and the {@code layers - 1} oldest sidecars): the layers are a history. Statistics are only
     * served when they were stamped for exactly that stack; {@link #computeStats} works always.
     */
    public static Mono<ArrayFile> openAsOf(Storage storage, String base, ArrayFileOptions options, int layers) {
        if (layers < 1) {
            return Mono.error(new InvalidArgumentException("a file set has at least 1 layer, not " + layers));
        }
        return open(storage, base, options, layers, true, Long.MAX_VALUE);
    }

    private static Mono<ArrayFile> open(Storage storage, String base, ArrayFileOptions options0, int maxLayers,
            boolean readOnly, long committedThrough) {
        return Mono.defer(() -> {
            String stem = stemOf(base);
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
                List<Long> numbers = new ArrayList<>();
                infos.add(baseInfo);
                numbers.add(0L);
                sidecars.forEach((n, o) -> {
                    infos.add(o);
                    numbers.add(n);
                });
                // Read every footer concurrently; a sidecar the base has absorbed may be damaged
                // garbage, so its errors only matter if it turns out to be live.
                Mono<List<Object>> read = Flux.range(0, infos.size())
                        .flatMap(i -> readLayer(storage, infos.get(i), numbers.get(i), options0)
                                .<Object>map(l -> l)
                                .onErrorResume(AtlasException.class, Mono::just)
                                .map(r -> Tuples.of(i, r)), options0.readConcurrency())
                        .collectSortedList(Comparator.comparing(Tuple2::getT1))
                        .map(list -> list.stream().map(Tuple2::getT2).toList());
                Mono<Optional<Trailer.StampedStats>> statsMono = statsInfo == null ? Mono.just(Optional.empty())
                        : readStats(storage, statsInfo).map(Optional::of).defaultIfEmpty(Optional.empty());
                return Mono.zip(read, statsMono).flatMap(t -> {
                    List<Object> results = t.getT1();
                    if (results.get(0) instanceof Throwable e) {
                        return Mono.error(e);
                    }
                    Layer baseLayer = (Layer) results.get(0);
                    long absorbedUpTo = baseLayer.footer().overlayIndex();
                    if (absorbedUpTo > committedThrough) {
                        return Mono.error(new CorruptFileException(base, "the base absorbed sidecar " + absorbedUpTo
                                + " but the commit record only names layers through " + committedThrough));
                    }
                    List<Layer> live = new ArrayList<>();
                    List<ObjectInfo> absorbed = new ArrayList<>();
                    List<ObjectInfo> beyond = new ArrayList<>();
                    live.add(baseLayer);
                    long last = absorbedUpTo;
                    for (int i = 1; i < results.size(); i++) {
                        long n = numbers.get(i);
                        if (n > committedThrough) {
                            beyond.add(0, infos.get(i));
                            continue;
                        }
                        last = Math.max(last, n);
                        if (n <= absorbedUpTo) {
                            absorbed.add(infos.get(i));
                            continue;
                        }
                        if (live.size() >= maxLayers) {
                            continue;
                        }
                        if (results.get(i) instanceof Throwable e) {
                            return Mono.error(e);
                        }
                        live.add((Layer) results.get(i));
                    }
                    Trailer.StampedStats stats = t.getT2().orElse(null);
                    Committed c = committed(live, stats == null ? null : stats.stats(), stats == null ? null : stats.stamp(),
                            absorbed, last);
                    // A file set written by crate 0.10 (every layer footer v4) stays readable by it.
                    boolean allV4 = live.stream().allMatch(l -> l.footer().version() == Footer.VERSION_V4);
                    ArrayFileOptions options = allV4 && options0.footerVersion() != Footer.VERSION_V4
                            ? options0.withFooterVersion(Footer.VERSION_V4) : options0;
                    ArrayFile f = new ArrayFile(storage, base, options, c, readOnly);
                    f.uncommitted = List.copyOf(beyond);
                    return Mono.just(f);
                });
            });
        });
    }

    private static Committed committed(List<Layer> layers, StatsFile stats, StatsStamp stamp, List<ObjectInfo> absorbed,
            long lastNumber) {
        List<Footer> footers = new ArrayList<>(layers.size());
        for (Layer l : layers) {
            footers.add(l.footer());
        }
        MergedView view = MergedView.of(footers, layers.get(0).object().key());
        Map<String, ArrayStats> table = new LinkedHashMap<>();
        StatsStatus status = StatsStatus.NONE;
        if (stats != null) {
            for (ArrayStats s : stats.arrays()) {
                table.put(s.name(), s);
            }
            if (stamp == null) {
                status = StatsStatus.UNVERIFIED;
            } else {
                status = stamp.equals(stampOf(layers)) ? StatsStatus.CURRENT : StatsStatus.STALE;
            }
        }
        return new Committed(List.copyOf(layers), view, Collections.unmodifiableMap(table), status, List.copyOf(absorbed),
                lastNumber);
    }

    private static Mono<Layer> readLayer(Storage storage, ObjectInfo info, long number, ArrayFileOptions options) {
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
                    return Mono.just(layer(info, number, tail.nioBuffer(tail.readerIndex() + start, (int) payloadLen), size,
                            payloadLen));
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
                    return layer(info, number, p.nioBuffer(), size, payloadLen);
                } finally {
                    p.release();
                }
            });
        });
    }

    private static Layer layer(ObjectInfo info, long number, ByteBuffer payload, long size, long payloadLen) {
        long crc = crc(payload);
        Footer f = FooterCodec.decodeFooter(payload, info.key());
        return new Layer(info, f, blockIndex(f, info.key(), size - Trailer.SIZE - payloadLen), number, crc);
    }

    private static Map<Long, BlockMeta> blockIndex(Footer f, String key, long dataRegion) {
        Map<Long, BlockMeta> blocks = new HashMap<>();
        for (BlockMeta b : f.blocks()) {
            if (b.fileEnd() > dataRegion) {
                throw new CorruptFileException(key, "block " + b.id() + " spans [" + b.fileOffset() + ", "
                        + b.fileEnd() + ") beyond the " + dataRegion + "-byte data region");
            }
            blocks.put(b.id(), b);
        }
        return blocks;
    }

    private static long crc(ByteBuffer payload) {
        CRC32C c = new CRC32C();
        c.update(payload.duplicate());
        return c.getValue();
    }

    private static Mono<Trailer.StampedStats> readStats(Storage storage, ObjectInfo info) {
        if (info.size() > Integer.MAX_VALUE - 8) {
            return Mono.error(new CorruptFileException(info.key(), "stats file of " + info.size() + " bytes is too large"));
        }
        return storage.read(info.key(), 0, info.size()).map(b -> {
            try {
                return Trailer.decodeStampedStatsFile(b.nioBuffer(), info.key());
            } finally {
                b.release();
            }
        }).onErrorResume(CorruptFileException.class, e -> {
            // Statistics are derivable from the layers: a damaged stats file must not make the data unreadable.
            LOG.warn("ignoring unreadable statistics: {}", e.getMessage());
            return Mono.empty();
        });
    }

    // ------------------------------------------------------------------ metadata

    /** The base object key. */
    public String base() {
        return base;
    }

    /** Committed layers, the base included (the pending layer is not counted). */
    public int numLayers() {
        return snapshot.committed().layers().size();
    }

    /** True when opened as of an older layer ({@link #openAsOf}): mutations fail. */
    public boolean isReadOnly() {
        return readOnly;
    }

    /** Bytes of pending blocks held in memory (the open block and sealed ones not yet spilled). */
    long pendingBytesInMemory() {
        PendingLayer p = snapshot.pending();
        return p == null ? 0 : p.bytesInMemory();
    }

    /** Background syncs of the pending layer's spill file so far (tests). */
    long pendingSyncsBehind() {
        PendingLayer p = snapshot.pending();
        return p == null ? 0 : p.syncsBehind();
    }

    /** True when there are unflushed changes. */
    public boolean hasPendingChanges() {
        PendingLayer p = snapshot.pending();
        return p != null && !p.isEmpty();
    }

    /** One visible array as a reader sees it: committed, or overridden by the pending layer. */
    private record Resolved(ArrayMeta schema, ChunkGrid grid, PendingLayer.Entry pending, MergedView.VisibleArray committed,
            List<Map.Entry<String, AttributeValue>> attributes) {
        String name() {
            return schema.name();
        }
    }

    private static Resolved resolve(Snapshot s, String name) {
        PendingLayer p = s.pending();
        MergedView.VisibleArray c = s.committed().view().array(name);
        if (p != null) {
            synchronized (p) {
                PendingLayer.Entry e = p.entry(name);
                if (e != null) {
                    if (e.schema == null) {
                        return null;
                    }
                    List<Map.Entry<String, AttributeValue>> attrs = new ArrayList<>();
                    e.attributes.forEach((k, v) -> attrs.add(Map.entry(k, v)));
                    ChunkGrid grid = ChunkGrid.of(e.schema.shape(), e.schema.chunkShape());
                    return new Resolved(e.schema, grid, e, e.fresh ? null : c, attrs);
                }
            }
        }
        if (c == null) {
            return null;
        }
        return new Resolved(c.meta(), c.grid(), null, c, c.attributes());
    }

    private Resolved visible(Snapshot s, String name) {
        Resolved r = resolve(s, name);
        if (r == null) {
            throw new NotFoundException("array '" + name + "' not found in " + base);
        }
        return r;
    }

    /** Visible array names in list order (first definition first; a re-definition after a delete moves to the end). */
    public List<String> listArrays() {
        return listArrays(snapshot);
    }

    private static List<String> listArrays(Snapshot s) {
        LinkedHashMap<String, Boolean> order = new LinkedHashMap<>();
        for (String n : s.committed().view().arrays().keySet()) {
            order.put(n, Boolean.TRUE);
        }
        PendingLayer p = s.pending();
        if (p != null) {
            for (PendingLayer.Entry e : p.entries()) {
                if (e.buried != null) {
                    order.remove(e.name);
                }
                if (e.schema == null) {
                    order.remove(e.name);
                } else {
                    order.putIfAbsent(e.name, Boolean.TRUE);
                }
            }
        }
        return List.copyOf(order.keySet());
    }

    /**
     * The newest schema of a visible array (its chunk list is not meaningful: use {@link #readArray}).
     *
     * @throws NotFoundException if {@code name} is not visible
     */
    public ArrayMeta arrayMeta(String name) {
        return visible(snapshot, name).schema().withChunks(List.of()).withAttributes(Attributes.EMPTY);
    }

    /** All attributes of a visible array, resolved. */
    public Map<String, AttributeValue> attributes(String name) {
        Map<String, AttributeValue> out = new LinkedHashMap<>();
        for (Map.Entry<String, AttributeValue> e : visible(snapshot, name).attributes()) {
            out.put(e.getKey(), e.getValue());
        }
        return out;
    }

    /** One attribute, or null when the array does not have it; {@link NotFoundException} if the array is not visible. */
    public AttributeValue getAttribute(String name, String key) {
        for (Map.Entry<String, AttributeValue> e : visible(snapshot, name).attributes()) {
            if (e.getKey().equals(key)) {
                return e.getValue();
            }
        }
        return null;
    }

    /** For each visible array in list order, its value of attribute {@code key} (null when absent). */
    public Map<String, AttributeValue> attributeIndex(String key) {
        Snapshot s = snapshot;
        if (s.pending() != null) {
            // One consistent view of the pending layer for the whole column.
            synchronized (s.pending()) {
                return attributeIndex(s, key);
            }
        }
        return attributeIndex(s, key);
    }

    private static Map<String, AttributeValue> attributeIndex(Snapshot s, String key) {
        Map<String, AttributeValue> out = new LinkedHashMap<>();
        for (String name : listArrays(s)) {
            Resolved r = resolve(s, name);
            AttributeValue v = null;
            if (r != null) {
                for (Map.Entry<String, AttributeValue> e : r.attributes()) {
                    if (e.getKey().equals(key)) {
                        v = e.getValue();
                    }
                }
            }
            out.put(name, v);
        }
        return out;
    }

    /** Whether the loaded statistics describe the committed layers. */
    public StatsStatus statsStatus() {
        return snapshot.committed().statsStatus();
    }

    /**
     * Stored statistics of the committed state of an array: null when the array is not visible,
     * has no entry, or the statistics are {@link StatsStatus#STALE} (then use {@link #computeStats}).
     * Unflushed writes are not reflected until {@link #flush}.
     */
    public ArrayStats arrayStats(String name) {
        Snapshot s = snapshot;
        if (resolve(s, name) == null || s.committed().statsStatus() == StatsStatus.STALE) {
            return null;
        }
        return s.committed().stats().get(name);
    }

    /** Every stored statistics entry (empty when {@link StatsStatus#STALE} or none). */
    public List<ArrayStats> statsEntries() {
        Committed c = snapshot.committed();
        return c.statsStatus() == StatsStatus.STALE ? List.of() : List.copyOf(c.stats().values());
    }

    /** Computes the statistics of a visible array from its data (pending changes included). */
    public Mono<ArrayStats> computeStats(String name) {
        return Mono.defer(() -> {
            long epoch = baseEpoch.get();
            Snapshot s = snapshot;
            return Mono.defer(() -> computeStats(s, epoch, name)).onErrorMap(e -> isStale(s, e), StaleSnapshotException::new);
        }).retryWhen(staleRetry());
    }

    // ------------------------------------------------------------------ reads

    /** Reads a whole array. */
    public Mono<NdArray> readArray(String name) {
        return read(name, null, null, null);
    }

    /** Reads a region, checking the array's dtype first. */
    public Mono<NdArray> readArray(String name, DType expected, long[] start, long[] shape) {
        return read(name, start, shape, expected);
    }

    /**
     * Reads the region {@code [start, start + shape)} of a visible array. Cells no layer stores
     * read as the fill element. The region must lie inside the array (no silent clamping).
     *
     * @return an {@link NdArray} the subscriber owns and closes; nothing is retained after an error
     *     or a cancellation
     */
    public Mono<NdArray> readArray(String name, long[] start, long[] shape) {
        return read(name, start, shape, null);
    }

    /**
     * One read against one snapshot (the epoch is taken first: see {@link #baseEpoch}); re-run on
     * a newer snapshot when it raced with a commit. Null start/shape: the whole array.
     */
    private Mono<NdArray> read(String name, long[] start, long[] shape, DType expected) {
        return Mono.defer(() -> {
            long epoch = baseEpoch.get();
            Snapshot s = snapshot;
            return Mono.defer(() -> {
                Resolved a = visible(s, name);
                DType actual = a.schema().dtype();
                if (expected != null && !actual.equals(expected)) {
                    return Mono.error(new DTypeMismatchException(name, actual, expected));
                }
                long[] full = a.grid().shape();
                return readRegion(s, epoch, a, start == null ? new long[full.length] : start, shape == null ? full : shape);
            }).onErrorMap(e -> isStale(s, e), StaleSnapshotException::new);
        }).retryWhen(staleRetry());
    }

    /**
     * Streams the region {@code [start, start + shape)} of a visible array as one fragment per chunk
     * it overlaps (chunks no layer stores come as fill fragments), in no particular order, honouring
     * downstream demand: at most {@code readConcurrency} blocks are fetched ahead. Each fragment is
     * owned by the subscriber; fragments not delivered after a cancel or error are released.
     */
    public Flux<ChunkFragment> readFragments(String name, long[] start, long[] shape) {
        // Planning is retried when it races with a commit; once fragments flow, a race is an error
        // (re-running would deliver fragments twice).
        return Mono.defer(() -> {
            long epoch = baseEpoch.get();
            Snapshot s = snapshot;
            return Mono.fromCallable(() -> fragmentPlan(s, epoch, name, start, shape))
                    .onErrorMap(e -> isStale(s, e), StaleSnapshotException::new);
        }).retryWhen(staleRetry()).flatMapMany(plan -> fragments(plan, name, start, shape)
                .onErrorMap(StaleSnapshotException.class, e -> new StorageException(base
                        + " was compacted while its fragments streamed; read again", true, e)));
    }

    private record FragmentPlan(Resolved array, List<BlockJob> jobs) {
    }

    private FragmentPlan fragmentPlan(Snapshot s, long epoch, String name, long[] start, long[] shape) {
        Resolved a = visible(s, name);
        checkRegion(name, a.grid(), start, shape);
        return new FragmentPlan(a, plan(s, epoch, a, start, shape));
    }

    private Flux<ChunkFragment> fragments(FragmentPlan fp, String name, long[] start, long[] shape) {
        Resolved a = fp.array();
        List<BlockJob> jobs = fp.jobs();
        ChunkGrid grid = a.grid();
        DType dtype = a.schema().dtype();
        java.util.Set<GridCoord> stored = new java.util.HashSet<>();
        for (BlockJob j : jobs) {
            j.coords().forEach(c -> stored.add(GridCoord.of(c)));
        }
        List<long[]> missing = new ArrayList<>();
        grid.forEachChunkIn(start, shape, c -> {
            if (!stored.contains(GridCoord.of(c))) {
                missing.add(c.clone());
            }
        });
        byte[] fill = dtype.elementSize() > 0 ? Fill.element(dtype, a.schema().fillValue()) : null;
        ByteBufAllocator alloc = options.resources().allocator();
        Flux<ChunkFragment> fromBlocks = Flux.fromIterable(jobs).flatMap(job -> job.fetch().get().flatMapMany(blk -> {
            List<ChunkFragment> out = new ArrayList<>(job.coords().size());
            try {
                for (int i = 0; i < job.coords().size(); i++) {
                    long[] coord = job.coords().get(i);
                    String what = job.file() + " (array '" + name + "', chunk " + Arrays.toString(coord) + ")";
                    ByteBuffer chunk = chunkSlice(blk, job.addresses().get(i), what);
                    out.add(fragment(dtype, grid, coord, start, shape, chunk, what, alloc));
                }
            } catch (RuntimeException e) {
                out.forEach(ChunkFragment::close);
                return Flux.error(e);
            } finally {
                blk.release();
            }
            return Flux.fromIterable(out);
        }), options.readConcurrency(), 1);
        Flux<ChunkFragment> fills = Flux.fromIterable(missing).map(c -> {
            long[][] box = intersect(grid, c, start, shape);
            long n = ChunkGrid.product(box[1]);
            if (n > (Integer.MAX_VALUE - 8) / Math.max(1, fill == null ? 1 : fill.length)) {
                throw new InvalidArgumentException("a fragment of " + n + " elements exceeds one buffer; read smaller regions");
            }
            if (fill == null) {
                return new ChunkFragment(dtype, c, box[0], box[1], null,
                        java.util.Collections.nCopies((int) n, new byte[0]), false);
            }
            int bytes = (int) (n * fill.length);
            ByteBuf buf = alloc.directBuffer(bytes, bytes);
            prefill(buf, fill, bytes);
            return new ChunkFragment(dtype, c, box[0], box[1], buf, null, false);
        });
        return Flux.merge(1, fromBlocks, fills)
                .doFinally(sig -> jobs.forEach(BlockJob::cleanup))
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

    private static ChunkFragment fragment(DType dtype, ChunkGrid grid, long[] coord, long[] start, long[] shape,
            ByteBuffer chunk, String what, ByteBufAllocator alloc) {
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
        List<byte[]> part = new ArrayList<>(java.util.Collections.nCopies((int) ChunkGrid.product(box[1]), (byte[]) null));
        Overlap.forEachRun(origin, extent, box[0], box[1], (to, ro, len) -> {
            for (int k = 0; k < len; k++) {
                part.set((int) (ro + k), elems.get((int) (to + k)));
            }
        });
        return new ChunkFragment(dtype, coord, box[0], box[1], null, part, true);
    }

    /** A read that raced with a flush or compaction retires its snapshot and runs again on the new one. */
    private static final class StaleSnapshotException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StaleSnapshotException(Throwable cause) {
            super("the file set changed under a read", cause, false, false);
        }
    }

    /**
     * Re-plans a read that raced with a commit, with short backoff (a read that overlaps the
     * rewrite of the base waits for it to finish), on the engine's own scheduler.
     */
    private Retry staleRetry() {
        return Retry.backoff(10, Duration.ofMillis(2)).maxBackoff(Duration.ofMillis(500))
                .filter(StaleSnapshotException.class::isInstance)
                .scheduler(options.resources().codecScheduler())
                .onRetryExhaustedThrow((spec, signal) -> signal.failure().getCause() instanceof RuntimeException r ? r
                        : new StorageException("the file set kept changing under a read", true, signal.failure()));
    }

    /**
     * Odd while a compaction replaces the base object, bumped again once the new snapshot is
     * published. A base block read that starts or ends in another epoch than its plan may hold
     * bytes of the other base incarnation; it is discarded and the read re-planned.
     */
    private final java.util.concurrent.atomic.AtomicLong baseEpoch = new java.util.concurrent.atomic.AtomicLong();

    private Mono<NdArray> readRegion(Snapshot s, long epoch, Resolved a, long[] start, long[] shape) {
        String name = a.name();
        ChunkGrid grid = a.grid();
        checkRegion(name, grid, start, shape);
        DType dtype = a.schema().dtype();
        if (!dtype.isStorable()) {
            return Mono.error(new InvalidArgumentException("array '" + name + "' has dtype " + dtype
                    + ", which has no chunk encoding"));
        }
        long count = ChunkGrid.product(shape);
        List<BlockJob> jobs = plan(s, epoch, a, start, shape);
        Mono<NdArray> read;
        try {
            read = dtype.elementSize() > 0
                    ? readFixed(name, a, dtype, start, shape, count, jobs)
                    : readVarLen(name, dtype, grid, start, shape, count, jobs);
        } catch (RuntimeException e) {
            jobs.forEach(BlockJob::cleanup);
            throw e;
        }
        return read.doFinally(sig -> jobs.forEach(BlockJob::cleanup));
    }

    /** A failure to read a layer object that a concurrent flush or compaction replaced or removed. */
    private boolean isStale(Snapshot s, Throwable e) {
        return snapshot != s && (e instanceof NotFoundException || e instanceof dev.atlas.error.RangeNotSatisfiableException
                || e instanceof PendingLayer.ReleasedException || e instanceof CorruptFileException);
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

    /**
     * One unit of fetching: a (part of a) decompressed block and the chunks to take from it.
     * {@code fetch} emits a buffer the subscriber owns; {@code cleanup} drops the job's hold on a
     * spill file (idempotent; called when the read ends).
     */
    private record BlockJob(String file, List<long[]> coords, List<ChunkAddress> addresses, Supplier<Mono<ByteBuf>> fetch,
            AtomicReference<Runnable> onDone) {
        void cleanup() {
            Runnable r = onDone.getAndSet(null);
            if (r != null) {
                r.run();
            }
        }
    }

    private List<BlockJob> plan(Snapshot s, long epoch, Resolved a, long[] start, long[] shape) {
        return plan(s, epoch, a, start, shape, java.util.Set.of());
    }

    /** Plans the blocks to fetch for a region, leaving out the pending chunks in {@code skipPending}. */
    private List<BlockJob> plan(Snapshot s, long epoch, Resolved a, long[] start, long[] shape,
            java.util.Set<GridCoord> skipPending) {
        Map<String, List<Object[]>> committedGroups = new LinkedHashMap<>();
        Map<Long, List<Object[]>> pendingGroups = new LinkedHashMap<>();
        PendingLayer p = s.pending();
        List<BlockJob> jobs = new ArrayList<>();
        Runnable planAll = () -> {
            a.grid().forEachChunkIn(start, shape, c -> {
                if (a.pending() != null) {
                    ChunkAddress addr = a.pending().chunks.get(GridCoord.of(c));
                    if (addr != null && !skipPending.isEmpty() && skipPending.contains(GridCoord.of(c))) {
                        return;
                    }
                    if (addr != null) {
                        pendingGroups.computeIfAbsent(addr.blockId(), k -> new ArrayList<>()).add(new Object[] {c.clone(), addr});
                        return;
                    }
                }
                if (a.committed() == null) {
                    return;
                }
                MergedView.ChunkSource src = a.committed().chunks().get(GridCoord.of(c));
                if (src != null) {
                    committedGroups.computeIfAbsent(src.layer() + "/" + src.address().blockId(), k -> new ArrayList<>())
                            .add(new Object[] {c.clone(), src});
                }
            });
            for (Map.Entry<Long, List<Object[]>> g : pendingGroups.entrySet()) {
                jobs.add(pendingJob(p, g.getKey(), g.getValue()));
            }
        };
        if (p != null) {
            synchronized (p) {
                try {
                    planAll.run();
                } catch (RuntimeException e) {
                    jobs.forEach(BlockJob::cleanup);
                    throw e;
                }
            }
        } else {
            planAll.run();
        }
        for (List<Object[]> g : committedGroups.values()) {
            MergedView.ChunkSource first = (MergedView.ChunkSource) g.get(0)[1];
            Layer layer = s.committed().layers().get(first.layer());
            BlockMeta b = layer.blocks().get(first.address().blockId());
            if (b == null) {
                jobs.forEach(BlockJob::cleanup);
                throw new CorruptFileException(layer.object().key(), "array '" + a.name() + "' chunk "
                        + Arrays.toString((long[]) g.get(0)[0]) + " refers to missing block " + first.address().blockId());
            }
            List<long[]> coords = new ArrayList<>(g.size());
            List<ChunkAddress> addrs = new ArrayList<>(g.size());
            for (Object[] o : g) {
                coords.add((long[]) o[0]);
                addrs.add(((MergedView.ChunkSource) o[1]).address());
            }
            ObjectInfo object = layer.object();
            String key = object.key();
            boolean isBase = first.layer() == 0;
            ReadCaches caches = options.caches();
            // Block cache over slab cache over storage. The epoch guard sits inside the block load:
            // bytes read while the base was being replaced fail the load and are never cached.
            jobs.add(new BlockJob(key, coords, addrs,
                    () -> caches.blocks().get(storage, object, b.fileOffset(), () -> decompressed(
                            guardBase(isBase, epoch, caches.slabs().read(storage, object, b.fileOffset(), b.compressedSize())),
                            b.codec(), b.uncompressedSize(), key + " block " + b.id())),
                    new AtomicReference<>()));
        }
        return jobs;
    }

    /** Fails a base read (releasing its bytes) that may have seen another incarnation of the base. */
    private Mono<ByteBuf> guardBase(boolean isBase, long epoch, Mono<ByteBuf> read) {
        if (!isBase) {
            return read;
        }
        if ((epoch & 1) != 0) {
            return Mono.error(new StaleSnapshotException(null));
        }
        return read.flatMap(buf -> {
            if (baseEpoch.get() != epoch) {
                buf.release();
                return Mono.error(new StaleSnapshotException(null));
            }
            return Mono.just(buf);
        });
    }

    /** Under the pending layer's monitor: a job for chunks of one pending block. */
    private BlockJob pendingJob(PendingLayer p, long blockId, List<Object[]> group) {
        long from = Long.MAX_VALUE;
        long to = 0;
        for (Object[] o : group) {
            ChunkAddress addr = (ChunkAddress) o[1];
            from = Math.min(from, addr.offset());
            to = Math.max(to, addr.offset() + addr.size());
        }
        PendingLayer.BlockRef ref = p.blockForRead(blockId, from, to);
        List<long[]> coords = new ArrayList<>(group.size());
        List<ChunkAddress> addrs = new ArrayList<>(group.size());
        long shift = ref.inMemory() != null ? from : 0;
        for (Object[] o : group) {
            ChunkAddress addr = (ChunkAddress) o[1];
            coords.add((long[]) o[0]);
            addrs.add(new ChunkAddress(0, addr.offset() - shift, addr.size()));
        }
        String what = "pending layer of " + base;
        if (ref.inMemory() != null) {
            byte[] bytes = ref.inMemory();
            return new BlockJob(what, coords, addrs, () -> Mono.fromSupplier(() -> Unpooled.wrappedBuffer(bytes)),
                    new AtomicReference<>());
        }
        TempFile temp = ref.temp();
        ByteBufAllocator alloc = options.resources().allocator();
        Supplier<Mono<ByteBuf>> fetch = () -> decompressed(Offload.run(options.resources().ioScheduler(), null, none -> {
            int n = (int) ref.storedSize();
            ByteBuf buf = alloc.directBuffer(n, n);
            try {
                temp.read(buf.nioBuffer(0, n), ref.tempOffset());
                buf.writerIndex(n);
                return buf;
            } catch (RuntimeException e) {
                buf.release();
                throw e;
            }
        }), ref.codec(), ref.uncompressedSize(), what + " block " + blockId);
        return new BlockJob(what, coords, addrs, fetch, new AtomicReference<>(temp::release));
    }

    /**
     * Decompresses the stored bytes {@code raw} emits on the codec scheduler; the emitted buffer is
     * owned by the subscriber. Whoever takes the raw buffer out of the holder releases it: the
     * decompression task, or doFinally when the read is cancelled before that task ran.
     */
    private Mono<ByteBuf> decompressed(Mono<ByteBuf> raw, CodecId codecId, long uncompressedSize, String what) {
        BlockCodec codec;
        try {
            codec = BlockCodecs.forId(codecId);
        } catch (RuntimeException e) {
            return Mono.error(e);
        }
        ByteBufAllocator alloc = options.resources().allocator();
        return raw.flatMap(r -> Offload.run(options.resources().codecScheduler(), r,
                        in -> codec.decompress(in, uncompressedSize, alloc, what)))
                .doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease);
    }

    private static ByteBuffer chunkSlice(ByteBuf block, ChunkAddress addr, String what) {
        return chunkSlice(block, addr, () -> what);
    }

    /** The chunk's bytes in {@code block}; {@code what} names the chunk in the error if it lies outside. */
    private static ByteBuffer chunkSlice(ByteBuf block, ChunkAddress addr, java.util.function.Supplier<String> what) {
        long end = addr.offset() + addr.size();
        if (end > block.readableBytes()) {
            throw new CorruptFileException(what.get(), "chunk at [" + addr.offset() + ", " + end + ") lies outside the "
                    + block.readableBytes() + "-byte block " + addr.blockId());
        }
        return block.nioBuffer(block.readerIndex() + (int) addr.offset(), (int) addr.size());
    }

    private Mono<NdArray> readFixed(String name, Resolved a, DType dtype, long[] start, long[] shape, long count,
            List<BlockJob> jobs) {
        long width = dtype.elementSize();
        if (count > (Integer.MAX_VALUE - 8) / width) {
            return Mono.error(new InvalidArgumentException("region of " + count + " " + dtype
                    + " elements exceeds one buffer; read it in parts"));
        }
        int bytes = (int) (count * width);
        return Mono.defer(() -> {
            ReadTarget dst = new ReadTarget(options.resources().allocator().directBuffer(bytes, bytes));
            AtomicBoolean handedOver = new AtomicBoolean();
            return fillTarget(name, a, dtype, start, shape, jobs, dst, 0, bytes)
                    .then(Mono.fromCallable(() -> {
                        ByteBuf result = dst.take();
                        if (result == null) {
                            throw new IllegalStateException("read result already released");
                        }
                        result.writerIndex(bytes);
                        handedOver.set(true);
                        return new NdArray(dtype, shape, result, null);
                    }))
                    .doFinally(s -> {
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
     */
    private Mono<Void> fillTarget(String name, Resolved a, DType dtype, long[] start, long[] shape, List<BlockJob> jobs,
            ReadTarget dst, int offset, int bytes) {
        long width = dtype.elementSize();
        byte[] fill = Fill.element(dtype, a.schema().fillValue());
        ChunkGrid grid = a.grid();
        // Chunks no layer stores read as fill. When the plan stores every chunk of the region (each
        // chunk is planned once, from its newest layer), the copies write every byte of the
        // destination and the fill pass, a full extra write of the result, is skipped.
        long storedChunks = 0;
        for (BlockJob j : jobs) {
            storedChunks += j.coords().size();
        }
        boolean needsFill = storedChunks < grid.chunkCountIn(start, shape);
        return Mono.defer(() -> {
            if (!dst.acquire()) {
                return Mono.error(new IllegalStateException("read target already released"));
            }
            try {
                if (needsFill) {
                    prefill(dst.buf.slice(offset, bytes), fill, bytes);
                }
            } finally {
                dst.release();
            }
            return Flux.fromIterable(jobs)
                    .flatMap(job -> job.fetch().get().map(blk -> {
                        try {
                            copyFixed(name, job, blk, dst, offset, grid, start, shape, width, dtype);
                            return job;
                        } finally {
                            blk.release();
                        }
                    }), options.readConcurrency())
                    .then();
        });
    }

    /**
     * Reads the region {@code [start, start + shape)} of a fixed-width array into {@code target} at
     * byte {@code offset}: its elements in C order, little-endian, the fill element where no layer
     * stores a chunk. Many reads can fill one target side by side (the stacked reads of the Atlas
     * store do).
     *
     * @param target not consumed: the caller keeps its hold and gives it up once every read into
     *     the target has terminated (a copy still running after a cancel takes its own hold)
     * @throws DTypeMismatchException (as an error signal) if {@code expected} is not the array's dtype
     * @throws InvalidArgumentException (as an error signal) for a variable-length dtype, a region
     *     outside the array, or bytes beyond the target's capacity
     */
    public Mono<Void> readInto(String name, DType expected, long[] start, long[] shape, ReadTarget target, long offset) {
        return Mono.defer(() -> {
            long epoch = baseEpoch.get();
            Snapshot s = snapshot;
            return Mono.defer(() -> {
                Resolved a = visible(s, name);
                DType actual = a.schema().dtype();
                if (expected != null && !actual.equals(expected)) {
                    return Mono.error(new DTypeMismatchException(name, actual, expected));
                }
                if (actual.elementSize() <= 0) {
                    return Mono.error(new InvalidArgumentException("array '" + name + "' has variable-length dtype " + actual
                            + "; read it with readArray"));
                }
                checkRegion(name, a.grid(), start, shape);
                long bytes = ChunkGrid.product(shape) * actual.elementSize();
                if (offset < 0 || bytes > target.capacity() - offset) {
                    return Mono.error(new InvalidArgumentException("region of " + bytes + " bytes at offset " + offset
                            + " does not fit a read target of " + target.capacity() + " bytes"));
                }
                List<BlockJob> jobs = plan(s, epoch, a, start, shape);
                return fillTarget(name, a, actual, start, shape, jobs, target, (int) offset, (int) bytes)
                        .doFinally(sig -> jobs.forEach(BlockJob::cleanup));
            }).onErrorMap(e -> isStale(s, e), StaleSnapshotException::new);
        }).retryWhen(staleRetry());
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

    /** Copies the region's part of every chunk of one job into {@code dst}; skipped if the read was abandoned. */
    private static void copyFixed(String name, BlockJob job, ByteBuf blk, ReadTarget d, int offset, ChunkGrid grid,
            long[] start, long[] shape, long width, DType dtype) {
        if (!d.acquire()) {
            return;
        }
        ByteBuf dst = d.buf;
        try {
            for (int i = 0; i < job.coords().size(); i++) {
                long[] coord = job.coords().get(i);
                ChunkAddress addr = job.addresses().get(i);
                // Built only for an error: this loop runs once per chunk of every read.
                java.util.function.Supplier<String> what = () -> job.file() + " (array '" + name + "', chunk "
                        + Arrays.toString(coord) + ")";
                ByteBuffer chunk = chunkSlice(blk, addr, what);
                ChunkCodec.checkFixed(dtype, chunk.remaining(), grid.chunkElementCount(coord), what);
                int base = blk.readerIndex() + (int) addr.offset();
                Overlap.forEachRun(grid.chunkOrigin(coord), grid.chunkExtent(coord), start, shape,
                        (to, ro, len) -> dst.setBytes(offset + (int) (ro * width), blk, base + (int) (to * width),
                                (int) (len * width)));
            }
        } finally {
            d.release();
        }
    }

    private Mono<NdArray> readVarLen(String name, DType dtype, ChunkGrid grid, long[] start, long[] shape, long count,
            List<BlockJob> jobs) {
        if (count > Integer.MAX_VALUE - 8) {
            return Mono.error(new InvalidArgumentException("region of " + count + " elements is too large; read it in parts"));
        }
        AtomicReferenceArray<byte[]> out = new AtomicReferenceArray<>((int) count);
        return Flux.fromIterable(jobs)
                .flatMap(job -> job.fetch().get().map(blk -> {
                    try {
                        for (int i = 0; i < job.coords().size(); i++) {
                            long[] coord = job.coords().get(i);
                            String what = job.file() + " (array '" + name + "', chunk " + Arrays.toString(coord) + ")";
                            ByteBuffer chunk = chunkSlice(blk, job.addresses().get(i), what);
                            List<byte[]> elems = decodeVarLen(dtype, chunk, grid.chunkElementCount(coord), what);
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

    private static List<byte[]> decodeVarLen(DType dtype, ByteBuffer chunk, long n, String what) {
        return dtype.kind() == DType.Kind.STRING ? ChunkCodec.decodeUtf8(chunk, n, what) : ChunkCodec.decodeVarLen(chunk, n, what);
    }

    private Mono<ArrayStats> computeStats(Snapshot s, long epoch, String name) {
        Resolved a = visible(s, name);
        ChunkGrid grid = a.grid();
        DType dtype = a.schema().dtype();
        long[] shape = grid.shape();
        StatsKernel.Accumulator total = StatsKernel.accumulator(dtype, a.schema().fillValue());
        // Pending chunks whose statistics were taken at write time are not read back.
        java.util.Set<GridCoord> known = new java.util.HashSet<>();
        PendingLayer p = s.pending();
        if (p != null && a.pending() != null) {
            synchronized (p) {
                for (Map.Entry<GridCoord, ChunkAddress> e : a.pending().chunks.entrySet()) {
                    PendingLayer.ChunkStats cs = a.pending().chunkStats.get(e.getKey());
                    if (cs != null && cs.ready()) {
                        known.add(e.getKey());
                        total.merge(cs.acc);
                    }
                }
            }
        }
        List<BlockJob> jobs = plan(s, epoch, a, new long[shape.length], shape, known);
        return Flux.fromIterable(jobs)
                .flatMap(job -> job.fetch().get().map(blk -> {
                    try {
                        StatsKernel.Accumulator acc = StatsKernel.accumulator(dtype, a.schema().fillValue());
                        for (int i = 0; i < job.coords().size(); i++) {
                            long[] coord = job.coords().get(i);
                            String what = job.file() + " (array '" + name + "', chunk " + Arrays.toString(coord) + ")";
                            ByteBuffer chunk = chunkSlice(blk, job.addresses().get(i), what);
                            long n = grid.chunkElementCount(coord);
                            if (dtype.elementSize() > 0) {
                                ChunkCodec.checkFixed(dtype, chunk.remaining(), n, what);
                                acc.addFixed(chunk, n);
                            } else {
                                acc.addVarLen(decodeVarLen(dtype, chunk, n, what));
                            }
                        }
                        return acc;
                    } finally {
                        blk.release();
                    }
                }), options.readConcurrency())
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
                .doFinally(sig -> jobs.forEach(BlockJob::cleanup));
    }

    // ------------------------------------------------------------------ mutations

    private <T> Mono<T> mutation(Supplier<Mono<T>> op) {
        return gate.exclusive(() -> {
            if (readOnly) {
                return Mono.error(new InvalidArgumentException(base + " was opened read-only as of an older layer"));
            }
            if (closed) {
                return Mono.error(new InvalidArgumentException(base + " is closed"));
            }
            return op.get();
        });
    }

    private PendingLayer pendingForWrite() {
        Snapshot s = snapshot;
        if (s.pending() != null) {
            return s.pending();
        }
        PendingLayer p = newPendingLayer(options.writeConcurrency());
        snapshot = new Snapshot(s.committed(), p);
        return p;
    }

    /** The storage's file adoption when these options use it, else null. */
    private dev.atlas.storage.FileAdoption adoption() {
        return options.adoptSpillFiles() ? storage.fileAdoption() : null;
    }

    /**
     * A pending layer spilling where its file can be adopted as the layer object (the storage's
     * staging directory, when it can adopt files), else into the options' temp directory.
     */
    private PendingLayer newPendingLayer(int spillConcurrency) {
        dev.atlas.storage.FileAdoption a = adoption();
        if (a == null) {
            java.nio.file.Path dir = options.tempDirectory();
            return new PendingLayer(options.codec(), options.blockTargetSize(), options.resources(), () -> dir,
                    "atlas-pending-", false, spillConcurrency, 0, options.soloChunkSize());
        }
        String key = base;
        return new PendingLayer(options.codec(), options.blockTargetSize(), options.resources(),
                () -> a.stagingDirectory(key), a.stagedFilePrefix(), true, spillConcurrency, options.syncBehindBytes(),
                options.soloChunkSize());
    }

    /**
     * Writes a finished layer as {@code key}: the spill file itself when the storage adopts files
     * and the file is exactly the data region, else a copy of the blocks followed by {@code tail}.
     */
    private Mono<ObjectInfo> writeLayer(PendingLayer p, String key, byte[] tail, boolean ifAbsent) {
        return Mono.defer(() -> {
            dev.atlas.storage.FileAdoption a = adoption();
            if (a != null && p.spillFileIsDataRegion()) {
                return p.adoptSpillFile(a, key, tail, ifAbsent);
            }
            Flux<ByteBuf> body = Flux.concat(p.dataRegion(), Mono.fromSupplier(() -> Unpooled.wrappedBuffer(tail)));
            return ifAbsent ? storage.putIfAbsent(key, body) : storage.put(key, body);
        });
    }

    /**
     * Defines array {@code name} in the pending layer.
     *
     * @throws AlreadyExistsException (as an error signal) if a visible array has that name
     */
    public Mono<Void> defineArray(String name, ArraySpec spec) {
        return mutation(() -> Mono.fromRunnable(() -> {
            if (name == null || name.isEmpty()) {
                throw new InvalidArgumentException("array name must not be empty");
            }
            Snapshot s = snapshot;
            if (resolve(s, name) != null) {
                throw new AlreadyExistsException("array '" + name + "' already exists in " + base);
            }
            MergedView.VisibleArray c = s.committed().view().array(name);
            ArrayMeta schema = new ArrayMeta(name, spec.dtype(), spec.shape(), spec.dimensionNames(), spec.chunkShape(),
                    List.of(), spec.fill(), false, Attributes.EMPTY);
            pendingForWrite().define(schema, c == null ? null : c.meta());
        }));
    }

    /**
     * Deletes a visible array: it disappears from every read at once; its bytes are reclaimed by
     * {@link #compact}. A later definition of the same name starts empty.
     */
    public Mono<Void> delete(String name) {
        return mutation(() -> Mono.fromRunnable(() -> {
            Snapshot s = snapshot;
            visible(s, name);
            MergedView.VisibleArray c = s.committed().view().array(name);
            pendingForWrite().delete(name, c == null ? null : c.meta());
        }));
    }

    /** Sets attribute {@code key} of a visible array (last write wins). */
    public Mono<Void> setAttribute(String name, String key, AttributeValue value) {
        return mutation(() -> Mono.fromRunnable(() -> {
            if (key == null || value == null) {
                throw new InvalidArgumentException("attribute key and value must not be null");
            }
            if (options.footerVersion() == Footer.VERSION_V4 && !value.kind().inFooterV4()) {
                throw new InvalidArgumentException("footer v4 cannot hold attribute variant " + value.kind().displayName());
            }
            PendingLayer.Entry e = entryForWrite(visible(snapshot, name));
            pendingForWrite().setAttribute(e, key, value);
        }));
    }

    private PendingLayer.Entry entryForWrite(Resolved r) {
        if (r.pending() != null) {
            return r.pending();
        }
        Map<String, AttributeValue> attrs = new LinkedHashMap<>();
        r.attributes().forEach(e -> attrs.put(e.getKey(), e.getValue()));
        return pendingForWrite().copy(r.schema(), attrs);
    }

    /**
     * Writes {@code data} into the region of array {@code name} that starts at {@code start}.
     * Chunks the region covers partly are read, patched and rewritten (read-modify-write). The
     * change becomes visible to readers at once, as a whole, and durable with {@link #flush}.
     *
     * @param data not released: the caller keeps ownership
     * @throws DTypeMismatchException, InvalidArgumentException (as error signals) on a wrong dtype,
     *     rank or bounds, before anything changes
     */
    public Mono<Void> writeArray(String name, long[] start, NdArray data) {
        return mutation(() -> Mono.defer(() -> {
            Snapshot s = snapshot;
            Resolved r = visible(s, name);
            DType dtype = r.schema().dtype();
            if (!dtype.equals(data.dtype())) {
                throw new DTypeMismatchException(name, dtype, data.dtype());
            }
            long[] shape = data.shape();
            checkRegion(name, r.grid(), start, shape);
            if (ChunkGrid.product(shape) == 0) {
                return Mono.empty();
            }
            if (dtype.elementSize() > 0 && data.buffer() == null) {
                throw new InvalidArgumentException("fixed-width data without a buffer");
            }
            List<long[]> coords = new ArrayList<>();
            r.grid().forEachChunkIn(start, shape, c -> coords.add(c.clone()));
            PendingLayer.Entry entry = entryForWrite(r);
            PendingLayer p = pendingForWrite();
            long epoch = p.writerEpoch();
            List<ChunkAddress> staged = new ArrayList<>(coords.size());
            List<PendingLayer.ChunkStats> stats = new ArrayList<>(coords.size());
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
                                        StatsKernel.accumulator(dtype, fillValue), n, stats);
                                staged.add(st.addresses().get(0));
                                return p.spillAhead(st.sealed());
                            })
                            : encodeChunk(r, c, start, data)
                            .flatMap(bytes -> {
                                stats.add(PendingLayer.ChunkStats.of(chunkStats(dtype, fillValue, bytes, grid.chunkElementCount(c))));
                                PendingLayer.Staged st = p.stage(epoch, List.of(bytes));
                                staged.add(st.addresses().get(0));
                                return p.spillAhead(st.sealed());
                            }), 0)
                    .then(Mono.<Void>fromRunnable(() -> p.publish(epoch, entry, coords, staged, stats)))
                    .doOnCancel(p::fence);
        }));
    }

    /**
     * Streams slabs (e.g. time steps) into array {@code name} along its first axis: the first slab
     * lands at {@code start}, each next one right after the previous along axis 0. Every slab has
     * the array's rank and the same extent on the other axes; its axis-0 extent is free. Slabs are
     * requested one at a time (backpressure) and gathered into one band of whole chunk rows, which
     * is written as soon as it is complete, so memory stays bounded by one band of chunks plus the
     * pending layer's open block, however long the stream; the last partial band is written when
     * the stream completes. Flush as usual to make it durable. Fixed-width dtypes only.
     *
     * @param slabs each slab is consumed: closed once its rows are copied (or on error/cancel)
     * @return the number of axis-0 rows written
     * @throws InvalidArgumentException, DTypeMismatchException (as error signals) on a slab of the
     *     wrong dtype, rank or extent, or one that would run past the array's end; rows of complete
     *     bands written before it stay written (pending, like any write)
     */
    public Mono<Long> writeArray(String name, long[] start, org.reactivestreams.Publisher<NdArray> slabs) {
        return Mono.defer(() -> {
            Resolved r = visible(snapshot, name);
            DType dtype = r.schema().dtype();
            ChunkGrid grid = r.grid();
            if (dtype.elementSize() <= 0) {
                throw new InvalidArgumentException("streamed writes need a fixed-width dtype; array '" + name + "' is " + dtype);
            }
            if (start.length != grid.rank() || grid.rank() == 0) {
                throw new InvalidArgumentException("array '" + name + "' has rank " + grid.rank() + ", start "
                        + Arrays.toString(start) + " does not (or the array is a scalar)");
            }
            SlabStream st = new SlabStream(name, dtype, grid, start.clone(), options.resources().allocator());
            return Flux.from(slabs)
                    .concatMap(slab -> {
                        List<SlabStream.Band> full;
                        try {
                            full = st.accept(slab);
                        } finally {
                            slab.close();
                        }
                        return Flux.fromIterable(full).concatMap(this::writeBand, 0);
                    }, 0)
                    .thenMany(Flux.defer(() -> Flux.fromIterable(st.finish())).concatMap(this::writeBand, 0))
                    .then(Mono.fromSupplier(() -> st.rows))
                    .doOnDiscard(NdArray.class, NdArray::close)
                    .doFinally(sig -> st.release());
        });
    }

    private Mono<Void> writeBand(SlabStream.Band b) {
        return Mono.defer(() -> b.chunks() == null ? writeArray(b.name(), b.start(), b.data()) : writeWholeChunks(b))
                .doFinally(sig -> b.data().close());
    }

    /**
     * Writes a band of whole chunks already laid out chunk after chunk, as blocks that hold slices
     * of the band (no copy): the stream copied each slab's rows straight to their places in the
     * chunks. Checks that the array still has the grid the band was laid out for.
     */
    private Mono<Void> writeWholeChunks(SlabStream.Band b) {
        return mutation(() -> Mono.defer(() -> {
            chunkMajorBands.increment();
            Resolved r = visible(snapshot, b.name());
            DType dtype = r.schema().dtype();
            if (!dtype.equals(b.data().dtype()) || !Arrays.equals(r.grid().shape(), b.grid().shape())
                    || !Arrays.equals(r.grid().chunkShape(), b.grid().chunkShape())) {
                throw new InvalidArgumentException("array '" + b.name() + "' was redefined during the streamed write");
            }
            PendingLayer.Entry entry = entryForWrite(r);
            PendingLayer p = pendingForWrite();
            long epoch = p.writerEpoch();
            FillValue fill = r.schema().fillValue();
            List<PendingLayer.ChunkStats> stats = new ArrayList<>(b.chunks().size());
            PendingLayer.Staged st = p.adopt(epoch, b.data().buffer(), b.lengths(), b.counts(),
                    () -> StatsKernel.accumulator(dtype, fill), stats);
            return p.spillAhead(st.sealed())
                    .then(Mono.<Void>fromRunnable(() -> p.publish(epoch, entry, b.chunks(), st.addresses(), stats)))
                    .doOnCancel(p::fence);
        }));
    }

    /** The gathering state of one streamed write: the band of chunk rows being filled. */
    private static final class SlabStream {
        /**
         * A band of rows to write. Row-major ({@code chunks} null): {@code data} is the region at
         * {@code start}. Chunk-major: {@code data}'s buffer holds the whole chunks {@code chunks}
         * one after the other, {@code lengths} bytes and {@code counts} elements each.
         */
        record Band(String name, long[] start, NdArray data, ChunkGrid grid, List<long[]> chunks, int[] lengths, long[] counts) {
        }

        final String name;
        final DType dtype;
        final ChunkGrid grid;
        final long[] start;
        final ByteBufAllocator alloc;
        long[] rowShape;
        long rowBytes;
        long next;
        long rows;
        ByteBuf band;
        long bandStart;
        long bandRows;
        long bandFilled;
        /**
         * Whether the stream covers whole chunks on every axis after the first (it starts and ends
         * on chunk boundaries or the array's end there): then each band that starts on a chunk
         * row is laid out chunk-major, its slabs' rows copied straight to their places in the
         * chunks, and its chunks become blocks without another copy. Null until the first slab.
         */
        Boolean aligned;
        /** The current band's chunks, their origins, extents and byte offsets (chunk-major bands only). */
        List<long[]> bandChunks;
        long[][] chunkOrigins;
        long[][] chunkExtents;
        int[] chunkOffsets;

        SlabStream(String name, DType dtype, ChunkGrid grid, long[] start, ByteBufAllocator alloc) {
            this.name = name;
            this.dtype = dtype;
            this.grid = grid;
            this.start = start;
            this.alloc = alloc;
            this.next = start[0];
        }

        /** Copies the slab's rows in; returns the bands it completed (owned by the caller). */
        synchronized List<Band> accept(NdArray slab) {
            if (!slab.dtype().equals(dtype)) {
                throw new DTypeMismatchException(name, dtype, slab.dtype());
            }
            long[] sh = slab.shape();
            if (sh.length != grid.rank()) {
                throw new InvalidArgumentException("slab of shape " + Arrays.toString(sh) + " for array '" + name
                        + "' of rank " + grid.rank());
            }
            long[] rest = Arrays.copyOfRange(sh, 1, sh.length);
            if (rowShape == null) {
                long[] region = sh.clone();
                region[0] = 0;
                checkRegion(name, grid, start, region);
                rowShape = rest;
                rowBytes = ChunkGrid.product(rest) * dtype.elementSize();
                if (rowBytes * grid.chunkShape(0) > Integer.MAX_VALUE - 8) {
                    throw new InvalidArgumentException("one band of chunk rows of '" + name + "' ("
                            + grid.chunkShape(0) + " x " + rowBytes + " bytes) exceeds one buffer; stream a narrower region");
                }
                boolean a = true;
                for (int i = 1; i < grid.rank(); i++) {
                    long end = start[i] + rest[i - 1];
                    a &= start[i] % grid.chunkShape(i) == 0 && (end == grid.shape(i) || end % grid.chunkShape(i) == 0);
                }
                aligned = a;
            } else if (!Arrays.equals(rest, rowShape)) {
                throw new InvalidArgumentException("slab of shape " + Arrays.toString(sh) + " does not match the stream's "
                        + "extent " + Arrays.toString(rowShape) + " on the axes after the first");
            }
            if (sh[0] > grid.shape(0) - next) {
                throw new InvalidArgumentException("a slab of " + sh[0] + " rows at row " + next + " runs past array '"
                        + name + "' of shape " + Arrays.toString(grid.shape()));
            }
            List<Band> done = new ArrayList<>();
            ByteBuf src = slab.buffer();
            long copied = 0;
            try {
                while (copied < sh[0]) {
                    if (band == null) {
                        bandStart = next;
                        long c0 = grid.chunkShape(0);
                        bandRows = Math.min((next / c0 + 1) * c0, grid.shape(0)) - next;
                        int cap = (int) (bandRows * rowBytes);
                        band = alloc.directBuffer(cap, cap);
                        bandFilled = 0;
                        layOutChunks(aligned && bandStart % c0 == 0);
                    }
                    long n = Math.min(sh[0] - copied, bandRows - bandFilled);
                    int from = src.readerIndex() + (int) (copied * rowBytes);
                    if (bandChunks == null) {
                        band.setBytes((int) (bandFilled * rowBytes), src, from, (int) (n * rowBytes));
                    } else {
                        // The rows [next, next + n) go to their places in each chunk of the band.
                        long[] at = start.clone();
                        at[0] = next;
                        long[] rows = regionShape(n);
                        int w = (int) dtype.elementSize();
                        ByteBuf dst = band;
                        for (int j = 0; j < bandChunks.size(); j++) {
                            int base = chunkOffsets[j];
                            Overlap.forEachRun(chunkOrigins[j], chunkExtents[j], at, rows, (to, ro, len) -> dst.setBytes(
                                    base + (int) (to * w), src, from + (int) (ro * w), (int) (len * w)));
                        }
                    }
                    bandFilled += n;
                    copied += n;
                    next += n;
                    rows += n;
                    if (bandFilled == bandRows) {
                        done.add(takeBand());
                    }
                }
                return done;
            } catch (RuntimeException e) {
                done.forEach(b -> b.data().close());
                throw e;
            }
        }

        /** Plans the new band's layout: chunk-major (its whole chunks in grid order) or row-major. */
        private void layOutChunks(boolean chunkMajor) {
            bandChunks = null;
            if (!chunkMajor) {
                return;
            }
            long[] at = start.clone();
            at[0] = bandStart;
            List<long[]> coords = new ArrayList<>();
            grid.forEachChunkIn(at, regionShape(bandRows), c -> coords.add(c.clone()));
            chunkOrigins = new long[coords.size()][];
            chunkExtents = new long[coords.size()][];
            chunkOffsets = new int[coords.size()];
            long off = 0;
            for (int j = 0; j < coords.size(); j++) {
                chunkOrigins[j] = grid.chunkOrigin(coords.get(j));
                chunkExtents[j] = grid.chunkExtent(coords.get(j));
                chunkOffsets[j] = (int) off;
                off += ChunkGrid.product(chunkExtents[j]) * dtype.elementSize();
            }
            if (off != bandRows * rowBytes) {
                throw new IllegalStateException("chunks of a band (" + off + " bytes) do not tile it (" + bandRows * rowBytes + ")");
            }
            bandChunks = coords;
        }

        /** The region's shape for {@code rows} rows. */
        private long[] regionShape(long rows) {
            long[] shape = new long[grid.rank()];
            shape[0] = rows;
            System.arraycopy(rowShape, 0, shape, 1, rowShape.length);
            return shape;
        }

        private Band takeBand() {
            ByteBuf b = band;
            band = null;
            long[] at = start.clone();
            at[0] = bandStart;
            long[] shape = regionShape(bandFilled);
            if (bandChunks != null && bandFilled < bandRows) {
                // A chunk-major band the stream left unfinished: its chunks are partial, so it is
                // written as a region (read-modify-write), rearranged row-major first.
                ByteBuf rm = alloc.directBuffer((int) (bandFilled * rowBytes));
                try {
                    int w = (int) dtype.elementSize();
                    for (int j = 0; j < bandChunks.size(); j++) {
                        int base = chunkOffsets[j];
                        Overlap.forEachRun(chunkOrigins[j], chunkExtents[j], at, shape, (to, ro, len) -> rm.setBytes(
                                (int) (ro * w), b, base + (int) (to * w), (int) (len * w)));
                    }
                } catch (RuntimeException e) {
                    rm.release();
                    throw e;
                } finally {
                    b.release();
                }
                bandChunks = null;
                rm.writerIndex((int) (bandFilled * rowBytes));
                return new Band(name, at, NdArray.wrap(dtype, shape, rm), grid, null, null, null);
            }
            b.writerIndex((int) (bandFilled * rowBytes));
            if (bandChunks == null) {
                return new Band(name, at, NdArray.wrap(dtype, shape, b), grid, null, null, null);
            }
            int[] lengths = new int[bandChunks.size()];
            long[] counts = new long[bandChunks.size()];
            for (int j = 0; j < lengths.length; j++) {
                counts[j] = ChunkGrid.product(chunkExtents[j]);
                lengths[j] = (int) (counts[j] * dtype.elementSize());
            }
            List<long[]> chunks = bandChunks;
            bandChunks = null;
            return new Band(name, at, NdArray.wrap(dtype, shape, b), grid, chunks, lengths, counts);
        }

        /** The last, partial band (if any). */
        synchronized List<Band> finish() {
            return band != null && bandFilled > 0 ? List.of(takeBand()) : List.of();
        }

        /** Frees the band being filled (a cancel may come while a slab is being copied: hence the monitor). */
        synchronized void release() {
            if (band != null) {
                band.release();
                band = null;
            }
        }
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

    /** The encoded bytes of one chunk after writing the data's part of it. */
    private Mono<ByteBuffer> encodeChunk(Resolved r, long[] coord, long[] start, NdArray data) {
        ChunkGrid grid = r.grid();
        long[] origin = grid.chunkOrigin(coord);
        long[] extent = grid.chunkExtent(coord);
        long[] dataShape = data.shape();
        boolean full = true;
        for (int i = 0; i < origin.length; i++) {
            full &= start[i] <= origin[i] && origin[i] + extent[i] <= start[i] + dataShape[i];
        }
        DType dtype = r.schema().dtype();
        if (full) {
            return Mono.fromCallable(() -> patch(dtype, ChunkGrid.product(extent), null, origin, extent, start, data));
        }
        return readRegion(snapshot, baseEpoch.get(), r, origin, extent).map(current -> {
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

    /**
     * Commits the pending layer as sidecar {@code {stem}.N.af} (N = one more than any layer number
     * seen) with one create-if-absent put, then rewrites the statistics. A failure before the put
     * completes leaves the pending layer in place, so the flush can be retried. No pending changes:
     * no layer is written (only a stats file known to be stale is rewritten).
     *
     * @throws ConflictException (as an error signal) if another writer created sidecar N first
     */
    public Mono<Void> flush() {
        return mutation(this::flushLocked);
    }

    private Mono<Void> flushLocked() {
        return Mono.defer(() -> {
            Snapshot s = snapshot;
            PendingLayer p = s.pending();
            if (p == null || p.isEmpty()) {
                if (s.committed().statsStatus() == StatsStatus.STALE) {
                    return refreshStatsLocked();
                }
                return statsFileStale ? writeStats(s.committed()) : Mono.empty();
            }
            long n = s.committed().lastNumber() + 1;
            String key = LayerNames.sidecar(stem, n);
            ObjectInfo knownBase = s.committed().layers().get(0).object();
            // Background spills first (a failed one is retried below with the rest).
            return deleteUncommitted().then(p.awaitSpills(0)).onErrorResume(e -> !(e instanceof PendingLayer.ReleasedException), e -> Mono.empty())
                    .then(Mono.defer(() -> p.spill(p.sealAll()))).then(Mono.defer(() -> {
                Footer footer = p.footer(options.footerVersion(), n, base);
                byte[] payload = FooterCodec.encodeFooter(footer);
                byte[] tail = concat(payload, Trailer.trailer(payload.length, Trailer.LAYER_MAGIC));
                // Everything that can fail is computed before the put: after it, only references move.
                Map<Long, BlockMeta> blocks = blockIndex(footer, key, dataRegionSize(footer));
                List<Footer> footers = new ArrayList<>();
                s.committed().layers().forEach(l -> footers.add(l.footer()));
                footers.add(footer);
                MergedView view = MergedView.of(footers, base);
                long footerCrc = crc(ByteBuffer.wrap(payload));
                return statsAfter(s, p)
                        .flatMap(stats -> checkBaseUnchanged(knownBase).then(writeLayer(p, key, tail, true)
                                .onErrorMap(AlreadyExistsException.class, e -> new ConflictException("sidecar " + key
                                        + " was created by another writer; reopen the file set and retry", e)))
                        .flatMap(info -> {
                            List<Layer> layers = new ArrayList<>(s.committed().layers());
                            layers.add(new Layer(info, footer, blocks, n, footerCrc));
                            Committed c = new Committed(List.copyOf(layers), view,
                                    Collections.unmodifiableMap(new LinkedHashMap<>(stats)), StatsStatus.CURRENT,
                                    s.committed().absorbed(), n);
                            snapshot = new Snapshot(c, null);
                            p.release();
                            return writeStats(c);
                        }));
            }));
        });
    }

    private static long dataRegionSize(Footer f) {
        long n = 0;
        for (BlockMeta b : f.blocks()) {
            n = Math.addExact(n, b.compressedSize());
        }
        return n;
    }

    /**
     * Fails with {@link ConflictException} when the base object is no longer the one this handle
     * opened: another writer compacted, and a sidecar numbered from our view could be one its base
     * already absorbed (and would be ignored).
     */
    private Mono<Void> checkBaseUnchanged(ObjectInfo known) {
        return storage.head(known.key()).flatMap(now -> now.equals(known) ? Mono.<Void>empty()
                : Mono.error(new ConflictException("base " + known.key() + " was rewritten by another writer; reopen the"
                        + " file set and retry", null)));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * The stats table after committing {@code p}: arrays it deleted are dropped, arrays it defined or
     * wrote are recomputed; when the loaded table is not known to be current, every array is.
     */
    private Mono<Map<String, ArrayStats>> statsAfter(Snapshot s, PendingLayer p) {
        Committed c = s.committed();
        boolean all = c.statsStatus() != StatsStatus.CURRENT;
        List<String> names = new ArrayList<>();
        Map<String, ArrayStats> base0 = new LinkedHashMap<>();
        if (!all) {
            base0.putAll(c.stats());
            for (PendingLayer.Entry e : p.entries()) {
                if (e.schema == null || e.buried != null) {
                    base0.remove(e.name);
                }
                if (e.schema != null && (e.fresh || !e.chunks.isEmpty())) {
                    names.add(e.name);
                }
            }
        } else {
            names.addAll(listArrays(s));
        }
        return Flux.fromIterable(names)
                .concatMap(name -> computeStats(s, baseEpoch.get(), name), 0)
                .collectList()
                .map(list -> {
                    Map<String, ArrayStats> out = new LinkedHashMap<>(base0);
                    for (ArrayStats st : list) {
                        out.put(st.name(), st);
                    }
                    List<String> visibleNow = listArrays(s);
                    out.keySet().retainAll(visibleNow);
                    return out;
                });
    }


    private static Committed withStats(Committed c, Map<String, ArrayStats> stats) {
        return new Committed(c.layers(), c.view(), Collections.unmodifiableMap(new LinkedHashMap<>(stats)), StatsStatus.CURRENT,
                c.absorbed(), c.lastNumber());
    }

    /** Writes the stats file of {@code c} (stamped with its stack). */
    private Mono<Void> writeStats(Committed c) {
        return Mono.defer(() -> {
            // Crate 0.10 reads unversioned stats: a file set kept at footer v4 keeps that layout too.
            int version = options.footerVersion() == Footer.VERSION_V4 ? StatsFile.UNVERSIONED : StatsFile.VERSION_V1;
            StatsFile f = new StatsFile(version, new ArrayList<>(c.stats().values()));
            byte[] bytes = Trailer.statsFile(f, c.stamp());
            statsFileStale = true;
            return storage.put(LayerNames.stats(stem), Mono.fromSupplier(() -> Unpooled.wrappedBuffer(bytes)))
                    .doOnSuccess(info -> statsFileStale = false)
                    .onErrorMap(e -> !(e instanceof StaleStatsWriteException), e -> new StaleStatsWriteException(base, e))
                    .then();
        });
    }

    /** The layers were committed but the statistics file could not be written; retrying {@link #flush} rewrites it. */
    public static final class StaleStatsWriteException extends StorageException {
        private static final long serialVersionUID = 1L;

        StaleStatsWriteException(String base, Throwable cause) {
            super("the layers of " + base + " are committed, but writing its statistics failed (" + cause.getMessage()
                    + "); they are stale until the next flush", cause instanceof StorageException se && se.retryable(), cause);
        }
    }

    /** Recomputes every array's statistics from the committed layers and rewrites the stats file. */
    public Mono<Void> refreshStats() {
        return mutation(this::refreshStatsLocked);
    }

    private Mono<Void> refreshStatsLocked() {
        return Mono.defer(() -> {
            Snapshot s = snapshot;
            Snapshot committedOnly = new Snapshot(s.committed(), null);
            List<String> names = new ArrayList<>(committedOnly.committed().view().arrays().keySet());
            return Flux.fromIterable(names).concatMap(n -> computeStats(committedOnly, baseEpoch.get(), n), 0).collectList().flatMap(list -> {
                Map<String, ArrayStats> m = new LinkedHashMap<>();
                list.forEach(st -> m.put(st.name(), st));
                Committed c = withStats(s.committed(), m);
                snapshot = new Snapshot(c, snapshot.pending());
                return writeStats(c);
            });
        });
    }

    /**
     * Merges every layer into a new base: flushes pending changes first, copies each visible chunk
     * once (dropping deleted arrays and overwritten chunks), writes the base with a plain put (it
     * records the highest sidecar number it absorbed, so the old sidecars stop counting the moment it
     * is visible), writes fresh statistics, then deletes the absorbed sidecars oldest first. A crash
     * at any step leaves the state before or after the compaction.
     */
    public Mono<Void> compact() {
        // The compaction rewrites the statistics, so a failed stats write of its flush does not stop it.
        return mutation(() -> flushLocked().onErrorResume(StaleStatsWriteException.class, e -> Mono.empty())
                .then(deleteUncommitted()).then(Mono.defer(this::compactLocked)));
    }

    private Mono<Void> compactLocked() {
        Snapshot s = snapshot;
        Committed c = s.committed();
        Snapshot view = new Snapshot(c, null);
        PendingLayer out = newPendingLayer(1);
        // Group every visible chunk by the block it lives in, so each block is fetched once.
        Map<String, List<Object[]>> byBlock = new LinkedHashMap<>();
        Map<String, StatsKernel.Accumulator> accs = new LinkedHashMap<>();
        Map<String, PendingLayer.Entry> entries = new HashMap<>();
        for (MergedView.VisibleArray a : c.view().arrays().values()) {
            PendingLayer.Entry e = out.define(a.meta().withChunks(List.of()).withAttributes(Attributes.EMPTY), null);
            a.attributes().forEach(kv -> out.setAttribute(e, kv.getKey(), kv.getValue()));
            entries.put(a.name(), e);
            accs.put(a.name(), StatsKernel.accumulator(a.meta().dtype(), a.meta().fillValue()));
            for (Map.Entry<GridCoord, MergedView.ChunkSource> ch : a.chunks().entrySet()) {
                MergedView.ChunkSource src = ch.getValue();
                byBlock.computeIfAbsent(src.layer() + "/" + src.address().blockId(), k -> new ArrayList<>())
                        .add(new Object[] {a, ch.getKey().toArray(), src});
            }
        }
        List<BlockJob> jobs = new ArrayList<>();
        List<List<Object[]>> groups = new ArrayList<>(byBlock.values());
        for (List<Object[]> g : groups) {
            MergedView.ChunkSource first = (MergedView.ChunkSource) g.get(0)[2];
            Layer layer = c.layers().get(first.layer());
            BlockMeta b = layer.blocks().get(first.address().blockId());
            if (b == null) {
                out.release();
                return Mono.error(new CorruptFileException(layer.object().key(), "a chunk refers to missing block "
                        + first.address().blockId()));
            }
            String key = layer.object().key();
            jobs.add(new BlockJob(key, List.of(), List.of(), () -> decompressed(storage.read(key, b.fileOffset(),
                    b.compressedSize()), b.codec(), b.uncompressedSize(), key + " block " + b.id()), new AtomicReference<>()));
        }
        long absorbedUpTo = c.lastNumber();
        Mono<Void> copy = Flux.range(0, groups.size())
                .flatMap(i -> jobs.get(i).fetch().get().flatMap(blk -> {
                    List<PendingLayer.Block> sealed = new ArrayList<>();
                    try {
                        for (Object[] o : groups.get(i)) {
                            MergedView.VisibleArray a = (MergedView.VisibleArray) o[0];
                            long[] coord = (long[]) o[1];
                            MergedView.ChunkSource src = (MergedView.ChunkSource) o[2];
                            String what = jobs.get(i).file() + " (array '" + a.name() + "', chunk " + Arrays.toString(coord) + ")";
                            ByteBuffer chunk = chunkSlice(blk, src.address(), what);
                            long n = a.grid().chunkElementCount(coord);
                            DType dtype = a.meta().dtype();
                            StatsKernel.Accumulator acc = StatsKernel.accumulator(dtype, a.meta().fillValue());
                            if (dtype.elementSize() > 0) {
                                ChunkCodec.checkFixed(dtype, chunk.remaining(), n, what);
                                acc.addFixed(chunk, n);
                            } else {
                                acc.addVarLen(decodeVarLen(dtype, chunk, n, what));
                            }
                            StatsKernel.Accumulator total = accs.get(a.name());
                            synchronized (total) {
                                total.merge(acc);
                            }
                            PendingLayer.Staged st;
                            try {
                                st = out.stage(PendingLayer.ANY_EPOCH, List.of(chunk));
                                out.publish(PendingLayer.ANY_EPOCH, entries.get(a.name()), List.of(coord), st.addresses());
                            } catch (PendingLayer.ReleasedException cancelled) {
                                return Mono.empty(); // the compaction failed or was cancelled meanwhile
                            }
                            sealed.addAll(st.sealed());
                        }
                    } catch (RuntimeException e) {
                        return Mono.error(e);
                    } finally {
                        blk.release();
                    }
                    return out.spill(sealed);
                }), options.readConcurrency())
                .then();
        String baseKey = base;
        return copy.then(Mono.defer(() -> out.spill(out.sealAll()))).then(Mono.defer(() -> {
            Footer footer = out.footer(options.footerVersion(), absorbedUpTo, "");
            byte[] payload = FooterCodec.encodeFooter(footer);
            byte[] tail = concat(payload, Trailer.trailer(payload.length, Trailer.LAYER_MAGIC));
            // Everything that can fail is computed before the put: after it, only references move.
            Map<Long, BlockMeta> blocks = blockIndex(footer, baseKey, dataRegionSize(footer));
            MergedView newView = MergedView.of(List.of(footer), baseKey);
            long footerCrc = crc(ByteBuffer.wrap(payload));
            List<ObjectInfo> garbage = new ArrayList<>(c.absorbed());
            for (Layer l : c.layers()) {
                if (l.number() > 0) {
                    garbage.add(l.object());
                }
            }
            garbage.sort(Comparator.comparingLong(o -> LayerNames.sidecarNumber(stem, o.key())));
            Map<String, ArrayStats> stats = new LinkedHashMap<>();
            for (MergedView.VisibleArray a : c.view().arrays().values()) {
                stats.put(a.name(), accs.get(a.name()).finish(a.name(), a.grid().shape()));
            }
            return checkBaseUnchanged(c.layers().get(0).object())
                    .then(Mono.fromRunnable(baseEpoch::incrementAndGet))
                    .then(writeLayer(out, baseKey, tail, false))
                    .map(info -> {
                        // Publish the new snapshot before the epoch turns even again (doFinally below).
                        Layer layer = new Layer(info, footer, blocks, 0, footerCrc);
                        Committed nc = new Committed(List.of(layer), newView,
                                Collections.unmodifiableMap(stats), StatsStatus.CURRENT, List.copyOf(garbage), absorbedUpTo);
                        snapshot = new Snapshot(nc, snapshot.pending());
                        options.caches().invalidateOtherVersions(storage, baseKey, info.version());
                        return nc;
                    })
                    .doFinally(sig -> {
                        if (baseEpoch.get() % 2 != 0) {
                            baseEpoch.incrementAndGet();
                        }
                    })
                    .flatMap(nc -> writeStats(nc).then(deleteAbsorbed()));
        })).doFinally(sig -> {
            out.release();
            jobs.forEach(BlockJob::cleanup);
        });
    }

    /** Deletes the uncommitted sidecars newest first, forgetting each once it is gone. */
    private Mono<Void> deleteUncommitted() {
        return Flux.defer(() -> Flux.fromIterable(uncommitted))
                .concatMap(o -> storage.delete(o.key()).then(Mono.fromRunnable(() -> {
                    options.caches().invalidate(storage, o.key());
                    List<ObjectInfo> rest = new ArrayList<>(uncommitted);
                    rest.remove(o);
                    uncommitted = List.copyOf(rest);
                })), 0)
                .then();
    }

    /** Deletes absorbed sidecars oldest first, forgetting each once it is gone. */
    private Mono<Void> deleteAbsorbed() {
        return Flux.defer(() -> Flux.fromIterable(snapshot.committed().absorbed()))
                .concatMap(o -> storage.delete(o.key()).then(Mono.fromRunnable(() -> {
                    options.caches().invalidate(storage, o.key());
                    Snapshot s = snapshot;
                    Committed c = s.committed();
                    List<ObjectInfo> rest = new ArrayList<>(c.absorbed());
                    rest.remove(o);
                    snapshot = new Snapshot(new Committed(c.layers(), c.view(), c.stats(), c.statsStatus(), List.copyOf(rest),
                            c.lastNumber()), s.pending());
                })), 0)
                .then();
    }

    /**
     * Discards unflushed changes (with a warning when there are any) and frees the pending layer's
     * memory and spill file. Reads keep working on the committed state; mutations fail afterwards.
     */
    public Mono<Void> close() {
        return gate.exclusive(() -> Mono.fromRunnable(() -> {
            if (closed) {
                return;
            }
            closed = true;
            Snapshot s = snapshot;
            if (s.pending() != null) {
                if (!s.pending().isEmpty()) {
                    LOG.warn("closing {} with unflushed changes; they are discarded", base);
                }
                snapshot = new Snapshot(s.committed(), null);
                s.pending().release();
            }
        }));
    }

    /** Discards every unflushed change (the pending layer). */
    public Mono<Void> discardPending() {
        return mutation(() -> Mono.fromRunnable(() -> {
            Snapshot s = snapshot;
            if (s.pending() != null) {
                snapshot = new Snapshot(s.committed(), null);
                s.pending().release();
            }
        }));
    }
}
