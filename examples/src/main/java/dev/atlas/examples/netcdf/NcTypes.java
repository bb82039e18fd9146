package dev.atlas.examples.netcdf;

import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import io.jhdf.object.datatype.ArrayDataType;
import io.jhdf.object.datatype.BitField;
import io.jhdf.object.datatype.CompoundDataType;
import io.jhdf.object.datatype.DataType;
import io.jhdf.object.datatype.EnumDataType;
import io.jhdf.object.datatype.FixedPoint;
import io.jhdf.object.datatype.FloatingPoint;
import io.jhdf.object.datatype.Reference;
import io.jhdf.object.datatype.StringData;
import io.jhdf.object.datatype.VariableLength;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * How netCDF-4 types (HDF5 types as netCDF-C presents them) map to Atlas dtypes, their default
 * fill values, and the byte order of their stored elements.
 *
 * <p>The mapping: the ten numeric types map to the dtype of the same width and signedness;
 * {@code NC_CHAR} (an HDF5 fixed-length string of one byte) maps to {@code UInt8}, one byte per
 * element, the string-length dimension kept; {@code NC_STRING} (a variable-length string) and
 * HDF5 fixed-length strings longer than one byte map to {@code String}. Enum, compound,
 * variable-length (other than strings), opaque, reference, bit-field and array types have no Atlas
 * dtype: their variables are skipped with the reason {@link #unsupported} gives.
 */
public final class NcTypes {
    private NcTypes() {
    }

    /** What a variable's elements are, seen from the copy. */
    public enum Layout {
        /** Fixed-width numbers (and NC_CHAR bytes): copied as raw bytes, swapped to little-endian. */
        FIXED,
        /** Strings: copied as Java strings. */
        STRING
    }

    /** Our dtype for an HDF5 type, or null when there is none ({@link #unsupported} says why). */
    public static DType dtype(DataType t) {
        if (t instanceof FloatingPoint) {
            // netCDF-C presents a 16-bit float as float: imported as Float32, every value exact.
            return t.getSize() == 2 || t.getSize() == 4 ? DType.FLOAT32 : t.getSize() == 8 ? DType.FLOAT64 : null;
        }
        if (t instanceof FixedPoint f && !(t instanceof BitField)) {
            boolean s = f.isSigned();
            switch (f.getSize()) {
                case 1: return s ? DType.INT8 : DType.UINT8;
                case 2: return s ? DType.INT16 : DType.UINT16;
                case 4: return s ? DType.INT32 : DType.UINT32;
                case 8: return s ? DType.INT64 : DType.UINT64;
                default: return null;
            }
        }
        if (t instanceof StringData) {
            return t.getSize() == 1 ? DType.UINT8 : DType.STRING;
        }
        if (t instanceof VariableLength v && isVlenString(v)) {
            return DType.STRING;
        }
        return null;
    }

    /** Whether an HDF5 type is netCDF's NC_CHAR: a fixed-length string of one byte. */
    public static boolean isChar(DataType t) {
        return t instanceof StringData && t.getSize() == 1;
    }

    static boolean isVlenString(VariableLength v) {
        return String.class.equals(v.getJavaType());
    }

    /** The reason a type has no Atlas dtype, for the "skipped" report. */
    public static String unsupported(DataType t) {
        if (t instanceof EnumDataType) {
            return "enum type (no Atlas dtype)";
        }
        if (t instanceof CompoundDataType) {
            return "compound type (no Atlas dtype)";
        }
        if (t instanceof VariableLength) {
            return "variable-length type other than string (no Atlas dtype)";
        }
        if (t instanceof Reference) {
            return "reference type (no Atlas dtype)";
        }
        if (t instanceof ArrayDataType) {
            return "array type (no Atlas dtype)";
        }
        if (t instanceof BitField) {
            return "bit-field type (no Atlas dtype)";
        }
        return t.getClass().getSimpleName() + " of " + t.getSize() + " bytes (no Atlas dtype)";
    }

    /** The byte order of stored elements (strings and one-byte types: irrelevant, little-endian). */
    public static ByteOrder order(DataType t) {
        if (t instanceof FixedPoint f) {
            return f.getByteOrder();
        }
        if (t instanceof FloatingPoint f) {
            return f.getByteOrder();
        }
        return ByteOrder.LITTLE_ENDIAN;
    }

    /** Whether an HDF5 type is a 16-bit float (stored as half precision, imported as Float32). */
    public static boolean isHalf(DataType t) {
        return t instanceof FloatingPoint && t.getSize() == 2;
    }

    /** IEEE 754 half precision bits as a float (exact: every half is a float). */
    static float halfToFloat(int h) {
        int sign = h >>> 15 & 1;
        int exp = h >>> 10 & 0x1F;
        int mant = h & 0x3FF;
        if (exp == 0) {
            float v = mant * 0x1p-24f;   // zero or subnormal
            return sign == 0 ? v : -v;
        }
        int bits = sign << 31 | (exp == 31 ? 0xFF : exp - 15 + 127) << 23 | mant << 13;
        return Float.intBitsToFloat(bits);
    }

    /**
     * The half-precision elements of {@code src} (from its position, in {@code order}) as
     * little-endian Float32 bytes.
     */
    static ByteBuffer widenHalf(ByteBuffer src, ByteOrder order) {
        ByteBuffer in = src.duplicate().order(order);
        int n = in.remaining() / 2;
        ByteBuffer out = ByteBuffer.allocate(n * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < n; i++) {
            out.putFloat(halfToFloat(in.getShort() & 0xFFFF));
        }
        out.flip();
        return out;
    }

    /** netCDF's default fill for a dtype ({@code NC_FILL_*}); {@code NC_CHAR} fills with 0. */
    public static FillValue defaultFill(DType dtype, boolean isChar) {
        switch (dtype.kind()) {
            case INT8: return new FillValue.Int(-127);
            case UINT8: return new FillValue.UInt(isChar ? 0 : 255);
            case INT16: return new FillValue.Int(-32767);
            case UINT16: return new FillValue.UInt(65535);
            case INT32: return new FillValue.Int(-2147483647);
            case UINT32: return new FillValue.UInt(4294967295L);
            case INT64: return new FillValue.Int(-9223372036854775806L);
            case UINT64: return new FillValue.UInt(-2L);   // 18446744073709551614 as unsigned bits
            case FLOAT32: return new FillValue.Float((double) 9.9692099683868690e+36f);
            case FLOAT64: return new FillValue.Float(9.9692099683868690e+36);
            case STRING: return new FillValue.Str("");
            default: return null;
        }
    }

    /** A fill value's element bytes, little-endian (fixed-width dtypes only). */
    public static byte[] bytes(FillValue fill, DType dtype) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(dtype.elementSize())).order(ByteOrder.LITTLE_ENDIAN);
        long bits;
        double f;
        if (fill instanceof FillValue.Float x) {
            f = x.value();
            bits = (long) f;
        } else if (fill instanceof FillValue.Int x) {
            bits = x.value();
            f = bits;
        } else if (fill instanceof FillValue.UInt x) {
            bits = x.value();
            f = bits;
        } else {
            bits = 0;
            f = 0;
        }
        switch (dtype.kind()) {
            case FLOAT32: b.putFloat((float) f); break;
            case FLOAT64: b.putDouble(f); break;
            case INT8: case UINT8: b.put((byte) bits); break;
            case INT16: case UINT16: b.putShort((short) bits); break;
            case INT32: case UINT32: b.putInt((int) bits); break;
            default: b.putLong(bits); break;
        }
        return b.array();
    }

    /**
     * A fill value from a number or string of jHDF (an attribute's first element or the HDF5 fill
     * value), for {@code dtype}; null when it does not fit the dtype.
     */
    public static FillValue fill(Object v, DType dtype) {
        if (v != null && v.getClass().isArray()) {
            v = java.lang.reflect.Array.getLength(v) > 0 ? java.lang.reflect.Array.get(v, 0) : null;
        }
        if (v instanceof String s) {
            if (dtype == DType.STRING) {
                return new FillValue.Str(s);
            }
            if (dtype == DType.UINT8) {   // NC_CHAR fill: a one-character string
                return new FillValue.UInt(s.isEmpty() ? 0 : s.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1)[0] & 0xFF);
            }
            return null;
        }
        if (!(v instanceof Number num)) {
            return null;
        }
        if (dtype.isFloat()) {
            return new FillValue.Float(dtype == DType.FLOAT32 ? (double) num.floatValue() : num.doubleValue());
        }
        if (dtype.isUnsignedInteger()) {
            long bits = num.longValue();
            long mask = dtype.elementSize() == 8 ? -1L : (1L << (8 * dtype.elementSize())) - 1;
            return new FillValue.UInt(bits & mask);
        }
        if (dtype.isSignedInteger()) {
            return new FillValue.Int(num.longValue());
        }
        return null;
    }
}
