package dev.atlas.examples.cli;

import dev.atlas.codec.BlockCodecs;
import dev.atlas.format.ArrayMeta;
import dev.atlas.format.Attributes;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.ChunkCodec;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.format.Footer;
import dev.atlas.format.LayerBuilder;
import dev.atlas.format.LayerNames;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code atlas demo}: writes a small sample file set (a gridded temperature field, station names,
 * observation times and a quality mask, in a base and two sidecars with zstd and lz4 blocks, the
 * second sidecar patching one tile and deleting the mask) and dumps it. Needs no setup.
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

    /** Writes the sample into {@code dir} (replacing an earlier sample) and returns its base path. */
    static Path write(Path dir) throws IOException {
        Files.createDirectories(dir);
        String stem = "weather";
        Path base = dir.resolve(stem + LayerNames.SUFFIX);
        var alloc = PooledByteBufAllocator.DEFAULT;

        byte[] empty = new LayerBuilder(BlockCodecs.none(), 1 << 20, alloc, Footer.VERSION_V5).build(0, "");

        LayerBuilder s1 = new LayerBuilder(BlockCodecs.zstd(), 4096, alloc, Footer.VERSION_V5);
        s1.define("temperature", DType.FLOAT32, SHAPE, List.of("time", "lat", "lon"), CHUNK, new FillValue.Float(-999.0));
        s1.attribute("temperature", "units", AttributeValue.ofString("K"));
        s1.attribute("temperature", "long_name", AttributeValue.ofString("air temperature at 2 m"));
        for (long t = 0; t < SHAPE[0]; t++) {
            for (long y = 0; y < SHAPE[1] / CHUNK[1]; y++) {
                for (long x = 0; x < SHAPE[2] / CHUNK[2]; x++) {
                    s1.chunk("temperature", new long[] {t, y, x}, temperatureTile(t, y, x, 0f));
                }
            }
        }
        s1.define("station", DType.STRING, new long[] {5}, List.of("station"), new long[] {5}, null);
        s1.chunk("station", new long[] {0}, ChunkCodec.encodeStrings(List.of("Utsira", "Halten", "Sula", "Træna", "Røst")));
        s1.define("obs_time", DType.TIMESTAMP_NS, new long[] {4}, List.of("time"), new long[] {4}, null);
        ByteBuffer times = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        for (int t = 0; t < 4; t++) {
            times.putLong(1_700_000_000_000_000_000L + t * 21_600_000_000_000L);
        }
        s1.chunk("obs_time", new long[] {0}, times.array());
        s1.define("quality", DType.UINT8, SHAPE, List.of("time", "lat", "lon"), CHUNK, new FillValue.UInt(255));
        s1.chunk("quality", new long[] {0, 0, 0}, new byte[12]);
        byte[] side1 = s1.build(1, base.getFileName().toString());

        LayerBuilder s2 = new LayerBuilder(BlockCodecs.lz4(), 4096, alloc, Footer.VERSION_V5);
        s2.define("temperature", DType.FLOAT32, SHAPE, List.of("time", "lat", "lon"), CHUNK, new FillValue.Float(-999.0));
        s2.attribute("temperature", "units", AttributeValue.ofString("K"));
        s2.attribute("temperature", "long_name", AttributeValue.ofString("air temperature at 2 m"));
        s2.attribute("temperature", "history", AttributeValue.ofStringList(List.of("created by atlas demo", "tile (3,1,1) corrected")));
        s2.chunk("temperature", new long[] {3, 1, 1}, temperatureTile(3, 1, 1, 1.5f));
        s2.tombstone(new ArrayMeta("quality", DType.UINT8, SHAPE, List.of("time", "lat", "lon"), CHUNK, List.of(),
                new FillValue.UInt(255), false, Attributes.EMPTY));
        byte[] side2 = s2.build(2, base.getFileName().toString());

        // Remove an earlier sample's files first, so no stale sidecar joins this one.
        for (Path p : LocalFileSetCleaner.members(dir, stem)) {
            Files.delete(p);
        }
        writeAtomically(dir.resolve(LayerNames.sidecar(stem, 1)), side1);
        writeAtomically(dir.resolve(LayerNames.sidecar(stem, 2)), side2);
        writeAtomically(base, empty);
        return base;
    }

    private static byte[] temperatureTile(long t, long y, long x, float delta) {
        ByteBuffer b = ByteBuffer.allocate((int) (CHUNK[1] * CHUNK[2] * 4)).order(ByteOrder.LITTLE_ENDIAN);
        for (long j = 0; j < CHUNK[1]; j++) {
            for (long i = 0; i < CHUNK[2]; i++) {
                double lat = 58 + (y * CHUNK[1] + j) * 0.5;
                double lon = 4 + (x * CHUNK[2] + i) * 0.5;
                float k = (float) (283.15 - (lat - 58) * 0.8 + Math.sin(lon / 2) * 1.2 + t * 0.25) + delta;
                b.putFloat(Math.round(k * 100) / 100f);
            }
        }
        return b.array();
    }

    private static void writeAtomically(Path target, byte[] bytes) throws IOException {
        Path tmp = Files.createTempFile(target.toAbsolutePath().getParent(), ".tmp-", ".part");
        try {
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
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
