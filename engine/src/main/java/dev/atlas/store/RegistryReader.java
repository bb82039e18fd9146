package dev.atlas.store;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.io.JsonEOFException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.msgpack.jackson.dataformat.MessagePackFactory;
import org.msgpack.jackson.dataformat.MessagePackParser;

/**
 * Parses uncompressed registry bytes (JSON or MessagePack) into a {@link Registry}, as serde
 * reads the reference's {@code StoreMeta}: recursive descent over the token stream, one method per
 * serde type, unknown fields skipped. Every malformed input is a {@link CorruptFileException}
 * naming the key.
 */
final class RegistryReader {
    /** Nesting of list dtypes accepted on decode; real schemas nest once or twice. */
    static final int MAX_DTYPE_DEPTH = 64;

    private static final JsonFactory JSON = JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(RegistryCodec.MAX_REGISTRY_BYTES)
                    .maxNameLength(RegistryCodec.MAX_REGISTRY_BYTES)
                    .build())
            .build();
    private static final MessagePackFactory MSGPACK = new MessagePackFactory().setReuseResourceInParser(false);

    private final JsonParser p;
    private final String key;
    private final boolean json;

    /** Parses uncompressed registry bytes. */
    static Registry parse(byte[] raw, RegistryFormat format, String key) {
        try {
            if (format == RegistryFormat.MSGPACK) {
                MsgPackBounds.check(raw, key);
            }
            return parse(format == RegistryFormat.JSON ? JSON.createParser(raw) : MSGPACK.createParser(raw), key);
        } catch (IOException | RuntimeException e) {
            throw corrupt(key, e);
        }
    }

    /**
     * Parses the registry {@code in} yields: JSON as it streams (so a decompression bomb is cut
     * off by the stream's cap, never held whole); MessagePack gathered first, for its length check.
     * Does not close {@code in}.
     */
    static Registry parse(InputStream in, RegistryFormat format, String key) {
        try {
            return format == RegistryFormat.JSON ? parse(JSON.createParser(in), key) : parse(readAll(in), format, key);
        } catch (IOException | RuntimeException e) {
            throw corrupt(key, e);
        }
    }

    private static Registry parse(JsonParser parser, String key) {
        try (JsonParser p = parser) {
            Registry r = new RegistryReader(p, key, !(p instanceof MessagePackParser)).registry();
            if (hasMore(p)) {
                throw new CorruptFileException(key, "trailing data after the registry");
            }
            return r;
        } catch (IOException | RuntimeException e) {
            throw corrupt(key, e);
        }
    }

    /** {@code e} as the registry's corruption: itself when it is one already. */
    static CorruptFileException corrupt(String key, Exception e) {
        if (e instanceof CorruptFileException c) {
            return c;
        }
        return new CorruptFileException(key, "registry does not decode: " + e.getMessage(), e);
    }

    /** Everything {@code in} yields, gathered in pieces so that no buffer is grown by doubling. */
    private static byte[] readAll(InputStream in) throws IOException {
        List<byte[]> pieces = new ArrayList<>();
        long total = 0;
        while (true) {
            byte[] piece = in.readNBytes(1 << 20);
            if (piece.length == 0) {
                break;
            }
            pieces.add(piece);
            total += piece.length;
        }
        byte[] out = new byte[Math.toIntExact(total)];
        int at = 0;
        for (byte[] piece : pieces) {
            System.arraycopy(piece, 0, out, at, piece.length);
            at += piece.length;
        }
        return out;
    }

    /**
     * True when anything follows the root value. The MessagePack parser reports the end of input
     * after a complete root value with {@link JsonEOFException} rather than a null token.
     */
    private static boolean hasMore(JsonParser p) throws IOException {
        try {
            return p.nextToken() != null;
        } catch (JsonEOFException e) {
            if (p instanceof MessagePackParser) {
                return false;
            }
            throw e;
        }
    }

    /** A string attribute whose kind (Str or Timestamp) is settled once the whole dataset is read. */
    private record PendingString(String value) {
    }

    private RegistryReader(JsonParser p, String key, boolean json) {
        this.p = p;
        this.key = key;
        this.json = json;
    }

    private CorruptFileException corrupt(String problem) {
        return new CorruptFileException(key, problem);
    }

    private JsonToken next() throws IOException {
        JsonToken t = p.nextToken();
        if (t == null) {
            throw corrupt("registry ends early");
        }
        return t;
    }

    private void expect(JsonToken actual, JsonToken wanted, String what) {
        if (actual != wanted) {
            throw corrupt(what + ": expected " + describe(wanted) + ", found " + describe(actual));
        }
    }

    private static String describe(JsonToken t) {
        return switch (t) {
            case START_OBJECT -> "a map";
            case START_ARRAY -> "a sequence";
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a float";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            default -> t.toString();
        };
    }

    /** The name of the next field, or null at the end of the object. */
    private String nextField(String what) throws IOException {
        JsonToken t = next();
        if (t == JsonToken.END_OBJECT) {
            return null;
        }
        expect(t, JsonToken.FIELD_NAME, what);
        return string(p.currentName(), what);
    }

    private void duplicate(boolean seen, String field, String what) {
        if (seen) {
            throw corrupt(what + ": duplicate field '" + field + "'");
        }
    }

    /** Skips an unknown field's value (serde's default for structs). */
    private void skipValue() throws IOException {
        next();
        p.skipChildren();
    }

    /** Refuses lone surrogates (from {@code \ud800} escapes), which serde_json rejects. */
    private String string(String s, String what) {
        if (LoneSurrogates.indexIn(s) >= 0) {
            throw corrupt(what + ": string holds a lone surrogate");
        }
        return s;
    }

    private String readString(String what) throws IOException {
        expect(next(), JsonToken.VALUE_STRING, what);
        return string(p.getText(), what);
    }

    /** A non-negative integer up to {@code max}. */
    private long readUnsigned(long max, String what) throws IOException {
        expect(next(), JsonToken.VALUE_NUMBER_INT, what);
        if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
            BigInteger b = p.getBigIntegerValue();
            throw corrupt(what + ": " + b + " is out of range");
        }
        long v = p.getLongValue();
        if (v < 0 || v > max) {
            throw corrupt(what + ": " + v + " is out of range 0.." + max);
        }
        return v;
    }

    private StoreCodec readCodec(String what) throws IOException {
        String s = readString(what);
        try {
            return StoreCodec.parse(s);
        } catch (InvalidArgumentException e) {
            throw corrupt(what + ": unknown codec '" + s + "'");
        }
    }

    Registry registry() throws IOException {
        expect(next(), JsonToken.START_OBJECT, "registry");
        Long version = null;
        StoreCodec codec = null;
        LinkedHashMap<String, Registry.DatasetEntry> datasets = null;
        LinkedHashMap<String, Long> layers = null;
        LinkedHashMap<String, java.util.TreeSet<Long>> excluded = null;
        LinkedHashMap<String, Long> revisions = null;
        Long footerVersion = null;
        Long digest = null;
        String f;
        while ((f = nextField("registry")) != null) {
            switch (f) {
                case "version" -> version = field(version, f, "registry",
                        () -> readUnsigned(0xFFFF_FFFFL, "registry version"));
                case "codec" -> codec = field(codec, f, "registry", () -> readCodec("registry codec"));
                case "datasets" -> datasets = field(datasets, f, "registry", this::datasets);
                case "layers" -> layers = field(layers, f, "registry", this::layers);
                case "excluded_layers" -> excluded = field(excluded, f, "registry", () -> map("excluded_layers", name -> {
                    java.util.TreeSet<Long> set = new java.util.TreeSet<>();
                    for (long n : sizes("excluded layers of '" + name + "'")) {
                        set.add(n);
                    }
                    return set;
                }));
                case "revisions" -> revisions = field(revisions, f, "registry",
                        () -> map("revisions", name -> readUnsigned(Long.MAX_VALUE, "revision of '" + name + "'")));
                case "footer_version" -> {
                    duplicate(footerVersion != null, f, "registry");
                    footerVersion = readUnsigned(0xFFFF_FFFFL, "footer_version");
                    if (footerVersion != 4 && footerVersion != 5) {
                        throw corrupt("registry: footer_version " + footerVersion + " is not 4 or 5");
                    }
                }
                case RegistryWriter.CONTENT_DIGEST -> {
                    duplicate(digest != null, f, "registry");
                    digest = readUnsigned(0xFFFF_FFFFL, RegistryWriter.CONTENT_DIGEST);
                }
                default -> skipValue();
            }
        }
        if (version == null) {
            throw corrupt("registry: missing field 'version'");
        }
        if (datasets == null) {
            throw corrupt("registry: missing field 'datasets'");
        }
        Registry r = new Registry(version, codec == null ? StoreCodec.ZSTD : codec, datasets, layers);
        r.footerVersion = footerVersion == null ? null : footerVersion.intValue();
        r.excluded = excluded;
        r.revisions = revisions;
        if (digest != null) {
            checkDigest(r, digest);
        }
        return r;
    }

    /**
     * Fails when the content read does not have the digest written with it: bytes damaged in a way
     * that still parses (a flipped digit, a shortened name, a lost entry).
     */
    private void checkDigest(Registry r, long expected) {
        long actual;
        try {
            actual = RegistryWriter.digest(r);
        } catch (RuntimeException e) {
            throw corrupt("registry: its content cannot be re-encoded to check its digest: " + e.getMessage());
        }
        if (actual != expected) {
            throw corrupt("registry: content digest " + Long.toHexString(actual) + " does not match the recorded "
                    + RegistryWriter.CONTENT_DIGEST + " " + Long.toHexString(expected) + " (damaged bytes that still parse)");
        }
    }

    /** Reads one value. */
    @FunctionalInterface
    private interface Value<V> {
        V read() throws IOException;
    }

    /** A struct field's value, read once: {@code seen} non-null means the field came before (serde's duplicate field). */
    private <V> V field(V seen, String field, String what, Value<V> value) throws IOException {
        duplicate(seen != null, field, what);
        return value.read();
    }

    /** Reads the value of the map entry {@code name}. */
    @FunctionalInterface
    private interface EntryValue<V> {
        V read(String name) throws IOException;
    }

    /** A map (serde's IndexMap): keys in order, a repeated key replacing the value in place, as in 0.10. */
    private <V> LinkedHashMap<String, V> map(String what, EntryValue<V> value) throws IOException {
        expect(next(), JsonToken.START_OBJECT, what);
        LinkedHashMap<String, V> m = new LinkedHashMap<>();
        String name;
        while ((name = nextField(what)) != null) {
            m.put(name, value.read(name));
        }
        return m;
    }

    private LinkedHashMap<String, Long> layers() throws IOException {
        return map("layers", name -> readUnsigned(Long.MAX_VALUE, "layer pin of '" + name + "'"));
    }

    private LinkedHashMap<String, Registry.DatasetEntry> datasets() throws IOException {
        return map("datasets", this::dataset);
    }

    private Registry.DatasetEntry dataset(String name) throws IOException {
        String what = "dataset '" + name + "'";
        expect(next(), JsonToken.START_OBJECT, what);
        LinkedHashMap<String, ArraySchema> arrays = null;
        LinkedHashMap<String, Object> attributes = null;
        Set<String> strings = null;
        String f;
        while ((f = nextField(what)) != null) {
            switch (f) {
                case "arrays" -> arrays = field(arrays, f, what, () -> arrays(name));
                case "attributes" -> attributes = field(attributes, f, what, () -> attributes(name));
                case "string_attributes" -> strings = field(strings, f, what,
                        () -> new HashSet<>(names(what + " string_attributes")));
                default -> skipValue();
            }
        }
        LinkedHashMap<String, Attr> attrs = new LinkedHashMap<>();
        if (attributes != null) {
            for (Map.Entry<String, Object> e : attributes.entrySet()) {
                Object v = e.getValue();
                if (v instanceof PendingString s) {
                    Long ts = strings != null && strings.contains(e.getKey()) ? null : Rfc3339.parse(s.value());
                    attrs.put(e.getKey(), ts != null ? Attr.timestampNanos(ts) : Attr.of(s.value()));
                } else {
                    attrs.put(e.getKey(), (Attr) v);
                }
            }
        }
        return new Registry.DatasetEntry(arrays == null ? new LinkedHashMap<>() : arrays, attrs);
    }

    private LinkedHashMap<String, ArraySchema> arrays(String dataset) throws IOException {
        return map("dataset '" + dataset + "' arrays", name -> schema("dataset '" + dataset + "' array '" + name + "'"));
    }

    private ArraySchema schema(String what) throws IOException {
        expect(next(), JsonToken.START_OBJECT, what);
        DType dtype = null;
        long[] shape = null;
        long[] chunks = null;
        List<String> dims = null;
        StoreCodec codec = null;
        String f;
        while ((f = nextField(what)) != null) {
            switch (f) {
                case "dtype" -> dtype = field(dtype, f, what, () -> dtype(what + " dtype", 0));
                case "shape" -> shape = field(shape, f, what, () -> sizes(what + " shape"));
                case "chunk_shape" -> chunks = field(chunks, f, what, () -> sizes(what + " chunk_shape"));
                case "dimension_names" -> dims = field(dims, f, what, () -> names(what + " dimension_names"));
                case "codec" -> codec = field(codec, f, what, () -> readCodec(what + " codec"));
                default -> skipValue();
            }
        }
        if (dtype == null || shape == null || chunks == null || dims == null || codec == null) {
            String missing = dtype == null ? "dtype" : shape == null ? "shape" : chunks == null ? "chunk_shape"
                    : dims == null ? "dimension_names" : "codec";
            throw corrupt(what + ": missing field '" + missing + "'");
        }
        return new ArraySchema(dtype, shape, chunks, dims, codec);
    }

    private long[] sizes(String what) throws IOException {
        expect(next(), JsonToken.START_ARRAY, what);
        long[] v = new long[4];
        int n = 0;
        JsonToken t;
        while ((t = next()) != JsonToken.END_ARRAY) {
            expect(t, JsonToken.VALUE_NUMBER_INT, what);
            if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER || p.getLongValue() < 0) {
                throw corrupt(what + ": " + p.getText() + " is not a size");
            }
            if (n == v.length) {
                v = Arrays.copyOf(v, n * 2);
            }
            v[n++] = p.getLongValue();
        }
        return Arrays.copyOf(v, n);
    }

    private List<String> names(String what) throws IOException {
        expect(next(), JsonToken.START_ARRAY, what);
        List<String> v = new ArrayList<>();
        JsonToken t;
        while ((t = next()) != JsonToken.END_ARRAY) {
            expect(t, JsonToken.VALUE_STRING, what);
            v.add(string(p.getText(), what));
        }
        return v;
    }

    /** {@code {"type": tag, "args"?: {"child": dtype, "size"?: u32}}}, fields in any order. */
    private DType dtype(String what, int depth) throws IOException {
        if (depth > MAX_DTYPE_DEPTH) {
            throw corrupt(what + ": list dtypes nested deeper than " + MAX_DTYPE_DEPTH);
        }
        expect(next(), JsonToken.START_OBJECT, what);
        String tag = null;
        boolean argsSeen = false;
        DType child = null;
        Long size = null;
        String f;
        while ((f = nextField(what)) != null) {
            switch (f) {
                case "type" -> tag = field(tag, f, what, () -> readString(what + " type"));
                case "args" -> {
                    duplicate(argsSeen, f, what);
                    argsSeen = true;
                    JsonToken t = next();
                    if (t == JsonToken.VALUE_NULL) {
                        break;
                    }
                    expect(t, JsonToken.START_OBJECT, what + " args");
                    String g;
                    while ((g = nextField(what + " args")) != null) {
                        switch (g) {
                            case "child" -> child = field(child, g, what + " args",
                                    () -> dtype(what + " child", depth + 1));
                            case "size" -> size = field(size, g, what + " args",
                                    () -> readUnsigned(0xFFFF_FFFFL, what + " size"));
                            default -> skipValue();
                        }
                    }
                    if (child == null) {
                        throw corrupt(what + " args: missing field 'child'");
                    }
                }
                default -> skipValue();
            }
        }
        if (tag == null) {
            throw corrupt(what + ": missing field 'type'");
        }
        DType.Kind kind = DTypeTag.kindOf(tag);
        if (kind == null) {
            throw corrupt(what + ": unknown dtype '" + tag + "'");
        }
        if (kind == DType.Kind.FIXED_SIZE_LIST) {
            if (child == null || size == null) {
                throw corrupt(what + ": fixed_size_list needs args child and size");
            }
            return DType.fixedSizeList(child, size);
        }
        if (kind == DType.Kind.LIST) {
            if (child == null) {
                throw corrupt(what + ": list needs args child");
            }
            return DType.list(child);
        }
        if (child != null) {
            throw corrupt(what + ": " + tag + " takes no args");
        }
        return DType.of(kind);
    }

    /** Values are Attr, or PendingString until the dataset's string_attributes are known. */
    private LinkedHashMap<String, Object> attributes(String dataset) throws IOException {
        return map("dataset '" + dataset + "' attributes",
                name -> attribute("dataset '" + dataset + "' attribute '" + name + "'"));
    }

    /** 0.10's untagged order: Bool, Timestamp and String (settled later), Int64, Float64. */
    private Object attribute(String what) throws IOException {
        JsonToken t = next();
        switch (t) {
            case VALUE_TRUE:
                return Attr.of(true);
            case VALUE_FALSE:
                return Attr.of(false);
            case VALUE_STRING:
                return new PendingString(string(p.getText(), what));
            case VALUE_NUMBER_INT:
                if (json && "-0".equals(p.getText())) {
                    return Attr.of(-0.0); // serde_json reads -0 as the float -0.0
                }
                if (p.getNumberType() == JsonParser.NumberType.BIG_INTEGER) {
                    throw corrupt(what + ": integer " + p.getText() + " is outside the Int64 range");
                }
                return Attr.of(p.getLongValue());
            case VALUE_NUMBER_FLOAT: {
                double d = p.getDoubleValue();
                if (json && !Double.isFinite(d)) {
                    throw corrupt(what + ": number " + p.getText() + " is out of the Float64 range");
                }
                return Attr.of(d);
            }
            default:
                throw corrupt(what + ": expected a boolean, string, integer or float, found " + describe(t));
        }
    }
}
