package dev.atlas.store;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.CommittedLayers;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * How a store handle keeps up with other processes' commits. It knows the newest registry it has
 * seen ({@link #newest()}), which array file sets consult for their committed layers, fetched
 * again, with one conditional read, when a read found an object replaced ({@link #latest()}).
 * {@link #refresh()} moves the whole handle (its registry, the file sets whose committed layers
 * changed) to the newest commit.
 */
final class StoreRefresh {
    private static final Logger LOG = LoggerFactory.getLogger(StoreRefresh.class);

    private final Storage storage;
    private final String key;
    private final RegistryState state;
    private volatile RegistryObject.Versioned newest;
    /** Bumped by every commit and refresh of this handle: a fetch that started before one is not newer. */
    private final AtomicLong generation = new AtomicLong();
    private final AtomicReference<java.util.concurrent.CompletableFuture<Registry>> fetching = new AtomicReference<>();
    /** Refreshes that found a newer commit, and registry reads they cost (for tests and metrics). */
    final AtomicLong refreshes = new AtomicLong();
    final AtomicLong registryReads = new AtomicLong();
    private ArrayFiles files;

    StoreRefresh(Storage storage, String key, RegistryState state, Registry loaded, ObjectInfo info) {
        this.storage = storage;
        this.key = key;
        this.state = state;
        this.newest = new RegistryObject.Versioned(loaded, info);
    }

    void files(ArrayFiles f) {
        this.files = f;
    }

    /** The newest registry this handle has seen (committed by it, loaded by a refresh, or fetched for a file set). */
    Registry newest() {
        return newest.registry();
    }

    /** Records a commit of this handle as the newest registry. */
    void committed(Registry r, ObjectInfo info) {
        generation.incrementAndGet();
        newest = new RegistryObject.Versioned(r, info);
    }

    /**
     * The newest registry after one conditional read of the registry object (shared by concurrent
     * callers): a file set calls it when an object it planned against was replaced or is gone.
     */
    Mono<Registry> latest() {
        return Mono.defer(() -> {
            // Runs to its end whoever stops waiting (see OpenFileSet.refresh): a shared future.
            java.util.concurrent.CompletableFuture<Registry> mine = new java.util.concurrent.CompletableFuture<>();
            java.util.concurrent.CompletableFuture<Registry> running = fetching.compareAndExchange(null, mine);
            if (running != null) {
                return Mono.fromFuture(running, true);
            }
            long gen = generation.get();
            RegistryObject.Versioned known = newest;
            Mono.defer(() -> {
                registryReads.incrementAndGet();
                return RegistryObject.readIfChanged(storage, key, known.info().version());
            }).map(v -> {
                if (generation.get() == gen && newest == known) {
                    newest = v;
                }
                return newest.registry();
            }).defaultIfEmpty(known.registry()).timeout(dev.atlas.array.ArrayFile.REFRESH_TIMEOUT).subscribe(r -> {
                fetching.compareAndSet(mine, null);
                mine.complete(r);
            }, e -> {
                fetching.compareAndSet(mine, null);
                mine.completeExceptionally(e);
            });
            return Mono.fromFuture(mine, true);
        });
    }

    /**
     * Moves the handle to the newest commit (call under the store's exclusive gate, so no commit
     * of this handle runs meanwhile): one conditional read of the registry; if it changed, the
     * working registry is rebased onto it and every opened file set whose committed layers
     * changed is refreshed.
     *
     * @return whether a newer commit was loaded
     */
    Mono<Boolean> refresh() {
        return Mono.defer(() -> {
            ObjectInfo committedInfo = state.committedInfo();
            registryReads.incrementAndGet();
            return RegistryObject.readIfChanged(storage, key, committedInfo.version())
                    .flatMap(v -> {
                        // File sets first, then the registry: a read in between may see a file set
                        // newer than the registry (a dataset the new commit deleted answers not
                        // found), never a registry naming data its file set does not have yet.
                        Registry before = state.committed();
                        generation.incrementAndGet();
                        newest = v;
                        refreshes.incrementAndGet();
                        return refreshFiles(before, v.registry()).then(Mono.fromCallable(() -> {
                            state.rebase(v.registry(), v.info());
                            return true;
                        }));
                    })
                    .switchIfEmpty(Mono.fromCallable(() -> {
                        state.confirm();
                        return false;
                    }));
        });
    }

    /** Refreshes the opened file sets whose committed layers differ between {@code before} and {@code after}. */
    Mono<Void> refreshFiles(Registry before, Registry after) {
        return Flux.fromIterable(files.openedNames())
                .filter(a -> !Objects.equals(layersOf(before, a), layersOf(after, a)))
                .flatMap(a -> {
                    ArrayFile f = files.opened(a);
                    return f == null ? Mono.empty() : f.refresh().onErrorResume(e -> {
                        // The file set is refreshed again when a read needs it; the registry moved on regardless.
                        LOG.warn("refreshing array file set '{}' failed: {}", a, e.toString());
                        return Mono.empty();
                    });
                }, AtlasOptions.DEFAULT_OPEN_CONCURRENCY)
                .then();
    }

    private static CommittedLayers layersOf(Registry r, String array) {
        return r.references(array) ? r.committedLayers(array) : null;
    }
}
