package dev.atlas.storage.local;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.testing.EngineTestBase;
import dev.atlas.testing.StorageContract;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Four child JVMs ({@link CasCounterChild}) increment one counter object in a shared directory by
 * compare-and-swap at the same time: the final value counts every increment exactly once, so no
 * process ever replaced a version another process had already replaced. (With a plain
 * {@code put} in place of {@code putIfMatch} the same run ends far below the total.)
 */
class LocalCasProcessesTest extends EngineTestBase {
    private static final int PROCESSES = 4;
    private static final int INCREMENTS = Integer.getInteger("atlas.cas.increments", 150);

    @Test
    void fourProcessesIncrementingByCompareAndSwapLoseNoIncrement() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("cas-store"));
        Path go = tmp.resolve("cas-go");
        try (LocalStorage s = LocalStorage.open(root, resources)) {
            s.putIfAbsent(CasCounterChild.KEY, StorageContract.body(new byte[] {'0'}, 1)).block(TIMEOUT);
        }
        String java = ProcessHandle.current().info().command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<Process> children = new ArrayList<>();
        List<Path> logs = new ArrayList<>();
        try {
            for (int i = 0; i < PROCESSES; i++) {
                Path log = tmp.resolve("cas-child-" + i + ".log");
                logs.add(log);
                children.add(new ProcessBuilder(java, "-Xmx128m", "-cp", System.getProperty("java.class.path"),
                        CasCounterChild.class.getName(), root.toString(), go.toString(), Integer.toString(INCREMENTS))
                        .redirectErrorStream(true).redirectOutput(log.toFile()).start());
            }
            Files.createFile(go); // all start their increments together, once they are up
            long start = System.nanoTime();
            for (int i = 0; i < PROCESSES; i++) {
                Process p = children.get(i);
                assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child " + i + " did not finish");
                assertEquals(0, p.exitValue(), "child " + i + ":\n" + Files.readString(logs.get(i)));
            }
            long millis = (System.nanoTime() - start) / 1_000_000;
            StringBuilder retries = new StringBuilder();
            for (Path log : logs) {
                retries.append(Files.readString(log).lines().filter(l -> l.startsWith("retries ")).findFirst()
                        .orElse("retries ?").substring(8)).append(' ');
            }
            try (LocalStorage s = LocalStorage.open(root, resources)) {
                long value = Long.parseLong(new String(StorageContract.readAll(s, CasCounterChild.KEY, 0,
                        s.head(CasCounterChild.KEY).block(TIMEOUT).size()), StandardCharsets.US_ASCII));
                System.out.printf("LocalCasProcessesTest: %d processes x %d increments -> %d in %d ms,"
                        + " lost races per process: %s%n", PROCESSES, INCREMENTS, value, millis, retries.toString().trim());
                assertEquals((long) PROCESSES * INCREMENTS, value, "increments lost");
                assertEquals(List.of(CasCounterChild.KEY),
                        s.list("").map(o -> o.key()).collectList().block(TIMEOUT), "only the counter is an object");
            }
        } finally {
            for (Process p : children) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }
}
