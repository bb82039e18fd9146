package dev.atlas.storage.local;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.NdArray;
import dev.atlas.testing.EngineTestBase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A child JVM ({@link CrashChild}) writes, flushes and compacts an {@link ArrayFile} over
 * {@link LocalStorage} in a loop and is killed with SIGKILL at random moments. After every kill the
 * parent reopens the file set: every flush the child acknowledged must be fully readable with the
 * right values, and every array that is visible at all must be complete (nothing half-visible).
 * {@code -Datlas.crash.kills=N} (default 50) and {@code -Datlas.crash.seed=S}.
 */
@Tag("slow") // minutes: runs with -Pall-tests (README's test command, CI), not in a plain mvn verify
class LocalCrashIT extends EngineTestBase {
    @Test
    void sigkillAtRandomMomentsLosesNoAcknowledgedFlush() throws Exception {
        int kills = Integer.getInteger("atlas.crash.kills", 50);
        long seed = Long.getLong("atlas.crash.seed", System.nanoTime());
        System.out.println("LocalCrashIT seed " + seed + " (-Datlas.crash.seed=" + seed + "), " + kills + " kills");
        Random rnd = new Random(seed);
        Path root = Files.createDirectories(tmp.resolve("store"));
        Path acks = tmp.resolve("acks.txt");
        Path log = tmp.resolve("child.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int survived = 0;
        int lost = 0;
        int maxAcked = -1;
        int visibleUnacked = 0;
        Path ready = tmp.resolve("ready");
        for (int k = 0; k < kills; k++) {
            Files.deleteIfExists(ready);
            Process child = new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"),
                    CrashChild.class.getName(), root.toString(), acks.toString(), Long.toString(seed + k), ready.toString())
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            // One kill in ten lands early (JVM start-up, or opening the file set); the others count
            // from the moment the child has the file set open, so that how far a child gets does
            // not depend on how long the JVM takes to start on a loaded machine.
            boolean early = rnd.nextInt(10) == 0;
            long delay = early ? rnd.nextInt(300) : rnd.nextInt(1500);
            if (!early) {
                long deadline = System.nanoTime() + TIMEOUT.toNanos();
                while (!Files.exists(ready) && child.isAlive() && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
            }
            if (child.waitFor(delay, TimeUnit.MILLISECONDS)) {
                fail("the child exited by itself with " + child.exitValue() + ":\n" + Files.readString(log));
            }
            child.destroyForcibly(); // SIGKILL on Unix
            child.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            List<Integer> acked = new ArrayList<>();
            // A child killed during JVM start-up has not created the file yet.
            for (String line : Files.exists(acks) ? Files.readAllLines(acks) : List.<String>of()) {
                if (!line.isBlank()) {
                    acked.add(Integer.parseInt(line.trim()));
                }
            }
            try (LocalStorage storage = LocalStorage.open(root, resources)) {
                if (acked.isEmpty() && !Files.exists(root.resolve("set.af"))) {
                    survived++;
                    continue;
                }
                ArrayFile f = ArrayFile.open(storage, "set.af", ArrayFileOptions.builder(resources).build()).block(TIMEOUT);
                List<String> visible = f.listArrays();
                for (int i : acked) {
                    if (!visible.contains("it" + i)) {
                        lost++;
                        System.out.println("kill " + k + ": acknowledged it" + i + " is missing");
                    }
                }
                for (String name : visible) {
                    int i = Integer.parseInt(name.substring(2));
                    try (NdArray a = f.readArray(name).block(TIMEOUT)) {
                        for (int j = 0; j < CrashChild.LENGTH; j++) {
                            if (a.getInt(j) != CrashChild.value(i, j)) {
                                fail("kill " + k + ": " + name + " element " + j + " is " + a.getInt(j) + ", half-visible");
                            }
                        }
                    }
                    if (!acked.contains(i)) {
                        visibleUnacked++; // committed, killed before the acknowledgement: fine, and complete
                    }
                }
                maxAcked = acked.isEmpty() ? maxAcked : Math.max(maxAcked, acked.get(acked.size() - 1));
                f.close().block(TIMEOUT);
            }
            survived++;
        }
        System.out.printf("LocalCrashIT: %d kills survived, %d acknowledged flushes lost, %d flushes acknowledged"
                + " in all, %d committed-but-unacknowledged arrays seen complete%n", survived, lost, maxAcked + 1,
                visibleUnacked);
        assertEquals(0, lost, "acknowledged flushes lost");
        assertEquals(kills, survived);
        assertTrue(maxAcked >= kills / 2, "the children made progress: " + (maxAcked + 1) + " flushes");
    }
}
