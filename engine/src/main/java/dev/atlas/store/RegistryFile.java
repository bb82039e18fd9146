package dev.atlas.store;

import java.util.List;
import java.util.Objects;

/**
 * Which registry object a store uses: format and compression, which together make its name. The
 * six names in {@link #PRIORITY} order are the reference's detection order: when several exist,
 * the first wins and is the one every flush rewrites.
 */
public record RegistryFile(RegistryFormat format, StoreCodec compression) {

    /** Detection order of the reference (atlas-rust 0.10 {@code META_VARIANTS}). */
    public static final List<RegistryFile> PRIORITY = List.of(
            new RegistryFile(RegistryFormat.JSON, StoreCodec.UNCOMPRESSED),
            new RegistryFile(RegistryFormat.JSON, StoreCodec.ZSTD),
            new RegistryFile(RegistryFormat.JSON, StoreCodec.LZ4),
            new RegistryFile(RegistryFormat.MSGPACK, StoreCodec.UNCOMPRESSED),
            new RegistryFile(RegistryFormat.MSGPACK, StoreCodec.ZSTD),
            new RegistryFile(RegistryFormat.MSGPACK, StoreCodec.LZ4));

    /** The reference's default for new stores: {@code atlas.json}. */
    public static final RegistryFile DEFAULT = PRIORITY.get(0);

    public RegistryFile {
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(compression, "compression");
    }

    /** Object name under the store prefix, e.g. {@code atlas.msgpack.zst}. */
    public String fileName() {
        String base = format == RegistryFormat.JSON ? "atlas.json" : "atlas.msgpack";
        return switch (compression) {
            case UNCOMPRESSED -> base;
            case ZSTD -> base + ".zst";
            case LZ4 -> base + ".lz4";
        };
    }

    /** The registry file of a name, or null when {@code name} is not one of the six. */
    public static RegistryFile ofFileName(String name) {
        for (RegistryFile f : PRIORITY) {
            if (f.fileName().equals(name)) {
                return f;
            }
        }
        return null;
    }
}
