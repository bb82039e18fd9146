package dev.atlas.examples.cli;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.runtime.EngineResources;
import dev.atlas.array.NdArray;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.internal.format.LayerNames;
import dev.atlas.storage.local.LocalStorage;
import dev.atlas.store.Atlas;
import dev.atlas.store.Attr;
import dev.atlas.store.StoreUri;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * {@code atlas demo}: the tool's first run. Creates (or reuses) a local store of synthetic gridded
 * datasets ({@link SyntheticGrid}: time axis, temperature, precipitation with missing cells, land
 * mask, CF-style attributes), ingesting them with bounded concurrency and a flush every
 * {@code --flush-every} datasets behind a progress bar; then times a cross-dataset bulk read (one
 * time step of every dataset, stacked into one buffer) and a single-dataset window read, and
 * prints what it did. {@code --sample-file DIR} instead writes the small single-file sample
 * (an {@code ArrayFile} with two layers) and dumps it.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, description = {"Create (or reuse) a demo store of synthetic gridded datasets, read it, report timings, then serve it"
                + " over HTTP until Ctrl-C (--no-serve: stop after the timings).",
        "Exit codes: 0 ok, 1 runtime error, 2 usage error."})
final class DemoCommand implements Callable<Integer> {
    /** Datasets in the demo store by default: enough to make cross-dataset reads meaningful. */
    static final int DEFAULT_DATASETS = 1000;
    /** Datasets ingested at once: generation and compression of two cores stay busy. */
    static final int DEFAULT_CONCURRENCY = 4;
    /** Datasets per flush (one commit each): bounds the pending layer and the work a crash loses. */
    static final int DEFAULT_FLUSH_EVERY = 100;
    /** Dataset names: {@code grid_0000}, ... (a store is complete when every one exists with its four arrays). */
    static final String NAME_PREFIX = "grid_";

    @Option(names = "--store", paramLabel = "PATH", description = "The demo store (default ${DEFAULT-VALUE}).")
    String store = "atlas-demo";

    @Option(names = "--datasets", paramLabel = "N", description = "Datasets to create (default ${DEFAULT-VALUE}).")
    int datasets = DEFAULT_DATASETS;

    @Option(names = "--concurrency", paramLabel = "C", description = "Datasets written at once (default ${DEFAULT-VALUE}).")
    int concurrency = DEFAULT_CONCURRENCY;

    @Option(names = "--flush-every", paramLabel = "K", description = "Flush after every K datasets (default ${DEFAULT-VALUE}).")
    int flushEvery = DEFAULT_FLUSH_EVERY;

    @Option(names = "--no-serve", description = "Do not serve the store after the demo.")
    boolean noServe;

    @Option(names = "--host", paramLabel = "HOST", description = "Address the demo serves on (default ${DEFAULT-VALUE}).")
    String host = "127.0.0.1";

    @Option(names = "--port", paramLabel = "PORT", description = "Port the demo serves on, 0 for any free port (default ${DEFAULT-VALUE}).")
    int port = 8080;

    @Option(names = "--refresh-interval", paramLabel = "SECONDS",
            description = "While serving: seconds between checks for commits of other processes, as for serve (0 = never; default ${DEFAULT-VALUE}).")
    java.math.BigDecimal refreshSeconds = new java.math.BigDecimal(StoreSession.DEFAULT_REFRESH_SECONDS);

    @Option(names = "--sample-file", paramLabel = "DIR",
            description = "Instead: write a small single .af file set (two layers) into DIR and dump it.")
    Path sampleDir;

    @Spec
    CommandSpec spec;

    static final long[] SHAPE = {4, 6, 8};
    static final long[] CHUNK = {1, 3, 4};

    @Override
    public Integer call() throws IOException, InterruptedException {
        if (sampleDir != null) {
            return sample(sampleDir);
        }
        if (datasets < 1 || datasets > 1_000_000) {
            throw CliException.usage("--datasets must be between 1 and 1000000, not " + datasets);
        }
        if (concurrency < 1 || concurrency > 256) {
            throw CliException.usage("--concurrency must be between 1 and 256, not " + concurrency);
        }
        if (flushEvery < 1) {
            throw CliException.usage("--flush-every must be at least 1, not " + flushEvery);
        }
        // A bad --host or --port is refused before any work (ignored with --no-serve).
        dev.atlas.http.ServerOptions.Builder serving = noServe ? null : serverOptions();
        // The handle the demo serves refreshes like atlas serve's (another process may write the store).
        Duration refresh = noServe ? Duration.ZERO : StoreSession.refreshInterval(refreshSeconds);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        StoreUri location = StoreSession.location(store);
        try (StoreSession s = StoreSession.open(location, true, refresh)) {
            Atlas atlas = s.atlas();
            List<String> names = names(datasets);
            ingest(s, names, out, err);
            bulkRead(atlas, names, out);
            windowRead(atlas, names.get(names.size() / 2), out);
            out.flush();
            if (!noServe) {
                return serveAfterDemo(s, serving, out);
            }
        }
        return 0;
    }

    /** The demo's dataset names: grid_0000, grid_0001, ... (at least four digits). */
    static List<String> names(int n) {
        int digits = Math.max(4, Integer.toString(n - 1).length());
        List<String> names = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            names.add(NAME_PREFIX + String.format("%0" + digits + "d", i));
        }
        return names;
    }

    /** Writes the datasets the store lacks (all of them on a fresh store) and reports the ingest. */
    private void ingest(StoreSession s, List<String> names, PrintWriter out, PrintWriter err) {
        Atlas atlas = s.atlas();
        List<Integer> missing = new ArrayList<>();
        List<String> partial = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String n = names.get(i);
            if (!atlas.datasetExists(n)) {
                missing.add(i);
            } else if (!atlas.dataset(n).meta().arrays().keySet().containsAll(List.of(SyntheticGrid.ARRAYS))) {
                partial.add(n);
                missing.add(i);
            }
        }
        if (missing.isEmpty()) {
            out.printf("store %s: reusing %d complete datasets (%d in the store)%n", s.location(), names.size(),
                    atlas.datasetCount());
            return;
        }
        for (String n : partial) {
            atlas.deleteDataset(n).block();
        }
        out.printf("store %s: %s %d of %d datasets (%d arrays each, %d at once, a flush every %d)%n", s.location(),
                missing.size() == names.size() ? "creating" : "completing with", missing.size(), names.size(),
                SyntheticGrid.ARRAYS.length, concurrency, flushEvery);
        out.flush();
        ProgressBar bar = new ProgressBar(err, "ingest", missing.size(), "datasets", ProgressBar.interactive());
        AtomicLong rawBytes = new AtomicLong();
        long t0 = System.nanoTime();
        Scheduler gen = Schedulers.newParallel("atlas-demo-gen", Math.max(1, Math.min(concurrency,
                Runtime.getRuntime().availableProcessors())), true);
        try {
            Flux.fromIterable(missing)
                    .buffer(flushEvery)
                    .concatMap(batch -> Flux.fromIterable(batch)
                            .flatMap(i -> Mono.using(() -> SyntheticGrid.generate(i),
                                    m -> writeMember(atlas, names.get(i), i, m).then(Mono.fromRunnable(() -> {
                                        rawBytes.addAndGet(m.bytes());
                                        bar.advance(1);
                                    })),
                                    SyntheticGrid.Member::close).subscribeOn(gen), concurrency)
                            .then(atlas.flush()))
                    .then()
                    .block();
        } finally {
            bar.finish();
            gen.dispose();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        long disk = s.localDir().map(d -> CompactCommand.onDisk(d)[1]).orElse(0L);
        out.printf("ingested %d datasets in %.2f s: %.0f datasets/s, %s raw (%.1f MiB/s), %s of array files on disk%n",
                missing.size(), seconds, missing.size() / seconds, Values.bytes(rawBytes.get()),
                rawBytes.get() / 1048576.0 / seconds, Values.bytes(disk));
    }

    /** One dataset: attributes, four arrays with their attributes, their data. */
    private static Mono<Void> writeMember(Atlas atlas, String name, int member, SyntheticGrid.Member m) {
        return atlas.createDataset(name).flatMap(ds -> {
            long now = System.currentTimeMillis() * 1_000_000L;
            Mono<Void> attrs = Flux.concat(
                    ds.setAttribute("title", Attr.of("Synthetic monthly reanalysis, member " + member)),
                    ds.setAttribute("institution", Attr.of("Atlas demo (synthetic data)")),
                    ds.setAttribute("source", Attr.of("atlas demo generator v1")),
                    ds.setAttribute("Conventions", Attr.of("CF-1.8")),
                    ds.setAttribute("member", Attr.of((long) member)),
                    ds.setAttribute("grid_resolution_deg", Attr.of(5.0)),
                    ds.setAttribute("created", Attr.timestampNanos(now))).then();
            Mono<Void> arrays = Flux.fromIterable(SyntheticGrid.specs().entrySet())
                    .concatMap(e -> ds.defineArray(e.getKey(), e.getValue())
                            .then(Flux.fromIterable(SyntheticGrid.arrayAttributes().get(e.getKey()).entrySet())
                                    .concatMap(a -> ds.setArrayAttribute(e.getKey(), a.getKey(), a.getValue())).then())
                            .then(ds.writeArray(e.getKey(), new long[e.getValue().shape().length], m.get(e.getKey()))))
                    .then();
            return attrs.then(arrays);
        });
    }

    /** One time step of temperature from every dataset, stacked: cold, then again through the caches. */
    private static void bulkRead(Atlas atlas, List<String> names, PrintWriter out) {
        long[] start = {0, 0, 0};
        long[] shape = {1, SyntheticGrid.LAT, SyntheticGrid.LON};
        double[] ms = new double[2];
        double sum = 0;
        long count = 0;
        long bytes = 0;
        for (int pass = 0; pass < 2; pass++) {
            long t0 = System.nanoTime();
            try (NdArray stack = atlas.readArrayAcrossStacked("temperature", names, start, shape).block()) {
                ms[pass] = (System.nanoTime() - t0) / 1e6;
                if (pass == 0) {
                    bytes = stack.size() * 4;
                    for (long i = 0; i < stack.size(); i++) {
                        float v = stack.getFloat(i);
                        if (!Float.isNaN(v)) {
                            sum += v;
                            count++;
                        }
                    }
                }
            }
        }
        out.printf("bulk read: temperature[0, :, :] of %d datasets -> [%d, 1, %d, %d] float32, %s: %.1f ms cold"
                + " (%.0f MiB/s), %.1f ms warm; mean %.2f K%n", names.size(), names.size(), SyntheticGrid.LAT,
                SyntheticGrid.LON, Values.bytes(bytes), ms[0], bytes / 1048576.0 / (ms[0] / 1000), ms[1], sum / count);
    }

    /** A window of one dataset's temperature across all time steps. */
    private static void windowRead(Atlas atlas, String name, PrintWriter out) {
        long[] start = {0, 8, 16};
        long[] shape = {SyntheticGrid.TIME, 16, 32};
        long t0 = System.nanoTime();
        try (NdArray w = atlas.dataset(name).readArray("temperature", start, shape).block()) {
            double ms = (System.nanoTime() - t0) / 1e6;
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            double sum = 0;
            for (long i = 0; i < w.size(); i++) {
                float v = w.getFloat(i);
                min = Math.min(min, v);
                max = Math.max(max, v);
                sum += v;
            }
            out.printf("window read: %s/temperature[0:%d, 8:24, 16:48] (%,d elements) in %.2f ms; min %.2f K, max %.2f K,"
                    + " mean %.2f K%n", name, SyntheticGrid.TIME, w.size(), ms, min, max, sum / w.size());
        }
    }

    /**
     * Serving after the demo: the store the demo built, served as {@code atlas serve} serves it on
     * {@code --host} and {@code --port} until {@link #control} says stop. Returns the command's exit code.
     */
    int serveAfterDemo(StoreSession session, dev.atlas.http.ServerOptions.Builder options, PrintWriter out)
            throws InterruptedException {
        ServeCommand.serveUntilStopped(session, options, out, control);
        return 0;
    }

    /** The serving options of {@code --host} and {@code --port}; a bad one is a usage error. */
    private dev.atlas.http.ServerOptions.Builder serverOptions() {
        dev.atlas.http.ServerOptions.Builder b;
        try {
            b = dev.atlas.http.ServerOptions.builder().host(host).port(port);
        } catch (dev.atlas.error.InvalidArgumentException e) {
            throw CliException.usage(e.getMessage());
        }
        if (port != 0) {
            // A busy port is found now, not after the whole ingest. (Another process may still
            // take it in between: the serving step then fails with the same message.)
            try (java.net.ServerSocket probe = new java.net.ServerSocket()) {
                probe.setReuseAddress(true);
                probe.bind(new java.net.InetSocketAddress(host, port));
            } catch (IOException e) {
                throw CliException.runtime("cannot listen on " + host + ":" + port + " (" + e.getMessage()
                        + "): choose another --port, or --no-serve");
            }
        }
        return b;
    }

    /** Tells the demo's serving step when it listens and when to stop (Ctrl-C by default). */
    ServeCommand.Control control = new ServeCommand.Control() {
        @Override
        public void started(dev.atlas.http.AtlasHttpServer server) {
        }

        @Override
        public void awaitStop() throws InterruptedException {
            new java.util.concurrent.CountDownLatch(1).await(); // until the JVM shuts down
        }
    };

    /** {@code --sample-file}: the small single-file sample, written and dumped. */
    private Integer sample(Path dir) throws IOException {
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
