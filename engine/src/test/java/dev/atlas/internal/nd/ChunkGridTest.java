package dev.atlas.internal.nd;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ChunkGridTest {
    @Test
    void chunkCountInIsTheNumberOfChunksForEachChunkInVisits() {
        Random rnd = new Random(3);
        for (int t = 0; t < 2000; t++) {
            int rank = 1 + rnd.nextInt(3);
            long[] shape = new long[rank];
            long[] chunks = new long[rank];
            long[] start = new long[rank];
            long[] region = new long[rank];
            for (int i = 0; i < rank; i++) {
                shape[i] = 1 + rnd.nextInt(40);
                chunks[i] = 1 + rnd.nextInt(12);
                start[i] = rnd.nextInt((int) shape[i] + 1);
                region[i] = rnd.nextInt((int) (shape[i] - start[i]) + 1); // may be empty
            }
            ChunkGrid g = ChunkGrid.of(shape, chunks);
            long[] visited = {0};
            g.forEachChunkIn(start, region, c -> visited[0]++);
            assertEquals(visited[0], g.chunkCountIn(start, region), "region " + java.util.Arrays.toString(start) + " + "
                    + java.util.Arrays.toString(region) + " of chunks " + java.util.Arrays.toString(chunks));
        }
    }
}
