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
 * runs against a temporary directory and its effects are checked. Every line of the {@code ```sh}
 * blocks and every {@code ```python} block is read from README.md and run as written, against a demo
 * store and the README's own serve lines ({@link #everyShellLineAndPythonBlockRunsAsWritten}); the
 * two lines that are not run are listed in {@link #NOT_RUN} with why. The synopsis's options are
 * checked against each command's {@code --help}.
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

    // ------------------------------------------------------------------ the synopsis

    /** Every option the synopsis ({@code ```text} block) shows for a command is one its {@code --help} lists. */
    @Test
    void synopsisOptionsAreTheCommandsOwn() throws IOException {
        List<String> synopsis = blocks(readme(), "text");
        assertEquals(1, synopsis.size(), "one synopsis block");
        int checked = 0;
        for (String line : synopsis.get(0).split("\n")) {
            String command = normalise(line.contains("#") ? line.substring(0, line.indexOf('#')) : line);
            if (!command.startsWith("./atlas ") || command.startsWith("./atlas --")) {
                continue;
            }
            String name = command.split(" ")[1];
            Cli.Run help = Cli.run(name, "--help");
            assertEquals(0, help.code(), name + " --help: " + help);
            Matcher options = Pattern.compile("--[a-z][a-z-]*").matcher(command);
            while (options.find()) {
                String negatable = "--[no-]" + options.group().substring(2);
                assertTrue(help.out().contains(options.group()) || help.out().contains(negatable), options.group() + " of '" + command + "' is not in: " + help.out());
                checked++;
            }
        }
        assertTrue(checked >= 30, "options checked: " + checked);
    }

    // ------------------------------------------------------------------ the sh and python blocks, run

    /**
     * The lines of the README's sh blocks that are not run, with the reason; every entry must be
     * a line of the README (so a line removed there is removed here).
     */
    static final Map<String, String> NOT_RUN = Map.of(
            "./atlas demo", "ingests 1,000 datasets, then serves on port 8080 until Ctrl-C; the walk-through's"
                    + " './atlas demo --datasets 20 --no-serve' runs the same command, DemoCommandTest its serving",
            "mvn -B verify -Pall-tests", "the build that runs this test");

    /** The one substitution: the README's fixed ports become the port of the server the test started. */
    static final Pattern README_PORT = Pattern.compile("localhost:8080");

    /** Where a serve line says it listens. */
    static final Pattern SERVING = Pattern.compile("serving \\d+ datasets of .* on http://[^:/]+:(\\d+)");

    /**
     * Every line of the README's sh blocks and every python block, run as written, in README order,
     * by bash and python3 in a directory laid out like the checkout: {@code ./atlas} runs the tool
     * from the test class path in a child JVM, {@code ./atlas-demo} is a demo store of 20 datasets,
     * {@code examples/src/test/resources} and {@code clients} are the checkout's. A {@code serve}
     * line starts the real tool on a free port (its {@code --port} becomes 0) and keeps serving; the
     * curl and python examples then run against the first one ({@code localhost:8080} becomes its
     * address), curl with {@code -f} so that an HTTP error fails the line. Each line must exit 0;
     * a curl line must print something or write its {@code -o} files.
     */
    @Test
    void everyShellLineAndPythonBlockRunsAsWritten() throws Exception {
        Path work = Files.createDirectories(tmp.resolve("checkout"));
        Path checkout = moduleDir().getParent();
        Files.createDirectories(work.resolve("examples/src/test"));
        Files.createSymbolicLink(work.resolve("examples/src/test/resources"), checkout.resolve("examples/src/test/resources"));
        Files.createSymbolicLink(work.resolve("clients"), checkout.resolve("clients"));
        Path tool = work.resolve("atlas");
        Files.writeString(tool, "#!/bin/sh\nexec '" + javaCommand() + "' -Xmx512m -XX:TieredStopAtLevel=1"
                + " --add-opens java.base/java.nio=ALL-UNNAMED -cp '" + System.getProperty("java.class.path") + "' "
                + AtlasCli.class.getName() + " \"$@\"\n");
        assertTrue(tool.toFile().setExecutable(true));
        Cli.Run made = Cli.run("demo", "--store", work.resolve("atlas-demo").toString(), "--datasets", "20", "--no-serve");
        assertEquals(0, made.code(), made.toString());

        List<Process> servers = new ArrayList<>();
        Set<String> skipped = new java.util.HashSet<>();
        int port = -1;
        int ran = 0;
        try {
            Matcher blocks = Pattern.compile("(?ms)^```(sh|python)\\s*\\n(.*?)^```\\s*$").matcher(readme());
            int pythonBlocks = 0;
            while (blocks.find()) {
                String body = blocks.group(2);
                if (blocks.group(1).equals("python")) {
                    assertTrue(port > 0, "a python block before any serve line");
                    Path script = work.resolve("readme_" + (++pythonBlocks) + ".py");
                    Files.writeString(script, README_PORT.matcher(body).replaceAll("127.0.0.1:" + port));
                    Path python = checkout.resolve("clients/python/python.sh");
                    Shell r = shell(work, List.of("bash", python.toString(), script.getFileName().toString()), 300);
                    assertEquals(0, r.code(), "python block " + pythonBlocks + ":\n" + body + "\n" + r);
                    assertFalse(r.out().isBlank(), "python block " + pythonBlocks + " prints its result: " + r);
                    ran++;
                    continue;
                }
                for (String line : body.replace("\\\n", " ").split("\n")) {
                    String command = line.strip();
                    if (command.isEmpty() || command.startsWith("#")) {
                        continue;
                    }
                    String bare = normalise(command.contains(" #") ? command.substring(0, command.indexOf(" #")) : command);
                    if (NOT_RUN.containsKey(bare)) {
                        skipped.add(bare);
                        continue;
                    }
                    if (bare.startsWith("./atlas serve ")) {
                        int p = serve(work, bare, servers);
                        port = port < 0 ? p : port;
                    } else if (bare.startsWith("curl ")) {
                        assertTrue(port > 0, "a curl line before any serve line: " + bare);
                        runCurl(work, README_PORT.matcher(bare).replaceAll("127.0.0.1:" + port));
                    } else {
                        Shell r = shell(work, List.of("bash", "-c", command), 300);
                        assertEquals(0, r.code(), command + "\n" + r);
                    }
                    ran++;
                }
            }
        } finally {
            for (Process p : servers) {
                p.destroy();
                if (!p.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
        assertEquals(NOT_RUN.keySet(), skipped, "every line not run is a line of the README");
        assertEquals(2, servers.size(), "the README's two serve lines");
        assertTrue(ran >= 30, "lines and blocks run: " + ran);
        System.out.println("ReadmeExamplesTest: ran " + ran + " README lines and python blocks; not run: " + NOT_RUN.keySet());
    }

    /** What a child process did: exit code, stdout, stderr. */
    record Shell(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "\n--- stderr\n" + err;
        }
    }

    private static Shell shell(Path dir, List<String> command, int seconds) throws Exception {
        Path out = Files.createTempFile(dir.getParent(), "out", ".txt");
        Path err = Files.createTempFile(dir.getParent(), "err", ".txt");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectOutput(out.toFile())
                .redirectError(err.toFile()).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        try {
            assertTrue(p.waitFor(seconds, java.util.concurrent.TimeUnit.SECONDS), "finished within " + seconds + " s: " + command);
        } finally {
            p.destroyForcibly();
        }
        return new Shell(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    /** Starts a README serve line (on a free port) in the background; returns its port once it serves. */
    private static int serve(Path dir, String line, List<Process> servers) throws Exception {
        String command = line.matches(".* --port \\d+.*") ? line.replaceAll("--port \\d+", "--port 0") : line + " --port 0";
        Path out = Files.createTempFile(dir.getParent(), "serve", ".txt");
        Process p = new ProcessBuilder("bash", "-c", "exec " + command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(out.toFile()).start();
        servers.add(p);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            Matcher m = SERVING.matcher(Files.readString(out));
            if (m.find()) {
                return Integer.parseInt(m.group(1));
            }
            assertTrue(p.isAlive(), line + " ended: " + Files.readString(out));
            Thread.sleep(100);
        }
        throw new AssertionError(line + " did not start serving: " + Files.readString(out));
    }

    /** Runs a README curl line with {@code -f} (an HTTP error fails it); it must print or write something. */
    private static void runCurl(Path dir, String line) throws Exception {
        Shell r = shell(dir, List.of("bash", "-c", "curl -f " + line.substring("curl ".length())), 60);
        assertEquals(0, r.code(), line + "\n" + r);
        Matcher files = Pattern.compile(" -o (\\S+)").matcher(line);
        boolean wrote = false;
        while (files.find()) {
            Path f = dir.resolve(files.group(1));
            assertTrue(Files.isRegularFile(f) && Files.size(f) > 0, line + ": wrote " + f);
            wrote = true;
        }
        if (!wrote) {
            assertFalse(r.out().isBlank(), line + " prints its answer: " + r);
        }
        if (!wrote && !line.contains("|") && !line.contains(" -sI ") && !line.contains("/metrics")) {
            new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());   // a whole JSON document
        }
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
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
