package dev.atlas.codec;

import java.util.Objects;

/**
 * The codec of a block as stored in a layer's block table: {@code None} (tag 0) or
 * {@code Named(name)} (tag 1). Open-ended (a file may name a codec this engine lacks, see
 * {@link BlockCodecs#forId}); the implementation behind an id is a {@link BlockCodec}.
 */
public final class CodecId {
    /** Uncompressed blocks. */
    public static final CodecId NONE = new CodecId(null);
    /** {@code Named("lz4")}: u32 LE length + one raw LZ4 block. */
    public static final CodecId LZ4 = new CodecId("lz4");
    /** {@code Named("zstd")}: one zstd frame. */
    public static final CodecId ZSTD = new CodecId("zstd");

    private final String name;

    private CodecId(String name) {
        this.name = name;
    }

    /** {@code Named(name)}; the well-known names return the shared constants. */
    public static CodecId named(String name) {
        Objects.requireNonNull(name, "name");
        if (name.equals("lz4")) {
            return LZ4;
        }
        if (name.equals("zstd")) {
            return ZSTD;
        }
        return new CodecId(name);
    }

    /** The stored name, or null for {@code None}. */
    public String name() {
        return name;
    }

    public boolean isNone() {
        return name == null;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CodecId && Objects.equals(name, ((CodecId) o).name);
    }

    @Override
    public int hashCode() {
        return Objects.hashCode(name);
    }

    @Override
    public String toString() {
        return name == null ? "none" : name;
    }
}
