package dev.atlas.examples.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atlas.examples.netcdf.NcImporter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Progress of {@code import} (bytes, inside each file) and {@code compact} (file sets and bytes):
 * on stderr only when it is a terminal or {@code --progress} is given, never on stdout, so
 * {@code --json} stays one document. In-process with captured streams, and as real child
 * processes whose stderr is a file (no progress unless asked) or a terminal ({@code script}).
 */
class ProgressTest {
    static final ObjectMapper MAPPER = new ObjectMapper();

    @TempDir
    Path tmp;

    private Path demoStore(String name) {
        Path store = tmp.resolve(name);
        Cli.Run r = Cli.run("demo", "--store", store.toString(), "--datasets", "4", "--no-serve", "--flush-every", "2");
        assertEquals(0, r.code(), r.toString());
        return store;
    }

    @Test
    void importReportsBytesInsideEachLargeFileAsLines() {
        StringWriter w = new StringWriter();
        ImportProgress p = new ImportProgress(new PrintWriter(w), ProgressOption.Mode.LINES, 1500, 2, 1000);
        NcImporter.Progress big = p.forFile("big.nc", 1000);
        big.variable("big.nc", "temperature", 600);
        for (int i = 0; i < 6; i++) {
            big.advance(100);
        }
        big.variable("big.nc", "salinity", 400);
        for (int i = 0; i < 4; i++) {
            big.advance(100);
        }
        p.fileDone("imported big.nc as 'big'");
        NcImporter.Progress small = p.forFile("small.nc", 500);       // below the line size: no lines inside
        small.variable("small.nc", "v", 500);
        small.advance(500);
        p.fileDone("imported small.nc as 'small'");
        p.finish();
        List<String> lines = w.toString().lines().toList();
        assertEquals(11, lines.size(), w.toString());
        assertTrue(lines.get(0).startsWith("import big.nc 10%: 100 B of 1000 B (variable temperature); 100 B of 1.5 KiB, "),
                lines.get(0));
        assertTrue(lines.get(6).startsWith("import big.nc 70%: 700 B of 1000 B (variable salinity); "), lines.get(6));
        assertTrue(lines.get(9).startsWith("imported big.nc as 'big' (1/2 files; 1000 B of 1.5 KiB, "), lines.get(9));
        assertTrue(lines.get(10).startsWith("imported small.nc as 'small' (2/2 files; 1.5 KiB of 1.5 KiB, "), lines.get(10));
        assertFalse(w.toString().contains("\r"));
    }

    @Test
    void importOnATerminalRedrawsTheFileBeingCopiedWithItsBytes() {
        StringWriter w = new StringWriter();
        ImportProgress p = new ImportProgress(new PrintWriter(w), ProgressOption.Mode.REDRAW, 2000, 1);
        NcImporter.Progress f = p.forFile("big.nc", 2000);
        f.variable("big.nc", "temperature", 2000);
        f.advance(500);                                   // the first advance draws
        p.fileDone("imported big.nc as 'big'");
        p.finish();
        String s = w.toString();
        assertTrue(s.startsWith("\rimport [#######.......................] 25% 500 B of 2.0 KiB, "), s);
        assertTrue(s.contains(", 0/1 files, big.nc 500 B of 2.0 KiB (temperature)"), s);
        assertTrue(s.contains("imported big.nc as 'big'\n"), s);
        assertTrue(s.endsWith("\n"), s);
    }

    @Test
    void noProgressWhenNotAskedAndStderrIsNoTerminal() {
        StringWriter w = new StringWriter();
        ImportProgress p = new ImportProgress(new PrintWriter(w), ProgressOption.Mode.NONE, 1000, 1, 10);
        NcImporter.Progress f = p.forFile("big.nc", 1000);
        f.variable("big.nc", "v", 1000);
        f.advance(1000);
        p.fileDone("imported big.nc as 'big'");
        p.finish();
        assertEquals("", w.toString());
    }

    @Test
    void importShowsProgressOnlyWithTheOption() throws Exception {
        Path fixtures = ImportCommandTest.fixtures();
        Cli.Run quiet = Cli.run("import", fixtures.toString(), "--store", tmp.resolve("a").toString());
        assertEquals(0, quiet.code(), quiet.toString());
        assertEquals("", quiet.err(), "no progress without --progress when stderr is no terminal");
        Cli.Run loud = Cli.run("import", fixtures.toString(), "--store", tmp.resolve("b").toString(), "--progress");
        assertEquals(0, loud.code(), loud.toString());
        assertTrue(loud.err().contains("imported ocean.nc as 'ocean'") && loud.err().contains("(2/2 files; 582 B of 582 B"),
                loud.err());
        assertEquals(quiet.out().replace(tmp.resolve("a").toString(), "STORE").replaceAll("in [0-9.]+ s", ""),
                loud.out().replace(tmp.resolve("b").toString(), "STORE").replaceAll("in [0-9.]+ s", ""),
                "stdout is the same with and without progress");
        Cli.Run off = Cli.run("import", fixtures.toString(), "--store", tmp.resolve("c").toString(), "--no-progress");
        assertEquals("", off.err());
    }

    /**
     * File sets compact concurrently, so the report numbered 4 of 4 may reach the printer before
     * the one numbered 3: the final line must still count every file set's bytes. (A CI run drew
     * "100% 4/4 array file sets, 274.8 KiB of 392.2 KiB" when the printer took the count from the
     * report.)
     */
    @Test
    void compactProgressOutOfOrderStillEndsWithEveryByte() {
        StringWriter w = new StringWriter();
        CompactCommand.Progress p = new CompactCommand.Progress(new PrintWriter(w), ProgressOption.Mode.LINES,
                java.util.Map.of("a", 100L, "b", 200L, "c", 300L, "d", 400L));
        p.accept(new dev.atlas.store.CompactionProgress("a", true, 1, 4));
        p.accept(new dev.atlas.store.CompactionProgress("b", true, 2, 4));
        p.accept(new dev.atlas.store.CompactionProgress("d", true, 4, 4));
        p.accept(new dev.atlas.store.CompactionProgress("c", true, 3, 4));
        List<String> lines = w.toString().lines().toList();
        String last = lines.get(lines.size() - 1);
        assertTrue(last.contains("100% 4/4 array file sets, 1000 B of 1000 B"), w.toString());
    }

    @Test
    void compactProgressCountsFileSetsAndBytesOnStderrOnly() throws Exception {
        Path store = demoStore("store");
        Cli.Run r = Cli.run("compact", store.toString(), "--json", "--progress");
        assertEquals(0, r.code(), r.toString());
        JsonNode report = MAPPER.readTree(r.out());                  // stdout is the JSON document alone
        assertEquals(4, report.get("compacted").size(), r.out());
        List<String> lines = r.err().lines().toList();
        // 4 file sets, at most a line per tenth reached: file sets compact concurrently, so two
        // that finish together may be reported by one line (25 %, 75 %, 100 % was seen).
        assertTrue(lines.size() >= 1 && lines.size() <= 4, r.err());
        String last = lines.get(lines.size() - 1);
        assertTrue(last.matches("compact \\[#{30}\\] 100% 4/4 array file sets, [0-9.]+ \\w+ of [0-9.]+ \\w+, .*/s, \\w+"), last);
        String bytes = last.replaceAll(".*sets, ([0-9.]+ \\w+) of ([0-9.]+ \\w+),.*", "$1|$2");
        assertEquals(bytes.split("\\|")[0], bytes.split("\\|")[1], "all bytes done at the end: " + last);

        Cli.Run quiet = Cli.run("compact", store.toString(), "--json");
        assertEquals(0, quiet.code(), quiet.toString());
        assertEquals("", quiet.err());
        MAPPER.readTree(quiet.out());
    }

    /** The real tool in a child JVM; stdout and stderr to files. */
    private static String[] child(Path dir, List<String> args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(javaCommand(), "-cp", System.getProperty("java.class.path"),
                AtlasCli.class.getName()));
        cmd.addAll(args);
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        try {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child finished");
        } finally {
            p.destroyForcibly();
        }
        return new String[] {Integer.toString(p.exitValue()), Files.readString(out), Files.readString(err)};
    }

    private static String javaCommand() {
        return ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    @Test
    void theRealToolKeepsProgressOffAFileUnlessAskedAndNeverOnStdout() throws Exception {
        Path store = demoStore("child");
        String[] quiet = child(tmp, List.of("compact", store.toString(), "--json"));
        assertEquals("0", quiet[0], quiet[2]);
        assertEquals("", quiet[2], "stderr is a file, not a terminal: no progress");
        MAPPER.readTree(quiet[1]);
        String[] loud = child(tmp, List.of("compact", store.toString(), "--json", "--progress"));
        assertEquals("0", loud[0], loud[2]);
        assertTrue(loud[2].contains("compact [##############################] 100% 4/4 array file sets"), loud[2]);
        assertFalse(loud[2].contains("\r"), "lines, not redraws, off a terminal");
        assertEquals(4, MAPPER.readTree(loud[1]).get("compacted").size(), loud[1]);
    }

    @Test
    void theRealToolRedrawsOnATerminal() throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/script"))) {
            System.out.println("ProgressTest: no /usr/bin/script (util-linux) to give the tool a terminal; skipped");
            return;
        }
        Path store = demoStore("tty");
        StringBuilder line = new StringBuilder();
        for (String a : List.of(javaCommand(), "-cp", System.getProperty("java.class.path"), AtlasCli.class.getName(),
                "compact", store.toString())) {
            line.append('\'').append(a.replace("'", "'\\''")).append("' ");
        }
        Path typescript = tmp.resolve("typescript");
        Process p = new ProcessBuilder("/usr/bin/script", "-qec", line.toString(), typescript.toString())
                .redirectInput(ProcessBuilder.Redirect.PIPE).redirectErrorStream(true)
                .redirectOutput(tmp.resolve("script.out").toFile()).start();
        p.getOutputStream().close();
        try {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child finished");
        } finally {
            p.destroyForcibly();
        }
        String seen = new String(Files.readAllBytes(tmp.resolve("script.out")), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), seen);
        assertTrue(seen.contains("\rcompact [") && seen.contains("4/4 array file sets"), seen);
        assertTrue(seen.contains("compacted " + store), seen);
    }
}
