package dev.atlas.store;

import dev.atlas.format.DType;

/** The registry's dtype tags: serde's snake_case spelling of each of the reference's dtype variants. */
final class DTypeTag {
    private DTypeTag() {
    }

    /** serde's snake_case of the reference's variant names ({@code UInt8} is {@code u_int8}). */
    static String of(DType.Kind k) {
        return switch (k) {
            case BOOL -> "bool";
            case INT8 -> "int8";
            case INT16 -> "int16";
            case INT32 -> "int32";
            case INT64 -> "int64";
            case UINT8 -> "u_int8";
            case UINT16 -> "u_int16";
            case UINT32 -> "u_int32";
            case UINT64 -> "u_int64";
            case FLOAT32 -> "float32";
            case FLOAT64 -> "float64";
            case STRING -> "string";
            case BINARY -> "binary";
            case TIMESTAMP_NS -> "timestamp_nanoseconds";
            case FIXED_SIZE_LIST -> "fixed_size_list";
            case LIST -> "list";
        };
    }

    /** The kind a tag names, or null for an unknown tag. */
    static DType.Kind kindOf(String tag) {
        for (DType.Kind k : DType.Kind.values()) {
            if (of(k).equals(tag)) {
                return k;
            }
        }
        return null;
    }
}
