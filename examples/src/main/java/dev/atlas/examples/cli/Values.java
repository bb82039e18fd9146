package dev.atlas.examples.cli;

import dev.atlas.http.Json;

import dev.atlas.array.NdArray;
import dev.atlas.format.AttributeValue;
import dev.atlas.store.Attr;
import java.lang.reflect.Array;
import java.time.Instant;

/** Text forms of elements, attributes and sizes for the tool's output. */
final class Values {
    private Values() {
    }

    /** Element {@code i} of {@code a} as text: unsigned integers unsigned, floats as Java prints them, timestamps ISO-8601. */
    static String element(NdArray a, long i) {
        switch (a.dtype().kind()) {
            case BOOL: return a.getByte(i) != 0 ? "true" : "false";
            case INT8: return Byte.toString(a.getByte(i));
            case UINT8: return Integer.toString(Byte.toUnsignedInt(a.getByte(i)));
            case INT16: return Short.toString(a.getShort(i));
            case UINT16: return Integer.toString(Short.toUnsignedInt(a.getShort(i)));
            case INT32: return Integer.toString(a.getInt(i));
            case UINT32: return Integer.toUnsignedString(a.getInt(i));
            case INT64: return Long.toString(a.getLong(i));
            case UINT64: return Long.toUnsignedString(a.getLong(i));
            case FLOAT32: return Float.toString(a.getFloat(i));
            case FLOAT64: return Double.toString(a.getDouble(i));
            case TIMESTAMP_NS: return instant(a.getLong(i));
            case STRING: return a.getString(i);
            case BINARY: return "0x" + Json.hex(a.getBinary(i));
            default: return "?";
        }
    }

    /**
     * A dataset attribute as text, the way {@link #attribute} prints an array attribute of the same
     * value (the JSON forms share their type names too): strings quoted, timestamps ISO-8601.
     */
    static String attr(Attr v) {
        if (v instanceof Attr.Str s) {
            return attribute(AttributeValue.ofString(s.value()));
        }
        if (v instanceof Attr.Timestamp t) {
            return instant(t.nanos());
        }
        if (v instanceof Attr.Int64 i) {
            return attribute(AttributeValue.ofInt64(i.value()));
        }
        if (v instanceof Attr.Float64 f) {
            return attribute(AttributeValue.ofFloat64(f.value()));
        }
        return attribute(AttributeValue.ofBool(((Attr.Bool) v).value()));
    }

    /** A string in double quotes, with {@code "} and {@code \} escaped by a backslash. */
    static String quoted(String s) {
        return '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    /** Nanoseconds since the epoch as an ISO-8601 instant. */
    static String instant(long nanos) {
        return Instant.ofEpochSecond(Math.floorDiv(nanos, 1_000_000_000L), Math.floorMod(nanos, 1_000_000_000L)).toString();
    }

    /** An array attribute as text: strings quoted, unsigned integers unsigned, lists comma separated. */
    static String attribute(AttributeValue v) {
        switch (v.kind()) {
            case BOOL: return String.valueOf(v.asBool());
            case FLOAT32: return Float.toString(v.asFloat32());
            case FLOAT64: return Double.toString(v.asDouble());
            case UINT64: return Long.toUnsignedString(v.asLong());
            case INT8: case INT16: case INT32: case INT64: case UINT8: case UINT16: case UINT32:
                return Long.toString(v.asLong());
            case STRING: return quoted(v.asString());
            case BINARY: return "0x" + Json.hex(v.asBinary());
            default:
                break;
        }
        Object list = v.listValue();
        StringBuilder b = new StringBuilder();
        if (list instanceof java.util.List<?> l) {
            for (Object o : l) {
                b.append(b.length() == 0 ? "" : ", ").append(o instanceof byte[] bs ? "0x" + Json.hex(bs) : quoted((String) o));
            }
            return b.toString();
        }
        boolean unsigned = v.kind().name().startsWith("UINT");
        for (int i = 0; i < Array.getLength(list); i++) {
            Object o = Array.get(list, i);
            String text;
            if (unsigned && o instanceof Byte x) {
                text = Integer.toString(Byte.toUnsignedInt(x));
            } else if (unsigned && o instanceof Short x) {
                text = Integer.toString(Short.toUnsignedInt(x));
            } else if (unsigned && o instanceof Integer x) {
                text = Integer.toUnsignedString(x);
            } else if (unsigned && o instanceof Long x) {
                text = Long.toUnsignedString(x);
            } else {
                text = String.valueOf(o);
            }
            b.append(i == 0 ? "" : ", ").append(text);
        }
        return b.toString();
    }

    /** Bytes in binary units: {@code 512 B}, {@code 1.5 KiB}, {@code 12.3 MiB}. */
    static String bytes(long n) {
        if (n < 1024) {
            return n + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = n;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format("%.1f %s", v, units[u]);
    }
}
