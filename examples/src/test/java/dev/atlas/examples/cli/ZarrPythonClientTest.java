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
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetView;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
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
 * (whole arrays, selections, means; a dataset of String and Binary arrays too) with the binary
 * endpoint, and the stack of all of them ({@code /zarr/v2/_stack/grid_}) and of a list of names
 * ({@code /zarr/v2/_names/{token}}) with the bulk endpoint; again through {@code /zarr/v2-zstd};
 * and the stack of a store of 1,000 datasets. Without a system Python the tests are skipped,
 * except under {@code CI=true}, where that is a failure.
 */
class ZarrPythonClientTest {
    @TempDir
    Path tmp;

    @Test
    void xarrayAndZarrPythonReadWhatTheBinaryEndpointReturns() throws Exception {
        requirePython();
        Path store = tmp.resolve("store");
        Cli.Run demo = Cli.run("demo", "--store", store.toString(), "--datasets", "4", "--no-serve", "--flush-every", "2");
        assertEquals(0, demo.code(), demo.toString());
        addTextDataset(store);
        String out = runClients(store, true, "stack:grid_", "names:grid_0003,grid_0000,grid_0002");
        assertTrue(out.contains("6 datasets, 2 stacks, ") && out.contains(" checks, 0 failures"), out);
    }

    /** The same checks through the view whose chunks are zstd frames ({@code /zarr/v2-zstd}, decoded by numcodecs). */
    @Test
    void zarrPythonDecodesTheZstdView() throws Exception {
        requirePython();
        Path store = tmp.resolve("store");
        Cli.Run demo = Cli.run("demo", "--store", store.toString(), "--datasets", "2", "--no-serve");
        assertEquals(0, demo.code(), demo.toString());
        addTextDataset(store);
        String out = runClients(store, true, "--view=v2-zstd", "stack:grid_", "names:grid_0001,grid_0000");
        assertTrue(out.contains("4 datasets, 2 stacks, ") && out.contains(" checks, 0 failures"), out);
    }

    /**
     * The Done-when's stack: a store of 1,000 datasets (each with the demo's two gridded variables,
     * {@code temperature} and {@code precipitation} with missing cells, on a smaller grid of one
     * chunk so that the test takes seconds, not minutes) opened as one stack
     * ({@code /zarr/v2/_stack/member_/}) by xarray, both stacked variables read whole and by
     * {@code .sel}/{@code .isel}, a mean, every value compared with the bulk endpoint's answer for
     * the same 1,000 names.
     */
    @Test
    void xarrayReadsTheStackOfAThousandDatasets() throws Exception {
        requirePython();
        Path store = tmp.resolve("store1000");
        writeThousand(store);
        String out = runClients(store, false, "stack:member_");
        assertTrue(out.contains("0 datasets, 1 stacks, ") && out.contains(" checks, 0 failures"), out);
        assertTrue(out.contains("stack member_: temperature of 1000 datasets read"), out);
    }

    /** 1,000 datasets {@code member_0000..0999}: temperature and precipitation float32 [12, 9, 8] (fill NaN, some cells missing). */
    private static void writeThousand(Path store) {
        EngineResources resources = EngineResources.create();
        Atlas atlas = LocalAtlas.create(store, AtlasOptions.builder(resources).build()).block(TIMEOUT);
        try {
            long[] grid = {12, 9, 8};
            float[] t = new float[12 * 9 * 8];
            float[] p = new float[t.length];
            java.util.Random rnd = new java.util.Random(27);
            for (int d = 0; d < 1000; d++) {
                DatasetView ds = atlas.createDataset(String.format("member_%04d", d)).block(TIMEOUT);
                ds.setAttribute("member", Attr.of((long) d)).block(TIMEOUT);
                for (String a : List.of("temperature", "precipitation")) {
                    ds.defineArray(a, ArraySpec.of(DType.FLOAT32, grid).withChunks(grid)
                            .withDimensions("time", "lat", "lon").withFill(new FillValue.Float(Double.NaN))).block(TIMEOUT);
                }
                for (int i = 0; i < t.length; i++) {
                    t[i] = 250 + 50 * rnd.nextFloat();
                    p[i] = rnd.nextInt(10) == 0 ? Float.NaN : 20 * rnd.nextFloat();
                }
                try (NdArray a = NdArray.ofFloats(grid, t)) {
                    ds.writeArray("temperature", new long[3], a).block(TIMEOUT);
                }
                // The last time step of precipitation stays unwritten (the fill value).
                try (NdArray a = NdArray.ofFloats(new long[] {11, 9, 8}, java.util.Arrays.copyOf(p, 11 * 9 * 8))) {
                    ds.writeArray("precipitation", new long[3], a).block(TIMEOUT);
                }
                if (d % 250 == 249) {
                    atlas.flush().block(TIMEOUT);
                }
            }
        } finally {
            atlas.close().block(TIMEOUT);
            resources.disposeLater().block(TIMEOUT);
        }
    }

    /**
     * A dataset {@code nested_0000} of grouped arrays whose dimension {@code level} has two lengths
     * (served with unambiguous names, see {@code ZarrMetadata.withGroupDimensions}) and a non-ASCII
     * attribute; and a dataset {@code text_0000} with a String array {@code station} [5, 3] (chunks [2, 2]: edge
     * chunks, and rows 3..4 unwritten, i.e. empty strings; non-ASCII names) and a Binary array
     * {@code code} [4] (chunks [3]), served as numcodecs vlen-utf8 / vlen-bytes object arrays.
     */
    private static void addTextDataset(Path store) {
        EngineResources resources = EngineResources.create();
        Atlas atlas = LocalAtlas.open(store, AtlasOptions.builder(resources).build()).block(TIMEOUT);
        try {
            DatasetView ds = atlas.createDataset("text_0000").block(TIMEOUT);
            ds.defineArray("station", ArraySpec.of(DType.STRING, 5, 3).withChunks(2, 2).withDimensions("row", "col"))
                    .block(TIMEOUT);
            try (NdArray a = NdArray.ofStrings(new long[] {3, 3}, List.of("Zürich", "Tromsø", "", "東京", "a b", "x",
                    "naïve \u00e9", "ok", "\uD83C\uDF0A wave"))) {
                ds.writeArray("station", new long[] {0, 0}, a).block(TIMEOUT);
            }
            ds.defineArray("code", ArraySpec.of(DType.BINARY, 4).withChunks(3)).block(TIMEOUT);
            try (NdArray a = NdArray.ofBinary(new long[] {3}, List.of(new byte[] {0, 1, 2}, new byte[0],
                    new byte[] {(byte) 0xff, 0x10}))) {
                ds.writeArray("code", new long[] {0}, a).block(TIMEOUT);
            }
            // A flattened NetCDF-4 hierarchy as the importer makes it: groups model and other each
            // with a dimension "level" of its own length (2 and 4), and a non-ASCII attribute
            // (zarr-python 2 decodes Zarr metadata as ASCII).
            DatasetView nested = atlas.createDataset("nested_0000").block(TIMEOUT);
            nested.setAttribute("place", new Attr.Str("Z\u00fcrich \u6771\u4eac")).block(TIMEOUT);
            nested.defineArray("model.area", ArraySpec.of(DType.FLOAT32, 2, 3).withDimensions("level", "cell")).block(TIMEOUT);
            try (NdArray a = NdArray.ofFloats(new long[] {2, 3}, 1f, 2f, 3f, 4f, 5f, 6f)) {
                nested.writeArray("model.area", new long[] {0, 0}, a).block(TIMEOUT);
            }
            nested.defineArray("other.depth", ArraySpec.of(DType.FLOAT32, 4).withDimensions("level")).block(TIMEOUT);
            try (NdArray a = NdArray.ofFloats(new long[] {4}, 10f, 20f, 30f, 40f)) {
                nested.writeArray("other.depth", new long[] {0}, a).block(TIMEOUT);
            }
            nested.defineArray("other.level", ArraySpec.of(DType.FLOAT64, 4).withDimensions("level")).block(TIMEOUT);
            try (NdArray a = NdArray.ofDoubles(new long[] {4}, 100, 200, 300, 400)) {
                nested.writeArray("other.level", new long[] {0}, a).block(TIMEOUT);
            }
            atlas.flush().block(TIMEOUT);
        } finally {
            atlas.close().block(TIMEOUT);
            resources.disposeLater().block(TIMEOUT);
        }
    }

    private static void requirePython() {
        if (!Files.isExecutable(Path.of("/usr/bin/python3"))) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("CI=true and /usr/bin/python3 is missing: the Zarr client test cannot run");
            }
            Assumptions.abort("no /usr/bin/python3 (set CI=true to make this a failure)");
        }
    }

    /**
     * Serves the local store at {@code store} on a free port and runs the client script on it
     * (every dataset of the store too when {@code everyDataset}, then {@code extra}); returns its
     * output after asserting that it exited 0.
     */
    private static String runClients(Path store, boolean everyDataset, String... extra) throws Exception {
        EngineResources resources = EngineResources.create();
        Atlas atlas = LocalAtlas.open(store, AtlasOptions.builder(resources).build()).block(TIMEOUT);
        try (AtlasHttpServer server = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0).resources(resources).build())) {
            Path script = Path.of("..", "clients", "python", "run_zarr_tests.sh").toAbsolutePath().normalize();
            assertTrue(Files.isRegularFile(script), script.toString());
            List<String> cmd = new ArrayList<>(List.of("bash", script.toString(), server.baseUrl()));
            if (everyDataset) {
                cmd.addAll(atlas.listDatasets());
            }
            cmd.addAll(List.of(extra));
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            try {
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(p.waitFor(5, TimeUnit.MINUTES), out);
                System.out.print(out);
                assertEquals(0, p.exitValue(), out);
                return out;
            } finally {
                p.destroyForcibly();
            }
        } finally {
            atlas.close().block(TIMEOUT);
            resources.disposeLater().block(TIMEOUT);
        }
    }
}
