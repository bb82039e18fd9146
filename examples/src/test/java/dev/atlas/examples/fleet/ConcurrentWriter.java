package dev.atlas.examples.fleet;

import static dev.atlas.examples.fleet.ChildArgs.say;
import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.error.AtlasException;
import dev.atlas.error.ConflictException;
import dev.atlas.runtime.EngineResources;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import reactor.core.Exceptions;

/**
 * One of several writer processes of {@link FleetWritersIT} on one store. Writer {@code w} owns
 * dataset {@link #hot} (both arrays rewritten every round) and creates one new dataset per round,
 * {@link #roundDataset} (a series only), so every acknowledged commit leaves something a final
 * check can find. With {@code shared=true} it also rewrites dataset {@link #SHARED} every round
 * with version {@link #sharedVersion}: two such writers change the same dataset, and a flush that
 * loses that race must fail with {@link ConflictException} naming it; the writer then reopens the
 * store and goes on. Writer 0 compacts every {@code compactEvery} rounds.
 *
 * <p>Log ({@link CommitLog}): {@code ack R millis STATE} (what the commit wrote), {@code conflict}
 * and {@code error} lines (class and message of a failed flush), {@code compact-refused} (a
 * compaction refused with a typed error). Stdout: {@code ready}, {@code acked R}, {@code conflict R ...},
 * {@code error R ...}, {@code done}. Arguments:
 * {@code store= log= w= rounds= go= shared=true|false compactEvery=}.
 */
public final class ConcurrentWriter {
    /** The dataset two writers both change in the conflict run. */
    static final long SHARED = 9_000;

    private ConcurrentWriter() {
    }

    static long hot(int w) {
        return 100 + w;
    }

    static long roundDataset(int w, long round) {
        return 1_000L * (w + 1) + round;
    }

    static long sharedVersion(int w, long round) {
        return 1_000L * (w + 1) + round;
    }

    static final int ROUND_SERIES = 256;

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
        int w = (int) a.number("w", 0);
        long rounds = a.number("rounds", 10);
        long compactEvery = a.number("compactEvery", 0);
        boolean shared = Boolean.parseBoolean(a.get("shared", "false"));
        EngineResources resources = EngineResources.create(2, 2, PooledByteBufAllocator.DEFAULT);
        AtlasOptions options = AtlasOptions.builder(resources).tempDirectory(a.path("log").resolveSibling("spill")).build();
        java.nio.file.Files.createDirectories(a.path("log").resolveSibling("spill"));
        Atlas atlas = store.open(resources, options, false).block(TIMEOUT);
        try (CommitLog log = CommitLog.append(a.path("log"))) {
            say("ready");
            a.awaitGo();
            for (long r = 1; r <= rounds; r++) {
                Map<Long, Long> wrote = new TreeMap<>();
                try {
                    long hot = hot(w);
                    if (atlas.datasetExists(FleetData.name(hot))) {
                        FleetData.write(atlas.dataset(FleetData.name(hot)), hot, r, FleetData.MIN_ROWS).block(TIMEOUT);
                    } else {
                        FleetData.create(atlas, hot, r, FleetData.MIN_ROWS).block(TIMEOUT);
                    }
                    wrote.put(hot, r);
                    FleetData.writeSeriesOnly(atlas, roundDataset(w, r), r, ROUND_SERIES).block(TIMEOUT);
                    wrote.put(roundDataset(w, r), r);
                    if (shared) {
                        FleetData.write(atlas.dataset(FleetData.name(SHARED)), SHARED, sharedVersion(w, r),
                                FleetData.MIN_ROWS).block(TIMEOUT);
                        wrote.put(SHARED, sharedVersion(w, r));
                    }
                    atlas.flush().block(TIMEOUT);
                    log.log("ack", r, CommitLog.formatState(wrote));
                    say("acked " + r);
                } catch (RuntimeException e) {
                    Throwable u = Exceptions.unwrap(e);
                    String stage = wrote.size() == (shared ? 3 : 2) ? "" : "(before the flush, writing) ";
                    log.log(u instanceof ConflictException ? "conflict" : "error", r, stage + ChildArgs.describe(u));
                    say((u instanceof ConflictException ? "conflict " : "error ") + r + " " + stage + ChildArgs.describe(u));
                    // Start over from the store's newest commit: this round's changes are gone.
                    atlas.close().block(TIMEOUT);
                    atlas = store.open(resources, options, false).block(TIMEOUT);
                }
                if (compactEvery > 0 && r % compactEvery == 0) {
                    try {
                        atlas.compact().block(TIMEOUT);
                    } catch (RuntimeException e) {
                        Throwable u = Exceptions.unwrap(e);
                        log.log(u instanceof AtlasException ? "compact-refused" : "error", r, ChildArgs.describe(u));
                        atlas.close().block(TIMEOUT);
                        atlas = store.open(resources, options, false).block(TIMEOUT);
                    }
                }
            }
        }
        say("done");
        atlas.close().block(TIMEOUT);
        resources.dispose();
        System.exit(0);
    }
}
