package dev.atlas.store;

import dev.atlas.error.InvalidArgumentException;

/**
 * A codec choice of the store: the block codec of newly defined arrays, and the compression of the
 * registry file. The names are the reference's serde spellings ({@code "Zstd"}, {@code "Lz4"},
 * {@code "Uncompressed"}).
 *
 * <p>Distinct from {@link dev.atlas.codec.CodecId}, the open-ended id a block table stores, and from
 * {@link dev.atlas.codec.BlockCodec}, the implementation: this is the store's closed choice.
 */
public enum StoreCodec {
    ZSTD("Zstd"), LZ4("Lz4"), UNCOMPRESSED("Uncompressed");

    private final String serdeName;

    StoreCodec(String serdeName) {
        this.serdeName = serdeName;
    }

    /** The spelling in registry files. */
    public String serdeName() {
        return serdeName;
    }

    /** The codec for a registry spelling; {@code InvalidArgumentException} for an unknown one. */
    public static StoreCodec parse(String name) {
        for (StoreCodec c : values()) {
            if (c.serdeName.equals(name)) {
                return c;
            }
        }
        throw new InvalidArgumentException("unknown store codec '" + name + "' (expected Zstd, Lz4 or Uncompressed)");
    }
}
