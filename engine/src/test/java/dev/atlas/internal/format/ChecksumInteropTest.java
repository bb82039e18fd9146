package dev.atlas.internal.format;

import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.luben.zstd.Zstd;
import dev.atlas.array.ArrayFile;
import dev.atlas.array.ArrayFileOptions;
import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.format.DType;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.testing.EngineTestBase;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.Test;

/**
 * Files with checksum records, read by the reference crate's reading procedure
 * ({@code shared/reference/array-format.md} 3.2, 4.6) and nothing else: trailer, footer payload
 * (its archive re-encodes byte for byte, so it is exactly what the crate's serializer would have
 * produced for that content), exact version check, then per chunk a linear search of the layers
 * newest first, of the meta's chunks and of the block table by id, the block's compressed range,
 * decompression by codec name as the crate does it (lz4 size-prepended through lz4-java, zstd
 * through zstd-jni, which checks the frame checksum as the crate's zstd does), and the slice.
 * No Atlas read code and no knowledge of the record is involved beyond the footer decoder; every
 * value must come out as written.
 */
class ChecksumInteropTest extends EngineTestBase {

    /** One layer as the crate holds it after {@code open}. */
    private record CrateLayer(byte[] file, Footer footer) {
    }

    private static CrateLayer open(byte[] file) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        assertTrue(file.length >= 12, "file too short for trailer");
        assertEquals("ARRF", new String(file, file.length - 4, 4, StandardCharsets.US_ASCII));
        long f = b.getLong(file.length - 12);
        int start = (int) (file.length - 12 - f);
        byte[] payload = Arrays.copyOfRange(file, start, file.length - 12);
        Footer footer = FooterCodec.decodeFooter(ByteBuffer.wrap(payload), "payload");
        assertEquals(Footer.VERSION_V5, footer.version(), "the crate 0.11/0.12 requires version 5 exactly");
        assertArrayEquals(payload, FooterCodec.encodeFooter(footer),
                "the footer is the crate serializer's post-order output for its content");
        return new CrateLayer(file, footer);
    }

    /** The crate's fetch of one chunk: linear search of the block table by id, range, decompress, slice. */
    private static byte[] chunk(CrateLayer l, ChunkAddress a) {
        BlockMeta b = null;
        for (BlockMeta m : l.footer().blocks()) {
            if (m.id() == a.blockId()) {
                b = m;
                break;
            }
        }
        assertNotNull(b, "BlockOutOfRange");
        byte[] stored = Arrays.copyOfRange(l.file(), (int) b.fileOffset(), (int) (b.fileOffset() + b.compressedSize()));
        byte[] block;
        if (b.codec().isNone()) {
            block = stored;
        } else if (b.codec().name().equals("lz4")) {
            int n = ByteBuffer.wrap(stored).order(ByteOrder.LITTLE_ENDIAN).getInt(0);
            block = new byte[n];
            LZ4Factory.safeInstance().safeDecompressor().decompress(stored, 4, stored.length - 4, block, 0);
        } else if (b.codec().name().equals("zstd")) {
            block = Zstd.decompress(stored, (int) b.uncompressedSize());
        } else {
            throw new AssertionError("unknown codec " + b.codec());
        }
        return Arrays.copyOfRange(block, (int) a.offset(), (int) (a.offset() + a.size()));
    }

    /** The crate's read_array of a whole 1-d or 2-d fixed-width array: fill, then every stored chunk newest first. */
    private static byte[] readArray(List<CrateLayer> layers, String name) {
        ArrayMeta newest = null;
        for (int i = layers.size() - 1; i >= 0 && newest == null; i--) {
            for (ArrayMeta m : layers.get(i).footer().arrays()) {
                if (m.name().equals(name)) {
                    newest = m;
                }
            }
        }
        assertNotNull(newest, name);
        long[] shape = newest.shape();
        long[] cs = newest.chunkShape();
        int width = (int) newest.dtype().elementSize();
        long count = 1;
        for (long s : shape) {
            count *= s;
        }
        byte[] out = new byte[(int) (count * width)];
        byte[] fill = Fill.element(newest.dtype(), newest.fillValue());
        for (int i = 0; i < count; i++) {
            System.arraycopy(fill, 0, out, i * width, width);
        }
        long rows = shape.length == 2 ? shape[0] : 1;
        long cols = shape[shape.length - 1];
        long crows = shape.length == 2 ? cs[0] : 1;
        long ccols = cs[cs.length - 1];
        for (long gr = 0; gr * crows < rows; gr++) {
            for (long gc = 0; gc * ccols < cols; gc++) {
                long[] coord = shape.length == 2 ? new long[] {gr, gc} : new long[] {gc};
                byte[] c = resolve(layers, name, coord);
                if (c == null) {
                    continue;
                }
                long h = Math.min(crows, rows - gr * crows);
                long w = Math.min(ccols, cols - gc * ccols);
                assertEquals(h * w * width, c.length, "chunk shape");
                for (int r = 0; r < h; r++) {
                    System.arraycopy(c, (int) (r * w * width), out, (int) (((gr * crows + r) * cols + gc * ccols) * width),
                            (int) (w * width));
                }
            }
        }
        return out;
    }

    /** Newest layer that has the name and the coordinate (tombstones fall through, as in the crate). */
    private static byte[] resolve(List<CrateLayer> layers, String name, long[] coord) {
        for (int i = layers.size() - 1; i >= 0; i--) {
            for (ArrayMeta m : layers.get(i).footer().arrays()) {
                if (!m.name().equals(name) || m.deleted()) {
                    continue;
                }
                for (ChunkEntry e : m.chunks()) {
                    if (Arrays.equals(e.coord(), coord)) {
                        return chunk(layers.get(i), e.address());
                    }
                }
            }
        }
        return null;
    }

    @Test
    void theCratesReadingProcedureReadsEveryValueOfFilesWithChecksums() {
        for (BlockCodec codec : List.of(BlockCodecs.zstd(), BlockCodecs.lz4(), BlockCodecs.none())) {
            InMemoryStorage s = InMemoryStorage.create();
            ArrayFileOptions o = ArrayFileOptions.builder(resources).codec(codec).blockTargetSize(300).tempDirectory(tmp)
                    .build();
            int[] a = new int[17 * 13];
            for (int i = 0; i < a.length; i++) {
                a[i] = i * 7919 - 100_000;
            }
            double[] d = new double[50];
            for (int i = 0; i < d.length; i++) {
                d[i] = Math.sqrt(i) - 3;
            }
            ArrayFile f = block(ArrayFile.create(s, "x/t.af", o));
            try {
                block(f.defineArray("a", ArraySpec.of(DType.INT32, 17, 13).withChunks(5, 4)));
                block(f.defineArray("d", ArraySpec.of(DType.FLOAT64, 50).withChunks(7)));
                try (NdArray n = NdArray.ofInts(DType.INT32, new long[] {17, 13}, a)) {
                    block(f.writeArray("a", new long[] {0, 0}, n));
                }
                block(f.flush());
                try (NdArray n = NdArray.ofDoubles(new long[] {50}, d)) {
                    block(f.writeArray("d", new long[] {0}, n));
                }
                int[] patch = {1, 2, 3, 4, 5, 6};
                try (NdArray n = NdArray.ofInts(DType.INT32, new long[] {2, 3}, patch)) {
                    block(f.writeArray("a", new long[] {6, 2}, n));
                }
                block(f.flush());
                for (int r = 0; r < 2; r++) {
                    System.arraycopy(patch, r * 3, a, (6 + r) * 13 + 2, 3);
                }
            } finally {
                block(f.close());
            }
            List<CrateLayer> layers = new ArrayList<>();
            for (String key : List.of("x/t.af", "x/t.1.af", "x/t.2.af")) {
                CrateLayer l = open(s.getBytes(key));
                assertNotNull(Trailer.decodeCheckedLayer(ByteBuffer.wrap(l.file()), key).checksums(), key + " has a record");
                layers.add(l);
            }
            ByteBuffer got = ByteBuffer.wrap(readArray(layers, "a")).order(ByteOrder.LITTLE_ENDIAN);
            int[] ints = new int[a.length];
            got.asIntBuffer().get(ints);
            assertArrayEquals(a, ints, codec.id() + ": every value of a");
            ByteBuffer gd = ByteBuffer.wrap(readArray(layers, "d")).order(ByteOrder.LITTLE_ENDIAN);
            double[] ds = new double[d.length];
            gd.asDoubleBuffer().get(ds);
            assertArrayEquals(d, ds, codec.id() + ": every value of d");
        }
    }
}
