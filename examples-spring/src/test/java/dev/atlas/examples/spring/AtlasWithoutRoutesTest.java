package dev.atlas.examples.spring;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.NdArray;
import dev.atlas.store.Atlas;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The sample application with the HTTP routes switched off ({@code atlas.http.enabled=false}): an
 * application that reads the store itself still gets the engine's meters in its registry, scraped at
 * {@code /actuator/prometheus}, and the routes are gone.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {"atlas.http.enabled=false", "atlas.refresh-interval=0s"})
class AtlasWithoutRoutesTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Value("${local.server.port}")
    int port;

    @Autowired
    Atlas atlas;

    @DynamicPropertySource
    static void store(DynamicPropertyRegistry registry) throws Exception {
        Path dir = Paths.get("target", "sample-store-noroutes-" + System.nanoTime()).toAbsolutePath();
        Files.createDirectories(dir.getParent());
        AtlasSampleApplicationTest.writeStore(dir);
        registry.add("atlas.store", dir::toString);
    }

    @Test
    void theEngineMetersReachTheApplicationsRegistryWithoutTheRoutes() {
        try (NdArray a = atlas.dataset("d1").readArray("t", new long[] {0, 0}, new long[] {1, 2}).block(TIMEOUT)) {
            assertNotNull(a);
            assertArrayEquals(new float[] {100f, 101f}, new float[] {a.getFloat(0), a.getFloat(1)});
        }
        WebTestClient client = WebTestClient.bindToServer().baseUrl("http://127.0.0.1:" + port).responseTimeout(TIMEOUT)
                .build();
        client.get().uri("/atlas/health").exchange().expectStatus().isNotFound();
        String text = client.get().uri("/actuator/prometheus").exchange().expectStatus().isOk()
                .expectBody(String.class).returnResult().getResponseBody();
        assertNotNull(text);
        assertTrue(text.contains("atlas_cache_requests_total{cache=\"block\""), text);
        assertTrue(text.lines().anyMatch(l -> l.startsWith("atlas_storage_requests_seconds_count{")
                && l.contains("backend=\"local\"") && l.contains("operation=\"read\"") && l.contains("outcome=\"ok\"")
                && !l.endsWith(" 0.0")), "the application's storage reads timed:\n" + text);
        assertTrue(text.lines().anyMatch(l -> l.startsWith("atlas_store_datasets") && l.endsWith(" 3.0")), text);
        assertTrue(text.lines().noneMatch(l -> l.startsWith("atlas_http_requests")), "no routes, no route meters:\n" + text);
    }
}
