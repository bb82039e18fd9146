package dev.atlas.examples.cli;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.format.LayerNames;
import dev.atlas.storage.local.LocalStorage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code atlas demo}: writes a small sample file set through the engine (an {@code ArrayFile} over
 * {@code LocalStorage}: a gridded temperature field, station names, observation times and a quality
 * mask; two sessions and flushes with zstd and lz4 blocks, the second patching one tile and
 * deleting the mask) and dumps it. Needs no setup.
 */
@Command(name = "demo", description = "Write a sample .af file set and dump it (no setup needed).")
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--dir", paramLabel = "DIR", description = "Where to write the sample (default ${DEFAULT-VALUE}).")
    Path dir = Paths.get("atlas-sample");

    @Spec
    CommandSpec spec;

    static final long[] SHAPE = {4, 6, 8};
    static final long[] CHUNK = {1, 3, 4};

    @Override
    public Integer call() throws IOException {
        long t0 = System.nanoTime();
        Path base = write(dir);
        long t1 = System.nanoTime();
        spec.commandLine().getOut().printf("wrote sample file set %s (%d files) in %.1f ms%n%n", base,
                LocalFileSet.layers(base).size(), (t1 - t0) / 1e6);
        DumpCommand dump = new DumpCommand();
        dump.base = base;
        dump.spec = spec;
        return dump.call();
    }

    /**
     * Writes the sample into {@code dir} (replacing an earlier sample) through the engine itself:
     * an {@link ArrayFile} over {@link LocalStorage}, two sessions, two flushes. Returns the base path.
     */
    static Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        String stem = "weather";
        // Remove an earlier sample's files first (create refuses a stem that still has objects).
        for (Path p : LocalFileSetCleaner.members(dir, stem)) {
            Files.delete(p);
        }
        Duration t = Duration.ofSeconds(30);
        EngineResources resources = EngineResources.create();
        try (LocalStorage storage = LocalStorage.open(dir, resources)) {
            String base = stem + LayerNames.SUFFIX;
            ArrayFileOptions zstd = ArrayFileOptions.builder(resources).codec(BlockCodecs.zstd()).blockTargetSize(4096).build();
            ArrayFile f = ArrayFile.create(storage, base, zstd).block(t);
            f.defineArray("temperature", ArraySpec.of(DType.FLOAT32, SHAPE).withChunks(CHUNK)
                    .withDimensions("time", "lat", "lon").withFill(new FillValue.Float(-999.0))).block(t);
            f.setAttribute("temperature", "units", AttributeValue.ofString("K")).block(t);
            f.setAttribute("temperature", "long_name", AttributeValue.ofString("air temperature at 2 m")).block(t);
            try (NdArray field = NdArray.ofFloats(SHAPE, temperature(new long[] {0, 0, 0}, SHAPE, 0f))) {
                f.writeArray("temperature", new long[] {0, 0, 0}, field).block(t);
            }
            f.defineArray("station", ArraySpec.of(DType.STRING, 5).withDimensions("station")).block(t);
            f.writeArray("station", new long[] {0}, NdArray.ofStrings(new long[] {5},
                    List.of("Utsira", "Halten", "Sula", "Træna", "Røst"))).block(t);
            f.defineArray("obs_time", ArraySpec.of(DType.TIMESTAMP_NS, 4).withDimensions("time")).block(t);
            long[] times = new long[4];
            for (int i = 0; i < 4; i++) {
                times[i] = 1_700_000_000_000_000_000L + i * 21_600_000_000_000L;
            }
            try (NdArray d = NdArray.ofLongs(DType.TIMESTAMP_NS, new long[] {4}, times)) {
                f.writeArray("obs_time", new long[] {0}, d).block(t);
            }
            f.defineArray("quality", ArraySpec.of(DType.UINT8, SHAPE).withChunks(CHUNK)
                    .withDimensions("time", "lat", "lon").withFill(new FillValue.UInt(255))).block(t);
            try (NdArray d = NdArray.ofBytes(DType.UINT8, CHUNK, new byte[12])) {
                f.writeArray("quality", new long[] {0, 0, 0}, d).block(t);
            }
            f.flush().block(t);                                   // weather.1.af + weather.stats
            f.close().block(t);

            // A second session with another codec: correct one tile, note it, drop the mask.
            ArrayFileOptions lz4 = ArrayFileOptions.builder(resources).codec(BlockCodecs.lz4()).blockTargetSize(4096).build();
            ArrayFile g = ArrayFile.open(storage, base, lz4).block(t);
            long[] tile = {3, 3, 4};
            try (NdArray d = NdArray.ofFloats(CHUNK, temperature(tile, CHUNK, 1.5f))) {
                g.writeArray("temperature", tile, d).block(t);
            }
            g.setAttribute("temperature", "history",
                    AttributeValue.ofStringList(List.of("created by atlas demo", "tile (3,1,1) corrected"))).block(t);
            g.delete("quality").block(t);
            g.flush().block(t);                                   // weather.2.af
            g.close().block(t);
            return dir.resolve(base);
        } finally {
            resources.disposeLater().block(t);
        }
    }

    /** The sample temperature field over the box {@code [origin, origin + shape)}, C order. */
    private static float[] temperature(long[] origin, long[] shape, float delta) {
        float[] out = new float[(int) (shape[0] * shape[1] * shape[2])];
        int n = 0;
        for (long tt = origin[0]; tt < origin[0] + shape[0]; tt++) {
            for (long y = origin[1]; y < origin[1] + shape[1]; y++) {
                for (long x = origin[2]; x < origin[2] + shape[2]; x++) {
                    double lat = 58 + y * 0.5;
                    double lon = 4 + x * 0.5;
                    float k = (float) (283.15 - (lat - 58) * 0.8 + Math.sin(lon / 2) * 1.2 + tt * 0.25) + delta;
                    out[n++] = Math.round(k * 100) / 100f;
                }
            }
        }
        return out;
    }

    /** Files of an earlier sample with the same stem. */
    static final class LocalFileSetCleaner {
        private LocalFileSetCleaner() {
        }

        static List<Path> members(Path dir, String stem) throws IOException {
            try (var s = Files.list(dir)) {
                return s.filter(p -> {
                    String n = p.getFileName().toString();
                    return n.equals(stem + LayerNames.SUFFIX) || n.equals(LayerNames.stats(stem))
                            || LayerNames.sidecarNumber(stem, n) > 0;
                }).collect(java.util.stream.Collectors.toList());
            }
        }
    }
}
