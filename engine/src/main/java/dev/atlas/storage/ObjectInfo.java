package dev.atlas.storage;

import dev.atlas.error.InvalidArgumentException;
import java.time.Instant;
import java.util.Objects;

/**
 * What a backend knows about one object: key, size in bytes, a version token (an ETag, a
 * generation number, a file identity) that changes whenever the object is replaced, so caches and
 * version-checked reads can tell two incarnations of the same key apart, and when it was last
 * written ({@code null} when the backend does not say; garbage collection treats such objects as
 * young and never deletes them by age).
 */
public record ObjectInfo(String key, long size, String version, Instant modified) {
    public ObjectInfo {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(version, "version");
        if (size < 0) {
            throw new InvalidArgumentException("negative size " + size + " of '" + key + "'");
        }
    }

    /** An object whose modification time is unknown. */
    public ObjectInfo(String key, long size, String version) {
        this(key, size, version, null);
    }
}
