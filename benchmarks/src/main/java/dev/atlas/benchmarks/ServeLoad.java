package dev.atlas.benchmarks;

import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetView;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.ByteBufFlux;
import reactor.netty.http.client.HttpClient;
import reactor.netty.resources.ConnectionProvider;
import reactor.netty.resources.LoopResources;

/**
 * Load test of {@code atlas serve}: N concurrent clients (default 200, each one request at a time
 * on its own keep-alive connection) on loopback for a fixed time, mixing catalog, window, bulk and
 * PNG requests against a store of many small gridded datasets (generated here when absent). The
 * server runs as its own JVM ({@code java -jar examples/target/atlas.jar serve}) with bounded heap
 * and direct memory and Netty leak detection at {@code simple}; its memory is sampled every second
 * through its {@code /metrics}; its log is searched for leak reports afterwards.
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar dev.atlas.benchmarks.ServeLoad \
 *   --store /tmp/atlas-serve-load --server-jar examples/target/atlas.jar --clients 200 --seconds 60 \
 *   [--server-timeout S] [--client-timeout S] [--datasets N] [--server-heap 512m] [--server-direct 1g] \
 *   [--server-java-opts "-Dname=value ..."]
 * </pre>
 *
 * Every response is checked: status 200, and for binary bodies exactly the bytes the region implies.
 */
public final class ServeLoad {
    enum Kind { CATALOG, WINDOW, BULK, PNG }

    static final int T = 6;
    static final int NY = 64;
    static final int NX = 128;

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new java.util.HashMap<>(Map.of("--store", "/tmp/atlas-serve-load", "--server-jar",
                "examples/target/atlas.jar", "--clients", "200", "--seconds", "60", "--datasets", "1000",
                "--server-heap", "512m", "--server-direct", "1g"));
        for (int i = 0; i + 1 < args.length; i += 2) {
            opt.put(args[i], args[i + 1]);
        }
        Path store = Path.of(opt.get("--store"));
        int datasets = Integer.parseInt(opt.get("--datasets"));
        int clients = Integer.parseInt(opt.get("--clients"));
        int seconds = Integer.parseInt(opt.get("--seconds"));
        if (!Files.exists(store.resolve("atlas.json"))) {
            generate(store, datasets);
        }
        Path log = Files.createTempFile("atlas-serve-load", ".log");
        List<String> cmd = new java.util.ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx" + opt.get("--server-heap"), "-XX:MaxDirectMemorySize=" + opt.get("--server-direct"),
                "-Dio.netty.leakDetection.level=simple"));
        if (opt.containsKey("--server-java-opts")) {
            // Extra JVM options of the server (system properties of the engine, e.g. to compare a knob).
            cmd.addAll(List.of(opt.get("--server-java-opts").trim().split("\\s+")));
        }
        cmd.addAll(List.of("-jar", opt.get("--server-jar"), "serve", "--store", store.toString(), "--port", "0"));
        if (opt.containsKey("--server-timeout")) {
            // The server's request timeout (s): set it below --client-timeout to tell a request the
            // server holds (answered 408) from one it never saw through.
            cmd.addAll(List.of("--timeout", opt.get("--server-timeout")));
        }
        System.out.println("server: " + String.join(" ", cmd));
        Process server = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String base = null;
        BufferedReader out = new BufferedReader(new InputStreamReader(server.getInputStream(), StandardCharsets.UTF_8));
        Pattern url = Pattern.compile("on (http://\\S+) ");
        List<String> serverLines = new ArrayList<>();
        String line;
        while ((line = out.readLine()) != null) {
            serverLines.add(line);
            Matcher m = url.matcher(line);
            if (m.find()) {
                base = m.group(1);
                break;
            }
        }
        if (base == null) {
            throw new IllegalStateException("server did not start:\n" + String.join("\n", serverLines));
        }
        Thread drain = new Thread(() -> {
            try {
                String l;
                while ((l = out.readLine()) != null) {
                    synchronized (serverLines) {
                        serverLines.add(l);
                    }
                }
            } catch (IOException ignored) {
                // process ended
            }
        }, "server-log");
        drain.setDaemon(true);
        drain.start();
        System.out.println("server at " + base + "; " + clients + " clients for " + seconds + " s");

        LoopResources loops = LoopResources.create("load", 1, 2, true);
        ConnectionProvider pool = ConnectionProvider.builder("load").maxConnections(clients + 8)
                .pendingAcquireMaxCount(-1).build();
        HttpClient http = HttpClient.create(pool).runOn(loops).baseUrl(base).responseTimeout(Duration.ofSeconds(Long.parseLong(opt.getOrDefault("--client-timeout", "60"))));
        List<String> names = new ArrayList<>();
        for (int i = 0; i < datasets; i++) {
            names.add(name(i));
        }

        Map<Kind, ConcurrentLinkedQueue<Long>> latencies = new EnumMap<>(Kind.class);
        Map<Kind, AtomicLong> errors = new EnumMap<>(Kind.class);
        for (Kind k : Kind.values()) {
            latencies.put(k, new ConcurrentLinkedQueue<>());
            errors.put(k, new AtomicLong());
        }
        AtomicLong bytes = new AtomicLong();
        List<String> errorSamples = java.util.Collections.synchronizedList(new ArrayList<>());
        long[] maxMem = new long[4];   // heap, direct (JVM buffer pools), netty pooled direct, samples
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        Thread sampler = new Thread(() -> {
            while (System.nanoTime() < end) {
                try {
                    String m = http.get().uri("/metrics").responseContent().aggregate().asString().block(Duration.ofSeconds(30));
                    maxMem[0] = Math.max(maxMem[0], sum(m, "jvm_memory_used_bytes\\{area=\"heap\"[^}]*\\} (\\S+)"));
                    maxMem[1] = Math.max(maxMem[1], sum(m, "jvm_buffer_memory_used_bytes\\{id=\"direct\"\\} (\\S+)"));
                    maxMem[2] = Math.max(maxMem[2], sum(m, "atlas_netty_pooled_memory_used_bytes\\{kind=\"direct\"\\} (\\S+)"));
                    maxMem[3]++;
                    Thread.sleep(1000);
                } catch (Exception e) {
                    errorSamples.add("metrics: " + e);
                }
            }
        }, "sampler");
        sampler.start();
        long t0 = System.nanoTime();
        Flux.range(0, clients).flatMap(c -> Mono.defer(() -> one(http, names, latencies, errors, bytes, errorSamples))
                .repeat(() -> System.nanoTime() < end), clients).blockLast(Duration.ofSeconds(seconds + 120));
        double elapsed = (System.nanoTime() - t0) / 1e9;
        sampler.join();
        String finalMetrics = http.get().uri("/metrics").responseContent().aggregate().asString().block(Duration.ofSeconds(30));
        server.destroy();                                          // SIGTERM: the shutdown hook stops serving
        server.waitFor();
        drain.join(5000);
        long leaks;
        synchronized (serverLines) {
            leaks = serverLines.stream().filter(l -> l.contains("LEAK:")).count();
            Files.write(log, serverLines);
        }
        pool.disposeLater().block();
        loops.disposeLater().block();

        long total = 0;
        long errs = 0;
        StringBuilder table = new StringBuilder("| kind | requests | req/s | p50 ms | p99 ms | max ms | errors |\n|---|---|---|---|---|---|---|\n");
        for (Kind k : Kind.values()) {
            long[] l = latencies.get(k).stream().mapToLong(Long::longValue).sorted().toArray();
            total += l.length;
            errs += errors.get(k).get();
            table.append(String.format(Locale.ROOT, "| %s | %d | %.0f | %.2f | %.2f | %.2f | %d |%n", k.name().toLowerCase(Locale.ROOT),
                    l.length, l.length / elapsed, pct(l, 0.50), pct(l, 0.99), l.length == 0 ? 0 : l[l.length - 1] / 1e6,
                    errors.get(k).get()));
        }
        System.out.println();
        System.out.print(table);
        System.out.printf(Locale.ROOT, "%ntotal %d requests in %.1f s = %.0f req/s, %.1f MiB/s of bodies, errors %d%n", total,
                elapsed, total / elapsed, bytes.get() / elapsed / (1 << 20), errs);
        System.out.printf(Locale.ROOT, "server max heap used %.0f MiB, max direct (JVM buffer pool) %.0f MiB, max Netty pooled direct %.0f MiB (%d samples)%n",
                maxMem[0] / 1048576.0, maxMem[1] / 1048576.0, maxMem[2] / 1048576.0, maxMem[3]);
        System.out.printf(Locale.ROOT, "server after the run: cache hit ratio slab %s block %s; storage reads %s, bytes read %s%n",
                first(finalMetrics, "atlas_cache_hit_ratio\\{cache=\"slab\"\\} (\\S+)"),
                first(finalMetrics, "atlas_cache_hit_ratio\\{cache=\"block\"\\} (\\S+)"),
                first(finalMetrics, "atlas_cache_loads_total\\{cache=\"slab\"\\} (\\S+)"),
                first(finalMetrics, "atlas_cache_loaded_bytes_total\\{cache=\"slab\"\\} (\\S+)"));
        System.out.println("leak reports in the server log (" + log + "): " + leaks);
        errorSamples.stream().limit(10).forEach(e -> System.out.println("  error: " + e));
        System.exit(errs == 0 && leaks == 0 ? 0 : 1);
    }

    static String name(int i) {
        return String.format("ds_%04d", i);
    }

    private static Mono<Void> one(HttpClient http, List<String> names, Map<Kind, ConcurrentLinkedQueue<Long>> lat,
            Map<Kind, AtomicLong> errors, AtomicLong bytes, List<String> samples) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        int p = r.nextInt(100);
        Kind kind;
        String uri;
        String body = null;
        long expect = -1;
        if (p < 35) {
            kind = Kind.CATALOG;
            int c = r.nextInt(3);
            uri = c == 0 ? "/datasets?limit=50&cursor=" + r.nextInt(names.size())
                    : c == 1 ? "/datasets/" + names.get(r.nextInt(names.size())) : "/arrays";
        } else if (p < 75) {
            kind = Kind.WINDOW;
            int y = r.nextInt(NY - 32);
            int x = r.nextInt(NX - 32);
            uri = "/datasets/" + names.get(r.nextInt(names.size())) + "/arrays/temperature/data?region="
                    + r.nextInt(T) + "," + y + ":" + (y + 32) + "," + x + ":" + (x + 32);
            expect = 32 * 32 * 4;
        } else if (p < 95) {
            kind = Kind.BULK;
            int n = 50;
            int from = r.nextInt(names.size() - n);
            if (r.nextBoolean()) {
                uri = "/arrays/temperature/data?prefix=ds_0" + (from / 100 % 10) + "&limit=" + n + "&region=0,10:20,10:30";
                expect = (long) n * 10 * 20 * 4;
            } else {
                List<String> run = names.subList(from, from + n);
                body = "{\"datasets\": [\"" + String.join("\",\"", run) + "\"]}";
                uri = "/arrays/temperature/data?region=0:2,10:20,10:30";
                expect = (long) n * 2 * 10 * 20 * 4;
            }
        } else {
            kind = Kind.PNG;
            uri = "/datasets/" + names.get(r.nextInt(names.size())) + "/arrays/temperature/png?region=" + r.nextInt(T) + ",:,:";
        }
        long expected = expect;
        long t0 = System.nanoTime();
        HttpClient.ResponseReceiver<?> req = body == null ? http.get().uri(uri)
                : http.post().uri(uri).send(ByteBufFlux.fromString(Mono.just(body)));
        return req.responseSingle((res, content) -> content.asByteArray().defaultIfEmpty(new byte[0]).map(b -> {
            if (res.status().code() != 200 || expected >= 0 && b.length != expected) {
                errors.get(kind).incrementAndGet();
                if (samples.size() < 50) {
                    samples.add(res.status().code() + " " + uri + " " + b.length + " bytes: "
                            + new String(b, 0, Math.min(200, b.length), StandardCharsets.UTF_8));
                }
            } else {
                lat.get(kind).add(System.nanoTime() - t0);
                bytes.addAndGet(b.length);
            }
            return b.length;
        })).onErrorResume(e -> {
            errors.get(kind).incrementAndGet();
            samples.add(uri + ": " + e);
            return Mono.empty();
        }).then();
    }

    private static double pct(long[] sorted, double q) {
        if (sorted.length == 0) {
            return 0;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - 1)] / 1e6;
    }

    private static long sum(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        double s = 0;
        while (m.find()) {
            s += Double.parseDouble(m.group(1));
        }
        return (long) s;
    }

    private static String first(String text, String regex) {
        Matcher m = Pattern.compile(regex).matcher(text);
        return m.find() ? m.group(1) : "n/a";
    }

    /** A demo-like store: per dataset a temperature and a precipitation field [6, 64, 128] and a land mask, with attributes. */
    static void generate(Path dir, int n) {
        long t0 = System.nanoTime();
        EngineResources resources = EngineResources.create();
        try {
            Atlas atlas = LocalAtlas.create(dir, AtlasOptions.builder(resources).build()).block();
            for (int i = 0; i < n; i++) {
                DatasetView ds = atlas.createDataset(name(i)).block();
                double lat0 = -60 + (i % 20) * 6;
                double lon0 = -180 + (i / 20 % 50) * 7.2;
                ds.setAttribute("title", Attr.of("synthetic tile " + i)).block();
                ds.setAttribute("lat0", Attr.of(lat0)).block();
                ds.setAttribute("lon0", Attr.of(lon0)).block();
                ds.defineArray("temperature", ArraySpec.of(DType.FLOAT32, T, NY, NX).withChunks(1, NY, NX)
                        .withDimensions("time", "lat", "lon").withFill(new FillValue.Float(Double.NaN))).block();
                ds.defineArray("precip", ArraySpec.of(DType.FLOAT32, T, NY, NX).withChunks(1, NY, NX)
                        .withDimensions("time", "lat", "lon").withFill(new FillValue.Float(-1))).block();
                ds.defineArray("land", ArraySpec.of(DType.UINT8, NY, NX).withDimensions("lat", "lon")
                        .withFill(new FillValue.UInt(0))).block();
                float[] temp = new float[T * NY * NX];
                float[] rain = new float[T * NY * NX];
                for (int t = 0; t < T; t++) {
                    for (int y = 0; y < NY; y++) {
                        for (int x = 0; x < NX; x++) {
                            int k = (t * NY + y) * NX + x;
                            double lat = lat0 + y * 6.0 / NY;
                            temp[k] = (float) (288 - 30 * Math.abs(Math.sin(Math.toRadians(lat)))
                                    + 5 * Math.sin((x + t * 3 + i) / 9.0) + ThreadLocalRandom.current().nextGaussian() * 0.3);
                            rain[k] = (float) Math.max(0, 4 * Math.sin((x + y + t * 5 + i) / 7.0) + ThreadLocalRandom.current().nextGaussian());
                        }
                    }
                }
                byte[] land = new byte[NY * NX];
                for (int k = 0; k < land.length; k++) {
                    land[k] = (byte) (Math.sin(k / 97.0 + i) > 0.2 ? 1 : 0);
                }
                try (NdArray a = NdArray.ofFloats(new long[] {T, NY, NX}, temp);
                        NdArray b = NdArray.ofFloats(new long[] {T, NY, NX}, rain);
                        NdArray c = NdArray.ofBytes(DType.UINT8, new long[] {NY, NX}, land)) {
                    Mono.when(ds.writeArray("temperature", new long[3], a), ds.writeArray("precip", new long[3], b),
                            ds.writeArray("land", new long[2], c)).block();
                }
                ds.setArrayAttribute("temperature", "units", AttributeValue.ofString("K")).block();
                ds.setArrayAttribute("precip", "units", AttributeValue.ofString("mm/h")).block();
                if (i % 100 == 99) {
                    atlas.flush().block();
                    System.out.printf("generated %d datasets%n", i + 1);
                }
            }
            atlas.flush().block();
            atlas.close().block();
        } finally {
            resources.disposeLater().block();
        }
        System.out.printf(Locale.ROOT, "generated %d datasets in %s in %.1f s%n", n, dir, (System.nanoTime() - t0) / 1e9);
    }
}
