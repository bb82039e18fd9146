package dev.atlas.http;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import dev.atlas.testing.EngineTestBase;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.netty.DisposableServer;
import reactor.netty.http.client.HttpClient;
import reactor.netty.http.server.HttpServer;
import reactor.netty.resources.LoopResources;

/**
 * The routes as a library: mounted under a base path on a caller's own reactor-netty server,
 * event loops and meter registry, next to the caller's own routes.
 */
class MountedRoutesTest extends EngineTestBase {
    @Test
    void routesMountUnderABasePathOnTheCallersServer() throws Exception {
        Atlas atlas = LocalAtlas.create(tmp.resolve("mounted"), AtlasOptions.builder(resources).tempDirectory(tmp).build())
                .block(TIMEOUT);
        LoopResources loops = LoopResources.create("caller-loops", 1, 2, true);
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        AtlasRoutes routes = AtlasRoutes.create(atlas, ServerOptions.builder().basePath("/atlas").meterRegistry(registry)
                .resources(resources).build());
        DisposableServer server = null;
        try {
            DatasetView ds = atlas.createDataset("d").block(TIMEOUT);
            ds.defineArray("t", ArraySpec.of(DType.FLOAT32, 4, 4)).block(TIMEOUT);
            try (NdArray a = NdArray.ofFloats(new long[] {4, 4}, new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})) {
                ds.writeArray("t", new long[2], a).block(TIMEOUT);
            }
            atlas.flush().block(TIMEOUT);
            server = routes.configure(HttpServer.create().host("127.0.0.1").port(0).runOn(loops))
                    .route(table -> routes.mount(table.get("/hello", (req, res) -> res.sendString(Mono.just("mine")))))
                    .bindNow(Duration.ofSeconds(30));
            HttpClient c = HttpClient.create().baseUrl("http://127.0.0.1:" + server.port());
            assertEquals("mine", c.get().uri("/hello").responseContent().aggregate().asString().block(TIMEOUT));
            String health = c.get().uri("/atlas/health").responseContent().aggregate().asString().block(TIMEOUT);
            assertTrue(health.contains("\"status\":\"ok\"") && health.contains("\"datasets\":1"), health);
            byte[] data = c.get().uri("/atlas/datasets/d/arrays/t/data?region=1:3,2:4").responseContent().aggregate()
                    .asByteArray().block(TIMEOUT);
            ByteBuffer b = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
            assertArrayEquals(new float[] {6, 7, 10, 11}, new float[] {b.getFloat(0), b.getFloat(4), b.getFloat(8), b.getFloat(12)});
            int status = c.get().uri("/atlas/nope").response().block(TIMEOUT).status().code();
            assertEquals(404, status);
            int outside = c.get().uri("/health").response().block(TIMEOUT).status().code();
            assertEquals(404, outside, "the routes live under /atlas only");
            assertTrue(registry.find("atlas.http.requests").tag("route", "/health").timer() != null,
                    "the routes' meters are in the caller's registry");
        } finally {
            if (server != null) {
                server.disposeNow(Duration.ofSeconds(30));
            }
            loops.disposeLater().block(TIMEOUT);
            routes.close();
            atlas.close().block(TIMEOUT);
        }
    }
}
