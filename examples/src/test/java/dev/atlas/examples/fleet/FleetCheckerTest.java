package dev.atlas.examples.fleet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.examples.fleet.FleetReadIT.Checker;
import dev.atlas.examples.fleet.FleetReadIT.Req;
import dev.atlas.examples.fleet.FleetReadIT.Server;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The response checks of {@link FleetReadIT} on made-up answers against a made-up writer log, so
 * that what the fleet test calls wrong, mixed, stale, truncated or a bad 404 is itself tested
 * (and a correct answer is never one of them). Log: round 1 (t=1000) datasets 0 and 1 at version
 * 1; round 2 (t=2000) 0 and 2 at version 2, 1 unchanged; round 3 (t=3000) 2 at version 3, 1 deleted.
 * Bound 500 ms.
 */
class FleetCheckerTest {
    @TempDir
    Path dir;
    private Checker checker;
    private Server server;

    @BeforeEach
    void log() throws Exception {
        Path log = dir.resolve("commits.log");
        Files.writeString(log, String.join("\n",
                "flushing 1 1000 0:1,1:1", "ack 1 1010 0:1,1:1",
                "flushing 2 2000 0:2,1:1,2:2", "ack 2 2010 0:2,1:1,2:2",
                "flushing 3 3000 0:2,2:3", "ack 3 3010 0:2,2:3", ""));
        checker = new Checker(log, 500);
        server = new Server("fake", URI.create("http://127.0.0.1:1"), null, 0, new ConcurrentHashMap<>());
    }

    private static long[] series(long id, long version, int from, int n) {
        long[] v = new long[n];
        for (int i = 0; i < n; i++) {
            v[i] = FleetData.value(id, 1, version, from + i);
        }
        return v;
    }

    private static HttpResponse<byte[]> ok(String shape, long[]... rows) {
        int n = 0;
        for (long[] r : rows) {
            n += r.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long[] r : rows) {
            for (long x : r) {
                b.putLong(x);
            }
        }
        return response(200, shape, b.array());
    }

    private static HttpResponse<byte[]> response(int status, String shape, byte[] body) {
        HttpHeaders headers = HttpHeaders.of(shape == null ? Map.of() : Map.of("X-Atlas-Shape", List.of(shape)),
                (a, b) -> true);
        return new HttpResponse<>() {
            @Override
            public int statusCode() {
                return status;
            }

            @Override
            public HttpRequest request() {
                return null;
            }

            @Override
            public Optional<HttpResponse<byte[]>> previousResponse() {
                return Optional.empty();
            }

            @Override
            public HttpHeaders headers() {
                return headers;
            }

            @Override
            public byte[] body() {
                return body;
            }

            @Override
            public Optional<SSLSession> sslSession() {
                return Optional.empty();
            }

            @Override
            public URI uri() {
                return URI.create("http://127.0.0.1:1/");
            }

            @Override
            public HttpClient.Version version() {
                return HttpClient.Version.HTTP_1_1;
            }
        };
    }

    private static Req seriesOf(long id) {
        return Checker.single(id, FleetData.SERIES, "0:4", new long[] {0}, new long[] {4});
    }

    private static Req bulk(List<Long> ids) {
        return new Req("bulk " + ids, "/arrays/series/data", null, ids, FleetData.SERIES, new long[] {0}, new long[] {4},
                false);
    }

    private static Req prefix() {
        return new Req("prefix", "/arrays/series/data?prefix=d", null, null, FleetData.SERIES, new long[] {0},
                new long[] {4}, true);
    }

    /** The categories the checker counted besides checked, 200 and 404. */
    private String problems() {
        String c = checker.counts();
        return c.replaceAll("(?<=\\{|, )(checked|200|404)=\\d+(, )?", "").replaceAll(", }", "}");
    }

    @Test
    void answersOfOneCommitInTheWindowPass() {
        checker.check(server, seriesOf(1), ok("4", series(1, 1, 0, 4)), 2500, 2600);
        checker.check(server, seriesOf(0), ok("4", series(0, 1, 0, 4)), 1500, 2600); // round 1 still allowed
        checker.check(server, bulk(List.of(0L, 2L)), ok("2,4", series(0, 2, 0, 4), series(2, 3, 0, 4)), 3600, 3700);
        checker.check(server, prefix(), ok("2,4", series(0, 2, 0, 4), series(2, 3, 0, 4)), 3600, 3700);
        checker.check(server, seriesOf(1), response(404, null, "{}".getBytes(StandardCharsets.UTF_8)), 3600, 3700);
        checker.check(server, seriesOf(7), response(404, null, "{}".getBytes(StandardCharsets.UTF_8)), 3600, 3700);
        assertEquals("{}", problems(), checker.failures().toString());
        assertTrue(server.seen(3), "a prefix read showing round 3's state proves round 3: " + server.firstSeen());
    }

    @Test
    void anOlderCommitThanTheBoundAllowsIsStale() {
        checker.check(server, seriesOf(0), ok("4", series(0, 1, 0, 4)), 3600, 3700);
        assertEquals("{stale=1}", problems(), checker.failures().toString());
    }

    @Test
    void rowsOfDifferentCommitsAreMixed() {
        checker.check(server, bulk(List.of(0L, 2L)), ok("2,4", series(0, 1, 0, 4), series(2, 3, 0, 4)), 3600, 3700);
        assertEquals("{mixed=1}", problems(), checker.failures().toString());
    }

    @Test
    void twoVersionsInOneArrayAreMixed() {
        long[] v = series(2, 3, 0, 4);
        v[3] = FleetData.value(2, 1, 2, 3);
        checker.check(server, seriesOf(2), ok("4", v), 3600, 3700);
        assertEquals("{mixed=1}", problems(), checker.failures().toString());
        assertTrue(checker.failures().get(0).contains("MIXED VERSIONS at element 3"), checker.failures().toString());
    }

    @Test
    void anotherDatasetsValuesAreWrong() {
        checker.check(server, seriesOf(2), ok("4", series(0, 2, 0, 4)), 3600, 3700);
        assertEquals("{wrong=1}", problems(), checker.failures().toString());
        assertTrue(checker.failures().get(0).contains("ANOTHER DATASET"), checker.failures().toString());
    }

    @Test
    void aVersionNeverFlushedIsWrong() {
        checker.check(server, seriesOf(2), ok("4", series(2, 9, 0, 4)), 3600, 3700);
        assertEquals("{wrong=1}", problems(), checker.failures().toString());
    }

    @Test
    void aShortBodyIsTruncated() {
        checker.check(server, seriesOf(2), ok("4", series(2, 3, 0, 3)), 3600, 3700);
        assertEquals("{truncated=1}", problems(), checker.failures().toString());
    }

    @Test
    void aNotFoundForADatasetEveryAllowedCommitHoldsIsABad404() {
        checker.check(server, seriesOf(1), response(404, null, new byte[0]), 2600, 2700);
        checker.check(server, bulk(List.of(0L, 2L)), response(404, null, new byte[0]), 3600, 3700);
        assertEquals("{bad 404=2}", problems(), checker.failures().toString());
    }

    @Test
    void aServerErrorIsReported() {
        checker.check(server, seriesOf(0), response(500, null, "{\"error\":\"x\"}".getBytes(StandardCharsets.UTF_8)),
                3600, 3700);
        assertEquals("{5xx=1}", problems(), checker.failures().toString());
    }
}
