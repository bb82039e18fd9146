package dev.atlas.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Micrometer is an optional dependency of the engine: only {@code dev.atlas.metrics} may use it,
 * and the engine must load and run without it.
 */
class NoMicrometerTest {

    /** The engine's compiled main classes: only those of dev/atlas/metrics mention io/micrometer. */
    @Test
    void onlyTheMetricsPackageReferencesMicrometer() throws Exception {
        Path classes = Path.of(dev.atlas.store.Atlas.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        assertTrue(Files.isDirectory(classes.resolve("dev/atlas/metrics")), classes.toString());
        byte[] needle = "io/micrometer".getBytes(StandardCharsets.US_ASCII);
        List<String> offenders = new ArrayList<>();
        int scanned = 0;
        try (Stream<Path> files = Files.walk(classes)) {
            for (Path p : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".class"))::iterator) {
                scanned++;
                boolean inMetrics = classes.relativize(p).toString().replace(File.separatorChar, '/')
                        .startsWith("dev/atlas/metrics/");
                if (!inMetrics && contains(Files.readAllBytes(p), needle)) {
                    offenders.add(classes.relativize(p).toString());
                }
            }
        }
        assertTrue(scanned > 100, "scanned " + scanned + " classes");
        assertEquals(List.of(), offenders, "engine classes outside dev.atlas.metrics that reference Micrometer");
        assertTrue(contains(Files.readAllBytes(classes.resolve("dev/atlas/metrics/AtlasMetrics.class")), needle),
                "the scan finds the binder's own references");
    }

    /**
     * A child JVM on this test's class path minus Micrometer writes a small store, reopens it and
     * reads it back (a region and a stacked bulk read) with the storage counters on; loading the
     * binder there fails as it must.
     */
    @Test
    void engineRunsWithoutMicrometerOnTheClassPath() throws Exception {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> all = List.of(cp.split(File.pathSeparator));
        List<String> kept = all.stream().filter(e -> !e.replace('\\', '/').contains("/io/micrometer/"))
                .collect(Collectors.toList());
        assertTrue(kept.size() < all.size(), "the test class path holds Micrometer: " + cp);
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Path out = Files.createTempFile("no-micrometer", ".log");
        Process p = new ProcessBuilder(java.toString(), "-Xmx256m", "-cp", String.join(File.pathSeparator, kept),
                NoMicrometerMain.class.getName()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        try {
            boolean ended = p.waitFor(120, TimeUnit.SECONDS);
            String log = read(out);
            assertTrue(ended, "child JVM still running: " + log);
            assertEquals(0, p.exitValue(), log);
            assertTrue(log.contains("no micrometer"), log);
            assertTrue(log.contains("read ok"), log);
            assertTrue(log.contains("binder needs micrometer"), log);
            assertFalse(log.contains("Exception in thread"), log);
        } finally {
            p.destroyForcibly();
            Files.deleteIfExists(out);
        }
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }

    private static boolean contains(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }
}
