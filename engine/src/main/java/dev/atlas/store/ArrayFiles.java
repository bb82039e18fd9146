package dev.atlas.store;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.CommittedLayers;
import dev.atlas.array.LayerCommits;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.NotFoundException;
import dev.atlas.storage.Storage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The open-file cache of a store handle: each array file set is opened lazily on first use,
 * once, and shared; one the committed registry references is opened pinned to the layers it
 * commits. Lookups take no lock.
 */
final class ArrayFiles {
    private final Storage storage;
    private final StoreLayout layout;
    private final AtlasOptions options;
    private final RegistryState state;
    /** The opening (or opened) file set per array name; a failed opening is forgotten. */
    private final ConcurrentHashMap<String, Mono<ArrayFile>> files = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, ArrayFile> opened = new ConcurrentHashMap<>();
    /**
     * Per array name, the sidecars this handle's flushes wrote that no registry commit counts
     * yet: part of this handle's view of the file set, and what its next commit claims.
     */
    private final ConcurrentHashMap<String, java.util.concurrent.ConcurrentSkipListSet<Long>> ownUncommitted =
            new ConcurrentHashMap<>();
    private final StoreRefresh refresh;

    ArrayFiles(Storage storage, StoreLayout layout, AtlasOptions options, RegistryState state, StoreRefresh refresh) {
        this.storage = storage;
        this.layout = layout;
        this.options = options;
        this.state = state;
        this.refresh = refresh;
    }

    /**
     * The committed layers of array file {@code array} as this handle sees them: what the newest
     * registry it knows counts (the base alone for a file set no registry references yet), plus
     * the sidecars its own flushes wrote since.
     */
    LayerCommits commitsFor(String array) {
        return latest -> (latest ? refresh.latest() : Mono.fromSupplier(refresh::newest)).map(r -> layersOf(r, array));
    }

    /** The committed layers of {@code array} this handle sees with registry {@code r}: its pins plus own uncommitted sidecars. */
    CommittedLayers layersOf(Registry r, String array) {
        CommittedLayers c = r.references(array) ? r.committedLayers(array) : CommittedLayers.through(0);
        java.util.SortedSet<Long> own = ownUncommitted.get(array);
        return own == null || own.isEmpty() || c.all() ? c : RegistryMerge.withOwn(c, own, array, true);
    }

    /** Records that a flush of this handle wrote sidecar {@code n} of {@code array}, not committed yet. */
    void flushed(String array, long n) {
        if (n > 0) {
            ownUncommitted.computeIfAbsent(array, a -> new java.util.concurrent.ConcurrentSkipListSet<>()).add(n);
        }
    }

    /** A copy of the sidecars this handle wrote that no commit counts yet, per array name. */
    Map<String, java.util.SortedSet<Long>> ownUncommitted() {
        Map<String, java.util.SortedSet<Long>> m = new LinkedHashMap<>();
        ownUncommitted.forEach((a, set) -> {
            if (!set.isEmpty()) {
                m.put(a, new java.util.TreeSet<>(set));
            }
        });
        return m;
    }

    /** Forgets own sidecars a commit now counts. */
    void committed(Map<String, java.util.SortedSet<Long>> counted) {
        counted.forEach((a, set) -> {
            java.util.concurrent.ConcurrentSkipListSet<Long> own = ownUncommitted.get(a);
            if (own != null) {
                own.removeAll(set);
            }
        });
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
        return prev != null ? prev : fresh;
    }

    private Mono<ArrayFile> openFile(String array, boolean create) {
        return Mono.defer(() -> {
            Registry c = refresh.newest();
            String base = layout.arrayBase(array);
            ArrayFileOptions opts = options.fileOptions(state.committed().codec, state.footerVersion());
            LayerCommits commits = commitsFor(array);
            if (c.references(array) || state.committed().references(array)) {
                // A layer listed and then gone is another writer's compaction replacing layers
                // between the listing and the reads: list again before calling the file set
                // missing, backing off (20 ms to 0.5 s, about 1.5 s in all), since on a loaded
                // machine a compaction's deletions can span several immediate retries.
                return Mono.defer(() -> ArrayFile.open(storage, base, opts, commits))
                        .retryWhen(reactor.util.retry.Retry.backoff(6, java.time.Duration.ofMillis(20))
                                .maxBackoff(java.time.Duration.ofMillis(500))
                                .filter(NotFoundException.class::isInstance))
                        .onErrorMap(reactor.core.Exceptions::isRetryExhausted, Throwable::getCause)
                        .onErrorMap(NotFoundException.class,
                        e -> new CorruptFileException(base, "the registry references array '" + array
                                + "' but its file set is missing (" + e.getMessage() + ")", e));
            }
            if (!create) {
                return Mono.error(new ArrayNotFoundException("array '" + array + "' has no committed file set"));
            }
            // No commit references the array yet. Objects of its file set younger than the garbage
            // age may be another writer creating it right now: join that file set. Older ones are
            // garbage of a failed commit or of deleted datasets: start afresh.
            String stemPrefix = base.substring(0, base.length() - "af".length());
            java.time.Instant young = java.time.Instant.now().minus(options.garbageAge());
            return storage.list(stemPrefix)
                    .filter(o -> o.key().substring(stemPrefix.length()).indexOf('/') < 0)
                    .collectList()
                    .flatMap(found -> {
                        boolean live = found.stream().anyMatch(o -> o.modified() == null || o.modified().isAfter(young));
                        boolean hasBase = found.stream().anyMatch(o -> o.key().equals(base));
                        if (live && hasBase) {
                            return ArrayFile.open(storage, base, opts, commits);
                        }
                        Mono<Void> clear = live ? Mono.empty() : Flux.fromIterable(found).concatMap(o -> storage.delete(o.key())).then();
                        return clear.then(Mono.defer(() -> ArrayFile.create(storage, base, opts, commits)))
                                .onErrorResume(AlreadyExistsException.class, e -> ArrayFile.open(storage, base, opts, commits));
                    });
        });
    }

    /** The opened file set of {@code array}, or null. */
    ArrayFile opened(String array) {
        return opened.get(array);
    }

    /** Names of the file sets opened so far. */
    Set<String> openedNames() {
        return Set.copyOf(opened.keySet());
    }

    boolean isOpen(String array) {
        return opened.containsKey(array);
    }

    /** The opened file sets with changes a flush has to write, by array name. */
    Map<String, ArrayFile> withPendingChanges() {
        Map<String, ArrayFile> dirty = new LinkedHashMap<>();
        opened.forEach((a, f) -> {
            if (f.hasPendingChanges()) {
                dirty.put(a, f);
            }
        });
        return dirty;
    }

    /** Closes every opened file set (pending changes are discarded) and forgets them all. */
    Mono<Void> closeAll() {
        return Flux.fromIterable(new ArrayList<>(opened.values()))
                .concatMap(ArrayFile::close)
                .then(Mono.fromRunnable(() -> {
                    opened.clear();
                    files.clear();
                }));
    }
}
