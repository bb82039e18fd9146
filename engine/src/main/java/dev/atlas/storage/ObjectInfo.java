package dev.atlas.storage;

import dev.atlas.error.InvalidArgumentException;
import java.util.Objects;

/**
 * What a backend knows about one object: key, size in bytes, and a version token (an ETag, a
 * generation number, a modification stamp) that changes whenever the object is replaced, so caches
 * can tell two incarnations of the same key apart.
 */
public record ObjectInfo(String key, long size, String version) {
    public ObjectInfo {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(version, "version");
        if (size < 0) {
            throw new InvalidArgumentException("negative size " + size + " of '" + key + "'");
        }
    }
}
