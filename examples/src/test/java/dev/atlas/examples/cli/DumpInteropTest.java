package dev.atlas.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atlas.testing.Interop;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * {@code atlas dump --json} of every interop file set equals its expected.json content: list
 * order, dtypes, shapes, chunk shapes, dimension names, fill values, every value (floats by bit
 * pattern), attributes (same-layer resolution, with the copy fallback where the corpus records
 * one) and stored stats.
 */
class DumpInteropTest {
    static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);

    @TestFactory
    Stream<DynamicTest> everyFileSetDumpsToItsExpectedContent() throws Exception {
        Path corpus = Interop.root().resolve("array-format");
        JsonNode exp = MAPPER.readTree(corpus.resolve("expected.json").toFile());
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode set : exp.get("file_sets")) {
            tests.add(DynamicTest.dynamicTest(set.get("id").asText(), () -> check(corpus, set)));
        }
        assertEquals(7, tests.size());
        return tests.stream();
    }

    static JsonNode dumpJson(Path base) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = AtlasCli.commandLine(new PrintWriter(out), new PrintWriter(err))
                .execute("dump", "--json", base.toString());
        assertEquals(0, code, "exit code; stderr: " + err);
        return MAPPER.readTree(out.toString());
    }

    private static void check(Path corpus, JsonNode set) throws Exception {
        JsonNode dump = dumpJson(corpus.resolve(set.get("base").asText()));
        JsonNode arrays = dump.get("arrays");
        JsonNode visible = set.get("visible_arrays");
        List<String> expectedNames = new ArrayList<>();
        visible.forEach(v -> expectedNames.add(v.get("name").asText()));
        List<String> names = new ArrayList<>();
        arrays.forEach(a -> names.add(a.get("name").asText()));
        assertEquals(expectedNames, names, "visible arrays in list order");
        for (int i = 0; i < visible.size(); i++) {
            checkArray(visible.get(i), arrays.get(i));
        }
    }

    private static void checkArray(JsonNode e, JsonNode a) {
        String name = e.get("name").asText();
        String dtype = e.get("dtype").asText();
        assertEquals(dtype, a.get("dtype").asText(), name + " dtype");
        assertEquals(e.get("shape"), a.get("shape"), name + " shape");
        assertEquals(e.get("chunk_shape"), a.get("chunk_shape"), name + " chunk_shape");
        assertEquals(e.get("dimension_names"), a.get("dimension_names"), name + " dimension_names");
        checkTyped(name + " fill_value", e.get("fill_value"), a.get("fill_value"));

        List<JsonNode> flat = new ArrayList<>();
        dev.atlas.internal.format.CorpusJson.flatten(e.get("values"), e.get("shape").size(), flat);
        JsonNode values = a.get("values");
        assertEquals(flat.size(), values.size(), name + " value count");
        for (int i = 0; i < flat.size(); i++) {
            checkElement(name + "[" + i + "]", dtype, flat.get(i), values.get(i));
        }

        JsonNode attrs = e.has("attributes_copy_fallback") ? e.get("attributes_copy_fallback").get("attributes")
                : e.get("attributes");
        JsonNode actualAttrs = a.get("attributes");
        assertEquals(attrs.size(), actualAttrs.size(), name + " attribute count: " + actualAttrs);
        Iterator<Map.Entry<String, JsonNode>> it = actualAttrs.properties().iterator();
        for (JsonNode kv : attrs) {
            Map.Entry<String, JsonNode> got = it.next();
            assertEquals(kv.get("key").asText(), got.getKey(), name + " attribute order");
            checkTyped(name + " attribute " + got.getKey(), kv.get("value"), got.getValue());
        }

        JsonNode stats = e.get("stats_entry");
        JsonNode actualStats = a.get("stats");
        if (stats.isNull()) {
            assertTrue(actualStats.isNull(), name + " stats should be null: " + actualStats);
        } else {
            checkTyped(name + " stats min", stats.get("min"), actualStats.get("min"));
            checkTyped(name + " stats max", stats.get("max"), actualStats.get("max"));
            assertEquals(stats.get("null_count"), actualStats.get("null_count"), name + " null_count");
            assertEquals(stats.get("row_count"), actualStats.get("row_count"), name + " row_count");
        }
    }

    /** Compares a corpus typed value {type, value} with the dump's rendering of it. */
    private static void checkTyped(String what, JsonNode e, JsonNode a) {
        if (e.isNull()) {
            assertTrue(a == null || a.isNull(), what + " should be null, is " + a);
            return;
        }
        String type = e.get("type").asText();
        assertEquals(type, a.get("type").asText(), what + " type");
        JsonNode ev = e.get("value");
        JsonNode av = a.get("value");
        String elementKind;
        switch (type) {
            case "Float": case "Float64": case "Float64List": elementKind = "Float64"; break;
            case "Float32": case "Float32List": elementKind = "Float32"; break;
            case "Binary": case "Bytes": case "BinaryList": elementKind = "Binary"; break;
            default: elementKind = "exact"; break;
        }
        if (ev.isArray()) {
            assertEquals(ev.size(), av.size(), what + " list length");
            for (int i = 0; i < ev.size(); i++) {
                checkElement(what + "[" + i + "]", elementKind, ev.get(i), av.get(i));
            }
        } else {
            checkElement(what, elementKind, ev, av);
        }
    }

    /** One element: floats by bit pattern (NaN as the string "NaN"), everything else exactly. */
    private static void checkElement(String what, String dtype, JsonNode e, JsonNode a) {
        switch (dtype) {
            case "Float32": {
                float f = Float.intBitsToFloat((int) Long.parseLong(e.asText().substring(2), 16));
                if (Float.isNaN(f)) {
                    assertEquals("NaN", a.asText(), what);
                } else if (Float.isInfinite(f)) {
                    assertEquals(f > 0 ? "Infinity" : "-Infinity", a.asText(), what);
                } else {
                    assertTrue(a.isNumber(), what + " should be a number: " + a);
                    assertEquals(Float.floatToRawIntBits(f), Float.floatToRawIntBits(Float.parseFloat(a.asText())), what);
                }
                return;
            }
            case "Float64": {
                double d = Double.longBitsToDouble(new BigInteger(e.asText().substring(2), 16).longValue());
                if (Double.isNaN(d)) {
                    assertEquals("NaN", a.asText(), what);
                } else if (Double.isInfinite(d)) {
                    assertEquals(d > 0 ? "Infinity" : "-Infinity", a.asText(), what);
                } else {
                    assertTrue(a.isNumber(), what + " should be a number: " + a);
                    assertEquals(Double.doubleToRawLongBits(d), Double.doubleToRawLongBits(Double.parseDouble(a.asText())),
                            what);
                }
                return;
            }
            default:
                if (!e.equals(a)) {
                    fail(what + ": expected " + e + " but dump has " + a);
                }
        }
    }
}
