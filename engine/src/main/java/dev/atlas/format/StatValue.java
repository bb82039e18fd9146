package dev.atlas.format;

import dev.atlas.internal.RawBits;
import java.util.Arrays;

/** A min or max in per-array statistics; five variants in archive tag order. */
public sealed interface StatValue
        permits StatValue.Int, StatValue.UInt, StatValue.Float, StatValue.Bytes, StatValue.TimestampNs {

    int tag();

    /** Reference variant name. */
    String typeName();

    /** Signed integer min/max. */
    record Int(long value) implements StatValue {
        public int tag() {
            return 0;
        }

        public String typeName() {
            return "Int";
        }
    }

    /** Unsigned integer min/max (64 bits held in a long). */
    record UInt(long value) implements StatValue {
        public int tag() {
            return 1;
        }

        public String typeName() {
            return "UInt";
        }
    }

    /** Float min/max (Float32 widened), compared by raw bits for equality. */
    record Float(double value) implements StatValue {
        public int tag() {
            return 2;
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

    /** String/Binary min/max as raw bytes, ordered unsigned-lexicographically. */
    record Bytes(byte[] value) implements StatValue {
        public Bytes {
            value = value.clone();
        }

        @Override
        public byte[] value() {
            return value.clone();
        }

        public int tag() {
            return 3;
        }

        public String typeName() {
            return "Bytes";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Bytes && Arrays.equals(value, ((Bytes) o).value);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return "Bytes" + Arrays.toString(value);
        }
    }

    /** Timestamp min/max in nanoseconds. */
    record TimestampNs(long value) implements StatValue {
        public int tag() {
            return 4;
        }

        public String typeName() {
            return "TimestampNs";
        }
    }
}
