package dev.atlas.store;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.NdArray;
import dev.atlas.array.ReadTarget;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.DatasetAlreadyExistsException;
import dev.atlas.error.DatasetNotFoundException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.InvalidNameException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.StoreNotFoundException;
import dev.atlas.format.DType;
import dev.atlas.format.Footer;
import dev.atlas.nd.ChunkGrid;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
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
 * run outside it. One process writes a store at a time: there is no cross-process lock (a second
 * writer's flush fails with a conflict rather than losing data, but registry writes are last-writer-wins).
 *
 * <h2>Names</h2>
 * Dataset and array names follow the reference's rules (not empty, not starting with {@code _},
 * no {@code /}, not {@code .} or {@code ..}), plus: a name equal to an existing one ignoring case
 * is rejected (array names are directories, and case-insensitive file systems are common); array
 * names may not contain a backslash or NUL, nor be a registry file name.
 *
 * <p>Handles are thread-safe. Lazily, an array file set is opened on first use, once.
 */
public final class Atlas {
    /** Registry objects larger than this are refused as corrupt (a registry of a million datasets is ~100 MiB). */
    static final long MAX_REGISTRY_BYTES = 1L << 30;
    private static final Comparator<String> BYTE_ORDER = (a, b) -> Arrays.compareUnsigned(
            a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

    private final Storage storage;
    private final String prefix;
    private final AtlasOptions options;
    private final RegistryFile registryFile;
    private final dev.atlas.internal.AsyncGate gate = new dev.atlas.internal.AsyncGate();

    /** Guards registry, committed, arrayUse, reserved and the lower-case indexes. */
    private final Object lock = new Object();
    private final Registry registry;
    /** The registry as last written or read (pins included); replaced by each flush. */
    private Registry committed;
    /** Per array name: how many datasets declare it and with which dtype (the first one's). */
    private final Map<String, ArrayUse> arrayUse = new HashMap<>();
    private final Map<String, String> datasetsLower = new HashMap<>();
    /** (dataset, array) definitions in progress. */
    private final Set<String> reserved = new java.util.HashSet<>();
    private final int footerVersion;

    private final List<AutoCloseable> owned = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final ConcurrentHashMap<String, Mono<ArrayFile>> files = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, ArrayFile> opened = new ConcurrentHashMap<>();

    private static final class ArrayUse {
        int count;
        DType dtype;
        String lower;
    }

    private Atlas(Storage storage, String prefix, AtlasOptions options, RegistryFile registryFile, Registry loaded) {
        this.storage = storage;
        this.prefix = prefix;
        this.options = options;
        this.registryFile = registryFile;
        this.registry = loaded.copy();
        this.committed = loaded;
        this.footerVersion = loaded.footerVersion != null ? loaded.footerVersion : Footer.VERSION_V5;
        this.registry.footerVersion = loaded.footerVersion;
        registry.datasets.forEach((ds, e) -> {
            datasetsLower.putIfAbsent(ds.toLowerCase(Locale.ROOT), ds);
            e.arrays.forEach((a, schema) -> use(a, schema.dtype(), +1));
        });
    }

    // ------------------------------------------------------------------ create / open

    /**
     * Creates a store at {@code prefix} ({@code ""} for the storage root) and writes its empty
     * registry at once, with the codec and registry file of {@code options}.
     *
     * @throws AlreadyExistsException (as an error signal) if a registry object already exists there
     */
    public static Mono<Atlas> create(Storage storage, String prefix, AtlasOptions options) {
        return Mono.defer(() -> {
            String p = normalizePrefix(prefix);
            return findRegistry(storage, p).flatMap(found -> {
                if (found.isPresent()) {
                    return Mono.error(new AlreadyExistsException("a store already exists at '" + p + "' ("
                            + found.get().key() + ")"));
                }
                Registry r = Registry.empty(1, options.codec());
                r.layers = new LinkedHashMap<>();
                r.footerVersion = options.footerVersion() == Footer.VERSION_V5 ? null : options.footerVersion();
                RegistryFile rf = options.registryFile();
                byte[] bytes = RegistryCodec.encode(r, rf);
                return storage.putIfAbsent(key(p, rf.fileName()), Mono.fromSupplier(() -> Unpooled.wrappedBuffer(bytes)))
                        .thenReturn(new Atlas(storage, p, options, rf, r));
            });
        });
    }

    /**
     * Opens the store at {@code prefix}: one listing and one read of the registry; no array file is
     * touched. When several registry files exist the reference's priority order decides, and that
     * file is the one flushes rewrite.
     *
     * @throws StoreNotFoundException (as an error signal) if no registry object exists there
     * @throws CorruptFileException (as an error signal) if the registry does not decode
     */
    public static Mono<Atlas> open(Storage storage, String prefix, AtlasOptions options) {
        return Mono.defer(() -> {
            String p = normalizePrefix(prefix);
            return findRegistry(storage, p).flatMap(found -> {
                if (found.isEmpty()) {
                    return Mono.error(new StoreNotFoundException("no Atlas registry (atlas.json, atlas.msgpack, ...) at '"
                            + p + "'"));
                }
                ObjectInfo info = found.get();
                RegistryFile rf = RegistryFile.ofFileName(info.key().substring(info.key().lastIndexOf('/') + 1));
                if (info.size() > MAX_REGISTRY_BYTES) {
                    return Mono.error(new CorruptFileException(info.key(), "registry of " + info.size()
                            + " bytes exceeds the limit of " + MAX_REGISTRY_BYTES));
                }
                return storage.read(info.key(), 0, info.size()).map(buf -> {
                    try {
                        return ByteBufUtil.getBytes(buf);
                    } finally {
                        buf.release();
                    }
                }).map(bytes -> {
                    Registry r = RegistryCodec.decode(bytes, rf, info.key());
                    if (r.layers == null && r.footerVersion == null) {
                        // Written by the reference: keep every file readable by it.
                        r.footerVersion = Footer.VERSION_V4;
                    }
                    return new Atlas(storage, p, options, rf, r);
                });
            });
        });
    }

    /** Opens the store at {@code prefix}, or creates it when no registry exists there. */
    public static Mono<Atlas> openOrCreate(Storage storage, String prefix, AtlasOptions options) {
        return open(storage, prefix, options).onErrorResume(StoreNotFoundException.class,
                e -> create(storage, prefix, options).onErrorResume(AlreadyExistsException.class,
                        e2 -> open(storage, prefix, options)));
    }

    private static Mono<Optional<ObjectInfo>> findRegistry(Storage storage, String prefix) {
        return storage.list(key(prefix, "atlas.")).collectList().map(objects -> {
            Map<String, ObjectInfo> byName = new HashMap<>();
            for (ObjectInfo o : objects) {
                String name = prefix.isEmpty() ? o.key() : o.key().substring(prefix.length() + 1);
                if (RegistryFile.ofFileName(name) != null) {
                    byName.put(name, o);
                }
            }
            for (RegistryFile f : RegistryFile.PRIORITY) {
                ObjectInfo o = byName.get(f.fileName());
                if (o != null) {
                    return Optional.of(o);
                }
            }
            return Optional.empty();
        });
    }

    private static String normalizePrefix(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        String p = prefix;
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        if (!p.isEmpty()) {
            dev.atlas.storage.Keys.check(p);
        }
        return p;
    }

    private static String key(String prefix, String name) {
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    String arrayBase(String array) {
        return key(prefix, array + "/data.af");
    }

    // ------------------------------------------------------------------ store-level queries

    /** The storage prefix of the store ({@code ""} for the root). */
    public String prefix() {
        return prefix;
    }

    /** The registry file every flush rewrites. */
    public RegistryFile registryFile() {
        return registryFile;
    }

    /** The codec of arrays defined from now on. */
    public StoreCodec codec() {
        synchronized (lock) {
            return registry.codec;
        }
    }

    /** Registered dataset names in registration order. No I/O. */
    public List<String> listDatasets() {
        synchronized (lock) {
            return List.copyOf(registry.datasets.keySet());
        }
    }

    /** Number of registered datasets. */
    public int datasetCount() {
        synchronized (lock) {
            return registry.datasets.size();
        }
    }

    public boolean datasetExists(String name) {
        synchronized (lock) {
            return registry.datasets.containsKey(name);
        }
    }

    /** Distinct array names across all datasets, sorted by their UTF-8 bytes. No I/O. */
    public List<String> listArrays() {
        TreeSet<String> names = new TreeSet<>(BYTE_ORDER);
        synchronized (lock) {
            arrayUse.forEach((a, u) -> {
                if (u.count > 0) {
                    names.add(a);
                }
            });
        }
        return List.copyOf(names);
    }

    /** The dtype of {@code array} in the first dataset (registration order) that declares it. */
    public Optional<DType> arrayDtype(String array) {
        synchronized (lock) {
            for (Registry.DatasetEntry e : registry.datasets.values()) {
                ArraySchema s = e.arrays.get(array);
                if (s != null) {
                    return Optional.of(s.dtype());
                }
            }
        }
        return Optional.empty();
    }

    /** A view of a registered dataset. No I/O. */
    public DatasetView dataset(String name) {
        synchronized (lock) {
            if (!registry.datasets.containsKey(name)) {
                throw new DatasetNotFoundException("dataset '" + name + "' is not registered in the store at '" + prefix + "'");
            }
        }
        return new DatasetView(this, name);
    }

    /** Names of the array file sets this handle has opened so far (lazy opening is observable). */
    public Set<String> openedArrayFiles() {
        return Set.copyOf(opened.keySet());
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
            checkName("dataset", name);
            synchronized (lock) {
                if (registry.datasets.containsKey(name)) {
                    throw new DatasetAlreadyExistsException("dataset '" + name + "' already exists");
                }
                String other = datasetsLower.get(name.toLowerCase(Locale.ROOT));
                if (other != null) {
                    throw new DatasetAlreadyExistsException("dataset '" + name + "' differs from existing dataset '" + other
                            + "' only by case");
                }
                registry.datasets.put(name, new Registry.DatasetEntry());
                datasetsLower.put(name.toLowerCase(Locale.ROOT), name);
            }
            return new DatasetView(this, name);
        }));
    }

    /**
     * Unregisters a dataset and tombstones its entry in each of its array files. Invisible to a
     * reopened store until the next flush commits it; space comes back with {@link #compact()}.
     *
     * @throws DatasetNotFoundException (as an error signal) if it is not registered
     */
    public Mono<Void> deleteDataset(String name) {
        return gate.shared(() -> Mono.defer(() -> {
            List<String> arrays;
            synchronized (lock) {
                Registry.DatasetEntry e = registry.datasets.get(name);
                if (e == null) {
                    return Mono.error(new DatasetNotFoundException("dataset '" + name + "' is not registered"));
                }
                for (String r : reserved) {
                    if (r.startsWith(name + "\0")) {
                        return Mono.error(new InvalidArgumentException("dataset '" + name
                                + "' has an array definition in progress; delete it after that completes"));
                    }
                }
                arrays = new ArrayList<>(e.arrays.keySet());
                registry.datasets.remove(name);
                datasetsLower.remove(name.toLowerCase(Locale.ROOT));
                e.arrays.forEach((a, s) -> use(a, s.dtype(), -1));
            }
            return Flux.fromIterable(arrays)
                    .concatMap(a -> file(a, false).flatMap(f -> f.listArrays().contains(name) ? f.delete(name) : Mono.empty()))
                    .then();
        }));
    }

    // ------------------------------------------------------------------ commit

    /**
     * Makes everything since the last flush durable: flushes every array file with pending changes
     * (each as one new sidecar), then writes the registry, which commits them. Waits for mutations
     * in flight; mutations submitted meanwhile run after it.
     */
    public Mono<Void> flush() {
        return gate.exclusive(this::flushLocked);
    }

    private Mono<Void> flushLocked() {
        return Mono.defer(() -> {
            Registry snap;
            Registry before;
            synchronized (lock) {
                snap = registry.copy();
                before = committed;
            }
            List<Map.Entry<String, ArrayFile>> dirty = new ArrayList<>();
            opened.forEach((a, f) -> {
                if (f.hasPendingChanges()) {
                    dirty.add(Map.entry(a, f));
                }
            });
            // A file the committed registry references without a pin (written by the reference)
            // gets its pin committed first: its new sidecar must stay invisible until our commit.
            Registry pinned = null;
            for (Map.Entry<String, ArrayFile> d : dirty) {
                if (references(before, d.getKey()) && (before.layers == null || !before.layers.containsKey(d.getKey()))) {
                    if (pinned == null) {
                        pinned = before.copy();
                        if (pinned.layers == null) {
                            pinned.layers = new LinkedHashMap<>();
                        }
                    }
                    pinned.layers.put(d.getKey(), d.getValue().committedThrough());
                }
            }
            Registry prePinned = pinned;
            Mono<Void> pre = pinned == null ? Mono.empty()
                    : writeRegistry(pinned).then(Mono.fromRunnable(() -> setCommitted(prePinned)));
            return pre.then(Flux.fromIterable(dirty)
                    .flatMap(d -> d.getValue().flush(), options.flushConcurrency())
                    .then())
                    .then(Mono.defer(() -> {
                        Registry base;
                        synchronized (lock) {
                            base = committed;
                        }
                        LinkedHashMap<String, Long> pins = new LinkedHashMap<>();
                        TreeSet<String> referenced = new TreeSet<>(BYTE_ORDER);
                        snap.datasets.values().forEach(e -> referenced.addAll(e.arrays.keySet()));
                        for (String a : referenced) {
                            ArrayFile f = opened.get(a);
                            if (f != null) {
                                pins.put(a, f.committedThrough());
                            } else if (base.layers != null && base.layers.containsKey(a)) {
                                pins.put(a, base.layers.get(a));
                            }
                        }
                        snap.layers = pins;
                        snap.footerVersion = footerVersion == Footer.VERSION_V5 ? null : footerVersion;
                        return writeRegistry(snap).then(Mono.fromRunnable(() -> setCommitted(snap)));
                    }));
        });
    }

    private void setCommitted(Registry r) {
        synchronized (lock) {
            committed = r;
        }
    }

    private static boolean references(Registry r, String array) {
        for (Registry.DatasetEntry e : r.datasets.values()) {
            if (e.arrays.containsKey(array)) {
                return true;
            }
        }
        return false;
    }

    private Mono<Void> writeRegistry(Registry r) {
        return Mono.fromCallable(() -> RegistryCodec.encode(r, registryFile))
                .flatMap(bytes -> storage.put(key(prefix, registryFile.fileName()),
                        Mono.fromSupplier(() -> Unpooled.wrappedBuffer(bytes))))
                .then();
    }

    /**
     * Flushes, then rewrites every array file set the registry references as one base layer
     * (dropping deleted entries, and entries of datasets the registry no longer lists), and
     * deletes array directories no dataset references (garbage of crashed flushes or of deleted
     * datasets). Waits for mutations in flight and holds new ones back meanwhile.
     */
    public Mono<Void> compact() {
        return gate.exclusive(() -> Mono.defer(() -> {
            Map<String, Set<String>> declaring = new LinkedHashMap<>();
            synchronized (lock) {
                registry.datasets.forEach((ds, e) -> e.arrays.keySet()
                        .forEach(a -> declaring.computeIfAbsent(a, k -> new LinkedHashSet<>()).add(ds)));
            }
            // Entries of datasets that do not declare the array (lost tombstones) are deleted first.
            Mono<Void> tombstone = Flux.fromIterable(declaring.entrySet())
                    .flatMap(en -> file(en.getKey(), false).flatMap(f -> Flux.fromIterable(f.listArrays())
                            .filter(entry -> !en.getValue().contains(entry))
                            .concatMap(f::delete)
                            .then()), AtlasOptions.DEFAULT_OPEN_CONCURRENCY)
                    .then();
            return tombstone.then(flushLocked())
                    .then(Flux.fromIterable(declaring.keySet())
                            .flatMap(a -> file(a, false).flatMap(ArrayFile::compact), options.flushConcurrency())
                            .then())
                    .then(Mono.defer(() -> deleteUnreferenced(declaring.keySet())));
        }));
    }

    /** Deletes every object under an array directory no dataset references. */
    private Mono<Void> deleteUnreferenced(Set<String> referenced) {
        String root = prefix.isEmpty() ? "" : prefix + "/";
        return storage.list(root).filter(o -> {
            String rest = o.key().substring(root.length());
            int slash = rest.indexOf('/');
            if (slash < 0) {
                return false;
            }
            String dir = rest.substring(0, slash);
            String file = rest.substring(slash + 1);
            return !referenced.contains(dir) && !opened.containsKey(dir) && file.startsWith("data.")
                    && file.indexOf('/') < 0;
        }).concatMap(o -> storage.delete(o.key())).then();
    }

    /**
     * Drops this handle's open array files (pending changes are discarded: flush first). The
     * storage and the engine resources are the caller's.
     */
    public Mono<Void> close() {
        return gate.exclusive(() -> Flux.fromIterable(new ArrayList<>(opened.values()))
                .concatMap(ArrayFile::close)
                .then(Mono.fromRunnable(() -> {
                    opened.clear();
                    files.clear();
                    for (AutoCloseable c : owned) {
                        try {
                            c.close();
                        } catch (Exception e) {
                            throw new dev.atlas.error.StorageException("closing " + c + " failed: " + e.getMessage(), false, e);
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

    // ------------------------------------------------------------------ bulk reads

    /**
     * Reads the same region of {@code array} from many datasets, at most
     * {@link AtlasOptions#bulkConcurrency()} at once. Results stream in completion order, each
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
        return Flux.defer(() -> {
            List<Boolean> present = new ArrayList<>(datasets.size());
            boolean any = false;
            synchronized (lock) {
                for (String ds : datasets) {
                    Registry.DatasetEntry e = registry.datasets.get(ds);
                    boolean p = e != null && e.arrays.containsKey(array);
                    present.add(p);
                    any |= p;
                }
            }
            if (!any) {
                return Flux.error(new ArrayNotFoundException("no listed dataset declares array '" + array + "'"));
            }
            return file(array, false).flatMapMany(f -> Flux.range(0, datasets.size())
                    .flatMap(i -> {
                        String ds = datasets.get(i);
                        if (!present.get(i)) {
                            return Mono.just(new DatasetRead(i, ds, null));
                        }
                        Mono<NdArray> r = start == null && shape == null ? f.readArray(ds) : f.readArray(ds, start, shape);
                        return r.map(a -> new DatasetRead(i, ds, a));
                    }, options.bulkConcurrency()))
                    .doOnDiscard(DatasetRead.class, DatasetRead::close);
        });
    }

    /**
     * Reads the same region of {@code array} from each dataset into one pooled direct buffer of
     * shape {@code [n, *regionShape]} (row i = {@code datasets.get(i)}), rows filled as their
     * reads complete, at most {@link AtlasOptions#bulkConcurrency()} at once. Null {@code start}
     * and {@code shape} read whole arrays, which must then all have one shape.
     *
     * @return an array the subscriber owns and closes
     * @throws ArrayNotFoundException (as an error signal) for an empty list, or naming the first
     *     dataset that is not registered or does not declare the array
     * @throws InvalidArgumentException (as an error signal) when the datasets' arrays differ in
     *     shape (whole reads) or the region lies outside one of them; {@link DTypeMismatchException}
     *     when their dtypes differ
     */
    public Mono<NdArray> readArrayAcrossStacked(String array, List<String> datasets, long[] start, long[] shape) {
        return Mono.defer(() -> {
            if (datasets.isEmpty()) {
                return Mono.error(new ArrayNotFoundException("array '" + array + "': no datasets listed for a stacked read"));
            }
            List<ArraySchema> schemas = new ArrayList<>(datasets.size());
            synchronized (lock) {
                for (String ds : datasets) {
                    Registry.DatasetEntry e = registry.datasets.get(ds);
                    ArraySchema s = e == null ? null : e.arrays.get(array);
                    if (s == null) {
                        return Mono.error(new ArrayNotFoundException("array '" + array + "' (in dataset '" + ds + "')"));
                    }
                    schemas.add(s);
                }
            }
            ArraySchema first = schemas.get(0);
            DType dtype = first.dtype();
            long[] st = start;
            long[] sh = shape;
            if (st == null && sh == null) {
                st = new long[first.rank()];
                sh = first.shape();
            } else if (st == null || sh == null) {
                return Mono.error(new InvalidArgumentException("give both start and shape, or neither"));
            }
            for (int i = 0; i < schemas.size(); i++) {
                ArraySchema s = schemas.get(i);
                if (!s.dtype().equals(dtype)) {
                    return Mono.error(new DTypeMismatchException(array + " (in dataset '" + datasets.get(i) + "')", dtype,
                            s.dtype()));
                }
                if (start == null && !Arrays.equals(s.shape(), first.shape())) {
                    return Mono.error(new InvalidArgumentException("stacked read of whole arrays '" + array
                            + "': dataset '" + datasets.get(i) + "' has shape " + Arrays.toString(s.shape())
                            + ", dataset '" + datasets.get(0) + "' has " + Arrays.toString(first.shape())));
                }
            }
            long[] outShape = new long[sh.length + 1];
            outShape[0] = datasets.size();
            System.arraycopy(sh, 0, outShape, 1, sh.length);
            long[] fs = st;
            long[] fsh = sh;
            if (dtype.elementSize() <= 0) {
                return stackedVarLen(array, datasets, fs, fsh, dtype, outShape);
            }
            long rowBytes = ChunkGrid.product(sh) * dtype.elementSize();
            long total = rowBytes * datasets.size();
            if (total > Integer.MAX_VALUE - 8) {
                return Mono.error(new InvalidArgumentException("stacked read of " + total + " bytes exceeds one buffer;"
                        + " read fewer datasets at a time"));
            }
            return file(array, false).flatMap(f -> {
                ReadTarget target = ReadTarget.allocate(options.resources().allocator(), (int) total);
                return Flux.range(0, datasets.size())
                        .flatMap(i -> f.readInto(datasets.get(i), dtype, fs, fsh, target, i * rowBytes),
                                options.bulkConcurrency())
                        .then(Mono.fromCallable(() -> {
                            ByteBuf buf = target.take();
                            if (buf == null) {
                                throw new IllegalStateException("stacked read target still held");
                            }
                            buf.writerIndex((int) total);
                            return NdArray.wrap(dtype, outShape, buf);
                        }))
                        .doOnError(e -> target.release())
                        .doOnCancel(target::release);
            });
        });
    }

    private Mono<NdArray> stackedVarLen(String array, List<String> datasets, long[] start, long[] shape, DType dtype,
            long[] outShape) {
        int n = datasets.size();
        long rowCount = ChunkGrid.product(shape);
        if (rowCount * n > Integer.MAX_VALUE - 8) {
            return Mono.error(new InvalidArgumentException("stacked read of " + rowCount * n + " elements is too large"));
        }
        return file(array, false).flatMap(f -> Flux.range(0, n)
                .flatMap(i -> f.readArray(datasets.get(i), start, shape).map(a -> {
                    try (a) {
                        List<Object> values = new ArrayList<>((int) rowCount);
                        for (long k = 0; k < rowCount; k++) {
                            values.add(dtype.kind() == DType.Kind.STRING ? a.getString(k) : a.getBinary(k));
                        }
                        return Map.entry(i, values);
                    }
                }), options.bulkConcurrency())
                .collectList()
                .map(rows -> {
                    List<Object> all = new ArrayList<>((int) (rowCount * n));
                    rows.sort(Map.Entry.comparingByKey());
                    rows.forEach(r -> all.addAll(r.getValue()));
                    return dtype.kind() == DType.Kind.STRING
                            ? NdArray.ofStrings(outShape, all.stream().map(String.class::cast).toList())
                            : NdArray.ofBinary(outShape, all.stream().map(byte[].class::cast).toList());
                }));
    }

    // ------------------------------------------------------------------ package-private: views

    dev.atlas.internal.AsyncGate gate() {
        return gate;
    }

    AtlasOptions options() {
        return options;
    }

    /** The registry entry of a dataset, or null; call under {@link #lock}. */
    Registry.DatasetEntry entry(String dataset) {
        return registry.datasets.get(dataset);
    }

    Object lock() {
        return lock;
    }

    /** The schema {@code dataset} declares for {@code array}, or null. */
    ArraySchema schema(String dataset, String array) {
        synchronized (lock) {
            Registry.DatasetEntry e = registry.datasets.get(dataset);
            return e == null ? null : e.arrays.get(array);
        }
    }

    /** Throws DatasetNotFound unless registered. */
    Registry.DatasetEntry requireDataset(String dataset) {
        Registry.DatasetEntry e = registry.datasets.get(dataset);
        if (e == null) {
            throw new DatasetNotFoundException("dataset '" + dataset + "' is not registered (deleted?)");
        }
        return e;
    }

    /**
     * Checks and reserves the definition of {@code array} in {@code dataset}: the name rules, no
     * existing declaration, and the dtype every other dataset declares the array name with.
     */
    void reserve(String dataset, String array, DType dtype) {
        checkName("array", array);
        checkArrayDirectoryName(array);
        synchronized (lock) {
            Registry.DatasetEntry e = requireDataset(dataset);
            String r = dataset + "\0" + array;
            if (e.arrays.containsKey(array) || reserved.contains(r)) {
                throw new dev.atlas.error.ArrayAlreadyExistsException("dataset '" + dataset + "' already declares array '"
                        + array + "'");
            }
            ArrayUse u = arrayUse.get(array);
            if (u != null && u.count > 0 && !u.dtype.equals(dtype)) {
                throw new DTypeMismatchException(array + " (other datasets declare it as " + u.dtype + ")", u.dtype, dtype);
            }
            String lower = array.toLowerCase(Locale.ROOT);
            for (Map.Entry<String, ArrayUse> other : arrayUse.entrySet()) {
                if (other.getValue().count > 0 && !other.getKey().equals(array) && other.getValue().lower.equals(lower)) {
                    throw new InvalidNameException("array name '" + array + "' differs from existing array '"
                            + other.getKey() + "' only by case (they would share a directory on many file systems)");
                }
            }
            reserved.add(r);
            use(array, dtype, +1);
        }
    }

    /** Ends a reservation: records the schema, or (schema null) gives the reservation back. */
    void completeReservation(String dataset, String array, ArraySchema schema, DType dtype) {
        synchronized (lock) {
            reserved.remove(dataset + "\0" + array);
            Registry.DatasetEntry e = registry.datasets.get(dataset);
            if (schema != null && e != null) {
                e.arrays.put(array, schema);
            } else {
                use(array, dtype, -1);
            }
        }
    }

    /** Removes the declaration of {@code array} from {@code dataset}; false when there was none. */
    boolean undeclare(String dataset, String array) {
        synchronized (lock) {
            Registry.DatasetEntry e = requireDataset(dataset);
            ArraySchema s = e.arrays.remove(array);
            if (s == null) {
                return false;
            }
            use(array, s.dtype(), -1);
            return true;
        }
    }

    private void use(String array, DType dtype, int delta) {
        ArrayUse u = arrayUse.computeIfAbsent(array, k -> {
            ArrayUse n = new ArrayUse();
            n.lower = k.toLowerCase(Locale.ROOT);
            return n;
        });
        if (u.count == 0 && delta > 0) {
            u.dtype = dtype;
        }
        u.count += delta;
        if (u.count <= 0) {
            arrayUse.remove(array);
        }
    }

    int footerVersion() {
        return footerVersion;
    }

    /**
     * The array file set of {@code array}, opened once and shared. A file set the committed
     * registry references is opened pinned to the layers it commits. One it does not reference is
     * garbage or new: with {@code create}, its leftovers are deleted and an empty one is created;
     * without, the result is {@link ArrayNotFoundException} (read paths never create files).
     */
    Mono<ArrayFile> file(String array, boolean create) {
        Mono<ArrayFile> m = files.get(array);
        if (m != null) {
            return m;
        }
        Mono<ArrayFile> fresh = openFile(array, create)
                .doOnNext(f -> opened.put(array, f))
                .doOnError(e -> files.remove(array))
                .cache();
        Mono<ArrayFile> prev = files.putIfAbsent(array, fresh);
        if (prev != null) {
            return prev;
        }
        return fresh;
    }

    private Mono<ArrayFile> openFile(String array, boolean create) {
        return Mono.defer(() -> {
            Registry c;
            synchronized (lock) {
                c = committed;
            }
            String base = arrayBase(array);
            ArrayFileOptions opts = options.fileOptions(c.codec, footerVersion);
            if (references(c, array)) {
                Long pin = c.layers == null ? null : c.layers.get(array);
                Mono<ArrayFile> open = pin == null ? ArrayFile.open(storage, base, opts) : ArrayFile.open(storage, base, opts, pin);
                return open.onErrorMap(NotFoundException.class, e -> new CorruptFileException(base,
                        "the registry references array '" + array + "' but its file set is missing", e));
            }
            if (!create) {
                return Mono.error(new ArrayNotFoundException("array '" + array + "' has no committed file set"));
            }
            String stemPrefix = base.substring(0, base.length() - "af".length());
            return storage.list(stemPrefix)
                    .filter(o -> o.key().substring(stemPrefix.length()).indexOf('/') < 0)
                    .concatMap(o -> storage.delete(o.key()))
                    .then(Mono.defer(() -> ArrayFile.create(storage, base, opts)));
        });
    }

    // ------------------------------------------------------------------ names

    private static final Set<String> REGISTRY_NAMES;

    static {
        Set<String> s = new java.util.HashSet<>();
        RegistryFile.PRIORITY.forEach(f -> s.add(f.fileName()));
        REGISTRY_NAMES = Set.copyOf(s);
    }

    /** The reference's name rules. */
    static void checkName(String what, String name) {
        if (name == null || name.isEmpty()) {
            throw new InvalidNameException(what + " name must not be empty");
        }
        if (name.startsWith("_")) {
            throw new InvalidNameException(what + " name '" + name + "' starts with '_' (reserved)");
        }
        if (name.indexOf('/') >= 0) {
            throw new InvalidNameException(what + " name '" + name + "' contains '/'");
        }
        if (name.equals(".") || name.equals("..")) {
            throw new InvalidNameException(what + " name '" + name + "' is not allowed");
        }
    }

    /** Array names are directories: no backslash or NUL, not a registry file name. */
    private static void checkArrayDirectoryName(String name) {
        if (name.indexOf('\\') >= 0 || name.indexOf('\0') >= 0) {
            throw new InvalidNameException("array name '" + name.replace("\0", "\\0") + "' contains a backslash or NUL");
        }
        if (REGISTRY_NAMES.contains(name.toLowerCase(Locale.ROOT))) {
            throw new InvalidNameException("array name '" + name + "' is a registry file name");
        }
    }
}
