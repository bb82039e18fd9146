package dev.atlas.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Parsing of {@code Content-Range}, which places the body of a range GET in the object. */
class RangeBodyTest {
    @Test
    void contentRangeGivesStartAndTotal() {
        assertEquals(1, RangeBody.startOf("bytes 1-2/3"));
        assertEquals(3, RangeBody.totalOf("bytes 1-2/3"));
        assertEquals(0, RangeBody.startOf(null));
        assertEquals(-1, RangeBody.totalOf(null));
        assertEquals(10_000, RangeBody.totalOf("bytes */10000"));
        assertEquals(0, RangeBody.startOf("bytes */10000"));
        assertEquals(-1, RangeBody.totalOf("bytes 0-1/*"));
        assertEquals(5_000_000_000L, RangeBody.startOf("bytes 5000000000-5000000009/6000000000"));
    }
}
