package dev.atlas.examples.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.atlas.format.ArrayStats;
import dev.atlas.format.ArrayValues;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.format.InMemoryFileSet;
import dev.atlas.format.MergedView;
import dev.atlas.format.StatValue;
import dev.atlas.format.StatsFile;
import java.io.IOException;
import java.io.PrintWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code atlas dump BASE.af}: prints the visible arrays of a file set after the newest-wins merge
 * of its layers, as text (like ncdump) or, with {@code --json}, as one JSON document.
 */
@Command(name = "dump", description = "Print the arrays of a .af file set (base + sidecars + stats).")
final class DumpCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "BASE.af", description = "Base file of the file set.")
    Path base;

    @Option(names = "--json", description = "Print one JSON document.")
    boolean json;

    @Option(names = "--limit", paramLabel = "N", description = "Text mode: print at most N values per array (default ${DEFAULT-VALUE}).")
    int limit = 64;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        InMemoryFileSet set = LocalFileSet.open(base);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            writeJson(set, out);
        } else {
            writeText(set, out);
        }
        out.flush();
        return 0;
    }

    // ---------------------------------------------------------------------------------------- JSON

    static void writeJson(InMemoryFileSet set, PrintWriter out) throws IOException {
        JsonGenerator g = new JsonFactory().createGenerator(out);
        g.useDefaultPrettyPrinter();
        g.writeStartObject();
        g.writeArrayFieldStart("arrays");
        StatsFile stats = set.stats();
        for (MergedView.VisibleArray a : set.view().arrays().values()) {
            g.writeStartObject();
            g.writeStringField("name", a.name());
            g.writeStringField("dtype", a.meta().dtype().toString());
            writeLongs(g, "shape", a.meta().shape());
            writeLongs(g, "chunk_shape", a.meta().chunkShape());
            g.writeArrayFieldStart("dimension_names");
            for (String d : a.meta().dimensionNames()) {
                g.writeString(d);
            }
            g.writeEndArray();
            g.writeFieldName("fill_value");
            writeFill(g, a.meta().fillValue());
            g.writeArrayFieldStart("values");
            ArrayValues v = set.readAll(a.name());
            for (int i = 0; i < v.size(); i++) {
                writeElement(g, v, i);
            }
            g.writeEndArray();
            g.writeObjectFieldStart("attributes");
            for (Map.Entry<String, AttributeValue> e : a.attributes()) {
                g.writeFieldName(e.getKey());
                writeAttribute(g, e.getValue());
            }
            g.writeEndObject();
            g.writeFieldName("stats");
            ArrayStats s = stats == null ? null : stats.get(a.name());
            if (s == null) {
                g.writeNull();
            } else {
                g.writeStartObject();
                g.writeFieldName("min");
                writeStat(g, s.min());
                g.writeFieldName("max");
                writeStat(g, s.max());
                g.writeFieldName("null_count");
                g.writeNumber(unsigned(s.nullCount()));
                g.writeFieldName("row_count");
                g.writeNumber(unsigned(s.rowCount()));
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
        g.flush();
        out.println();
    }

    private static void writeLongs(JsonGenerator g, String field, long[] v) throws IOException {
        g.writeArrayFieldStart(field);
        for (long x : v) {
            g.writeNumber(x);
        }
        g.writeEndArray();
    }

    static BigInteger unsigned(long v) {
        return new BigInteger(Long.toUnsignedString(v));
    }

    static void writeDouble(JsonGenerator g, double d) throws IOException {
        if (Double.isNaN(d)) {
            g.writeString("NaN");
        } else if (Double.isInfinite(d)) {
            g.writeString(d > 0 ? "Infinity" : "-Infinity");
        } else {
            g.writeNumber(d);
        }
    }

    static void writeFloat(JsonGenerator g, float f) throws IOException {
        if (Float.isNaN(f)) {
            g.writeString("NaN");
        } else if (Float.isInfinite(f)) {
            g.writeString(f > 0 ? "Infinity" : "-Infinity");
        } else {
            g.writeNumber(f);
        }
    }

    static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(Character.forDigit((x >> 4) & 0xF, 16)).append(Character.forDigit(x & 0xF, 16));
        }
        return sb.toString();
    }

    private static void writeElement(JsonGenerator g, ArrayValues v, int i) throws IOException {
        DType.Kind k = v.dtype().kind();
        switch (k) {
            case STRING: g.writeString(new String(v.varLen(i), StandardCharsets.UTF_8)); break;
            case BINARY: g.writeString(hex(v.varLen(i))); break;
            case FLOAT32: writeFloat(g, Float.intBitsToFloat((int) v.bits(i))); break;
            case FLOAT64: writeDouble(g, Double.longBitsToDouble(v.bits(i))); break;
            case UINT64: g.writeNumber(unsigned(v.bits(i))); break;
            case BOOL: g.writeBoolean(v.bits(i) != 0); break;
            default: g.writeNumber(v.bits(i)); break;
        }
    }

    private static void writeFill(JsonGenerator g, FillValue f) throws IOException {
        if (f == null) {
            g.writeNull();
            return;
        }
        g.writeStartObject();
        g.writeStringField("type", f.typeName());
        g.writeFieldName("value");
        if (f instanceof FillValue.Bool) {
            g.writeBoolean(((FillValue.Bool) f).value());
        } else if (f instanceof FillValue.Int) {
            g.writeNumber(((FillValue.Int) f).value());
        } else if (f instanceof FillValue.UInt) {
            g.writeNumber(unsigned(((FillValue.UInt) f).value()));
        } else if (f instanceof FillValue.Float) {
            writeDouble(g, ((FillValue.Float) f).value());
        } else if (f instanceof FillValue.Str) {
            g.writeString(((FillValue.Str) f).value());
        } else {
            g.writeNumber(((FillValue.TimestampNs) f).value());
        }
        g.writeEndObject();
    }

    private static void writeStat(JsonGenerator g, StatValue s) throws IOException {
        if (s == null) {
            g.writeNull();
            return;
        }
        g.writeStartObject();
        g.writeStringField("type", s.typeName());
        g.writeFieldName("value");
        if (s instanceof StatValue.Int) {
            g.writeNumber(((StatValue.Int) s).value());
        } else if (s instanceof StatValue.UInt) {
            g.writeNumber(unsigned(((StatValue.UInt) s).value()));
        } else if (s instanceof StatValue.Float) {
            writeDouble(g, ((StatValue.Float) s).value());
        } else if (s instanceof StatValue.Bytes) {
            g.writeString(hex(((StatValue.Bytes) s).value()));
        } else {
            g.writeNumber(((StatValue.TimestampNs) s).value());
        }
        g.writeEndObject();
    }

    @SuppressWarnings("unchecked")
    static void writeAttribute(JsonGenerator g, AttributeValue v) throws IOException {
        g.writeStartObject();
        g.writeStringField("type", v.kind().displayName());
        g.writeFieldName("value");
        switch (v.kind()) {
            case BOOL: g.writeBoolean(v.asBool()); break;
            case INT8: case INT16: case INT32: case INT64: case UINT8: case UINT16: case UINT32:
                g.writeNumber(v.asLong());
                break;
            case UINT64: g.writeNumber(unsigned(v.asLong())); break;
            case FLOAT32: writeFloat(g, v.asFloat32()); break;
            case FLOAT64: writeDouble(g, v.asDouble()); break;
            case STRING: g.writeString(v.asString()); break;
            case BINARY: g.writeString(hex(v.asBinary())); break;
            default: {
                Object raw = v.listValue();
                g.writeStartArray();
                switch (v.kind()) {
                    case BOOL_LIST: for (boolean b : (boolean[]) raw) { g.writeBoolean(b); } break;
                    case INT8_LIST: for (byte b : (byte[]) raw) { g.writeNumber(b); } break;
                    case UINT8_LIST: for (byte b : (byte[]) raw) { g.writeNumber(b & 0xFF); } break;
                    case INT16_LIST: for (short b : (short[]) raw) { g.writeNumber(b); } break;
                    case UINT16_LIST: for (short b : (short[]) raw) { g.writeNumber(b & 0xFFFF); } break;
                    case INT32_LIST: for (int b : (int[]) raw) { g.writeNumber(b); } break;
                    case UINT32_LIST: for (int b : (int[]) raw) { g.writeNumber(b & 0xFFFF_FFFFL); } break;
                    case INT64_LIST: for (long b : (long[]) raw) { g.writeNumber(b); } break;
                    case UINT64_LIST: for (long b : (long[]) raw) { g.writeNumber(unsigned(b)); } break;
                    case FLOAT32_LIST: for (float b : (float[]) raw) { writeFloat(g, b); } break;
                    case FLOAT64_LIST: for (double b : (double[]) raw) { writeDouble(g, b); } break;
                    case STRING_LIST: for (String s : (List<String>) raw) { g.writeString(s); } break;
                    default: for (byte[] b : (List<byte[]>) raw) { g.writeString(hex(b)); } break;
                }
                g.writeEndArray();
            }
        }
        g.writeEndObject();
    }

    // ---------------------------------------------------------------------------------------- text

    private void writeText(InMemoryFileSet set, PrintWriter out) {
        int layers = set.footers().size();
        out.printf("file set %s: %d layer%s (base%s), footer v%d, stats %s%n", base.getFileName(), layers,
                layers == 1 ? "" : "s", layers > 1 ? " + " + (layers - 1) + " sidecar" + (layers > 2 ? "s" : "") : "",
                set.footers().get(layers - 1).version(),
                set.stats() == null ? "absent" : (set.stats().version() == StatsFile.UNVERSIONED ? "unversioned" : "v" + set.stats().version()));
        for (MergedView.VisibleArray a : set.view().arrays().values()) {
            out.println();
            StringBuilder dims = new StringBuilder();
            long[] shape = a.meta().shape();
            for (int i = 0; i < shape.length; i++) {
                dims.append(i == 0 ? "" : ", ").append(a.meta().dimensionNames().get(i)).append('=').append(shape[i]);
            }
            out.printf("%s %s(%s)  chunks %s  fill %s  stored chunks %d%n", a.meta().dtype(), a.name(), dims,
                    Arrays.toString(a.meta().chunkShape()), show(a.meta().fillValue()),
                    a.chunks().size());
            for (Map.Entry<String, AttributeValue> e : a.attributes()) {
                out.printf("    :%s = %s%n", e.getKey(), e.getValue());
            }
            ArrayStats s = set.stats() == null ? null : set.stats().get(a.name());
            if (s != null) {
                out.printf("    stats: min %s, max %s, nulls %s of %s%n", show(s.min()), show(s.max()),
                        Long.toUnsignedString(s.nullCount()), Long.toUnsignedString(s.rowCount()));
            }
            ArrayValues v = set.readAll(a.name());
            StringBuilder sb = new StringBuilder("    data: ");
            int n = Math.min(v.size(), limit);
            for (int i = 0; i < n; i++) {
                sb.append(i == 0 ? "" : ", ").append(textElement(v, i));
            }
            if (v.size() > n) {
                sb.append(", ... (").append(v.size() - n).append(" more)");
            }
            out.println(sb);
        }
    }

    /** Text form of a fill or stat value: {@code Int(7)}, {@code Float(-999.0)}, {@code Bytes(0x6162)}. */
    static String show(Object v) {
        if (v == null) {
            return "none";
        }
        if (v instanceof FillValue.Int) {
            return "Int(" + ((FillValue.Int) v).value() + ")";
        }
        if (v instanceof FillValue.UInt) {
            return "UInt(" + Long.toUnsignedString(((FillValue.UInt) v).value()) + ")";
        }
        if (v instanceof FillValue.Float) {
            return "Float(" + ((FillValue.Float) v).value() + ")";
        }
        if (v instanceof FillValue.Bool) {
            return "Bool(" + ((FillValue.Bool) v).value() + ")";
        }
        if (v instanceof FillValue.Str) {
            return "String(\"" + ((FillValue.Str) v).value() + "\")";
        }
        if (v instanceof FillValue.TimestampNs) {
            return "TimestampNs(" + ((FillValue.TimestampNs) v).value() + ")";
        }
        if (v instanceof StatValue.Int) {
            return "Int(" + ((StatValue.Int) v).value() + ")";
        }
        if (v instanceof StatValue.UInt) {
            return "UInt(" + Long.toUnsignedString(((StatValue.UInt) v).value()) + ")";
        }
        if (v instanceof StatValue.Float) {
            return "Float(" + ((StatValue.Float) v).value() + ")";
        }
        if (v instanceof StatValue.Bytes) {
            return "Bytes(0x" + hex(((StatValue.Bytes) v).value()) + ")";
        }
        if (v instanceof StatValue.TimestampNs) {
            return "TimestampNs(" + ((StatValue.TimestampNs) v).value() + ")";
        }
        return String.valueOf(v);
    }

    private static String textElement(ArrayValues v, int i) {
        switch (v.dtype().kind()) {
            case STRING: return '"' + new String(v.varLen(i), StandardCharsets.UTF_8).replace("\"", "\\\"") + '"';
            case BINARY: return "0x" + hex(v.varLen(i));
            case FLOAT32: return Float.toString(Float.intBitsToFloat((int) v.bits(i)));
            case FLOAT64: return Double.toString(Double.longBitsToDouble(v.bits(i)));
            case UINT64: return Long.toUnsignedString(v.bits(i));
            default: return Long.toString(v.bits(i));
        }
    }
}
