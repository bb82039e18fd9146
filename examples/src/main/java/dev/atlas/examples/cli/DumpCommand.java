package dev.atlas.examples.cli;

import dev.atlas.http.Json;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.atlas.format.ArrayStats;
import dev.atlas.internal.format.ArrayValues;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.internal.format.InMemoryFileSet;
import dev.atlas.internal.format.MergedView;
import dev.atlas.format.StatValue;
import dev.atlas.internal.format.StatsFile;
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
@Command(name = "dump", mixinStandardHelpOptions = true, description = "Print the arrays of a .af file set (base + sidecars + stats).")
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
            Json.longs(g, "shape", a.meta().shape());
            Json.longs(g, "chunk_shape", a.meta().chunkShape());
            g.writeArrayFieldStart("dimension_names");
            for (String d : a.meta().dimensionNames()) {
                g.writeString(d);
            }
            g.writeEndArray();
            g.writeFieldName("fill_value");
            Json.fill(g, a.meta().fillValue());
            g.writeArrayFieldStart("values");
            ArrayValues v = set.readAll(a.name());
            for (int i = 0; i < v.size(); i++) {
                writeElement(g, v, i);
            }
            g.writeEndArray();
            g.writeObjectFieldStart("attributes");
            for (Map.Entry<String, AttributeValue> e : a.attributes()) {
                g.writeFieldName(e.getKey());
                Json.attribute(g, e.getValue());
            }
            g.writeEndObject();
            g.writeFieldName("stats");
            ArrayStats s = stats == null ? null : stats.get(a.name());
            if (s == null) {
                g.writeNull();
            } else {
                g.writeStartObject();
                g.writeFieldName("min");
                Json.stat(g, s.min());
                g.writeFieldName("max");
                Json.stat(g, s.max());
                g.writeFieldName("null_count");
                g.writeNumber(Json.unsigned(s.nullCount()));
                g.writeFieldName("row_count");
                g.writeNumber(Json.unsigned(s.rowCount()));
                g.writeEndObject();
            }
            g.writeEndObject();
        }
        g.writeEndArray();
        g.writeEndObject();
        g.flush();
        out.println();
    }

    private static void writeElement(JsonGenerator g, ArrayValues v, int i) throws IOException {
        DType.Kind k = v.dtype().kind();
        switch (k) {
            case STRING: g.writeString(new String(v.varLen(i), StandardCharsets.UTF_8)); break;
            case BINARY: g.writeString(Json.hex(v.varLen(i))); break;
            case FLOAT32: Json.number(g, Float.intBitsToFloat((int) v.bits(i))); break;
            case FLOAT64: Json.number(g, Double.longBitsToDouble(v.bits(i))); break;
            case UINT64: g.writeNumber(Json.unsigned(v.bits(i))); break;
            case BOOL: g.writeBoolean(v.bits(i) != 0); break;
            default: g.writeNumber(v.bits(i)); break;
        }
    }

    @SuppressWarnings("unchecked")
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
                out.printf("    :%s = %s%n", e.getKey(), Values.attribute(e.getValue()));
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

    /**
     * A fill or statistics value as plain text, the way {@code info}, {@code dump} and {@code cat}
     * print values: numbers as numbers ({@code NaN}, {@code 255}, unsigned integers unsigned),
     * strings quoted, timestamps as ISO-8601 instants, bytes as hex; {@code none} for no value.
     */
    static String show(Object v) {
        if (v == null) {
            return "none";
        }
        if (v instanceof FillValue.Int i) {
            return Long.toString(i.value());
        }
        if (v instanceof FillValue.UInt u) {
            return Long.toUnsignedString(u.value());
        }
        if (v instanceof FillValue.Float f) {
            return Double.toString(f.value());
        }
        if (v instanceof FillValue.Bool b) {
            return Boolean.toString(b.value());
        }
        if (v instanceof FillValue.Str str) {
            return Values.quoted(str.value());
        }
        if (v instanceof FillValue.TimestampNs t) {
            return instant(t.value());
        }
        if (v instanceof StatValue.Int i) {
            return Long.toString(i.value());
        }
        if (v instanceof StatValue.UInt u) {
            return Long.toUnsignedString(u.value());
        }
        if (v instanceof StatValue.Float f) {
            return Double.toString(f.value());
        }
        if (v instanceof StatValue.Bytes b) {
            return "0x" + Json.hex(b.value());
        }
        if (v instanceof StatValue.TimestampNs t) {
            return instant(t.value());
        }
        return String.valueOf(v);
    }

    private static String instant(long nanos) {
        return Values.instant(nanos);
    }

    private static String textElement(ArrayValues v, int i) {
        switch (v.dtype().kind()) {
            case STRING: return Values.quoted(new String(v.varLen(i), StandardCharsets.UTF_8));
            case BINARY: return "0x" + Json.hex(v.varLen(i));
            case FLOAT32: return Float.toString(Float.intBitsToFloat((int) v.bits(i)));
            case FLOAT64: return Double.toString(Double.longBitsToDouble(v.bits(i)));
            case UINT64: return Long.toUnsignedString(v.bits(i));
            default: return Long.toString(v.bits(i));
        }
    }
}
