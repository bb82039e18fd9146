package dev.atlas.http;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.storage.local.LocalAtlas;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasOptions;
import dev.atlas.store.DatasetView;
import dev.atlas.testing.EngineTestBase;
import dev.zarr.zarrjava.store.HttpStore;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * zarr-java 0.0.9 (a Zarr client nobody here wrote) reads the v3 and v2 views through its
 * {@code HttpStore}: metadata parsed, whole arrays and sub-regions across edge chunks and unwritten
 * cells, every value compared with the engine's own read.
 */
class ZarrJavaClientTest extends EngineTestBase {
    static final long[] SHAPE = {5, 7, 10};

    static Atlas atlas;
    static AtlasHttpServer server;

    @BeforeAll
    static void startServer() {
        atlas = LocalAtlas.create(tmp.resolve("zarr-java"), AtlasOptions.builder(resources).tempDirectory(tmp).build())
                .block(TIMEOUT);
        DatasetView ds = atlas.createDataset("grid").block(TIMEOUT);
        ds.defineArray("temperature", ArraySpec.of(DType.FLOAT32, SHAPE).withChunks(2, 3, 4)
                .withDimensions("time", "lat", "lon").withFill(new FillValue.Float(Double.NaN))).block(TIMEOUT);
        Random rnd = new Random(11);
        float[] v = new float[4 * 7 * 10];
        for (int i = 0; i < v.length; i++) {
            v[i] = rnd.nextFloat() * 100;
        }
        try (NdArray a = NdArray.ofFloats(new long[] {4, 7, 10}, v)) {
            ds.writeArray("temperature", new long[] {0, 0, 0}, a).block(TIMEOUT);
        }
        ds.defineArray("counts", ArraySpec.of(DType.INT32, 9).withChunks(4).withFill(new FillValue.Int(-1))).block(TIMEOUT);
        try (NdArray a = NdArray.ofInts(DType.INT32, new long[] {6}, 1, 2, 3, 4, 5, 6)) {
            ds.writeArray("counts", new long[] {0}, a).block(TIMEOUT);
        }
        // A second dataset of the same schemas for the stack of prefix "grid": steps 1..4 written.
        DatasetView ds2 = atlas.createDataset("grid2").block(TIMEOUT);
        ds2.defineArray("temperature", ArraySpec.of(DType.FLOAT32, SHAPE).withChunks(2, 3, 4)
                .withDimensions("time", "lat", "lon").withFill(new FillValue.Float(Double.NaN))).block(TIMEOUT);
        for (int i = 0; i < v.length; i++) {
            v[i] = -rnd.nextFloat() * 100;
        }
        try (NdArray a = NdArray.ofFloats(new long[] {4, 7, 10}, v)) {
            ds2.writeArray("temperature", new long[] {1, 0, 0}, a).block(TIMEOUT);
        }
        ds2.defineArray("counts", ArraySpec.of(DType.INT32, 9).withChunks(4).withFill(new FillValue.Int(-1))).block(TIMEOUT);
        atlas.flush().block(TIMEOUT);
        server = AtlasHttpServer.start(atlas, ServerOptions.builder().port(0).resources(resources).build());
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
        if (atlas != null) {
            atlas.close().block(TIMEOUT);
        }
    }

    static float[] engineFloats(long[] start, long[] shape) {
        return engineFloats("grid", start, shape);
    }

    static float[] engineFloats(String dataset, long[] start, long[] shape) {
        try (NdArray a = atlas.dataset(dataset).readArray("temperature", start, shape).block(TIMEOUT)) {
            float[] out = new float[(int) a.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = a.getFloat(i);
            }
            return out;
        }
    }

    static float[] floats(ucar.ma2.Array a) {
        float[] out = new float[(int) a.getSize()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.getFloat(i);
        }
        return out;
    }

    @Test
    void zarrJavaReadsTheV3View() throws Exception {
        HttpStore store = new HttpStore(server.baseUrl() + "/zarr/v3");
        dev.zarr.zarrjava.v3.Array t = dev.zarr.zarrjava.v3.Array.open(store.resolve("grid", "temperature"));
        assertArrayEquals(SHAPE, t.metadata().shape);
        assertArrayEquals(new String[] {"time", "lat", "lon"}, t.metadata().dimensionNames);
        assertArrayEquals(engineFloats(new long[] {0, 0, 0}, SHAPE), floats(t.read()));
        // A box across edge chunks and the unwritten last step.
        assertArrayEquals(engineFloats(new long[] {3, 5, 7}, new long[] {2, 2, 3}),
                floats(t.read(new long[] {3, 5, 7}, new int[] {2, 2, 3})));
        dev.zarr.zarrjava.v3.Array c = dev.zarr.zarrjava.v3.Array.open(store.resolve("grid", "counts"));
        ucar.ma2.Array counts = c.read();
        int[] expected = {1, 2, 3, 4, 5, 6, -1, -1, -1};
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], counts.getInt(i), "counts[" + i + "]");
        }
    }

    @Test
    void zarrJavaReadsTheV2View() throws Exception {
        HttpStore store = new HttpStore(server.baseUrl() + "/zarr/v2");
        dev.zarr.zarrjava.v2.Array t = dev.zarr.zarrjava.v2.Array.open(store.resolve("grid", "temperature"));
        assertArrayEquals(SHAPE, t.metadata().shape);
        assertArrayEquals(engineFloats(new long[] {0, 0, 0}, SHAPE), floats(t.read()));
        assertArrayEquals(engineFloats(new long[] {1, 2, 3}, new long[] {3, 4, 5}),
                floats(t.read(new long[] {1, 2, 3}, new int[] {3, 4, 5})));
    }

    @Test
    void zarrJavaDecodesTheZstdViews() throws Exception {
        HttpStore v3 = new HttpStore(server.baseUrl() + "/zarr/v3-zstd");
        dev.zarr.zarrjava.v3.Array t = dev.zarr.zarrjava.v3.Array.open(v3.resolve("grid", "temperature"));
        assertEquals(2, t.metadata().codecs.length);
        assertArrayEquals(engineFloats(new long[] {0, 0, 0}, SHAPE), floats(t.read()));
        assertArrayEquals(engineFloats(new long[] {3, 5, 7}, new long[] {2, 2, 3}),
                floats(t.read(new long[] {3, 5, 7}, new int[] {2, 2, 3})));
        // zarr-java 0.0.9's v2 arrays know the compressors blosc and zlib only: /zarr/v2-zstd is for
        // numcodecs (ZarrPythonClientTest); a Java client reads the v3 view.
    }

    /** The two datasets of prefix "grid" as one v3 stack, raw and zstd: [2, 5, 7, 10], every value against the engine. */
    @Test
    void zarrJavaReadsTheV3Stack() throws Exception {
        float[] a = engineFloats("grid", new long[] {0, 0, 0}, SHAPE);
        float[] b = engineFloats("grid2", new long[] {0, 0, 0}, SHAPE);
        float[] both = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, both, a.length, b.length);
        for (String view : new String[] {"/zarr/v3", "/zarr/v3-zstd"}) {
            HttpStore store = new HttpStore(server.baseUrl() + view);
            // zarr-java 0.0.9 cannot open the group itself (its GroupMetadata takes consolidated_metadata
            // for a string, not the object the v3 convention has): the names are checked over plain HTTP.
            try (java.io.InputStream in = java.net.URI.create(server.baseUrl() + view + "/_stack/grid/zarr.json").toURL()
                    .openStream()) {
                assertEquals("[\"grid\",\"grid2\"]", new com.fasterxml.jackson.databind.ObjectMapper().readTree(in)
                        .get("attributes").get("stack_dataset_names").toString(), view);
            }
            dev.zarr.zarrjava.v3.Array t = dev.zarr.zarrjava.v3.Array.open(store.resolve("_stack", "grid", "temperature"));
            assertArrayEquals(new long[] {2, 5, 7, 10}, t.metadata().shape, view);
            assertArrayEquals(new String[] {"dataset", "time", "lat", "lon"}, t.metadata().dimensionNames, view);
            assertArrayEquals(both, floats(t.read()), view);
            // Dataset 1, a box across edge chunks and its unwritten step 0.
            assertArrayEquals(engineFloats("grid2", new long[] {0, 5, 7}, new long[] {2, 2, 3}),
                    floats(t.read(new long[] {1, 0, 5, 7}, new int[] {1, 2, 2, 3})), view);
            dev.zarr.zarrjava.v3.Array c = dev.zarr.zarrjava.v3.Array.open(store.resolve("_stack", "grid", "counts"));
            ucar.ma2.Array counts = c.read();
            int[] expected = {1, 2, 3, 4, 5, 6, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1};
            for (int i = 0; i < expected.length; i++) {
                assertEquals(expected[i], counts.getInt(i), view + " counts[" + i + "]");
            }
        }
    }
}
