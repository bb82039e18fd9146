package dev.atlas.spring;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.StoreUri;
import java.nio.file.Path;
import java.time.Duration;
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
     *     ({@link StoreUri#parse}, the parsing the {@code atlas} tool's {@code --store} uses too)
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
        StoreUri uri = StoreUri.parse(text);
        if (uri instanceof StoreUri.S3 s3) {
            try {
                Class.forName("dev.atlas.storage.s3.S3Storage", false, AtlasStore.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new InvalidArgumentException("atlas.store '" + text + "' is an S3 store: add dev.atlas:atlas-storage-s3 to the application");
            }
            return S3Opener.open(s3, p, options, resources);
        }
        Path dir = ((StoreUri.Local) uri).dir();
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
