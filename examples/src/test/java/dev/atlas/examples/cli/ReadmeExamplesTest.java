package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.storage.Storage;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.storage.local.LocalStorage;
import dev.atlas.storage.s3.S3Storage;
import dev.atlas.storage.s3.S3StorageOptions;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetView;
import dev.atlas.store.RegistryFormat;
import dev.atlas.store.StoreCodec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import software.amazon.awssdk.regions.Region;

/**
 * Keeps the examples of the top-level README.md true: every {@code ```java} block is held here as
 * real code between two marker comments ({@code // README:begin NAME} ... {@code // README:end NAME})
 * and must equal, whitespace aside, the text of its block (after {@link #PLACEHOLDERS}); the code then
 * runs against a temporary directory and its effects are checked. Every {@code ./atlas} line of the
 * {@code ```sh} blocks is run in-process through {@link Cli#run} on a temporary store, or listed in
 * {@link #ATLAS_LINES} with the reason it is not. The {@code ```python} block is not run (it needs a
 * Python interpreter with numpy and requests, and a running server).
 */
class ReadmeExamplesTest {
    /**
     * The README's {@code ...} placeholders (and its relative store directory), keyed by their text in
     * the whitespace-normalised block, mapped to the code that stands for them here. Each entry must
     * be used, and no {@code ...} may remain outside comments.
     */
    static final Map<String, String> PLACEHOLDERS = Map.of(
            // The README writes its stores to ./store: here a directory of the test's temp directory.
            "Path.of(\"store\")", "tmp.resolve(\"store\")",
            // "each slab [k, 180, 360]": two slabs, of 2 and 1 time steps, every value its time index.
            "Flux<NdArray> steps = ...;", "Flux<NdArray> steps = timeSteps(2, 1);",
            // What the README does with the stacked read: check its shape and values.
            "// shape [n, 2, 5], one buffer ... }", "// shape [n, 2, 5], one buffer checkStacked(stack); }");

    /** Names of the README's java blocks, in order; each is a marked region of this file. */
    static final List<String> JAVA_BLOCKS = List.of("array-file", "streaming", "atlas-store", "s3");

    static final String SOURCE = "src/test/java/dev/atlas/examples/cli/ReadmeExamplesTest.java";

    @TempDir
    Path tmp;

    /** Values of the README's first slab ({@code values}): element i is i / 1000. */
    static final float[] values = new float[180 * 360];

    /** The README's {@code slab} of the store example: a [6, 5] float32 array, element i is i. */
    NdArray slab;

    @BeforeAll
    static void fillValues() {
        for (int i = 0; i < values.length; i++) {
            values[i] = i / 1000f;
        }
    }

    // ------------------------------------------------------------------ the text

    @Test
    void everyJavaBlockIsHeldHereVerbatim() throws IOException {
        List<String> blocks = blocks(readme(), "java");
        assertEquals(JAVA_BLOCKS.size(), blocks.size(), "README java blocks: add a marked example here for each");
        String source = Files.readString(moduleDir().resolve(SOURCE), StandardCharsets.UTF_8);
        List<String> used = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            String readmeText = normalise(blocks.get(i));
            for (Map.Entry<String, String> p : PLACEHOLDERS.entrySet()) {
                if (readmeText.contains(p.getKey())) {
                    readmeText = readmeText.replace(p.getKey(), p.getValue());
                    used.add(p.getKey());
                }
            }
            assertFalse(stripLineComments(readmeText).contains("..."),
                    "README java block " + (i + 1) + " has a placeholder without a mapping: " + readmeText);
            assertEquals(readmeText, normalise(marked(source, JAVA_BLOCKS.get(i))),
                    "README java block " + (i + 1) + " and the region '" + JAVA_BLOCKS.get(i) + "' of " + SOURCE + " differ");
        }
        assertEquals(PLACEHOLDERS.keySet(), Set.copyOf(used), "every placeholder mapping is used");
    }

    // ------------------------------------------------------------------ the java blocks, run

    @Test
    void arrayFileExampleRuns() throws Exception {
        // README:begin array-file
        EngineResources resources = EngineResources.create();           // owns codec + I/O schedulers
        ArrayFileOptions options = ArrayFileOptions.builder(resources).build();   // zstd-3, 8 MiB blocks; chunks >= 1 MiB one per block

        Storage storage = LocalStorage.open(tmp.resolve("store"), resources);   // or InMemoryStorage.create()
        ArrayFile file = ArrayFile.create(storage, "data/temps.af", options).block();
        file.defineArray("temperature", ArraySpec.of(DType.FLOAT32, 24, 180, 360).withChunks(1, 90, 90)
                .withDimensions("time", "lat", "lon").withFill(new FillValue.Float(Double.NaN))).block();
        try (NdArray slab = NdArray.ofFloats(new long[] {1, 180, 360}, values)) {   // not consumed
            file.writeArray("temperature", new long[] {0, 0, 0}, slab).block();     // visible at once
        }
        file.setAttribute("temperature", "units", AttributeValue.ofString("K")).block();
        file.flush().block();                                            // -> data/temps.1.af + temps.stats

        try (NdArray window = file.readArray("temperature", new long[] {0, 10, 10}, new long[] {1, 64, 64}).block()) {
            float first = window.getFloat(0);                            // little-endian, C order
        }
        file.compact().block();                                          // one base again
        file.close().block();                                            // frees the pending layer
        resources.disposeLater().block();
        // README:end array-file
        ((LocalStorage) storage).close();

        Path data = tmp.resolve("store/data");
        assertTrue(Files.isRegularFile(data.resolve("temps.af")), "the base layer");
        assertFalse(Files.exists(data.resolve("temps.1.af")), "compacted into one base");
        withFile(f -> {
            assertEquals("K", f.getAttribute("temperature", "units").asString());
            try (NdArray w = f.readArray("temperature", new long[] {0, 10, 10}, new long[] {1, 64, 64}).block(TIMEOUT)) {
                assertEquals(values[10 * 360 + 10], w.getFloat(0));
                assertEquals(values[73 * 360 + 73], w.getFloat(63 * 64 + 63));
            }
            try (NdArray unwritten = f.readArray("temperature", new long[] {1, 0, 0}, new long[] {1, 1, 1}).block(TIMEOUT)) {
                assertTrue(Float.isNaN(unwritten.getFloat(0)), "the fill value");
            }
        });
    }

    @Test
    void streamingExampleRuns() throws Exception {
        EngineResources resources = EngineResources.create();
        LocalStorage storage = LocalStorage.open(tmp.resolve("store"), resources);
        ArrayFile file = ArrayFile.create(storage, "data/temps.af", ArrayFileOptions.builder(resources).build()).block(TIMEOUT);
        file.defineArray("temperature", ArraySpec.of(DType.FLOAT32, 24, 180, 360).withChunks(1, 90, 90)).block(TIMEOUT);

        // README:begin streaming
        Flux<NdArray> steps = timeSteps(2, 1);                                       // each slab [k, 180, 360], consumed
        long rows = file.writeArray("temperature", new long[] {0, 0, 0}, steps).block();   // one slab at a time
        // README:end streaming

        assertEquals(3, rows);
        try (NdArray w = file.readArray("temperature", new long[] {0, 5, 5}, new long[] {3, 1, 1}).block(TIMEOUT)) {
            assertArrayEquals(new float[] {0, 1, 2}, new float[] {w.getFloat(0), w.getFloat(1), w.getFloat(2)});
        }
        file.flush().block(TIMEOUT);
        file.close().block(TIMEOUT);
        storage.close();
        resources.disposeLater().block(TIMEOUT);
    }

    @Test
    void atlasStoreExampleRuns() throws Exception {
        EngineResources resources = EngineResources.create();
        float[] v = new float[30];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        slab = NdArray.ofFloats(new long[] {6, 5}, v);
        try {
            atlasStore(resources);
        } finally {
            slab.close();
            resources.disposeLater().block(TIMEOUT);
        }

        assertTrue(Files.isRegularFile(tmp.resolve("store/atlas.msgpack.zst")), "the MessagePack + Zstd registry");
        Cli.checkStore(tmp.resolve("store"), atlas -> {
            assertEquals(List.of("cruise_2024"), atlas.listDatasets());
            DatasetView ds = atlas.dataset("cruise_2024");
            assertEquals(Optional.of(Attr.of("North Sea CTD survey")), ds.attribute("title"));
            try (NdArray a = ds.readArray("temperature", new long[] {0, 0}, new long[] {6, 5}).block(TIMEOUT)) {
                for (int i = 0; i < 30; i++) {
                    assertEquals(i, a.getFloat(i));
                }
            }
        });
        Cli.Run info = Cli.run("info", tmp.resolve("store").toString(), "cruise_2024");
        assertEquals(0, info.code(), info.toString());
        assertTrue(info.out().contains("North Sea CTD survey"), info.out());
    }

    private void atlasStore(EngineResources resources) {
        // README:begin atlas-store
        AtlasOptions opts = AtlasOptions.builder(resources)
                .registryFile(RegistryFormat.MSGPACK, StoreCodec.ZSTD)    // default: atlas.json
                .build();
        Atlas atlas = LocalAtlas.openOrCreate(tmp.resolve("store"), opts).block();   // or Atlas.open(storage, "prefix", opts)
        DatasetView ds = atlas.createDataset("cruise_2024").block();
        ds.defineArray("temperature", ArraySpec.of(DType.FLOAT32, 6, 5).withChunks(4, 2)
                .withDimensions("time", "depth").withFill(new FillValue.Float(Double.NaN))).block();
        ds.writeArray("temperature", new long[] {0, 0}, slab).block();    // slab: an NdArray you close
        ds.setAttribute("title", Attr.of("North Sea CTD survey")).block();
        atlas.flush().block();                                            // the one commit point

        List<String> names = atlas.listDatasets();
        try (NdArray stack = atlas.readArrayAcrossStacked("temperature", names,
                new long[] {0, 0}, new long[] {2, 5}).block()) {             // shape [n, 2, 5], one buffer
            checkStacked(stack);
        }
        atlas.readArrayAcross("temperature", names, null, null)           // per dataset, tagged, bounded
                .doOnNext(r -> { try (r) { /* r.dataset(), r.absent(), r.array() */ } }).blockLast();
        atlas.close().block();
        // README:end atlas-store
    }

    /**
     * The S3 example is compiled and its text checked, but not run: it needs a real bucket and
     * credentials. The S3 backend is tested against S3Mock and S3Proxy in storage-s3, and the CLI's
     * s3:// locations in {@link StoreCommandsTest} and {@link DemoCommandTest}.
     */
    @SuppressWarnings("unused")
    private static Atlas s3Example(EngineResources resources, AtlasOptions opts) {
        // README:begin s3
        S3Storage s3 = S3Storage.open(S3StorageOptions.builder("my-bucket").keyPrefix("stores/")
                .region(Region.EU_WEST_1)                       // credentials: the default provider chain
                .build(), resources);                           // endpoint(...).pathStyle(true) for S3-compatible servers
        Atlas atlas = Atlas.open(s3, "ocean", opts).block();    // the same API as on local disk
        // README:end s3
        return atlas;
    }

    /** Slabs of {@code heights[i]} time steps of [k, 180, 360], consecutive from step 0; each value is its time step. */
    static Flux<NdArray> timeSteps(int... heights) {
        return Flux.defer(() -> {
            List<NdArray> slabs = new ArrayList<>();
            int t = 0;
            for (int k : heights) {
                float[] v = new float[k * 180 * 360];
                for (int i = 0; i < v.length; i++) {
                    v[i] = t + i / (180 * 360);
                }
                slabs.add(NdArray.ofFloats(new long[] {k, 180, 360}, v));
                t += k;
            }
            return Flux.fromIterable(slabs);
        });
    }

    /** The store example's stacked read: [1, 2, 5], the first two rows of {@code slab}. */
    void checkStacked(NdArray stack) {
        assertArrayEquals(new long[] {1, 2, 5}, stack.shape());
        for (int i = 0; i < 10; i++) {
            assertEquals(i, stack.getFloat(i));
        }
    }

    // ------------------------------------------------------------------ the atlas commands

    /** What to do with one {@code ./atlas} line of the README: run it (placeholders filled in) or say why not. */
    record AtlasLine(List<String> args, Consumer<Cli.Run> check, String notRun) {
        static AtlasLine run(Consumer<Cli.Run> check, String... args) {
            return new AtlasLine(List.of(args), check, null);
        }

        static AtlasLine skip(String why) {
            return new AtlasLine(null, null, why);
        }
    }

    /** The store the command lines run on (three demo datasets), and a second one they import into. */
    Path store;
    Path imported;

    /**
     * Every {@code ./atlas} line of the README's sh blocks (its text before {@code #}, whitespace
     * normalised) with the arguments it runs with: {@code STORE} is a demo store of three datasets,
     * {@code DATASET} {@code grid_0001}, {@code ARRAY} {@code temperature}, {@code DIR} the NetCDF
     * fixtures, {@code PATH} an empty directory, {@code PATH/TO/base.af} the demo's sample file set;
     * optional parts are chosen as written.
     */
    Map<String, AtlasLine> atlasLines() throws Exception {
        String s = store.toString();
        String sample = sampleBase().toString();
        Map<String, AtlasLine> m = new LinkedHashMap<>();
        m.put("./atlas demo", AtlasLine.skip("builds 1,000 datasets, then serves until Ctrl-C;"
                + " DemoCommandTest runs it with --datasets and --no-serve, and the line below runs it too"));
        m.put("./atlas demo [--store STORE] [--datasets N] [--no-serve] [--host H] [--port P]",
                AtlasLine.run(r -> assertTrue(r.out().contains("window read"), r.out()),
                        "demo", "--store", s, "--datasets", "3", "--no-serve", "--host", "127.0.0.1", "--port", "0"));
        m.put("./atlas ls STORE [--prefix P] [--long] [--arrays] [--json]",
                AtlasLine.run(r -> assertTrue(r.out().contains("grid_0001") && !r.out().contains("grid_0000"), r.out()),
                        "ls", s, "--prefix", "grid_0001", "--long"));
        m.put("./atlas info STORE [DATASET] [--json]",
                AtlasLine.run(r -> assertTrue(r.out().startsWith("{") && r.out().contains("\"temperature\""), r.out()),
                        "info", s, "grid_0001", "--json"));
        m.put("./atlas cat STORE DATASET ARRAY [--region 0:6,10:20,:] [--format text|csv|raw] [--max-elements N] [--force]",
                AtlasLine.run(r -> assertEquals(1 + 6 * 10 * 72, r.out().lines().count(), "a header, then one CSV line per element"),
                        "cat", s, "grid_0001", "temperature", "--region", "0:6,10:20,:", "--format", "csv",
                        "--max-elements", "4320"));
        m.put("./atlas import PATH... --store STORE [--replace] [--keep-going] [--jobs N] [--dtype-clash fail|suffix|skip] [--rename VAR=ARRAY]",
                AtlasLine.run(r -> assertEquals(List.of("ocean", "station"),
                        Cli.run("ls", imported.toString()).out().lines().toList()),
                        "import", netcdfFixtures().toString(), "--store", imported.toString(), "--replace", "--keep-going",
                        "--jobs", "2", "--dtype-clash", "suffix", "--rename", "nothing=such"));
        m.put("./atlas compact STORE [--json]", AtlasLine.run(r -> assertTrue(r.out().contains("\"layer_files\""), r.out()),
                "compact", s, "--json"));
        m.put("./atlas rm STORE DATASET...",
                AtlasLine.run(r -> assertEquals(List.of("grid_0000", "grid_0001"), Cli.run("ls", s).out().lines().toList()),
                        "rm", s, "grid_0002"));
        m.put("./atlas dump PATH/TO/base.af [--json]",
                AtlasLine.run(r -> assertTrue(r.out().strip().startsWith("{"), r.out()), "dump", sample, "--json"));
        m.put("./atlas verify STORE|FILE [--json] [--quiet]",
                AtlasLine.run(r -> assertTrue(r.out().contains("\"clean\" : true"), r.out()), "verify", s, "--json", "--quiet"));
        m.put("./atlas --help", AtlasLine.run(r -> assertTrue(r.out().contains("Usage: atlas"), r.out()), "--help"));
        String serving = "serves until Ctrl-C, which Cli.run cannot send; ServeCommandTest runs serve on a free port"
                + " and stops it, AtlasHttpServerTest covers every route the curl lines call";
        m.put("./atlas serve --store ./atlas-demo", AtlasLine.skip(serving));
        m.put("./atlas serve --store ./atlas-demo --host 0.0.0.0 --port 9000 --max-elements 16777216 --timeout 30",
                AtlasLine.skip(serving));
        return m;
    }

    @Test
    void everyAtlasLineRunsOrSaysWhyNot() throws Exception {
        store = tmp.resolve("atlas-demo");
        imported = tmp.resolve("imported");
        Cli.Run made = Cli.run("demo", "--store", store.toString(), "--datasets", "3", "--no-serve");
        assertEquals(0, made.code(), made.toString());

        List<String> lines = new ArrayList<>();
        for (String block : blocks(readme(), "sh")) {
            for (String line : block.split("\n")) {
                int hash = line.indexOf('#');
                String command = normalise(hash < 0 ? line : line.substring(0, hash));
                if (command.startsWith("./atlas")) {
                    lines.add(command);
                }
            }
        }
        Map<String, AtlasLine> known = atlasLines();
        assertEquals(List.copyOf(known.keySet()), lines, "the README's ./atlas lines, each with a way to run it here");
        int ran = 0;
        for (Map.Entry<String, AtlasLine> e : known.entrySet()) {
            AtlasLine how = e.getValue();
            if (how.notRun() != null) {
                continue;
            }
            assertEquals(e.getKey().split(" ")[1], how.args().get(0), "runs the README line's command");
            for (String a : how.args()) {
                if (a.startsWith("--")) {
                    assertTrue(e.getKey().contains(a), a + " is not an option of " + e.getKey());
                }
            }
            Cli.Run r = Cli.run(how.args().toArray(String[]::new));
            assertEquals(0, r.code(), e.getKey() + " as " + how.args() + ": " + r);
            how.check().accept(r);
            ran++;
        }
        assertEquals(10, ran);
    }

    /** The demo's two-layer sample file set, written once, as {@code demo --sample-file} writes it. */
    private Path sampleBase() throws IOException {
        Path dir = tmp.resolve("sample");
        Cli.Run r = Cli.run("demo", "--sample-file", dir.toString());
        assertEquals(0, r.code(), r.toString());
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.getFileName().toString().matches("[^.]+\\.af")).findFirst().orElseThrow();
        }
    }

    private static Path netcdfFixtures() throws Exception {
        return Path.of(ReadmeExamplesTest.class.getResource("/netcdf/ocean.nc").toURI()).getParent();
    }

    // ------------------------------------------------------------------ helpers

    /** The module directory (Maven runs tests there); README.md is in its parent. */
    static Path moduleDir() {
        Path dir = Path.of("").toAbsolutePath();
        return Files.isRegularFile(dir.resolve(SOURCE)) ? dir : dir.resolve("examples");
    }

    static String readme() throws IOException {
        Path readme = moduleDir().getParent().resolve("README.md");
        assertTrue(Files.isRegularFile(readme), "README.md beside the examples module: " + readme);
        return Files.readString(readme, StandardCharsets.UTF_8);
    }

    /** The bodies of the README's fenced blocks of {@code language}, in order. */
    static List<String> blocks(String markdown, String language) {
        Matcher m = Pattern.compile("(?ms)^```" + Pattern.quote(language) + "\\s*\\n(.*?)^```\\s*$").matcher(markdown);
        List<String> out = new ArrayList<>();
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** The text between {@code // README:begin name} and {@code // README:end name} of {@code source}. */
    static String marked(String source, String name) {
        String begin = "// README:begin " + name + "\n";
        String end = "// README:end " + name + "\n";
        int b = source.indexOf(begin);
        int e = source.indexOf(end);
        assertTrue(b >= 0 && e > b, "markers of '" + name + "' in " + SOURCE);
        assertEquals(b, source.lastIndexOf(begin), "one begin marker of '" + name + "'");
        String body = source.substring(b + begin.length(), e);
        return body.substring(0, body.lastIndexOf('\n') + 1); // the end marker's indentation is not code
    }

    /** Runs of whitespace become one space; leading and trailing whitespace goes. */
    static String normalise(String text) {
        return text.replaceAll("\\s+", " ").strip();
    }

    /** {@code text} without its {@code //} comments (normalised text: a comment runs to the next statement). */
    static String stripLineComments(String text) {
        return text.replaceAll("//[^;{}]*", "");
    }

    private void withFile(FileCheck check) throws Exception {
        EngineResources resources = EngineResources.create();
        try (LocalStorage storage = LocalStorage.open(tmp.resolve("store"), resources)) {
            ArrayFile f = ArrayFile.open(storage, "data/temps.af", ArrayFileOptions.builder(resources).build()).block(TIMEOUT);
            assertNotNull(f);
            try {
                check.check(f);
            } finally {
                f.close().block(TIMEOUT);
            }
        } finally {
            resources.disposeLater().block(TIMEOUT);
        }
    }

    @FunctionalInterface
    interface FileCheck {
        void check(ArrayFile file) throws Exception;
    }
}
