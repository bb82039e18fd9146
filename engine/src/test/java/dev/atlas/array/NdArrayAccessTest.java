package dev.atlas.array;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.format.DType;
import org.junit.jupiter.api.Test;

/** Element getters: values, and a typed error for another dtype, an index out of bounds or a closed array. */
class NdArrayAccessTest {
    @Test
    void gettersReadTheirDtypesAndRefuseTheRest() {
        try (NdArray f = NdArray.ofFloats(new long[] {2, 3}, 0f, 1f, 2f, 3f, 4f, 5.5f);
             NdArray u = NdArray.ofBytes(DType.UINT8, new long[] {2}, (byte) 200, (byte) 7);
             NdArray l = NdArray.ofLongs(DType.TIMESTAMP_NS, new long[] {1}, 42L)) {
            assertEquals(6, f.size());
            assertEquals(5.5f, f.getFloat(5));
            assertEquals(200, u.getByte(0) & 0xFF);
            assertEquals(42L, l.getLong(0));
            InvalidArgumentException wrong = assertThrows(InvalidArgumentException.class, () -> f.getInt(0));
            assertTrue(wrong.getMessage().contains("Float32") && wrong.getMessage().contains("INT32"), wrong.getMessage());
            assertThrows(InvalidArgumentException.class, () -> u.getShort(0));
            assertThrows(InvalidArgumentException.class, () -> f.getFloat(6));
            assertThrows(InvalidArgumentException.class, () -> f.getFloat(-1));
        }
        NdArray closed = NdArray.ofFloats(new long[] {1}, 1f);
        closed.close();
        assertThrows(RuntimeException.class, () -> closed.getFloat(0));
    }
}
