package dev.atlas.storage.local;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.testing.EngineTestBase;
import dev.atlas.array.NdArray;
import dev.atlas.error.ConflictException;
import dev.atlas.format.DType;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Two writers with their own {@link LocalStorage} and {@link ArrayFile} handles on one directory
 * (nothing shared in memory, as between two processes) flush the same file set concurrently. A
 * writer whose sidecar number was taken moves on to the next one, so no flush fails and in the end
 * every layer of both is there (a {@link ConflictException} would be answered by reopening and
 * redoing the change, and is counted: none is expected).
 */
class LocalTwoWritersTest extends EngineTestBase {
    @Test
    void concurrentFlushesNeverLoseALayer() throws Exception {
        Path root = tmp.resolve("store");
        ArrayFileOptions o = ArrayFileOptions.builder(resources).tempDirectory(tmp).build();
        try (LocalStorage s = LocalStorage.open(root, resources)) {
            ArrayFile.create(s, "w.af", o).block(TIMEOUT).close().block(TIMEOUT);
        }
        int rounds = 25;
        ExecutorService pool = Executors.newFixedThreadPool(2);
        List<Future<Integer>> results = new ArrayList<>();
        for (String w : List.of("a", "b")) {
            Callable<Integer> writer = () -> {
                int conflicts = 0;
                try (LocalStorage s = LocalStorage.open(root, resources)) {
                    ArrayFile f = ArrayFile.open(s, "w.af", o).block(TIMEOUT);
                    for (int r = 0; r < rounds; r++) {
                        while (true) {
                            String name = w + r;
                            f.defineArray(name, ArraySpec.of(DType.INT32, 4)).block(TIMEOUT);
                            try (NdArray d = NdArray.ofInts(DType.INT32, new long[] {4}, r, r, r, r)) {
                                f.writeArray(name, new long[] {0}, d).block(TIMEOUT);
                            }
                            try {
                                f.flush().block(TIMEOUT);
                                break;
                            } catch (ConflictException e) {
                                conflicts++;
                                f.close().block(TIMEOUT);
                                f = ArrayFile.open(s, "w.af", o).block(TIMEOUT);
                            }
                        }
                    }
                    f.close().block(TIMEOUT);
                }
                return conflicts;
            };
            results.add(pool.submit(writer));
        }
        int conflicts = results.get(0).get() + results.get(1).get();
        pool.shutdown();
        try (LocalStorage s = LocalStorage.open(root, resources)) {
            ArrayFile f = ArrayFile.open(s, "w.af", o).block(TIMEOUT);
            assertEquals(2 * rounds, f.listArrays().size(), "every writer's every layer: " + f.listArrays());
            assertEquals(2 * rounds + 1, f.numLayers());
            for (int r = 0; r < rounds; r++) {
                for (String w : List.of("a", "b")) {
                    try (NdArray a = f.readArray(w + r).block(TIMEOUT)) {
                        assertArrayEquals(new int[] {r, r, r, r},
                                new int[] {a.getInt(0), a.getInt(1), a.getInt(2), a.getInt(3)});
                    }
                }
            }
            System.out.println("two writers: " + 2 * rounds + " layers committed, " + conflicts
                    + " lost races answered with ConflictException and retried");
            assertEquals(0, conflicts, "a taken sidecar number is not a conflict: the flush takes the next one");
        }
    }
}
