package dev.atlas.metrics;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * A small store on the in-memory storage: two datasets with one 64x64 float array each, written,
 * flushed, reopened, then read as a region and as a stacked bulk read, every value checked. Uses
 * only the engine (no Micrometer, no JUnit): {@link NoMicrometerMain} runs it in a JVM without
 * Micrometer, {@link AtlasMetricsTest} with the binder bound.
 */
final class SmallRead {
    static final Duration TIMEOUT = Duration.ofSeconds(60);
    static final long[] SHAPE = {64, 64};

    private SmallRead() {
    }

    /** Runs the scenario; throws {@link AssertionError} when a value read back is wrong. */
    static void run(EngineResources resources, Path tmp) {
        InMemoryStorage storage = InMemoryStorage.create(resources.allocator());
        AtlasOptions options = AtlasOptions.builder(resources).tempDirectory(tmp).build();
        Atlas a = Atlas.create(storage, "", options).block(TIMEOUT);
        for (String ds : List.of("a", "b")) {
            DatasetView v = a.createDataset(ds).block(TIMEOUT);
            v.defineArray("field", ArraySpec.of(DType.FLOAT32, SHAPE)).block(TIMEOUT);
            float[] values = new float[64 * 64];
            for (int i = 0; i < values.length; i++) {
                values[i] = value(ds, i);
            }
            try (NdArray data = NdArray.ofFloats(SHAPE, values)) {
                v.writeArray("field", new long[2], data).block(TIMEOUT);
            }
        }
        a.flush().block(TIMEOUT);
        a.close().block(TIMEOUT);
        Atlas b = Atlas.open(storage, "", options).block(TIMEOUT);
        try {
            try (NdArray r = b.dataset("b").readArray("field", new long[] {8, 8}, new long[] {4, 4}).block(TIMEOUT)) {
                for (int i = 0; i < 16; i++) {
                    check(r.getFloat(i), value("b", (8 + i / 4) * 64 + 8 + i % 4));
                }
            }
            try (NdArray s = b.readArrayAcrossStacked("field", List.of("a", "b"), new long[] {0, 0}, new long[] {2, 64})
                    .block(TIMEOUT)) {
                for (int i = 0; i < 256; i++) {
                    check(s.getFloat(i), value(i < 128 ? "a" : "b", i % 128));
                }
            }
        } finally {
            b.close().block(TIMEOUT);
        }
    }

    private static float value(String ds, int i) {
        return (ds.equals("a") ? 0 : 100_000) + i;
    }

    private static void check(float got, float want) {
        if (got != want) {
            throw new AssertionError("read " + got + ", wrote " + want);
        }
    }
}
