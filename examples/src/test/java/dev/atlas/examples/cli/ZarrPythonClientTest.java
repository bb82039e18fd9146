package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.http.AtlasHttpServer;
import dev.atlas.http.ServerOptions;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real Zarr clients nobody here wrote against the Zarr v2 view of a served demo store:
 * {@code clients/python/test_zarr_view.py} (run by the system Python; its wrapper installs
 * python3-xarray, python3-zarr, python3-fsspec and python3-aiohttp when absent) opens every dataset
 * with {@code xarray.open_zarr} and {@code zarr.open_consolidated} and compares every value it reads
 * (whole arrays, selections, means) with the binary endpoint, and the stack of all of them
 * ({@code /zarr/v2/_stack/grid_}) with the bulk endpoint. Without a system Python the test is
 * skipped, except under {@code CI=true}, where that is a failure.
 */
class ZarrPythonClientTest {
    @TempDir
    Path tmp;

    @Test
    void xarrayAndZarrPythonReadWhatTheBinaryEndpointReturns() throws Exception {
        if (!Files.isExecutable(Path.of("/usr/bin/python3"))) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("CI=true and /usr/bin/python3 is missing: the Zarr client test cannot run");
            }
            Assumptions.abort("no /usr/bin/python3 (set CI=true to make this a failure)");
        }
        Path store = tmp.resolve("store");
        Cli.Run demo = Cli.run("demo", "--store", store.toString(), "--datasets", "4", "--no-serve", "--flush-every", "2");
        assertEquals(0, demo.code(), demo.toString());
        EngineResources resources = EngineResources.create();
        Atlas atlas = LocalAtlas.open(store, AtlasOptions.builder(resources).build()).block(TIMEOUT);
        try (AtlasHttpServer server = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0).resources(resources).build())) {
            Path script = Path.of("..", "clients", "python", "run_zarr_tests.sh").toAbsolutePath().normalize();
            assertTrue(Files.isRegularFile(script), script.toString());
            List<String> cmd = new ArrayList<>(List.of("bash", script.toString(), server.baseUrl()));
            cmd.addAll(atlas.listDatasets());
            cmd.add("stack:grid_");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(5, TimeUnit.MINUTES), out);
            System.out.print(out);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("4 datasets, 1 stacks, ") && out.contains(" checks, 0 failures"), out);
        } finally {
            atlas.close().block(TIMEOUT);
            resources.disposeLater().block(TIMEOUT);
        }
    }
}
