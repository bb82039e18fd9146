package dev.atlas.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import dev.atlas.array.NdArray;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.format.StatValue;
import dev.atlas.store.Attr;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * JSON rendering on heap bytes (Jackson streaming). Numbers as JSON numbers (u64 over its full
 * range), NaN and infinities as the strings {@code "NaN"}, {@code "Infinity"}, {@code "-Infinity"},
 * binary as lowercase hex, timestamps as integer nanoseconds; typed values as
 * {@code {"type": ..., "value": ...}} like {@code atlas dump --json}. Attribute types, of datasets
 * and of arrays alike, are named as dtypes are ({@code String}, {@code Int64}, {@code Float64List}):
 * the reference crate's variant names, which {@code dtype} fields and {@code X-Atlas-DType} use too.
 * Fill values and statistics keep the crate's own variant names ({@code Float}, {@code Int},
 * {@code UInt}, {@code Bytes}), which {@code atlas dump --json} shares with the reference corpus.
 */
public final class Json {
    static final JsonFactory FACTORY = new JsonFactory();
    /** Writes every character outside ASCII as a JSON backslash-u escape (still the same JSON text). */
    private static final JsonFactory ASCII_FACTORY = JsonFactory.builder()
            .enable(com.fasterxml.jackson.core.json.JsonWriteFeature.ESCAPE_NON_ASCII).build();

    private Json() {
    }

    /** What a body writer does with the generator. */
    @FunctionalInterface
    public interface Body {
        void write(JsonGenerator g) throws IOException;
    }

    /** The JSON document {@code body} writes, as UTF-8 bytes ending in a newline. */
    public static byte[] render(Body body) {
        return render(FACTORY, body);
    }

    /**
     * The JSON document {@code body} writes, in ASCII: characters beyond it escaped as
     * backslash-u escapes. For readers that decode JSON as ASCII (zarr-python 2 reads Zarr v2 metadata
     * so: one non-ASCII attribute would make a whole dataset unreadable to it).
     */
    public static byte[] renderAscii(Body body) {
        return render(ASCII_FACTORY, body);
    }

    private static byte[] render(JsonFactory factory, Body body) {
        ByteArrayBuilder out = new ByteArrayBuilder(1024);
        try (JsonGenerator g = factory.createGenerator(out)) {
            body.write(g);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        out.write('\n');
        return out.toByteArray();
    }

    static byte[] error(String message, String parameter) {
        return render(g -> {
            g.writeStartObject();
            g.writeStringField("error", message);
            if (parameter != null) {
                g.writeStringField("parameter", parameter);
            }
            g.writeEndObject();
        });
    }

    public static void longs(JsonGenerator g, String field, long[] v) throws IOException {
        g.writeArrayFieldStart(field);
        for (long x : v) {
            g.writeNumber(x);
        }
        g.writeEndArray();
    }

    static void strings(JsonGenerator g, String field, List<String> v) throws IOException {
        g.writeArrayFieldStart(field);
        for (String x : v) {
            g.writeString(x);
        }
        g.writeEndArray();
    }

    public static BigInteger unsigned(long v) {
        return new BigInteger(Long.toUnsignedString(v));
    }

    public static void number(JsonGenerator g, double d) throws IOException {
        if (Double.isNaN(d)) {
            g.writeString("NaN");
        } else if (Double.isInfinite(d)) {
            g.writeString(d > 0 ? "Infinity" : "-Infinity");
        } else {
            g.writeNumber(d);
        }
    }

    public static void number(JsonGenerator g, float f) throws IOException {
        if (Float.isNaN(f) || Float.isInfinite(f)) {
            number(g, (double) f);
        } else {
            g.writeNumber(f);
        }
    }

    public static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return sb.toString();
    }

    /** Every element of {@code a} in C order as a flat JSON array. */
    static void values(JsonGenerator g, NdArray a) throws IOException {
        DType.Kind k = a.dtype().kind();
        long n = a.size();
        g.writeStartArray();
        for (long i = 0; i < n; i++) {
            switch (k) {
                case BOOL -> g.writeBoolean(a.getByte(i) != 0);
                case INT8 -> g.writeNumber(a.getByte(i));
                case UINT8 -> g.writeNumber(a.getByte(i) & 0xFF);
                case INT16 -> g.writeNumber(a.getShort(i));
                case UINT16 -> g.writeNumber(a.getShort(i) & 0xFFFF);
                case INT32 -> g.writeNumber(a.getInt(i));
                case UINT32 -> g.writeNumber(a.getInt(i) & 0xFFFF_FFFFL);
                case INT64, TIMESTAMP_NS -> g.writeNumber(a.getLong(i));
                case UINT64 -> g.writeNumber(unsigned(a.getLong(i)));
                case FLOAT32 -> number(g, a.getFloat(i));
                case FLOAT64 -> number(g, a.getDouble(i));
                case STRING -> g.writeString(a.getString(i));
                case BINARY -> g.writeString(hex(a.getBinary(i)));
                default -> throw ApiError.badParameter("format", a.dtype() + " elements have no JSON form");
            }
        }
        g.writeEndArray();
    }

    public static void fill(JsonGenerator g, FillValue f) throws IOException {
        if (f == null) {
            g.writeNull();
            return;
        }
        g.writeStartObject();
        g.writeStringField("type", f.typeName());
        g.writeFieldName("value");
        if (f instanceof FillValue.Bool b) {
            g.writeBoolean(b.value());
        } else if (f instanceof FillValue.Int i) {
            g.writeNumber(i.value());
        } else if (f instanceof FillValue.UInt u) {
            g.writeNumber(unsigned(u.value()));
        } else if (f instanceof FillValue.Float x) {
            number(g, x.value());
        } else if (f instanceof FillValue.Str s) {
            g.writeString(s.value());
        } else {
            g.writeNumber(((FillValue.TimestampNs) f).value());
        }
        g.writeEndObject();
    }

    public static void stat(JsonGenerator g, StatValue s) throws IOException {
        if (s == null) {
            g.writeNull();
            return;
        }
        g.writeStartObject();
        g.writeStringField("type", s.typeName());
        g.writeFieldName("value");
        if (s instanceof StatValue.Int i) {
            g.writeNumber(i.value());
        } else if (s instanceof StatValue.UInt u) {
            g.writeNumber(unsigned(u.value()));
        } else if (s instanceof StatValue.Float x) {
            number(g, x.value());
        } else if (s instanceof StatValue.Bytes b) {
            g.writeString(hex(b.value()));
        } else {
            g.writeNumber(((StatValue.TimestampNs) s).value());
        }
        g.writeEndObject();
    }

    static void stats(JsonGenerator g, ArrayStats s) throws IOException {
        if (s == null) {
            g.writeNull();
            return;
        }
        g.writeStartObject();
        g.writeFieldName("min");
        stat(g, s.min());
        g.writeFieldName("max");
        stat(g, s.max());
        g.writeFieldName("null_count");
        g.writeNumber(unsigned(s.nullCount()));
        g.writeFieldName("row_count");
        g.writeNumber(unsigned(s.rowCount()));
        g.writeEndObject();
    }

    /**
     * The type name of a dataset attribute: the name of the dtype its value has ({@code Bool},
     * {@code Int64}, {@code Float64}, {@code String}, {@code TimestampNs}), the same vocabulary as
     * every {@code dtype} field, {@code X-Atlas-DType} and array attributes.
     */
    static String typeName(Attr a) {
        DType d;
        if (a instanceof Attr.Bool) {
            d = DType.BOOL;
        } else if (a instanceof Attr.Int64) {
            d = DType.INT64;
        } else if (a instanceof Attr.Float64) {
            d = DType.FLOAT64;
        } else if (a instanceof Attr.Str) {
            d = DType.STRING;
        } else {
            d = DType.TIMESTAMP_NS;
        }
        return d.toString();
    }

    /** A dataset attribute as {@code {"type": typeName(a), "value": ...}} (timestamps as integer nanoseconds). */
    static void attr(JsonGenerator g, Attr a) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", typeName(a));
        if (a instanceof Attr.Bool b) {
            g.writeBooleanField("value", b.value());
        } else if (a instanceof Attr.Int64 i) {
            g.writeNumberField("value", i.value());
        } else if (a instanceof Attr.Float64 f) {
            g.writeFieldName("value");
            number(g, f.value());
        } else if (a instanceof Attr.Str s) {
            g.writeStringField("value", s.value());
        } else {
            g.writeNumberField("value", ((Attr.Timestamp) a).nanos());
        }
        g.writeEndObject();
    }

    static void attrs(JsonGenerator g, String field, Map<String, Attr> attrs) throws IOException {
        g.writeObjectFieldStart(field);
        for (Map.Entry<String, Attr> e : attrs.entrySet()) {
            g.writeFieldName(e.getKey());
            attr(g, e.getValue());
        }
        g.writeEndObject();
    }

    public static void attribute(JsonGenerator g, AttributeValue v) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", v.kind().displayName());
        g.writeFieldName("value");
        plainValue(g, v);
        g.writeEndObject();
    }

    /** An attribute's value as plain JSON: scalars, lists as arrays, binary as hex (no type tag). */
    @SuppressWarnings("unchecked")
    static void plainValue(JsonGenerator g, AttributeValue v) throws IOException {
        switch (v.kind()) {
            case BOOL -> g.writeBoolean(v.asBool());
            case INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32 -> g.writeNumber(v.asLong());
            case UINT64 -> g.writeNumber(unsigned(v.asLong()));
            case FLOAT32 -> number(g, v.asFloat32());
            case FLOAT64 -> number(g, v.asDouble());
            case STRING -> g.writeString(v.asString());
            case BINARY -> g.writeString(hex(v.asBinary()));
            default -> {
                Object raw = v.listValue();
                g.writeStartArray();
                switch (v.kind()) {
                    case BOOL_LIST -> { for (boolean b : (boolean[]) raw) { g.writeBoolean(b); } }
                    case INT8_LIST -> { for (byte b : (byte[]) raw) { g.writeNumber(b); } }
                    case UINT8_LIST -> { for (byte b : (byte[]) raw) { g.writeNumber(b & 0xFF); } }
                    case INT16_LIST -> { for (short b : (short[]) raw) { g.writeNumber(b); } }
                    case UINT16_LIST -> { for (short b : (short[]) raw) { g.writeNumber(b & 0xFFFF); } }
                    case INT32_LIST -> { for (int b : (int[]) raw) { g.writeNumber(b); } }
                    case UINT32_LIST -> { for (int b : (int[]) raw) { g.writeNumber(b & 0xFFFF_FFFFL); } }
                    case INT64_LIST -> { for (long b : (long[]) raw) { g.writeNumber(b); } }
                    case UINT64_LIST -> { for (long b : (long[]) raw) { g.writeNumber(unsigned(b)); } }
                    case FLOAT32_LIST -> { for (float b : (float[]) raw) { number(g, b); } }
                    case FLOAT64_LIST -> { for (double b : (double[]) raw) { number(g, b); } }
                    case STRING_LIST -> { for (String s : (List<String>) raw) { g.writeString(s); } }
                    default -> { for (byte[] b : (List<byte[]>) raw) { g.writeString(hex(b)); } }
                }
                g.writeEndArray();
            }
        }
    }

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
