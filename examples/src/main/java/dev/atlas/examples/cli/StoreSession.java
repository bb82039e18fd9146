package dev.atlas.examples.cli;

import dev.atlas.runtime.EngineResources;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.storage.s3.S3Storage;
import dev.atlas.store.StoreUri;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import reactor.core.publisher.Mono;

/**
 * One command's open store: the engine resources and the {@link Atlas} handle opened on a
 * {@link StoreUri}. Closing closes the handle (discarding unflushed changes) and then the
 * resources. Commands run on the main thread, so blocking here is fine.
 */
public final class StoreSession implements AutoCloseable {
    /**
     * How often a serving handle ({@code atlas serve}, {@code atlas demo}) brings itself to the
     * store's latest commit, in seconds. A refresh that finds nothing changed is one conditional
     * read of the registry (on S3 one conditional GET), so 2 s costs each server 0.5 requests a
     * second, while a commit becomes visible to every server within about 2 s.
     */
    public static final String DEFAULT_REFRESH_SECONDS = "2";

    private final StoreUri location;
    private final EngineResources resources;
    private final Atlas atlas;
    private final Runnable closeStorage;
    private final Duration refreshInterval;

    private StoreSession(StoreUri location, EngineResources resources, Atlas atlas, Runnable closeStorage,
            Duration refreshInterval) {
        this.location = location;
        this.resources = resources;
        this.atlas = atlas;
        this.closeStorage = closeStorage;
        this.refreshInterval = refreshInterval;
    }

    /**
     * Parses a store argument (a directory, {@code file:///PATH} or {@code s3://bucket/prefix}) with
     * the engine's {@link StoreUri#parse}, the parsing the Spring Boot starter's {@code atlas.store}
     * uses too; its refusals are usage errors here.
     *
     * @throws CliException (usage) for an empty argument, a path or {@code file:} URI the platform
     *     cannot use, an unknown scheme or an S3 URI without a bucket
     */
    public static StoreUri location(String text) {
        try {
            return StoreUri.parse(text);
        } catch (dev.atlas.error.InvalidArgumentException e) {
            throw CliException.usage(e.getMessage());
        }
    }

    /** Opens an existing store; {@link dev.atlas.error.StoreNotFoundException} if there is none. */
    public static StoreSession open(StoreUri location) {
        return open(location, false);
    }

    /**
     * Opens the store, or creates it when {@code create} is set. A local directory that holds
     * files but no store is refused rather than turned into one.
     */
    public static StoreSession open(StoreUri location, boolean create) {
        return open(location, create, Duration.ZERO);
    }

    /**
     * Opens the store (or creates it when {@code create} is set) with a handle that refreshes
     * itself every {@code refreshInterval} ({@link AtlasOptions.Builder#refreshInterval}; zero:
     * never), as a long-running server of a store other processes write needs.
     */
    public static StoreSession open(StoreUri location, boolean create, Duration refreshInterval) {
        return open(location, create ? Mode.OPEN_OR_CREATE : Mode.OPEN, refreshInterval);
    }

    /**
     * Creates a new store, for a command that must know whether the store is its own (to remove it
     * again when it could put nothing in it).
     *
     * @throws dev.atlas.error.AlreadyExistsException if a store exists there (another process may just have created it)
     */
    public static StoreSession create(StoreUri location) {
        return open(location, Mode.CREATE, Duration.ZERO);
    }

    private enum Mode {
        OPEN, OPEN_OR_CREATE, CREATE;

        Mono<Atlas> local(Path dir, AtlasOptions options) {
            return switch (this) {
                case OPEN -> LocalAtlas.open(dir, options);
                case OPEN_OR_CREATE -> LocalAtlas.openOrCreate(dir, options);
                case CREATE -> LocalAtlas.create(dir, options);
            };
        }

        Mono<Atlas> s3(S3Storage storage, String prefix, AtlasOptions options) {
            return switch (this) {
                case OPEN -> Atlas.open(storage, prefix, options);
                case OPEN_OR_CREATE -> Atlas.openOrCreate(storage, prefix, options);
                case CREATE -> Atlas.create(storage, prefix, options);
            };
        }
    }

    private static StoreSession open(StoreUri location, Mode mode, Duration refreshInterval) {
        if (location instanceof StoreUri.S3 s3) {
            return openS3(s3, mode, refreshInterval);
        }
        Path dir = ((StoreUri.Local) location).dir();
        if (mode != Mode.OPEN && Files.isDirectory(dir) && !isStore(dir) && !holdsOnlyStorageFiles(dir)) {
            throw CliException.runtime(dir + " exists and is not an Atlas store (no registry file); choose another path");
        }
        EngineResources resources = EngineResources.create();
        try {
            // Bulk-read concurrency: the engine's per-storage defaults unless --io-concurrency / --cpu-concurrency.
            AtlasOptions options = BulkSettings.current().applyTo(AtlasOptions.builder(resources))
                    .refreshInterval(refreshInterval).build();
            Atlas atlas = mode.local(dir, options).block();
            return new StoreSession(location, resources, atlas, () -> { }, refreshInterval);
        } catch (RuntimeException e) {
            resources.disposeLater().block();
            throw e;
        }
    }

    /**
     * An S3 store: bucket and prefix from the location; endpoint, addressing style and region from
     * {@link S3Settings} (the tool's {@code --endpoint}, {@code --path-style}, {@code --s3-region}, or
     * {@code AWS_ENDPOINT_URL_S3} / {@code AWS_ENDPOINT_URL} / {@code AWS_REGION}); credentials from
     * the AWS default chain (environment, profile, instance role).
     */
    private static StoreSession openS3(StoreUri.S3 location, Mode mode, Duration refreshInterval) {
        EngineResources resources = EngineResources.create();
        S3Storage storage = null;
        try {
            storage = S3Storage.open(S3Settings.current().options(location.bucket()), resources);
            AtlasOptions options = BulkSettings.current().applyTo(AtlasOptions.builder(resources))
                    .refreshInterval(refreshInterval).build();
            Atlas atlas = mode.s3(storage, location.prefix(), options).block();
            S3Storage owned = storage;
            return new StoreSession(location, resources, atlas, owned::close, refreshInterval);
        } catch (RuntimeException e) {
            if (storage != null) {
                storage.close();
            }
            resources.disposeLater().block();
            throw e;
        }
    }

    /**
     * The refresh interval of a {@code --refresh-interval SECONDS} option: decimals allowed, 0 for
     * no automatic refresh.
     *
     * @throws CliException a usage error for a negative or absurdly large value
     */
    static Duration refreshInterval(BigDecimal seconds) {
        if (seconds.signum() < 0) {
            throw CliException.usage("--refresh-interval must be 0 (off) or a positive number of seconds, not "
                    + seconds.toPlainString());
        }
        try {
            return Duration.ofNanos(seconds.movePointRight(9).setScale(0, RoundingMode.HALF_UP).longValueExact());
        } catch (ArithmeticException e) {
            throw CliException.usage("--refresh-interval " + seconds.toPlainString() + " is too large");
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

    /**
     * Whether {@code dir} holds nothing but the local storage's hidden files ({@code .atlas-lock-*},
     * {@code .atlas-tmp-*}), in it or in subdirectories: an empty directory, or what a discarded
     * store leaves (its lock files stay, see {@link #discardCreated}).
     */
    static boolean holdsOnlyStorageFiles(Path dir) {
        List<Path> files = new ArrayList<>();
        walkSkippingVanished(dir, files);
        return files.stream().allMatch(f -> Files.isDirectory(f) || hiddenStorageFile(f));
    }

    private static boolean hiddenStorageFile(Path f) {
        String name = f.getFileName().toString();
        return name.startsWith(".atlas-lock-") || name.startsWith(".atlas-tmp-");
    }

    /** Adds everything under {@code dir} (not {@code dir} itself), children before their directory; what vanishes meanwhile is skipped. */
    private static void walkSkippingVanished(Path dir, List<Path> out) {
        List<Path> children;
        try (var list = Files.list(dir)) {
            children = list.toList();
        } catch (java.nio.file.NoSuchFileException | java.nio.file.NotDirectoryException e) {
            return;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        for (Path c : children) {
            if (Files.isDirectory(c, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                walkSkippingVanished(c, out);
            }
            out.add(c);
        }
    }

    /** The open store (owned by this session). */
    public Atlas atlas() {
        return atlas;
    }

    /** The engine resources the store runs on (owned by this session). */
    public EngineResources resources() {
        return resources;
    }

    /** How often the handle refreshes itself ({@link Duration#ZERO}: never). */
    public Duration refreshInterval() {
        return refreshInterval;
    }

    /** Where the store lives. */
    public StoreUri location() {
        return location;
    }

    /** The store's directory for a local store. */
    Optional<Path> localDir() {
        return location instanceof StoreUri.Local l ? Optional.of(l.dir()) : Optional.empty();
    }

    /**
     * Deletes the store this session created, unless it holds a dataset by now, and closes the
     * session: for a command that created a store and then could not put anything in it, so that
     * no empty store is left behind. The deletion is {@link Atlas#deleteIfEmpty}: another process
     * that put a dataset in the new store meanwhile keeps it, with everything it wrote. For a local
     * store the directories left empty go too; the storage's lock files ({@code .atlas-lock-*})
     * stay, since another process may hold one at any moment (a deleted lock file would let two
     * writers lock different files), and so do the directories holding them.
     *
     * @return true when the store was deleted, false when it was left in place
     */
    boolean discardCreated() {
        boolean deleted = false;
        try {
            try {
                deleted = Boolean.TRUE.equals(atlas.deleteIfEmpty().block());
            } finally {
                atlas.close().block();
            }
            if (deleted && location instanceof StoreUri.Local l) {
                List<Path> all = new ArrayList<>();
                walkSkippingVanished(l.dir(), all);
                for (Path d : all) {
                    if (Files.isDirectory(d, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                        try {
                            Files.deleteIfExists(d);
                        } catch (java.nio.file.DirectoryNotEmptyException e) {
                            // lock files, or another process's new files: it stays
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    }
                }
            }
            return deleted;
        } finally {
            try {
                closeStorage.run();
            } finally {
                resources.disposeLater().block();
            }
        }
    }

    @Override
    public void close() {
        try {
            atlas.close().block();
        } finally {
            try {
                closeStorage.run();
            } finally {
                resources.disposeLater().block();
            }
        }
    }
}
