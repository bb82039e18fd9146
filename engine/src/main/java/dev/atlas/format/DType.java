package dev.atlas.format;

import dev.atlas.error.InvalidArgumentException;
import java.util.Objects;

/**
 * Element type of an array. The sixteen kinds carry the archive tag numbers of the file format;
 * {@code FixedSizeList} and {@code List} are nested types that can be decoded from footers but have
 * no chunk encoding.
 */
public final class DType {

    /** Kind of a dtype; {@link #tag()} is the byte stored in footers. */
    public enum Kind {
        BOOL("Bool", 1), INT8("Int8", 1), INT16("Int16", 2), INT32("Int32", 4), INT64("Int64", 8),
        UINT8("UInt8", 1), UINT16("UInt16", 2), UINT32("UInt32", 4), UINT64("UInt64", 8),
        FLOAT32("Float32", 4), FLOAT64("Float64", 8), STRING("String", 0), BINARY("Binary", 0),
        FIXED_SIZE_LIST("FixedSizeList", 0), LIST("List", 0), TIMESTAMP_NS("TimestampNs", 8);

        private final String displayName;
        private final int width;

        Kind(String displayName, int width) {
            this.displayName = displayName;
            this.width = width;
        }

        /** Tag byte in the archive (declaration order). */
        public int tag() {
            return ordinal();
        }

        /** The reference crate's variant name, e.g. {@code Int32}. */
        public String displayName() {
            return displayName;
        }

        /** Kind for a tag byte, or null when the tag is out of range. */
        public static Kind ofTag(int tag) {
            Kind[] all = values();
            return tag >= 0 && tag < all.length ? all[tag] : null;
        }
    }

    public static final DType BOOL = new DType(Kind.BOOL, null, 0);
    public static final DType INT8 = new DType(Kind.INT8, null, 0);
    public static final DType INT16 = new DType(Kind.INT16, null, 0);
    public static final DType INT32 = new DType(Kind.INT32, null, 0);
    public static final DType INT64 = new DType(Kind.INT64, null, 0);
    public static final DType UINT8 = new DType(Kind.UINT8, null, 0);
    public static final DType UINT16 = new DType(Kind.UINT16, null, 0);
    public static final DType UINT32 = new DType(Kind.UINT32, null, 0);
    public static final DType UINT64 = new DType(Kind.UINT64, null, 0);
    public static final DType FLOAT32 = new DType(Kind.FLOAT32, null, 0);
    public static final DType FLOAT64 = new DType(Kind.FLOAT64, null, 0);
    public static final DType STRING = new DType(Kind.STRING, null, 0);
    public static final DType BINARY = new DType(Kind.BINARY, null, 0);
    public static final DType TIMESTAMP_NS = new DType(Kind.TIMESTAMP_NS, null, 0);

    private final Kind kind;
    private final DType child;
    private final long size;

    private DType(Kind kind, DType child, long size) {
        this.kind = kind;
        this.child = child;
        this.size = size;
    }

    /** The scalar dtype of a kind; nested kinds need {@link #fixedSizeList} or {@link #list}. */
    public static DType of(Kind kind) {
        switch (kind) {
            case BOOL: return BOOL;
            case INT8: return INT8;
            case INT16: return INT16;
            case INT32: return INT32;
            case INT64: return INT64;
            case UINT8: return UINT8;
            case UINT16: return UINT16;
            case UINT32: return UINT32;
            case UINT64: return UINT64;
            case FLOAT32: return FLOAT32;
            case FLOAT64: return FLOAT64;
            case STRING: return STRING;
            case BINARY: return BINARY;
            case TIMESTAMP_NS: return TIMESTAMP_NS;
            default: throw new InvalidArgumentException(kind + " needs a child dtype");
        }
    }

    /** Parses a reference variant name such as {@code "Float32"} (scalar kinds only); null if unknown. */
    public static DType parse(String name) {
        for (Kind k : Kind.values()) {
            if (k.displayName.equals(name) && k != Kind.FIXED_SIZE_LIST && k != Kind.LIST) {
                return of(k);
            }
        }
        return null;
    }

    /** {@code FixedSizeList{child, size}}; size is a u32. */
    public static DType fixedSizeList(DType child, long size) {
        Objects.requireNonNull(child, "child");
        if (size < 0 || size > 0xFFFF_FFFFL) {
            throw new InvalidArgumentException("FixedSizeList size must be a u32: " + size);
        }
        return new DType(Kind.FIXED_SIZE_LIST, child, size);
    }

    /** {@code List{child}}. */
    public static DType list(DType child) {
        return new DType(Kind.LIST, Objects.requireNonNull(child, "child"), 0);
    }

    public Kind kind() {
        return kind;
    }

    /** Child type of FixedSizeList/List, else null. */
    public DType child() {
        return child;
    }

    /** Element count of a FixedSizeList, else 0. */
    public long listSize() {
        return size;
    }

    /**
     * Bytes per element for fixed-width types (FixedSizeList: child size times count), or -1 for
     * variable-length types (String, Binary, List, FixedSizeList of a variable-length child).
     */
    public long elementSize() {
        if (kind == Kind.FIXED_SIZE_LIST) {
            long c = child.elementSize();
            return c < 0 ? -1 : c * size;
        }
        return kind.width == 0 ? -1 : kind.width;
    }

    /** True for String, Binary, List (and FixedSizeList of such). */
    public boolean isVariableLength() {
        return elementSize() < 0;
    }

    /** True when arrays of this dtype can hold chunks (every kind except the nested list kinds). */
    public boolean isStorable() {
        return kind != Kind.FIXED_SIZE_LIST && kind != Kind.LIST;
    }

    public boolean isSignedInteger() {
        return kind == Kind.INT8 || kind == Kind.INT16 || kind == Kind.INT32 || kind == Kind.INT64;
    }

    public boolean isUnsignedInteger() {
        return kind == Kind.UINT8 || kind == Kind.UINT16 || kind == Kind.UINT32 || kind == Kind.UINT64;
    }

    public boolean isFloat() {
        return kind == Kind.FLOAT32 || kind == Kind.FLOAT64;
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof DType)) {
            return false;
        }
        DType d = (DType) o;
        return kind == d.kind && size == d.size && Objects.equals(child, d.child);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, child, size);
    }

    /** Reference-style name: {@code Int32}, {@code FixedSizeList(Int16, 3)}, {@code List(Int32)}. */
    @Override
    public String toString() {
        if (kind == Kind.FIXED_SIZE_LIST) {
            return "FixedSizeList(" + child + ", " + size + ")";
        }
        if (kind == Kind.LIST) {
            return "List(" + child + ")";
        }
        return kind.displayName;
    }
}
