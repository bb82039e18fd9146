package dev.atlas.format;

import dev.atlas.internal.RawBits;
import java.util.Objects;

/**
 * The fill value declared for an array: the element that never-written cells read as, after
 * conversion to the array's dtype by the format's fill conversion. Six variants, in archive tag order.
 * Equality is structural; {@link Float} compares by bit pattern (NaN equals NaN, 0.0 differs from
 * -0.0), as the format's dictionary de-duplication does.
 */
public sealed interface FillValue
        permits FillValue.Bool, FillValue.Int, FillValue.UInt, FillValue.Float, FillValue.Str,
        FillValue.TimestampNs {

    /** Archive tag of the variant. */
    int tag();

    /** Variant name as the reference spells it ({@code Int}, {@code Float}, ...). */
    String typeName();

    /** {@code Bool(b)}. */
    record Bool(boolean value) implements FillValue {
        public int tag() {
            return 0;
        }

        public String typeName() {
            return "Bool";
        }
    }

    /** {@code Int(i64)}. */
    record Int(long value) implements FillValue {
        public int tag() {
            return 1;
        }

        public String typeName() {
            return "Int";
        }
    }

    /** {@code UInt(u64)}; {@code value} holds the unsigned 64 bits. */
    record UInt(long value) implements FillValue {
        public int tag() {
            return 2;
        }

        public String typeName() {
            return "UInt";
        }

        @Override
        public String toString() {
            return "UInt[value=" + Long.toUnsignedString(value) + "]";
        }
    }

    /** {@code Float(f64)}, compared by raw bits. */
    record Float(double value) implements FillValue {
        public int tag() {
            return 3;
        }

        public String typeName() {
            return "Float";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Float f && RawBits.same(f.value, value);
        }

        @Override
        public int hashCode() {
            return RawBits.hash(value);
        }
    }

    /** {@code String(s)}. Ignored when materialising (String arrays always fill with ""). */
    record Str(String value) implements FillValue {
        public Str {
            Objects.requireNonNull(value, "value");
        }

        public int tag() {
            return 4;
        }

        public String typeName() {
            return "String";
        }
    }

    /** {@code TimestampNs(i64)}: nanoseconds since the Unix epoch. */
    record TimestampNs(long value) implements FillValue {
        public int tag() {
            return 5;
        }

        public String typeName() {
            return "TimestampNs";
        }
    }
}
