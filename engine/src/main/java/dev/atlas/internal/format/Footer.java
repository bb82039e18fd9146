package dev.atlas.internal.format;

import dev.atlas.format.AttributeValue;
import java.util.List;
import java.util.Objects;

/**
 * The index at the end of a layer file: format version, block table, array metas, the layer's
 * attribute dictionaries, the layer's overlay number and the base file hint (both informational).
 *
 * @param version {@link #VERSION_V4} (crate 0.9/0.10) or {@link #VERSION_V5} (crate 0.11/0.12)
 * @param overlayIndex u32; 0 for a base
 * @param baseFileHint the base path for sidecars, "" for a base
 */
public record Footer(int version, List<BlockMeta> blocks, List<ArrayMeta> arrays, List<String> attrKeys,
        List<AttributeValue> attrValues, long overlayIndex, String baseFileHint) {

    /** Footer version written by crate 0.9 and 0.10 (attribute tags 0-11 only). */
    public static final int VERSION_V4 = 4;
    /** Footer version written by crate 0.11 and 0.12, and by this engine. */
    public static final int VERSION_V5 = 5;

    public Footer {
        if (version != VERSION_V4 && version != VERSION_V5) {
            throw new IllegalArgumentException("footer version must be 4 or 5, not " + version);
        }
        blocks = List.copyOf(blocks);
        arrays = List.copyOf(arrays);
        attrKeys = List.copyOf(attrKeys);
        attrValues = List.copyOf(attrValues);
        ChunkAddress.requireU32("overlay index", overlayIndex);
        Objects.requireNonNull(baseFileHint, "baseFileHint");
        if (version == VERSION_V4) {
            for (AttributeValue v : attrValues) {
                if (!v.kind().inFooterV4()) {
                    throw new IllegalArgumentException("footer v4 cannot hold attribute " + v.kind().displayName());
                }
            }
        }
    }

    /** An empty footer (what a freshly created base holds). */
    public static Footer empty(int version) {
        return new Footer(version, List.of(), List.of(), List.of(), List.of(), 0, "");
    }
}
