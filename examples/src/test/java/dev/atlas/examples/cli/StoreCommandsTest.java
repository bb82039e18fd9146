package dev.atlas.examples.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.http.region.Region;
import dev.atlas.store.StoreUri;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ls}, {@code info}, {@code cat}, {@code compact}, {@code rm} on a small demo store: exit
 * codes, output, and the error cases (missing store, unknown dataset or array, bad region, too
 * many elements, usage errors, S3 locations).
 */
class StoreCommandsTest {
    static final int N = 6;

    @TempDir
    static Path tmp;
    static Path store;

    @BeforeAll
    static void demoStore() {
        store = tmp.resolve("store");
        Cli.Run r = Cli.run("demo", "--store", store.toString(), "--datasets", Integer.toString(N), "--no-serve",
                "--flush-every", "2");
        assertEquals(0, r.code(), r.toString());
    }

    private static Path copy(String name) throws Exception {
        Path dst = tmp.resolve(name);
        try (var files = java.nio.file.Files.walk(store)) {
            for (Path p : files.collect(Collectors.toList())) {
                java.nio.file.Files.copy(p, dst.resolve(store.relativize(p).toString()));
            }
        }
        return dst;
    }

    @Test
    void generateCompletionPrintsABashScriptForEveryCommand() throws Exception {
        Cli.Run r = Cli.run("generate-completion");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("complete -F _complete_atlas"), r.out().lines().limit(5).toList().toString());
        for (String cmd : List.of("demo", "ls", "info", "cat", "dump", "import", "compact", "rm", "serve", "verify")) {
            assertTrue(r.out().contains(cmd), cmd);
        }
        assertTrue(r.out().contains("--io-concurrency") && r.out().contains("--json"), "options completed too");
        // bash itself accepts it and defines the completion.
        Path script = tmp.resolve("atlas_completion");
        java.nio.file.Files.writeString(script, r.out());
        Process p = new ProcessBuilder("bash", "-c", "source '" + script + "' && complete -p atlas").redirectErrorStream(true).start();
        String said = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), said);
        assertTrue(said.contains("_complete_atlas"), said);
    }

    @Test
    void lsAndInfoSpeakJson() throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
        Cli.Run l = Cli.run("ls", store.toString(), "--json", "--prefix", "grid_000");
        assertEquals(0, l.code(), l.toString());
        com.fasterxml.jackson.databind.JsonNode ls = m.readTree(l.out());
        assertEquals(N, ls.get("datasets").size(), l.out());
        com.fasterxml.jackson.databind.JsonNode first = ls.get("datasets").get(0);
        assertEquals("grid_0000", first.get("name").asText());
        assertEquals(4, first.get("arrays").size());
        assertEquals("String", first.get("attributes").get("title").get("type").asText());

        Cli.Run la = Cli.run("ls", store.toString(), "--arrays", "--json");
        com.fasterxml.jackson.databind.JsonNode arrays = m.readTree(la.out()).get("arrays");
        assertEquals(4, arrays.size(), la.out());
        for (com.fasterxml.jackson.databind.JsonNode a : arrays) {
            assertEquals(N, a.get("datasets").asInt(), la.out());
        }

        Cli.Run i = Cli.run("info", store.toString(), "--json");
        assertEquals(0, i.code(), i.toString());
        com.fasterxml.jackson.databind.JsonNode info = m.readTree(i.out());
        assertEquals(N, info.get("datasets").asInt());
        assertEquals("Zstd", info.get("codec").asText());
        assertEquals(4, info.get("arrays").size());
        assertTrue(info.get("arrays").get(0).get("disk_bytes").asLong() > 0, i.out());

        Cli.Run d = Cli.run("info", store.toString(), "grid_0002", "--json");
        assertEquals(0, d.code(), d.toString());
        com.fasterxml.jackson.databind.JsonNode ds = m.readTree(d.out());
        assertEquals("grid_0002", ds.get("name").asText());
        com.fasterxml.jackson.databind.JsonNode temp = null;
        for (com.fasterxml.jackson.databind.JsonNode a : ds.get("arrays")) {
            if (a.get("name").asText().equals("temperature")) {
                temp = a;
            }
        }
        assertEquals("[6,18,36]", temp.get("chunks").toString(), d.out());
        assertEquals("K", temp.get("attributes").get("units").get("value").asText(), d.out());
        // One vocabulary for attribute types, datasets' and arrays' alike: the dtype names.
        assertEquals("String", temp.get("attributes").get("units").get("type").asText(), d.out());
        assertEquals("String", ds.get("attributes").get("title").get("type").asText(), d.out());
        assertEquals("Int64", ds.get("attributes").get("member").get("type").asText(), d.out());
        assertEquals("Float64", ds.get("attributes").get("grid_resolution_deg").get("type").asText(), d.out());
        assertEquals("TimestampNs", ds.get("attributes").get("created").get("type").asText(), d.out());
        assertEquals(AtlasCli.EXIT_NOT_FOUND, Cli.run("info", store.toString(), "nope", "--json").code(), "missing dataset");
    }

    /** An output whose reader went away after {@code limit} bytes (a closed pipe); counts the writes tried after that. */
    static final class ClosedPipe extends java.io.OutputStream {
        final int limit;
        int written;
        int refused;

        ClosedPipe(int limit) {
            this.limit = limit;
        }

        @Override
        public void write(int b) throws java.io.IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws java.io.IOException {
            if (written + len > limit) {
                refused++;
                throw new java.io.IOException("Broken pipe");
            }
            written += len;
        }
    }

    /** cat stops soon after its reader goes away (cat ... | head) instead of rendering the rest into nothing. */
    @Test
    void catStopsWhenItsReaderGoesAway() throws Exception {
        long[] shape = {16, 512, 512};
        float[] v = new float[16 * 512 * 512];
        try (dev.atlas.array.NdArray a = dev.atlas.array.NdArray.ofFloats(shape, v)) {
            Region box = RegionOption.parse(null, shape, List.of());
            for (int format = 0; format < 3; format++) {
                ClosedPipe pipe = new ClosedPipe(64 << 10);
                if (format == 2) {
                    CatCommand.writeRaw(a, new java.io.PrintStream(pipe, false));
                } else {
                    java.io.PrintWriter w = new java.io.PrintWriter(new java.io.OutputStreamWriter(pipe, java.nio.charset.StandardCharsets.UTF_8));
                    if (format == 0) {
                        CatCommand.writeText(a, box, "d", "t", w);
                    } else {
                        CatCommand.writeCsv(a, box, List.of("a", "b", "c"), "t", w);
                    }
                }
                assertTrue(pipe.refused > 0 && pipe.refused < 300, "format " + format + ": " + pipe.refused
                        + " writes tried after the pipe closed");
            }
        }
    }

    /** Every command answers --help and -h with its usage on stdout and exit 0, before any argument check. */
    @Test
    void everyCommandAnswersHelp() {
        for (String cmd : List.of("demo", "ls", "info", "cat", "dump", "import", "compact", "rm", "serve", "verify")) {
            for (String flag : List.of("--help", "-h")) {
                Cli.Run r = Cli.run(cmd, flag);
                assertEquals(0, r.code(), cmd + " " + flag + ": " + r);
                assertTrue(r.out().startsWith("Usage: atlas " + cmd), cmd + " " + flag + ": " + r);
                assertEquals("", r.err(), cmd + " " + flag + ": " + r);
            }
        }
        // The help says what the tool does today: the demo serves, stores may be on S3, the region
        // comes from ~/.aws/config too, import and compact take --progress.
        String demo = Cli.run("demo", "--help").out().replaceAll("\\s+", " ");
        assertTrue(demo.contains("then serve it over HTTP until Ctrl-C"), demo);
        for (String cmd : List.of("ls", "info", "cat", "compact", "rm", "verify")) {
            String help = Cli.run(cmd, "--help").out().replaceAll("\\s+", " ");
            assertTrue(help.contains("//bucket/prefix") && help.contains("~/.aws/config"), cmd + ": " + help);
            assertFalse(help.contains("needs the S3 module"), cmd + ": " + help);
        }
        for (String cmd : List.of("import", "compact")) {
            assertTrue(Cli.run(cmd, "--help").out().contains("--[no-]progress"), cmd);
        }
    }

    @Test
    void lsListsDatasetsSortedWithPrefixAndLongFormat() {
        Cli.Run r = Cli.run("ls", store.toString());
        assertEquals(0, r.code(), r.toString());
        assertEquals(DemoCommand.names(N), r.out().lines().toList());

        Cli.Run p = Cli.run("ls", store.toString(), "--prefix", "grid_0003");
        assertEquals(List.of("grid_0003"), p.out().lines().toList());

        Cli.Run l = Cli.run("ls", "--long", store.toString(), "--prefix", "grid_0001");
        assertEquals(0, l.code(), l.toString());
        assertTrue(l.out().matches("grid_0001\\s+4 arrays\\s+64,812 elements\\s+\"Synthetic monthly reanalysis, member 1\"\\R"), l.out());

        Cli.Run a = Cli.run("ls", store.toString(), "--arrays", "-l");
        assertEquals(List.of("land_mask UInt8 in 6 dataset(s)", "precipitation Float32 in 6 dataset(s)",
                "temperature Float32 in 6 dataset(s)", "time Float64 in 6 dataset(s)"),
                a.out().lines().map(s -> s.replaceAll("\\s+", " ").strip()).toList());
    }

    @Test
    void infoDescribesTheStoreAndOneDataset() {
        Cli.Run r = Cli.run("info", store.toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("registry  atlas.json (JSON, Uncompressed)"), r.out());
        assertTrue(r.out().contains("codec     Zstd"), r.out());
        assertTrue(r.out().contains("datasets  6"), r.out());
        assertTrue(r.out().matches("(?s).*temperature\\s+Float32\\s+6 dataset\\(s\\)\\s+186,624 elements\\s+729\\.0 KiB raw\\s+4 layer file\\(s\\).*"),
                r.out());

        Cli.Run d = Cli.run("info", store.toString(), "grid_0002");
        assertEquals(0, d.code(), d.toString());
        assertTrue(d.out().contains("dataset grid_0002: 4 array(s), 7 attribute(s)"), d.out());
        assertTrue(d.out().contains(":title = \"Synthetic monthly reanalysis, member 2\""), d.out());
        assertTrue(d.out().contains(":member = 2\n"), d.out());
        assertTrue(d.out().contains(":grid_resolution_deg = 5.0\n"), d.out());
        assertTrue(d.out().matches("(?s).*:created = \\d{4}-\\d\\d-\\d\\dT[0-9:.]+Z\n.*"), d.out());
        assertTrue(d.out().contains("Float32 temperature(time=12, lat=36, lon=72)"), d.out());
        assertTrue(d.out().contains("chunks [6, 18, 36], codec Zstd, fill NaN, 31,104 elements (121.5 KiB raw)"), d.out());
        assertTrue(d.out().contains(":units = \"mm/day\""), d.out());
        assertTrue(d.out().contains(":flag_values = 0, 1"), d.out());
        assertTrue(d.out().matches("(?s).*precipitation.*stats: min 0\\.0, max [0-9.]+, nulls [1-9][0-9]* of 31104.*"), d.out());
        assertTrue(d.out().contains("stats: min 0, max 1, nulls 0 of 2592"), d.out());
    }

    @Test
    void catPrintsTextCsvAndRawMatchingTheGenerator() {
        try (SyntheticGrid.Member m = SyntheticGrid.generate(4)) {
            Cli.Run t = Cli.run("cat", store.toString(), "grid_0004", "temperature", "--region", "2,10:12,5:8");
            assertEquals(0, t.code(), t.toString());
            List<String> lines = t.out().lines().toList();
            assertEquals("// grid_0004/temperature Float32 region [2:3,10:12,5:8] shape [1, 2, 3]", lines.get(0));
            assertEquals("// [2, :, :]", lines.get(1));
            for (int y = 0; y < 2; y++) {
                StringBuilder exp = new StringBuilder();
                for (int x = 0; x < 3; x++) {
                    exp.append(x == 0 ? "" : " ").append(m.temperature().getFloat(m.temperature().index(2, 10 + y, 5 + x)));
                }
                assertEquals(exp.toString(), lines.get(2 + y));
            }
            assertEquals(4, lines.size());

            Cli.Run c = Cli.run("cat", store.toString(), "grid_0004", "land_mask", "--region", "3:5,70:", "--format", "csv");
            assertEquals(0, c.code(), c.toString());
            List<String> rows = c.out().lines().toList();
            assertEquals("lat,lon,land_mask", rows.get(0));
            assertEquals(5, rows.size());
            assertEquals("4,71," + Byte.toUnsignedInt(m.landMask().getByte(m.landMask().index(4, 71))), rows.get(4));

            Cli.Run raw = Cli.run("cat", store.toString(), "grid_0004", "time", "--format", "raw");
            assertEquals(0, raw.code(), raw.toString());
            assertEquals("", raw.out());
            ByteBuffer exp = ByteBuffer.allocate(12 * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 12; i++) {
                exp.putDouble(m.time().getDouble(i));
            }
            assertArrayEquals(exp.array(), raw.bytes());
        }
    }

    @Test
    void catRefusesBadRegionsAndTooManyElementsUnlessForced() {
        Cli.Run outside = Cli.run("cat", store.toString(), "grid_0000", "temperature", "--region", "0:13");
        assertEquals(AtlasCli.EXIT_USAGE, outside.code(), outside.toString());
        assertEquals("atlas: bad --region '0:13': dimension 0 (time): 0:13 is outside 0:12", outside.err().strip());

        Cli.Run junk = Cli.run("cat", store.toString(), "grid_0000", "temperature", "--region", "0,a:b");
        assertEquals(AtlasCli.EXIT_USAGE, junk.code(), junk.toString());
        assertTrue(junk.err().contains("dimension 1 (lat): 'a:b' is not start:stop"), junk.err());

        Cli.Run rank = Cli.run("cat", store.toString(), "grid_0000", "time", "--region", "0,0");
        assertEquals(AtlasCli.EXIT_USAGE, rank.code(), rank.toString());
        assertTrue(rank.err().contains("2 parts for an array of rank 1"), rank.err());

        Cli.Run many = Cli.run("cat", store.toString(), "grid_0000", "temperature", "--max-elements", "100");
        assertEquals(AtlasCli.EXIT_USAGE, many.code(), many.toString());
        assertTrue(many.err().contains("has 31,104 elements, more than --max-elements 100; narrow --region or pass --force"),
                many.err());
        assertEquals("", many.out());

        Cli.Run forced = Cli.run("cat", store.toString(), "grid_0000", "temperature", "--max-elements", "100", "--force",
                "--format", "raw");
        assertEquals(0, forced.code(), forced.toString());
        assertEquals(31104 * 4, forced.bytes().length);
    }

    @Test
    void unknownNamesAndMissingStoresAreNotFound() {
        Cli.Run ds = Cli.run("cat", store.toString(), "grid_9999", "temperature");
        assertEquals(AtlasCli.EXIT_NOT_FOUND, ds.code(), ds.toString());
        assertEquals("atlas: no dataset 'grid_9999' in the store at " + store + " (6 datasets; see 'atlas ls')", ds.err().strip());

        Cli.Run arr = Cli.run("cat", store.toString(), "grid_0000", "salinity");
        assertEquals(AtlasCli.EXIT_NOT_FOUND, arr.code(), arr.toString());
        assertEquals("atlas: dataset 'grid_0000' has no array 'salinity' (it has [time, temperature, precipitation, land_mask])",
                arr.err().strip());

        Cli.Run info = Cli.run("info", store.toString(), "nope");
        assertEquals(AtlasCli.EXIT_NOT_FOUND, info.code(), info.toString());

        Path missing = tmp.resolve("missing");
        for (String cmd : List.of("ls", "info", "compact")) {
            Cli.Run r = Cli.run(cmd, missing.toString());
            assertEquals(AtlasCli.EXIT_NOT_FOUND, r.code(), cmd + ": " + r);
            assertEquals(1, r.err().lines().count(), cmd + ": one line: " + r.err());
            assertTrue(r.err().startsWith("atlas: no store directory at "), r.err());
        }
        assertFalse(missing.toFile().exists(), "reading commands create nothing");

        Cli.Run verbose = Cli.run("ls", missing.toString(), "--verbose");
        assertEquals(AtlasCli.EXIT_NOT_FOUND, verbose.code());
        assertTrue(verbose.err().contains("dev.atlas.error.StoreNotFoundException"), verbose.err());
        assertTrue(verbose.err().contains("\tat "), "stack trace: " + verbose.err());
    }

    @Test
    void usageErrorsAndS3LocationsHaveTheirExitCodes() {
        Cli.Run none = Cli.run("ls");
        assertEquals(AtlasCli.EXIT_USAGE, none.code(), none.toString());
        assertTrue(none.err().contains("Missing required parameter: 'STORE'"), none.err());

        Cli.Run fmt = Cli.run("cat", store.toString(), "grid_0000", "time", "--format", "xml");
        assertEquals(AtlasCli.EXIT_USAGE, fmt.code(), fmt.toString());

        Cli.Run scheme = Cli.run("ls", "gs://bucket/x");
        assertEquals(AtlasCli.EXIT_USAGE, scheme.code(), scheme.toString());
        assertTrue(scheme.err().contains("unsupported store location 'gs://bucket/x'"), scheme.err());

        for (String cmd : List.of("ls", "info", "compact")) {
            // Nothing listens on port 1: the S3 backend's connection error, in one line.
            Cli.Run s3 = Cli.run("--endpoint", "http://127.0.0.1:1", "--path-style", "--s3-region", "us-east-1",
                    cmd, "s3://bucket/prefix");
            assertEquals(AtlasCli.EXIT_RUNTIME, s3.code(), cmd + ": " + s3);
            assertTrue(s3.err().startsWith("atlas: "), s3.err());
            assertEquals(1, s3.err().strip().lines().count(), s3.err());
        }
        Cli.Run badEndpoint = Cli.run("--endpoint", "not a url", "ls", "s3://bucket/prefix");
        assertEquals(AtlasCli.EXIT_USAGE, badEndpoint.code(), badEndpoint.toString());
        assertEquals(new StoreUri.S3("bucket", "a/b"), StoreSession.location("s3://bucket/a/b/"));
        assertEquals(new StoreUri.Local(Path.of("/x/y")), StoreSession.location("file:///x/y"));

        Cli.Run help = Cli.run("--help");
        assertEquals(0, help.code());
        assertTrue(help.out().contains("Exit codes: 0 ok; 1 runtime error"), help.out());
        for (String cmd : List.of("demo", "ls", "info", "cat", "dump", "import", "compact", "rm", "serve")) {
            assertTrue(help.out().contains("  " + cmd + " "), cmd + " listed: " + help.out());
        }
    }

    @Test
    void rmDeletesAndFlushesAndUnknownNamesDeleteNothing() throws Exception {
        Path s = copy("rm-store");
        Cli.Run bad = Cli.run("rm", s.toString(), "grid_0001", "grid_7777");
        assertEquals(AtlasCli.EXIT_NOT_FOUND, bad.code(), bad.toString());
        assertTrue(bad.err().contains("dataset 'grid_7777' is not in the store") && bad.err().contains("nothing deleted"), bad.err());
        assertEquals(N, Cli.run("ls", s.toString()).out().lines().count());

        Cli.Run ok = Cli.run("rm", s.toString(), "grid_0001", "grid_0004");
        assertEquals(0, ok.code(), ok.toString());
        assertTrue(ok.out().contains("removed 2 dataset(s)") && ok.out().contains("4 left"), ok.out());
        // A new process (a new handle) sees the deletion: it was flushed.
        assertEquals(List.of("grid_0000", "grid_0002", "grid_0003", "grid_0005"), Cli.run("ls", s.toString()).out().lines().toList());
        assertEquals(AtlasCli.EXIT_NOT_FOUND, Cli.run("cat", s.toString(), "grid_0001", "time").code());
        assertEquals(AtlasCli.EXIT_USAGE, Cli.run("rm", s.toString()).code(), "rm needs a dataset");
    }

    @Test
    void compactLeavesOneLayerPerArrayAndTheSameData() throws Exception {
        Path s = copy("compact-store");
        assertEquals(0, Cli.run("rm", s.toString(), "grid_0005").code());
        byte[] before = Cli.run("cat", s.toString(), "grid_0003", "precipitation", "--format", "raw").bytes();
        Cli.Run r = Cli.run("compact", s.toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("compacted " + s + " (5 datasets, 4 arrays)"), r.out());
        assertTrue(r.out().matches("(?s).*layer files 2[0-9] -> 4, .*"), r.out());
        assertArrayEquals(before, Cli.run("cat", s.toString(), "grid_0003", "precipitation", "--format", "raw").bytes());
        Cli.Run info = Cli.run("info", s.toString());
        assertTrue(info.out().matches("(?s).*temperature\\s+Float32\\s+5 dataset\\(s\\).*1 layer file\\(s\\).*"), info.out());
        // Again, as JSON: nothing left to reclaim.
        Cli.Run j = Cli.run("compact", s.toString(), "--json");
        assertEquals(0, j.code(), j.toString());
        com.fasterxml.jackson.databind.JsonNode rep = new com.fasterxml.jackson.databind.ObjectMapper().readTree(j.out());
        assertEquals(5, rep.get("datasets").asInt(), j.out());
        assertEquals(4, rep.get("layer_files").get("before").asInt(), j.out());
        assertEquals(4, rep.get("layer_files").get("after").asInt(), j.out());
        assertEquals(0, rep.get("garbage").asInt(), j.out());
    }

    @Test
    void unusableLocalLocationsAreUsageErrors() {
        for (String location : new String[] {"file://host/store", "file:///store?query", "bad\0path"}) {
            Cli.Run r = Cli.run("ls", location);
            assertEquals(AtlasCli.EXIT_USAGE, r.code(), location + ": " + r);
            assertTrue(r.err().startsWith("atlas: '"), r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
    }
}
