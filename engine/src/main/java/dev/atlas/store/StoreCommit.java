package dev.atlas.store;

import dev.atlas.array.ArrayFile;
import dev.atlas.internal.format.Footer;
import dev.atlas.storage.Storage;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The commit protocol of a store handle: a flush writes every dirty array file as a new sidecar
 * layer and then the registry naming, per array file, the newest layer it commits (the pins);
 * compaction flushes and rewrites every referenced file set as one base layer, then deletes
 * unreferenced array directories. Callers run both under the handle's exclusive gate.
 */
final class StoreCommit {
    private final Storage storage;
    private final StoreLayout layout;
    private final AtlasOptions options;
    private final RegistryState state;
    private final ArrayFiles files;
    private final RegistryObject registry;

    StoreCommit(Storage storage, StoreLayout layout, AtlasOptions options, RegistryState state, ArrayFiles files,
            RegistryObject registry) {
        this.storage = storage;
        this.layout = layout;
        this.options = options;
        this.state = state;
        this.files = files;
        this.registry = registry;
    }

    /** Flushes the dirty array files, then writes the registry that commits them. */
    Mono<Void> flush() {
        return Mono.defer(() -> {
            Registry snap = state.snapshot();
            Map<String, ArrayFile> dirty = files.withPendingChanges();
            Registry pinned = pinnedBefore(state.committed(), dirty);
            return (pinned == null ? Mono.<Void>empty() : commit(pinned))
                    .then(Flux.fromIterable(dirty.values())
                            .flatMap(ArrayFile::flush, options.flushConcurrency())
                            .then())
                    .then(Mono.defer(() -> {
                        snap.layers = pins(snap, state.committed());
                        snap.footerVersion = state.footerVersion() == Footer.VERSION_V5 ? null : state.footerVersion();
                        return commit(snap);
                    }));
        });
    }

    /**
     * A file the committed registry references without a pin (written by the reference) gets its
     * pin committed before its new sidecar is written, so that the sidecar stays invisible until
     * our commit: the committed registry with those pins added, or null when there are none.
     */
    private static Registry pinnedBefore(Registry committed, Map<String, ArrayFile> dirty) {
        Registry pinned = null;
        for (Map.Entry<String, ArrayFile> d : dirty.entrySet()) {
            String a = d.getKey();
            if (committed.references(a) && (committed.layers == null || !committed.layers.containsKey(a))) {
                if (pinned == null) {
                    pinned = committed.copy();
                    if (pinned.layers == null) {
                        pinned.layers = new LinkedHashMap<>();
                    }
                }
                pinned.layers.put(a, d.getValue().committedThrough());
            }
        }
        return pinned;
    }

    /** The pin of every array {@code snap} references, in byte order: its open file's, else the committed one. */
    private LinkedHashMap<String, Long> pins(Registry snap, Registry committed) {
        TreeSet<String> referenced = new TreeSet<>(NameRules.BYTE_ORDER);
        snap.datasets.values().forEach(e -> referenced.addAll(e.arrays.keySet()));
        LinkedHashMap<String, Long> pins = new LinkedHashMap<>();
        for (String a : referenced) {
            ArrayFile f = files.opened(a);
            if (f != null) {
                pins.put(a, f.committedThrough());
            } else if (committed.layers != null && committed.layers.containsKey(a)) {
                pins.put(a, committed.layers.get(a));
            }
        }
        return pins;
    }

    /** Writes {@code r} as the registry object, then records it as the committed registry. */
    private Mono<Void> commit(Registry r) {
        return registry.write(r).then(Mono.fromRunnable(() -> state.committed(r)));
    }

    /**
     * Deletes entries of datasets that do not declare their array (lost tombstones), flushes,
     * compacts every referenced file set, and deletes array directories no dataset references.
     */
    Mono<Void> compact() {
        return Mono.defer(() -> {
            Map<String, Set<String>> declaring = state.declaringDatasets();
            Mono<Void> tombstone = Flux.fromIterable(declaring.entrySet())
                    .flatMap(en -> files.file(en.getKey(), false).flatMap(f -> Flux.fromIterable(f.listArrays())
                            .filter(entry -> !en.getValue().contains(entry))
                            .concatMap(f::delete)
                            .then()), AtlasOptions.DEFAULT_OPEN_CONCURRENCY)
                    .then();
            return tombstone.then(flush())
                    .then(Flux.fromIterable(declaring.keySet())
                            .flatMap(a -> files.file(a, false).flatMap(ArrayFile::compact), options.flushConcurrency())
                            .then())
                    .then(Mono.defer(() -> deleteUnreferenced(declaring.keySet())));
        });
    }

    /** Deletes every object under an array directory no dataset references. */
    private Mono<Void> deleteUnreferenced(Set<String> referenced) {
        return storage.list(layout.root()).filter(o -> {
            String rest = layout.relative(o.key());
            int slash = rest.indexOf('/');
            if (slash < 0) {
                return false;
            }
            String dir = rest.substring(0, slash);
            String file = rest.substring(slash + 1);
            return !referenced.contains(dir) && !files.isOpen(dir) && file.startsWith("data.") && file.indexOf('/') < 0;
        }).concatMap(o -> storage.delete(o.key())).then();
    }
}
