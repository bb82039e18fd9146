package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atlas.array.NdArray;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetView;
import io.netty.buffer.ByteBuf;
import java.io.File;
import java.io.IOException;
import java.lang.reflect.Array;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code atlas import} of NetCDF-4/HDF5 files from real producers (issue 24) against an
 * independent reader.
 *
 * <p>Fixtures: {@code src/test/resources/netcdf/producers} (see its README.md). Each file {@code F}
 * comes with {@code F.expected.json}, what netCDF4-python (netCDF-C's view), or h5py where netCDF-C
 * cannot open the file, reads in it. Each file is imported alone into a fresh store, as dataset
 * {@code <file stem>}, and compared per variable: dtype, shape, dimension names, fill value,
 * attributes and every value (SHA-256 of the raw values); variables of user-defined types must be
 * absent and named in stderr with the reason; a netCDF-3 file must be refused with one error line
 * naming it. All mismatches of one file are reported together.
 *
 * <p>Mappings judged here (netCDF → Atlas): int8..float64 → Int8..Float64; NC_STRING → String;
 * NC_CHAR → UInt8, one byte per element, the string-length dimension kept; a scalar → a rank-0
 * array ({@link #atlasShape}); {@code _FillValue} → the array's fill value (also accepted, not
 * required, as an array attribute); attributes → array attributes of the same type (char →
 * String; one element → scalar kind, several or none → list kind); global attributes → dataset
 * attributes (one element: String, Int64 (uint64 beyond Int64: its decimal text) or Float64;
 * several: their values joined by ", "; none: "").
 */
class ProducerImportTest {
    static final ObjectMapper MAPPER = new ObjectMapper().enable(DeserializationFeature.USE_BIG_INTEGER_FOR_INTS);
    /** Arrays with more elements than this are read back in slabs along their first dimension. */
    private static final long SLAB_ELEMENTS = 4L << 20;

    /**
     * System property naming a directory of other files to judge instead of the committed fixtures:
     * each {@code F} with its {@code F.expected.json} as {@code expect.py DIR} writes them, e.g.
     * {@code mvn -pl examples -am test -Dtest=ProducerImportTest -Datlas.import.judge=/tmp/files}.
     */
    static final String JUDGE_PROPERTY = "atlas.import.judge";

    /**
     * The committed fixtures, or the directory named by {@value #JUDGE_PROPERTY} when that is set
     * (an independent suite of files run against the importer).
     */
    @TestFactory
    Stream<DynamicTest> committedFixturesImportExactly(@TempDir Path tmp) throws Exception {
        String judge = System.getProperty(JUDGE_PROPERTY, "").strip();
        if (!judge.isEmpty()) {
            Path dir = Path.of(judge).toAbsolutePath();
            assertTrue(Files.isDirectory(dir), JUDGE_PROPERTY + "=" + judge + " is not a directory");
            System.out.println("ProducerImportTest: judging the files of " + dir + " instead of the committed fixtures");
            return fixtureTests(dir, tmp);
        }
        return fixtureTests(producers(), tmp);
    }

    /**
     * Regenerates every fixture and its expectation with the installed tools ({@code generate.sh})
     * and checks those the same way; a line and no tests when the tools are missing (as on CI),
     * none when {@value #JUDGE_PROPERTY} names another directory to judge.
     */
    @TestFactory
    Stream<DynamicTest> regeneratedFixturesImportExactlyWhenToolsAreInstalled(@TempDir Path tmp) throws Exception {
        if (!System.getProperty(JUDGE_PROPERTY, "").isBlank()) {
            return Stream.empty(); // judging another directory: its files only
        }
        if (!toolsInstalled()) {
            System.out.println("ProducerImportTest: ncgen or /usr/bin/python3 with netCDF4, h5py, xarray missing;"
                    + " the committed producer fixtures were checked instead");
            return Stream.empty();
        }
        Path out = Files.createDirectories(tmp.resolve("regenerated"));
        Process p = new ProcessBuilder("sh", producers().resolve("generate.sh").toString(), out.toString())
                .redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean done = p.waitFor(5, TimeUnit.MINUTES);
        if (!done) {
            p.destroyForcibly();
        }
        assertTrue(done && p.exitValue() == 0, "generate.sh failed:\n" + log);
        return fixtureTests(out, tmp);
    }

    static Path producers() throws Exception {
        return Path.of(ProducerImportTest.class.getResource("/netcdf/producers/README.md").toURI()).getParent();
    }

    private static Stream<DynamicTest> fixtureTests(Path dir, Path tmp) throws IOException {
        List<Path> expectations;
        try (Stream<Path> files = Files.list(dir)) {
            expectations = files.filter(f -> f.getFileName().toString().endsWith(".expected.json")).sorted().toList();
        }
        assertTrue(!expectations.isEmpty(), "no *.expected.json in " + dir);
        return expectations.stream().map(e -> {
            String file = e.getFileName().toString().replaceFirst("\\.expected\\.json$", "");
            return DynamicTest.dynamicTest(file, () -> checkFixture(dir, MAPPER.readTree(e.toFile()), tmp));
        });
    }

    private static boolean toolsInstalled() {
        String path = System.getenv("PATH");
        boolean ncgen = path != null
                && Arrays.stream(path.split(File.pathSeparator)).anyMatch(d -> Files.isExecutable(Path.of(d, "ncgen")));
        if (!ncgen || !Files.isExecutable(Path.of("/usr/bin/python3"))) {
            return false;
        }
        try {
            Process p = new ProcessBuilder("/usr/bin/python3", "-c", "import netCDF4, h5py, xarray")
                    .redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * What jHDF 0.13 cannot read, as README's import limits list it: for these fixtures the
     * importer must report exactly that (the variables and attributes named skipped, or the file
     * refused, with the reason) and everything else of the file must still be exact.
     */
    record Limit(String reason, List<String> variables, List<String> globals, boolean refused) {
    }

    static final Map<String, Limit> LIMITS = Map.of(
            "h5py_scaleoffset.h5", new Limit("cannot be decoded by jhdf 0.13", List.of("so_float", "so_int"), List.of(), false),
            "netcdf4py_szip.nc", new Limit("cannot be decoded by jhdf 0.13", List.of("v", "w"), List.of(), false),
            "netcdf4py_unicode.nc", new Limit("not ascii", List.of("température", "grüppe.w"), List.of("zürich"), false),
            "h5repack_nbit.nc", new Limit("cannot be decoded by jhdf 0.13",
                    List.of("deflated", "checksummed", "contiguous", "compact", "big_endian", "big_endian_int"), List.of(), false),
            "h5repack_latest.nc", new Limit("jhdf 0.13 cannot parse", List.of(), List.of(), true),
            "ncgen_opaque.nc", new Limit("jhdf 0.13 cannot parse", List.of(), List.of(), true),
            "netcdf4py_hugeattrs.nc", new Limit("cannot be read by jhdf 0.13", List.of(),
                    List.of("history", "history_of_appended_files"), false));

    /** The expectation without what a known limit leaves out. */
    static JsonNode withoutLimits(JsonNode exp, Limit limit) {
        if (limit == null || limit.refused()) {
            return exp;
        }
        com.fasterxml.jackson.databind.node.ObjectNode e = exp.deepCopy();
        for (String v : limit.variables()) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) e.get("variables")).remove(v);
        }
        for (String g : limit.globals()) {
            ((com.fasterxml.jackson.databind.node.ObjectNode) e.get("global_attributes")).remove(g);
        }
        return e;
    }

    /** Imports one fixture alone and fails with every mismatch found. */
    static void checkFixture(Path dir, JsonNode given, Path tmp) throws Exception {
        String file = given.get("file").asText();
        JsonNode exp = withoutLimits(given, LIMITS.get(file));
        String name = stem(file);
        Path store = tmp.resolve("store-" + name);
        List<String> problems = new ArrayList<>();
        Cli.Run r = Cli.run("import", dir.resolve(file).toString(), "--store", store.toString());
        Limit limit = LIMITS.get(file);
        if (limit != null) {
            long told = r.err().lines().filter(l -> l.toLowerCase(Locale.ROOT).contains(limit.reason())).count();
            if (told < Math.max(1, limit.variables().size())) {
                problems.add("known limit: stderr says '" + limit.reason() + "' " + told + " time(s), expected one per "
                        + "variable/attribute " + limit.variables() + limit.globals() + ": " + r.err().strip());
            }
            if (limit.refused()) {
                if (r.code() == 0) {
                    problems.add("known limit: the file should be refused, exit 0");
                }
                if (!problems.isEmpty()) {
                    fail(file + ": " + String.join("\n  ", problems));
                }
                return;
            }
        }
        if (exp.path("refused").asBoolean(false)) {
            if (r.code() == 0) {
                problems.add("imported (exit 0); expected a refusal");
            }
            List<String> lines = r.err().lines().filter(l -> l.startsWith("atlas:")).toList();
            if (lines.size() != 1 || !lines.get(0).contains(file)) {
                problems.add("stderr should be one 'atlas:' line naming " + file + ", was: " + r.err().strip());
            }
            if (Files.isDirectory(store)) {
                try (Stream<Path> s = Files.list(store)) {
                    if (s.findAny().isPresent()) {
                        Cli.checkStore(store, atlas -> {
                            if (atlas.datasetExists(name)) {
                                problems.add("refused file left dataset '" + name + "' in the store");
                            }
                        });
                    }
                }
            }
        } else if (r.code() != 0) {
            problems.add("import failed: exit " + r.code() + ": " + r.err().strip());
        } else {
            Cli.checkStore(store, atlas -> {
                if (!atlas.datasetExists(name)) {
                    problems.add("no dataset '" + name + "' after the import; datasets " + atlas.listDatasets());
                    return;
                }
                compareDataset(atlas.dataset(name), exp, r.err(), problems);
            });
        }
        if (!problems.isEmpty()) {
            fail(file + " (" + exp.path("producer").asText() + ", reader " + exp.path("reader").asText() + "): "
                    + problems.size() + " mismatch(es)\n  " + String.join("\n  ", problems));
        }
    }

    static String stem(String file) {
        int dot = file.lastIndexOf('.');
        return dot > 0 ? file.substring(0, dot) : file;
    }

    /**
     * Our shape of a netCDF shape. A netCDF scalar ({@code []}) is a rank-0 array; the one place to
     * change should that mapping change.
     */
    static long[] atlasShape(JsonNode ncShape) {
        long[] s = new long[ncShape.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = ncShape.get(i).asLong();
        }
        return s;
    }

    /** Our dtype of a netCDF type (NC_CHAR: one UInt8 per character). */
    static DType atlasDtype(String nctype) {
        switch (nctype) {
            case "int8": return DType.INT8;
            case "uint8": case "char": return DType.UINT8;
            case "int16": return DType.INT16;
            case "uint16": return DType.UINT16;
            case "int32": return DType.INT32;
            case "uint32": return DType.UINT32;
            case "int64": return DType.INT64;
            case "uint64": return DType.UINT64;
            case "float32": return DType.FLOAT32;
            case "float64": return DType.FLOAT64;
            case "string": return DType.STRING;
            default: throw new AssertionError("fixture type " + nctype);
        }
    }

    private static void compareDataset(DatasetView ds, JsonNode exp, String stderr, List<String> problems) {
        Set<String> expected = new TreeSet<>();
        exp.get("variables").fieldNames().forEachRemaining(expected::add);
        Set<String> got = new TreeSet<>(ds.listArrays());
        for (String v : expected) {
            if (!got.contains(v)) {
                problems.add(v + ": missing from the store");
            }
        }
        for (String v : got) {
            if (!expected.contains(v)) {
                problems.add(v + ": in the store but not a variable of the file");
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = exp.path("skipped").fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> s = it.next();
            String path = s.getKey();
            String reason = s.getValue().asText().toLowerCase(Locale.ROOT);
            String leaf = path.substring(path.lastIndexOf('.') + 1);
            List<String> words = reason.equals("vlen")
                    ? List.of("vlen", "variable-length", "variablelength", "variable length") : List.of(reason);
            boolean named = stderr.lines().map(l -> l.toLowerCase(Locale.ROOT))
                    .anyMatch(l -> l.contains(leaf.toLowerCase(Locale.ROOT)) && words.stream().anyMatch(l::contains));
            if (!named) {
                problems.add(path + ": skipped (" + reason + ") but stderr does not name it with the reason: "
                        + stderr.strip());
            }
        }
        // Group attributes are dataset attributes named group.sub.attribute (the documented mapping).
        com.fasterxml.jackson.databind.node.ObjectNode globals = exp.get("global_attributes").deepCopy();
        if (exp.has("group_attributes")) {
            for (Iterator<Map.Entry<String, JsonNode>> g = exp.get("group_attributes").fields(); g.hasNext();) {
                Map.Entry<String, JsonNode> group = g.next();
                for (Iterator<Map.Entry<String, JsonNode>> a = group.getValue().fields(); a.hasNext();) {
                    Map.Entry<String, JsonNode> attr = a.next();
                    globals.set(group.getKey() + "." + attr.getKey(), attr.getValue());
                }
            }
        }
        compareGlobals(ds.meta().attributes(), globals, problems);
        for (String v : expected) {
            if (got.contains(v)) {
                try {
                    compareVariable(ds, v, exp.get("variables").get(v), "h5py".equals(exp.path("reader").asText()), problems);
                } catch (RuntimeException e) {
                    problems.add(v + ": reading it back failed: " + e);
                }
            }
        }
    }

    private static void compareVariable(DatasetView ds, String name, JsonNode v, boolean h5pyReader, List<String> problems) {
        ArraySchema s = ds.arrayMeta(name).orElseThrow();
        DType dtype = atlasDtype(v.get("dtype").asText());
        if (!dtype.equals(s.dtype())) {
            problems.add(name + ": dtype " + s.dtype() + ", expected " + dtype + " (netCDF " + v.get("dtype").asText() + ")");
        }
        long[] shape = atlasShape(v.get("shape"));
        if (!Arrays.equals(shape, s.shape())) {
            problems.add(name + ": shape " + Arrays.toString(s.shape()) + ", expected " + Arrays.toString(shape));
        }
        compareDims(name, v.get("dims"), s.dimensionNames(), problems);
        FillValue fill = ds.arrayFillValue(name).block(TIMEOUT);
        JsonNode wantFill = v.get("fill");
        if (h5pyReader && wantFill != null && wantFill.isNumber() && wantFill.asDouble() == 0
                && java.util.Objects.equals(fill, dev.atlas.examples.netcdf.NcTypes.defaultFill(dtype, false))) {
            // h5py reports 0 for an undefined HDF5 fill value; the importer applies netCDF-C's rule
            // (no _FillValue and no defined HDF5 fill: the type's default fill) to every file.
            wantFill = null;
        }
        if (wantFill != null) {
            compareFill(name, dtype, wantFill, fill, problems);
        }
        Map<String, AttributeValue> attrs = ds.arrayAttributes(name).block(TIMEOUT);
        JsonNode expAttrs = v.get("attributes");
        for (Iterator<Map.Entry<String, JsonNode>> it = expAttrs.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> a = it.next();
            AttributeValue g = attrs.get(a.getKey());
            if (g == null) {
                if (!a.getKey().equals("_FillValue")) {
                    problems.add(name + ":" + a.getKey() + ": missing (expected " + a.getValue() + ")");
                }
                continue;
            }
            String why = attributeMismatch(g, a.getValue());
            if (why != null) {
                problems.add(name + ":" + a.getKey() + ": " + why);
            }
        }
        for (String k : attrs.keySet()) {
            if (!expAttrs.has(k)) {
                problems.add(name + ":" + k + ": attribute not in the file (" + attrs.get(k) + ")");
            }
        }
        if (!dtype.equals(s.dtype())) {
            return;
        }
        long count = v.get("count").asLong();
        long[] have = s.shape();
        long n = 1;
        for (long x : have) {
            n *= x;
        }
        if (n != count) {
            problems.add(name + ": " + n + " values, expected " + count);
            return;
        }
        String sha = sha256(ds, name, dtype, have);
        if (!sha.equals(v.get("sha256").asText())) {
            problems.add(name + ": values differ (sha256 " + sha + ", expected " + v.get("sha256").asText() + ")"
                    + firstValues(ds, name, have));
        }
    }

    /** A hint for a value mismatch: the first few values we read. */
    private static String firstValues(DatasetView ds, String name, long[] shape) {
        if (shape.length > 0 && shape[0] == 0) {
            return "";
        }
        long[] start = new long[shape.length];
        long[] count = shape.clone();
        long rows = 1;
        for (int i = 1; i < count.length; i++) {
            rows *= count[i];
        }
        if (count.length > 0) {
            count[0] = Math.max(1, Math.min(count[0], 8 / Math.max(1, rows)));
        }
        try (NdArray a = shape.length == 0 ? ds.readArray(name).block(TIMEOUT)
                : ds.readArray(name, start, count).block(TIMEOUT)) {
            List<String> vals = new ArrayList<>();
            for (long i = 0; i < Math.min(8, a.size()); i++) {
                vals.add(Values.element(a, i));
            }
            return "; ours begin " + vals;
        } catch (RuntimeException e) {
            return "";
        }
    }

    /** SHA-256 of the values as the fixture expectations hash them (see README.md). */
    private static String sha256(DatasetView ds, String name, DType dtype, long[] shape) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
        long total = 1;
        for (long x : shape) {
            total *= x;
        }
        if (shape.length == 0 || total <= SLAB_ELEMENTS || shape[0] <= 1) {
            try (NdArray a = ds.readArray(name).block(TIMEOUT)) {
                digest(md, a);
            }
        } else {
            long row = total / shape[0];
            long rows = Math.max(1, SLAB_ELEMENTS / Math.max(1, row));
            for (long r0 = 0; r0 < shape[0]; r0 += rows) {
                long[] start = new long[shape.length];
                long[] count = shape.clone();
                start[0] = r0;
                count[0] = Math.min(rows, shape[0] - r0);
                try (NdArray a = ds.readArray(name, start, count).block(TIMEOUT)) {
                    digest(md, a);
                }
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void digest(MessageDigest md, NdArray a) {
        if (a.dtype().kind() == DType.Kind.STRING) {
            for (long i = 0; i < a.size(); i++) {
                md.update(a.getString(i).getBytes(StandardCharsets.UTF_8));
                md.update((byte) 0);
            }
            return;
        }
        ByteBuf buf = a.data();
        int bytes = Math.toIntExact(a.size() * a.dtype().elementSize());
        md.update(buf.nioBuffer(buf.readerIndex(), bytes));
    }

    /**
     * Dimension names. Where the file names no dimension for an axis (null in the expectation: no
     * dimension scale, or netCDF-C's made-up {@code phony_dim_N}), the array has no name there:
     * an empty name, or the engine's default {@code dim<axis>} ({@link dev.atlas.array.ArraySpec#of}).
     */
    private static void compareDims(String name, JsonNode exp, List<String> got, List<String> problems) {
        int rank = got.size();
        List<String> want = new ArrayList<>();
        if (exp == null || exp.isNull()) {
            if (got.isEmpty()) {
                return;
            }
            for (int i = 0; i < rank; i++) {
                want.add(null);
            }
        } else {
            exp.forEach(d -> want.add(d.isNull() ? null : d.asText()));
        }
        boolean same = want.size() == rank;
        for (int i = 0; same && i < rank; i++) {
            String w = want.get(i);
            String g = got.get(i);
            same = w == null ? g.isEmpty() || g.equals("dim" + i) : w.equals(g);
        }
        if (!same) {
            problems.add(name + ": dimension names " + got + ", expected "
                    + (exp == null || exp.isNull() ? "none (the file names no dimensions)" : want.toString()));
        }
    }

    private static void compareFill(String name, DType dtype, JsonNode exp, FillValue got, List<String> problems) {
        if (exp == null || exp.isNull()) {
            if (got != null && !(got instanceof FillValue.Str s && s.value().isEmpty())) {
                problems.add(name + ": fill " + got + ", expected none");
            }
            return;
        }
        if (got == null) {
            problems.add(name + ": no fill value, expected " + exp);
            return;
        }
        switch (dtype.kind()) {
            case STRING:
                if (!(got instanceof FillValue.Str s) || !s.value().equals(exp.asText())) {
                    problems.add(name + ": fill " + got + ", expected \"" + exp.asText() + "\"");
                }
                return;
            case FLOAT32: case FLOAT64: {
                double want = number(exp);
                boolean same = got instanceof FillValue.Float f && (dtype.kind() == DType.Kind.FLOAT32
                        ? Float.compare((float) f.value(), (float) want) == 0 : Double.compare(f.value(), want) == 0);
                if (!same) {
                    problems.add(name + ": fill " + got + ", expected " + exp);
                }
                return;
            }
            default: {
                BigInteger want = exp.isTextual() ? BigInteger.valueOf(exp.asText().charAt(0) & 0xFF) : exp.bigIntegerValue();
                BigInteger have = got instanceof FillValue.Int i ? BigInteger.valueOf(i.value())
                        : got instanceof FillValue.UInt u ? new BigInteger(Long.toUnsignedString(u.value())) : null;
                if (!want.equals(have)) {
                    problems.add(name + ": fill " + got + ", expected " + want);
                }
            }
        }
    }

    /** A JSON number, or one of the strings NaN, Infinity, -Infinity. */
    private static double number(JsonNode n) {
        return n.isTextual() ? Double.parseDouble(n.asText()) : n.doubleValue();
    }

    private static boolean isFloatType(String nctype) {
        return nctype.equals("float32") || nctype.equals("float64");
    }

    /** Why {@code got} is not the netCDF attribute {@code exp} ({"type", "value"}), or null when it is. */
    static String attributeMismatch(AttributeValue got, JsonNode exp) {
        String type = exp.get("type").asText();
        JsonNode value = exp.get("value");
        AttributeValue.Kind kind = got.kind();
        if (type.equals("char") || (type.equals("string") && !value.isArray())) {
            return kind == AttributeValue.Kind.STRING && got.asString().equals(value.asText()) ? null
                    : "is " + got + ", expected the string \"" + value.asText() + "\"";
        }
        if (type.equals("string")) {
            List<String> want = new ArrayList<>();
            value.forEach(x -> want.add(x.asText()));
            return kind == AttributeValue.Kind.STRING_LIST && got.listValue().equals(want) ? null
                    : "is " + got + ", expected the strings " + want;
        }
        String scalarKind = atlasDtype(type).kind().name();
        String wantKind = value.isArray() ? scalarKind + "_LIST" : scalarKind;
        if (!kind.name().equals(wantKind)) {
            return "is " + got + " (" + kind + "), expected " + wantKind + " " + value;
        }
        List<Object> have = numbers(got);
        List<JsonNode> want = new ArrayList<>();
        if (value.isArray()) {
            value.forEach(want::add);
        } else {
            want.add(value);
        }
        if (have.size() != want.size()) {
            return "has " + have.size() + " values " + have + ", expected " + value;
        }
        for (int i = 0; i < want.size(); i++) {
            if (!sameNumber(have.get(i), want.get(i), type)) {
                return "is " + have + ", expected " + value;
            }
        }
        return null;
    }

    /** The numbers of a numeric attribute: Double for floats, BigInteger (unsigned read as such) for integers. */
    private static List<Object> numbers(AttributeValue a) {
        List<Object> out = new ArrayList<>();
        String k = a.kind().name();
        boolean unsigned = k.startsWith("UINT");
        if (!k.endsWith("_LIST")) {
            if (k.startsWith("FLOAT")) {
                out.add(a.asDouble());
            } else {
                out.add(unsigned && k.equals("UINT64") ? new BigInteger(Long.toUnsignedString(a.asLong()))
                        : BigInteger.valueOf(a.asLong()));
            }
            return out;
        }
        Object list = a.listValue();
        for (int i = 0; i < Array.getLength(list); i++) {
            Object o = Array.get(list, i);
            if (o instanceof Float f) {
                out.add((double) f);
            } else if (o instanceof Double d) {
                out.add(d);
            } else if (o instanceof Byte b) {
                out.add(BigInteger.valueOf(unsigned ? Byte.toUnsignedInt(b) : b));
            } else if (o instanceof Short s) {
                out.add(BigInteger.valueOf(unsigned ? Short.toUnsignedInt(s) : s));
            } else if (o instanceof Integer x) {
                out.add(BigInteger.valueOf(unsigned ? Integer.toUnsignedLong(x) : x));
            } else {
                long x = (Long) o;
                out.add(unsigned ? new BigInteger(Long.toUnsignedString(x)) : BigInteger.valueOf(x));
            }
        }
        return out;
    }

    private static boolean sameNumber(Object have, JsonNode want, String nctype) {
        if (isFloatType(nctype)) {
            double h = have instanceof Double d ? d : ((BigInteger) have).doubleValue();
            double w = number(want);
            return nctype.equals("float32") ? Float.compare((float) h, (float) w) == 0 : Double.compare(h, w) == 0;
        }
        return have instanceof BigInteger b && want.isIntegralNumber() && b.equals(want.bigIntegerValue());
    }

    private static void compareGlobals(Map<String, Attr> got, JsonNode exp, List<String> problems) {
        for (Iterator<Map.Entry<String, JsonNode>> it = exp.fields(); it.hasNext();) {
            Map.Entry<String, JsonNode> e = it.next();
            Attr a = got.get(e.getKey());
            String why = a == null ? "missing (expected " + e.getValue() + ")" : globalMismatch(a, e.getValue());
            if (why != null) {
                problems.add("global :" + e.getKey() + ": " + why);
            }
        }
        for (String k : got.keySet()) {
            if (!exp.has(k)) {
                problems.add("global :" + k + ": not an attribute of the file (" + got.get(k) + ")");
            }
        }
    }

    /** Why the dataset attribute {@code a} is not the global attribute {@code exp}, or null when it is. */
    private static String globalMismatch(Attr a, JsonNode exp) {
        String type = exp.get("type").asText();
        JsonNode value = exp.get("value");
        if (type.equals("char") || type.equals("string")) {
            String want = value.isArray() ? String.join(", ", strings(value)) : value.asText();
            return a instanceof Attr.Str s && s.value().equals(want) ? null : "is " + a + ", expected \"" + want + "\"";
        }
        if (!value.isArray()) {
            if (isFloatType(type)) {
                return a instanceof Attr.Float64 f && sameNumber(f.value(), value, type) ? null
                        : "is " + a + ", expected the number " + value;
            }
            BigInteger w = value.bigIntegerValue();
            boolean same = a instanceof Attr.Int64 i ? BigInteger.valueOf(i.value()).equals(w)
                    : a instanceof Attr.Str s && w.bitLength() > 63 && s.value().equals(w.toString());
            return same ? null : "is " + a + ", expected the integer " + value;
        }
        if (!(a instanceof Attr.Str s)) {
            return "is " + a + ", expected the values " + value + " joined by \", \"";
        }
        List<String> tokens = s.value().isEmpty() ? List.of() : List.of(s.value().split(", ", -1));
        if (tokens.size() != value.size()) {
            return "is \"" + s.value() + "\", expected the values " + value + " joined by \", \"";
        }
        for (int i = 0; i < tokens.size(); i++) {
            Object have;
            try {
                have = isFloatType(type) ? (Object) Double.parseDouble(tokens.get(i)) : new BigInteger(tokens.get(i));
            } catch (NumberFormatException ex) {
                return "is \"" + s.value() + "\", expected the values " + value + " joined by \", \"";
            }
            if (!sameNumber(have, value.get(i), type)) {
                return "is \"" + s.value() + "\", expected the values " + value + " joined by \", \"";
            }
        }
        return null;
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(x -> out.add(x.asText()));
        return out;
    }
}
