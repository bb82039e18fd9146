package dev.atlas.internal.format;

import static dev.atlas.internal.format.FooterLayout.VEC_SIZE;

import dev.atlas.format.AttributeValue;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads and writes one archived attribute value (the 24-byte tagged union of the footer's value
 * dictionary) with its out-of-line payload. Pure functions, thread-safe.
 */
final class AttributeValueCodec {
    private AttributeValueCodec() {
    }

    /** Decodes the attribute value whose body is at {@code at}. */
    static AttributeValue read(ArchiveReader r, long at) {
        int tag = r.u8(at);
        AttributeValue.Kind kind = AttributeValue.Kind.ofTag(tag);
        if (kind == null) {
            throw r.corrupt("attribute value tag " + tag + " at payload offset " + at + " is not 0-25");
        }
        long f = at + 8;
        switch (kind) {
            case BOOL: return AttributeValue.ofBool(r.bool(at + 1));
            case INT8: return AttributeValue.ofInt8((byte) r.u8(at + 1));
            case UINT8: return AttributeValue.ofUInt8((byte) r.u8(at + 1));
            case INT16: return AttributeValue.ofInt16((short) r.u16(at + 2));
            case UINT16: return AttributeValue.ofUInt16((short) r.u16(at + 2));
            case INT32: return AttributeValue.ofInt32((int) r.u32(at + 4));
            case UINT32: return AttributeValue.ofUInt32((int) r.u32(at + 4));
            case FLOAT32: return AttributeValue.ofFloat32(Float.intBitsToFloat((int) r.u32(at + 4)));
            case INT64: return AttributeValue.ofInt64(r.i64(f));
            case UINT64: return AttributeValue.ofUInt64(r.i64(f));
            case FLOAT64: return AttributeValue.ofFloat64(Double.longBitsToDouble(r.i64(f)));
            case STRING: return AttributeValue.ofString(r.string(f, at));
            case BINARY: return AttributeValue.ofBinary(r.byteVec(f, at));
            case BOOL_LIST: {
                int n = r.vecLength(f, 1, 1, at);
                long p = r.vecStart(f);
                boolean[] out = new boolean[n];
                for (int i = 0; i < n; i++) {
                    out[i] = r.bool(p + i);
                }
                return AttributeValue.ofBoolList(out);
            }
            case INT8_LIST: return AttributeValue.ofInt8List(r.byteVec(f, at));
            case UINT8_LIST: return AttributeValue.ofUInt8List(r.byteVec(f, at));
            case INT16_LIST: case UINT16_LIST: {
                int n = r.vecLength(f, 2, 2, at);
                long p = r.vecStart(f);
                short[] out = new short[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (short) r.u16(p + 2L * i);
                }
                return kind == AttributeValue.Kind.INT16_LIST ? AttributeValue.ofInt16List(out)
                        : AttributeValue.ofUInt16List(out);
            }
            case INT32_LIST: case UINT32_LIST: case FLOAT32_LIST: {
                int n = r.vecLength(f, 4, 4, at);
                long p = r.vecStart(f);
                int[] out = new int[n];
                for (int i = 0; i < n; i++) {
                    out[i] = (int) r.u32(p + 4L * i);
                }
                if (kind == AttributeValue.Kind.FLOAT32_LIST) {
                    float[] fl = new float[n];
                    for (int i = 0; i < n; i++) {
                        fl[i] = Float.intBitsToFloat(out[i]);
                    }
                    return AttributeValue.ofFloat32List(fl);
                }
                return kind == AttributeValue.Kind.INT32_LIST ? AttributeValue.ofInt32List(out)
                        : AttributeValue.ofUInt32List(out);
            }
            case INT64_LIST: case UINT64_LIST: case FLOAT64_LIST: {
                int n = r.vecLength(f, 8, 8, at);
                long p = r.vecStart(f);
                long[] out = new long[n];
                for (int i = 0; i < n; i++) {
                    out[i] = r.i64(p + 8L * i);
                }
                if (kind == AttributeValue.Kind.FLOAT64_LIST) {
                    double[] d = new double[n];
                    for (int i = 0; i < n; i++) {
                        d[i] = Double.longBitsToDouble(out[i]);
                    }
                    return AttributeValue.ofFloat64List(d);
                }
                return kind == AttributeValue.Kind.INT64_LIST ? AttributeValue.ofInt64List(out)
                        : AttributeValue.ofUInt64List(out);
            }
            case STRING_LIST: return AttributeValue.ofStringList(r.stringVec(f, at));
            case BINARY_LIST: {
                int n = r.vecLength(f, VEC_SIZE, 8, at);
                long p = r.vecStart(f);
                List<byte[]> out = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    long s = p + (long) i * VEC_SIZE;
                    out.add(r.byteVec(s, s));
                }
                return AttributeValue.ofBinaryList(out);
            }
            default:
                throw r.corrupt("unhandled attribute variant " + kind);
        }
    }

    /**
     * The payload of {@code v} through its public accessors: a boxed scalar (unsigned kinds as their
     * raw bits), a String, or an array / list for Binary and the list kinds (a copy).
     */
    private static Object payload(AttributeValue v) {
        switch (v.kind()) {
            case BOOL: return v.asBool();
            case INT8: case UINT8: return (byte) v.asLong();
            case INT16: case UINT16: return (short) v.asLong();
            case INT32: case UINT32: return (int) v.asLong();
            case INT64: case UINT64: return v.asLong();
            case FLOAT32: return v.asFloat32();
            case FLOAT64: return v.asDouble();
            case STRING: return v.asString();
            default: return v.listValue();
        }
    }

    /** Emits the out-of-line parts of an attribute value; returns the position its body points at. */
    static int deps(ArchiveWriter w, AttributeValue v) {
        Object raw = payload(v);
        switch (v.kind()) {
            case STRING:
                return w.stringDeps((String) raw);
            case BINARY: case INT8_LIST: case UINT8_LIST: {
                return w.bytes((byte[]) raw);
            }
            case BOOL_LIST: {
                boolean[] b = (boolean[]) raw;
                int at = w.pos();
                for (boolean x : b) {
                    w.put8(w.reserve(1), x ? 1 : 0);
                }
                return at;
            }
            case INT16_LIST: case UINT16_LIST: {
                w.pad(2);
                int at = w.pos();
                for (short s : (short[]) raw) {
                    w.put16(w.reserve(2), s);
                }
                return at;
            }
            case INT32_LIST: case UINT32_LIST: {
                w.pad(4);
                int at = w.pos();
                for (int s : (int[]) raw) {
                    w.put32(w.reserve(4), s);
                }
                return at;
            }
            case FLOAT32_LIST: {
                w.pad(4);
                int at = w.pos();
                for (float s : (float[]) raw) {
                    w.put32(w.reserve(4), Float.floatToRawIntBits(s));
                }
                return at;
            }
            case INT64_LIST: case UINT64_LIST: {
                w.pad(8);
                int at = w.pos();
                for (long s : (long[]) raw) {
                    w.put64(w.reserve(8), s);
                }
                return at;
            }
            case FLOAT64_LIST: {
                w.pad(8);
                int at = w.pos();
                for (double s : (double[]) raw) {
                    w.put64(w.reserve(8), Double.doubleToRawLongBits(s));
                }
                return at;
            }
            case STRING_LIST: {
                @SuppressWarnings("unchecked")
                List<String> l = (List<String>) raw;
                return w.stringVec(l);
            }
            case BINARY_LIST: {
                @SuppressWarnings("unchecked")
                List<byte[]> l = (List<byte[]>) raw;
                int[] deps = new int[l.size()];
                for (int i = 0; i < deps.length; i++) {
                    deps[i] = w.bytes(l.get(i));
                }
                w.pad(8);
                int at = w.pos();
                for (int i = 0; i < deps.length; i++) {
                    w.putVec(w.reserve(VEC_SIZE), deps[i], l.get(i).length);
                }
                return at;
            }
            default:
                return -1;
        }
    }

    /** Writes the body of {@code v} at {@code at}; {@code dep} is what {@link #deps} returned. */
    static void put(ArchiveWriter w, int at, AttributeValue v, int dep) {
        Object raw = payload(v);
        w.put8(at, v.tag());
        switch (v.kind()) {
            case BOOL: w.put8(at + 1, ((Boolean) raw) ? 1 : 0); break;
            case INT8: case UINT8: w.put8(at + 1, (Byte) raw); break;
            case INT16: case UINT16: w.put16(at + 2, (Short) raw); break;
            case INT32: case UINT32: w.put32(at + 4, (Integer) raw); break;
            case FLOAT32: w.put32(at + 4, Float.floatToRawIntBits((Float) raw)); break;
            case INT64: case UINT64: w.put64(at + 8, (Long) raw); break;
            case FLOAT64: w.put64(at + 8, Double.doubleToRawLongBits((Double) raw)); break;
            case STRING: w.putString(at + 8, (String) raw, dep); break;
            default: w.putVec(at + 8, dep, listLength(raw)); break;
        }
    }

    private static int listLength(Object raw) {
        if (raw instanceof List) {
            return ((List<?>) raw).size();
        }
        return java.lang.reflect.Array.getLength(raw);
    }
}
