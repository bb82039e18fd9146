package dev.atlas.metrics;

import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.StorageKind;
import dev.atlas.storage.StorageMeters;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Run by {@link NoMicrometerTest} in a child JVM whose class path lacks Micrometer: proves the
 * engine writes and reads a store there (its counters included), and that only the binder needs
 * Micrometer. Prints one line per finding; exits 0 when all hold.
 */
public final class NoMicrometerMain {
    private NoMicrometerMain() {
    }

    public static void main(String[] args) throws Exception {
        try {
            Class.forName("io.micrometer.core.instrument.MeterRegistry");
            System.out.println("micrometer is on the class path");
            System.exit(2);
        } catch (ClassNotFoundException expected) {
            System.out.println("no micrometer");
        }
        EngineResources resources = EngineResources.create(2, 2, dev.atlas.buffer.BlockBufferAllocator.create(
                io.netty.buffer.PooledByteBufAllocator.DEFAULT));
        Path tmp = Files.createTempDirectory("atlas-no-micrometer");
        try {
            resources.storageMeters().enable();
            SmallRead.run(resources, tmp);
            long reads = resources.storageMeters().calls(StorageKind.MEMORY, StorageMeters.Operation.READ,
                    StorageMeters.Outcome.OK);
            System.out.println("read ok, storage reads " + reads + ", codec tasks " + resources.codecTasks()
                    + ", block cache " + resources.caches().blocks().stats());
            if (reads == 0) {
                System.exit(3);
            }
        } finally {
            resources.disposeLater().block(SmallRead.TIMEOUT);
            try (var files = Files.walk(tmp)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        try {
            Class.forName("dev.atlas.metrics.AtlasMetrics");
            System.out.println("binder loaded without micrometer");
            System.exit(4);
        } catch (NoClassDefFoundError expected) {
            System.out.println("binder needs micrometer: " + expected.getMessage());
        }
        System.exit(0);
    }
}
