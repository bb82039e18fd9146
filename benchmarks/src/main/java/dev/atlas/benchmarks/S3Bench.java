package dev.atlas.benchmarks;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.cache.ReadCaches;
import dev.atlas.format.DType;
import dev.atlas.storage.Storage;
import dev.atlas.storage.local.LocalStorage;
import dev.atlas.storage.s3.S3Request;
import dev.atlas.storage.s3.S3Stats;
import dev.atlas.storage.s3.S3Storage;
import dev.atlas.storage.s3.S3StorageOptions;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import software.amazon.awssdk.regions.Region;

/**
 * S3 throughput on loopback, side by side with the same reads on local disk in one run.
 * Run through {@code benchmarks/s3-bench.sh}, which starts S3Mock (the jar the storage-s3 build
 * copies into {@code storage-s3/target/s3-servers}) and passes its endpoint.
 *
 * <p>Cases, each a median of {@code runs}: (1) whole-array read of a 64 MiB float32 array
 * (4096 x 4096, chunks 256 x 256, zstd-3, default 8 MiB blocks) on a freshly opened file with
 * cold caches, and the same read again (warm: served by the caches, GETs counted); (2) 1,000
 * ranged GETs of 4 KiB at 64 in flight through {@code Storage.read}; (3) 1,000 window reads of
 * 64 x 64 floats at 64 in flight through {@code ArrayFile.readArray} with caches disabled
 * (each read fetches and decompresses its block).
 *
 * <p>Usage: {@code S3Bench ENDPOINT BUCKET ACCESS_KEY SECRET_KEY LOCAL_DIR [runs]}
 */
public final class S3Bench {
    private static final Duration T = Duration.ofMinutes(10);
    private static final long[] SHAPE = {4096, 4096};
    private static final String KEY = "bench/field.af";

    private S3Bench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 5) {
            System.err.println("usage: S3Bench ENDPOINT BUCKET ACCESS_KEY SECRET_KEY LOCAL_DIR [runs]");
            System.exit(2);
        }
        int runs = args.length > 5 ? Integer.parseInt(args[5]) : 5;
        EngineResources r = EngineResources.create();
        S3StorageOptions so = S3StorageOptions.builder(args[1]).endpoint(URI.create(args[0])).pathStyle(true)
                .region(Region.US_EAST_1).staticCredentials(args[2], args[3]).keyPrefix("s3bench/").build();
        S3Storage s3 = S3Storage.open(so, r);
        Path dir = Path.of(args[4]);
        Files.createDirectories(dir);
        LocalStorage local = LocalStorage.open(dir, r);
        try {
            write(s3, r);
            write(local, r);
            System.out.printf("%-44s %12s %12s %8s%n", "case", "S3Mock", "local", "S3/local");
            S3Stats before = s3.stats();
            double[] s3Whole = wholeRead(s3, r, runs);
            S3Stats cold = s3.stats().minus(before);
            double[] localWhole = wholeRead(local, r, runs);
            row("whole 64 MiB read, cold caches (MiB/s)", s3Whole[0], localWhole[0]);
            row("same read again, warm caches (MiB/s)", s3Whole[1], localWhole[1]);
            long gets = cold.requests().getOrDefault(S3Request.GET, 0L);
            System.out.printf("  S3 GETs over %d cold+warm rounds: %d (%.2f GETs per MiB stored, cold reads; warm reads: %d GETs)%n",
                    runs, gets, (double) s3Whole[3] / s3Whole[2], (long) s3Whole[4]);
            row("1,000 ranged 4 KiB GETs, 64 in flight (reads/s)", rawReads(s3, runs), rawReads(local, runs));
            row("1,000 window reads 64x64, no cache (reads/s)", windowReads(s3, r, runs), windowReads(local, r, runs));
            System.out.println("S3 totals: " + s3.stats());
        } finally {
            s3.close();
            r.disposeLater().block(T);
        }
    }

    private static void row(String name, double s3, double local) {
        System.out.printf("%-44s %12.1f %12.1f %8.2f%n", name, s3, local, s3 / local);
    }

    private static void write(Storage s, EngineResources r) {
        ArrayFileOptions o = ArrayFileOptions.builder(r).build();
        ArrayFile f = ArrayFile.create(s, KEY, o).block(T);
        try {
            f.defineArray("field", ArraySpec.of(DType.FLOAT32, SHAPE).withChunks(256, 256)).block(T);
            SplittableRandom rnd = new SplittableRandom(7);
            for (int row = 0; row < SHAPE[0]; row += 256) {
                float[] v = new float[256 * (int) SHAPE[1]];
                for (int i = 0; i < v.length; i++) {
                    int y = row + i / (int) SHAPE[1];
                    int x = i % (int) SHAPE[1];
                    v[i] = (float) (280 + 10 * Math.sin(y / 300.0) * Math.cos(x / 200.0) + rnd.nextGaussian() * 0.05);
                    v[i] = Math.round(v[i] * 100) / 100f; // a measurement's precision
                }
                try (NdArray slab = NdArray.ofFloats(new long[] {256, SHAPE[1]}, v)) {
                    f.writeArray("field", new long[] {row, 0}, slab).block(T);
                }
            }
            f.flush().block(T);
        } finally {
            f.close().block(T);
        }
    }

    /** [cold MiB/s, warm MiB/s, stored MiB, GETs over the cold reads (S3 only), GETs over the warm reads]. */
    private static double[] wholeRead(Storage s, EngineResources r, int runs) {
        double mib = SHAPE[0] * SHAPE[1] * 4 / 1048576.0;
        List<Double> cold = new ArrayList<>();
        List<Double> warm = new ArrayList<>();
        long coldGets = 0;
        long warmGets = 0;
        double stored = 0;
        for (int i = 0; i < runs; i++) {
            ReadCaches caches = ReadCaches.defaults(r.allocator());
            ArrayFileOptions o = ArrayFileOptions.builder(r).caches(caches).build();
            ArrayFile f = ArrayFile.open(s, KEY, o).block(T);
            try {
                stored = s.list("bench/").map(x -> x.size()).reduce(0L, Long::sum).block(T) / 1048576.0;
                long g0 = gets(s);
                long t0 = System.nanoTime();
                f.readArray("field", new long[] {0, 0}, SHAPE).block(T).close();
                cold.add(mib / ((System.nanoTime() - t0) / 1e9));
                long g1 = gets(s);
                t0 = System.nanoTime();
                f.readArray("field", new long[] {0, 0}, SHAPE).block(T).close();
                warm.add(mib / ((System.nanoTime() - t0) / 1e9));
                coldGets += g1 - g0;
                warmGets += gets(s) - g1;
            } finally {
                f.close().block(T);
                caches.slabs().invalidateAll();
                caches.blocks().invalidateAll();
            }
        }
        return new double[] {median(cold), median(warm), stored * runs, coldGets, warmGets};
    }

    private static long gets(Storage s) {
        return s instanceof S3Storage x ? x.stats().requests().getOrDefault(S3Request.GET, 0L) : 0;
    }

    private static double rawReads(Storage s, int runs) {
        // The flushed layer that holds the blocks (the base file itself is only a header).
        dev.atlas.storage.ObjectInfo big = s.list("bench/").reduce((a, b) -> a.size() >= b.size() ? a : b).block(T);
        String key = big.key();
        long size = big.size();
        List<Double> rates = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            SplittableRandom rnd = new SplittableRandom(100 + i);
            long[] offs = new long[1000];
            Arrays.setAll(offs, k -> rnd.nextLong(size - 4096));
            long t0 = System.nanoTime();
            Flux.range(0, 1000).flatMap(k -> s.read(key, offs[k], 4096).map(b -> {
                int n = b.readableBytes();
                b.release();
                return n;
            }), 64).then().block(T);
            rates.add(1000 / ((System.nanoTime() - t0) / 1e9));
        }
        return median(rates);
    }

    private static double windowReads(Storage s, EngineResources r, int runs) {
        ArrayFileOptions o = ArrayFileOptions.builder(r).caches(ReadCaches.disabled(r.allocator())).build();
        ArrayFile f = ArrayFile.open(s, KEY, o).block(T);
        try {
            List<Double> rates = new ArrayList<>();
            for (int i = 0; i < runs; i++) {
                SplittableRandom rnd = new SplittableRandom(200 + i);
                long t0 = System.nanoTime();
                Flux.range(0, 1000).flatMap(k -> {
                    long y = rnd.nextLong(SHAPE[0] - 64);
                    long x = rnd.nextLong(SHAPE[1] - 64);
                    return Mono.usingWhen(f.readArray("field", new long[] {y, x}, new long[] {64, 64}),
                            a -> Mono.just(a.getFloat(0)), a -> Mono.fromRunnable(a::close));
                }, 64).then().block(T);
                rates.add(1000 / ((System.nanoTime() - t0) / 1e9));
            }
            return median(rates);
        } finally {
            f.close().block(T);
        }
    }

    private static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        return a.length % 2 == 1 ? a[a.length / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
    }
}
