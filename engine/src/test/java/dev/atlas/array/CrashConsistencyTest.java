package dev.atlas.array;

import dev.atlas.testing.EngineTestBase;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.atlas.codec.BlockCodecs;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.testing.FaultInjectingStorage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * A scripted history of writes, flushes and compactions; for every commit step and every storage
 * call it makes, a run where the process "dies" at that call (the call and every later one fail).
 * Reopening the surviving objects must show exactly the state before the step or after it, with
 * statistics that are current and right, or reported stale; and the reopened file set must accept
 * the next commit.
 */
class CrashConsistencyTest extends EngineTestBase {
    private static ArrayFileOptions options() {
        return ArrayFileOptions.builder(resources).codec(BlockCodecs.lz4()).blockTargetSize(48).tempDirectory(tmp)
                .readConcurrency(3).build();
    }

    /** One step: mutations (kept pending) then a commit. */
    private record Step(String name, Function<ArrayFile, Mono<Void>> mutate, Function<ArrayFile, Mono<Void>> commit) {
    }

    private static Mono<Void> ints(ArrayFile f, String name, long[] start, long[] shape, int... v) {
        return Mono.defer(() -> {
            NdArray d = NdArray.ofInts(DType.INT32, shape, v);
            return f.writeArray(name, start, d).doFinally(s -> d.close());
        });
    }

    private static int[] seq(int n, int from) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = from + i;
        }
        return a;
    }

    private static List<Step> script() {
        List<Step> steps = new ArrayList<>();
        steps.add(new Step("flush 1", f -> f.defineArray("a", ArraySpec.of(DType.INT32, 10).withChunks(3)
                        .withFill(new FillValue.Int(7)))
                .then(ints(f, "a", new long[] {0}, new long[] {10}, seq(10, 0)))
                .then(f.setAttribute("a", "units", AttributeValue.ofString("K")))
                .then(f.defineArray("s", ArraySpec.of(DType.STRING, 5).withChunks(2)))
                .then(f.writeArray("s", new long[] {0}, NdArray.ofStrings(new long[] {5}, List.of("a", "bb", "", "dddd", "e")))),
                ArrayFile::flush));
        steps.add(new Step("flush 2", f -> ints(f, "a", new long[] {2}, new long[] {3}, 99, 98, 97)
                .then(f.defineArray("b", ArraySpec.of(DType.INT32, 4, 4).withChunks(2, 2)))
                .then(ints(f, "b", new long[] {1, 1}, new long[] {2, 2}, 1, 2, 3, 4))
                .then(f.delete("s")), ArrayFile::flush));
        steps.add(new Step("compact 1", f -> Mono.empty(), ArrayFile::compact));
        steps.add(new Step("flush 3", f -> f.delete("a")
                .then(f.defineArray("a", ArraySpec.of(DType.INT32, 3)))
                .then(f.setAttribute("b", "long_name", AttributeValue.ofString("bee"))), ArrayFile::flush));
        steps.add(new Step("flush 4", f -> ints(f, "b", new long[] {0, 0}, new long[] {4, 4}, seq(16, 100)), ArrayFile::flush));
        steps.add(new Step("compact with pending", f -> ints(f, "a", new long[] {0}, new long[] {3}, 5, 6, 7)
                .then(f.setAttribute("a", "units", AttributeValue.ofString("m"))), ArrayFile::compact));
        steps.add(new Step("flush 5", f -> f.defineArray("c", ArraySpec.of(DType.INT32, 2))
                .then(ints(f, "c", new long[] {0}, new long[] {2}, 1, 2)), ArrayFile::flush));
        steps.add(new Step("compact 3", f -> f.delete("b"), ArrayFile::compact));
        return steps;
    }

    @Test
    void everyCrashPointOfEveryCommitLeavesTheStateBeforeOrAfter() {
        List<Step> steps = script();
        // Reference run: the state after each step and the storage calls each commit makes.
        List<Map<String, String>> states = new ArrayList<>();
        List<Integer> commitCalls = new ArrayList<>();
        {
            InMemoryStorage mem = InMemoryStorage.create();
            FaultInjectingStorage s = new FaultInjectingStorage(mem);
            ArrayFile f = ArrayFile.create(s, "c.af", options()).block(TIMEOUT);
            states.add(reopenState(mem));
            for (Step step : steps) {
                step.mutate().apply(f).block(TIMEOUT);
                int before = s.calls();
                step.commit().apply(f).block(TIMEOUT);
                commitCalls.add(s.calls() - before);
                if (System.getProperty("crashdebug") != null) {
                    System.out.println("STEP " + step.name() + ": " + s.log().subList(before, s.calls()));
                }
                states.add(reopenState(mem));
                assertEquals(ArrayFile.StatsStatus.CURRENT, open(mem).statsStatus(), step.name());
            }
            f.close().block(TIMEOUT);
        }
        int scenarios = 0;
        int sawBefore = 0;
        int sawAfter = 0;
        int staleStats = 0;
        for (int k = 0; k < steps.size(); k++) {
            for (int crash = 1; crash <= commitCalls.get(k); crash++) {
                InMemoryStorage mem = InMemoryStorage.create();
                FaultInjectingStorage s = new FaultInjectingStorage(mem);
                ArrayFile f = ArrayFile.create(s, "c.af", options()).block(TIMEOUT);
                for (int j = 0; j < k; j++) {
                    steps.get(j).mutate().apply(f).block(TIMEOUT);
                    steps.get(j).commit().apply(f).block(TIMEOUT);
                }
                steps.get(k).mutate().apply(f).block(TIMEOUT);
                s.crashAt(s.calls() + crash);
                String where = steps.get(k).name() + ", crash at call " + crash + " of " + commitCalls.get(k) + ": "
                        + s.log().subList(Math.max(0, s.log().size() - 3), s.log().size());
                try {
                    steps.get(k).commit().apply(f).block(TIMEOUT);
                    fail("commit survived an injected crash: " + where);
                } catch (RuntimeException expected) {
                    // the process "died" here
                }
                f.close().block(TIMEOUT);
                ArrayFile r = open(mem);
                Map<String, String> got = FileSetState.of(r);
                if (got.equals(states.get(k))) {
                    sawBefore++;
                } else if (got.equals(states.get(k + 1))) {
                    sawAfter++;
                } else {
                    fail(where + "\nstate matches neither before nor after:\n" + got + "\nbefore: " + states.get(k)
                            + "\nafter: " + states.get(k + 1));
                }
                assertNull(FileSetState.statsProblem(r), where);
                if (r.statsStatus() == ArrayFile.StatsStatus.STALE) {
                    staleStats++;
                }
                // The survivor accepts the rest of the history and ends where the clean run ended.
                for (int j = got.equals(states.get(k)) ? k : k + 1; j < steps.size(); j++) {
                    steps.get(j).mutate().apply(r).block(TIMEOUT);
                    steps.get(j).commit().apply(r).block(TIMEOUT);
                }
                // A flush with nothing pending rewrites statistics left stale by the crash.
                r.flush().block(TIMEOUT);
                assertEquals(states.get(steps.size()), reopenState(mem), where + ": replaying the rest");
                assertEquals(ArrayFile.StatsStatus.CURRENT, open(mem).statsStatus(), where);
                r.close().block(TIMEOUT);
                scenarios++;
            }
        }
        System.out.printf("crash consistency: %d scenarios over %d commits (%s calls each): %d before, %d after,"
                + " %d with statistics reported stale%n", scenarios, steps.size(), commitCalls, sawBefore, sawAfter, staleStats);
        assertTrue(sawBefore > 0 && sawAfter > 0, "crashes both before and after the commit point were exercised");
        assertTrue(staleStats > 0, "crashes between a layer and its statistics were exercised");
    }

    private static ArrayFile open(InMemoryStorage mem) {
        return ArrayFile.open(mem, "c.af", options()).block(TIMEOUT);
    }

    private static Map<String, String> reopenState(InMemoryStorage mem) {
        return FileSetState.of(open(mem));
    }
}
