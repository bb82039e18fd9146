package dev.atlas.examples.cli;

import dev.atlas.array.EngineResources;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.storage.local.LocalAtlas;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * One command's open store: the engine resources and the {@link Atlas} handle opened on a
 * {@link StoreLocation}. Closing closes the handle (discarding unflushed changes) and then the
 * resources. Commands run on the main thread, so blocking here is fine.
 */
final class StoreSession implements AutoCloseable {
    /** The message for s3:// locations until the S3 backend is part of the build. */
    static final String S3_NOT_BUILT = "S3 stores need the storage-s3 module (not built in this version)";

    /**
     * Datasets read at once by cross-dataset reads: more than the engine's default (one per core)
     * because each read is small and mostly waits on storage; measured on the demo store.
     */
    static final int BULK_CONCURRENCY = 16;

    private final StoreLocation location;
    private final EngineResources resources;
    private final Atlas atlas;

    private StoreSession(StoreLocation location, EngineResources resources, Atlas atlas) {
        this.location = location;
        this.resources = resources;
        this.atlas = atlas;
    }

    /** Opens an existing store; {@link dev.atlas.error.StoreNotFoundException} if there is none. */
    static StoreSession open(StoreLocation location) {
        return open(location, false);
    }

    /**
     * Opens the store, or creates it when {@code create} is set. A local directory that holds
     * files but no store is refused rather than turned into one.
     */
    static StoreSession open(StoreLocation location, boolean create) {
        if (location instanceof StoreLocation.S3) {
            throw CliException.runtime(S3_NOT_BUILT);
        }
        Path dir = ((StoreLocation.Local) location).dir();
        if (create && Files.isDirectory(dir) && !isStore(dir) && !isEmpty(dir)) {
            throw CliException.runtime(dir + " exists and is not an Atlas store (no registry file); choose another path");
        }
        EngineResources resources = EngineResources.create();
        try {
            AtlasOptions options = AtlasOptions.builder(resources).bulkConcurrency(BULK_CONCURRENCY).build();
            Atlas atlas = (create ? LocalAtlas.openOrCreate(dir, options) : LocalAtlas.open(dir, options)).block();
            return new StoreSession(location, resources, atlas);
        } catch (RuntimeException e) {
            resources.disposeLater().block();
            throw e;
        }
    }

    /** Whether {@code dir} holds a store registry (any of the registry file names). */
    static boolean isStore(Path dir) {
        try (var files = Files.list(dir)) {
            return files.anyMatch(p -> p.getFileName().toString().startsWith("atlas."));
        } catch (IOException e) {
            return false;
        }
    }

    private static boolean isEmpty(Path dir) {
        try (var files = Files.list(dir)) {
            return files.findAny().isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Atlas atlas() {
        return atlas;
    }

    EngineResources resources() {
        return resources;
    }

    StoreLocation location() {
        return location;
    }

    /** The store's directory for a local store. */
    Optional<Path> localDir() {
        return location instanceof StoreLocation.Local l ? Optional.of(l.dir()) : Optional.empty();
    }

    @Override
    public void close() {
        try {
            atlas.close().block();
        } finally {
            resources.disposeLater().block();
        }
    }
}
