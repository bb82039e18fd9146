package dev.atlas.store;

import dev.atlas.array.ArrayFile;
import dev.atlas.storage.Storage;
import dev.atlas.error.ConflictException;
import dev.atlas.error.ObjectChangedException;
import dev.atlas.internal.format.LayerNames;
import dev.atlas.storage.ObjectInfo;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The commit protocol of a store handle: a flush writes every dirty array file as a new sidecar
 * layer and then the registry naming, per array file, the newest layer it commits (the pins);
 * compaction flushes and rewrites every referenced file set as one base layer, then deletes
 * unreferenced array directories. Callers run both under the handle's exclusive gate.
 */
final class StoreCommit {
    private static final Logger LOG = LoggerFactory.getLogger(StoreCommit.class);

    private final Storage storage;
    private final StoreLayout layout;
    private final AtlasOptions options;
    private final RegistryState state;
    private final ArrayFiles files;
    private final RegistryObject registry;
    private final StoreRefresh refresh;
    private final CommitLock lock;
    /** Registry commits that lost the race to another writer and were merged and retried (for tests and metrics). */
    final AtomicLong commitRetries = new AtomicLong();

    StoreCommit(Storage storage, StoreLayout layout, AtlasOptions options, RegistryState state, ArrayFiles files,
            RegistryObject registry, StoreRefresh refresh) {
        this.storage = storage;
        this.layout = layout;
        this.options = options;
        this.state = state;
        this.files = files;
        this.registry = registry;
        this.refresh = refresh;
        this.lock = new CommitLock(storage, layout, options.resources().codecScheduler(), options.commitLease());
    }

    /**
     * Flushes the dirty array files, then commits the registry naming their new layers with a
     * compare-and-swap; when another writer committed first, reads its registry, merges (disjoint
     * datasets merge, a dataset both changed is a {@link ConflictException}) and tries again.
     */
    Mono<Void> flush() {
        return Mono.defer(() -> {
            Registry snap = state.snapshot();
            Set<String> touched = state.touched();
            Map<String, ArrayFile> dirty = files.withPendingChanges();
            Registry pinned = pinnedBefore(state.committed(), dirty);
            return (pinned == null ? Mono.<Void>empty() : commitPins(pinned))
                    .then(Flux.fromIterable(dirty.entrySet())
                            .flatMap(d -> {
                                long before = d.getValue().lastFlushedLayer();
                                // Recorded before the completion travels on (the commit below reads it),
                                // and also when the flush failed after its layer was written.
                                Runnable record = () -> {
                                    long after = d.getValue().lastFlushedLayer();
                                    if (after != before) {
                                        files.flushed(d.getKey(), after);
                                    }
                                };
                                return d.getValue().flush().doOnTerminate(record).doOnCancel(record);
                            }, options.flushConcurrency())
                            .then())
                    .then(Mono.defer(() -> {
                        Map<String, SortedSet<Long>> own = files.ownUncommitted();
                        if (own.isEmpty() && touched.isEmpty()) {
                            return Mono.empty(); // nothing to commit
                        }
                        return commit(state.committed(), snap, touched, own, state.committed(), state.committedInfo(), 0);
                    }));
        });
    }

    /**
     * One attempt of the registry commit: under the commit lease, read the registry if it changed
     * since {@code theirs} (one conditional request), merge onto the newest, write it with a
     * compare-and-swap. A lost race (possible only when the lease was broken) is retried.
     */
    private Mono<Void> commit(Registry base, Registry mine, Set<String> touched, Map<String, SortedSet<Long>> own,
            Registry theirs0, ObjectInfo theirsInfo0, int attempt) {
        return lock.around(() -> RegistryObject.readIfChanged(storage, registry.key(), theirsInfo0.version())
                .map(v -> {
                    commitRetries.incrementAndGet();
                    return v;
                })
                .defaultIfEmpty(new RegistryObject.Versioned(theirs0, theirsInfo0))
                .flatMap(v -> {
                    Registry theirs = v.registry();
                    Registry merged = RegistryMerge.merge(base, mine, theirs, touched, own);
                    return registry.writeIfMatch(merged, v.info().version()).flatMap(info -> {
                        state.committed(merged, info, touched);
                        refresh.committed(merged, info);
                        files.committed(own);
                        return Mono.just(theirs);
                    });
                }))
                .flatMap(theirs -> refresh.refreshFiles(theirs, state.committed()))
                .onErrorResume(ObjectChangedException.class, e -> {
                    if (attempt + 1 >= options.commitAttempts()) {
                        return Mono.error(new ConflictException("the registry " + registry.key() + " kept changing: "
                                + options.commitAttempts() + " commit attempts lost to other writers", e));
                    }
                    long backoff = Math.min(1000, 5L << Math.min(attempt, 8));
                    Duration delay = Duration.ofMillis(ThreadLocalRandom.current().nextLong(backoff / 2, backoff + 1));
                    return Mono.delay(delay, options.resources().codecScheduler())
                            .then(RegistryObject.read(storage, registry.key()))
                            .flatMap(v -> commit(base, mine, touched, own, v.registry(), v.info(), attempt + 1));
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

    /** Commits {@code pinned} (the committed registry with pins added) with a compare-and-swap. */
    private Mono<Void> commitPins(Registry pinned) {
        return lock.around(() -> registry.writeIfMatch(pinned, state.committedInfo().version()))
                .doOnNext(info -> {
                    state.committedOnly(pinned, info);
                    refresh.committed(pinned, info);
                })
                .onErrorMap(ObjectChangedException.class, e -> new ConflictException("another writer committed to "
                        + registry.key() + " while this handle pinned the reference's file sets; refresh and flush again", e))
                .then();
    }

    /**
     * Deletes entries of datasets that do not declare their array (lost tombstones), flushes,
     * compacts every referenced file set that no other writer is committing to, and deletes the
     * garbage older than {@link AtlasOptions#garbageAge()}: sidecars of failed commits, array file
     * sets no dataset references, abandoned uploads.
     */
    Mono<CompactionReport> compact(Consumer<CompactionProgress> progress) {
        return Mono.defer(() -> {
            Map<String, Set<String>> declaring = state.declaringDatasets();
            Mono<Void> tombstone = Flux.fromIterable(declaring.entrySet())
                    .flatMap(en -> files.file(en.getKey(), false).flatMap(f -> Flux.fromIterable(f.listArrays())
                            .filter(entry -> !en.getValue().contains(entry))
                            .concatMap(entry -> {
                                state.touch(entry);
                                return f.delete(entry);
                            })
                            .then()), AtlasOptions.DEFAULT_OPEN_CONCURRENCY)
                    .then();
            List<String> compacted = new CopyOnWriteArrayList<>();
            List<String> yielded = new CopyOnWriteArrayList<>();
            AtomicInteger handled = new AtomicInteger();
            int total = declaring.size();
            return tombstone.then(flush())
                    .then(Flux.fromIterable(declaring.keySet())
                            .flatMap(a -> files.file(a, false).flatMap(f -> f.compact(options.garbageAge()))
                                    .doOnNext(done -> {
                                        (done ? compacted : yielded).add(a);
                                        progress.accept(new CompactionProgress(a, done, handled.incrementAndGet(), total));
                                    }), options.flushConcurrency())
                            .then())
                    .then(Mono.defer(this::gc))
                    .map(g -> new CompactionReport(sorted(compacted), sorted(yielded), g.garbage(), g.abandonedUploads()));
        });
    }

    private static List<String> sorted(List<String> l) {
        List<String> out = new ArrayList<>(l);
        out.sort(NameRules.BYTE_ORDER);
        return out;
    }

    /** What a garbage collection deleted. */
    record Garbage(List<String> garbage, long abandonedUploads) {
    }

    /**
     * Deletes what no commit counts and no live writer can still be writing (older than
     * {@link AtlasOptions#garbageAge()}): sidecars of failed commits of referenced file sets,
     * every object of array file sets no dataset references, abandoned uploads.
     */
    Mono<Garbage> gc() {
        return Mono.defer(() -> {
            Duration age = options.garbageAge();
            Registry newest = refresh.newest();
            Set<String> referenced = new TreeSet<>(state.declaringDatasets().keySet());
            for (Registry.DatasetEntry e : newest.datasets.values()) {
                referenced.addAll(e.arrays.keySet());
            }
            List<String> deleted = new CopyOnWriteArrayList<>();
            Mono<Void> sidecars = Flux.fromIterable(referenced)
                    .flatMap(a -> files.file(a, false).flatMap(f -> f.deleteGarbage(age))
                            .onErrorResume(dev.atlas.error.NotFoundException.class, e -> Mono.just(List.of()))
                            .doOnNext(deleted::addAll), AtlasOptions.DEFAULT_OPEN_CONCURRENCY)
                    .then();
            return sidecars.then(deleteUnreferenced(referenced, age, deleted))
                    .then(storage.deleteAbandonedUploads(age))
                    .map(n -> {
                        List<String> keys = new ArrayList<>(deleted);
                        keys.sort(null);
                        return new Garbage(keys, n);
                    });
        });
    }

    /**
     * Deletes the store if its registry, as stored now, names no dataset. Under the commit lease,
     * the registry is read and, when it names none, replaced by a tombstone ({@link RegistryObject#tombstoneIfMatch}) with a
     * compare-and-swap on the version read; then the store's own objects are deleted (array file
     * sets, retained copies, the lease object), the tombstone last. A writer that commits after
     * the read (the lease broken, or another store handle's commit) makes the swap fail, and the
     * store stays; a writer that opened the store before and commits after the swap fails its
     * commit (the registry it expects is gone), so no acknowledged commit is ever deleted.
     * Objects under the prefix that are not the store's are left alone.
     *
     * @return true when the store was deleted, false when it holds datasets (or got some meanwhile)
     */
    Mono<Boolean> deleteIfEmpty() {
        return lock.around(() -> RegistryObject.read(storage, registry.key()).flatMap(v -> {
            if (!v.registry().datasets.isEmpty()) {
                return Mono.just(false);
            }
            return registry.tombstoneIfMatch(v.info().version())
                    .thenReturn(true)
                    .onErrorResume(ObjectChangedException.class, e -> Mono.just(false));
        })).flatMap(tombstoned -> !tombstoned ? Mono.just(false) : storage.list(layout.root())
                .filter(o -> !o.key().equals(registry.key()) && isStoreObject(layout.relative(o.key())))
                .concatMap(o -> storage.delete(o.key())) // a missing one (the lease, released meanwhile) is no error
                .then(storage.delete(registry.key()))
                .thenReturn(true));
    }

    /**
     * Whether a store-relative name is one of a store's own objects: a registry, the commit lease,
     * or, in an array directory, a file set member ({@code data.af}, {@code data.N.af},
     * {@code data.stats}) or a retained copy of one ({@code _retained/{member}.{tag}.{millis}}).
     * Anything else under the prefix (a user's {@code exports/data.csv}) is not.
     */
    static boolean isStoreObject(String rest) {
        if (RegistryFile.ofFileName(rest) != null || rest.equals(CommitLock.NAME)) {
            return true;
        }
        int slash = rest.indexOf('/');
        return slash > 0 && isFileSetObject(rest.substring(slash + 1));
    }

    /**
     * Whether a name inside an array directory is one of the store's: a file set member
     * ({@code data.af}, {@code data.N.af}, {@code data.stats}) or a copy a compaction retained of
     * one ({@code _retained/{member}.{tag}.{millis}}).
     */
    static boolean isFileSetObject(String file) {
        String retained = "_retained/";
        if (file.startsWith(retained)) {
            String copy = file.substring(retained.length());
            int millisDot = copy.lastIndexOf('.');
            int tagDot = millisDot > 0 ? copy.lastIndexOf('.', millisDot - 1) : -1;
            if (tagDot <= 0 || millisDot == copy.length() - 1 || !copy.substring(millisDot + 1).chars().allMatch(Character::isDigit)) {
                return false;
            }
            file = copy.substring(0, tagDot);
        }
        return file.indexOf('/') < 0 && (file.equals("data.af") || file.equals(LayerNames.stats("data"))
                || LayerNames.sidecarNumber("data", file) > 0);
    }

    /**
     * Deletes every object of array directories no dataset references and nobody opened, when all
     * of the directory's objects are older than {@code age} (a younger one may be another writer
     * creating that array).
     */
    private Mono<Void> deleteUnreferenced(Set<String> referenced, Duration age, List<String> deleted) {
        Instant cutoff = Instant.now().minus(age);
        return storage.list(layout.root()).filter(o -> {
            String rest = layout.relative(o.key());
            int slash = rest.indexOf('/');
            if (slash < 0) {
                return false;
            }
            String dir = rest.substring(0, slash);
            String file = rest.substring(slash + 1);
            return !referenced.contains(dir) && !files.isOpen(dir) && isFileSetObject(file);
        }).collectMultimap(o -> {
            String rest = layout.relative(o.key());
            return rest.substring(0, rest.indexOf('/'));
        }).flatMapMany(byDir -> Flux.fromIterable(byDir.values()))
                .filter(objects -> objects.stream().allMatch(o -> o.modified() != null && o.modified().isBefore(cutoff)))
                .concatMap(objects -> Flux.fromIterable(objects).concatMap(o -> storage.delete(o.key())
                        .then(Mono.fromRunnable(() -> deleted.add(o.key())))))
                .then();
    }
}
