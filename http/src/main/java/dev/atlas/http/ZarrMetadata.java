package dev.atlas.http;

import com.fasterxml.jackson.core.JsonGenerator;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.internal.format.Fill;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.Attr;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Zarr metadata documents of Atlas datasets and arrays: a dataset is a Zarr group (its
 * attributes the group's), each of its arrays with a Zarr form (below) a Zarr array whose chunk grid
 * is the array's own.
 *
 * <table>
 * <caption>dtypes</caption>
 * <tr><th>Atlas</th><th>Zarr v2 {@code dtype}</th><th>Zarr v3 {@code data_type}</th></tr>
 * <tr><td>Bool</td><td>{@code |b1}</td><td>{@code bool}</td></tr>
 * <tr><td>Int8..Int64</td><td>{@code |i1 <i2 <i4 <i8}</td><td>{@code int8..int64}</td></tr>
 * <tr><td>UInt8..UInt64</td><td>{@code |u1 <u2 <u4 <u8}</td><td>{@code uint8..uint64}</td></tr>
 * <tr><td>Float32, Float64</td><td>{@code <f4 <f8}</td><td>{@code float32 float64}</td></tr>
 * <tr><td>TimestampNs</td><td>{@code <M8[ns]} (numpy datetime64[ns])</td><td>{@code int64}, attribute
 *     {@code units: "nanoseconds since 1970-01-01"}</td></tr>
 * <tr><td>String</td><td>{@code |O}, filter {@code vlen-utf8}</td><td rowspan="2">not served: Zarr v3 has no
 *     variable-length type that zarr-java 0.0.9 reads (its data types are bool and numbers); such arrays are
 *     left out of the v3 group, listed with the reason in its attribute {@value #OMITTED}, their keys 404</td></tr>
 * <tr><td>Binary</td><td>{@code |O}, filter {@code vlen-bytes}</td></tr>
 * </table>
 *
 * <p>Variable-length chunks (String, Binary) are numcodecs' {@code VLenUTF8} / {@code VLenBytes}
 * encoding: the item count of the full chunk shape (int32 LE), then per item its byte length
 * (int32 LE) and bytes; cells beyond the array's edge, like unwritten ones, are empty. Their
 * {@code fill_value} is null (an empty string is a value, not a missing one).
 *
 * <p>Fill value: the element that unwritten cells of the array read as (the declared fill
 * converted to the dtype by the engine's rules, zero when none is declared), in Zarr's JSON form:
 * floats as numbers or {@code "NaN"}, {@code "Infinity"}, {@code "-Infinity"}, integers as
 * numbers (UInt64 over its full range), Bool as {@code true}/{@code false}.
 *
 * <p>Dimension names ({@code _ARRAY_DIMENSIONS} in v2, {@code dimension_names} in v3): the names
 * the array was defined with. The engine records {@code dim{i}} for axis {@code i} of an array
 * defined without names; that placeholder (and an empty name) is served as
 * {@code {array}_dim{i}}, so that two arrays never claim one name for dimensions of different
 * lengths (xarray refuses such a group).
 *
 * <p>Attributes as plain JSON: numbers, strings, booleans, lists as arrays; NaN and infinities as
 * the strings above; binary values as lowercase hex; dataset timestamps as ISO-8601 UTC strings.
 */
final class ZarrMetadata {
    /** Key of the v2 attributes listing the dimension names (xarray's convention). */
    static final String ARRAY_DIMENSIONS = "_ARRAY_DIMENSIONS";

    private ZarrMetadata() {
    }

    /** One array as its Zarr documents describe it: schema (from the registry), fill and attributes (from its file set). */
    record ZArray(String name, ArraySchema schema, FillValue fill, Map<String, AttributeValue> attributes) {
        DType dtype() {
            return schema.dtype();
        }
    }

    /** Attribute of a v3 group listing the arrays left out of it, each with the reason. */
    static final String OMITTED = "atlas_omitted_arrays";

    /** Whether arrays of {@code dtype} are served as Zarr arrays in the v2 ({@code v3} false) or v3 view. */
    static boolean served(DType dtype, boolean v3) {
        return (v3 ? v3Dtype(dtype) : v2Dtype(dtype)) != null;
    }

    /** Why arrays of {@code dtype} are not in the v3 view (null when they are). */
    static String notInV3(DType dtype) {
        return served(dtype, true) ? null : dtype + " arrays have no Zarr v3 form that zarr-java 0.0.9 reads (no string or"
                + " variable-length type); read them through /zarr/v2 (vlen) or the binary endpoint (format=json)";
    }

    /** Whether {@code dtype} has variable-length elements (served as numcodecs vlen object arrays in v2). */
    static boolean variableLength(DType dtype) {
        return dtype.kind() == DType.Kind.STRING || dtype.kind() == DType.Kind.BINARY;
    }

    /** The numpy type string of {@code dtype} (little-endian), or null when not served. */
    static String v2Dtype(DType dtype) {
        return switch (dtype.kind()) {
            case BOOL -> "|b1";
            case INT8 -> "|i1";
            case INT16 -> "<i2";
            case INT32 -> "<i4";
            case INT64 -> "<i8";
            case UINT8 -> "|u1";
            case UINT16 -> "<u2";
            case UINT32 -> "<u4";
            case UINT64 -> "<u8";
            case FLOAT32 -> "<f4";
            case FLOAT64 -> "<f8";
            case TIMESTAMP_NS -> "<M8[ns]";
            case STRING, BINARY -> "|O";
            default -> null;
        };
    }

    /** The Zarr v3 data type name of {@code dtype}, or null when not served. */
    static String v3Dtype(DType dtype) {
        return switch (dtype.kind()) {
            case BOOL -> "bool";
            case INT8 -> "int8";
            case INT16 -> "int16";
            case INT32 -> "int32";
            case INT64, TIMESTAMP_NS -> "int64";
            case UINT8 -> "uint8";
            case UINT16 -> "uint16";
            case UINT32 -> "uint32";
            case UINT64 -> "uint64";
            case FLOAT32 -> "float32";
            case FLOAT64 -> "float64";
            default -> null;
        };
    }

    /** The chunk shape Zarr sees: the array's, with every extent at least 1 (Zarr forbids empty chunks). */
    static long[] chunks(ArraySchema s) {
        long[] c = s.chunkShape();
        for (int i = 0; i < c.length; i++) {
            c[i] = Math.max(1, c[i]);
        }
        return c;
    }

    /** The dimension names of {@code array}: as defined, {@code {array}_dim{i}} where none was given (see the class comment). */
    static List<String> dimensionNames(String array, ArraySchema s) {
        List<String> given = s.dimensionNames();
        List<String> out = new ArrayList<>(s.rank());
        for (int i = 0; i < s.rank(); i++) {
            String n = given.size() == s.rank() ? given.get(i) : null;
            boolean placeholder = n == null || n.isEmpty() || n.equals("dim" + i);
            out.add(placeholder ? array + "_dim" + i : n);
        }
        return out;
    }

    /**
     * The arrays of one group (a dataset) with the dimension names their Zarr documents give
     * ({@link #dimensionNames}), made unambiguous for xarray, which refuses a whole group when one
     * dimension name stands for two lengths. That happens to a NetCDF-4 file with groups: the
     * importer flattens group {@code model} to arrays named {@code model.area}, but each group may
     * define its own dimension {@code level}. A name with one length stays as it is. Where a name
     * has several, each use of it becomes the nearest coordinate variable (a 1-D array of that
     * length) named like it up the array's group path ({@code model.detail.level}, then
     * {@code model.level}, then {@code level}), or, with none, {@code level_LENGTH}. The result is
     * the same for every request of a commit (documents of one array and the consolidated ones
     * agree).
     */
    static Map<String, ArraySchema> withGroupDimensions(Map<String, ArraySchema> arrays) {
        Map<String, List<String>> dims = new LinkedHashMap<>();
        Map<String, Set<Long>> lengths = new HashMap<>();
        arrays.forEach((a, s) -> {
            List<String> d = dimensionNames(a, s);
            dims.put(a, d);
            for (int i = 0; i < d.size(); i++) {
                lengths.computeIfAbsent(d.get(i), k -> new HashSet<>()).add(s.shape()[i]);
            }
        });
        if (lengths.values().stream().allMatch(l -> l.size() == 1)) {
            return arrays;
        }
        Map<String, ArraySchema> out = new LinkedHashMap<>();
        arrays.forEach((a, s) -> {
            List<String> d = new ArrayList<>(dims.get(a));
            boolean changed = false;
            for (int i = 0; i < d.size(); i++) {
                if (lengths.get(d.get(i)).size() > 1) {
                    d.set(i, unambiguous(a, d.get(i), s.shape()[i], arrays));
                    changed = true;
                }
            }
            out.put(a, changed ? new ArraySchema(s.dtype(), s.shape(), s.chunkShape(), List.copyOf(d), s.codec()) : s);
        });
        return out;
    }

    /** The name dimension {@code dim} (of length {@code length}) of {@code array} takes when its plain name is ambiguous. */
    private static String unambiguous(String array, String dim, long length, Map<String, ArraySchema> arrays) {
        String group = array;
        while (true) {
            int dot = group.lastIndexOf('.');
            group = dot < 0 ? "" : group.substring(0, dot);
            String candidate = group.isEmpty() ? dim : group + "." + dim;
            ArraySchema c = arrays.get(candidate);
            if (c != null && c.rank() == 1 && c.shape()[0] == length) {
                return candidate;
            }
            if (group.isEmpty()) {
                return dim + "_" + length;
            }
        }
    }

    /** The little-endian bytes of one fill element of {@code a} (what its unwritten cells read as). */
    static byte[] fillElement(ZArray a) {
        return Fill.element(a.dtype(), a.fill());
    }

    /** The fill value of {@code a} in Zarr's JSON form (the same in v2 and v3). */
    static void fillValue(JsonGenerator g, ZArray a) throws IOException {
        DType dtype = a.dtype();
        long bits = Fill.elementBits(dtype, a.fill());
        switch (dtype.kind()) {
            case BOOL -> g.writeBoolean(bits != 0);
            case FLOAT32 -> Json.number(g, Float.intBitsToFloat((int) bits));
            case FLOAT64 -> Json.number(g, Double.longBitsToDouble(bits));
            case UINT64 -> g.writeNumber(Json.unsigned(bits));
            default -> g.writeNumber(bits);   // other integers arrive zero- or sign-extended; timestamps as ns
        }
    }

    // ------------------------------------------------------------------ v2

    /** {@code .zgroup}. */
    static void v2Group(JsonGenerator g) throws IOException {
        g.writeStartObject();
        g.writeNumberField("zarr_format", 2);
        g.writeEndObject();
    }

    /** {@code {array}/.zarray}: raw little-endian C-order chunks, or zstd-compressed ones when {@code zstdLevel > 0}. */
    static void v2Array(JsonGenerator g, ZArray a, int zstdLevel) throws IOException {
        ArraySchema s = a.schema();
        g.writeStartObject();
        g.writeNumberField("zarr_format", 2);
        Json.longs(g, "shape", s.shape());
        Json.longs(g, "chunks", chunks(s));
        g.writeStringField("dtype", v2Dtype(a.dtype()));
        if (zstdLevel > 0) {
            g.writeObjectFieldStart("compressor");
            g.writeStringField("id", "zstd");
            g.writeNumberField("level", zstdLevel);
            g.writeEndObject();
        } else {
            g.writeNullField("compressor");
        }
        g.writeFieldName("fill_value");
        if (variableLength(a.dtype())) {
            g.writeNull();
        } else {
            fillValue(g, a);
        }
        g.writeStringField("order", "C");
        if (variableLength(a.dtype())) {
            g.writeArrayFieldStart("filters");
            g.writeStartObject();
            g.writeStringField("id", a.dtype().kind() == DType.Kind.STRING ? "vlen-utf8" : "vlen-bytes");
            g.writeEndObject();
            g.writeEndArray();
        } else {
            g.writeNullField("filters");
        }
        g.writeStringField("dimension_separator", ".");
        g.writeEndObject();
    }

    /** {@code {array}/.zattrs}: the array's attributes and {@code _ARRAY_DIMENSIONS}. */
    static void v2ArrayAttrs(JsonGenerator g, ZArray a) throws IOException {
        g.writeStartObject();
        arrayAttributes(g, a);
        Json.strings(g, ARRAY_DIMENSIONS, dimensionNames(a.name(), a.schema()));
        g.writeEndObject();
    }

    /** The array's own attributes as fields of the object {@code g} is in (a timestamp array says its unit). */
    private static void arrayAttributes(JsonGenerator g, ZArray a) throws IOException {
        for (Map.Entry<String, AttributeValue> e : a.attributes().entrySet()) {
            if (e.getKey().equals(ARRAY_DIMENSIONS)) {
                continue;                                  // ours to say
            }
            g.writeFieldName(e.getKey());
            attribute(g, e.getValue());
        }
    }

    /** {@code .zattrs} of a group: the dataset's attributes, plain. */
    static void groupAttrs(JsonGenerator g, Map<String, Attr> attrs) throws IOException {
        g.writeStartObject();
        groupAttrFields(g, attrs);
        g.writeEndObject();
    }

    private static void groupAttrFields(JsonGenerator g, Map<String, Attr> attrs) throws IOException {
        for (Map.Entry<String, Attr> e : attrs.entrySet()) {
            g.writeFieldName(e.getKey());
            Attr v = e.getValue();
            if (v instanceof Attr.Bool b) {
                g.writeBoolean(b.value());
            } else if (v instanceof Attr.Int64 i) {
                g.writeNumber(i.value());
            } else if (v instanceof Attr.Float64 f) {
                Json.number(g, f.value());
            } else if (v instanceof Attr.Str s) {
                g.writeString(s.value());
            } else {
                long ns = ((Attr.Timestamp) v).nanos();
                g.writeString(Instant.ofEpochSecond(Math.floorDiv(ns, 1_000_000_000L), Math.floorMod(ns, 1_000_000_000L))
                        .toString());
            }
        }
    }

    /**
     * {@code .zmetadata}: the consolidated metadata of a group (zarr-python's
     * {@code zarr_consolidated_format} 1): the group's {@code .zgroup} and {@code .zattrs}, and each
     * served array's {@code .zarray} and {@code .zattrs}.
     */
    static byte[] v2Consolidated(Map<String, Attr> groupAttrs, List<ZArray> arrays, int zstdLevel) {
        return v2Consolidated(groupAttrs, arrays, zstdLevel, null);
    }

    /** As above, with the entries {@code extra} writes (or null) after the arrays'. */
    static byte[] v2Consolidated(Map<String, Attr> groupAttrs, List<ZArray> arrays, int zstdLevel, Json.Body extra) {
        return Json.renderAscii(g -> {
            g.writeStartObject();
            g.writeObjectFieldStart("metadata");
            g.writeFieldName(".zgroup");
            v2Group(g);
            g.writeFieldName(".zattrs");
            groupAttrs(g, groupAttrs);
            for (ZArray a : arrays) {
                g.writeFieldName(a.name() + "/.zarray");
                v2Array(g, a, zstdLevel);
                g.writeFieldName(a.name() + "/.zattrs");
                v2ArrayAttrs(g, a);
            }
            if (extra != null) {
                extra.write(g);
            }
            g.writeEndObject();
            g.writeNumberField("zarr_consolidated_format", 1);
            g.writeEndObject();
        });
    }

    /**
     * {@code .zarray} of a 1-D array of names (a stack's coordinate): numpy fixed-width unicode
     * {@code <U{width}} (UTF-32LE code points, zero-padded), one chunk.
     */
    static void v2NamesArray(JsonGenerator g, int count, int width) throws IOException {
        g.writeStartObject();
        g.writeNumberField("zarr_format", 2);
        Json.longs(g, "shape", new long[] {count});
        Json.longs(g, "chunks", new long[] {Math.max(1, count)});
        g.writeStringField("dtype", "<U" + Math.max(1, width));
        g.writeNullField("compressor");
        g.writeStringField("fill_value", "");
        g.writeStringField("order", "C");
        g.writeNullField("filters");
        g.writeStringField("dimension_separator", ".");
        g.writeEndObject();
    }

    /** The code-point width of {@link #v2NamesArray} for {@code names}. */
    static int namesWidth(List<String> names) {
        int w = 1;
        for (String n : names) {
            w = Math.max(w, n.codePointCount(0, n.length()));
        }
        return w;
    }

    /** The one chunk of {@link #v2NamesArray}: each name's code points as UTF-32LE, zero-padded to {@code width}. */
    static byte[] namesChunk(List<String> names, int width) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(Math.max(1, names.size()) * width * 4)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < names.size(); i++) {
            b.position(i * width * 4);
            names.get(i).codePoints().forEach(b::putInt);
        }
        return b.array();
    }

    // ------------------------------------------------------------------ v3

    /**
     * A v3 group's {@code zarr.json}: its attributes and, inline, every served array's
     * {@code zarr.json} ({@code consolidated_metadata}, since HTTP has no listing).
     */
    static byte[] v3Group(Map<String, Attr> groupAttrs, List<ZArray> arrays, int zstdLevel) {
        return v3Group(groupAttrs, arrays, zstdLevel, Map.of(), null);
    }

    /**
     * As above, with {@code omitted} (array name to the reason it is not in the view) listed in the
     * attribute {@value #OMITTED} when not empty, and the attribute fields {@code extra} writes (or null).
     */
    static byte[] v3Group(Map<String, Attr> groupAttrs, List<ZArray> arrays, int zstdLevel, Map<String, String> omitted,
            Json.Body extra) {
        return Json.renderAscii(g -> {
            g.writeStartObject();
            g.writeNumberField("zarr_format", 3);
            g.writeStringField("node_type", "group");
            g.writeObjectFieldStart("attributes");
            groupAttrFields(g, groupAttrs);
            if (!omitted.isEmpty() && !groupAttrs.containsKey(OMITTED)) {
                g.writeObjectFieldStart(OMITTED);
                for (Map.Entry<String, String> e : omitted.entrySet()) {
                    g.writeStringField(e.getKey(), e.getValue());
                }
                g.writeEndObject();
            }
            if (extra != null) {
                extra.write(g);
            }
            g.writeEndObject();
            g.writeObjectFieldStart("consolidated_metadata");
            g.writeStringField("kind", "inline");
            g.writeBooleanField("must_understand", false);
            g.writeObjectFieldStart("metadata");
            for (ZArray a : arrays) {
                g.writeFieldName(a.name());
                v3Array(g, a, zstdLevel);
            }
            g.writeEndObject();
            g.writeEndObject();
            g.writeEndObject();
        });
    }

    /** A v3 array's {@code zarr.json}: chunk keys {@code c.i.j.k}, codecs {@code bytes} little-endian (then zstd when {@code zstdLevel > 0}). */
    static void v3Array(JsonGenerator g, ZArray a, int zstdLevel) throws IOException {
        ArraySchema s = a.schema();
        g.writeStartObject();
        g.writeNumberField("zarr_format", 3);
        g.writeStringField("node_type", "array");
        Json.longs(g, "shape", s.shape());
        g.writeStringField("data_type", v3Dtype(a.dtype()));
        g.writeObjectFieldStart("chunk_grid");
        g.writeStringField("name", "regular");
        g.writeObjectFieldStart("configuration");
        Json.longs(g, "chunk_shape", chunks(s));
        g.writeEndObject();
        g.writeEndObject();
        g.writeObjectFieldStart("chunk_key_encoding");
        g.writeStringField("name", "default");
        g.writeObjectFieldStart("configuration");
        g.writeStringField("separator", ".");
        g.writeEndObject();
        g.writeEndObject();
        g.writeFieldName("fill_value");
        fillValue(g, a);
        g.writeArrayFieldStart("codecs");
        g.writeStartObject();
        g.writeStringField("name", "bytes");
        g.writeObjectFieldStart("configuration");
        g.writeStringField("endian", "little");
        g.writeEndObject();
        g.writeEndObject();
        if (zstdLevel > 0) {
            g.writeStartObject();
            g.writeStringField("name", "zstd");
            g.writeObjectFieldStart("configuration");
            g.writeNumberField("level", zstdLevel);
            g.writeBooleanField("checksum", false);
            g.writeEndObject();
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeObjectFieldStart("attributes");
        arrayAttributes(g, a);
        if (a.dtype().kind() == DType.Kind.TIMESTAMP_NS && !a.attributes().containsKey("units")) {
            g.writeStringField("units", "nanoseconds since 1970-01-01");
        }
        g.writeEndObject();
        Json.strings(g, "dimension_names", dimensionNames(a.name(), s));
        g.writeEndObject();
    }

    /** One array attribute as plain JSON (scalars, lists as arrays, binary as hex). */
    static void attribute(JsonGenerator g, AttributeValue v) throws IOException {
        Json.plainValue(g, v);
    }
}
