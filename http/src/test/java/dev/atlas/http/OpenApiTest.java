package dev.atlas.http;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.testing.EngineTestBase;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import reactor.netty.http.client.HttpClient;

/**
 * {@code /openapi.json} documents exactly the route table: every route (HEAD as its GET), with
 * exactly the query parameters the route declares (and reads: reading an undeclared one fails
 * the route's tests), and its path parameters.
 */
class OpenApiTest extends EngineTestBase {
    @Test
    void theDocumentCoversEveryRouteAndParameter() throws Exception {
        Atlas atlas = LocalAtlas.create(tmp.resolve("openapi"), AtlasOptions.builder(resources).tempDirectory(tmp).build())
                .block(TIMEOUT);
        try (AtlasHttpServer server = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0).build())) {
            String body = HttpClient.create().baseUrl(server.baseUrl()).get().uri("/openapi.json").responseContent()
                    .aggregate().asString().block(TIMEOUT);
            JsonNode doc = new ObjectMapper().readTree(body);
            assertNotNull(doc.get("openapi"), body);
            assertEquals("3.1.0", doc.get("openapi").asText());
            Map<String, Set<String>> documented = new TreeMap<>();
            Map<String, Set<String>> pathParams = new TreeMap<>();
            doc.get("paths").fields().forEachRemaining(p -> p.getValue().fields().forEachRemaining(op -> {
                String key = op.getKey().toUpperCase(Locale.ROOT) + " " + p.getKey();
                Set<String> query = new TreeSet<>();
                Set<String> path = new TreeSet<>();
                JsonNode params = op.getValue().get("parameters");
                if (params != null) {
                    for (JsonNode prm : params) {
                        (prm.get("in").asText().equals("query") ? query : path).add(prm.get("name").asText());
                    }
                }
                assertNotNull(op.getValue().get("responses"), key);
                documented.put(key, query);
                pathParams.put(key, path);
            }));
            Map<String, Set<String>> table = new TreeMap<>();
            server.routes().table().forEach((route, params) -> {
                if (!route.startsWith("HEAD ")) {
                    table.put(route, new TreeSet<>(params));
                }
            });
            assertEquals(table, documented, "routes and their query parameters");
            pathParams.forEach((route, params) -> {
                Set<String> inPattern = new TreeSet<>();
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\{([a-z]+)}").matcher(route);
                while (m.find()) {
                    inPattern.add(m.group(1));
                }
                assertEquals(inPattern, params, route + " path parameters");
            });
            // Every GET route answers HEAD too, as the description says.
            server.routes().table().keySet().stream().filter(r -> r.startsWith("GET "))
                    .forEach(r -> assertNotNull(server.routes().table().get("HEAD " + r.substring(4)), r));
        } finally {
            atlas.close().block(TIMEOUT);
        }
    }
}
