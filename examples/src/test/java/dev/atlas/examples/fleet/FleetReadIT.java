package dev.atlas.examples.fleet;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.examples.fleet.FleetStore.Backend;
import dev.atlas.store.StoreCodec;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fleet as a user runs it: one writer process ({@link FleetWriter}) overwrites whole arrays with
 * a new version each round, creates and deletes datasets, flushes and compacts every few rounds;
 * two {@code atlas serve --refresh-interval 0.5} processes (the second started mid-run) and a
 * reader process that reopens the store ({@link FleetReader}) read it meanwhile. This JVM hammers
 * both servers with single reads (whole arrays, the multi-piece dataset {@code d00000} included,
 * windows) and bulk reads (named datasets by GET and POST, a prefix selection) and checks every
 * response against the writer's {@link CommitLog}:
 * <ul>
 *   <li>a 200 body is exactly one (dataset, array, version) per row with the right indices: never
 *       another dataset's values, never two versions in one array (mixed), never short (truncated);
 *   <li>the dataset versions of a response (all rows of a bulk response together) are those of one
 *       commit no older than the last one acknowledged more than refresh interval + slack before the
 *       request (else stale), and flushed before the response ended;
 *   <li>a 404 only when such a commit lacks the dataset (deleted, or not created yet);
 *   <li>no status but 200 and 404, except a 503, which is retried and counted;
 *   <li>every acknowledged commit is served by each server within refresh interval + slack
 *       ({@code -Datlas.fleet.slackMillis}, default 3000): the lag from the ack to the first
 *       response showing that commit or a later one.
 * </ul>
 * Store codec: none on the directory and S3Proxy (where wrong bytes decode "fine"), zstd on S3Mock
 * (FleetKillIT uses the other codec on each backend).
 */
class FleetReadIT extends FleetTestBase {
    /**
     * The servers' {@code --refresh-interval}; {@code -Datlas.fleet.refreshOption=false} leaves the
     * option out (to see what servers without it serve).
     */
    private static final String REFRESH = Boolean.parseBoolean(System.getProperty("atlas.fleet.refreshOption", "true"))
            ? "0.5" : null;
    private static final long REFRESH_MILLIS = 500;
    /** Rows of d00000's grid: 2304 x 64 float64 = 1.1 MiB, more than one 1 MiB piece of a server stream. */
    private static final int BIG_ROWS = 2304;

    /**
     * The local directory, S3Mock and S3Proxy; {@code -Datlas.fleet.readBackends=LOCAL} (a comma list)
     * narrows it. On S3, which keeps no old object versions, a multi-piece response whose objects a
     * compaction replaces after its first piece finishes on the copies the compaction retained.
     */
    static java.util.stream.Stream<Backend> readBackends() {
        String only = System.getProperty("atlas.fleet.readBackends", "LOCAL,S3MOCK,S3PROXY");
        return java.util.Arrays.stream(only.split(",")).map(String::trim).map(Backend::valueOf);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("readBackends")
    void serversAndAReopeningReaderNeverServeWrongDataAndSeeEveryCommitInTime(Backend backend) throws Exception {
        int rounds = intProperty("atlas.fleet.rounds", 24);
        long roundMillis = intProperty("atlas.fleet.roundMillis", 300);
        long slack = intProperty("atlas.fleet.slackMillis", 3000);
        long bound = REFRESH_MILLIS + slack;
        long pace = intProperty("atlas.fleet.requestMillis", 10);
        long began = System.nanoTime();
        long seed = seed("FleetReadIT[" + backend + "]");
        StoreCodec codec = codec(backend == Backend.S3MOCK ? StoreCodec.ZSTD : StoreCodec.UNCOMPRESSED);
        Path dir = runDir("read-" + backend);
        FleetStore store = FleetStore.of(backend, dir, "store");
        Path log = dir.resolve("commits.log");
        Path go = dir.resolve("go");

        ChildJvm writer = own(ChildJvm.start("writer", dir, Map.of(), FleetWriter.class.getName(),
                args("store", store.arg(), "log", log, "seed", seed, "rounds", rounds, "roundMillis", roundMillis,
                        "compactEvery", intProperty("atlas.fleet.compactEvery", 4), "codec", codec, "bigRows", BIG_ROWS, "initial", 6, "go", go)));
        writer.require(0, l -> l.startsWith("ready"), "ready");
        Checker checker = new Checker(log, bound);
        List<Server> servers = new CopyOnWriteArrayList<>();
        servers.add(new Server(own(ServeProcess.start("serve-a", dir, store, REFRESH)), System.currentTimeMillis()));
        ChildJvm reader = own(ChildJvm.start("reader", dir, Map.of(), FleetReader.class.getName(),
                args("store", store.arg(), "log", log, "pauseMillis", 100)));
        reader.require(0, l -> l.equals("ready"), "ready");

        Files.createFile(go);
        String midRun = "serve-b not started";
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> hammers = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            Random rnd = new Random(seed + 1000 + t);
            Thread h = new Thread(() -> {
                while (!stop.get()) {
                    long next = System.nanoTime() + pace * 1_000_000;
                    Server s = servers.get(rnd.nextInt(servers.size()));
                    try {
                        checker.request(s, checker.next(rnd));
                    } catch (RuntimeException | AssertionError e) {
                        checker.harnessFailure(s, e);
                    }
                    long left = next - System.nanoTime();
                    if (left > 0) {
                        // pacing: on two cores an unpaced client starves the writer and the servers
                        java.util.concurrent.locks.LockSupport.parkNanos(left);
                    }
                }
            }, "hammer-" + t);
            h.setDaemon(true);
            h.start();
            hammers.add(h);
        }
        try {
            writer.requireWithProgress(0, l -> l.equals("acked " + (rounds / 4)), "'acked " + rounds / 4 + "'");
            long launched = System.nanoTime();
            servers.add(new Server(own(ServeProcess.start("serve-b", dir, store, REFRESH)), System.currentTimeMillis()));
            midRun = String.format("serve-b launched after round %d, serving after %d ms (round %d acknowledged by then)",
                    rounds / 4, (System.nanoTime() - launched) / 1_000_000, checker.lastAckRound());
            writer.requireWithProgress(0, l -> l.startsWith("done"), "done");
            assertEquals(0, writer.waitForExit(TIMEOUT), "the writer's exit code; output:\n" + writer.tail(30));
            // Every server must come to the last commit within the bound (the hammer keeps going meanwhile).
            long lastRound = checker.lastAckRound();
            Random probe = new Random(seed);
            for (Server s : servers) {
                long deadline = System.currentTimeMillis() + bound + 10_000;
                while (!s.seen(lastRound) && System.currentTimeMillis() < deadline) {
                    checker.request(s, checker.prefixBulk(probe));
                    Thread.sleep(20); // polling the server for the last commit
                }
            }
        } finally {
            stop.set(true);
            for (Thread h : hammers) {
                h.join(TIMEOUT.toMillis());
            }
        }

        StringBuilder report = new StringBuilder();
        report.append(String.format("FleetReadIT[%s, codec %s]: %d rounds (one commit each, compaction every 4th),"
                + " %d servers, refresh %s s, bound %d ms%n  responses: %s%n", backend, codec, rounds, servers.size(),
                REFRESH, bound, checker.counts()));
        report.append("  ").append(midRun).append('\n');
        List<String> late = new ArrayList<>();
        for (Server s : servers) {
            Lag lag = s.lag(checker.acks());
            report.append(String.format("  %s: %d commits after its start, max visibility lag %d ms, mean %d ms%s%n",
                    s.name(), lag.commits(), lag.max(), lag.mean(), lag.unseen().isEmpty() ? ""
                            : ", never served: rounds " + lag.unseen()));
            if (lag.max() > bound || !lag.unseen().isEmpty()) {
                late.add(s.name() + ": max lag " + lag.max() + " ms (round " + lag.worstRound() + "), never served rounds "
                        + lag.unseen());
            }
            String health = get(s.url().resolve("/health"));
            report.append("    /health ").append(health.trim()).append('\n');
            String metrics = get(s.url().resolve("/metrics")).lines()
                    // Refresh, re-plan and retry counters, and the storage requests of every outcome (so a
                    // slow server shows whether all its requests were slow or only some), zeros left out.
                    .filter(l -> !l.startsWith("#") && !l.matches(".* 0(\\.0)?") && (l.matches(
                            "(?i)atlas_.*(refresh|replan|re_plan|retr|stale|commit|conflict|retained|stream_cut).*")
                            || l.matches("atlas_storage_requests_seconds_(count|sum|max)\\{.*operation=\"(read|get|list|head)\".*")))
                    .collect(Collectors.joining("\n    "));
            report.append("    metrics: ").append(metrics.isEmpty() ? "(none about refresh, re-plans or retries)"
                    : "\n    " + metrics).append('\n');
            if (!health.contains("\"commit\"")) {
                late.add(s.name() + ": /health does not report the commit it serves: " + health.trim());
            }
        }
        FleetReader.Report r = FleetReader.Report.of(reader.lines());
        report.append("  reader: ").append(r).append(String.format("%n  %.1f s in all", (System.nanoTime() - began) / 1e9));
        System.out.println(report);
        if (!checker.failures().isEmpty() || !late.isEmpty() || !r.findings().isEmpty() || r.cycles() == 0) {
            // What a failure needs to be understood: the servers' and the reader's warnings and
            // threads, and the S3 server's threads (a request it never answers shows there).
            for (Server s : servers) {
                System.out.println("---- " + s.name() + ": thread dump and output tail ----\n" + s.process().jvm().diagnose(400));
            }
            System.out.println("---- reader: thread dump and output tail ----\n" + reader.diagnose(300));
            System.out.println(store.diagnoseServer());
        }
        reader.kill();
        for (Server s : servers) {
            s.process().stop();
        }
        List<String> problems = new ArrayList<>(checker.failures());
        r.findings().stream().limit(10).map(f -> "READER " + f).forEach(problems::add);
        late.forEach(l -> problems.add("LATE " + l));
        assertEquals(List.of(), problems, "wrong responses, reader findings or late commits (" + checker.counts()
                + "; reader: " + r + ")");
        assertTrue(checker.checked() > 0 && r.cycles() > 0, "something was checked: " + report);
    }

    private static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10)).build();

    private static String get(URI uri) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    /** A server and, per round, when a response first showed that round's commit or a later one. */
    record Server(String name, URI url, ServeProcess process, long startMillis, Map<Long, Long> firstSeen) {
        Server(ServeProcess process, long startMillis) {
            this(process.name(), process.url(), process, startMillis, new ConcurrentHashMap<>());
        }

        void saw(long round, long millis) {
            firstSeen.merge(round, millis, Math::min);
        }

        boolean seen(long round) {
            return firstSeen.keySet().stream().anyMatch(r -> r >= round);
        }

        /** Lag of each commit acknowledged after this server started: first response at it or later, minus the ack. */
        Lag lag(List<CommitLog.Entry> acks) {
            TreeMap<Long, Long> seen = new TreeMap<>(firstSeen);
            long max = 0;
            long sum = 0;
            long worst = -1;
            int n = 0;
            List<Long> unseen = new ArrayList<>();
            for (CommitLog.Entry a : acks) {
                if (a.millis() < startMillis) {
                    continue;
                }
                Long first = seen.tailMap(a.round(), true).values().stream().min(Long::compare).orElse(null);
                if (first == null) {
                    unseen.add(a.round());
                    continue;
                }
                long lag = Math.max(0, first - a.millis());
                n++;
                sum += lag;
                if (lag > max) {
                    max = lag;
                    worst = a.round();
                }
            }
            return new Lag(n, max, n == 0 ? 0 : sum / n, worst, unseen);
        }
    }

    record Lag(int commits, long max, long mean, long worstRound, List<Long> unseen) {
    }

    /** One request: what it reads and what its body must hold. */
    record Req(String what, String path, String postBody, List<Long> ids, String array, long[] start, long[] shape,
            boolean prefix) {
    }

    /**
     * Builds requests and checks responses against the writer's log (re-read when it grew). Thread-safe.
     */
    static final class Checker {
        private final Path log;
        private final long bound;
        private volatile List<CommitLog.Entry> entries = List.of();
        private volatile long logSize = -1;
        private final Map<String, AtomicLong> counts = new ConcurrentHashMap<>();
        /** The first few failures of each category, so that every kind shows in the report. */
        private final Map<String, ConcurrentLinkedQueue<String>> failures = new ConcurrentHashMap<>();

        Checker(Path log, long bound) {
            this.log = log;
            this.bound = bound;
        }

        private synchronized List<CommitLog.Entry> entries() {
            try {
                long size = Files.size(log);
                if (size != logSize) {
                    entries = CommitLog.read(log);
                    logSize = size;
                }
            } catch (IOException e) {
                // not written yet
            }
            return entries;
        }

        List<CommitLog.Entry> acks() {
            return entries().stream().filter(e -> e.kind().equals("ack")).toList();
        }

        long lastAckRound() {
            List<CommitLog.Entry> a = acks();
            return a.isEmpty() ? 0 : a.get(a.size() - 1).round();
        }

        long checked() {
            return counts.getOrDefault("checked", new AtomicLong()).get();
        }

        List<String> failures() {
            List<String> out = new ArrayList<>();
            new TreeMap<>(failures).forEach((category, samples) -> {
                out.addAll(samples);
                long more = counts.get(category).get() - samples.size();
                if (more > 0) {
                    out.add("... and " + more + " more " + category.toUpperCase());
                }
            });
            return out;
        }

        String counts() {
            return new TreeMap<>(counts).toString();
        }

        private void count(String what) {
            counts.computeIfAbsent(what, k -> new AtomicLong()).incrementAndGet();
        }

        /** A failure of this test's own code: reported, not swallowed with the thread. */
        void harnessFailure(Server s, Throwable e) {
            java.io.StringWriter w = new java.io.StringWriter();
            e.printStackTrace(new java.io.PrintWriter(w));
            failure("harness", s, new Req("(request)", "-", null, List.of(), FleetData.SERIES, new long[1], new long[1],
                    false), w.toString());
        }

        private void failure(String category, Server s, Req r, String message) {
            count(category);
            ConcurrentLinkedQueue<String> samples = failures.computeIfAbsent(category, k -> new ConcurrentLinkedQueue<>());
            if (samples.size() < 6) {
                samples.add(category.toUpperCase() + " from " + s.name() + " for " + r.what() + " ("
                        + (r.postBody() == null ? "GET " + r.path() : "POST " + r.path() + " " + r.postBody()) + "): "
                        + message);
            }
        }

        // ------------------------------------------------------------ requests

        Req next(Random rnd) {
            List<CommitLog.Entry> es = entries();
            List<Long> all = new ArrayList<>(es.stream().flatMap(e -> e.state().keySet().stream()).distinct().sorted().toList());
            List<Long> live = es.isEmpty() ? List.of() : List.copyOf(es.get(es.size() - 1).state().keySet());
            all.add(all.isEmpty() ? 0 : all.get(all.size() - 1) + 1); // not created yet
            java.util.function.Supplier<Long> pick = () -> !live.isEmpty() && rnd.nextInt(5) > 0
                    ? live.get(rnd.nextInt(live.size())) : all.get(rnd.nextInt(all.size()));
            int p = rnd.nextInt(100);
            if (p < 30) {
                long id = pick.get();
                return single(id, FleetData.SERIES, null, new long[] {0}, new long[] {FleetData.SERIES_LENGTH});
            } else if (p < 42) {
                long id = pick.get();
                return single(id, FleetData.GRID, null, new long[] {0, 0},
                        new long[] {FleetData.rows(id, BIG_ROWS), FleetData.GRID_COLS});
            } else if (p < 62) {
                long id = pick.get();
                long[][] w = gridWindow(rnd);
                return single(id, FleetData.GRID, region(w[0], w[1]), w[0], w[1]);
            } else if (p < 77) {
                List<Long> ids = distinct(rnd, pick, 2 + rnd.nextInt(3));
                int a = rnd.nextInt(FleetData.SERIES_LENGTH);
                int b = a + 1 + rnd.nextInt(FleetData.SERIES_LENGTH - a);
                String names = ids.stream().map(FleetData::name).collect(Collectors.joining(","));
                return new Req("bulk series " + names + " [" + a + ":" + b + "]", "/arrays/series/data?datasets=" + names
                        + "&region=" + a + ":" + b, null, ids, FleetData.SERIES, new long[] {a}, new long[] {b - a}, false);
            } else if (p < 87) {
                List<Long> ids = distinct(rnd, pick, 2 + rnd.nextInt(2));
                long[][] w = gridWindow(rnd);
                String body = ids.stream().map(i -> "\"" + FleetData.name(i) + "\"")
                        .collect(Collectors.joining(",", "{\"datasets\":[", "]}"));
                return new Req("bulk grid " + ids + " " + region(w[0], w[1]), "/arrays/grid/data?region="
                        + enc(region(w[0], w[1])), body, ids, FleetData.GRID, w[0], w[1], false);
            }
            return prefixBulk(rnd);
        }

        Req prefixBulk(Random rnd) {
            int a = rnd.nextInt(FleetData.SERIES_LENGTH - 8);
            int b = a + 1 + rnd.nextInt(8);
            return new Req("prefix bulk series [" + a + ":" + b + "]", "/arrays/series/data?prefix=d&region=" + a + ":" + b,
                    null, null, FleetData.SERIES, new long[] {a}, new long[] {b - a}, true);
        }

        static Req single(long id, String array, String region, long[] start, long[] shape) {
            String name = FleetData.name(id);
            String path = "/datasets/" + name + "/arrays/" + array + "/data" + (region == null ? "" : "?region=" + enc(region));
            return new Req(name + "/" + array + (region == null ? " whole" : " " + region), path, null, List.of(id), array,
                    start, shape, false);
        }

        private static long[][] gridWindow(Random rnd) {
            int a = rnd.nextInt(FleetData.MIN_ROWS);
            int b = a + 1 + rnd.nextInt(FleetData.MIN_ROWS - a);
            int c = rnd.nextInt(FleetData.GRID_COLS);
            int d = c + 1 + rnd.nextInt(FleetData.GRID_COLS - c);
            return new long[][] {{a, c}, {b - a, d - c}};
        }

        private static String region(long[] start, long[] shape) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < start.length; i++) {
                sb.append(i == 0 ? "" : ",").append(start[i]).append(':').append(start[i] + shape[i]);
            }
            return sb.toString();
        }

        private static String enc(String s) {
            return URLEncoder.encode(s, StandardCharsets.UTF_8);
        }

        private static List<Long> distinct(Random rnd, java.util.function.Supplier<Long> pick, int n) {
            List<Long> out = new ArrayList<>();
            for (int tries = 0; out.size() < n && tries < 50; tries++) {
                long id = pick.get();
                if (!out.contains(id)) {
                    out.add(id);
                }
            }
            return out;
        }

        // ------------------------------------------------------------ responses

        /** Sends {@code r} to {@code s} (503s retried) and checks the answer. */
        void request(Server s, Req r) {
            // Longer than the servers' request timeout (60 s), so a read that hangs in a server shows
            // as that server's 503 and its log line, not as this client giving up.
            HttpRequest.Builder b = HttpRequest.newBuilder(s.url().resolve(r.path())).timeout(Duration.ofSeconds(90));
            HttpRequest req = r.postBody() == null ? b.GET().build()
                    : b.header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(r.postBody())).build();
            for (int attempt = 0; ; attempt++) {
                long t0 = System.currentTimeMillis();
                HttpResponse<byte[]> res;
                try {
                    res = HTTP.send(req, HttpResponse.BodyHandlers.ofByteArray());
                } catch (IOException e) {
                    failure("truncated", s, r, "the response broke off: " + e);
                    return;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                long t1 = System.currentTimeMillis();
                if (res.statusCode() == 503 && new String(res.body(), StandardCharsets.UTF_8).contains("timed out")) {
                    failure("server timeout", s, r, "503 after " + (t1 - t0) + " ms: "
                            + new String(res.body(), StandardCharsets.UTF_8).trim());
                    return;
                }
                if (res.statusCode() == 503 && attempt < 50) {
                    count("503 retried");
                    try {
                        Thread.sleep(20); // back-off before the retry
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        return;
                    }
                    continue;
                }
                count("checked");
                check(s, r, res, t0, t1);
                return;
            }
        }

        /** Checks one answer to {@code r} from {@code s}, sent at {@code t0} and complete at {@code t1} (epoch ms). */
        void check(Server s, Req r, HttpResponse<byte[]> res, long t0, long t1) {
            List<CommitLog.Entry> es = entries();
            // The commits a response may show: from the last one acknowledged `bound` before the request
            // (or the empty store) to the last one flushing before the response ended.
            List<Map<Long, Long>> candidates = new ArrayList<>();
            long from = 0;
            for (CommitLog.Entry e : es) {
                if (e.kind().equals("ack") && e.millis() <= t0 - bound) {
                    from = e.round();
                }
            }
            if (from == 0) {
                candidates.add(Map.of());
            }
            List<Long> candidateRounds = new ArrayList<>();
            for (CommitLog.Entry e : es) {
                if (e.kind().equals("flushing") && e.round() >= from && e.millis() <= t1) {
                    candidates.add(e.state());
                    candidateRounds.add(e.round());
                }
            }
            String window = "commits of rounds " + (from == 0 ? "(empty store)" : from) + ".."
                    + (candidateRounds.isEmpty() ? from : candidateRounds.get(candidateRounds.size() - 1));
            int status = res.statusCode();
            if (status == 404) {
                count("404");
                boolean valid = r.prefix() ? candidates.stream().anyMatch(Map::isEmpty)
                        : candidates.stream().anyMatch(c -> !c.keySet().containsAll(r.ids()));
                if (!valid) {
                    failure("bad 404", s, r, "404 " + new String(res.body(), StandardCharsets.UTF_8).trim()
                            + ", but every one of the " + window + " holds " + (r.prefix() ? "datasets" : r.ids()));
                }
                return;
            }
            if (status != 200) {
                failure(status >= 500 ? "5xx" : "other status", s, r, "status " + status + ": "
                        + new String(res.body(), StandardCharsets.UTF_8).trim());
                return;
            }
            count("200");
            String shapeHeader = res.headers().firstValue("X-Atlas-Shape").orElse("");
            int arr = FleetData.arrayIndex(r.array());
            long per = java.util.Arrays.stream(r.shape()).reduce(1, (x, y) -> x * y);
            boolean bulk = r.ids() == null || r.ids().size() > 1 || !r.path().startsWith("/datasets/");
            long rows;
            if (r.prefix()) {
                rows = shapeHeader.isEmpty() ? -1 : Long.parseLong(shapeHeader.split(",")[0]);
            } else {
                rows = bulk ? r.ids().size() : 1;
            }
            String expectShape = (bulk ? rows + "," : "") + java.util.Arrays.stream(r.shape()).mapToObj(Long::toString)
                    .collect(Collectors.joining(","));
            if (!shapeHeader.equals(expectShape)) {
                failure("wrong", s, r, "X-Atlas-Shape '" + shapeHeader + "', expected '" + expectShape + "'");
                return;
            }
            byte[] body = res.body();
            if (body.length != rows * per * 8) {
                failure("truncated", s, r, body.length + " bytes, expected " + rows + " x " + per + " x 8 = "
                        + rows * per * 8);
                return;
            }
            ByteBuffer bb = ByteBuffer.wrap(body).order(ByteOrder.LITTLE_ENDIAN);
            boolean dbl = arr == 0;
            Map<Long, Long> got = new java.util.LinkedHashMap<>();
            for (int row = 0; row < rows; row++) {
                long base = row * per;
                FleetData.Elements el = new FleetData.Elements() {
                    @Override
                    public long get(long i) {
                        int at = (int) ((base + i) * 8);
                        return dbl ? (long) bb.getDouble(at) : bb.getLong(at);
                    }

                    @Override
                    public long count() {
                        return per;
                    }
                };
                long id = r.prefix() ? FleetData.Element.of(el.get(0)).id() : r.ids().get(row);
                try {
                    long v = FleetData.checkOne(el, id, arr, i -> index(r, i));
                    got.put(id, v);
                } catch (FleetData.Mismatch m) {
                    failure(m.getMessage().startsWith("MIXED") ? "mixed" : "wrong", s, r, (rows > 1 ? "row " + row + " ("
                            + FleetData.name(id) + "): " : "") + m.getMessage());
                    return;
                }
            }
            // One commit of the window must hold exactly these versions (for a prefix read: exactly these datasets).
            boolean match = false;
            for (Map<Long, Long> state : candidates) {
                match |= r.prefix() ? state.equals(new TreeMap<>(got))
                        : got.entrySet().stream().allMatch(e -> e.getValue().equals(state.get(e.getKey())));
            }
            if (!match) {
                boolean ever = es.stream().filter(e -> e.kind().equals("flushing")).anyMatch(e -> r.prefix()
                        ? e.state().equals(new TreeMap<>(got))
                        : got.entrySet().stream().allMatch(g -> g.getValue().equals(e.state().get(g.getKey()))));
                boolean eachEver = got.entrySet().stream().allMatch(g -> es.stream()
                        .anyMatch(e -> g.getValue().equals(e.state().get(g.getKey()))));
                String category = ever ? "stale" : eachEver ? "mixed" : "wrong";
                failure(category, s, r, "versions " + got + (ever ? " are an older commit than allowed: the " + window
                        : eachEver ? " were each committed, but no single commit holds them together (" + window + ")"
                        : " include a version never flushed for its dataset (" + window + ")"));
                return;
            }
            // The server is at least at the round that wrote the newest version it showed; a prefix read
            // shows the whole state, so at least at the first round that had exactly that state.
            long proves = got.values().stream().mapToLong(Long::longValue).max().orElse(0);
            if (r.prefix()) {
                for (CommitLog.Entry e : es) {
                    if (e.kind().equals("flushing")
                            && e.state().equals(new TreeMap<>(got))) {
                        proves = Math.max(proves, e.round());
                        break;
                    }
                }
            }
            s.saw(proves, t1);
        }

        /** The flat array index of element {@code i} of one row of {@code r}'s region. */
        private static long index(Req r, long i) {
            if (r.shape().length == 1) {
                return r.start()[0] + i;
            }
            long w = r.shape()[1];
            return (r.start()[0] + i / w) * FleetData.GRID_COLS + r.start()[1] + i % w;
        }
    }
}
