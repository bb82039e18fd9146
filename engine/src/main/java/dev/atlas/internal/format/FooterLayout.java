package dev.atlas.internal.format;

/**
 * Sizes of the fixed-size archived records of a footer and the index widths of an attribute map,
 * shared by {@link FooterDecoder}, {@link FooterEncoder} and {@link AttributeValueCodec}.
 */
final class FooterLayout {
    static final int FOOTER_SIZE = 96;
    static final int BLOCK_META_SIZE = 56;
    static final int ARRAY_META_SIZE = 168;
    static final int DTYPE_SIZE = 24;
    static final int CHUNK_ENTRY_SIZE = 32;
    static final int VALUE_SIZE = 24;
    static final int STRING_SIZE = 16;
    static final int VEC_SIZE = 16;

    private FooterLayout() {
    }

    /** Bytes per index of an attribute map whose width tag is {@code widthTag} (0, 1, 2): 2, 4, 8. */
    static int indexWidth(int widthTag) {
        return 2 << widthTag;
    }
}
