package dev.atlas.store;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A snapshot of one dataset's registry entry: its array schemas in declaration order and its
 * attributes in insertion order (a re-set key keeps its place). Both maps are unmodifiable.
 */
public record DatasetMeta(Map<String, ArraySchema> arrays, Map<String, Attr> attributes) {
    public DatasetMeta {
        arrays = Collections.unmodifiableMap(new LinkedHashMap<>(arrays));
        attributes = Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
    }
}
