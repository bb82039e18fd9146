package dev.atlas.examples.netcdf;

import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import io.jhdf.api.Attribute;
import io.jhdf.object.datatype.StringData;
import io.jhdf.object.datatype.VariableLength;
import java.lang.reflect.Array;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * netCDF attributes (HDF5 attributes as netCDF-C presents them) as Atlas attribute values. An
 * attribute of one element becomes a scalar, one of several a list; char and string attributes
 * become strings (several strings a string list); an empty attribute (zero elements, or an HDF5
 * NULL dataspace) becomes {@code ""} for char and string types and an empty list of its type
 * otherwise. Attributes of other types (enum, compound, references) have no Atlas value:
 * {@link #convert} answers null and the importer reports them.
 */
public final class NcAttributes {
    private NcAttributes() {
    }

    /** The attribute as an Atlas value, or null when its type has none. */
    public static AttributeValue convert(Attribute a) {
        boolean text = a.getDataType() instanceof StringData
                || a.getDataType() instanceof VariableLength v && NcTypes.isVlenString(v);
        DType t = text ? DType.STRING : NcTypes.dtype(a.getDataType());
        if (t == null) {
            return null;
        }
        if (text && a.getDataType() instanceof StringData sd) {
            List<String> values = a.isEmpty() ? List.of() : fixedStrings(a, sd);
            if (values.isEmpty()) {
                return AttributeValue.ofString("");
            }
            return values.size() == 1 ? AttributeValue.ofString(values.get(0)) : AttributeValue.ofStringList(values);
        }
        Object data = a.isEmpty() ? null : a.getData();
        if (text) {
            List<String> values = new ArrayList<>();
            flattenStrings(data, values);
            if (values.isEmpty()) {
                return AttributeValue.ofString("");
            }
            return values.size() == 1 ? AttributeValue.ofString(values.get(0)) : AttributeValue.ofStringList(values);
        }
        long[] v;
        double[] f;
        if (data == null) {
            v = new long[0];
            f = new double[0];
        } else if (data instanceof Number num) {
            v = new long[] {num.longValue()};
            f = new double[] {num.doubleValue()};
        } else if (data.getClass().isArray()) {
            List<Number> flat = new ArrayList<>();
            if (!flattenNumbers(data, flat)) {
                return null;
            }
            v = new long[flat.size()];
            f = new double[flat.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = flat.get(i).longValue();
                f[i] = flat.get(i).doubleValue();
            }
        } else {
            return null;
        }
        boolean one = v.length == 1;
        switch (t.kind()) {
            case FLOAT32: {
                float[] x = new float[f.length];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) f[i];
                }
                return one ? AttributeValue.ofFloat32(x[0]) : AttributeValue.ofFloat32List(x);
            }
            case FLOAT64: return one ? AttributeValue.ofFloat64(f[0]) : AttributeValue.ofFloat64List(f);
            case INT8: case UINT8: {
                byte[] x = new byte[v.length];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (byte) v[i];
                }
                return t == DType.INT8 ? (one ? AttributeValue.ofInt8(x[0]) : AttributeValue.ofInt8List(x))
                        : (one ? AttributeValue.ofUInt8(x[0]) : AttributeValue.ofUInt8List(x));
            }
            case INT16: case UINT16: {
                short[] x = new short[v.length];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (short) v[i];
                }
                return t == DType.INT16 ? (one ? AttributeValue.ofInt16(x[0]) : AttributeValue.ofInt16List(x))
                        : (one ? AttributeValue.ofUInt16(x[0]) : AttributeValue.ofUInt16List(x));
            }
            case INT32: case UINT32: {
                int[] x = new int[v.length];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (int) v[i];
                }
                return t == DType.INT32 ? (one ? AttributeValue.ofInt32(x[0]) : AttributeValue.ofInt32List(x))
                        : (one ? AttributeValue.ofUInt32(x[0]) : AttributeValue.ofUInt32List(x));
            }
            case INT64: return one ? AttributeValue.ofInt64(v[0]) : AttributeValue.ofInt64List(v);
            case UINT64: return one ? AttributeValue.ofUInt64(v[0]) : AttributeValue.ofUInt64List(v);
            default: return null;
        }
    }

    /**
     * A fixed-length string attribute's elements decoded as UTF-8 from the raw bytes. netCDF-C
     * writes char attributes with HDF5's ASCII character set whatever their bytes are, and jHDF
     * decodes them as ASCII, which garbles non-ASCII text; UTF-8 is what netCDF-C hands back.
     * Each element ends at its first NUL; space-padded elements lose their trailing spaces.
     */
    private static List<String> fixedStrings(Attribute a, StringData type) {
        ByteBuffer raw = a.getBuffer().duplicate();
        int size = type.getSize();
        long n = Math.max(1, a.getSize());
        List<String> out = new ArrayList<>();
        byte[] element = new byte[size];
        for (long i = 0; i < n && raw.remaining() >= size; i++) {
            raw.get(element);
            int len = 0;
            while (len < size && element[len] != 0) {
                len++;
            }
            String s = new String(element, 0, len, StandardCharsets.UTF_8);
            if (type.getPaddingType() == StringData.PaddingType.SPACE_PADDED) {
                s = s.stripTrailing();
            }
            out.add(s);
        }
        return out;
    }

    private static void flattenStrings(Object data, List<String> out) {
        if (data == null) {
            return;
        }
        if (data instanceof Object[] arr) {
            for (Object o : arr) {
                flattenStrings(o, out);
            }
        } else {
            out.add(String.valueOf(data));
        }
    }

    private static boolean flattenNumbers(Object data, List<Number> out) {
        if (data instanceof Number n) {
            out.add(n);
            return true;
        }
        if (data == null || !data.getClass().isArray()) {
            return false;
        }
        int n = Array.getLength(data);
        for (int i = 0; i < n; i++) {
            if (!flattenNumbers(Array.get(data, i), out)) {
                return false;
            }
        }
        return true;
    }
}
