package dev.atlas.store;

import dev.atlas.array.NdArray;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.DatasetAlreadyExistsException;
import dev.atlas.error.DatasetNotFoundException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.InvalidNameException;
import dev.atlas.error.StorageException;
import dev.atlas.error.StoreNotFoundException;
import dev.atlas.format.DType;
import dev.atlas.internal.format.Footer;
import dev.atlas.internal.AsyncGate;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A store of many datasets on one {@link Storage} prefix, compatible with atlas-rust 0.10: a
 * registry object ({@code atlas.json} or one of its five siblings) names the datasets, their
 * array schemas and attributes; each distinct array name is one {@code .af} file set
 * {@code {array}/data.af} whose entries are named after the datasets.
 *
 * <h2>Commit point</h2>
 * Nothing is durable until {@link #flush()}, and the registry write is what commits a flush: the
 * array files are flushed first (each as a new sidecar layer), then the registry is written naming,
 * for every array file, the newest layer it commits. A store opened after a crash at any point of a
 * flush shows exactly the state before it or after it: sidecars the registry does not name are
 * invisible (and deleted before the file is written again), array directories it does not
 * reference are invisible garbage that {@link #compact()} removes, and a deletion is visible only
 * once the registry without the dataset is written.
 *
 * <h2>Concurrency</h2>
 * Reads run at any time and concurrently. Mutations (create, define, write, delete, attributes)
 * run concurrently with each other; {@link #flush()} and {@link #compact()} wait for the mutations
 * in flight and hold new ones back until they finish, so a flush commits exactly what finished
 * before it. Writes of different datasets to the same array name go through that array file's
 * one-at-a-time mutation order (copying the slab into the pending layer); compression and spills
 * run outside it.
 *
 * <h2>Many processes</h2>
 * Several processes may read and write one store. A read is answered from one committed state of
 * each array file (range reads name object versions; a replaced object makes the read refresh and
 * re-plan). An open handle sees other processes' commits after {@link #refresh()}, automatically
 * every {@link AtlasOptions#refreshInterval()}, or when a read finds an object replaced. Writers of
 * disjoint datasets all commit: the registry is written by compare-and-swap under a short commit
 * lease, and a writer that lost the race merges and retries; a dataset changed by two writers is a
 * {@link dev.atlas.error.ConflictException} for the later one. Compaction skips array files
 * another writer is flushing to; garbage is deleted only once older than
 * {@link AtlasOptions#garbageAge()}.
 *
 * <h2>Names</h2>
 * Dataset and array names follow the reference's rules (not empty, not starting with {@code _},
 * no {@code /}, not {@code .} or {@code ..}), plus: a name equal to an existing one ignoring case
 * is rejected (array names are directories, and case-insensitive file systems are common); array
 * names may not contain a backslash or NUL, nor be a registry file name.
 *
 * <p>Handles are thread-safe. Lazily, an array file set is opened on first use, once.
 *
 * <h2>Structure</h2>
 * This class is a facade: {@link RegistryState} owns the in-memory registry and its lock,
 * {@link ArrayFiles} the open array file sets, {@link StoreCommit} flush and compaction,
 * {@link RegistryObject} the registry object in storage, {@link BulkReads} the reads across
 * datasets and {@link NameRules} the name rules.
 */
public final class Atlas {
    private final StoreLayout layout;
    private final RegistryFile registryFile;
    private final AsyncGate gate = new AsyncGate();
    private final RegistryState state;
    private final ArrayFiles files;
    private final StoreCommit commit;
    private final BulkReads bulk;
    private final StoreRefresh refresher;
    private final List<AutoCloseable> owned = new CopyOnWriteArrayList<>();
    private final reactor.core.Disposable autoRefresh;

    private Atlas(Storage storage, StoreLayout layout, AtlasOptions options, RegistryObject registry, Registry loaded,
            ObjectInfo info) {
        this.layout = layout;
        this.registryFile = registry.file();
        this.state = new RegistryState(loaded, info);
        this.refresher = new StoreRefresh(storage, registry.key(), state, loaded, info);
        this.files = new ArrayFiles(storage, layout, options, state, refresher);
        refresher.files(files);
        this.commit = new StoreCommit(storage, layout, options, state, files, registry, refresher);
        this.bulk = new BulkReads(storage, options, state, files);
        this.autoRefresh = options.refreshInterval().isZero() ? null : startAutoRefresh(options);
    }

    /** Refreshes every {@code refreshInterval} until closed; a failed refresh is logged (once per kind of failure) and retried next time. */
    private reactor.core.Disposable startAutoRefresh(AtlasOptions options) {
        java.util.concurrent.atomic.AtomicReference<String> lastError = new java.util.concurrent.atomic.AtomicReference<>();
        return reactor.core.publisher.Flux.interval(options.refreshInterval(), options.refreshInterval(),
                        options.resources().codecScheduler())
                .onBackpressureDrop()
                .concatMap(tick -> refresh().timeout(dev.atlas.array.ArrayFile.REFRESH_TIMEOUT)
                        .doOnNext(x -> lastError.set(null)).onErrorResume(e -> {
                    String kind = e.getClass().getName() + ": " + e.getMessage();
                    if (!kind.equals(lastError.getAndSet(kind))) {
                        org.slf4j.LoggerFactory.getLogger(Atlas.class).warn("refreshing the store at '{}' failed: {}",
                                layout.prefix(), kind);
                    }
                    return Mono.empty();
                }), 0)
                .subscribe();
    }

    // ------------------------------------------------------------------ create / open

    /**
     * Creates a store at {@code prefix} ({@code ""} for the storage root) and writes its empty
     * registry at once, with the codec and registry file of {@code options}.
     *
     * @throws AlreadyExistsException (as an error signal) if a registry object already exists there
     */
    public static Mono<Atlas> create(Storage given, String prefix, AtlasOptions options) {
        return Mono.defer(() -> {
            Storage storage = metered(given, options);
            StoreLayout layout = StoreLayout.of(prefix);
            return RegistryObject.find(storage, layout).flatMap(found -> {
                if (found.isPresent()) {
                    return Mono.error(new AlreadyExistsException("a store already exists at '" + layout.prefix() + "' ("
                            + found.get().key() + ")"));
                }
                Registry r = Registry.empty(1, options.codec());
                r.footerVersion = options.footerVersion() == Footer.VERSION_V5 ? null : options.footerVersion();
                RegistryObject registry = new RegistryObject(storage, layout, options.registryFile());
                return registry.create(r).map(info -> new Atlas(storage, layout, options, registry, r, info));
            });
        });
    }

    /**
     * Opens the store at {@code prefix}: one listing and one read of the registry; no array file is
     * touched. When several registry files exist the reference's priority order decides, and that
     * file is the one flushes rewrite.
     *
     * @throws StoreNotFoundException (as an error signal) if no registry object exists there, or it
     *     is the tombstone of a deletion that did not finish ({@link #deleteIfEmpty})
     * @throws CorruptFileException (as an error signal) if the registry does not decode
     */
    public static Mono<Atlas> open(Storage given, String prefix, AtlasOptions options) {
        return Mono.defer(() -> {
            Storage storage = metered(given, options);
            StoreLayout layout = StoreLayout.of(prefix);
            return RegistryObject.find(storage, layout).flatMap(found -> {
                if (found.isEmpty()) {
                    return Mono.error(new StoreNotFoundException("no Atlas registry (atlas.json, atlas.msgpack, ...) at '"
                            + layout.prefix() + "'"));
                }
                ObjectInfo found0 = found.get();
                // A registry that does not decode is read again a few times before the error
                // stands: a server whose writes are not atomic (S3Mock) can serve a registry
                // another writer is replacing half written. Real damage fails all reads alike.
                return RegistryObject.read(storage, found0.key())
                        .retryWhen(reactor.util.retry.Retry.backoff(3, java.time.Duration.ofMillis(50))
                                .filter(CorruptFileException.class::isInstance)
                                .onRetryExhaustedThrow((spec, sig) -> sig.failure()))
                        .map(v -> {
                    Registry r = v.registry();
                    if (r.layers == null && r.footerVersion == null) {
                        // Written by the reference: keep every file readable by it.
                        r.footerVersion = Footer.VERSION_V4;
                    }
                    return new Atlas(storage, layout, options, new RegistryObject(storage, layout,
                            RegistryObject.fileOf(found0)), r, v.info());
                });
            });
        });
    }

    /**
     * Checks every stored byte of the store at {@code prefix} and that its parts agree, without
     * opening it (a store whose registry is damaged is still verified): the registry decoded, its
     * content digest checked when it has one (FORMAT.md 13.5); every array file set in storage
     * walked as {@link dev.atlas.array.ArrayFile#verify} does (footers, every block through the read
     * path's decoding and checks, stats file, chunks and statistics), as committed by the registry;
     * and the registry cross-checked against the file sets (each declared array has its dataset's
     * entry with the declared dtype, shape and chunk shape; no file set holds entries of a
     * registered dataset the registry does not declare). Meant for a store no writer is
     * committing to: an array another process is adding right now can show as a cross-check
     * finding until its commit lands; run again to tell.
     *
     * @param progress told after each block, file set and finding, from engine threads (possibly
     *     concurrently); null for none
     * @return every finding: damage is reported there, not thrown
     * @throws StoreNotFoundException (as an error signal) if no registry object exists there
     */
    public static Mono<dev.atlas.integrity.VerifyReport> verify(Storage storage, String prefix, AtlasOptions options,
            java.util.function.Consumer<dev.atlas.integrity.VerifyProgress> progress) {
        return Mono.defer(() -> StoreVerifier.verify(metered(storage, options), prefix, options, progress));
    }

    /**
     * {@code storage} with its calls counted by the resources' {@link dev.atlas.storage.StorageMeters}
     * (which cost nothing until a metrics binder enables them).
     */
    private static Storage metered(Storage storage, AtlasOptions options) {
        return options.resources().storageMeters().meter(storage);
    }

    /** Opens the store at {@code prefix}, or creates it when no registry exists there. */
    public static Mono<Atlas> openOrCreate(Storage storage, String prefix, AtlasOptions options) {
        return open(storage, prefix, options).onErrorResume(StoreNotFoundException.class,
                e -> create(storage, prefix, options).onErrorResume(AlreadyExistsException.class,
                        e2 -> open(storage, prefix, options)));
    }

    // ------------------------------------------------------------------ store-level queries

    /** The storage prefix of the store ({@code ""} for the root). */
    public String prefix() {
        return layout.prefix();
    }

    /** The registry file every flush rewrites. */
    public RegistryFile registryFile() {
        return registryFile;
    }

    /** The codec of arrays defined from now on. */
    public StoreCodec codec() {
        return state.codec();
    }

    /** Registered dataset names in registration order. No I/O. */
    public List<String> listDatasets() {
        return state.datasetNames();
    }

    /** Number of registered datasets. */
    public int datasetCount() {
        return state.datasetCount();
    }

    public boolean datasetExists(String name) {
        return state.hasDataset(name);
    }

    /** Distinct array names across all datasets, sorted by their UTF-8 bytes. No I/O. */
    public List<String> listArrays() {
        return state.arrayNames();
    }

    /**
     * Every array name some dataset declares, with how many datasets declare it and its dtype,
     * sorted by the names' UTF-8 bytes. No I/O, and no walk over the datasets: its cost grows with
     * the number of array names, not of datasets.
     */
    public List<ArrayUsage> arrayUsage() {
        return state.arrayUsage();
    }

    /** The dtype of {@code array} in the first dataset (registration order) that declares it. */
    public Optional<DType> arrayDtype(String array) {
        return state.arrayDtype(array);
    }

    /**
     * A view of a registered dataset. No I/O.
     *
     * @throws DatasetNotFoundException if it is not registered
     */
    public DatasetView dataset(String name) {
        if (!state.hasDataset(name)) {
            throw new DatasetNotFoundException("dataset '" + name + "' is not registered in the store at '"
                    + layout.prefix() + "'");
        }
        return view(name);
    }

    /** Names of the array file sets this handle has opened so far (lazy opening is observable). */
    public Set<String> openedArrayFiles() {
        return files.openedNames();
    }

    private DatasetView view(String name) {
        return new DatasetView(name, gate, state, files);
    }

    // ------------------------------------------------------------------ datasets

    /**
     * Registers a new, empty dataset (durable at the next flush).
     *
     * @throws InvalidNameException (as an error signal) for a name breaking the rules
     * @throws DatasetAlreadyExistsException (as an error signal) if the name, or one equal to it
     *     ignoring case, is registered
     */
    public Mono<DatasetView> createDataset(String name) {
        return gate.shared(() -> Mono.fromCallable(() -> {
            NameRules.checkName("dataset", name);
            state.addDataset(name);
            return view(name);
        }));
    }

    /**
     * Unregisters a dataset and tombstones its entry in each of its array files. Invisible to a
     * reopened store until the next flush commits it; space comes back with {@link #compact()}.
     *
     * @throws DatasetNotFoundException (as an error signal) if it is not registered
     */
    public Mono<Void> deleteDataset(String name) {
        return gate.shared(() -> Mono.defer(() -> Flux.fromIterable(state.removeDataset(name))
                .concatMap(a -> files.file(a, false).flatMap(f -> f.listArrays().contains(name) ? f.delete(name) : Mono.empty()))
                .then()));
    }

    // ------------------------------------------------------------------ commit

    /**
     * Makes everything since the last flush durable: flushes every array file with pending changes
     * (each as one new sidecar), then writes the registry, which commits them. Waits for mutations
     * in flight; mutations submitted meanwhile run after it.
     */
    public Mono<Void> flush() {
        return gate.exclusive(commit::flush);
    }

    /**
     * Flushes, then rewrites every array file set the registry references as one base layer
     * (dropping deleted entries, and entries of datasets the registry no longer lists), except those
     * another writer is flushing to (reported as yielded), and deletes garbage older than
     * {@link AtlasOptions#garbageAge()} (see {@link #gc()}). Waits for mutations in flight and holds
     * new ones back meanwhile.
     *
     * @return what was compacted, yielded and deleted
     */
    public Mono<CompactionReport> compact() {
        return compact(p -> { });
    }

    /**
     * {@link #compact()}, telling {@code progress} after each array file set it handled (from the
     * thread that finished it; keep it short and non-blocking).
     *
     * @param progress called once per file set, with running counts
     * @return what was compacted, yielded and deleted
     * @throws InvalidArgumentException if {@code progress} is null
     */
    public Mono<CompactionReport> compact(java.util.function.Consumer<CompactionProgress> progress) {
        if (progress == null) {
            throw new InvalidArgumentException("compact: progress must not be null");
        }
        return gate.exclusive(() -> commit.compact(progress));
    }

    /**
     * Deletes the store if it holds no dataset: for a tool that created a store and then could
     * not put anything in it. Safe against other processes: under the commit lease the registry
     * is read as stored now; if it names a dataset (this handle's, or another writer's) nothing is
     * deleted. Otherwise it is replaced, by compare-and-swap on the version read, with a tombstone
     * no reader accepts, and then the store's own objects are deleted, the registry last. A
     * commit by another writer after that read makes the swap fail (the store stays); a writer
     * that opened the store before and commits after the swap has its commit fail. Objects under
     * the prefix that are not the store's (not a registry, the commit lease or under an array
     * directory's {@code data.*} names) are left alone. This handle's unflushed changes do not
     * count and are lost; close it afterwards.
     *
     * @return true when the store was deleted, false when it was left in place
     */
    public Mono<Boolean> deleteIfEmpty() {
        return gate.exclusive(commit::deleteIfEmpty);
    }

    /**
     * Drops this handle's open array files (pending changes are discarded: flush first). The
     * storage and the engine resources are the caller's.
     *
     * @throws StorageException (as an error signal) if closing a resource handed over with
     *     {@link #closeWith} fails
     */
    public Mono<Void> close() {
        if (autoRefresh != null) {
            autoRefresh.dispose();
        }
        return gate.exclusive(() -> files.closeAll().then(Mono.fromRunnable(() -> {
            for (AutoCloseable c : owned) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new StorageException("closing " + c + " failed: " + e.getMessage(), false, e);
                }
            }
            owned.clear();
        })));
    }

    /**
     * Hands {@code resource} (e.g. the storage this handle was opened on) to this handle, which
     * closes it at the end of {@link #close()}.
     *
     * @return this handle
     */
    public Atlas closeWith(AutoCloseable resource) {
        owned.add(Objects.requireNonNull(resource, "resource"));
        return this;
    }

    // ------------------------------------------------------------------ live store

    /**
     * Brings this handle to the store's latest commit: the registry by one conditional read (one
     * request when nothing changed), then the array file sets it has opened whose committed layers
     * changed (new sidecars, a compacted base), incrementally; cached blocks of replaced objects
     * are never served again. Reads in flight finish on the state they started on (or re-plan on
     * the new one when an object they need was replaced); refresh never waits for them. Changes of
     * this handle not yet flushed stay on top of the new state; if another writer committed a
     * change to a dataset this handle changed too, the refresh fails with
     * {@link dev.atlas.error.ConflictException} naming it and changes nothing.
     *
     * @return whether a newer commit was loaded
     */
    public Mono<Boolean> refresh() {
        return gate.exclusive(refresher::refresh);
    }

    /** The version token of the registry object this handle's committed state was read from or written as. */
    public String commitVersion() {
        return state.committedInfo().version();
    }

    /** When this handle last confirmed or loaded the latest commit (open, refresh or flush). */
    public java.time.Instant lastRefresh() {
        return state.confirmed();
    }

    /**
     * Deletes what no commit counts and no live writer can still be writing: sidecars of failed
     * commits, array file sets no dataset references, and abandoned uploads, all older than
     * {@link AtlasOptions#garbageAge()}. {@link #compact()} runs it too.
     *
     * @return what was deleted ({@code compacted} and {@code yielded} empty)
     */
    public Mono<CompactionReport> gc() {
        return gate.exclusive(() -> commit.gc().map(g -> new CompactionReport(List.of(), List.of(), g.garbage(),
                g.abandonedUploads())));
    }

    /**
     * Counters of the live-store machinery: refreshes that loaded a newer commit, registry reads,
     * lost commit races, re-planned reads, block reads answered by a compaction's retained copy.
     */
    public java.util.Map<String, Long> liveCounters() {
        long replans = 0;
        long retained = 0;
        for (String a : files.openedNames()) {
            dev.atlas.array.ArrayFile f = files.opened(a);
            if (f != null) {
                replans += f.replans();
                retained += f.retainedReads();
            }
        }
        return java.util.Map.of("refreshes", refresher.refreshes.get(), "registryReads", refresher.registryReads.get(),
                "commitRetries", commit.commitRetries.get(), "replans", replans, "retainedReads", retained);
    }

    /**
     * The file set of {@code array} fixed at the newest commit this handle knows, for reads that
     * must agree with each other (the pieces of one response); see {@link ArrayPin}.
     *
     * @throws ArrayNotFoundException (as an error signal) if no committed dataset declares the array
     */
    public Mono<ArrayPin> pin(String array) {
        return files.file(array, false).flatMap(f -> pin(f, array, 0));
    }

    /**
     * A pin whose file state and registry belong together: the file state was loaded for exactly
     * the layers this registry commits (pinned again when a refresh moved either meanwhile).
     */
    private Mono<ArrayPin> pin(dev.atlas.array.ArrayFile f, String array, int attempt) {
        return Mono.defer(() -> {
            Registry reg = refresher.newest();
            return f.pin().flatMap(p -> {
                boolean aligned = files.layersOf(reg, array).equals(p.committedLayers());
                if (aligned || attempt >= 8) {
                    return Mono.just(new ArrayPin(array, p, reg, aligned ? reg : null, state, bulk));
                }
                return pin(f, array, attempt + 1);
            });
        });
    }

    // ------------------------------------------------------------------ bulk reads

    /**
     * Bulk reads ({@link #readArrayAcross}, {@link #readArrayAcrossStacked}, and the stacked reads
     * of an {@link ArrayPin}) subscribed to since this handle was opened.
     */
    public long bulkReadsStarted() {
        return bulk.started.sum();
    }

    /** Bulk reads subscribed to and not yet ended (completed, failed or cancelled). */
    public long bulkReadsInFlight() {
        return bulk.inFlight.sum();
    }

    /**
     * Reads the same region of {@code array} from many datasets. A fixed-width region is planned
     * for all datasets at once (in batches of about 64 MiB of results) and read as
     * {@link #readArrayAcrossStacked} reads; whole arrays (null region) and variable-length dtypes
     * are read dataset by dataset, {@link AtlasOptions#ioConcurrency(Storage)} at once. Results stream each
     * tagged with its position in {@code datasets} and the dataset name; a dataset that is not
     * registered or does not declare the array yields an {@linkplain DatasetRead#absent() absent}
     * result. Null {@code start} and {@code shape} read each dataset's whole array. The first read
     * error ends the stream (reads in flight are cancelled).
     *
     * @return results the subscriber owns and closes
     * @throws ArrayNotFoundException (as an error signal) if no listed dataset declares the array
     *     (an empty list included)
     */
    public Flux<DatasetRead> readArrayAcross(String array, List<String> datasets, long[] start, long[] shape) {
        return bulk.across(array, datasets, start, shape);
    }

    /**
     * Reads the same region of {@code array} from each dataset into one pooled direct buffer of
     * shape {@code [n, *regionShape]} (row i = {@code datasets.get(i)}). The read is planned once
     * for all datasets against one state of the array's file set: every block any dataset needs is
     * fetched and decoded once, storage ranges are coalesced across datasets,
     * {@link AtlasOptions#ioConcurrency(Storage)} ranges are in flight at once and
     * {@link AtlasOptions#cpuConcurrency()} blocks are decoded at once, each copying its chunks
     * straight into their rows. Null {@code start} and {@code shape} read whole arrays, which must
     * then all have one shape.
     *
     * @return an array the subscriber owns and closes
     * @throws ArrayNotFoundException (as an error signal) for an empty list, or naming the first
     *     dataset that is not registered or does not declare the array
     * @throws InvalidArgumentException (as an error signal) when the datasets' arrays differ in
     *     shape (whole reads) or the region lies outside one of them; {@link DTypeMismatchException}
     *     when their dtypes differ
     */
    public Mono<NdArray> readArrayAcrossStacked(String array, List<String> datasets, long[] start, long[] shape) {
        return bulk.stacked(array, datasets, start, shape);
    }
}
