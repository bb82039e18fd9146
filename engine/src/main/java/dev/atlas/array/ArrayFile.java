package dev.atlas.array;

import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.ConflictException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.StorageException;
import dev.atlas.internal.format.ArrayMeta;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.internal.format.Attributes;
import dev.atlas.format.DType;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import java.util.LinkedHashMap;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * An open {@code .af} file set on a {@link Storage}: the committed layers (base + sidecars
 * {@code {stem}.N.af}), a pending layer of unflushed changes, their merged view, and statistics.
 * This class is the facade; the work is done by package-private units, one concern each.
 *
 * <p><b>Reads</b> ({@link #readArray}) are a straight line: {@link ReadPlanner} resolves the
 * chunks a region overlaps (pending first, then committed layers newest first, stopping at a
 * delete) and groups them by block; {@link BlockSource} fetches each block through the composed
 * cache stack and decompresses it on the engine's codec scheduler; {@link RegionAssembler} copies
 * the fragments into one pooled buffer the caller owns. Any number of reads run concurrently, also
 * while a mutation runs: a read sees the state before or after each mutation, never a part.
 *
 * <p><b>Mutations</b> ({@link #defineArray}, {@link #writeArray}, {@link #delete},
 * {@link #setAttribute}, {@link #flush}, {@link #compact}) are queued and run one at a time in
 * subscription order. They change the pending layer ({@link ArrayWriter}), which is private to
 * this handle until {@link #flush} commits it as a new sidecar with one create-if-absent put
 * ({@link LayerCommitter}). {@link #compact} ({@link Compactor}) rewrites the base with the merged
 * state; the base records the highest sidecar number it absorbed, so readers ignore absorbed
 * sidecars even before they are deleted (crash-safe at every step).
 *
 * <p>Statistics ({@link StatsMaintainer}) describe the committed state; each stats file carries a
 * stamp of the layer stack it was computed for, and a file that does not match the stack is
 * reported {@link StatsStatus#STALE} instead of being served.
 */
public final class ArrayFile {
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

    /** The layers were committed but the statistics file could not be written; retrying {@link #flush} rewrites it. */
    public static final class StaleStatsWriteException extends StorageException {
        private static final long serialVersionUID = 1L;

        StaleStatsWriteException(String base, Throwable cause) {
            super("the layers of " + base + " are committed, but writing its statistics failed (" + cause.getMessage()
                    + "); they are stale until the next flush", cause instanceof StorageException se && se.retryable(), cause);
        }
    }

    final OpenFileSet state;
    private final RegionAssembler assembler;
    private final AcrossReads across;
    private final StatsMaintainer stats;
    private final LayerCommitter committer;
    private final Compactor compactor;
    final ArrayWriter writer;

    private ArrayFile(OpenFileSet state) {
        this.state = state;
        BlockSource source = new BlockSource(state);
        this.assembler = new RegionAssembler(source, state.options);
        this.across = new AcrossReads(source);
        this.stats = new StatsMaintainer(state, source);
        this.committer = new LayerCommitter(state, stats);
        this.compactor = new Compactor(state, source, committer, stats);
        this.writer = new ArrayWriter(state, assembler, committer);
    }

    // ------------------------------------------------------------------ create / open

    /**
     * Creates a new, empty file set: writes an empty base with create-if-absent.
     *
     * @throws AlreadyExistsException (as an error signal) if the base, a sidecar or a stats object
     *     of this stem already exists (an old file set is never silently stacked on)
     */
    public static Mono<ArrayFile> create(Storage storage, String base, ArrayFileOptions options) {
        return create(storage, base, options, LayerCommits.STANDALONE);
    }

    /** As {@link #create(Storage, String, ArrayFileOptions)}, for a file set whose commits {@code commits} records. */
    public static Mono<ArrayFile> create(Storage storage, String base, ArrayFileOptions options, LayerCommits commits) {
        return LayerStackLoader.create(storage, base, options)
                .map(c -> new ArrayFile(new OpenFileSet(storage, base, options, c, false, List.of(), commits,
                        Integer.MAX_VALUE, null, 0)));
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
        return open(storage, base, options, Integer.MAX_VALUE, false, LayerCommits.STANDALONE);
    }

    /**
     * Opens the file set as committed through sidecar number {@code committedThrough} (0: the base
     * alone), for a caller that keeps its own commit record naming {@link #committedThrough()}
     * after each flush (the Atlas registry does). Sidecars numbered above it were written by a
     * flush whose commit record never followed (a crash in between, or another writer's commit
     * still under way): they are invisible and never deleted by this handle, only by
     * {@link #deleteGarbage} once old; a new layer is numbered above every number in use.
     *
     * @throws dev.atlas.error.ObjectChangedException (as an error signal) if the base already
     *     absorbed a layer above {@code committedThrough} (the commit record is older than the data
     *     it should describe)
     */
    public static Mono<ArrayFile> open(Storage storage, String base, ArrayFileOptions options, long committedThrough) {
        if (committedThrough < 0) {
            return Mono.error(new InvalidArgumentException("committedThrough must be >= 0, not " + committedThrough));
        }
        return open(storage, base, options, Integer.MAX_VALUE, false, latest -> Mono.just(CommittedLayers.through(committedThrough)));
    }

    /**
     * Opens the file set as {@code commits} records its commits (a store's registry): sidecars it
     * does not count are invisible and never deleted by this handle but by
     * {@link #deleteGarbage}, once old. When the base absorbed a sidecar the record does not count
     * yet, the record is asked for its latest state and the open tried again.
     */
    public static Mono<ArrayFile> open(Storage storage, String base, ArrayFileOptions options, LayerCommits commits) {
        return open(storage, base, options, Integer.MAX_VALUE, false, commits);
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
        return open(storage, base, options, layers, true, LayerCommits.STANDALONE);
    }

    private static Mono<ArrayFile> open(Storage storage, String base, ArrayFileOptions options, int maxLayers,
            boolean readOnly, LayerCommits commits) {
        return load(storage, base, options, maxLayers, commits, false)
                .onErrorResume(dev.atlas.error.ObjectChangedException.class,
                        e -> load(storage, base, options, maxLayers, commits, true))
                .map(lw -> {
                    LayerStackLoader.Loaded l = lw.loaded();
                    OpenFileSet state = new OpenFileSet(storage, base, l.options(), l.stack(), readOnly, l.uncommitted(),
                            commits, maxLayers, l.statsObject(), l.highestNumber());
                    state.statsContent = l.stats();
                    state.loadedWith = lw.with();
                    return new ArrayFile(state);
                });
    }

    /** A loaded stack and the committed layers it was loaded for. */
    private record LoadedWith(LayerStackLoader.Loaded loaded, CommittedLayers with) {
    }

    private static Mono<LoadedWith> load(Storage storage, String base, ArrayFileOptions options, int maxLayers,
            LayerCommits commits, boolean latest) {
        return commits.committed(latest).flatMap(c -> LayerStackLoader.open(storage, base, options, maxLayers, c, Map.of())
                .map(l -> new LoadedWith(l, c)));
    }

    // ------------------------------------------------------------------ verification

    /**
     * Checks every stored byte of the file set whose base is {@code base}, without opening it for
     * reads (a file set whose footers are damaged cannot be opened, and is still verified): the
     * trailer and footer of the base and of every sidecar it has not absorbed; every block of those
     * layers read from storage past the caches and decoded the way reads decode it (with the
     * checks reads make); the stats file; then every visible array read chunk by chunk, its
     * statistics recomputed and, when the stats file is stamped for these layers, compared with the
     * stored ones. Memory stays bounded by {@code readConcurrency} blocks in flight, whatever sizes
     * the files claim.
     *
     * @param progress told after each block, layer and finding, from engine threads (possibly
     *     concurrently); null for none
     * @return the findings: damage is reported there, not thrown, so one walk lists all of it
     * @throws NotFoundException (as an error signal) if the base object does not exist
     */
    public static Mono<dev.atlas.integrity.VerifyReport> verify(Storage storage, String base, ArrayFileOptions options,
            java.util.function.Consumer<dev.atlas.integrity.VerifyProgress> progress) {
        return Mono.defer(() -> {
            dev.atlas.internal.VerifyTally tally = new dev.atlas.internal.VerifyTally(progress);
            tally.fileSetsTotal(1);
            return verifyInto(storage, base, options, CommittedLayers.ALL, tally).then(Mono.fromSupplier(() -> tally.report(base)));
        });
    }

    /**
     * The walk of {@link #verify(Storage, String, ArrayFileOptions, java.util.function.Consumer)}
     * counting only the sidecars {@code commits} commits, adding to {@code tally} (a store's walk
     * over all its file sets).
     *
     * @return the visible arrays' schemas by name, or empty when damage already reported kept the
     *     file set from opening
     * @throws NotFoundException (as an error signal) if the base object does not exist
     */
    public static Mono<java.util.Optional<Map<String, ArrayMeta>>> verifyInto(Storage storage, String base,
            ArrayFileOptions options, CommittedLayers commits, dev.atlas.internal.VerifyTally tally) {
        return FileSetVerifier.verify(storage, base, options, commits, tally);
    }

    // ------------------------------------------------------------------ metadata

    /**
     * The number of the newest committed layer (0 for a lone base that absorbed nothing; after a
     * compaction, the newest sidecar it absorbed). Record it after {@link #flush()} to pin a later
     * {@link #open(Storage, String, ArrayFileOptions, long)}.
     */
    public long committedThrough() {
        return state.snapshot.committed().lastNumber();
    }

    /** The footer version this handle writes (kept at 4 for a file set whose layers are all version 4). */
    public int footerVersion() {
        return state.options.footerVersion();
    }

    /** The base object key. */
    public String base() {
        return state.base;
    }

    /** Committed layers, the base included (the pending layer is not counted). */
    public int numLayers() {
        return state.snapshot.committed().layers().size();
    }

    /** True when opened as of an older layer ({@link #openAsOf}): mutations fail. */
    public boolean isReadOnly() {
        return state.readOnly;
    }

    /** True when there are unflushed changes. */
    public boolean hasPendingChanges() {
        PendingLayer p = state.snapshot.pending();
        return p != null && !p.isEmpty();
    }

    /** Visible array names in list order (first definition first; a re-definition after a delete moves to the end). */
    public List<String> listArrays() {
        return state.snapshot.listArrays();
    }

    /**
     * The newest schema of a visible array (its chunk list is not meaningful: use {@link #readArray}).
     *
     * @throws NotFoundException if {@code name} is not visible
     */
    public ArrayMeta arrayMeta(String name) {
        return state.visible(state.snapshot, name).schema().withChunks(List.of()).withAttributes(Attributes.EMPTY);
    }

    /** All attributes of a visible array, resolved. */
    public Map<String, AttributeValue> attributes(String name) {
        Map<String, AttributeValue> out = new LinkedHashMap<>();
        state.visible(state.snapshot, name).attributes().forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** One attribute, or null when the array does not have it; {@link NotFoundException} if the array is not visible. */
    public AttributeValue getAttribute(String name, String key) {
        return attributes(name).get(key);
    }

    /** For each visible array in list order, its value of attribute {@code key} (null when absent). */
    public Map<String, AttributeValue> attributeIndex(String key) {
        return state.snapshot.attributeIndex(key);
    }

    /** Whether the loaded statistics describe the committed layers. */
    public StatsStatus statsStatus() {
        return state.snapshot.committed().statsStatus();
    }

    /**
     * Stored statistics of the committed state of an array: null when the array is not visible,
     * has no entry, or the statistics are {@link StatsStatus#STALE} (then use {@link #computeStats}).
     * Unflushed writes are not reflected until {@link #flush}.
     */
    public ArrayStats arrayStats(String name) {
        Snapshot s = state.snapshot;
        if (s.resolve(name) == null || s.committed().statsStatus() == StatsStatus.STALE) {
            return null;
        }
        return s.committed().stats().get(name);
    }

    /** Every stored statistics entry (empty when {@link StatsStatus#STALE} or none). */
    public List<ArrayStats> statsEntries() {
        LayerStack c = state.snapshot.committed();
        return c.statsStatus() == StatsStatus.STALE ? List.of() : List.copyOf(c.stats().values());
    }

    /** Computes the statistics of a visible array from its data (pending changes included). */
    public Mono<ArrayStats> computeStats(String name) {
        return state.consistent((s, epoch) -> stats.compute(s, epoch, name));
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

    /** One read against one snapshot, re-run on a newer one when it raced with a commit. Null start/shape: the whole array. */
    private Mono<NdArray> read(String name, long[] start, long[] shape, DType expected) {
        return state.consistent((s, epoch) -> {
            Snapshot.Resolved a = state.visible(s, name, expected);
            long[] full = a.grid().shape();
            return assembler.read(s, epoch, a, start == null ? new long[full.length] : start, shape == null ? full : shape);
        });
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
        return state.consistent((s, epoch) -> Mono.fromCallable(() -> assembler.planFragments(s, epoch, state.visible(s, name),
                start, shape))).flatMapMany(p -> assembler.fragments(p).onErrorMap(OpenFileSet.StaleSnapshotException.class,
                        e -> new StorageException(state.base + " was compacted while its fragments streamed; read again", true, e)));
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
        return state.consistent((s, epoch) -> assembler.readInto(s, epoch, state.visible(s, name, expected), start, shape,
                target, offset));
    }

    /**
     * This handle's current committed state (and pending layer), fixed for reads that must agree
     * with each other: the pieces of one response, the datasets of one bulk read. The file set is
     * first brought up to the newest commit its {@link LayerCommits} knows, so a pin is never older
     * than the commit record its caller consulted. Reads of a pin never move to another state:
     * when an object it names was replaced or removed meanwhile (a compaction elsewhere), they fail
     * with the retryable {@link dev.atlas.error.ObjectChangedException}; pin again and start over.
     */
    public Mono<Pinned> pin() {
        return catchUp().then(Mono.fromSupplier(() -> {
            long epoch = state.baseEpoch.get();
            OpenFileSet.PinState ps = state.pinState();
            return new Pinned(epoch, ps.snapshot(), ps.with());
        }));
    }

    /**
     * Refreshes this handle when its {@link LayerCommits} counts other layers than the ones its
     * state was loaded for (a store handle that refreshed or committed since); otherwise no I/O.
     */
    public Mono<Void> catchUp() {
        return catchUp(0);
    }

    private Mono<Void> catchUp(int attempt) {
        // A refresh already in flight may have started from an older commit record: check again
        // after it, so the state is never older than the record the caller consulted.
        return Mono.defer(() -> state.commits.committed(false).flatMap(sel -> sel.equals(state.loadedWith) || attempt >= 4
                ? Mono.<Void>empty() : state.refresh(false).then(catchUp(attempt + 1))));
    }

    /**
     * The longest a refresh may take before it fails with a timeout: an automatic refresh that
     * hangs (a request lost without an answer) must not stop every later one.
     */
    public static final java.time.Duration REFRESH_TIMEOUT = OpenFileSet.REFRESH_TIMEOUT;

    /** A fixed state of this file set for reads that must agree; see {@link #pin()}. Holds no resources. */
    public final class Pinned {
        private final long epoch;
        private final Snapshot snapshot;
        private final CommittedLayers with;

        private Pinned(long epoch, Snapshot snapshot, CommittedLayers with) {
            this.epoch = epoch;
            this.snapshot = snapshot;
            this.with = with;
        }

        /** The committed layers this state was loaded for (null when not known: a file set this handle created). */
        public CommittedLayers committedLayers() {
            return with;
        }

        /** As {@link ArrayFile#readArray(String, long[], long[])} on this state; null start and shape: the whole array. */
        public Mono<NdArray> readArray(String name, long[] start, long[] shape) {
            return pinned(Mono.defer(() -> {
                Snapshot.Resolved a = state.visible(snapshot, name, null);
                long[] full = a.grid().shape();
                return assembler.read(snapshot, epoch, a, start == null ? new long[full.length] : start,
                        shape == null ? full : shape);
            }));
        }

        /** As {@link ArrayFile#readInto} on this state. */
        public Mono<Void> readInto(String name, DType expected, long[] start, long[] shape, ReadTarget target, long offset) {
            return pinned(Mono.defer(() -> assembler.readInto(snapshot, epoch, state.visible(snapshot, name, expected), start,
                    shape, target, offset)));
        }

        /**
         * Reads the region {@code [start, start + shape)} of each array of {@code names} in this
         * state into {@code target}: the {@code i}th at byte {@code offset + i * rowBytes}, where
         * {@code rowBytes} is the region's element count times {@code expected}'s element size. The
         * arrays may be chunked differently; their regions are planned together, once: each block
         * any of them needs is fetched and decoded once, and the storage ranges of all of them are
         * coalesced. {@code ioConcurrency} storage ranges are fetched at once and
         * {@code cpuConcurrency} blocks decoded at once.
         *
         * @param target not consumed (see {@link ArrayFile#readInto})
         * @throws DTypeMismatchException (as an error signal) if an array's dtype is not {@code expected}
         * @throws InvalidArgumentException (as an error signal) for a variable-length dtype, a
         *     region outside an array, or rows beyond the target's capacity
         * @throws NotFoundException (as an error signal) if a name is not visible
         */
        public Mono<Void> readAcrossInto(List<String> names, DType expected, long[] start, long[] shape, ReadTarget target,
                long offset, int ioConcurrency, int cpuConcurrency) {
            if (ioConcurrency < 1 || cpuConcurrency < 1 || offset < 0) {
                return Mono.error(new InvalidArgumentException("ioConcurrency and cpuConcurrency must be >= 1 and offset >= 0,"
                        + " not " + ioConcurrency + ", " + cpuConcurrency + ", " + offset));
            }
            return pinned(Mono.defer(() -> {
                long rowBytes = dev.atlas.internal.nd.ChunkGrid.product(shape) * Math.max(0, expected.elementSize());
                return across.readInto(state, assembler, snapshot, epoch, names, expected, start, shape, target, offset,
                        rowBytes, ioConcurrency, cpuConcurrency);
            }));
        }

        /** Names of the arrays visible in this state, in list order. */
        public List<String> listArrays() {
            return snapshot.listArrays();
        }

        private <T> Mono<T> pinned(Mono<T> read) {
            // The handle is refreshed before the error surfaces, so that pinning again takes the
            // newest state (a compaction elsewhere changes no commit record a pin could compare).
            return read.onErrorResume(e -> e instanceof dev.atlas.error.ObjectChangedException
                    || e instanceof OpenFileSet.StaleSnapshotException || e instanceof PendingLayer.ReleasedException
                    || e instanceof dev.atlas.error.RangeNotSatisfiableException
                    || e instanceof NotFoundException && !(e instanceof dev.atlas.error.ArrayNotFoundException),
                    e -> (state.snapshot == snapshot && !state.readOnly ? state.refresh(true).onErrorResume(r -> Mono.just(false))
                            : Mono.just(false)).then(Mono.error(new dev.atlas.error.ObjectChangedException(state.base,
                            state.base + " changed under a pinned read (an object it planned against was replaced or removed);"
                                    + " read again", e))));
        }
    }

    // ------------------------------------------------------------------ mutations

    /**
     * Defines array {@code name} in the pending layer.
     *
     * @throws AlreadyExistsException (as an error signal) if a visible array has that name
     */
    public Mono<Void> defineArray(String name, ArraySpec spec) {
        return writer.define(name, spec);
    }

    /**
     * Deletes a visible array: it disappears from every read at once; its bytes are reclaimed by
     * {@link #compact}. A later definition of the same name starts empty.
     */
    public Mono<Void> delete(String name) {
        return writer.delete(name);
    }

    /** Sets attribute {@code key} of a visible array (last write wins). */
    public Mono<Void> setAttribute(String name, String key, AttributeValue value) {
        return writer.setAttribute(name, key, value);
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
        return writer.write(name, start, data);
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
    public Mono<Long> writeArray(String name, long[] start, Publisher<NdArray> slabs) {
        return writer.writeStreamed(name, start, slabs);
    }

    /**
     * Commits the pending layer as sidecar {@code {stem}.N.af} with a create-if-absent put, then
     * rewrites the statistics. It first refreshes the committed state (one listing), so layers other
     * writers committed meanwhile stay below the new one; N is one more than any sidecar number in
     * use, and when another writer takes N first the flush moves on to N+1 (several writers of one
     * file set never overwrite or lose each other's layers). A failure before the put completes
     * leaves the pending layer in place, so the flush can be retried. No pending changes: no layer
     * is written (only a stats file known to be stale is rewritten). Statistics are written with a
     * compare-and-swap: another writer's newer statistics are never overwritten.
     *
     * @throws ConflictException (as an error signal) if no free sidecar number was found after
     *     {@code 1000} attempts
     */
    public Mono<Void> flush() {
        return state.mutation(committer::flush);
    }

    /** Recomputes every array's statistics from the committed layers and rewrites the stats file. */
    public Mono<Void> refreshStats() {
        return state.mutation(stats::refresh);
    }

    /**
     * Merges every layer into a new base: flushes pending changes first, copies each visible chunk
     * once (dropping deleted arrays and overwritten chunks), writes the base with a plain put (it
     * records the highest sidecar number it absorbed, so the old sidecars stop counting the moment it
     * is visible), writes fresh statistics, then deletes the absorbed sidecars oldest first. A crash
     * at any step leaves the state before or after the compaction.
     */
    public Mono<Void> compact() {
        return compact(DEFAULT_IN_FLIGHT_AGE).then();
    }

    /** Sidecars no commit counts that are younger than this are taken for flushes in progress (1 hour). */
    public static final Duration DEFAULT_IN_FLIGHT_AGE = Duration.ofHours(1);

    /**
     * As {@link #compact()}, but yields (completes with {@code false}, changing nothing after its
     * flush) when another writer is committing to this file set: a sidecar no commit counts yet
     * that is younger than {@code inFlightAge} is taken for a flush in progress. The base is
     * replaced with a compare-and-swap: if another writer compacted first, the result is
     * {@link ConflictException}.
     *
     * @return whether the file set was compacted
     */
    public Mono<Boolean> compact(Duration inFlightAge) {
        // The compaction rewrites the statistics, so a failed stats write of its flush does not stop it.
        return state.mutation(() -> committer.flush().onErrorResume(StaleStatsWriteException.class, e -> Mono.empty())
                .then(Mono.defer(() -> compactor.compact(inFlightAge))));
    }

    /**
     * Brings this handle to the newest committed state of the file set that its
     * {@link LayerCommits} knows (on its own: every sidecar that exists; in a store: the newest
     * registry the store handle has seen): new sidecars, a compacted base. One listing, and footer
     * reads only for new or replaced layer objects. Reads in flight finish on their state;
     * unflushed changes stay on top. Never waits for mutations.
     *
     * @return whether the committed state changed
     */
    public Mono<Boolean> refresh() {
        return state.refresh(false);
    }

    /**
     * Deletes sidecars that no commit counts (written by flushes whose commit never happened)
     * once they are older than {@code age}; younger ones may be another writer's flush in progress.
     *
     * @return the keys deleted
     */
    public Mono<List<String>> deleteGarbage(Duration age) {
        return state.mutation(() -> committer.deleteGarbage(age)).map(l -> l.stream().map(ObjectInfo::key).toList());
    }

    /** The number of the sidecar the last successful {@link #flush()} of this handle wrote (0: none yet). */
    public long lastFlushedLayer() {
        return state.lastFlushed;
    }

    /** Reads of this handle re-planned because an object they were planned against was replaced or gone. */
    public long replans() {
        return state.replans.get();
    }

    /**
     * Block reads of this handle that found their object replaced or deleted by a compaction and
     * were answered by the copy it retained (the state they were planned on, see {@code _retained/}
     * in FORMAT.md section 10).
     */
    public long retainedReads() {
        return state.retainedReads.get();
    }

    /**
     * Discards unflushed changes (with a warning when there are any) and frees the pending layer's
     * memory and spill file. Reads keep working on the committed state; mutations fail afterwards.
     */
    public Mono<Void> close() {
        return state.exclusive(() -> Mono.fromRunnable(state::close));
    }

    /** Discards every unflushed change (the pending layer). */
    public Mono<Void> discardPending() {
        return state.mutation(() -> Mono.fromRunnable(state::dropPending));
    }
}
