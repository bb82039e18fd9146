package dev.atlas.examples.fleet;

import static dev.atlas.examples.fleet.ChildArgs.say;
import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.error.NotFoundException;
import dev.atlas.error.StorageException;
import dev.atlas.error.StoreNotFoundException;
import dev.atlas.runtime.EngineResources;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import reactor.core.Exceptions;

/**
 * A reader that reopens the store ({@link Atlas#open}, no refresh) over and over while the writer
 * of the same test works, reads every array of every dataset whole and checks it against the
 * writer's {@link CommitLog}:
 * <ul>
 *   <li>each array is exactly one (dataset, array, version) with the right indices;
 *   <li>the version was flushed by the writer at some point (no invented or torn values);
 *   <li>it is not older than the dataset's version in the last commit acknowledged before the open
 *       (an acknowledged commit is visible to every handle opened after it);
 *   <li>a listed dataset is in that commit or a later flush, and a dataset of that commit that is
 *       not listed was deleted by a later flush.
 * </ul>
 * Per cycle it prints {@code cycle N datasets=D arrays=A wrong=W errors=E retried=R}, and one
 * {@code WRONG ...} or {@code ERROR ...} line per finding. Read failures that are typed retryable
 * storage errors count as retried (the engine may give up re-planning under constant compaction);
 * a dataset the handle lists but whose read finds it gone (typed not-found, or empty) is fine when
 * a later flush deleted it; other failures are errors. Runs until killed. Arguments: {@code store= log= [pauseMillis=]}.
 */
public final class FleetReader {
    private FleetReader() {
    }

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable t) {
            say("error fatal " + ChildArgs.describe(t));
            t.printStackTrace(System.out);
            System.out.flush();
            System.exit(2);
        }
    }

    private static void run(String[] args) throws Exception {
        ChildArgs a = new ChildArgs(args);
        FleetStore store = FleetStore.parse(a.get("store"));
        Path logFile = a.path("log");
        long pause = a.number("pauseMillis", 50);
        EngineResources resources = EngineResources.create(2, 2, PooledByteBufAllocator.DEFAULT);
        AtlasOptions options = AtlasOptions.builder(resources).build();
        say("ready");
        for (long cycle = 1; ; cycle++) {
            CommitLog.Commits before = CommitLog.Commits.of(CommitLog.read(logFile));
            Atlas atlas;
            try {
                atlas = store.openForReading(resources, options).block(TIMEOUT);
            } catch (RuntimeException e) {
                Throwable u = Exceptions.unwrap(e);
                if (u instanceof StoreNotFoundException && before.acked().isEmpty()) {
                    Thread.sleep(pause); // nothing committed yet: no store to open
                    continue;
                }
                if (u instanceof StorageException se && se.retryable()) {
                    say("cycle " + cycle + " datasets=0 arrays=0 wrong=0 errors=0 retried=1");
                } else {
                    say("ERROR open " + ChildArgs.describe(u));
                    say("cycle " + cycle + " datasets=0 arrays=0 wrong=0 errors=1 retried=0");
                }
                Thread.sleep(pause);
                continue;
            }
            int wrong = 0;
            int errors = 0;
            int retried = 0;
            int arrays = 0;
            List<String> listed = atlas.listDatasets();
            Map<Long, Map<String, Long>> read = new LinkedHashMap<>();
            // Datasets listed by the handle whose read found them gone: fine only if a later flush deleted them.
            Map<Long, String> vanished = new LinkedHashMap<>();
            for (String name : listed) {
                try {
                    Map<String, Long> versions = FleetData.readDataset(atlas, name);
                    read.put(FleetData.id(name), versions);
                    arrays += versions.size();
                } catch (FleetData.Mismatch m) {
                    if (m.getMessage().contains("declared but reads empty")) {
                        vanished.put(FleetData.id(name), m.getMessage());
                    } else {
                        say("WRONG " + m.getMessage());
                        wrong++;
                    }
                } catch (RuntimeException e) {
                    Throwable u = Exceptions.unwrap(e);
                    if (u instanceof StorageException se && se.retryable()) {
                        retried++;
                    } else if (u instanceof NotFoundException) {
                        vanished.put(FleetData.id(name), ChildArgs.describe(u));
                    } else {
                        say("ERROR " + name + " " + ChildArgs.describe(u));
                        errors++;
                    }
                }
            }
            atlas.close().block(TIMEOUT);

            List<CommitLog.Entry> after = CommitLog.read(logFile);
            long ackRound = before.last() == null ? 0 : before.last().round();
            Map<Long, Long> acked = before.lastState();
            Map<Long, Set<Long>> flushed = new HashMap<>();
            Set<Long> presentLater = new HashSet<>();
            Set<Long> absentLater = new HashSet<>();
            for (CommitLog.Entry e : after) {
                Map<Long, Long> s = e.state();
                s.forEach((id, v) -> flushed.computeIfAbsent(id, k -> new HashSet<>()).add(v));
                if (e.kind().equals("flushing") && e.round() > ackRound) {
                    presentLater.addAll(s.keySet());
                    for (long id : acked.keySet()) {
                        if (!s.containsKey(id)) {
                            absentLater.add(id);
                        }
                    }
                }
            }
            for (Map.Entry<Long, Map<String, Long>> d : read.entrySet()) {
                long id = d.getKey();
                for (Map.Entry<String, Long> av : d.getValue().entrySet()) {
                    long v = av.getValue();
                    String what = FleetData.name(id) + "/" + av.getKey() + " version " + v;
                    if (!flushed.getOrDefault(id, Set.of()).contains(v)) {
                        say("WRONG " + what + " was never flushed by the writer (flushed versions: "
                                + flushed.getOrDefault(id, Set.of()) + ")");
                        wrong++;
                    } else if (acked.containsKey(id) && v < acked.get(id)) {
                        say("WRONG " + what + " is older than version " + acked.get(id) + " of round " + ackRound
                                + ", acknowledged before this handle was opened");
                        wrong++;
                    }
                }
            }
            for (String name : listed) {
                long id = FleetData.id(name);
                if (!acked.containsKey(id) && !presentLater.contains(id)) {
                    say("WRONG " + name + " is listed but is neither in round " + ackRound
                            + " (acknowledged before the open) nor in a later flush");
                    wrong++;
                }
            }
            for (long id : acked.keySet()) {
                if (!listed.contains(FleetData.name(id)) && !absentLater.contains(id)) {
                    say("WRONG " + FleetData.name(id) + " of round " + ackRound
                            + " (acknowledged before the open) is not listed, and no later flush deleted it");
                    wrong++;
                }
            }
            for (Map.Entry<Long, String> v : vanished.entrySet()) {
                if (!deletedAfter(v.getKey(), ackRound, acked, after)) {
                    say("WRONG " + FleetData.name(v.getKey()) + " is listed but its read found it gone (" + v.getValue()
                            + "), and no flush after round " + ackRound + " deleted it");
                    wrong++;
                }
            }
            say("cycle " + cycle + " datasets=" + listed.size() + " arrays=" + arrays + " wrong=" + wrong + " errors="
                    + errors + " retried=" + retried);
            Thread.sleep(pause); // pacing between reopenings
        }
    }

    /** Whether a flush after round {@code ackRound} (whose state was {@code acked}) deleted dataset {@code id}. */
    static boolean deletedAfter(long id, long ackRound, Map<Long, Long> acked, List<CommitLog.Entry> log) {
        boolean present = acked.containsKey(id);
        for (CommitLog.Entry e : log) {
            if (!e.kind().equals("flushing") || e.round() <= ackRound) {
                continue;
            }
            boolean now = e.state().containsKey(id);
            if (present && !now) {
                return true;
            }
            present = now;
        }
        return false;
    }

    /** Sums of a reader's {@code cycle} lines and its WRONG and ERROR lines. */
    record Report(long cycles, long arrays, long wrong, long errors, long retried, List<String> findings) {
        static Report of(List<String> lines) {
            long cycles = 0;
            long arrays = 0;
            long wrong = 0;
            long errors = 0;
            long retried = 0;
            List<String> findings = new java.util.ArrayList<>();
            for (String l : lines) {
                if (l.startsWith("cycle ")) {
                    cycles++;
                    for (String kv : l.split(" ")) {
                        int eq = kv.indexOf('=');
                        if (eq < 0) {
                            continue;
                        }
                        long n = Long.parseLong(kv.substring(eq + 1));
                        switch (kv.substring(0, eq)) {
                            case "arrays" -> arrays += n;
                            case "wrong" -> wrong += n;
                            case "errors" -> errors += n;
                            case "retried" -> retried += n;
                            default -> { }
                        }
                    }
                } else if (l.startsWith("WRONG ") || l.startsWith("ERROR ")) {
                    findings.add(l);
                }
            }
            return new Report(cycles, arrays, wrong, errors, retried, findings);
        }

        @Override
        public String toString() {
            return cycles + " reopenings, " + arrays + " arrays read and checked, " + wrong + " wrong, " + errors
                    + " errors, " + retried + " retryable failures";
        }
    }
}
