package dev.atlas.store;

import dev.atlas.storage.Keys;
import java.util.Objects;

/**
 * Where a store's objects live under its storage prefix ({@code ""} for the root): the registry
 * object beside the array directories {@code {array}/data.af}.
 */
record StoreLayout(String prefix) {

    /**
     * The layout of {@code prefix} with trailing slashes dropped.
     *
     * @throws dev.atlas.error.InvalidArgumentException for a prefix that is not a valid key
     */
    static StoreLayout of(String prefix) {
        Objects.requireNonNull(prefix, "prefix");
        String p = prefix;
        while (p.endsWith("/")) {
            p = p.substring(0, p.length() - 1);
        }
        if (!p.isEmpty()) {
            Keys.check(p);
        }
        return new StoreLayout(p);
    }

    /** The key of {@code name} directly under the prefix. */
    String key(String name) {
        return prefix.isEmpty() ? name : prefix + "/" + name;
    }

    /** The base name of the array file set of {@code array}. */
    String arrayBase(String array) {
        return key(array + "/data.af");
    }

    /** The listing prefix of everything in the store. */
    String root() {
        return prefix.isEmpty() ? "" : prefix + "/";
    }

    /** The store-relative name of an object key listed under {@link #root()}. */
    String relative(String key) {
        return key.substring(root().length());
    }
}
