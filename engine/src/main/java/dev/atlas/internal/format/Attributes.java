package dev.atlas.internal.format;

import dev.atlas.error.InvalidArgumentException;
import java.util.Arrays;

/**
 * The attribute index pairs of one array meta: {@code (keyIndex, valueIndex)} into the attribute
 * dictionaries of the footer that holds the meta, sorted by key index, at most one pair per key.
 * Stored with one of three index widths; readers accept all, writers pick the narrowest that fits.
 */
public final class Attributes {

    /** Index width of the pairs, i.e. the archive variant (tag = ordinal). */
    public enum Width {
        U16(0xFFFFL), U32(0xFFFF_FFFFL), U64(-1L);

        private final long max;

        Width(long max) {
            this.max = max;
        }

        /** Largest index this width can hold (U64: all 64 bits, unsigned). */
        public long maxIndex() {
            return max;
        }

        /** The narrowest width that can hold {@code maxIndex} (unsigned). */
        public static Width forMaxIndex(long maxIndex) {
            if (Long.compareUnsigned(maxIndex, U16.max) <= 0) {
                return U16;
            }
            return Long.compareUnsigned(maxIndex, U32.max) <= 0 ? U32 : U64;
        }
    }

    /** No pairs, width U16 (what a fresh meta has). */
    public static final Attributes EMPTY = new Attributes(Width.U16, new long[0], new long[0]);

    private final Width width;
    private final long[] keys;
    private final long[] values;

    private Attributes(Width width, long[] keys, long[] values) {
        this.width = width;
        this.keys = keys;
        this.values = values;
    }

    /**
     * Pairs exactly as stored (order and width kept, so that a footer re-encodes byte for byte).
     * Indices are unsigned; they must fit the width.
     */
    public static Attributes of(Width width, long[] keys, long[] values) {
        if (keys.length != values.length) {
            throw new InvalidArgumentException("keys and values differ in length");
        }
        for (int i = 0; i < keys.length; i++) {
            if (Long.compareUnsigned(keys[i], width.max) > 0 || Long.compareUnsigned(values[i], width.max) > 0) {
                throw new InvalidArgumentException("attribute index pair (" + keys[i] + ", " + values[i]
                        + ") does not fit width " + width);
            }
        }
        return new Attributes(width, keys.clone(), values.clone());
    }

    public Width width() {
        return width;
    }

    public int size() {
        return keys.length;
    }

    public long keyIndex(int i) {
        return keys[i];
    }

    public long valueIndex(int i) {
        return values[i];
    }

    /** The value index of {@code keyIndex}, or -1 when the key has no pair. */
    public long valueIndexOf(long keyIndex) {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] == keyIndex) {
                return values[i];
            }
        }
        return -1;
    }

    /** A copy with the pair for {@code keyIndex} set (sorted insert), widened if needed. */
    public Attributes with(long keyIndex, long valueIndex) {
        int pos = 0;
        while (pos < keys.length && Long.compareUnsigned(keys[pos], keyIndex) < 0) {
            pos++;
        }
        long[] k;
        long[] v;
        if (pos < keys.length && keys[pos] == keyIndex) {
            k = keys.clone();
            v = values.clone();
            v[pos] = valueIndex;
        } else {
            k = new long[keys.length + 1];
            v = new long[keys.length + 1];
            System.arraycopy(keys, 0, k, 0, pos);
            System.arraycopy(values, 0, v, 0, pos);
            k[pos] = keyIndex;
            v[pos] = valueIndex;
            System.arraycopy(keys, pos, k, pos + 1, keys.length - pos);
            System.arraycopy(values, pos, v, pos + 1, keys.length - pos);
        }
        long max = 0;
        for (int i = 0; i < k.length; i++) {
            max = Long.compareUnsigned(max, k[i]) < 0 ? k[i] : max;
            max = Long.compareUnsigned(max, v[i]) < 0 ? v[i] : max;
        }
        Width w = Width.forMaxIndex(max);
        if (w.ordinal() < width.ordinal()) {
            w = width;
        }
        return new Attributes(w, k, v);
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof Attributes)) {
            return false;
        }
        Attributes a = (Attributes) o;
        return width == a.width && Arrays.equals(keys, a.keys) && Arrays.equals(values, a.values);
    }

    @Override
    public int hashCode() {
        return width.hashCode() * 31 + Arrays.hashCode(keys) * 17 + Arrays.hashCode(values);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(width.name()).append('[');
        for (int i = 0; i < keys.length; i++) {
            sb.append(i == 0 ? "" : ", ").append('(').append(keys[i]).append(',').append(values[i]).append(')');
        }
        return sb.append(']').toString();
    }
}
