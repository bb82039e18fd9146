package dev.atlas.store;

import java.util.LinkedHashMap;

/**
 * The registry's content (the reference's {@code StoreMeta}), mutable, guarded by its owner
 * ({@link RegistryState} mutates it under its lock; flushes encode a {@link #copy()}).
 *
 * <p>{@code layers} is ours: for every array file set the registry commits, the number of the
 * newest layer it commits ({@code 0} = the base alone). A layer numbered above its pin was written
 * by a flush that never reached its registry write (or whose write is still under way in another
 * process): readers ignore it, and garbage collection deletes it once old. {@code null} when the
 * registry was written by the reference (no pins: every layer counts). {@code excluded} and
 * {@code revisions} are ours too (FORMAT.md 13.5).
 */
final class Registry {
    long version;
    StoreCodec codec;
    final LinkedHashMap<String, DatasetEntry> datasets;
    LinkedHashMap<String, Long> layers;
    /** Footer version of the store's array files when not 5 (ours; null in reference-written registries). */
    Integer footerVersion;
    /**
     * Ours: per array file, sidecar numbers at or below its pin that are not committed (another
     * writer's flush that had not committed when a higher number did, or garbage of a failed one).
     * Null or empty: none.
     */
    LinkedHashMap<String, java.util.TreeSet<Long>> excluded;
    /**
     * Ours: per dataset, how many commits changed it (its entry or its data); two writers that
     * both changed one dataset since the revision they started from conflict. Missing: 0.
     */
    LinkedHashMap<String, Long> revisions;

    Registry(long version, StoreCodec codec, LinkedHashMap<String, DatasetEntry> datasets, LinkedHashMap<String, Long> layers) {
        this.version = version;
        this.codec = codec;
        this.datasets = datasets;
        this.layers = layers;
    }

    static Registry empty(long version, StoreCodec codec) {
        return new Registry(version, codec, new LinkedHashMap<>(), new LinkedHashMap<>());
    }

    /** A deep copy (schemas and attribute values are immutable and shared). */
    Registry copy() {
        LinkedHashMap<String, DatasetEntry> d = new LinkedHashMap<>();
        datasets.forEach((k, v) -> d.put(k, v.copy()));
        Registry r = new Registry(version, codec, d, layers == null ? null : new LinkedHashMap<>(layers));
        r.footerVersion = footerVersion;
        if (excluded != null) {
            r.excluded = new LinkedHashMap<>();
            excluded.forEach((k, v) -> r.excluded.put(k, new java.util.TreeSet<>(v)));
        }
        r.revisions = revisions == null ? null : new LinkedHashMap<>(revisions);
        return r;
    }

    /** The revision of {@code dataset} (0 when never counted). */
    long revision(String dataset) {
        return revisions == null ? 0 : revisions.getOrDefault(dataset, 0L);
    }

    /**
     * The committed layers of array file {@code array}: its pin and exclusions, or every layer
     * when it has no pin (a file set the reference wrote and we never flushed: the reference
     * counts every sidecar).
     */
    dev.atlas.array.CommittedLayers committedLayers(String array) {
        if (layers == null || !layers.containsKey(array)) {
            return dev.atlas.array.CommittedLayers.ALL;
        }
        long pin = layers.get(array);
        java.util.TreeSet<Long> ex = excluded == null ? null : excluded.get(array);
        return new dev.atlas.array.CommittedLayers(pin, ex == null ? new java.util.TreeSet<>() : ex);
    }

    /** True when some dataset declares {@code array} (its file set is then committed). */
    boolean references(String array) {
        for (DatasetEntry e : datasets.values()) {
            if (e.arrays.containsKey(array)) {
                return true;
            }
        }
        return false;
    }

    /** One dataset: its arrays in declaration order and its attributes in insertion order. */
    static final class DatasetEntry {
        final LinkedHashMap<String, ArraySchema> arrays;
        final LinkedHashMap<String, Attr> attributes;

        DatasetEntry() {
            this(new LinkedHashMap<>(), new LinkedHashMap<>());
        }

        DatasetEntry(LinkedHashMap<String, ArraySchema> arrays, LinkedHashMap<String, Attr> attributes) {
            this.arrays = arrays;
            this.attributes = attributes;
        }

        DatasetEntry copy() {
            return new DatasetEntry(new LinkedHashMap<>(arrays), new LinkedHashMap<>(attributes));
        }

        DatasetMeta snapshot() {
            return new DatasetMeta(arrays, attributes);
        }
    }
}
