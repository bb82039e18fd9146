package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.http.AtlasHttpServer;
import dev.atlas.http.ServerOptions;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code clients/python/atlas_client.py} against a served demo store, run by the system Python
 * (its script installs python3-numpy and python3-requests when absent): catalog pages, region reads
 * of three dtypes, stacked reads by prefix and by name, error answers; every value compared with
 * what the engine reads for the same request.
 */
class PythonClientTest {
    @TempDir
    Path tmp;

    private static int n;

    private Path dump(ByteBuf data) throws Exception {
        Path f = tmp.resolve("case" + (n++) + ".bin");
        byte[] b = new byte[data.readableBytes()];
        data.getBytes(data.readerIndex(), b);
        Files.write(f, b);
        return f;
    }

    private static long[] longs(long... v) {
        return v;
    }

    @Test
    void thePythonClientReadsWhatTheEngineReads() throws Exception {
        Path store = tmp.resolve("store");
        Cli.Run demo = Cli.run("demo", "--store", store.toString(), "--datasets", "6", "--no-serve", "--flush-every", "2");
        assertEquals(0, demo.code(), demo.toString());
        EngineResources resources = EngineResources.create();
        Atlas atlas = LocalAtlas.open(store, AtlasOptions.builder(resources).build()).block(TIMEOUT);
        // A String array in one dataset: the client reads it as a numpy object array.
        List<String> stations = List.of("Troms\u00f8", "", "Z\u00fcrich", "Oslo");
        DatasetView last = atlas.dataset("grid_0005");
        last.defineArray("station", ArraySpec.of(DType.STRING, 2, 2)).block(TIMEOUT);
        try (NdArray a = NdArray.ofStrings(new long[] {2, 2}, stations)) {
            last.writeArray("station", new long[] {0, 0}, a).block(TIMEOUT);
        }
        atlas.flush().block(TIMEOUT);
        try (AtlasHttpServer server = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0).resources(resources).build())) {
            ObjectMapper m = new ObjectMapper();
            ObjectNode manifest = m.createObjectNode();
            List<String> names = atlas.listDatasets();
            manifest.put("datasets", names.size());
            manifest.set("dataset_names", m.valueToTree(names));
            manifest.set("array_names", m.valueToTree(atlas.listArrays()));
            manifest.put("arrays_of_second", atlas.dataset(names.get(1)).meta().arrays().size());
            ObjectNode strings = manifest.putObject("strings");
            strings.put("dataset", "grid_0005");
            strings.put("array", "station");
            strings.set("shape", m.valueToTree(longs(2, 2)));
            strings.set("values", m.valueToTree(stations));
            ArrayNode cases = manifest.putArray("cases");
            Object[][] reads = {
                {"grid_0001", "temperature", "0:6,10:20,:", longs(0, 10, 0), longs(6, 10, 72)},
                {"grid_0002", "land_mask", null, longs(0, 0), longs(36, 72)},
                {"grid_0003", "time", null, longs(0), longs(12)},
                {"grid_0004", "precipitation", "3,5:9,:", longs(3, 5, 0), longs(1, 4, 72)},
            };
            for (Object[] r : reads) {
                try (NdArray a = atlas.dataset((String) r[0]).readArray((String) r[1], (long[]) r[3], (long[]) r[4]).block(TIMEOUT)) {
                    ObjectNode c = cases.addObject();
                    c.put("name", r[0] + "/" + r[1]);
                    c.put("kind", "read");
                    c.put("dataset", (String) r[0]);
                    c.put("array", (String) r[1]);
                    if (r[2] != null) {
                        c.put("region", (String) r[2]);
                    }
                    c.put("dtype", a.dtype().toString());
                    c.set("shape", m.valueToTree(r[4]));
                    c.put("file", dump(a.data()).getFileName().toString());
                }
            }
            // Stacks: every dataset by prefix (with its mean), and two by name in a chosen order.
            try (NdArray a = atlas.readArrayAcrossStacked("temperature", names, longs(0, 0, 0), longs(1, 36, 72)).block(TIMEOUT)) {
                ObjectNode c = cases.addObject();
                c.put("name", "stack by prefix");
                c.put("kind", "stack");
                c.put("array", "temperature");
                c.put("prefix", "grid_");
                c.put("region", "0,:,:");
                c.set("names", m.valueToTree(names));
                c.put("dtype", "Float32");
                c.set("shape", m.valueToTree(longs(names.size(), 1, 36, 72)));
                double sum = 0;
                for (long i = 0; i < a.size(); i++) {
                    sum += a.getFloat(i);
                }
                c.put("mean", sum / a.size());
                c.put("file", dump(a.data()).getFileName().toString());
            }
            List<String> two = List.of("grid_0004", "grid_0000");
            try (NdArray a = atlas.readArrayAcrossStacked("precipitation", two, longs(3, 5, 0), longs(1, 4, 72)).block(TIMEOUT)) {
                ObjectNode c = cases.addObject();
                c.put("name", "stack by name");
                c.put("kind", "stack");
                c.put("array", "precipitation");
                c.set("datasets", m.valueToTree(two));
                c.put("region", "3,5:9,:");
                c.set("names", m.valueToTree(two));
                c.put("dtype", "Float32");
                c.set("shape", m.valueToTree(longs(2, 1, 4, 72)));
                c.put("file", dump(a.data()).getFileName().toString());
            }
            Path manifestFile = tmp.resolve("manifest.json");
            m.writeValue(manifestFile.toFile(), manifest);

            Path script = Path.of("..", "clients", "python", "run_tests.sh").toAbsolutePath().normalize();
            assertTrue(Files.isRegularFile(script), script.toString());
            Process p = new ProcessBuilder("bash", script.toString(), server.baseUrl(), manifestFile.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(5, TimeUnit.MINUTES), out);
            System.out.print(out);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("6 cases, 0 failures"), out);
        } finally {
            atlas.close().block(TIMEOUT);
            resources.disposeLater().block(TIMEOUT);
        }
    }
}
