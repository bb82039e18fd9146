package dev.atlas.benchmarks;

import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.cache.ReadCaches;
import dev.atlas.format.DType;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import dev.atlas.store.RegistryFormat;
import dev.atlas.store.StoreCodec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The benchmark cases atlas-rust 0.10 published figures for (its Python harness), on local disk,
 * and a scale run: {@code sensors} (temperature f32, pressure f64, humidity f32 of shape [24], one
 * chunk, read [0:6]), {@code gridded} (the same three of shape [100, 100, 48] in [50, 50, 24]
 * chunks, read [0:25, 0:25, 0:12], inside one chunk) and {@code profile} (temperature and salinity
 * f32 of shape [50, 168], one chunk, read [0:12, 0:42]). Same shapes, chunking and read slices as
 * that harness; codec Zstd-3,
 * registry MessagePack+Zstd; data: per-dataset seeded Gaussian noise (incompressible, like the
 * reference's {@code default_rng(idx)} data). Write time includes the flush; the bulk read-slice is
 * one {@code readArrayAcrossStacked} per variable on a freshly opened store (empty engine caches,
 * warm OS page cache, as the reference measured).
 *
 * <p>System properties: {@code reps} (reads per case, default 3), {@code warmup} (first reads left
 * out of the median, default 0), {@code reuse} (read an existing store instead of writing it),
 * {@code bulk} (bulk concurrency), {@code blockTarget} (block target size), {@code splitOpen} (open
 * the file sets before the timed read), {@code verbose} (cache counters, CPU time per read and per
 * thread, on stderr). Case {@code cubes} is the peers harness's case (c): 16x32x32 float32 in
 * 8x16x16 chunks, one chunk of each read.
 *
 * <pre>
 * java -Xmx4g -XX:MaxDirectMemorySize=8g -Dio.netty.leakDetection.level=disabled \
 *      -cp benchmarks/target/benchmarks.jar dev.atlas.benchmarks.AtlasBench /tmp/atlas-bench cases profile,gridded,sensors 100,500,1000
 * java ... dev.atlas.benchmarks.AtlasBench /tmp/atlas-bench scale 10000
 * </pre>
 */
public final class AtlasBench {
    private static final Duration T = Duration.ofMinutes(30);

    record Var(String name, DType dtype) {
    }

    record Case(String name, List<Var> vars, long[] shape, long[] chunks, long[] sliceShape) {
    }

    static final List<Var> THREE = List.of(new Var("temperature", DType.FLOAT32), new Var("pressure", DType.FLOAT64),
            new Var("humidity", DType.FLOAT32));

    static Case byName(String n) {
        return switch (n) {
            case "sensors" -> new Case(n, THREE, new long[] {24}, new long[] {24}, new long[] {6});
            case "gridded" -> new Case(n, THREE, new long[] {100, 100, 48}, new long[] {50, 50, 24}, new long[] {25, 25, 12});
            case "profile" -> new Case(n, List.of(new Var("temperature", DType.FLOAT32), new Var("salinity", DType.FLOAT32)),
                    new long[] {50, 168}, new long[] {50, 168}, new long[] {12, 42});
            // The peers harness's case (c) (issue 9): 1,000 small cubes, one 8 KiB chunk of each read.
            case "cubes" -> new Case(n, List.of(new Var("x", DType.FLOAT32)), new long[] {16, 32, 32}, new long[] {8, 16, 16},
                    new long[] {1, 16, 16});
            default -> throw new IllegalArgumentException("case " + n);
        };
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        EngineResources resources = EngineResources.create();
        try {
            if (args[1].equals("scale")) {
                scale(dir, resources, Integer.parseInt(args[2]));
            } else {
                List<String> cases = List.of(args[2].split(","));
                List<Integer> ns = Arrays.stream(args[3].split(",")).map(Integer::parseInt).toList();
                System.out.println("| case | N | write s | bulk read-slice s (median after warm-up) | runs, in order | storage MiB | decompressed MiB per read |");
                System.out.println("| --- | --- | --- | --- | --- | --- | --- |");
                for (String c : cases) {
                    for (int n : ns) {
                        run(dir, resources, byName(c), n);
                    }
                }
            }
        } finally {
            resources.disposeLater().block(T);
        }
    }

    static AtlasOptions options(EngineResources r, ReadCaches caches) {
        AtlasOptions.Builder b = AtlasOptions.builder(r).codec(StoreCodec.ZSTD).registryFile(RegistryFormat.MSGPACK, StoreCodec.ZSTD)
                .caches(caches).blockTargetSize(Long.getLong("blockTarget", AtlasOptions.DEFAULT_BLOCK_TARGET_SIZE));
        // The store's defaults (I/O concurrency per storage, CPU concurrency per core) unless -Dio / -Dcpu
        // (-Dbulk: the former single knob, now the I/O concurrency).
        Integer io = Integer.getInteger("io", Integer.getInteger("bulk"));
        if (io != null) {
            b.ioConcurrency(io);
        }
        Integer cpu = Integer.getInteger("cpu");
        if (cpu != null) {
            b.cpuConcurrency(cpu);
        }
        return b.build();
    }

    static NdArray data(Var v, long[] shape, long seed) {
        int n = (int) Arrays.stream(shape).reduce(1, (a, b) -> a * b);
        SplittableRandom rnd = new SplittableRandom(seed * 31 + v.name().hashCode());
        if (v.dtype() == DType.FLOAT64) {
            double[] d = new double[n];
            for (int i = 0; i < n; i++) {
                d[i] = 1000 + 10 * gaussian(rnd);
            }
            return NdArray.ofDoubles(shape, d);
        }
        float[] f = new float[n];
        for (int i = 0; i < n; i++) {
            f[i] = (float) (15 + 5 * gaussian(rnd));
        }
        return NdArray.ofFloats(shape, f);
    }

    static double gaussian(SplittableRandom r) {
        double u = r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    static void run(Path root, EngineResources r, Case c, int n) throws IOException {
        Path dir = root.resolve(c.name() + "-" + n);
        double write = Double.NaN;
        if (!(Boolean.getBoolean("reuse") && Files.exists(dir))) {
            delete(dir);
            ReadCaches writeCaches = ReadCaches.defaults(r.allocator());
            Atlas atlas = LocalAtlas.create(dir, options(r, writeCaches)).block(T);
            long t0 = System.nanoTime();
            Flux.range(0, n).flatMap(i -> atlas.createDataset(String.format("ds%05d", i)).flatMap(v -> Flux.fromIterable(c.vars())
                    .concatMap(var -> v.defineArray(var.name(), ArraySpec.of(var.dtype(), c.shape()).withChunks(c.chunks()))
                            .then(Mono.using(() -> data(var, c.shape(), i), a -> v.writeArray(var.name(), new long[c.shape().length], a),
                                    NdArray::close)))
                    .then()), 2).then(atlas.flush()).block(T);
            write = (System.nanoTime() - t0) / 1e9;
            atlas.close().block(T);
            writeCaches.invalidateAll();
        }
        long bytes = size(dir);
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            names.add(String.format("ds%05d", i));
        }
        double[] reads = new double[Integer.getInteger("reps", 3)];
        long decompressed = 0;
        for (int k = 0; k < reads.length; k++) {
            ReadCaches caches = ReadCaches.defaults(r.allocator());
            Atlas a = LocalAtlas.open(dir, options(r, caches)).block(T);
            long s0 = System.nanoTime();
            if (Boolean.getBoolean("splitOpen")) {
                // Opens every variable's file set first (footer, stats), so the timed read is the bulk read alone.
                for (Var v : c.vars()) {
                    a.readArrayAcrossStacked(v.name(), names.subList(0, 1), new long[c.shape().length], c.sliceShape()).block(T).close();
                }
                System.err.printf("open of the file sets %.4f s%n", (System.nanoTime() - s0) / 1e9);
                s0 = System.nanoTime();
            }
            long cpu0 = cpuNanos();
            for (Var v : c.vars()) {
                a.readArrayAcrossStacked(v.name(), names, new long[c.shape().length], c.sliceShape()).block(T).close();
            }
            reads[k] = (System.nanoTime() - s0) / 1e9;
            if (Boolean.getBoolean("verbose")) {
                System.err.printf("read %d: %.4f s wall, %.4f s CPU of this process%n", k, reads[k], (cpuNanos() - cpu0) / 1e9);
            }
            decompressed = caches.blocks().stats().loadedBytes();
            if (Boolean.getBoolean("verbose")) {
                System.err.println("read " + k + ": " + reads[k] + " s, slabs " + caches.slabs().stats() + ", blocks "
                        + caches.blocks().stats());
            }
            a.close().block(T);
            caches.invalidateAll();
        }
        if (Boolean.getBoolean("verbose")) {
            java.lang.management.ThreadMXBean tm = java.lang.management.ManagementFactory.getThreadMXBean();
            for (long id : tm.getAllThreadIds()) {
                java.lang.management.ThreadInfo ti = tm.getThreadInfo(id);
                long t = tm.getThreadCpuTime(id);
                if (ti != null && t > 50_000_000L) {
                    System.err.printf("thread %-40s %.3f s CPU%n", ti.getThreadName(), t / 1e9);
                }
            }
        }
        // The first reads of a JVM also pay for JIT compilation of the read path (C2 took 38 % of the
        // CPU of a 60-read run): -Dwarmup=K leaves the first K reads out of the median.
        int warmup = Math.min(Integer.getInteger("warmup", 0), reads.length - 1);
        double[] sorted = Arrays.copyOfRange(reads, warmup, reads.length);
        Arrays.sort(sorted);
        System.out.printf("| %s | %d | %.2f | %.3f | %s | %.1f | %.0f |%n", c.name(), n, write, sorted[sorted.length / 2],
                Arrays.toString(Arrays.stream(reads).map(x -> Math.round(x * 1000) / 1000.0).toArray()),
                bytes / 1048576.0, decompressed / 1048576.0);
    }

    /** 10,000-dataset scale run: ingest, flush, registry size, open time. */
    static void scale(Path root, EngineResources r, int n) throws IOException {
        Path dir = root.resolve("scale-" + n);
        delete(dir);
        Case c = byName("sensors");
        ReadCaches caches = ReadCaches.defaults(r.allocator());
        Atlas atlas = LocalAtlas.create(dir, options(r, caches)).block(T);
        long t0 = System.nanoTime();
        Flux.range(0, n).flatMap(i -> atlas.createDataset(String.format("ds%05d", i)).flatMap(v -> Flux.fromIterable(c.vars())
                .concatMap(var -> v.defineArray(var.name(), ArraySpec.of(var.dtype(), c.shape()).withDimensions("time"))
                        .then(Mono.using(() -> data(var, c.shape(), i), a -> v.writeArray(var.name(), new long[] {0}, a),
                                NdArray::close)))
                .then(v.setAttribute("station", dev.atlas.store.Attr.of("st-" + i)))
                .then()), 4).then().block(T);
        double ingest = (System.nanoTime() - t0) / 1e9;
        long t1 = System.nanoTime();
        atlas.flush().block(T);
        double flush = (System.nanoTime() - t1) / 1e9;
        atlas.close().block(T);
        long registry = Files.size(dir.resolve("atlas.msgpack.zst"));
        double[] opens = new double[3];
        for (int k = 0; k < 3; k++) {
            long t2 = System.nanoTime();
            Atlas a = LocalAtlas.open(dir, options(r, caches)).block(T);
            opens[k] = (System.nanoTime() - t2) / 1e9;
            if (a.datasetCount() != n) {
                throw new AssertionError("reopened " + a.datasetCount() + " datasets, expected " + n);
            }
            a.close().block(T);
        }
        Atlas a = LocalAtlas.open(dir, options(r, caches)).block(T);
        List<String> names = a.listDatasets();
        long t3 = System.nanoTime();
        a.readArrayAcrossStacked("temperature", names, new long[] {0}, new long[] {24}).block(T).close();
        double bulk = (System.nanoTime() - t3) / 1e9;
        a.close().block(T);
        caches.invalidateAll();
        System.out.printf("scale: %d datasets x %d arrays: ingest %.2f s, flush %.2f s, registry %d bytes (%s), open %s s,"
                + " bulk read of all %d temperature arrays %.3f s, store %.1f MiB%n", n, c.vars().size(), ingest, flush, registry,
                "atlas.msgpack.zst", Arrays.toString(Arrays.stream(opens).map(x -> Math.round(x * 1000) / 1000.0).toArray()), n,
                bulk, size(dir) / 1048576.0);
    }

    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    static long size(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private AtlasBench() {
    }
}
