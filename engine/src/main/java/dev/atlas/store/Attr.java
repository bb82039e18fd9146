package dev.atlas.store;

import dev.atlas.internal.RawBits;
import java.util.Objects;

/**
 * A dataset attribute value: the five kinds of the reference's registry. Stored inline in the
 * registry file; see {@code FORMAT.md} for how a string that looks like a timestamp stays a string.
 *
 * <p>Distinct from {@link dev.atlas.format.AttributeValue}, an array attribute: 26 kinds in the
 * {@code .af} footer's encoding, where this is a dataset attribute with the registry's five kinds.
 */
public sealed interface Attr permits Attr.Bool, Attr.Int64, Attr.Float64, Attr.Str, Attr.Timestamp {

    static Attr of(boolean v) {
        return new Bool(v);
    }

    static Attr of(long v) {
        return new Int64(v);
    }

    static Attr of(double v) {
        return new Float64(v);
    }

    static Attr of(String v) {
        return new Str(v);
    }

    /** A timestamp in nanoseconds since 1970-01-01T00:00:00Z. */
    static Attr timestampNanos(long nanos) {
        return new Timestamp(nanos);
    }

    record Bool(boolean value) implements Attr {
    }

    record Int64(long value) implements Attr {
    }

    /** Compared by bit pattern (so NaN equals NaN). */
    record Float64(double value) implements Attr {
        @Override
        public boolean equals(Object o) {
            return o instanceof Float64 f && RawBits.same(f.value, value);
        }

        @Override
        public int hashCode() {
            return RawBits.hash(value);
        }
    }

    record Str(String value) implements Attr {
        public Str {
            Objects.requireNonNull(value, "value");
        }
    }

    /** Nanoseconds since 1970-01-01T00:00:00Z. */
    record Timestamp(long nanos) implements Attr {
    }
}
