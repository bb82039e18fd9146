package dev.atlas.error;

/** A block names a compression codec this engine does not know. */
public class UnknownCodecException extends AtlasException {
    private static final long serialVersionUID = 1L;
    private final String codec;

    public UnknownCodecException(String codec) {
        super("unknown block codec '" + codec + "' (known: none, lz4, zstd)");
        this.codec = codec;
    }

    /** The codec name as stored. */
    public String codec() {
        return codec;
    }
}
