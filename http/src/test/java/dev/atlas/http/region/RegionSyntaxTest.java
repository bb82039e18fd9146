package dev.atlas.http.region;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.atlas.http.region.BadRegionException.Problem;
import dev.atlas.http.region.RegionSyntax.Dialect;
import org.junit.jupiter.api.Test;

/** Both dialects of the slice syntax: what each accepts, and the problem each refusal names. */
class RegionSyntaxTest {
    private static final long[] SHAPE = {12, 64, 128};

    private static Region box(long[] start, long[] shape) {
        return new Region(start, shape);
    }

    @Test
    void bothDialectsReadIndexesRangesAndWholeAxes() {
        for (Dialect d : Dialect.values()) {
            assertEquals(box(new long[] {3, 0, 5}, new long[] {1, 64, 1}), RegionSyntax.parse("3,:,5:6", SHAPE, d));
            assertEquals(box(new long[] {0, 10, 120}, new long[] {2, 54, 8}), RegionSyntax.parse(" :2 , 10: ,120:128", SHAPE, d));
        }
    }

    @Test
    void theOptionDialectFillsTrailingAndEmptyPartsAndAllowsEmptyRanges() {
        assertEquals(Region.whole(SHAPE), RegionSyntax.parse(" ", SHAPE, Dialect.OPTION));
        assertEquals(Region.whole(SHAPE), RegionSyntax.parse(null, SHAPE, Dialect.OPTION));
        assertEquals(box(new long[] {2, 0, 0}, new long[] {1, 64, 128}), RegionSyntax.parse("2", SHAPE, Dialect.OPTION));
        assertEquals(box(new long[] {0, 4, 0}, new long[] {12, 0, 128}), RegionSyntax.parse(",4:4", SHAPE, Dialect.OPTION));
        assertEquals("0:12,4:4,0:128", RegionSyntax.parse(",4:4", SHAPE, Dialect.OPTION).toString());
    }

    @Test
    void eachRefusalNamesItsProblemAndAxis() {
        assertProblem("0,0,0,0", Dialect.OPTION, Problem.AXIS_COUNT, -1);
        assertProblem("0,0", Dialect.QUERY, Problem.AXIS_COUNT, -1);
        assertProblem("0,,0", Dialect.QUERY, Problem.NOT_AN_INTEGER, 1);
        assertProblem("0,a:b", Dialect.OPTION, Problem.NOT_AN_INTEGER, 1);
        assertProblem("0,0:1:2,0", Dialect.OPTION, Problem.STEP, 1);
        assertProblem("0,0,-1", Dialect.QUERY, Problem.NEGATIVE, 2);
        assertProblem("0,0,-1", Dialect.OPTION, Problem.OUTSIDE, 2);
        assertProblem("0,5:5,0", Dialect.QUERY, Problem.EMPTY, 1);
        assertProblem("0:13", Dialect.OPTION, Problem.OUTSIDE, 0);
        assertProblem("0,0:65,0", Dialect.QUERY, Problem.OUTSIDE, 1);
        BadRegionException e = assertThrows(BadRegionException.class, () -> RegionSyntax.parse("0:1,0:65,0:10", SHAPE, Dialect.QUERY));
        assertEquals(box(new long[] {0, 0, 0}, new long[] {1, 65, 10}), e.region(), "the whole region, every axis parsed");
    }

    private static void assertProblem(String text, Dialect dialect, Problem problem, int axis) {
        BadRegionException e = assertThrows(BadRegionException.class, () -> RegionSyntax.parse(text, SHAPE, dialect), text);
        assertEquals(problem, e.problem(), text);
        assertEquals(axis, e.axis(), text);
    }
}
