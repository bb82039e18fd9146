package dev.atlas.examples.fleet;

import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.examples.fleet.FleetStore.Backend;
import dev.atlas.storage.s3.S3Servers;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.StoreCodec;
import dev.atlas.testing.EngineTestBase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * What the fleet tests share: the backends they run on (all three unless
 * {@code -Datlas.fleet.backends=LOCAL,S3MOCK} narrows them), sizes from system properties (the
 * defaults are sized for CI on two cores, where the kill suite's 50 child-JVM lives cost most: about
 * 2 s each on a directory, 4 s on S3; raise them for longer local runs), and the children of a
 * test, each killed after it whatever happened.
 *
 * <p>Properties: {@code atlas.fleet.backends}, {@code atlas.fleet.seed}, {@code atlas.fleet.rounds}
 * (writer rounds of FleetReadIT, default 24), {@code atlas.fleet.roundMillis} (their pace, 300),
 * {@code atlas.fleet.requestMillis} (least time between two requests of one of FleetReadIT's two client threads, 10),
 * {@code atlas.fleet.writerRounds} (rounds per writer of FleetWritersIT, 10), {@code atlas.fleet.kills}
 * (kills of FleetKillIT across its backends, 50: three fifths local, a fifth per S3 server, whose
 * writers take twice as long to start),
 * {@code atlas.fleet.codec} (overrides each test's store codec).
 */
@ExtendWith(S3Servers.class)
abstract class FleetTestBase extends EngineTestBase {
    /** Children of the running test, killed in {@link #killChildren()}. */
    protected final List<AutoCloseable> children = new ArrayList<>();

    static Stream<Backend> backends() {
        String only = System.getProperty("atlas.fleet.backends", "");
        if (only.isBlank()) {
            return Arrays.stream(Backend.values());
        }
        return Arrays.stream(only.split(",")).map(String::trim).map(Backend::valueOf);
    }

    static int intProperty(String name, int otherwise) {
        return Integer.getInteger(name, otherwise);
    }

    static long seed(String test) {
        long seed = Long.getLong("atlas.fleet.seed", System.nanoTime());
        System.out.println(test + " seed " + seed + " (-Datlas.fleet.seed=" + seed + ")");
        return seed;
    }

    static StoreCodec codec(StoreCodec otherwise) {
        String c = System.getProperty("atlas.fleet.codec", "");
        return c.isBlank() ? otherwise : StoreCodec.valueOf(c);
    }

    /** A fresh directory for the logs and go files of one test run. */
    static Path runDir(String name) throws IOException {
        return Files.createDirectories(tmp.resolve(name + "-" + Long.toHexString(System.nanoTime())));
    }

    <T extends AutoCloseable> T own(T child) {
        children.add(child);
        return child;
    }

    @AfterEach
    void killChildren() {
        for (AutoCloseable c : children) {
            try {
                c.close();
            } catch (Exception e) {
                System.out.println("closing " + c + " failed: " + e);
            }
        }
        children.clear();
    }

    /** Opens the store in this JVM (a fresh handle: no cache of anything earlier). */
    static Atlas openHere(FleetStore store, boolean create, StoreCodec codec) {
        AtlasOptions options = AtlasOptions.builder(resources).codec(codec).build();
        return store.open(resources, options, create).block(TIMEOUT);
    }

    /** The arguments {@code key=value} of a child main. */
    static List<String> args(Object... kv) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < kv.length; i += 2) {
            out.add(kv[i] + "=" + kv[i + 1]);
        }
        return out;
    }
}
