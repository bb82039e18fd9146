package dev.atlas.storage.local;

import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.error.StoreNotFoundException;
import dev.atlas.format.DType;
import dev.atlas.storage.Storage;
import dev.atlas.store.Atlas;
import dev.atlas.store.AtlasContract;
import dev.atlas.store.DatasetView;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Atlas store's behaviours on local files, plus the path API (reference behaviours 13, 16, 17). */
class LocalAtlasTest extends AtlasContract {
    private static final AtomicInteger N = new AtomicInteger();
    private final List<LocalStorage> storages = new ArrayList<>();

    @Override
    protected Storage newStorage() {
        LocalStorage s = LocalStorage.open(tmp.resolve("store-" + N.incrementAndGet()), resources);
        storages.add(s);
        return s;
    }

    @AfterEach
    void closeStorages() {
        storages.forEach(LocalStorage::close);
        storages.clear();
    }

    @Test
    void b13_b16_b17_pathApi() throws Exception {
        Path dir = tmp.resolve("nested/a/b/store-" + N.incrementAndGet());
        assertThrows(StoreNotFoundException.class, () -> block(LocalAtlas.open(dir, opts())));
        assertFalse(Files.exists(dir), "a failed open creates nothing");
        Atlas a = block(LocalAtlas.create(dir, opts()));
        assertTrue(Files.isRegularFile(dir.resolve("atlas.json")), "the registry is written at once");
        DatasetView v = block(a.createDataset("ds"));
        block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, 3)));
        try (NdArray x = NdArray.ofFloats(new long[] {3}, 1, 2, 3)) {
            block(v.writeArray("t", new long[] {0}, x));
        }
        block(a.flush());
        block(a.close());
        assertTrue(Files.isRegularFile(dir.resolve("t/data.af")));
        Atlas r = block(LocalAtlas.open(dir, opts()));
        try (NdArray x = block(r.dataset("ds").readArray("t"))) {
            assertArrayEquals(new float[] {1, 2, 3}, new float[] {x.getFloat(0), x.getFloat(1), x.getFloat(2)});
        }
        block(r.close());
        Path existing = Files.createDirectories(tmp.resolve("existing-" + N.incrementAndGet()));
        Atlas e = block(LocalAtlas.create(existing, opts()));
        assertTrue(Files.isRegularFile(existing.resolve("atlas.json")));
        assertEquals(List.of(), e.listDatasets());
        block(e.close());
    }
}
