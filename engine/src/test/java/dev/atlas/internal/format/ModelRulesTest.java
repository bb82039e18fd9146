package dev.atlas.internal.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.atlas.error.CorruptFileException;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Fill materialisation, element encoding and attribute equality (reference acceptance items 3-11, 43-47, 60-61). */
class ModelRulesTest {

    @Test
    void fillMaterialisationFollowsRustAsConversions() {
        assertEquals(-7, Fill.elementBits(DType.INT32, new FillValue.Int(-7)));
        assertEquals(Double.doubleToRawLongBits(1.5), Fill.elementBits(DType.FLOAT64, new FillValue.Float(1.5)));
        assertEquals(0, Fill.elementBits(DType.UINT8, null));
        assertEquals(255, Fill.elementBits(DType.UINT8, new FillValue.Float(300.0)));
        assertEquals(0, Fill.elementBits(DType.UINT8, new FillValue.Float(-1.0)));
        assertEquals(127, Fill.elementBits(DType.INT8, new FillValue.Float(1e9)));
        assertEquals(-128, Fill.elementBits(DType.INT8, new FillValue.Float(-1e9)));
        assertEquals(0, Fill.elementBits(DType.INT32, new FillValue.Float(Double.NaN)));
        assertEquals(0xFFFF, Fill.elementBits(DType.UINT16, new FillValue.Int(-1)));
        assertEquals(-1, Fill.elementBits(DType.INT16, new FillValue.UInt(0xFFFF)));
        assertEquals(0, Fill.elementBits(DType.INT16, new FillValue.Bool(true)), "Bool is ignored for signed ints");
        assertEquals(1, Fill.elementBits(DType.UINT32, new FillValue.Bool(true)));
        assertEquals(0, Fill.elementBits(DType.TIMESTAMP_NS, new FillValue.UInt(5)), "UInt is ignored for timestamps");
        assertEquals(7, Fill.elementBits(DType.TIMESTAMP_NS, new FillValue.Int(7)));
        assertEquals(123, Fill.elementBits(DType.TIMESTAMP_NS, new FillValue.TimestampNs(123)));
        assertEquals(-1L, Fill.elementBits(DType.UINT64, new FillValue.Float(1e30)));
        assertEquals(Float.floatToRawIntBits(1.8446744E19f),
                (int) Fill.elementBits(DType.FLOAT32, new FillValue.UInt(-1L)));
        assertArrayEquals(new byte[0], Fill.element(DType.STRING, new FillValue.Int(99)));
        assertArrayEquals(new byte[0], Fill.element(DType.BINARY, null));
    }

    @Test
    void varLenChunksRoundTripAndValidate() {
        byte[] enc = ChunkCodec.encodeStrings(List.of("cat", "", "elephant"));
        ByteBuffer b = ByteBuffer.wrap(enc).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        assertEquals(List.of(0, 3, 3, 11), List.of(b.getInt(0), b.getInt(4), b.getInt(8), b.getInt(12)));
        assertEquals(List.of("cat", "", "elephant"), ChunkCodec.decodeStrings(ByteBuffer.wrap(enc), 3, "x"));
        assertEquals(List.of(), ChunkCodec.decodeStrings(ByteBuffer.wrap(ChunkCodec.encodeStrings(List.of())), 0, "x"));
        List<byte[]> bin = ChunkCodec.decodeVarLen(ByteBuffer.wrap(ChunkCodec.encodeVarLen(
                List.of(new byte[] {1, 2, 3}, new byte[0], new byte[] {(byte) 255}))), 3, "x");
        assertArrayEquals(new byte[] {(byte) 255}, bin.get(2));
        // Wrong element count, decreasing offsets, trailing bytes, invalid UTF-8.
        assertThrows(CorruptFileException.class, () -> ChunkCodec.decodeStrings(ByteBuffer.wrap(enc), 2, "x"));
        byte[] broken = enc.clone();
        broken[8] = 1;
        assertThrows(CorruptFileException.class, () -> ChunkCodec.decodeStrings(ByteBuffer.wrap(broken), 3, "x"));
        byte[] badUtf8 = ChunkCodec.encodeVarLen(List.of(new byte[] {(byte) 0xC3}));
        assertThrows(CorruptFileException.class, () -> ChunkCodec.decodeStrings(ByteBuffer.wrap(badUtf8), 1, "x"));
        assertThrows(CorruptFileException.class, () -> ChunkCodec.checkFixed(DType.INT32, 10, 3, "x"));
        ChunkCodec.checkFixed(DType.INT32, 12, 3, "x");
        assertEquals("hello", new String(ChunkCodec.decodeVarLen(ByteBuffer.wrap(ChunkCodec.encodeStrings(
                List.of("hello"))), 1, "x").get(0), StandardCharsets.UTF_8));
    }

    @Test
    void attributeEqualityIsByVariantAndBits() {
        assertEquals(AttributeValue.ofFloat64List(new double[] {Double.NaN, 1.0}),
                AttributeValue.ofFloat64List(new double[] {Double.NaN, 1.0}));
        assertNotEquals(AttributeValue.ofFloat32List(new float[] {0.0f}), AttributeValue.ofFloat32List(new float[] {-0.0f}));
        assertNotEquals(AttributeValue.ofInt32List(new int[] {1}), AttributeValue.ofInt64List(new long[] {1}));
        assertNotEquals(AttributeValue.ofBinary(new byte[] {1, 2, 3}), AttributeValue.ofBinary(new byte[] {1, 2}));
        assertEquals(AttributeValue.ofBinaryList(List.of(new byte[] {1})), AttributeValue.ofBinaryList(List.of(new byte[] {1})));
        assertEquals(AttributeValue.ofStringList(List.of("a", "b")).hashCode(),
                AttributeValue.ofStringList(List.of("a", "b")).hashCode());
        assertEquals(new FillValue.Float(Double.NaN), new FillValue.Float(Double.NaN));
        assertNotEquals(new FillValue.Float(0.0), new FillValue.Float(-0.0));
    }

    @Test
    void dtypeSizes() {
        assertEquals(1, DType.BOOL.elementSize());
        assertEquals(2, DType.UINT16.elementSize());
        assertEquals(4, DType.FLOAT32.elementSize());
        assertEquals(8, DType.TIMESTAMP_NS.elementSize());
        assertEquals(-1, DType.STRING.elementSize());
        assertEquals(-1, DType.list(DType.INT32).elementSize());
        assertEquals(-1, DType.fixedSizeList(DType.STRING, 3).elementSize());
        assertEquals(DType.INT32, DType.parse("Int32"));
    }

    @Test
    void attributesWidenInsteadOfWrapping() {
        Attributes a = Attributes.EMPTY.with(3, 1).with(1, 70_000);
        assertEquals(Attributes.Width.U32, a.width());
        assertEquals(1, a.keyIndex(0));
        assertEquals(70_000, a.valueIndexOf(1));
        Footer f = new Footer(5, List.of(), List.of(new ArrayMeta("a", DType.INT8, new long[] {1}, List.of("x"),
                new long[] {1}, List.of(), null, false, a)), List.of(), List.of(), 0, "");
        assertEquals(f, FooterCodec.decodeFooter(ByteBuffer.wrap(FooterCodec.encodeFooter(f)), "x"));
    }

    @Test
    void sidecarNames() {
        assertEquals("data/t", LayerNames.stem("data/t.af"));
        assertEquals(2024, LayerNames.sidecarNumber("x", "x.2024.af"));
        assertEquals(-1, LayerNames.sidecarNumber("x", "x.0.af"));
        assertEquals(-1, LayerNames.sidecarNumber("d/t", "d/t.af"), "the base is no sidecar");
        assertEquals(-1, LayerNames.sidecarNumber("x", "x.+1.af"));
        assertEquals(-1, LayerNames.sidecarNumber("x", "x.01.af"));
        assertEquals(-1, LayerNames.sidecarNumber("x", "x.99999999999.af"));
        assertEquals("x.3.af", LayerNames.sidecar("x", 3));
        assertThrows(IllegalArgumentException.class, () -> LayerNames.stem("x.bin"));
    }
}
