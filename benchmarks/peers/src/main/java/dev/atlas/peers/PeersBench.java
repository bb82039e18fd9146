package dev.atlas.peers;

import dev.atlas.peers.ArrayStore.Codec;
import dev.atlas.peers.ArrayStore.Reader;
import dev.atlas.peers.ArrayStore.Region;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Side by side with the Java peers (issue 9): Atlas, zarr-java, TileDB-Java and jHDF on identical
 * data in one JVM run, each through its documented API, same chunk shape and codec family/level.
 * Cases:
 * <ul>
 *   <li>{@code a}: write, then read whole, a 256^3 float32 array (chunks 64^3);</li>
 *   <li>{@code abig}: the same for 1024 x 1024 x 64 (chunks 64^3);</li>
 *   <li>{@code b}: read a 64^3 window at (32, 32, 32) of the 256^3 array, straddling 8 chunks;</li>
 *   <li>{@code c}: 1,000 datasets of 16 x 32 x 32 (chunks 8 x 16 x 16): write all, then read
 *       {@code [4, 0:16, 0:16]} from each (ours: {@code Atlas.readArrayAcross});</li>
 *   <li>{@code d}: 10,000 random 16^3 windows of the 256^3 array, 64 in flight.</li>
 * </ul>
 * Every timed op except {@code d} is preceded by untimed runs of itself for {@code --warmup}
 * seconds (at least one), for every system alike; {@code d}'s 10,000 reads warm themselves.
 * Figures are medians of {@code --reps} runs ({@code --big-reps} for {@code abig}, at most 3 for
 * {@code d} and for the writes of {@code c}, 1 for TileDB's {@code d}). Reads open the array afresh each run (ours with
 * cold engine caches; the OS page cache is warm for everyone, the files having just been written).
 * Every read is checked against the source (spot checks of the bits).
 *
 * <pre>
 * java -Xms8g -Xmx8g -XX:MaxDirectMemorySize=6g -Dio.netty.leakDetection.level=disabled \
 *   -jar benchmarks/peers/target/peers.jar [--dir /tmp/atlas-peers] [--reps 5] [--big-reps 3] [--warmup 2]
 *   [--systems Atlas,zarr-java,TileDB,jHDF] [--cases a,abig,b,c,d] [--kinds smooth,noisy] [--codecs zstd3,lz4]
 * </pre>
 */
public final class PeersBench {
    static final int[] CHUNK = {64, 64, 64};
    static final int[] MID = {256, 256, 256};
    static final int[] BIG = {1024, 1024, 64};
    static final long[] WIN_START = {32, 32, 32};
    static final int[] WIN = {64, 64, 64};
    static final int SMALL_N = 1000;
    static final int[] SMALL = {16, 32, 32};
    static final int[] SMALL_CHUNK = {8, 16, 16};
    static final long[] SLICE_START = {4, 0, 0};
    static final int[] SLICE = {1, 16, 16};
    static final int RANDOM_READS = 10_000;
    static final int[] RANDOM_WIN = {16, 16, 16};
    static final int IN_FLIGHT = 64;
    /** Parallelism of the many-datasets case: our store's default bulk concurrency (= cores), the same for the peers. */
    static final int BULK = Math.max(1, Runtime.getRuntime().availableProcessors());

    private final Path root;
    private final int reps;
    private final int bigReps;
    private final long warmupNanos;
    /** row key (case | data | codec) -> system -> median seconds. */
    private final Map<String, Map<String, Double>> table = new LinkedHashMap<>();
    /** (case | data | codec) -> system -> stored bytes. */
    private final Map<String, Map<String, Long>> sizes = new LinkedHashMap<>();
    private final List<String> failures = new ArrayList<>();

    private PeersBench(Path root, int reps, int bigReps, double warmupSeconds) {
        this.root = root;
        this.warmupNanos = (long) (warmupSeconds * 1e9);
        this.reps = reps;
        this.bigReps = bigReps;
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --option value pairs, got " + args[i]);
            }
            o.put(args[i].substring(2), args[i + 1]);
        }
        PeersBench b = new PeersBench(Path.of(o.getOrDefault("dir", "/tmp/atlas-peers")),
                Integer.parseInt(o.getOrDefault("reps", "5")), Integer.parseInt(o.getOrDefault("big-reps", "3")),
                Double.parseDouble(o.getOrDefault("warmup", "2")));
        List<String> systems = List.of(o.getOrDefault("systems", "Atlas,zarr-java,TileDB,jHDF").split(","));
        List<String> cases = List.of(o.getOrDefault("cases", "a,abig,b,c,d").split(","));
        List<String> kinds = List.of(o.getOrDefault("kinds", "smooth,noisy").split(","));
        List<Codec> codecs = Arrays.stream(o.getOrDefault("codecs", "zstd3,lz4").split(","))
                .map(c -> switch (c) {
                    case "zstd3" -> Codec.ZSTD3;
                    case "lz4" -> Codec.LZ4;
                    default -> throw new IllegalArgumentException("codec " + c + " (zstd3, lz4)");
                }).toList();
        System.err.printf("java %s, %d cores, max heap %d MiB%n", System.getProperty("java.version"),
                Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20);
        b.run(systems, cases, kinds, codecs);
        b.print(systems);
        System.exit(0);
    }

    private static ArrayStore store(String name) throws Exception {
        return switch (name) {
            case "Atlas" -> new AtlasStore();
            case "zarr-java" -> new ZarrStore();
            case "TileDB" -> new TileDbStore();
            case "jHDF" -> new JhdfStore();
            default -> throw new IllegalArgumentException("system " + name + " (Atlas, zarr-java, TileDB, jHDF)");
        };
    }

    private void run(List<String> systems, List<String> cases, List<String> kinds, List<Codec> codecs) throws Exception {
        for (String kind : kinds) {
            Field mid = Field.generate(kind, MID, new long[3], 42);
            Field big = cases.contains("abig") ? Field.generate(kind, BIG, new long[3], 43) : null;
            List<Field> small = new ArrayList<>();
            if (cases.contains("c")) {
                for (int i = 0; i < SMALL_N; i++) {
                    small.add(Field.generate(kind, SMALL, new long[] {16L * (i % 8), 32L * (i / 8 % 16), 32L * (i / 128)}, 1000 + i));
                }
            }
            for (Codec codec : codecs) {
                for (String sys : systems) {
                    try (ArrayStore s = store(sys)) {
                        Path dir = root.resolve(kind).resolve(codec.name().toLowerCase(Locale.ROOT)).resolve(sys);
                        if (cases.contains("a") || cases.contains("b") || cases.contains("d")) {
                            guard(sys, "a/b/d " + kind + " " + codec.label, () -> caseA(s, dir.resolve("mid"), "256³", mid, kind, codec, reps,
                                    cases.contains("a"), cases.contains("b"), cases.contains("d")));
                        }
                        if (big != null) {
                            guard(sys, "abig " + kind + " " + codec.label, () -> caseA(s, dir.resolve("big"), "1024×1024×64", big, kind, codec,
                                    bigReps, true, false, false));
                        }
                        if (cases.contains("c")) {
                            guard(sys, "c " + kind + " " + codec.label, () -> caseC(s, dir.resolve("many"), small, kind, codec));
                        }
                        if (s instanceof JhdfStore j) {
                            j.forget();
                        }
                    }
                }
            }
        }
    }

    @FunctionalInterface
    interface Body {
        void run() throws Exception;
    }

    private void guard(String sys, String what, Body b) {
        try {
            b.run();
        } catch (Throwable e) {
            String msg = sys + " failed on " + what + ": " + e;
            System.err.println(msg);
            e.printStackTrace();
            failures.add(msg);
        }
    }

    private void record(String row, String sys, double secs) {
        table.computeIfAbsent(row, k -> new LinkedHashMap<>()).put(sys, secs);
        System.err.printf(Locale.ROOT, "  %-50s %-10s %9.4f s%n", row, sys, secs);
    }

    private static String key(String what, String kind, Codec c) {
        return what + " | " + kind + " | " + c.label;
    }

    // ---------------------------------------------------------------- cases a, b, d

    private void caseA(ArrayStore s, Path dir, String label, Field f, String kind, Codec codec, int n,
            boolean doA, boolean doB, boolean doD) throws Exception {
        if (s instanceof JhdfStore j) {
            j.prepare(f);
        }
        // write (also needed for b and d)
        Body write = () -> {
            fresh(dir);
            s.write(dir, f, CHUNK, codec);
        };
        if (!doA) {
            write.run();
        } else {
            warmUp(write);
            double[] w = new double[n];
            for (int i = 0; i < n; i++) {
                fresh(dir);
                long t0 = System.nanoTime();
                s.write(dir, f, CHUNK, codec);
                w[i] = (System.nanoTime() - t0) / 1e9;
            }
            record(key("(a) write " + label, kind, codec), s.name(), median(w));
            sizes.computeIfAbsent(label + " | " + kind + " | " + codec.label, k -> new LinkedHashMap<>()).put(s.name(), size(dir));
            record(key("(a) read whole " + label, kind, codec), s.name(), timeReads(s, dir, f, new long[3], f.shape, n));
        }
        if (doB) {
            record(key("(b) read 64³ window over 8 chunks", kind, codec), s.name(), timeReads(s, dir, f, WIN_START, WIN, n));
        }
        if (doD) {
            SplittableRandom rnd = new SplittableRandom(11);
            long[][] starts = new long[RANDOM_READS][];
            for (int i = 0; i < starts.length; i++) {
                starts[i] = new long[] {rnd.nextLong(MID[0] - RANDOM_WIN[0] + 1), rnd.nextLong(MID[1] - RANDOM_WIN[1] + 1),
                        rnd.nextLong(MID[2] - RANDOM_WIN[2] + 1)};
            }
            // No separate warm-up: 10,000 reads warm themselves, and (a)/(b) ran the read path before.
            // TileDB gets one run: its 10,000 reads take 36 s to several minutes (each later run in
            // the same JVM slower than the first; see RESULTS.md), and the first run is its best.
            int dn = s instanceof TileDbStore ? 1 : Math.min(n, 3);
            double[] r = new double[dn];
            for (int i = 0; i < dn; i++) {
                int rep = i;
                long t0 = System.nanoTime();
                try (Reader rd = s.open(dir)) {
                    rd.readMany(starts, RANDOM_WIN, IN_FLIGHT, (k, reg) -> check(f, starts[k], RANDOM_WIN, reg, 2, rep * 31L + k, s.name()));
                }
                r[i] = (System.nanoTime() - t0) / 1e9;
            }
            record(key("(d) 10,000 random 16³ reads, 64 in flight", kind, codec), s.name(), median(r));
        }
    }

    /**
     * Median seconds of {@code n} timed reads (open, read, close; each checked against the source),
     * after {@link #warmUp}.
     */
    private double timeReads(ArrayStore s, Path dir, Field f, long[] start, int[] shape, int n) throws Exception {
        long[] took = {0};
        long[] run = {0}; // the spot-check seed: the run's number, so a failing check repeats
        Body read = () -> {
            long t0 = System.nanoTime();
            try (Reader rd = s.open(dir); Region reg = rd.read(start, shape, true)) {
                took[0] = System.nanoTime() - t0;
                check(f, start, shape, reg, 4096, run[0]++, s.name());
            }
        };
        warmUp(read);
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            read.run();
            r[i] = took[0] / 1e9;
        }
        return median(r);
    }

    /**
     * Runs an operation untimed until {@code --warmup} seconds have passed (at least once), so
     * every system is measured with its code compiled, not interpreted: a (b) window read run once
     * before its timing measured mostly the JIT (ours 4.5 ms in the first 200 reads, 2.2 ms from
     * the 600th; see RESULTS.md).
     */
    private void warmUp(Body op) throws Exception {
        long end = System.nanoTime() + warmupNanos;
        do {
            op.run();
        } while (System.nanoTime() < end);
    }

    // ---------------------------------------------------------------- case c

    private void caseC(ArrayStore s, Path dir, List<Field> fields, String kind, Codec codec) throws Exception {
        if (s instanceof JhdfStore j) {
            fields.forEach(j::prepare);
        }
        Body write = () -> {
            fresh(dir);
            s.writeMany(dir, fields, SMALL_CHUNK, codec, BULK);
        };
        warmUp(write);
        int wn = Math.min(reps, 3);
        double[] w = new double[wn];
        for (int i = 0; i < wn; i++) {
            fresh(dir);
            long t0 = System.nanoTime();
            s.writeMany(dir, fields, SMALL_CHUNK, codec, BULK);
            w[i] = (System.nanoTime() - t0) / 1e9;
        }
        record(key("(c) write 1,000 datasets 16×32×32", kind, codec), s.name(), median(w));
        sizes.computeIfAbsent("1,000 × 16×32×32 | " + kind + " | " + codec.label, k -> new LinkedHashMap<>()).put(s.name(), size(dir));
        double[] secs = {0};
        Body read = () -> {
            long t0 = System.nanoTime();
            List<Region> got = s.readMany(dir, fields.size(), SLICE_START, SLICE, BULK);
            secs[0] = (System.nanoTime() - t0) / 1e9;
            for (int k = 0; k < got.size(); k++) {
                try (Region reg = got.get(k)) {
                    check(fields.get(k), SLICE_START, SLICE, reg, 256, k, s.name());
                }
            }
        };
        warmUp(read);
        double[] r = new double[reps];
        for (int i = 0; i < reps; i++) {
            read.run();
            r[i] = secs[0];
        }
        record(key("(c) read [4,0:16,0:16] of each of 1,000", kind, codec), s.name(), median(r));
    }

    // ---------------------------------------------------------------- helpers

    /** Compares {@code samples} random elements (plus the first and last) of a region with the source, bit for bit. */
    static void check(Field f, long[] start, int[] shape, Region reg, int samples, long seed, String who) {
        int n = shape[0] * shape[1] * shape[2];
        SplittableRandom r = new SplittableRandom(seed);
        for (int s = -2; s < samples; s++) {
            int i = s == -2 ? 0 : s == -1 ? n - 1 : r.nextInt(n);
            int z = i / (shape[1] * shape[2]);
            int y = i / shape[2] % shape[1];
            int x = i % shape[2];
            float want = f.at(start[0] + z, start[1] + y, start[2] + x);
            float got = reg.at(i);
            if (Float.floatToRawIntBits(want) != Float.floatToRawIntBits(got)) {
                throw new IllegalStateException(String.format(Locale.ROOT, "%s: wrong value at (%d, %d, %d): %s, source %s", who,
                        start[0] + z, start[1] + y, start[2] + x, got, want));
            }
        }
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    static void fresh(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> w = Files.walk(dir)) {
                for (Path p : w.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Files.createDirectories(dir);
    }

    static long size(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private void print(List<String> systems) {
        String ours = "Atlas";
        StringBuilder sb = new StringBuilder();
        sb.append("\n| case | data | codec |");
        for (String s : systems) {
            sb.append(' ').append(s).append(s.equals(ours) ? " s |" : " s (× ours) |");
        }
        sb.append("\n| --- | --- | --- |");
        sb.append(" ---: |".repeat(systems.size()));
        for (Map.Entry<String, Map<String, Double>> row : table.entrySet()) {
            sb.append("\n| ").append(row.getKey()).append(" |");
            Double base = row.getValue().get(ours);
            for (String s : systems) {
                Double v = row.getValue().get(s);
                if (v == null) {
                    sb.append(" — |");
                } else if (s.equals(ours) || base == null) {
                    sb.append(String.format(Locale.ROOT, " %.4f |", v));
                } else {
                    sb.append(String.format(Locale.ROOT, " %.4f (%.2f×) |", v, v / base));
                }
            }
        }
        sb.append("\n\nStored size (MiB; ratio = raw / stored):\n\n| array | data | codec |");
        for (String s : systems) {
            sb.append(' ').append(s).append(" |");
        }
        sb.append("\n| --- | --- | --- |").append(" ---: |".repeat(systems.size()));
        for (Map.Entry<String, Map<String, Long>> row : sizes.entrySet()) {
            String k = row.getKey();
            long raw = k.startsWith("256") ? 256L * 256 * 256 * 4 : k.startsWith("1024") ? 1024L * 1024 * 64 * 4 : 1000L * 16 * 32 * 32 * 4;
            sb.append("\n| ").append(k).append(" |");
            for (String s : systems) {
                Long v = row.getValue().get(s);
                sb.append(v == null ? " — |" : String.format(Locale.ROOT, " %.1f (%.2f) |", v / 1048576.0, (double) raw / v));
            }
        }
        if (!failures.isEmpty()) {
            sb.append("\n\nFailures:\n");
            failures.forEach(f -> sb.append("- ").append(f).append('\n'));
        }
        System.out.println(sb);
    }
}
