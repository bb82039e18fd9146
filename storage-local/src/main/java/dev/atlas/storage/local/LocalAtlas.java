package dev.atlas.storage.local;

import dev.atlas.error.StoreNotFoundException;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import reactor.core.publisher.Mono;

/**
 * An {@link Atlas} store in a local directory: the path forms of create and open. The returned
 * handle owns its {@link LocalStorage} and closes it when the handle closes.
 */
public final class LocalAtlas {
    private LocalAtlas() {
    }

    /**
     * Creates a store in {@code dir} (made with its parents if absent) and writes its registry at
     * once.
     *
     * @throws dev.atlas.error.AlreadyExistsException (as an error signal) if the directory holds a store
     */
    public static Mono<Atlas> create(Path dir, AtlasOptions options) {
        return storage(dir, options, true).flatMap(s -> Atlas.create(s, "", options).map(a -> a.closeWith(s))
                .doOnError(e -> s.close()));
    }

    /**
     * Opens the store in {@code dir}; nothing is created.
     *
     * @throws StoreNotFoundException (as an error signal) if the directory is missing or holds no registry
     */
    public static Mono<Atlas> open(Path dir, AtlasOptions options) {
        return storage(dir, options, false).flatMap(s -> Atlas.open(s, "", options).map(a -> a.closeWith(s))
                .doOnError(e -> s.close()));
    }

    /** Opens the store in {@code dir}, or creates it there. */
    public static Mono<Atlas> openOrCreate(Path dir, AtlasOptions options) {
        return storage(dir, options, true).flatMap(s -> Atlas.openOrCreate(s, "", options).map(a -> a.closeWith(s))
                .doOnError(e -> s.close()));
    }

    private static Mono<LocalStorage> storage(Path dir, AtlasOptions options, boolean create) {
        return Mono.fromCallable(() -> {
            if (!create && !Files.isDirectory(dir)) {
                throw new StoreNotFoundException("no store directory at " + dir.toAbsolutePath());
            }
            return LocalStorage.open(dir, options.resources());
        }).subscribeOn(options.resources().ioScheduler());
    }
}
