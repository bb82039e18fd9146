package dev.atlas.internal.format;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.FillValue;
import dev.atlas.format.StatValue;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.util.List;

/**
 * Renders model objects in the conventions of the interop corpus' expected.json (floats as hex bit
 * patterns, binary as lowercase hex, typed values as {type, value}), so tests can compare trees.
 */
public final class CorpusJson {
    public static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS)
            .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private CorpusJson() {
    }

    /** Re-parses a tree so that numbers compare like the parsed expected.json. */
    public static JsonNode normalize(JsonNode n) {
        try {
            return MAPPER.readTree(MAPPER.writeValueAsString(n));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Appends the C-order elements of a nested expected.json value of the given rank. */
    public static void flatten(JsonNode v, int rank, List<JsonNode> out) {
        if (rank == 0) {
            out.add(v);
            return;
        }
        for (JsonNode x : v) {
            flatten(x, rank - 1, out);
        }
    }

    public static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(String.format("%02x", x & 0xFF));
        }
        return sb.toString();
    }

    static String f32(int bits) {
        return String.format("0x%08x", bits);
    }

    static String f64(long bits) {
        return String.format("0x%016x", bits);
    }

    static BigInteger unsigned(long v) {
        return new BigInteger(Long.toUnsignedString(v));
    }

    public static JsonNode footer(Footer f) {
        ObjectNode o = F.objectNode();
        o.put("version", f.version());
        ArrayNode blocks = o.putArray("blocks");
        for (BlockMeta b : f.blocks()) {
            ObjectNode n = blocks.addObject();
            n.put("id", b.id());
            n.put("file_offset", b.fileOffset());
            n.put("compressed_size", b.compressedSize());
            n.put("uncompressed_size", b.uncompressedSize());
            if (b.codec().isNone()) {
                n.putNull("codec");
            } else {
                n.put("codec", b.codec().name());
            }
        }
        ArrayNode arrays = o.putArray("arrays");
        for (ArrayMeta m : f.arrays()) {
            ObjectNode n = arrays.addObject();
            n.put("name", m.name());
            n.put("dtype", m.dtype().toString());
            longs(n.putArray("shape"), m.shape());
            ArrayNode dims = n.putArray("dimension_names");
            m.dimensionNames().forEach(dims::add);
            longs(n.putArray("chunk_shape"), m.chunkShape());
            ArrayNode chunks = n.putArray("chunks");
            for (ChunkEntry e : m.chunks()) {
                ObjectNode c = chunks.addObject();
                longs(c.putArray("coord"), e.coord());
                c.put("block_id", e.address().blockId());
                c.put("offset", e.address().offset());
                c.put("size", e.address().size());
            }
            n.set("fill_value", fill(m.fillValue()));
            n.put("deleted", m.deleted());
            ObjectNode attrs = n.putObject("attributes");
            attrs.put("width", m.attributes().width().name());
            ArrayNode pairs = attrs.putArray("pairs");
            for (int i = 0; i < m.attributes().size(); i++) {
                ArrayNode p = pairs.addArray();
                p.add(unsigned(m.attributes().keyIndex(i)));
                p.add(unsigned(m.attributes().valueIndex(i)));
            }
        }
        ArrayNode keys = o.putArray("attr_keys");
        f.attrKeys().forEach(keys::add);
        ArrayNode values = o.putArray("attr_values");
        for (AttributeValue v : f.attrValues()) {
            values.add(attribute(v));
        }
        o.put("overlay_index", f.overlayIndex());
        o.put("base_file_hint", f.baseFileHint());
        return o;
    }

    private static void longs(ArrayNode a, long[] v) {
        for (long x : v) {
            a.add(x);
        }
    }

    public static JsonNode fill(FillValue v) {
        if (v == null) {
            return F.nullNode();
        }
        ObjectNode o = F.objectNode();
        o.put("type", v.typeName());
        if (v instanceof FillValue.Bool) {
            o.put("value", ((FillValue.Bool) v).value());
        } else if (v instanceof FillValue.Int) {
            o.put("value", ((FillValue.Int) v).value());
        } else if (v instanceof FillValue.UInt) {
            o.put("value", unsigned(((FillValue.UInt) v).value()));
        } else if (v instanceof FillValue.Float) {
            o.put("value", f64(Double.doubleToRawLongBits(((FillValue.Float) v).value())));
        } else if (v instanceof FillValue.Str) {
            o.put("value", ((FillValue.Str) v).value());
        } else {
            o.put("value", ((FillValue.TimestampNs) v).value());
        }
        return o;
    }

    public static JsonNode attribute(AttributeValue v) {
        ObjectNode o = F.objectNode();
        o.put("type", v.kind().displayName());
        switch (v.kind()) {
            case BOOL: o.put("value", v.asBool()); break;
            case INT8: case INT16: case INT32: case INT64: o.put("value", v.asLong()); break;
            case UINT8: case UINT16: case UINT32: case UINT64: o.put("value", unsigned(v.asLong())); break;
            case FLOAT32: o.put("value", f32(Float.floatToRawIntBits(v.asFloat32()))); break;
            case FLOAT64: o.put("value", f64(Double.doubleToRawLongBits(v.asDouble()))); break;
            case STRING: o.put("value", v.asString()); break;
            case BINARY: o.put("value", hex(v.asBinary())); break;
            default: o.set("value", list(v)); break;
        }
        return o;
    }

    @SuppressWarnings("unchecked")
    private static ArrayNode list(AttributeValue v) {
        ArrayNode a = F.arrayNode();
        Object raw = v.listValue();
        switch (v.kind()) {
            case BOOL_LIST: for (boolean b : (boolean[]) raw) { a.add(b); } break;
            case INT8_LIST: for (byte b : (byte[]) raw) { a.add(b); } break;
            case UINT8_LIST: for (byte b : (byte[]) raw) { a.add(b & 0xFF); } break;
            case INT16_LIST: for (short b : (short[]) raw) { a.add(b); } break;
            case UINT16_LIST: for (short b : (short[]) raw) { a.add(b & 0xFFFF); } break;
            case INT32_LIST: for (int b : (int[]) raw) { a.add(b); } break;
            case UINT32_LIST: for (int b : (int[]) raw) { a.add(b & 0xFFFF_FFFFL); } break;
            case INT64_LIST: for (long b : (long[]) raw) { a.add(b); } break;
            case UINT64_LIST: for (long b : (long[]) raw) { a.add(unsigned(b)); } break;
            case FLOAT32_LIST: for (float b : (float[]) raw) { a.add(f32(Float.floatToRawIntBits(b))); } break;
            case FLOAT64_LIST: for (double b : (double[]) raw) { a.add(f64(Double.doubleToRawLongBits(b))); } break;
            case STRING_LIST: for (String s : (List<String>) raw) { a.add(s); } break;
            case BINARY_LIST: for (byte[] b : (List<byte[]>) raw) { a.add(hex(b)); } break;
            default: throw new IllegalStateException(v.kind().toString());
        }
        return a;
    }

    public static JsonNode stat(StatValue v) {
        if (v == null) {
            return F.nullNode();
        }
        ObjectNode o = F.objectNode();
        o.put("type", v.typeName());
        if (v instanceof StatValue.Int) {
            o.put("value", ((StatValue.Int) v).value());
        } else if (v instanceof StatValue.UInt) {
            o.put("value", unsigned(((StatValue.UInt) v).value()));
        } else if (v instanceof StatValue.Float) {
            o.put("value", f64(Double.doubleToRawLongBits(((StatValue.Float) v).value())));
        } else if (v instanceof StatValue.Bytes) {
            o.put("value", hex(((StatValue.Bytes) v).value()));
        } else {
            o.put("value", ((StatValue.TimestampNs) v).value());
        }
        return o;
    }

    public static JsonNode stats(StatsFile s) {
        ObjectNode o = F.objectNode();
        if (s.version() != StatsFile.UNVERSIONED) {
            o.put("version", s.version());
        }
        ArrayNode arrays = o.putArray("arrays");
        for (ArrayStats a : s.arrays()) {
            ObjectNode n = arrays.addObject();
            n.put("name", a.name());
            n.set("min", stat(a.min()));
            n.set("max", stat(a.max()));
            n.put("null_count", unsigned(a.nullCount()));
            n.put("row_count", unsigned(a.rowCount()));
        }
        return o;
    }
}
