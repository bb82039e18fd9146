package dev.atlas.examples.fleet;

import static dev.atlas.examples.fleet.ChildArgs.say;
import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.runtime.EngineResources;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.StoreCodec;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import reactor.core.Exceptions;

/**
 * The single writer of {@link FleetReadIT} and {@link FleetKillIT}: round after round it
 * overwrites whole arrays of some datasets with the round number as their new version, creates
 * and deletes datasets, flushes, and compacts every few rounds. Before each flush it logs
 * {@code flushing} with the state the flush commits, after it {@code ack} ({@link CommitLog});
 * on stdout it prints the markers {@code ready}, {@code flushing N}, {@code acked N},
 * {@code compacting N}, {@code compacted N} and {@code done}.
 *
 * <p>Started on an existing store (after a kill) it first checks what it finds: exactly the state
 * of the last acknowledged commit, or of the flush that was running when it was killed, with
 * every value right ({@code resume found=ack|pending}); anything else is {@code LOST ...} and exit
 * code 3. It continues after the highest round in the log, so versions are never reused.
 *
 * <p>Arguments: {@code store= log= seed= rounds=} (0: until killed) {@code roundMillis=}
 * {@code compactEvery= codec=UNCOMPRESSED|ZSTD|LZ4 bigRows= initial= maxLive= [go=]}.
 */
public final class FleetWriter {
    private FleetWriter() {
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
        long rounds = a.number("rounds", 0);
        long roundMillis = a.number("roundMillis", 0);
        long compactEvery = a.number("compactEvery", 4);
        int bigRows = (int) a.number("bigRows", 512);
        int initial = (int) a.number("initial", 5);
        int maxLive = (int) a.number("maxLive", 10);
        Path spill = Files.createDirectories(logFile.resolveSibling("spill"));
        EngineResources resources = EngineResources.create(2, 2, PooledByteBufAllocator.DEFAULT);
        AtlasOptions options = AtlasOptions.builder(resources).codec(StoreCodec.valueOf(a.get("codec", "ZSTD")))
                .tempDirectory(spill).build();
        Atlas atlas = store.open(resources, options, true).block(TIMEOUT);

        // What an earlier (killed) writer left: exactly its last acknowledged state, or the state of
        // the flush it was in; every value right.
        List<CommitLog.Entry> entries = CommitLog.read(logFile);
        CommitLog.Commits commits = CommitLog.Commits.of(entries);
        List<String> problems = new ArrayList<>();
        Map<Long, Long> found = FleetData.readAll(atlas, problems);
        String verdict = commits.match(found);
        if (verdict == null || !problems.isEmpty()) {
            say("LOST the store holds " + CommitLog.formatState(found) + "; " + commits.describe() + "; problems: "
                    + problems);
            System.exit(3);
        }
        long round = 1;
        long nextId = 0;
        for (CommitLog.Entry e : entries) {
            round = Math.max(round, e.round() + 1);
            for (long id : e.state().keySet()) {
                nextId = Math.max(nextId, id + 1);
            }
        }
        for (Map.Entry<Long, Long> e : found.entrySet()) {
            round = Math.max(round, e.getValue() + 1);
            nextId = Math.max(nextId, e.getKey() + 1);
        }
        say("resume found=" + verdict.replace(' ', '-') + " datasets=" + found.size() + " round=" + round);
        Map<Long, Long> state = new TreeMap<>(found);
        Random rnd = new Random(a.number("seed", 1) * 31 + round);
        try (CommitLog log = CommitLog.append(logFile)) {
            say("ready round=" + round);
            a.awaitGo();
            for (long n = 0; rounds == 0 || n < rounds; n++, round++) {
                long t0 = System.nanoTime();
                List<Long> writes = new ArrayList<>();
                List<Long> creates = new ArrayList<>();
                List<Long> deletes = new ArrayList<>();
                if (state.isEmpty()) {
                    for (int i = 0; i < initial; i++) {
                        creates.add(nextId++);
                    }
                } else {
                    for (long id : state.keySet()) {
                        if (rnd.nextDouble() < 0.6) {
                            writes.add(id);
                        }
                    }
                    List<Long> live = new ArrayList<>(state.keySet());
                    if (writes.isEmpty()) {
                        writes.add(live.get(rnd.nextInt(live.size())));
                    }
                    if (rnd.nextDouble() < 0.35 && nextId <= FleetData.MAX_ID) {
                        creates.add(nextId++);
                    }
                    List<Long> untouched = new ArrayList<>(live);
                    untouched.removeAll(writes);
                    untouched.remove(0L); // dataset 0 (the multi-piece one) lives for the whole run
                    if (live.size() > 3 && !untouched.isEmpty() && (live.size() >= maxLive || rnd.nextDouble() < 0.25)) {
                        deletes.add(untouched.get(rnd.nextInt(untouched.size())));
                    }
                }
                for (long id : writes) {
                    FleetData.write(atlas.dataset(FleetData.name(id)), id, round, bigRows).block(TIMEOUT);
                    state.put(id, round);
                }
                for (long id : creates) {
                    FleetData.create(atlas, id, round, bigRows).block(TIMEOUT);
                    state.put(id, round);
                }
                for (long id : deletes) {
                    atlas.deleteDataset(FleetData.name(id)).block(TIMEOUT);
                    state.remove(id);
                }
                String s = CommitLog.formatState(state);
                log.log("flushing", round, s);
                say("flushing " + round);
                try {
                    atlas.flush().block(TIMEOUT);
                } catch (RuntimeException e) {
                    say("error flush " + round + " " + ChildArgs.describe(Exceptions.unwrap(e)));
                    System.exit(2);
                }
                log.log("ack", round, s);
                say("acked " + round);
                if (compactEvery > 0 && round % compactEvery == 0) {
                    say("compacting " + round);
                    try {
                        atlas.compact().block(TIMEOUT);
                    } catch (RuntimeException e) {
                        say("error compact " + round + " " + ChildArgs.describe(Exceptions.unwrap(e)));
                        System.exit(2);
                    }
                    say("compacted " + round);
                }
                long left = roundMillis - (System.nanoTime() - t0) / 1_000_000;
                if (left > 0) {
                    Thread.sleep(left); // pacing of the rounds, not a wait for anything
                }
            }
        }
        say("done round=" + (round - 1));
        atlas.close().block(TIMEOUT);
        resources.dispose();
        System.exit(0);
    }
}
