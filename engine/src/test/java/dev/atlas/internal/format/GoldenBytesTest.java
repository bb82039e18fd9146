package dev.atlas.internal.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.CorruptFileException;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The golden byte sequences annotated in the array-format crate's format description decode and re-encode exactly. */
class GoldenBytesTest {

    static byte[] hex(String s) {
        String h = s.replaceAll("\\s+", "");
        byte[] out = new byte[h.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(h.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    /** t.1.af: Int32 v[4], chunks of 2, fill Int(-1), one uncompressed 16-byte block. */
    static final byte[] T1 = hex(
            "01000000020000000300000004000000 00000000000000000000000000000000"
            + "10000000000000001000000000000000 00000000000000000000000000000000"
            + "00000000000000000400000000000000 78ffffffffffffffffffffffffffffff"
            + "02000000000000000100000000000000 f4ffffffffffffff0100000000000000"
            + "00000000000000000800000000000000 d8ffffffffffffff0100000000000000"
            + "00000000080000000800000000000000 76ffffffffffffffffffffffffffffff"
            + "03000000000000000000000000000000 0000000000000000 70ffffffffffffff"
            + "0100000000000000 68ffffffffffffff 0100000000000000 68ffffffffffffff"
            + "0100000000000000 68ffffffffffffff 0200000000000000 0100000000000000"
            + "0100000000000000 ffffffffffffffff 00000000000000000000000000000000"
            + "0000000000000000 68ffffffffffffff 0000000000000000 0500000000000000"
            + "b0feffffffffffff 0100000000000000 40ffffffffffffff 0100000000000000"
            + "d8ffffffffffffff 0000000000000000 c8ffffffffffffff 0000000000000000"
            + "0100000000000000 742e6166ffffffff ffffffffffffffff a801000000000000"
            + "41525246");

    @Test
    void goldenSidecarDecodesReadsAndReencodes() {
        assertEquals(452, T1.length);
        Footer f = Trailer.decodeLayer(ByteBuffer.wrap(T1), "t.1.af");
        assertEquals(5, f.version());
        assertEquals(1, f.overlayIndex());
        assertEquals("t.af", f.baseFileHint());
        ArrayMeta v = f.arrays().get(0);
        assertEquals("v", v.name());
        assertEquals(DType.INT32, v.dtype());
        assertEquals(new FillValue.Int(-1), v.fillValue());
        assertEquals(List.of("x"), v.dimensionNames());
        assertEquals(new ChunkAddress(0, 8, 8), v.chunks().get(1).address());

        byte[] payload = java.util.Arrays.copyOfRange(T1, 16, 16 + 424);
        assertArrayEquals(payload, FooterCodec.encodeFooter(f));

        InMemoryFileSet set = InMemoryFileSet.decode(List.of("t.af", "t.1.af"),
                List.of(ByteBuffer.wrap(new LayerBuilder(BlockCodecs.none(), 64, PooledByteBufAllocator.DEFAULT,
                        Footer.VERSION_V5).build(0, "")), ByteBuffer.wrap(T1)),
                "t.stats", null, PooledByteBufAllocator.DEFAULT);
        ArrayValues values = set.readAll("v");
        assertEquals(List.of(1L, 2L, 3L, 4L), List.of(values.bits(0), values.bits(1), values.bits(2), values.bits(3)));
    }

    @Test
    void layerBuilderReproducesTheGoldenSidecar() {
        LayerBuilder b = new LayerBuilder(BlockCodecs.none(), 1 << 20, PooledByteBufAllocator.DEFAULT, Footer.VERSION_V5)
                .withChecksums(false); // the crate's exact bytes: no checksum record
        b.define("v", DType.INT32, new long[] {4}, List.of("x"), new long[] {2}, new FillValue.Int(-1));
        b.chunk("v", new long[] {0}, hex("0100000002000000"));
        b.chunk("v", new long[] {1}, hex("0300000004000000"));
        assertArrayEquals(T1, b.build(1, "t.af"));
    }

    @Test
    void emptyBaseIs108Bytes() {
        byte[] empty = Trailer.frame(FooterCodec.encodeFooter(Footer.empty(Footer.VERSION_V5)), Trailer.LAYER_MAGIC);
        assertEquals(108, empty.length);
        byte[] expected = new byte[108];
        expected[0] = 5;
        for (int field = 8; field < 72; field += 16) {
            long rel = -field;
            for (int i = 0; i < 8; i++) {
                expected[field + i] = (byte) (rel >>> (8 * i));
            }
        }
        java.util.Arrays.fill(expected, 80, 96, (byte) 0xFF);
        expected[96] = 0x60;
        System.arraycopy("ARRF".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 0, expected, 104, 4);
        assertArrayEquals(expected, empty);
    }

    @Test
    void emptyStatsIs24BytesPlusTrailer() {
        byte[] stats = FooterCodec.encodeStats(new StatsFile(StatsFile.VERSION_V1, List.of()));
        assertArrayEquals(hex("01000000 00000000 f8ffffffffffffff 0000000000000000"), stats);
        assertEquals(new StatsFile(StatsFile.VERSION_V1, List.of()), FooterCodec.decodeStats(ByteBuffer.wrap(stats), "x"));
    }

    @Test
    void outOfLineStringLengthEncoding() {
        // A 17-byte key forces the out-of-line form: bytes first, then len field 17|0x80 and -24.
        Footer f = new Footer(5, List.of(), List.of(), List.of("abcdefghijklmnopq"), List.of(), 0, "");
        byte[] p = FooterCodec.encodeFooter(f);
        assertArrayEquals("abcdefghijklmnopq".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
                java.util.Arrays.copyOf(p, 17));
        assertArrayEquals(hex("9100000000000000 e8ffffffffffffff"), java.util.Arrays.copyOfRange(p, 24, 40));
        assertEquals(f, FooterCodec.decodeFooter(ByteBuffer.wrap(p), "x"));
        // 300 bytes: len field = (300 & 0x3f) | 0x80 | ((300 & ~0x3f) << 2).
        String longKey = "k".repeat(300);
        Footer g = new Footer(5, List.of(), List.of(), List.of(longKey), List.of(), 0, "");
        assertEquals(longKey, FooterCodec.decodeFooter(ByteBuffer.wrap(FooterCodec.encodeFooter(g)), "x").attrKeys().get(0));
    }

    @Test
    void nestedDTypeRoundTrips() {
        DType nested = DType.fixedSizeList(DType.list(DType.INT16), 3);
        ArrayMeta m = new ArrayMeta("n", nested, new long[] {2}, List.of("x"), new long[] {2}, List.of(), null, false,
                Attributes.EMPTY);
        Footer f = new Footer(5, List.of(), List.of(m), List.of(), List.of(), 0, "");
        byte[] p = FooterCodec.encodeFooter(f);
        // Int16 body at 0x00, List body at 0x18 pointing back to it, as in the reference example.
        assertEquals(2, p[0]);
        assertEquals(14, p[0x18]);
        assertArrayEquals(hex("e0ffffffffffffff"), java.util.Arrays.copyOfRange(p, 0x20, 0x28));
        assertEquals(nested, FooterCodec.decodeFooter(ByteBuffer.wrap(p), "x").arrays().get(0).dtype());
        assertEquals(-1, nested.elementSize());
        assertEquals(6, DType.fixedSizeList(DType.INT16, 3).elementSize());
        assertEquals(8, DType.fixedSizeList(DType.fixedSizeList(DType.UINT8, 4), 2).elementSize());
    }

    @Test
    void wrongMagicAndShortFilesAreCorrupt() {
        byte[] bad = T1.clone();
        bad[bad.length - 1] = 'X';
        assertThrows(CorruptFileException.class, () -> Trailer.decodeLayer(ByteBuffer.wrap(bad), "t.1.af"));
        assertThrows(CorruptFileException.class, () -> Trailer.decodeLayer(ByteBuffer.wrap(new byte[11]), "t.1.af"));
        byte[] huge = T1.clone();
        huge[huge.length - 6] = 0x7F; // footer length near 2^63
        CorruptFileException e = assertThrows(CorruptFileException.class,
                () -> Trailer.decodeLayer(ByteBuffer.wrap(huge), "t.1.af"));
        assertEquals("t.1.af", e.file());
    }

    @Test
    void footerV4RefusesV5AttributeVariants() {
        assertThrows(IllegalArgumentException.class, () -> new Footer(4, List.of(), List.of(), List.of("k"),
                List.of(AttributeValue.ofBinary(new byte[] {1})), 0, ""));
    }
}
