package dev.atlas.store;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.PrettyPrinter;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.io.JsonEOFException;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.github.luben.zstd.ZstdInputStream;
import com.github.luben.zstd.ZstdOutputStream;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
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
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;
import org.msgpack.jackson.dataformat.MessagePackFactory;
import org.msgpack.jackson.dataformat.MessagePackParser;

/**
 * Encodes and decodes the registry file ({@code atlas.json}, {@code atlas.msgpack}, each raw,
 * {@code .zst} or {@code .lz4}), byte-compatible with atlas-rust 0.10: serde_json's pretty printer
 * for JSON, rmp_serde's named maps for MessagePack, a standard zstd frame, lz4_flex's
 * size-prepended block. Two fields are ours and ignored by 0.10 (serde skips unknown fields):
 * top-level {@code layers} and {@code footer_version}, and per-dataset {@code string_attributes}; see
 * {@code FORMAT.md}.
 *
 * <p>Decoding maps every malformed input to {@link CorruptFileException} naming the key, and never
 * materialises more than {@link #MAX_REGISTRY_BYTES} decoded bytes.
 */
final class RegistryCodec {
    /**
     * Largest decoded (uncompressed) registry accepted, and written: 1 GiB is several million
     * array schemas, far beyond any store we expect, and keeps a hostile size field from
     * exhausting the heap (a Java array cannot exceed 2 GiB anyway).
     */
    static final int MAX_REGISTRY_BYTES = 1 << 30;
    /** zstd level of new registry frames: the reference's {@code encode_all(_, 0)} means level 3. */
    static final int ZSTD_LEVEL = 3;
    /**
     * An LZ4 block expands at most about 255 times (each extra length byte adds 255 bytes), so an
     * lz4 size prefix above {@code 255 * payload + 16} is a lie and is refused before allocating.
     */
    static final long LZ4_MAX_RATIO = 255;
    /** Nesting of list dtypes accepted on decode; real schemas nest once or twice. */
    static final int MAX_DTYPE_DEPTH = 64;

    private static final JsonFactory JSON = JsonFactory.builder()
            .disable(JsonWriteFeature.WRITE_HEX_UPPER_CASE) // serde_json writes \u001f, not \u001F
            .streamReadConstraints(StreamReadConstraints.builder()
                    .maxStringLength(MAX_REGISTRY_BYTES)
                    .maxNameLength(MAX_REGISTRY_BYTES)
                    .build())
            .build();
    private static final MessagePackFactory MSGPACK = new MessagePackFactory()
            .setReuseResourceInParser(false)
            .setReuseResourceInGenerator(false);

    private RegistryCodec() {
    }

    // ---------------------------------------------------------------------------------- encode

    /** Serializes and compresses {@code r} as {@code file}. */
    static byte[] encode(Registry r, RegistryFile file) {
        return compress(serialize(r, file.format()), file.compression());
    }

    /** The uncompressed bytes of {@code r} in {@code format}. */
    static byte[] serialize(Registry r, RegistryFormat format) {
        boolean json = format == RegistryFormat.JSON;
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        try (JsonGenerator g = json ? JSON.createGenerator(out, JsonEncoding.UTF8) : MSGPACK.createGenerator(out)) {
            if (json) {
                g.setPrettyPrinter(new SerdePrettyPrinter());
            }
            writeRegistry(g, r, json);
        } catch (IOException e) {
            throw new IllegalStateException("registry serialization failed: " + e.getMessage(), e);
        }
        if (out.size() > MAX_REGISTRY_BYTES) {
            throw new InvalidArgumentException("registry of " + out.size() + " bytes exceeds the maximum of "
                    + MAX_REGISTRY_BYTES + " bytes");
        }
        return out.toByteArray();
    }

    private static void writeRegistry(JsonGenerator g, Registry r, boolean json) throws IOException {
        if (r.version < 0 || r.version > 0xFFFF_FFFFL) {
            throw new InvalidArgumentException("registry version must be a u32: " + r.version);
        }
        g.writeStartObject();
        g.writeFieldName("version");
        g.writeNumber(r.version);
        g.writeFieldName("codec");
        g.writeString((r.codec == null ? StoreCodec.ZSTD : r.codec).serdeName());
        g.writeFieldName("datasets");
        g.writeStartObject();
        for (Map.Entry<String, Registry.DatasetEntry> d : r.datasets.entrySet()) {
            g.writeFieldName(text(d.getKey(), "dataset name"));
            writeDataset(g, d.getKey(), d.getValue(), json);
        }
        g.writeEndObject();
        if (r.layers != null) {
            g.writeFieldName("layers");
            g.writeStartObject();
            for (Map.Entry<String, Long> l : r.layers.entrySet()) {
                long v = l.getValue();
                if (v < 0) {
                    throw new InvalidArgumentException("layer pin of '" + l.getKey() + "' is negative: " + v);
                }
                g.writeFieldName(text(l.getKey(), "array name"));
                g.writeNumber(v);
            }
            g.writeEndObject();
        }
        if (r.footerVersion != null) {
            g.writeFieldName("footer_version");
            g.writeNumber(r.footerVersion.intValue());
        }
        g.writeEndObject();
    }

    private static void writeDataset(JsonGenerator g, String name, Registry.DatasetEntry d, boolean json)
            throws IOException {
        g.writeStartObject();
        g.writeFieldName("arrays");
        g.writeStartObject();
        for (Map.Entry<String, ArraySchema> a : d.arrays.entrySet()) {
            g.writeFieldName(text(a.getKey(), "array name"));
            writeSchema(g, a.getValue());
        }
        g.writeEndObject();
        g.writeFieldName("attributes");
        g.writeStartObject();
        List<String> strings = new ArrayList<>();
        for (Map.Entry<String, Attr> e : d.attributes.entrySet()) {
            g.writeFieldName(text(e.getKey(), "attribute key"));
            Attr v = e.getValue();
            if (v instanceof Attr.Bool b) {
                g.writeBoolean(b.value());
            } else if (v instanceof Attr.Int64 i) {
                g.writeNumber(i.value());
            } else if (v instanceof Attr.Float64 f) {
                if (!json) {
                    g.writeNumber(f.value());
                } else if (Double.isFinite(f.value())) {
                    g.writeNumber(SerdeFloat.format(f.value()));
                } else {
                    // serde_json would write null, which no reader (0.10's or ours) can decode.
                    throw new InvalidArgumentException("dataset '" + name + "' attribute '" + e.getKey() + "' is "
                            + f.value() + ": a JSON registry cannot hold a non-finite Float64 (MessagePack can)");
                }
            } else if (v instanceof Attr.Str s) {
                g.writeString(text(s.value(), "attribute value"));
                if (Rfc3339.parse(s.value()) != null) {
                    strings.add(e.getKey());
                }
            } else {
                g.writeString(Rfc3339.format(((Attr.Timestamp) v).nanos()));
            }
        }
        g.writeEndObject();
        if (!strings.isEmpty()) {
            g.writeFieldName("string_attributes");
            g.writeStartArray();
            for (String k : strings) {
                g.writeString(k);
            }
            g.writeEndArray();
        }
        g.writeEndObject();
    }

    private static void writeSchema(JsonGenerator g, ArraySchema s) throws IOException {
        g.writeStartObject();
        g.writeFieldName("dtype");
        writeDType(g, s.dtype());
        g.writeFieldName("shape");
        writeSizes(g, s.shape());
        g.writeFieldName("chunk_shape");
        writeSizes(g, s.chunkShape());
        g.writeFieldName("dimension_names");
        g.writeStartArray();
        for (String n : s.dimensionNames()) {
            g.writeString(text(n, "dimension name"));
        }
        g.writeEndArray();
        g.writeFieldName("codec");
        g.writeString(s.codec().serdeName());
        g.writeEndObject();
    }

    private static void writeSizes(JsonGenerator g, long[] v) throws IOException {
        g.writeStartArray();
        for (long x : v) {
            if (x < 0) {
                throw new InvalidArgumentException("negative size in a schema: " + x);
            }
            g.writeNumber(x);
        }
        g.writeEndArray();
    }

    private static void writeDType(JsonGenerator g, DType t) throws IOException {
        g.writeStartObject();
        g.writeFieldName("type");
        g.writeString(serdeTag(t.kind()));
        if (t.kind() == DType.Kind.FIXED_SIZE_LIST || t.kind() == DType.Kind.LIST) {
            g.writeFieldName("args");
            g.writeStartObject();
            g.writeFieldName("child");
            writeDType(g, t.child());
            if (t.kind() == DType.Kind.FIXED_SIZE_LIST) {
                g.writeFieldName("size");
                g.writeNumber(t.listSize());
            }
            g.writeEndObject();
        }
        g.writeEndObject();
    }

    /** serde's snake_case of the reference's variant names ({@code UInt8} is {@code u_int8}). */
    static String serdeTag(DType.Kind k) {
        return switch (k) {
            case BOOL -> "bool";
            case INT8 -> "int8";
            case INT16 -> "int16";
            case INT32 -> "int32";
            case INT64 -> "int64";
            case UINT8 -> "u_int8";
            case UINT16 -> "u_int16";
            case UINT32 -> "u_int32";
            case UINT64 -> "u_int64";
            case FLOAT32 -> "float32";
            case FLOAT64 -> "float64";
            case STRING -> "string";
            case BINARY -> "binary";
            case TIMESTAMP_NS -> "timestamp_nanoseconds";
            case FIXED_SIZE_LIST -> "fixed_size_list";
            case LIST -> "list";
        };
    }

    private static DType.Kind kindOfTag(String tag) {
        for (DType.Kind k : DType.Kind.values()) {
            if (serdeTag(k).equals(tag)) {
                return k;
            }
        }
        return null;
    }

    /** {@code s} unchanged; refuses lone surrogates, which have no UTF-8 form (Rust strings cannot hold them). */
    private static String text(String s, String what) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isSurrogate(c)) {
                if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else {
                    throw new InvalidArgumentException(what + " '" + s + "' holds a lone surrogate at index " + i);
                }
            }
        }
        return s;
    }

    /** Raw bytes wrapped per the registry's compression. */
    static byte[] compress(byte[] raw, StoreCodec compression) {
        return switch (compression) {
            case UNCOMPRESSED -> raw;
            case ZSTD -> {
                // Streamed like the reference's encode_all: no content size in the frame header,
                // which makes the frame byte-identical to 0.10's for the same input.
                ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length / 4 + 64);
                try (ZstdOutputStream z = new ZstdOutputStream(out, ZSTD_LEVEL)) {
                    z.write(raw);
                } catch (IOException e) {
                    throw new IllegalStateException("zstd compression failed: " + e.getMessage(), e);
                }
                yield out.toByteArray();
            }
            case LZ4 -> {
                LZ4Compressor c = Lz4.COMPRESSOR;
                int max = c.maxCompressedLength(raw.length);
                byte[] out = new byte[4 + max];
                int n = raw.length;
                out[0] = (byte) n;
                out[1] = (byte) (n >>> 8);
                out[2] = (byte) (n >>> 16);
                out[3] = (byte) (n >>> 24);
                int written = c.compress(raw, 0, n, out, 4, max);
                yield Arrays.copyOf(out, 4 + written);
            }
        };
    }

    /** lz4-java's JNI codecs when the native library loads, else its Java ones (safe decompressor only: limits.md). */
    private static final class Lz4 {
        static final LZ4Compressor COMPRESSOR;
        static final LZ4SafeDecompressor DECOMPRESSOR;

        static {
            LZ4Factory f;
            try {
                f = LZ4Factory.nativeInstance();
            } catch (Throwable t) {
                f = LZ4Factory.safeInstance();
            }
            COMPRESSOR = f.fastCompressor();
            DECOMPRESSOR = f.safeDecompressor();
        }
    }

    // ---------------------------------------------------------------------------------- decode

    /** Decompresses and parses a registry object; {@code key} names it in errors. */
    static Registry decode(byte[] bytes, RegistryFile file, String key) {
        return decode(bytes, file, key, MAX_REGISTRY_BYTES);
    }

    /**
     * {@link #decode(byte[], RegistryFile, String)} with another cap on the decoded size. A zstd
     * registry is parsed while it streams out of the decompressor, so a frame that expands beyond
     * the cap (a "bomb") is refused after {@code maxBytes} without ever being held in memory.
     */
    static Registry decode(byte[] bytes, RegistryFile file, String key, int maxBytes) {
        RegistryFormat format = file.format();
        return switch (file.compression()) {
            case UNCOMPRESSED -> {
                if (bytes.length > maxBytes) {
                    throw new CorruptFileException(key, "registry of " + bytes.length + " bytes exceeds the maximum of "
                            + maxBytes);
                }
                yield parse(bytes, format, key);
            }
            case LZ4 -> parse(unlz4(bytes, key, maxBytes), format, key);
            case ZSTD -> {
                try (InputStream in = new CappedInputStream(new ZstdInputStream(new ByteArrayInputStream(bytes)), key,
                        maxBytes)) {
                    // JSON parses as it streams; MessagePack is length-checked whole first (see checkMsgPack).
                    yield format == RegistryFormat.JSON ? parse(JSON.createParser(in), key)
                            : parse(readAll(in), format, key);
                } catch (IOException | RuntimeException e) {
                    throw corrupt(key, e);
                }
            }
        };
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

    private static CorruptFileException corrupt(String key, Exception e) {
        if (e instanceof CorruptFileException c) {
            return c;
        }
        return new CorruptFileException(key, "registry does not decode: " + e.getMessage(), e);
    }

    /** Fails with {@link CorruptFileException} once more than {@code max} bytes have been read. */
    private static final class CappedInputStream extends InputStream {
        private final InputStream in;
        private final String key;
        private final long max;
        private long count;

        CappedInputStream(InputStream in, String key, long max) {
            this.in = in;
            this.key = key;
            this.max = max;
        }

        private int counted(int n) {
            if (n > 0) {
                count += n;
                if (count > max) {
                    throw new CorruptFileException(key, "registry decompresses to more than the maximum of " + max
                            + " bytes");
                }
            }
            return n;
        }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) {
                counted(1);
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            return counted(in.read(b, off, len));
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** lz4_flex's size-prepended block: u32 LE uncompressed length, then one raw LZ4 block. */
    private static byte[] unlz4(byte[] bytes, String key, int maxBytes) {
        if (bytes.length < 4) {
            throw new CorruptFileException(key, "lz4 registry of " + bytes.length + " bytes has no size prefix");
        }
        long declared = (bytes[0] & 0xFFL) | (bytes[1] & 0xFFL) << 8 | (bytes[2] & 0xFFL) << 16 | (bytes[3] & 0xFFL) << 24;
        long payload = bytes.length - 4L;
        if (declared > maxBytes) {
            throw new CorruptFileException(key, "lz4 registry declares " + declared + " bytes, above the maximum of "
                    + maxBytes);
        }
        if (declared > payload * LZ4_MAX_RATIO + 16) {
            throw new CorruptFileException(key, "lz4 registry declares " + declared + " bytes, more than "
                    + payload + " compressed bytes can hold");
        }
        int size = (int) declared;
        byte[] out = new byte[size];
        int got;
        try {
            got = Lz4.DECOMPRESSOR.decompress(bytes, 4, (int) payload, out, 0, size);
        } catch (LZ4Exception | IndexOutOfBoundsException e) {
            throw new CorruptFileException(key, "lz4 registry does not decode: " + e.getMessage(), e);
        }
        if (got != size) {
            throw new CorruptFileException(key, "lz4 registry decodes to " + got + " bytes, its prefix says " + size);
        }
        return out;
    }

    /** Parses uncompressed registry bytes. */
    static Registry parse(byte[] raw, RegistryFormat format, String key) {
        try {
            if (format == RegistryFormat.MSGPACK) {
                checkMsgPack(raw, key);
            }
            return parse(format == RegistryFormat.JSON ? JSON.createParser(raw) : MSGPACK.createParser(raw), key);
        } catch (IOException | RuntimeException e) {
            throw corrupt(key, e);
        }
    }

    private static Registry parse(JsonParser parser, String key) {
        try (JsonParser p = parser) {
            Registry r = new Reader(p, key, !(p instanceof MessagePackParser)).registry();
            if (hasMore(p)) {
                throw new CorruptFileException(key, "trailing data after the registry");
            }
            return r;
        } catch (IOException | RuntimeException e) {
            throw corrupt(key, e);
        }
    }

    /**
     * Walks the MessagePack value structure without decoding it and checks that it is exactly one
     * value whose every string, binary and extension length fits in the bytes that follow its
     * header, and whose every array and map count could be backed by them. msgpack-core allocates a
     * declared length before reading it, so a 5-byte {@code str 32} header claiming 2 GiB would
     * otherwise exhaust the heap.
     */
    static void checkMsgPack(byte[] b, String key) {
        int pos = 0;
        long pending = 1;
        while (pending > 0) {
            if (pos >= b.length) {
                throw new CorruptFileException(key, "MessagePack registry ends early at byte " + pos);
            }
            int h = b[pos++] & 0xFF;
            pending--;
            long skip = 0;
            long children = 0;
            if (h <= 0x7F || h >= 0xE0) {
                skip = 0; // fixint
            } else if (h <= 0x8F) {
                children = 2L * (h & 0x0F);
            } else if (h <= 0x9F) {
                children = h & 0x0F;
            } else if (h <= 0xBF) {
                skip = h & 0x1F;
            } else {
                switch (h) {
                    case 0xC0, 0xC2, 0xC3 -> skip = 0;
                    case 0xC4, 0xD9 -> skip = uint(b, pos, 1, key);
                    case 0xC5, 0xDA -> skip = uint(b, pos, 2, key);
                    case 0xC6, 0xDB -> skip = uint(b, pos, 4, key);
                    case 0xC7 -> skip = uint(b, pos, 1, key) + 1;
                    case 0xC8 -> skip = uint(b, pos, 2, key) + 1;
                    case 0xC9 -> skip = uint(b, pos, 4, key) + 1;
                    case 0xCA, 0xCE, 0xD2 -> skip = 4;
                    case 0xCB, 0xCF, 0xD3 -> skip = 8;
                    case 0xCC, 0xD0 -> skip = 1;
                    case 0xCD, 0xD1 -> skip = 2;
                    case 0xD4 -> skip = 2;
                    case 0xD5 -> skip = 3;
                    case 0xD6 -> skip = 5;
                    case 0xD7 -> skip = 9;
                    case 0xD8 -> skip = 17;
                    case 0xDC -> children = uint(b, pos, 2, key);
                    case 0xDD -> children = uint(b, pos, 4, key);
                    case 0xDE -> children = 2 * uint(b, pos, 2, key);
                    case 0xDF -> children = 2 * uint(b, pos, 4, key);
                    default -> throw new CorruptFileException(key, "MessagePack registry has the unused byte 0xc1 at "
                            + (pos - 1));
                }
                pos += switch (h) {
                    case 0xC4, 0xD9, 0xC7 -> 1;
                    case 0xC5, 0xDA, 0xC8, 0xDC, 0xDE -> 2;
                    case 0xC6, 0xDB, 0xC9, 0xDD, 0xDF -> 4;
                    default -> 0;
                };
            }
            if (skip > b.length - pos) {
                throw new CorruptFileException(key, "MessagePack value at byte " + (pos - 1) + " claims " + skip
                        + " bytes, " + (b.length - pos) + " remain");
            }
            pos += (int) skip;
            pending += children;
            if (pending > b.length - pos) {
                throw new CorruptFileException(key, "MessagePack registry declares " + pending + " more values than its "
                        + (b.length - pos) + " remaining bytes can hold");
            }
        }
        if (pos != b.length) {
            throw new CorruptFileException(key, "trailing data after the registry at byte " + pos);
        }
    }

    private static long uint(byte[] b, int pos, int width, String key) {
        if (width > b.length - pos) {
            throw new CorruptFileException(key, "MessagePack registry ends early at byte " + pos);
        }
        long v = 0;
        for (int i = 0; i < width; i++) {
            v = v << 8 | (b[pos + i] & 0xFF);
        }
        return v;
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

    /** Recursive descent over the token stream, one method per serde type. */
    private static final class Reader {
        private final JsonParser p;
        private final String key;
        private final boolean json;

        Reader(JsonParser p, String key, boolean json) {
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
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                    i++;
                } else if (Character.isSurrogate(c)) {
                    throw corrupt(what + ": string holds a lone surrogate");
                }
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
            Long footerVersion = null;
            String f;
            while ((f = nextField("registry")) != null) {
                switch (f) {
                    case "version" -> {
                        duplicate(version != null, f, "registry");
                        version = readUnsigned(0xFFFF_FFFFL, "registry version");
                    }
                    case "codec" -> {
                        duplicate(codec != null, f, "registry");
                        codec = readCodec("registry codec");
                    }
                    case "datasets" -> {
                        duplicate(datasets != null, f, "registry");
                        datasets = datasets();
                    }
                    case "layers" -> {
                        duplicate(layers != null, f, "registry");
                        layers = layers();
                    }
                    case "footer_version" -> {
                        duplicate(footerVersion != null, f, "registry");
                        footerVersion = readUnsigned(0xFFFF_FFFFL, "footer_version");
                        if (footerVersion != 4 && footerVersion != 5) {
                            throw corrupt("registry: footer_version " + footerVersion + " is not 4 or 5");
                        }
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
            return r;
        }

        private LinkedHashMap<String, Long> layers() throws IOException {
            expect(next(), JsonToken.START_OBJECT, "layers");
            LinkedHashMap<String, Long> m = new LinkedHashMap<>();
            String name;
            while ((name = nextField("layers")) != null) {
                m.put(name, readUnsigned(Long.MAX_VALUE, "layer pin of '" + name + "'"));
            }
            return m;
        }

        private LinkedHashMap<String, Registry.DatasetEntry> datasets() throws IOException {
            expect(next(), JsonToken.START_OBJECT, "datasets");
            LinkedHashMap<String, Registry.DatasetEntry> m = new LinkedHashMap<>();
            String name;
            while ((name = nextField("datasets")) != null) {
                // A repeated map key replaces the value in place (IndexMap insert), as in 0.10.
                m.put(name, dataset(name));
            }
            return m;
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
                    case "arrays" -> {
                        duplicate(arrays != null, f, what);
                        arrays = arrays(name);
                    }
                    case "attributes" -> {
                        duplicate(attributes != null, f, what);
                        attributes = attributes(name);
                    }
                    case "string_attributes" -> {
                        duplicate(strings != null, f, what);
                        strings = stringKeys(what);
                    }
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

        private Set<String> stringKeys(String what) throws IOException {
            expect(next(), JsonToken.START_ARRAY, what + " string_attributes");
            Set<String> s = new HashSet<>();
            JsonToken t;
            while ((t = next()) != JsonToken.END_ARRAY) {
                expect(t, JsonToken.VALUE_STRING, what + " string_attributes");
                s.add(string(p.getText(), what));
            }
            return s;
        }

        private LinkedHashMap<String, ArraySchema> arrays(String dataset) throws IOException {
            String what = "dataset '" + dataset + "' arrays";
            expect(next(), JsonToken.START_OBJECT, what);
            LinkedHashMap<String, ArraySchema> m = new LinkedHashMap<>();
            String name;
            while ((name = nextField(what)) != null) {
                m.put(name, schema("dataset '" + dataset + "' array '" + name + "'"));
            }
            return m;
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
                    case "dtype" -> {
                        duplicate(dtype != null, f, what);
                        dtype = dtype(what + " dtype", 0);
                    }
                    case "shape" -> {
                        duplicate(shape != null, f, what);
                        shape = sizes(what + " shape");
                    }
                    case "chunk_shape" -> {
                        duplicate(chunks != null, f, what);
                        chunks = sizes(what + " chunk_shape");
                    }
                    case "dimension_names" -> {
                        duplicate(dims != null, f, what);
                        dims = names(what + " dimension_names");
                    }
                    case "codec" -> {
                        duplicate(codec != null, f, what);
                        codec = readCodec(what + " codec");
                    }
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
                    case "type" -> {
                        duplicate(tag != null, f, what);
                        tag = readString(what + " type");
                    }
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
                                case "child" -> {
                                    duplicate(child != null, g, what + " args");
                                    child = dtype(what + " child", depth + 1);
                                }
                                case "size" -> {
                                    duplicate(size != null, g, what + " args");
                                    size = readUnsigned(0xFFFF_FFFFL, what + " size");
                                }
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
            DType.Kind kind = kindOfTag(tag);
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
            String what = "dataset '" + dataset + "' attributes";
            expect(next(), JsonToken.START_OBJECT, what);
            LinkedHashMap<String, Object> m = new LinkedHashMap<>();
            String name;
            while ((name = nextField(what)) != null) {
                m.put(name, attribute("dataset '" + dataset + "' attribute '" + name + "'"));
            }
            return m;
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

    /**
     * serde_json's {@code PrettyFormatter}: two-space indent, {@code "key": value}, one array
     * element per line, {@code []} and {@code {}} when empty, no trailing newline.
     */
    private static final class SerdePrettyPrinter implements PrettyPrinter {
        private int depth;

        private void newline(JsonGenerator g) throws IOException {
            g.writeRaw('\n');
            for (int i = 0; i < depth; i++) {
                g.writeRaw("  ");
            }
        }

        @Override
        public void writeRootValueSeparator(JsonGenerator g) throws IOException {
        }

        @Override
        public void writeStartObject(JsonGenerator g) throws IOException {
            g.writeRaw('{');
            depth++;
        }

        @Override
        public void writeEndObject(JsonGenerator g, int entries) throws IOException {
            depth--;
            if (entries > 0) {
                newline(g);
            }
            g.writeRaw('}');
        }

        @Override
        public void writeObjectEntrySeparator(JsonGenerator g) throws IOException {
            g.writeRaw(',');
            newline(g);
        }

        @Override
        public void writeObjectFieldValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(": ");
        }

        @Override
        public void writeStartArray(JsonGenerator g) throws IOException {
            g.writeRaw('[');
            depth++;
        }

        @Override
        public void writeEndArray(JsonGenerator g, int values) throws IOException {
            depth--;
            if (values > 0) {
                newline(g);
            }
            g.writeRaw(']');
        }

        @Override
        public void writeArrayValueSeparator(JsonGenerator g) throws IOException {
            g.writeRaw(',');
            newline(g);
        }

        @Override
        public void beforeArrayValues(JsonGenerator g) throws IOException {
            newline(g);
        }

        @Override
        public void beforeObjectEntries(JsonGenerator g) throws IOException {
            newline(g);
        }
    }
}
