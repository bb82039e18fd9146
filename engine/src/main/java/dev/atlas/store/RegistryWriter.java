package dev.atlas.store;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.json.JsonWriteFeature;
import dev.atlas.error.AtlasException;
import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.msgpack.jackson.dataformat.MessagePackFactory;

/**
 * Serializes a {@link Registry} the way atlas-rust 0.10 does: serde_json's pretty JSON
 * ({@link SerdePrettyPrinter}) or rmp_serde's named MessagePack maps, fields in the reference's
 * order. Refuses what the reference could not read back ({@link InvalidArgumentException}).
 */
final class RegistryWriter {
    private static final JsonFactory JSON = JsonFactory.builder()
            .disable(JsonWriteFeature.WRITE_HEX_UPPER_CASE) // serde_json writes \u001f, not \u001F
            .build();
    private static final MessagePackFactory MSGPACK = new MessagePackFactory().setReuseResourceInGenerator(false);

    /** The name of the top-level field holding {@link #digest(Registry)} (ours; FORMAT.md 13.5). */
    static final String CONTENT_DIGEST = "content_crc32c";

    private RegistryWriter() {
    }

    /**
     * The uncompressed bytes of {@code r} in {@code format}.
     *
     * @throws InvalidArgumentException for content the format cannot hold, or above
     *     {@link RegistryCodec#MAX_REGISTRY_BYTES}
     */
    static byte[] serialize(Registry r, RegistryFormat format) {
        // A registry we commit (it has pins) carries the digest of its content; re-encoding a
        // reference-written registry (no pins) stays byte for byte what the reference wrote.
        return serialize(r, format, r.layers != null ? digest(r) : null);
    }

    /**
     * The {@code content_crc32c} of {@code r}: the CRC32C of its MessagePack serialization without
     * that field. Computed from the decoded content, so it does not depend on the file's format,
     * wrapper, or the order a reader met the fields in (FORMAT.md 13.5).
     *
     * @throws InvalidArgumentException for content no registry can hold
     */
    static long digest(Registry r) {
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(serialize(r, RegistryFormat.MSGPACK, null));
        return crc.getValue();
    }

    private static byte[] serialize(Registry r, RegistryFormat format, Long digest) {
        boolean json = format == RegistryFormat.JSON;
        ByteArrayOutputStream out = new ByteArrayOutputStream(4096);
        try (JsonGenerator g = json ? JSON.createGenerator(out, JsonEncoding.UTF8) : MSGPACK.createGenerator(out)) {
            if (json) {
                g.setPrettyPrinter(new SerdePrettyPrinter());
            }
            writeRegistry(g, r, json, digest);
        } catch (IOException e) {
            throw new AtlasException("registry serialization failed: " + e.getMessage(), e);
        }
        if (out.size() > RegistryCodec.MAX_REGISTRY_BYTES) {
            throw new InvalidArgumentException("registry of " + out.size() + " bytes exceeds the maximum of "
                    + RegistryCodec.MAX_REGISTRY_BYTES + " bytes");
        }
        return out.toByteArray();
    }

    private static void writeRegistry(JsonGenerator g, Registry r, boolean json, Long digest) throws IOException {
        if (r.version < 0 || r.version > 0xFFFF_FFFFL) {
            throw new InvalidArgumentException("registry version must be a u32: " + r.version);
        }
        g.writeStartObject();
        g.writeFieldName("version");
        g.writeNumber(r.version);
        g.writeFieldName("codec");
        g.writeString((r.codec == null ? StoreCodec.ZSTD : r.codec).serdeName());
        if (digest != null) {
            // Before the content, so the fields after "datasets" keep the order older readers and tests know.
            g.writeFieldName(CONTENT_DIGEST);
            g.writeNumber(digest.longValue());
        }
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
        if (r.excluded != null && !r.excluded.isEmpty()) {
            g.writeFieldName("excluded_layers");
            g.writeStartObject();
            for (Map.Entry<String, java.util.TreeSet<Long>> l : r.excluded.entrySet()) {
                g.writeFieldName(text(l.getKey(), "array name"));
                g.writeStartArray();
                for (long n : l.getValue()) {
                    g.writeNumber(n);
                }
                g.writeEndArray();
            }
            g.writeEndObject();
        }
        if (r.revisions != null && !r.revisions.isEmpty()) {
            g.writeFieldName("revisions");
            g.writeStartObject();
            for (Map.Entry<String, Long> l : r.revisions.entrySet()) {
                g.writeFieldName(text(l.getKey(), "dataset name"));
                g.writeNumber(l.getValue().longValue());
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
        g.writeString(DTypeTag.of(t.kind()));
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

    /** {@code s} unchanged; refuses lone surrogates, which have no UTF-8 form (Rust strings cannot hold them). */
    private static String text(String s, String what) {
        int at = LoneSurrogates.indexIn(s);
        if (at >= 0) {
            throw new InvalidArgumentException(what + " '" + s + "' holds a lone surrogate at index " + at);
        }
        return s;
    }
}
