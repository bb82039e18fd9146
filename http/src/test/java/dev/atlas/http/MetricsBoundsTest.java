package dev.atlas.http;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.error.NotFoundException;
import dev.atlas.format.DType;
import dev.atlas.storage.Storage;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.storage.local.LocalStorage;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import dev.atlas.testing.EngineTestBase;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The meters of a served store, over real sockets: hostile requests (made-up datasets, arrays and
 * paths, bad regions, made-up and unsupported methods, storage keys that do not exist) never add
 * a series, and real reads move the engine's storage, codec, cache and bulk meters.
 */
class MetricsBoundsTest extends EngineTestBase {
    static Atlas atlas;
    static AtlasHttpServer server;
    static LocalStorage sideStorage;

    @BeforeAll
    static void startServer() {
        atlas = LocalAtlas.create(tmp.resolve("store"), AtlasOptions.builder(resources).tempDirectory(tmp).build())
                .block(TIMEOUT);
        for (String name : new String[] {"d0", "d1", "d2"}) {
            DatasetView ds = atlas.createDataset(name).block(TIMEOUT);
            ds.defineArray("field", ArraySpec.of(DType.FLOAT32, 4, 256, 256).withChunks(1, 128, 128)).block(TIMEOUT);
            float[] v = new float[256 * 256];
            for (int i = 0; i < v.length; i++) {
                v[i] = i;
            }
            for (int t = 0; t < 4; t++) {
                try (NdArray a = NdArray.ofFloats(new long[] {1, 256, 256}, v)) {
                    ds.writeArray("field", new long[] {t, 0, 0}, a).block(TIMEOUT);
                }
            }
        }
        atlas.flush().block(TIMEOUT);
        server = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0).resources(resources).build());
        sideStorage = LocalStorage.open(tmp.resolve("store"), resources);
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
        if (atlas != null) {
            atlas.close().block(TIMEOUT);
        }
        if (sideStorage != null) {
            sideStorage.close();
        }
    }

    /** Sends {@code request} on a fresh connection that it closes; returns the whole answer's status line. */
    private static String exchange(String request) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout(30_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.UTF_8));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            byte[] all = in.readAllBytes();
            String text = new String(all, StandardCharsets.ISO_8859_1);
            int eol = text.indexOf("\r\n");
            return eol < 0 ? text : text.substring(0, eol);
        }
    }

    private static String get(String target) throws IOException {
        return exchange("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    }

    private static String post(String target, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        return exchange("POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + b.length + "\r\n\r\n" + body);
    }

    /** Hostile request {@code i}: ten kinds in turn, every name made up afresh. */
    private static void hostile(int i, Random rnd) throws IOException {
        String name = "x" + Long.toHexString(rnd.nextLong());
        String status = switch (i % 10) {
            case 0 -> get("/datasets/" + name + "/arrays/" + name + "/data?region=0,0:4,0:4");
            case 1 -> get("/datasets/d0/arrays/" + name + "/data?region=0,0:4,0:4");
            case 2 -> get("/datasets/d0/arrays/field/data?region=" + name + ":" + i);
            case 3 -> get("/datasets/d0/arrays/field/data?region=0,0:" + (1_000_000 + i) + ",0:4");
            case 4 -> exchange("BREW" + i + name + " /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            case 5 -> get("/" + name + "/" + i + "?q=" + name);
            case 6 -> post("/arrays/field/data?region=0,0:2,0:2", "{\"datasets\":[\"" + name + "\",\"" + name + "_b\"]}");
            case 7 -> exchange("DELETE /datasets/" + name + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            case 8 -> get("/datasets/d0/arrays/field/png?region=0," + name + ",0:" + i);
            default -> get("/datasets/" + name + "?page=" + name);
        };
        assertTrue(status.startsWith("HTTP/1.1 4") || status.startsWith("HTTP/1.1 501"), i + ": " + status);
        // A storage key nobody wrote, through the same counters the store uses.
        Storage metered = resources.storageMeters().meter(sideStorage);
        assertThrows(NotFoundException.class, () -> metered.read("datasets/" + name + "/nope.af", 0, 8)
                .doOnNext(ByteBuf::release).block(TIMEOUT));
    }

    private static Set<String> series(MeterRegistry registry) {
        Set<String> out = new TreeSet<>();
        for (Meter m : registry.getMeters()) {
            out.add(m.getId().toString());
        }
        return out;
    }

    @Test
    void hostileRequestsNeverAddASeries() throws Exception {
        long seed = System.nanoTime();
        System.out.println("MetricsBoundsTest seed " + seed);
        Random rnd = new Random(seed);
        MeterRegistry registry = server.meterRegistry();
        int i = 0;
        for (; i < 10; i++) {
            hostile(i, rnd);
        }
        scrapeSeries(); // the /metrics route's own series, from here on
        Set<String> after10 = series(registry);
        int text10 = scrapeSeries();
        for (; i < 1_000; i++) {
            hostile(i, rnd);
        }
        Set<String> after1000 = series(registry);
        assertEquals(after10, after1000, "meter series after 10 and after 1,000 hostile requests (seed " + seed + ")");
        assertEquals(text10, scrapeSeries(), "/metrics lines after 10 and after 1,000 hostile requests");
        assertTrue(registry.get("atlas.storage.requests").tags("backend", "local", "operation", "read", "outcome",
                "not-found").functionTimer().count() >= 1_000, "the not-found storage reads were counted");
        for (String s : after1000) {
            assertFalse(s.matches(".*x[0-9a-f]{12,}.*") || s.contains("BREW"), "a made-up name became a tag: " + s);
        }
    }

    /** Sample lines (not comments) of /metrics. */
    private static int scrapeSeries() throws IOException {
        return (int) scrape().lines().filter(l -> !l.isEmpty() && !l.startsWith("#")).count();
    }

    /** The body of /metrics. */
    private static String scrape() throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5000);
            s.setSoTimeout(30_000);
            s.getOutputStream().write("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    .getBytes(StandardCharsets.US_ASCII));
            String text = new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(text.startsWith("HTTP/1.1 200"), text);
            return text.substring(text.indexOf("\r\n\r\n") + 4);
        }
    }

    private static double timerCount(String... tags) {
        var t = server.meterRegistry().find("atlas.storage.requests").tags(tags).functionTimer();
        return t == null ? 0 : t.count();
    }

    private static double counter(String name, String... tags) {
        return server.meterRegistry().get(name).tags(tags).functionCounter().count();
    }

    @Test
    void realReadsMoveTheStorageCodecCacheAndBulkMeters() throws Exception {
        resources.caches().invalidateAll();
        double reads = timerCount("backend", "local", "operation", "read", "outcome", "ok");
        double readBytes = counter("atlas.storage.read.bytes", "backend", "local");
        double codec = server.meterRegistry().get("atlas.codec.tasks").functionTimer().count();
        double codecNanos = server.meterRegistry().get("atlas.codec.tasks").functionTimer().totalTime(TimeUnit.NANOSECONDS);
        double slabLoads = counter("atlas.cache.loads", "cache", "slab");
        double bulk = counter("atlas.store.bulk.reads");

        String one = get("/datasets/d1/arrays/field/data?region=0:2,0:256,0:256");
        assertTrue(one.startsWith("HTTP/1.1 200"), one);
        String many = post("/arrays/field/data?region=2,0:64,0:64", "{\"datasets\":[\"d0\",\"d2\"]}");
        assertTrue(many.startsWith("HTTP/1.1 200"), many);

        assertTrue(timerCount("backend", "local", "operation", "read", "outcome", "ok") > reads, "storage reads");
        assertTrue(server.meterRegistry().get("atlas.storage.requests").tags("backend", "local", "operation", "read",
                "outcome", "ok").functionTimer().totalTime(TimeUnit.NANOSECONDS) > 0, "storage read time");
        assertTrue(counter("atlas.storage.read.bytes", "backend", "local") > readBytes, "bytes read from storage");
        assertTrue(server.meterRegistry().get("atlas.codec.tasks").functionTimer().count() > codec, "codec tasks");
        assertTrue(server.meterRegistry().get("atlas.codec.tasks").functionTimer().totalTime(TimeUnit.NANOSECONDS)
                > codecNanos, "codec time");
        assertTrue(counter("atlas.cache.loads", "cache", "slab") > slabLoads, "slab cache loads");
        assertTrue(counter("atlas.store.bulk.reads") > bulk, "bulk reads");
        // The read leaves the in-flight count in its doFinally, which may run just after the
        // response's last byte reached the client: back to 0 soon, never stuck.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (server.meterRegistry().get("atlas.store.bulk.reads.inflight").gauge().value() != 0.0
                && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(0.0, server.meterRegistry().get("atlas.store.bulk.reads.inflight").gauge().value());

        String text = scrape();
        assertTrue(text.contains("atlas_storage_requests_seconds_count{backend=\"local\",operation=\"read\",outcome=\"ok\"}"),
                text);
        assertTrue(text.contains("atlas_storage_read_bytes_total{backend=\"local\"}"), text);
        assertTrue(text.contains("atlas_codec_tasks_seconds_count"), text);
        assertTrue(text.contains("atlas_store_bulk_reads_total"), text);
    }
}
