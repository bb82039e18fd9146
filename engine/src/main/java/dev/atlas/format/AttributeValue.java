package dev.atlas.format;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.internal.RawBits;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * A typed attribute value: one of 26 variants (tags 0-11 are the scalars of footer v4, 12-25 the
 * binary and list variants added with footer v5). Unsigned variants hold their bits in the signed
 * Java type of the same width. Immutable: arrays passed in are copied, arrays handed out are copies.
 *
 * <p>Equality: same variant and equal payload, floats (scalars and list elements) by bit pattern.
 *
 * <p>This is an attribute of an array, as an {@code .af} footer stores it. A dataset attribute of an
 * Atlas store is a different value ({@code dev.atlas.store.Attr}): five kinds, stored in the
 * registry file with the registry's encoding.
 */
public final class AttributeValue {

    /** Variant of an attribute value; {@link #tag()} is the archive tag. */
    public enum Kind {
        BOOL("Bool"), INT8("Int8"), INT16("Int16"), INT32("Int32"), INT64("Int64"),
        UINT8("UInt8"), UINT16("UInt16"), UINT32("UInt32"), UINT64("UInt64"),
        FLOAT32("Float32"), FLOAT64("Float64"), STRING("String"), BINARY("Binary"),
        BOOL_LIST("BoolList"), INT8_LIST("Int8List"), INT16_LIST("Int16List"), INT32_LIST("Int32List"),
        INT64_LIST("Int64List"), UINT8_LIST("UInt8List"), UINT16_LIST("UInt16List"),
        UINT32_LIST("UInt32List"), UINT64_LIST("UInt64List"), FLOAT32_LIST("Float32List"),
        FLOAT64_LIST("Float64List"), STRING_LIST("StringList"), BINARY_LIST("BinaryList");

        private final String displayName;

        Kind(String displayName) {
            this.displayName = displayName;
        }

        public int tag() {
            return ordinal();
        }

        /** The reference variant name, e.g. {@code Float64List}. */
        public String displayName() {
            return displayName;
        }

        /** True for the variants footer v4 (crate 0.9/0.10) can hold. */
        public boolean inFooterV4() {
            return ordinal() <= STRING.ordinal();
        }

        /** The variant named {@code name}, or null. */
        public static Kind parse(String name) {
            for (Kind k : values()) {
                if (k.displayName.equals(name)) {
                    return k;
                }
            }
            return null;
        }

        /** Kind for an archive tag, or null when the tag is out of range. */
        public static Kind ofTag(int tag) {
            Kind[] all = values();
            return tag >= 0 && tag < all.length ? all[tag] : null;
        }
    }

    private final Kind kind;
    /** Boxed scalar, String, or a primitive array / List for the list variants. */
    private final Object value;

    private AttributeValue(Kind kind, Object value) {
        this.kind = kind;
        this.value = value;
    }

    public static AttributeValue ofBool(boolean v) {
        return new AttributeValue(Kind.BOOL, v);
    }

    public static AttributeValue ofInt8(byte v) {
        return new AttributeValue(Kind.INT8, v);
    }

    public static AttributeValue ofInt16(short v) {
        return new AttributeValue(Kind.INT16, v);
    }

    public static AttributeValue ofInt32(int v) {
        return new AttributeValue(Kind.INT32, v);
    }

    public static AttributeValue ofInt64(long v) {
        return new AttributeValue(Kind.INT64, v);
    }

    /** UInt8 from its 8 bits. */
    public static AttributeValue ofUInt8(byte bits) {
        return new AttributeValue(Kind.UINT8, bits);
    }

    public static AttributeValue ofUInt16(short bits) {
        return new AttributeValue(Kind.UINT16, bits);
    }

    public static AttributeValue ofUInt32(int bits) {
        return new AttributeValue(Kind.UINT32, bits);
    }

    public static AttributeValue ofUInt64(long bits) {
        return new AttributeValue(Kind.UINT64, bits);
    }

    public static AttributeValue ofFloat32(float v) {
        return new AttributeValue(Kind.FLOAT32, v);
    }

    public static AttributeValue ofFloat64(double v) {
        return new AttributeValue(Kind.FLOAT64, v);
    }

    public static AttributeValue ofString(String v) {
        return new AttributeValue(Kind.STRING, Objects.requireNonNull(v, "value"));
    }

    public static AttributeValue ofBinary(byte[] v) {
        return new AttributeValue(Kind.BINARY, v.clone());
    }

    public static AttributeValue ofBoolList(boolean[] v) {
        return new AttributeValue(Kind.BOOL_LIST, v.clone());
    }

    public static AttributeValue ofInt8List(byte[] v) {
        return new AttributeValue(Kind.INT8_LIST, v.clone());
    }

    public static AttributeValue ofInt16List(short[] v) {
        return new AttributeValue(Kind.INT16_LIST, v.clone());
    }

    public static AttributeValue ofInt32List(int[] v) {
        return new AttributeValue(Kind.INT32_LIST, v.clone());
    }

    public static AttributeValue ofInt64List(long[] v) {
        return new AttributeValue(Kind.INT64_LIST, v.clone());
    }

    public static AttributeValue ofUInt8List(byte[] bits) {
        return new AttributeValue(Kind.UINT8_LIST, bits.clone());
    }

    public static AttributeValue ofUInt16List(short[] bits) {
        return new AttributeValue(Kind.UINT16_LIST, bits.clone());
    }

    public static AttributeValue ofUInt32List(int[] bits) {
        return new AttributeValue(Kind.UINT32_LIST, bits.clone());
    }

    public static AttributeValue ofUInt64List(long[] bits) {
        return new AttributeValue(Kind.UINT64_LIST, bits.clone());
    }

    public static AttributeValue ofFloat32List(float[] v) {
        return new AttributeValue(Kind.FLOAT32_LIST, v.clone());
    }

    public static AttributeValue ofFloat64List(double[] v) {
        return new AttributeValue(Kind.FLOAT64_LIST, v.clone());
    }

    public static AttributeValue ofStringList(List<String> v) {
        List<String> copy = new ArrayList<>(v.size());
        for (String s : v) {
            copy.add(Objects.requireNonNull(s, "list element"));
        }
        return new AttributeValue(Kind.STRING_LIST, Collections.unmodifiableList(copy));
    }

    public static AttributeValue ofBinaryList(List<byte[]> v) {
        List<byte[]> copy = new ArrayList<>(v.size());
        for (byte[] b : v) {
            copy.add(b.clone());
        }
        return new AttributeValue(Kind.BINARY_LIST, Collections.unmodifiableList(copy));
    }

    public Kind kind() {
        return kind;
    }

    /** Archive tag. */
    public int tag() {
        return kind.tag();
    }

    /** Bool value; fails for other variants. */
    public boolean asBool() {
        return (Boolean) expect(Kind.BOOL);
    }

    /**
     * Any integer scalar as a long: signed variants sign-extended, unsigned ones zero-extended (for
     * UInt64 the raw 64 bits).
     */
    public long asLong() {
        switch (kind) {
            case INT8: return (Byte) value;
            case INT16: return (Short) value;
            case INT32: return (Integer) value;
            case INT64: case UINT64: return (Long) value;
            case UINT8: return ((Byte) value) & 0xFFL;
            case UINT16: return ((Short) value) & 0xFFFFL;
            case UINT32: return ((Integer) value) & 0xFFFF_FFFFL;
            default: throw wrongKind("an integer");
        }
    }

    /** Float32 or Float64 scalar as a double (Float32 widened exactly). */
    public double asDouble() {
        if (kind == Kind.FLOAT32) {
            return (Float) value;
        }
        if (kind == Kind.FLOAT64) {
            return (Double) value;
        }
        throw wrongKind("a float");
    }

    public float asFloat32() {
        return (Float) expect(Kind.FLOAT32);
    }

    public String asString() {
        return (String) expect(Kind.STRING);
    }

    /** Copy of a Binary value. */
    public byte[] asBinary() {
        return ((byte[]) expect(Kind.BINARY)).clone();
    }

    /**
     * Copy of the payload of a list variant (or Binary): {@code boolean[]}, {@code byte[]},
     * {@code short[]}, {@code int[]}, {@code long[]}, {@code float[]}, {@code double[]}, or an
     * unmodifiable {@code List<String>} / {@code List<byte[]>} (whose byte arrays are copies).
     */
    public Object listValue() {
        if (kind.ordinal() < Kind.BINARY.ordinal()) {
            throw wrongKind("a list");
        }
        if (value instanceof List) {
            if (kind == Kind.BINARY_LIST) {
                @SuppressWarnings("unchecked")
                List<byte[]> l = (List<byte[]>) value;
                List<byte[]> copy = new ArrayList<>(l.size());
                for (byte[] b : l) {
                    copy.add(b.clone());
                }
                return Collections.unmodifiableList(copy);
            }
            return value;
        }
        return cloneArray(value);
    }

    private Object expect(Kind k) {
        if (kind != k) {
            throw wrongKind(k.displayName);
        }
        return value;
    }

    private InvalidArgumentException wrongKind(String wanted) {
        return new InvalidArgumentException("attribute value is " + kind.displayName + ", not " + wanted);
    }

    private static Object cloneArray(Object a) {
        if (a instanceof boolean[]) {
            return ((boolean[]) a).clone();
        }
        if (a instanceof byte[]) {
            return ((byte[]) a).clone();
        }
        if (a instanceof short[]) {
            return ((short[]) a).clone();
        }
        if (a instanceof int[]) {
            return ((int[]) a).clone();
        }
        if (a instanceof long[]) {
            return ((long[]) a).clone();
        }
        if (a instanceof float[]) {
            return ((float[]) a).clone();
        }
        return ((double[]) a).clone();
    }

    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof AttributeValue)) {
            return false;
        }
        AttributeValue a = (AttributeValue) o;
        if (kind != a.kind) {
            return false;
        }
        Object x = value;
        Object y = a.value;
        switch (kind) {
            case FLOAT32:
                return Float.floatToRawIntBits((Float) x) == Float.floatToRawIntBits((Float) y);
            case FLOAT64:
                return RawBits.same((Double) x, (Double) y);
            case FLOAT32_LIST: {
                float[] p = (float[]) x;
                float[] q = (float[]) y;
                if (p.length != q.length) {
                    return false;
                }
                for (int i = 0; i < p.length; i++) {
                    if (Float.floatToRawIntBits(p[i]) != Float.floatToRawIntBits(q[i])) {
                        return false;
                    }
                }
                return true;
            }
            case FLOAT64_LIST: {
                double[] p = (double[]) x;
                double[] q = (double[]) y;
                if (p.length != q.length) {
                    return false;
                }
                for (int i = 0; i < p.length; i++) {
                    if (!RawBits.same(p[i], q[i])) {
                        return false;
                    }
                }
                return true;
            }
            case BINARY_LIST: {
                @SuppressWarnings("unchecked")
                List<byte[]> p = (List<byte[]>) x;
                @SuppressWarnings("unchecked")
                List<byte[]> q = (List<byte[]>) y;
                if (p.size() != q.size()) {
                    return false;
                }
                for (int i = 0; i < p.size(); i++) {
                    if (!Arrays.equals(p.get(i), q.get(i))) {
                        return false;
                    }
                }
                return true;
            }
            default:
                return Objects.deepEquals(x, y);
        }
    }

    @Override
    public int hashCode() {
        int h = kind.hashCode() * 31;
        switch (kind) {
            case FLOAT32: return h + Float.floatToRawIntBits((Float) value);
            case FLOAT64: return h + RawBits.hash((Double) value);
            case FLOAT32_LIST: {
                for (float f : (float[]) value) {
                    h = h * 31 + Float.floatToRawIntBits(f);
                }
                return h;
            }
            case FLOAT64_LIST: {
                for (double d : (double[]) value) {
                    h = h * 31 + RawBits.hash(d);
                }
                return h;
            }
            case BINARY_LIST: {
                @SuppressWarnings("unchecked")
                List<byte[]> l = (List<byte[]>) value;
                for (byte[] b : l) {
                    h = h * 31 + Arrays.hashCode(b);
                }
                return h;
            }
            default:
                return h + Arrays.deepHashCode(new Object[] {value});
        }
    }

    @Override
    public String toString() {
        Object shown = value;
        if (value != null && value.getClass().isArray()) {
            shown = Arrays.deepToString(new Object[] {value});
        }
        return kind.displayName + "(" + shown + ")";
    }
}
