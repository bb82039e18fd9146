package dev.atlas.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.http.region.Region;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Pieces tile a region exactly, in C order, within the target size (randomised, seed printed). */
class PiecesTest {

    @Test
    void piecesConcatenateToTheRegionInCOrder() {
        long seed = System.nanoTime();
        System.out.println("PiecesTest seed " + seed);
        Random rnd = new Random(seed);
        for (int round = 0; round < 2_000; round++) {
            int rank = 1 + rnd.nextInt(4);
            long[] shape = new long[rank];
            long[] start = new long[rank];
            long[] chunk = new long[rank];
            for (int i = 0; i < rank; i++) {
                long extent = 1 + rnd.nextInt(12);
                start[i] = rnd.nextInt(5);
                shape[i] = extent;
                chunk[i] = 1 + rnd.nextInt(6);
            }
            long target = 1 + rnd.nextInt(200);
            long total = 1;
            for (long s : shape) {
                total *= s;
            }
            // Walk the region's C order and check every piece's cells come next, in that order.
            long[] cursor = start.clone();
            long seen = 0;
            for (Region p : new Pieces(new Region(start, shape), chunk, target)) {
                long n = p.count();
                assertTrue(n >= 1 && n <= target, "piece " + p + " of target " + target + ", seed " + seed);
                long[] idx = p.start().clone();
                for (long k = 0; k < n; k++) {
                    assertArrayEquals(cursor, idx, "seed " + seed + " piece " + p);
                    advance(cursor, start, shape);
                    advance(idx, p.start(), p.shape());
                }
                seen += n;
            }
            assertEquals(total, seen, "seed " + seed);
        }
    }

    private static void advance(long[] idx, long[] start, long[] shape) {
        for (int i = idx.length - 1; i >= 0; i--) {
            if (++idx[i] < start[i] + shape[i]) {
                return;
            }
            idx[i] = start[i];
        }
    }

    @Test
    void chunkRowsAreNotSplitWhenTheyFit() {
        // [10, 100] with chunks [4, 100], target 800: pieces are whole chunk rows cut at multiples of 4.
        Pieces p = new Pieces(new Region(new long[] {1, 0}, new long[] {10, 100}), new long[] {4, 100}, 800);
        StringBuilder sb = new StringBuilder();
        for (Region r : p) {
            sb.append(r.start()[0]).append('+').append(r.shape()[0]).append(' ');
        }
        assertEquals("1+7 8+3 ", sb.toString());
    }
}
