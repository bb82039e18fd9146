package dev.atlas.store;

import dev.atlas.error.ArrayAlreadyExistsException;
import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.DatasetAlreadyExistsException;
import dev.atlas.error.DatasetNotFoundException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.InvalidNameException;
import dev.atlas.format.DType;
import dev.atlas.internal.format.Footer;
import dev.atlas.storage.ObjectInfo;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * A store handle's registry in memory, and the one lock that guards it: the working registry
 * (what the next flush commits), the committed one (as last written or read, pins included), the
 * per-array-name use index, the case-folded dataset names and the array definitions in progress.
 * Every read and change of them is one method here, atomic under the lock; no other class takes
 * the lock or sees a mutable map.
 */
final class RegistryState {
    /** One array definition in progress: checked and counted, not yet declared. */
    record Reservation(String dataset, String array) {
    }

    /** Per array name: how many datasets declare it and with which dtype (the first one's). */
    private static final class ArrayUse {
        int count;
        DType dtype;
        final String lower;

        ArrayUse(String name) {
            this.lower = name.toLowerCase(Locale.ROOT);
        }
    }

    private final Object lock = new Object();
    private Registry registry;
    private Registry committed;
    /** The registry object {@link #committed} was read from or written as (its version is what a commit swaps). */
    private ObjectInfo committedInfo;
    /** When this handle last loaded or confirmed the newest commit. */
    private java.time.Instant confirmed = java.time.Instant.now();
    /** Datasets this handle changed (entry or data) since {@link #committed}: what its next commit claims. */
    private final Set<String> touched = new HashSet<>();
    private final Map<String, ArrayUse> arrayUse = new HashMap<>();
    private final Map<String, String> datasetsLower = new HashMap<>();
    private final Set<Reservation> reserved = new HashSet<>();
    /** The dtype each reservation declares (kept to rebuild the index on a rebase). */
    private final Map<Reservation, DType> reservedDtypes = new HashMap<>();
    private final int footerVersion;

    /** State of a store whose registry was just read or written as {@code loaded} (kept as the committed one). */
    RegistryState(Registry loaded, ObjectInfo info) {
        this.registry = loaded.copy();
        this.committed = loaded;
        this.committedInfo = info;
        this.footerVersion = loaded.footerVersion != null ? loaded.footerVersion : Footer.VERSION_V5;
        index();
    }

    /** Rebuilds the name and dtype indexes of the working registry (under the lock, or in the constructor). */
    private void index() {
        datasetsLower.clear();
        arrayUse.clear();
        registry.datasets.forEach((ds, e) -> {
            datasetsLower.putIfAbsent(ds.toLowerCase(Locale.ROOT), ds);
            e.arrays.forEach((a, schema) -> use(a, schema.dtype(), +1));
        });
        reservedDtypes.forEach((r, dtype) -> use(r.array(), dtype, +1));
    }

    /** Marks {@code dataset} changed by this handle (its data, here; entry changes mark themselves). */
    void touch(String dataset) {
        synchronized (lock) {
            touched.add(dataset);
        }
    }

    /** Datasets this handle changed since its committed registry. */
    Set<String> touched() {
        synchronized (lock) {
            return Set.copyOf(touched);
        }
    }

    /** The committed registry's object (its version is what the next commit replaces). */
    ObjectInfo committedInfo() {
        synchronized (lock) {
            return committedInfo;
        }
    }

    /** When this handle last loaded or confirmed the newest commit. */
    java.time.Instant confirmed() {
        synchronized (lock) {
            return confirmed;
        }
    }

    /** Records that the committed registry is still the newest (a refresh found nothing new). */
    void confirm() {
        synchronized (lock) {
            confirmed = java.time.Instant.now();
        }
    }

    /**
     * Records a commit of this handle: {@code r}, written as {@code info}, is the committed
     * registry and (a copy of it) the working one; what {@code claimed} covered is no longer
     * this handle's to claim (changes made since the commit's snapshot stay claimed: the flush
     * runs alone, so there are none but dataset touches of writes that raced it).
     */
    void committed(Registry r, ObjectInfo info, Set<String> claimed) {
        synchronized (lock) {
            committed = r;
            committedInfo = info;
            confirmed = java.time.Instant.now();
            registry = r.copy();
            touched.removeAll(claimed);
            index();
        }
    }

    /**
     * Moves this handle onto a newer commit {@code theirs} read as {@code info}: the working
     * registry becomes {@code theirs} with this handle's uncommitted changes merged on top.
     *
     * @throws dev.atlas.error.ConflictException if a dataset this handle changed was changed by
     *     that commit too (nothing is changed then)
     */
    void rebase(Registry theirs, ObjectInfo info) {
        synchronized (lock) {
            Registry working = touched.isEmpty() ? theirs.copy()
                    : RegistryMerge.merge(committed, registry, theirs, touched, Map.of());
            working.layers = theirs.layers == null ? null : new java.util.LinkedHashMap<>(theirs.layers);
            working.excluded = theirs.copy().excluded;
            committed = theirs;
            committedInfo = info;
            confirmed = java.time.Instant.now();
            registry = working;
            index();
        }
    }

    /** Footer version of the store's array files (fixed for the handle's life). */
    int footerVersion() {
        return footerVersion;
    }

    // ------------------------------------------------------------------ queries

    StoreCodec codec() {
        synchronized (lock) {
            return registry.codec;
        }
    }

    List<String> datasetNames() {
        synchronized (lock) {
            return List.copyOf(registry.datasets.keySet());
        }
    }

    int datasetCount() {
        synchronized (lock) {
            return registry.datasets.size();
        }
    }

    boolean hasDataset(String dataset) {
        synchronized (lock) {
            return registry.datasets.containsKey(dataset);
        }
    }

    /** Array names some dataset declares, sorted by their UTF-8 bytes. */
    List<String> arrayNames() {
        TreeSet<String> names = new TreeSet<>(NameRules.BYTE_ORDER);
        synchronized (lock) {
            names.addAll(arrayUse.keySet());
        }
        return List.copyOf(names);
    }

    /**
     * Every array name some dataset declares, with how many do and its dtype, sorted by the names'
     * UTF-8 bytes; definitions in progress are not counted (as in each dataset's own arrays). Reads
     * the index, not the datasets: cost by array names, not by datasets.
     */
    List<ArrayUsage> arrayUsage() {
        List<ArrayUsage> out = new ArrayList<>();
        synchronized (lock) {
            Map<String, Integer> pending = new HashMap<>();
            for (Reservation r : reserved) {
                pending.merge(r.array(), 1, Integer::sum);
            }
            for (Map.Entry<String, ArrayUse> e : arrayUse.entrySet()) {
                int declared = e.getValue().count - pending.getOrDefault(e.getKey(), 0);
                if (declared > 0) {
                    out.add(new ArrayUsage(e.getKey(), e.getValue().dtype, declared));
                }
            }
        }
        out.sort((a, b) -> NameRules.BYTE_ORDER.compare(a.name(), b.name()));
        return List.copyOf(out);
    }

    /** The dtype of {@code array} in the first dataset (registration order) that declares it. */
    Optional<DType> arrayDtype(String array) {
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

    /** A snapshot of the dataset's schemas and attributes; empty when it is not registered. */
    DatasetMeta meta(String dataset) {
        synchronized (lock) {
            Registry.DatasetEntry e = registry.datasets.get(dataset);
            return e == null ? new DatasetMeta(Map.of(), Map.of()) : e.snapshot();
        }
    }

    /** The schema {@code dataset} declares for {@code array}, or null. */
    ArraySchema schema(String dataset, String array) {
        synchronized (lock) {
            Registry.DatasetEntry e = registry.datasets.get(dataset);
            return e == null ? null : e.arrays.get(array);
        }
    }

    /**
     * Checks that {@code dataset} is registered and declares {@code array}.
     *
     * @throws DatasetNotFoundException if it is not registered
     * @throws ArrayNotFoundException if it does not declare the array
     */
    void requireDeclared(String dataset, String array) {
        synchronized (lock) {
            if (!requireDataset(dataset).arrays.containsKey(array)) {
                throw new ArrayNotFoundException("dataset '" + dataset + "' does not declare array '" + array + "'");
            }
        }
    }

    /** For each of {@code datasets}: whether it is registered and declares {@code array}. */
    boolean[] declaring(List<String> datasets, String array) {
        boolean[] declared = new boolean[datasets.size()];
        synchronized (lock) {
            for (int i = 0; i < declared.length; i++) {
                Registry.DatasetEntry e = registry.datasets.get(datasets.get(i));
                declared[i] = e != null && e.arrays.containsKey(array);
            }
        }
        return declared;
    }

    /**
     * The schema of {@code array} in each of {@code datasets}, in order.
     *
     * @throws ArrayNotFoundException naming the first dataset that is not registered or does not declare it
     */
    List<ArraySchema> schemas(List<String> datasets, String array) {
        List<ArraySchema> schemas = new ArrayList<>(datasets.size());
        synchronized (lock) {
            for (String ds : datasets) {
                Registry.DatasetEntry e = registry.datasets.get(ds);
                ArraySchema s = e == null ? null : e.arrays.get(array);
                if (s == null) {
                    throw new ArrayNotFoundException("array '" + array + "' (in dataset '" + ds + "')");
                }
                schemas.add(s);
            }
        }
        return schemas;
    }

    /** Per declared array name, the datasets declaring it (both in registration order). */
    Map<String, Set<String>> declaringDatasets() {
        Map<String, Set<String>> declaring = new LinkedHashMap<>();
        synchronized (lock) {
            registry.datasets.forEach((ds, e) -> e.arrays.keySet()
                    .forEach(a -> declaring.computeIfAbsent(a, k -> new LinkedHashSet<>()).add(ds)));
        }
        return declaring;
    }

    // ------------------------------------------------------------------ datasets and attributes

    /**
     * Registers an empty dataset (its name already checked against the name rules).
     *
     * @throws DatasetAlreadyExistsException if it, or a name equal to it ignoring case, is registered
     */
    void addDataset(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        synchronized (lock) {
            if (registry.datasets.containsKey(name)) {
                throw new DatasetAlreadyExistsException("dataset '" + name + "' already exists");
            }
            String other = datasetsLower.get(lower);
            if (other != null) {
                throw new DatasetAlreadyExistsException("dataset '" + name + "' differs from existing dataset '" + other
                        + "' only by case");
            }
            registry.datasets.put(name, new Registry.DatasetEntry());
            datasetsLower.put(lower, name);
            touched.add(name);
        }
    }

    /**
     * Unregisters a dataset.
     *
     * @return the array names it declared, in declaration order
     * @throws DatasetNotFoundException if it is not registered
     * @throws InvalidArgumentException while one of its array definitions is in progress
     */
    List<String> removeDataset(String name) {
        synchronized (lock) {
            Registry.DatasetEntry e = registry.datasets.get(name);
            if (e == null) {
                throw new DatasetNotFoundException("dataset '" + name + "' is not registered");
            }
            for (Reservation r : reserved) {
                if (r.dataset().equals(name)) {
                    throw new InvalidArgumentException("dataset '" + name
                            + "' has an array definition in progress; delete it after that completes");
                }
            }
            registry.datasets.remove(name);
            touched.add(name);
            datasetsLower.remove(name.toLowerCase(Locale.ROOT));
            e.arrays.keySet().forEach(a -> use(a, null, -1));
            return new ArrayList<>(e.arrays.keySet());
        }
    }

    /** Sets a dataset attribute (a re-set key keeps its place); DatasetNotFoundException unless registered. */
    void setAttribute(String dataset, String key, Attr value) {
        synchronized (lock) {
            requireDataset(dataset).attributes.put(key, value);
            touched.add(dataset);
        }
    }

    /** Removes a dataset attribute if set; DatasetNotFoundException unless registered. */
    void removeAttribute(String dataset, String key) {
        synchronized (lock) {
            requireDataset(dataset).attributes.remove(key);
            touched.add(dataset);
        }
    }

    // ------------------------------------------------------------------ array declarations

    /**
     * Checks and reserves the definition of {@code array} (its name already checked against the
     * name rules) in {@code dataset}: no existing declaration or definition in progress, the dtype
     * every other dataset declares the array name with, and no other array name equal to it
     * ignoring case. End it with {@link #complete} or {@link #cancel}.
     */
    Reservation reserve(String dataset, String array, DType dtype) {
        Reservation r = new Reservation(dataset, array);
        synchronized (lock) {
            Registry.DatasetEntry e = requireDataset(dataset);
            if (e.arrays.containsKey(array) || reserved.contains(r)) {
                throw new ArrayAlreadyExistsException("dataset '" + dataset + "' already declares array '" + array + "'");
            }
            ArrayUse u = arrayUse.get(array);
            if (u != null && !u.dtype.equals(dtype)) {
                throw new DTypeMismatchException(array + " (other datasets declare it as " + u.dtype + ")", u.dtype, dtype);
            }
            String lower = array.toLowerCase(Locale.ROOT);
            for (Map.Entry<String, ArrayUse> other : arrayUse.entrySet()) {
                if (!other.getKey().equals(array) && other.getValue().lower.equals(lower)) {
                    throw new InvalidNameException("array name '" + array + "' differs from existing array '"
                            + other.getKey() + "' only by case (they would share a directory on many file systems)");
                }
            }
            reserved.add(r);
            reservedDtypes.put(r, dtype);
            use(array, dtype, +1);
        }
        return r;
    }

    /** Ends a reservation by declaring {@code schema} (given back instead when the dataset is gone meanwhile). */
    void complete(Reservation r, ArraySchema schema) {
        synchronized (lock) {
            reserved.remove(r);
            reservedDtypes.remove(r);
            Registry.DatasetEntry e = registry.datasets.get(r.dataset());
            if (e != null) {
                e.arrays.put(r.array(), schema);
                touched.add(r.dataset());
            } else {
                use(r.array(), null, -1);
            }
        }
    }

    /** Ends a reservation without declaring anything. */
    void cancel(Reservation r) {
        synchronized (lock) {
            if (reserved.remove(r)) {
                reservedDtypes.remove(r);
                use(r.array(), null, -1);
            }
        }
    }

    /**
     * Removes the declaration of {@code array} from {@code dataset}.
     *
     * @return false when there was none
     * @throws DatasetNotFoundException if the dataset is not registered
     */
    boolean undeclare(String dataset, String array) {
        synchronized (lock) {
            if (requireDataset(dataset).arrays.remove(array) == null) {
                return false;
            }
            touched.add(dataset);
            use(array, null, -1);
            return true;
        }
    }

    // ------------------------------------------------------------------ commit

    /** A deep copy of the working registry: what a flush commits. */
    Registry snapshot() {
        synchronized (lock) {
            return registry.copy();
        }
    }

    /** The registry as last written or read (pins included). Not to be changed. */
    Registry committed() {
        synchronized (lock) {
            return committed;
        }
    }

    /** Records that {@code r}, written as {@code info}, is now the registry object in storage (the working registry is kept). */
    void committedOnly(Registry r, ObjectInfo info) {
        synchronized (lock) {
            committed = r;
            committedInfo = info;
            confirmed = java.time.Instant.now();
        }
    }

    // ------------------------------------------------------------------ under the lock

    private Registry.DatasetEntry requireDataset(String dataset) {
        Registry.DatasetEntry e = registry.datasets.get(dataset);
        if (e == null) {
            throw new DatasetNotFoundException("dataset '" + dataset + "' is not registered (deleted?)");
        }
        return e;
    }

    /** Counts a declaration of {@code array} in ({@code +1}, with its dtype) or out ({@code -1}). */
    private void use(String array, DType dtype, int delta) {
        ArrayUse u = arrayUse.computeIfAbsent(array, ArrayUse::new);
        if (u.count == 0 && delta > 0) {
            u.dtype = dtype;
        }
        u.count += delta;
        if (u.count <= 0) {
            arrayUse.remove(array);
        }
    }
}
