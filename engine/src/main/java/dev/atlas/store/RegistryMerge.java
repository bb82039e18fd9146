package dev.atlas.store;

import dev.atlas.array.CommittedLayers;
import dev.atlas.error.ConflictException;
import dev.atlas.format.DType;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * The merge of two writers' commits: this handle's changes, made on the registry it last knew
 * ({@code base}), onto the newest committed registry ({@code theirs}). Datasets only one side
 * changed merge; a dataset both changed since {@code base} (by its revision) is a
 * {@link ConflictException} naming it. Array pins combine: the higher pin wins, and the sidecar
 * numbers between the other side's pin and ours that are not ours are excluded (they belong to
 * flushes that have not committed). Pure: no I/O, no state.
 */
final class RegistryMerge {
    /** Exclusions one merge may add to one array file before it is taken for a runaway. */
    static final int MAX_EXCLUSIONS = 100_000;

    private RegistryMerge() {
    }

    /**
     * {@code theirs} with this handle's changes applied.
     *
     * @param base the committed registry this handle's changes started from
     * @param mine this handle's working registry
     * @param touched datasets this handle changed since {@code base} (entry or data)
     * @param flushed per array file, the sidecars this handle wrote that the result must commit
     * @throws ConflictException if a dataset of {@code touched} changed in {@code theirs} since
     *     {@code base}, if an array name ends up with two dtypes, or a flushed sidecar cannot be
     *     committed on top of {@code theirs}
     */
    static Registry merge(Registry base, Registry mine, Registry theirs, Set<String> touched, Map<String, SortedSet<Long>> flushed) {
        for (String d : touched) {
            if (theirs.revision(d) != base.revision(d)) {
                throw new ConflictException("dataset '" + d + "' was changed by another writer since this handle read it"
                        + " (revision " + base.revision(d) + " -> " + theirs.revision(d) + "); refresh and apply the change again",
                        null);
            }
        }
        Registry out = theirs.copy();
        if (out.revisions == null) {
            out.revisions = new LinkedHashMap<>();
        }
        // In this handle's registration order: a dataset both sides know keeps its place, new ones
        // are appended in the order this handle registered them.
        for (Map.Entry<String, Registry.DatasetEntry> e : mine.datasets.entrySet()) {
            if (touched.contains(e.getKey())) {
                out.datasets.put(e.getKey(), e.getValue().copy());
            }
        }
        for (String d : touched) {
            if (!mine.datasets.containsKey(d)) {
                out.datasets.remove(d);
            }
            out.revisions.put(d, theirs.revision(d) + 1);
        }
        checkDtypes(out);
        if (!flushed.isEmpty() && out.layers == null) {
            out.layers = new LinkedHashMap<>();
        }
        for (Map.Entry<String, SortedSet<Long>> f : flushed.entrySet()) {
            String a = f.getKey();
            if (!out.references(a)) {
                continue; // every dataset declaring it is gone: its layers are garbage now
            }
            CommittedLayers now = pinned(theirs, a);
            CommittedLayers next = withOwn(now, f.getValue(), a);
            out.layers.put(a, next.through());
            if (next.excluded().isEmpty()) {
                if (out.excluded != null) {
                    out.excluded.remove(a);
                }
            } else {
                if (out.excluded == null) {
                    out.excluded = new LinkedHashMap<>();
                }
                out.excluded.put(a, new TreeSet<>(next.excluded()));
            }
        }
        // Pins and exclusions of array files nothing references any more are dropped.
        if (out.layers != null) {
            out.layers.keySet().removeIf(a -> !out.references(a));
        }
        if (out.excluded != null) {
            out.excluded.keySet().removeIf(a -> out.layers == null || !out.layers.containsKey(a));
        }
        return out;
    }

    /** The committed layers {@code r} records for {@code array}; {@code through(0)} when it pins nothing for it. */
    private static CommittedLayers pinned(Registry r, String array) {
        if (r.layers == null || !r.layers.containsKey(array)) {
            return CommittedLayers.through(0);
        }
        return r.committedLayers(array);
    }

    /**
     * {@code committed} with the sidecars {@code own} added: the pin rises to the highest of them,
     * numbers passed over that are not ours become exclusions, ours stop being excluded.
     */
    static CommittedLayers withOwn(CommittedLayers committed, SortedSet<Long> own, String array) {
        return withOwn(committed, own, array, false);
    }

    /**
     * As {@link #withOwn(CommittedLayers, SortedSet, String)}; with {@code lenient}, own numbers a
     * commit already counts are skipped instead of refused (a view that races its own commit).
     */
    static CommittedLayers withOwn(CommittedLayers committed, SortedSet<Long> own0, String array, boolean lenient) {
        SortedSet<Long> own = own0;
        if (lenient) {
            own = new TreeSet<>();
            for (long n : own0) {
                if (!committed.includes(n)) {
                    own.add(n);
                }
            }
        }
        if (own.isEmpty()) {
            return committed;
        }
        long top = Math.max(committed.through(), own.last());
        if (top - committed.through() > MAX_EXCLUSIONS) {
            throw new ConflictException("array file '" + array + "': sidecar " + own.last() + " is too far above the"
                    + " committed " + committed.through(), null);
        }
        TreeSet<Long> excluded = new TreeSet<>(committed.excluded());
        for (long n = committed.through() + 1; n < top; n++) {
            excluded.add(n);
        }
        for (long n : own) {
            if (n <= committed.through() && !committed.excluded().contains(n)) {
                throw new ConflictException("array file '" + array + "': sidecar " + n + " of this writer is already"
                        + " counted by a newer commit, which cannot be", null);
            }
            excluded.remove(n);
        }
        return new CommittedLayers(top, excluded);
    }

    /** Every array name keeps one dtype across the datasets declaring it. */
    private static void checkDtypes(Registry r) {
        Map<String, DType> dtypes = new HashMap<>();
        Map<String, String> by = new HashMap<>();
        for (Map.Entry<String, Registry.DatasetEntry> d : r.datasets.entrySet()) {
            for (Map.Entry<String, ArraySchema> a : d.getValue().arrays.entrySet()) {
                DType prev = dtypes.putIfAbsent(a.getKey(), a.getValue().dtype());
                if (prev == null) {
                    by.put(a.getKey(), d.getKey());
                } else if (!prev.equals(a.getValue().dtype())) {
                    throw new ConflictException("array '" + a.getKey() + "' is " + prev + " in dataset '" + by.get(a.getKey())
                            + "' but " + a.getValue().dtype() + " in dataset '" + d.getKey() + "' after merging another"
                            + " writer's commit", null);
                }
            }
        }
    }
}
