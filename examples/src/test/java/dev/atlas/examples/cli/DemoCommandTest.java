package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.NdArray;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.store.Atlas;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetView;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code atlas demo}: a fresh store is built, read and reported; a second run reuses it; partial stores are completed. */
class DemoCommandTest {
    @TempDir
    Path tmp;

    @Test
    void freshStoreIsIngestedReadAndReportedThenReused() throws Exception {
        Path store = tmp.resolve("demo");
        Cli.Run first = Cli.run("demo", "--store", store.toString(), "--datasets", "20", "--no-serve", "--flush-every", "7");
        assertEquals(0, first.code(), first.toString());
        assertTrue(first.out().contains("creating 20 of 20 datasets"), first.out());
        assertTrue(Pattern.compile("ingested 20 datasets in [0-9.]+ s: [0-9]+ datasets/s").matcher(first.out()).find(), first.out());
        assertTrue(Pattern.compile("bulk read: temperature\\[0, :, :\\] of 20 datasets -> \\[20, 1, 36, 72\\] float32, 202\\.5 KiB: [0-9.]+ ms cold")
                .matcher(first.out()).find(), first.out());
        assertTrue(first.out().contains("window read: grid_0010/temperature[0:12, 8:24, 16:48] (6,144 elements)"), first.out());
        assertFalse(first.out().contains("serve:"), "--no-serve honoured: " + first.out());
        // Progress on stderr: not a terminal here, so one line per tenth, ending at 100%.
        assertTrue(first.err().contains("ingest [##############################] 100% 20/20 datasets"), first.err());
        assertFalse(first.err().contains("\r"), "no carriage returns off a terminal");

        checkStore(store, 20);

        Cli.Run second = Cli.run("demo", "--store", store.toString(), "--datasets", "20", "--no-serve");
        assertEquals(0, second.code(), second.toString());
        assertTrue(second.out().contains("reusing 20 complete datasets"), second.out());
        assertFalse(second.out().contains("ingested"), second.out());
        assertTrue(second.out().contains("bulk read: temperature[0, :, :] of 20 datasets"), second.out());
        assertEquals("", second.err(), "nothing ingested, no progress bar");
    }

    @Test
    void aBusyPortIsFoundBeforeTheIngest() throws Exception {
        Path store = tmp.resolve("busy");
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            long t0 = System.nanoTime();
            Cli.Run r = Cli.run("demo", "--store", store.toString(), "--datasets", "50", "--port",
                    Integer.toString(taken.getLocalPort()));
            assertEquals(AtlasCli.EXIT_RUNTIME, r.code(), r.toString());
            assertTrue(r.err().contains("cannot listen on 127.0.0.1:" + taken.getLocalPort()), r.err());
            assertFalse(Files.exists(store), "nothing ingested before the port check");
            assertTrue(r.out().isEmpty(), r.out());
            System.out.printf("busy port refused in %.0f ms%n", (System.nanoTime() - t0) / 1e6);
        }
    }

    @Test
    void partialStoreIsCompleted() throws Exception {
        Path store = tmp.resolve("partial");
        assertEquals(0, Cli.run("demo", "--store", store.toString(), "--datasets", "5", "--no-serve").code());
        Cli.Run more = Cli.run("demo", "--store", store.toString(), "--datasets", "9", "--no-serve");
        assertEquals(0, more.code(), more.toString());
        assertTrue(more.out().contains("completing with 4 of 9 datasets"), more.out());
        checkStore(store, 9);
    }

    @Test
    void refusesADirectoryThatIsNotAStoreAndBadOptions() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("notastore"));
        Files.writeString(dir.resolve("notes.txt"), "mine");
        Cli.Run r = Cli.run("demo", "--store", dir.toString(), "--datasets", "2", "--no-serve");
        assertEquals(AtlasCli.EXIT_RUNTIME, r.code(), r.toString());
        assertTrue(r.err().startsWith("atlas: " + dir + " exists and is not an Atlas store"), r.err());
        assertEquals(1, r.err().lines().count(), "one line: " + r.err());
        assertEquals(List.of("notes.txt"), List.of(dir.toFile().list()), "nothing written into it");

        Cli.Run bad = Cli.run("demo", "--store", tmp.resolve("x").toString(), "--datasets", "0");
        assertEquals(AtlasCli.EXIT_USAGE, bad.code(), bad.toString());
        assertTrue(bad.err().contains("--datasets must be between 1 and 1000000, not 0"), bad.err());

        Cli.Run s3 = Cli.run("--endpoint", "http://127.0.0.1:1", "--path-style", "--s3-region", "us-east-1",
                "demo", "--store", "s3://bucket/demo", "--no-serve");
        assertEquals(AtlasCli.EXIT_RUNTIME, s3.code(), s3.toString());
        assertTrue(s3.err().startsWith("atlas: "), s3.err());
        assertEquals(1, s3.err().strip().lines().count(), "one line: " + s3.err());
    }

    @Test
    void demoEndsByServingTheStoreItBuilt() throws Exception {
        DemoCommand cmd = new DemoCommand();
        java.util.concurrent.CountDownLatch started = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch stop = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<dev.atlas.http.AtlasHttpServer> server =
                new java.util.concurrent.atomic.AtomicReference<>();
        cmd.control = new ServeCommand.Control() {
            @Override
            public void started(dev.atlas.http.AtlasHttpServer s) {
                server.set(s);
                started.countDown();
            }

            @Override
            public void awaitStop() throws InterruptedException {
                stop.await();
            }
        };
        picocli.CommandLine cl = new picocli.CommandLine(cmd);
        java.io.StringWriter out = new java.io.StringWriter();
        cl.setOut(new java.io.PrintWriter(out, true));
        cl.setErr(new java.io.PrintWriter(new java.io.StringWriter(), true));
        java.util.concurrent.atomic.AtomicInteger code = new java.util.concurrent.atomic.AtomicInteger(-1);
        Path dir = tmp.resolve("served");
        Thread t = new Thread(() -> code.set(cl.execute("--store", dir.toString(), "--datasets", "3", "--port", "0")), "demo-serve");
        t.start();
        try {
            assertTrue(started.await(TIMEOUT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS), "the demo starts serving: " + out);
            java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
            java.net.http.HttpResponse<String> health = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create(server.get().baseUrl() + "/health")).build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, health.statusCode());
            assertTrue(health.body().contains("\"datasets\":3"), health.body());
            java.net.http.HttpResponse<byte[]> window = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(
                    server.get().baseUrl() + "/datasets/grid_0001/arrays/temperature/data?region=0,0:2,0:3")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofByteArray());
            assertEquals(200, window.statusCode());
            assertEquals(2 * 3 * 4, window.body().length, "a 2 x 3 float32 window");
            assertTrue(out.toString().contains("serving 3 datasets of " + dir), out.toString());
        } finally {
            stop.countDown();
            t.join(TIMEOUT.toMillis());
        }
        assertEquals(0, code.get(), out.toString());
    }

    @Test
    void sampleFileIsWrittenAndDumped() {
        Cli.Run r = Cli.run("demo", "--sample-file", tmp.resolve("sample").toString());
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("wrote sample file set"), r.out());
        assertTrue(r.out().contains("Float32 temperature(time=4, lat=6, lon=8)"), r.out());
    }

    /** The store holds exactly the generator's datasets: names, arrays, attributes, values. */
    private static void checkStore(Path dir, int n) throws Exception {
        Cli.checkStore(dir, atlas -> {
            assertEquals(DemoCommand.names(n), atlas.listDatasets().stream().sorted().toList());
            assertEquals(List.of("land_mask", "precipitation", "temperature", "time"), atlas.listArrays());
            int member = n - 1;
            DatasetView ds = atlas.dataset(DemoCommand.names(n).get(member));
            assertEquals(List.of("time", "temperature", "precipitation", "land_mask"), ds.listArrays());
            assertEquals(Attr.of((long) member), ds.attribute("member").orElseThrow());
            assertEquals(Attr.of("CF-1.8"), ds.attribute("Conventions").orElseThrow());
            assertTrue(ds.attribute("created").orElseThrow() instanceof Attr.Timestamp);
            Map<String, AttributeValue> ta = ds.arrayAttributes("temperature").block(TIMEOUT);
            assertEquals("K", ta.get("units").asString());
            assertEquals("air temperature at 2 m", ta.get("long_name").asString());
            assertEquals(DType.UINT8, ds.arrayMeta("land_mask").orElseThrow().dtype());
            try (SyntheticGrid.Member expected = SyntheticGrid.generate(member)) {
                for (String array : SyntheticGrid.ARRAYS) {
                    try (NdArray got = ds.readArray(array).block(TIMEOUT)) {
                        NdArray exp = expected.get(array);
                        assertEquals(exp.data(), got.data(), array + " of member " + member);
                    }
                }
                int nans = 0;
                for (long i = 0; i < expected.precipitation().size(); i++) {
                    nans += Float.isNaN(expected.precipitation().getFloat(i)) ? 1 : 0;
                }
                assertTrue(nans > 0, "precipitation has missing cells");
                assertEquals(nans, ds.arrayStats("precipitation").block(TIMEOUT).nullCount(), "NaN cells counted as nulls");
            }
        });
    }
}
