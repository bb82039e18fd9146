package dev.atlas.examples.fleet;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.atlas.examples.fleet.FleetStore.Backend;
import dev.atlas.store.Atlas;
import dev.atlas.store.StoreCodec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SIGKILL of the single writer ({@link FleetWriter}) at random points of its flushes and
 * compactions, while a reader process ({@link FleetReader}) keeps reopening the store and checking
 * everything it reads. Each kill lands a random delay after one of the writer's marker lines
 * ({@code ready}: opening, writing the next round; {@code flushing N}; {@code compacting N}), the
 * delay drawn up to a little more than that operation took so far, so kills fall inside it. After
 * each kill this JVM opens the store and requires exactly the last acknowledged commit or the
 * killed flush's complete state (never a lost ack, never half a commit), every value checked; the
 * restarted writer checks the same before it continues. Kills per run:
 * {@code -Datlas.fleet.kills} (default 50 across the backends: 30 local, 10 per S3 server).
 */
@Tag("slow") // minutes: runs with -Pall-tests (README's test command, CI), not in a plain mvn verify
class FleetKillIT extends FleetTestBase {
    /** Fail at the first kill after which the reader found something ({@code -Datlas.fleet.failFast=false}: at the end). */
    private static final boolean FAIL_FAST = Boolean.parseBoolean(System.getProperty("atlas.fleet.failFast", "true"));

    static int killsFor(Backend b) {
        int total = intProperty("atlas.fleet.kills", 50);
        return b == Backend.LOCAL ? (total * 3 + 4) / 5 : (total + 4) / 5;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("backends")
    void sigkilledWriterLosesNoAcknowledgedCommitAndReadersAreNeverWrong(Backend backend) throws Exception {
        int kills = killsFor(backend);
        long seed = seed("FleetKillIT[" + backend + "]");
        Random rnd = new Random(seed);
        StoreCodec codec = codec(backend == Backend.S3MOCK ? StoreCodec.UNCOMPRESSED : StoreCodec.ZSTD);
        Path dir = runDir("kill-" + backend);
        FleetStore store = FleetStore.of(backend, dir, "store");
        Path log = dir.resolve("commits.log");
        ChildJvm reader = null;
        Map<String, Integer> byMarker = new TreeMap<>();
        int pendingCommitted = 0;
        int pendingLost = 0;
        long flushMillis = backend == Backend.LOCAL ? 80 : 250;
        long compactMillis = backend == Backend.LOCAL ? 120 : 400;
        long t0 = System.nanoTime();
        long toReady = 0;
        long verifyTime = 0;
        for (int k = 0; k < kills; k++) {
            ChildJvm writer = own(ChildJvm.start("writer-" + k, dir, Map.of(), FleetWriter.class.getName(),
                    args("store", store.arg(), "log", log, "seed", seed + k, "rounds", 0, "roundMillis", 0,
                            "compactEvery", 3, "codec", codec, "bigRows", 256, "initial", 4, "maxLive", 6)));
            long started = System.nanoTime();
            int ready = writer.require(0, l -> l.startsWith("ready") || l.startsWith("LOST"), "ready");
            toReady += System.nanoTime() - started;
            if (writer.lines().get(ready).startsWith("LOST")) {
                fail("kill " + k + ": the restarted writer did not find what was acknowledged: "
                        + writer.lines().get(ready));
            }
            if (reader == null) {
                reader = own(ChildJvm.start("reader", dir, Map.of(), FleetReader.class.getName(),
                        args("store", store.arg(), "log", log, "pauseMillis", 150)));
            }
            int pick = rnd.nextInt(10);
            String marker = pick < 2 ? "ready" : pick < 7 ? "flushing " : "compacting ";
            int at = ready;
            long delay;
            if (marker.equals("ready")) {
                delay = rnd.nextInt((int) (2 * flushMillis) + 1);
            } else {
                int nth = marker.equals("flushing ") ? 1 + rnd.nextInt(2) : 1;
                for (int i = 0; i < nth; i++) {
                    at = writer.require(at + 1, l -> l.startsWith(marker), "'" + marker.trim() + "'");
                }
                long typical = marker.equals("flushing ") ? flushMillis : compactMillis;
                delay = rnd.nextInt((int) (typical * 6 / 5) + 1);
            }
            Thread.sleep(delay); // the random kill point, not a wait for anything
            if (!writer.alive()) {
                fail("kill " + k + ": the writer exited by itself with " + writer.process().exitValue() + ":\n"
                        + writer.tail(30));
            }
            writer.kill();
            byMarker.merge(marker.trim(), 1, Integer::sum);
            flushMillis = Math.max(flushMillis, longest(writer, "flushing ", "acked "));
            compactMillis = Math.max(compactMillis, longest(writer, "compacting ", "compacted "));
            long verifying = System.nanoTime();
            String found = verify(store, log, codec, "kill " + k + " (" + delay + " ms after '" + writer.lines().get(at)
                    + "')");
            verifyTime += System.nanoTime() - verifying;
            if (found.startsWith("pending")) {
                pendingCommitted++;
            } else if (!CommitLog.Commits.of(CommitLog.read(log)).pending().isEmpty()) {
                pendingLost++;
            }
            FleetReader.Report so = FleetReader.Report.of(reader.lines());
            if (!so.findings().isEmpty() && FAIL_FAST) {
                fail("after kill " + k + " the reader found:\n" + String.join("\n", so.findings().subList(0,
                        Math.min(20, so.findings().size()))));
            }
        }
        long acked = CommitLog.Commits.of(CommitLog.read(log)).acked().size();
        FleetReader.Report report = FleetReader.Report.of(reader.lines());
        reader.kill();
        System.out.printf("FleetKillIT[%s, codec %s]: %d kills %s in %.1f s (mean per kill: %d ms to the writer's ready line, %d ms verifying); %d acknowledged commits, 0 lost; killed"
                + " flushes found committed: %d, not committed: %d; reader: %s%n", backend, codec, kills, byMarker,
                (System.nanoTime() - t0) / 1e9, toReady / kills / 1_000_000, verifyTime / kills / 1_000_000, acked, pendingCommitted, pendingLost, report);
        assertEquals(List.of(), report.findings(), "the reader's findings");
        assertTrue(report.cycles() > 0, "the reader reopened the store at least once: " + reader.tail(20));
        // Kills land from the first round on, so a life commits about once on S3: a quarter is a floor
        // that only a writer that never gets through a flush misses.
        assertTrue(acked >= kills / 4, "the writers made progress: " + acked + " acknowledged commits in " + kills
                + " lives");
    }

    /** The longest {@code start N} .. {@code end N} interval of the writer's output, in ms. */
    private static long longest(ChildJvm writer, String start, String end) {
        List<String> lines = writer.lines();
        long max = 0;
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).startsWith(start)) {
                String done = end + lines.get(i).substring(start.length());
                for (int j = i + 1; j < lines.size(); j++) {
                    if (lines.get(j).equals(done)) {
                        max = Math.max(max, writer.lineMillis(j) - writer.lineMillis(i));
                        break;
                    }
                }
            }
        }
        return Math.min(max, 5_000);
    }

    /**
     * Opens the store here and requires the last acknowledged state or one of the killed flush's,
     * complete and with every value right; returns which ({@code ack} or {@code pending N}).
     */
    private static String verify(FleetStore store, Path log, StoreCodec codec, String when) {
        CommitLog.Commits commits = CommitLog.Commits.of(CommitLog.read(log));
        if (commits.acked().isEmpty() && commits.pending().isEmpty()) {
            return "ack"; // killed before its first flush: nothing to find
        }
        Atlas atlas = openHere(store, false, codec);
        try {
            List<String> problems = FleetData.problems();
            Map<Long, Long> found = FleetData.readAll(atlas, problems);
            String match = commits.match(found);
            if (!problems.isEmpty() || match == null) {
                fail(when + ": the store holds " + CommitLog.formatState(found) + (problems.isEmpty() ? ""
                        : " with wrong values " + problems) + ", expected exactly one committed state; "
                        + commits.describe());
            }
            return match;
        } finally {
            atlas.close().block(TIMEOUT);
        }
    }
}
