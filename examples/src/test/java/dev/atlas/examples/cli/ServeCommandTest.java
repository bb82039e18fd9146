package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.AtlasOptions;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code atlas serve}: one-line errors with exit code 2, and a real server on a free port until stopped. */
class ServeCommandTest {
    @TempDir
    Path tmp;

    @Test
    void unreachableAndMissingStoresAreOneLineErrors() {
        Cli.Run missing = Cli.run("serve", "--store", tmp.resolve("nope").toString());
        assertEquals(3, missing.code(), missing.err());
        assertTrue(missing.err().startsWith("atlas: "), missing.err());
        assertEquals(1, missing.err().strip().lines().count());
        // s3:// goes to the S3 backend: nothing listens on port 1, so a runtime error in one line.
        Cli.Run s3 = Cli.run("--endpoint", "http://127.0.0.1:1", "--path-style", "--s3-region", "us-east-1",
                "serve", "--store", "s3://bucket/prefix");
        assertEquals(1, s3.code(), s3.err());
        assertTrue(s3.err().startsWith("atlas: "), s3.err());
        assertEquals(1, s3.err().strip().lines().count(), s3.err());
        Cli.Run badPort = Cli.run("serve", "--store", tmp.toString(), "--port", "70000");
        assertEquals(2, badPort.code(), badPort.err());
    }

    @Test
    void refreshIntervalTakesDecimalSecondsDefaultsToTwoAndRefusesNonsense() {
        for (String bad : new String[] {"-1", "abc", "1e30"}) {
            Cli.Run r = Cli.run("serve", "--store", tmp.toString(), "--refresh-interval", bad);
            assertEquals(2, r.code(), bad + ": " + r.err());
            assertTrue(r.err().startsWith("atlas: ") || r.err().contains("--refresh-interval"), r.err());
        }
        Cli.Run help = Cli.run("serve", "--help");
        assertTrue(help.out().contains("--refresh-interval=SECONDS"), help.out());
        assertTrue(help.out().contains("default: 2)"), help.out());
        assertEquals(java.time.Duration.ofSeconds(2), StoreSession.refreshInterval(new java.math.BigDecimal(StoreSession.DEFAULT_REFRESH_SECONDS)));
        assertEquals(java.time.Duration.ofMillis(250), StoreSession.refreshInterval(new java.math.BigDecimal("0.25")));
        assertEquals(java.time.Duration.ZERO, StoreSession.refreshInterval(new java.math.BigDecimal("0")));
    }

    @Test
    void servesAStoreUntilStopped() throws Exception {
        EngineResources resources = EngineResources.create(1, 1, io.netty.buffer.PooledByteBufAllocator.DEFAULT);
        Path store = tmp.resolve("store");
        var atlas = LocalAtlas.create(store, AtlasOptions.builder(resources).tempDirectory(tmp).build()).block(TIMEOUT);
        atlas.createDataset("one").block(TIMEOUT);
        atlas.flush().block(TIMEOUT);
        atlas.close().block(TIMEOUT);
        resources.disposeLater().block(TIMEOUT);

        ServeCommand cmd = new ServeCommand();
        CommandLine cl = new CommandLine(cmd);
        StringWriter out = new StringWriter();
        cl.setOut(new PrintWriter(out));
        Thread t = new Thread(() -> cl.execute("--store", store.toString(), "--port", "0", "--refresh-interval", "0.5"),
                "serve-test");
        t.start();
        assertTrue(cmd.started.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS), "server started");
        try {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(cmd.server.baseUrl() + "/health")).timeout(TIMEOUT).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode());
            assertTrue(r.body().contains("\"datasets\":1"), r.body());
            assertTrue(out.toString().contains("serving 1 datasets"), out.toString());
            assertEquals(java.time.Duration.ofMillis(500), cmd.session.refreshInterval(), "the handle refreshes as asked");
        } finally {
            cmd.stop.countDown();
            t.join(TIMEOUT.toMillis());
        }
        assertTrue(!t.isAlive(), "serve returned after stop");
    }

    static com.fasterxml.jackson.databind.JsonNode health(String baseUrl) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(baseUrl + "/health"))
                .timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.body());
    }

    @Test
    void aServedStoreShowsAnotherWritersCommitWithinTheRefreshInterval() throws Exception {
        EngineResources resources = EngineResources.create(1, 1, io.netty.buffer.PooledByteBufAllocator.DEFAULT);
        Path store = tmp.resolve("live");
        AtlasOptions writerOptions = AtlasOptions.builder(resources).tempDirectory(tmp).build();
        var writer = LocalAtlas.create(store, writerOptions).block(TIMEOUT);
        writer.createDataset("one").block(TIMEOUT);
        writer.flush().block(TIMEOUT);

        ServeCommand cmd = new ServeCommand();
        CommandLine cl = new CommandLine(cmd);
        cl.setOut(new PrintWriter(new StringWriter()));
        Thread t = new Thread(() -> cl.execute("--store", store.toString(), "--port", "0", "--refresh-interval", "0.2"),
                "serve-live-test");
        t.start();
        assertTrue(cmd.started.await(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS), "server started");
        try {
            String url = cmd.server.baseUrl();
            var before = health(url);
            assertEquals(1, before.get("datasets").asInt());
            String commit = before.get("commit").asText(null);
            assertTrue(commit != null && !commit.isEmpty(), before.toString());
            java.time.Instant refreshed = java.time.Instant.parse(before.get("refreshed").asText());

            // Another writer (its own handle, as another process would have) commits a dataset.
            writer.createDataset("two").block(TIMEOUT);
            writer.flush().block(TIMEOUT);
            long committed = System.nanoTime();
            com.fasterxml.jackson.databind.JsonNode after = health(url);
            while (after.get("datasets").asInt() != 2 && System.nanoTime() - committed < TimeUnit.SECONDS.toNanos(10)) {
                Thread.sleep(20);
                after = health(url);
            }
            double seconds = (System.nanoTime() - committed) / 1e9;
            System.out.printf("commit visible to the server after %.2f s (refresh interval 0.2 s)%n", seconds);
            assertEquals(2, after.get("datasets").asInt(), "the server sees the new commit: " + after);
            assertTrue(seconds < 2, "visible within the interval plus slack: " + seconds + " s");
            assertTrue(!commit.equals(after.get("commit").asText()), "a new commit is reported: " + after);
            assertTrue(java.time.Instant.parse(after.get("refreshed").asText()).isAfter(refreshed), after.toString());
            HttpResponse<String> two = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create(url + "/datasets/two")).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, two.statusCode(), two.body());
        } finally {
            cmd.stop.countDown();
            t.join(TIMEOUT.toMillis());
            writer.close().block(TIMEOUT);
            resources.disposeLater().block(TIMEOUT);
        }
        assertTrue(!t.isAlive(), "serve returned after stop");
    }
}
