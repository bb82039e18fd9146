package dev.atlas.benchmarks;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.s3.S3Stats;
import dev.atlas.storage.s3.S3Storage;
import dev.atlas.storage.s3.S3StorageOptions;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import reactor.core.publisher.Flux;
import software.amazon.awssdk.regions.Region;

/**
 * What a live store costs on S3 (issue 22): the requests one {@link Atlas#refresh()} makes when
 * nothing changed, when one array of one dataset changed, and after another process compacted;
 * and window reads of a handle refreshing every 100 ms against one that never refreshes,
 * alternated in one run. Run through {@code benchmarks/refresh-bench.sh}, which starts S3Mock.
 *
 * <p>Usage: {@code RefreshBench ENDPOINT BUCKET ACCESS_KEY SECRET_KEY [rounds]}
 */
public final class RefreshBench {
    private static final Duration T = Duration.ofMinutes(10);
    private static final int DATASETS = 20;
    private static final List<String> ARRAYS = List.of("t", "u", "v");
    private static final int N = 256;

    private RefreshBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: RefreshBench ENDPOINT BUCKET ACCESS_KEY SECRET_KEY [rounds]");
            System.exit(2);
        }
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        EngineResources r = EngineResources.create();
        S3Storage writerS3 = open(args, r);
        S3Storage readerS3 = open(args, r);
        try {
            AtlasOptions wo = AtlasOptions.builder(r).garbageAge(Duration.ZERO).build();
            Atlas w = Atlas.create(writerS3, "live", wo).block(T);
            for (int d = 0; d < DATASETS; d++) {
                DatasetView v = w.createDataset("ds" + d).block(T);
                for (String a : ARRAYS) {
                    v.defineArray(a, ArraySpec.of(DType.FLOAT32, N, N).withChunks(64, 64)).block(T);
                    write(v, a, d, 0);
                }
            }
            w.flush().block(T);
            Atlas reader = Atlas.open(readerS3, "live", AtlasOptions.builder(r).build()).block(T);
            readAll(reader);

            System.out.printf("%-62s %s%n", "refresh of a reader that opened all " + DATASETS * ARRAYS.size() + " arrays",
                    "S3 requests");
            long most = 0;
            for (int i = 0; i < 20; i++) {
                S3Stats before = readerS3.stats();
                reader.refresh().block(T);
                most = Math.max(most, readerS3.stats().minus(before).totalRequests());
            }
            System.out.printf("%-62s %d (most of 20)%n", "nothing changed", most);

            write(w.dataset("ds3"), "t", 3, 1);
            w.flush().block(T);
            S3Stats before = readerS3.stats();
            boolean changed = reader.refresh().block(T);
            S3Stats one = readerS3.stats().minus(before);
            System.out.printf("%-62s %d %s (loaded a newer commit: %s)%n", "one array of one dataset overwritten",
                    one.totalRequests(), one.requests(), changed);

            w.compact().block(T);
            before = readerS3.stats();
            reader.refresh().block(T);
            S3Stats afterCompact = readerS3.stats().minus(before);
            before = readerS3.stats();
            readAll(reader);
            S3Stats replan = readerS3.stats().minus(before);
            System.out.printf("%-62s %d %s%n", "another process compacted: the refresh", afterCompact.totalRequests(),
                    afterCompact.requests());
            System.out.printf("%-62s %d %s (re-plans %d)%n", "  then reading every array once (re-plans included)",
                    replan.totalRequests(), replan.requests(), reader.liveCounters().get("replans"));
            reader.close().block(T);

            // Window reads, a handle refreshing every 100 ms against one that never refreshes.
            System.out.printf("%n%-40s %14s %14s %8s%n", "2,000 window reads 64x64, 32 in flight", "refresh 100ms",
                    "no refresh", "ratio");
            List<Double> on = new ArrayList<>();
            List<Double> off = new ArrayList<>();
            for (int i = 0; i < rounds; i++) {
                off.add(windows(readerS3, r, Duration.ZERO));
                on.add(windows(readerS3, r, Duration.ofMillis(100)));
            }
            on.sort(null);
            off.sort(null);
            double mOn = on.get(on.size() / 2);
            double mOff = off.get(off.size() / 2);
            System.out.printf("%-40s %14.0f %14.0f %8.2f   (reads/s, median of %d; all: %s vs %s)%n", "", mOn, mOff,
                    mOn / mOff, rounds, on, off);
            w.close().block(T);
        } finally {
            writerS3.close();
            readerS3.close();
            r.disposeLater().block(T);
        }
    }

    private static S3Storage open(String[] args, EngineResources r) {
        return S3Storage.open(S3StorageOptions.builder(args[1]).endpoint(URI.create(args[0])).pathStyle(true)
                .region(Region.US_EAST_1).staticCredentials(args[2], args[3]).keyPrefix("refreshbench/").build(), r);
    }

    private static void write(DatasetView v, String array, int d, int version) {
        float[] values = new float[N * N];
        for (int i = 0; i < values.length; i++) {
            values[i] = d * 1000 + version * 100 + (i % 97);
        }
        try (NdArray slab = NdArray.ofFloats(new long[] {N, N}, values)) {
            v.writeArray(array, new long[] {0, 0}, slab).block(T);
        }
    }

    private static void readAll(Atlas a) {
        for (String ds : a.listDatasets()) {
            for (String arr : ARRAYS) {
                try (NdArray x = a.dataset(ds).readArray(arr, new long[] {0, 0}, new long[] {8, 8}).block(T)) {
                    if (x == null) {
                        throw new IllegalStateException(ds + "/" + arr + " missing");
                    }
                }
            }
        }
    }

    /** Reads per second of 2,000 random 64x64 windows on a fresh handle with the given refresh interval. */
    private static double windows(S3Storage s3, EngineResources r, Duration refresh) {
        Atlas a = Atlas.open(s3, "live", AtlasOptions.builder(r).refreshInterval(refresh).build()).block(T);
        try {
            readAll(a); // open every file set, warm the caches the same way for both
            SplittableRandom rnd = new SplittableRandom(11);
            long t0 = System.nanoTime();
            Flux.range(0, 2000).flatMap(i -> {
                String ds = "ds" + rnd.nextInt(DATASETS);
                String arr = ARRAYS.get(rnd.nextInt(ARRAYS.size()));
                long y = rnd.nextInt(N - 64);
                long x = rnd.nextInt(N - 64);
                return a.dataset(ds).readArray(arr, new long[] {y, x}, new long[] {64, 64}).doOnNext(NdArray::close);
            }, 32).blockLast(T);
            return 2000 / ((System.nanoTime() - t0) / 1e9);
        } finally {
            a.close().block(T);
        }
    }
}
