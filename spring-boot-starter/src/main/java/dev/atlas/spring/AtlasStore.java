package dev.atlas.spring;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import java.net.URI;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Locale;
import org.springframework.beans.factory.DisposableBean;

/**
 * The store the starter opened from {@code atlas.store}: the {@link Atlas} handle and, for an S3
 * store, the storage client under it. Closed with the application context: the handle first
 * (discarding unflushed changes), then the storage; the {@link EngineResources} bean is closed
 * after it by Spring (this bean depends on it).
 */
public final class AtlasStore implements DisposableBean {
    private static final Duration OPEN_TIMEOUT = Duration.ofMinutes(2);
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

    private final String location;
    private final Atlas atlas;
    private final AutoCloseable storage;

    private AtlasStore(String location, Atlas atlas, AutoCloseable storage) {
        this.location = location;
        this.atlas = atlas;
        this.storage = storage;
    }

    /**
     * Opens the store {@code p.getStore()} names (creating it when {@code atlas.create} is set),
     * on {@code resources}. Blocks until it is open: call it from a thread that may block (Spring's
     * context refresh).
     *
     * @throws InvalidArgumentException when {@code atlas.store} is missing or not a usable location
     */
    public static AtlasStore open(AtlasProperties p, EngineResources resources) {
        String text = p.getStore();
        if (text == null || text.isBlank()) {
            throw new InvalidArgumentException("atlas.store is not set (a directory or s3://bucket/prefix)");
        }
        AtlasOptions.Builder o = AtlasOptions.builder(resources).refreshInterval(p.getRefreshInterval());
        if (p.getIoConcurrency() != null) {
            o.ioConcurrency(p.getIoConcurrency());
        }
        if (p.getCpuConcurrency() != null) {
            o.cpuConcurrency(p.getCpuConcurrency());
        }
        AtlasOptions options = o.build();
        int scheme = text.indexOf("://");
        String kind = scheme < 0 ? "" : text.substring(0, scheme).toLowerCase(Locale.ROOT);
        if (kind.equals("s3")) {
            return S3Opener.open(text, p, options, resources);
        }
        Path dir;
        try {
            // IllegalArgumentException: a malformed file: URI, or (InvalidPathException) a path the platform refuses.
            dir = kind.isEmpty() ? Paths.get(text) : kind.equals("file") ? Paths.get(URI.create(text)) : null;
        } catch (IllegalArgumentException e) {
            throw new InvalidArgumentException("atlas.store '" + text + "' is not a usable path: " + e.getMessage());
        }
        if (dir == null) {
            throw new InvalidArgumentException("atlas.store '" + text + "' has an unsupported scheme (a directory or s3://bucket/prefix)");
        }
        Atlas atlas = (p.isCreate() ? LocalAtlas.openOrCreate(dir, options) : LocalAtlas.open(dir, options)).block(OPEN_TIMEOUT);
        return new AtlasStore(dir.toString(), atlas, null);
    }

    /** Wraps an opened handle (and the storage to close after it, or null). */
    static AtlasStore of(String location, Atlas atlas, AutoCloseable storage) {
        return new AtlasStore(location, atlas, storage);
    }

    /** The open store. */
    public Atlas atlas() {
        return atlas;
    }

    /** Where it lives, as configured. */
    public String location() {
        return location;
    }

    /** Closes the handle, then the storage client (S3). */
    @Override
    public void destroy() throws Exception {
        try {
            atlas.close().block(CLOSE_TIMEOUT);
        } finally {
            if (storage != null) {
                storage.close();
            }
        }
    }

    @Override
    public String toString() {
        return "AtlasStore[" + location + "]";
    }
}
