package dev.atlas.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.atlas.error.CorruptFileException;
import dev.atlas.error.UnknownCodecException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The three block codecs round-trip on direct and heap buffers, and refuse bad input with typed errors. */
class BlockCodecsTest {
    private static final ByteBufAllocator ALLOC = PooledByteBufAllocator.DEFAULT;

    @Test
    void everyCodecRoundTripsCompressibleAndNoisyData() {
        Random rnd = new Random(42);
        for (BlockCodec codec : new BlockCodec[] {BlockCodecs.none(), BlockCodecs.lz4(), BlockCodecs.zstd(), BlockCodecs.zstd(9)}) {
            for (int size : new int[] {0, 1, 100, 65_536, 1 << 20}) {
                for (boolean heap : new boolean[] {false, true}) {
                    byte[] data = new byte[size];
                    for (int i = 0; i < size; i++) {
                        data[i] = (byte) (i % 3 == 0 ? rnd.nextInt(256) : i / 64);
                    }
                    ByteBuf src = heap ? Unpooled.buffer(size) : ALLOC.directBuffer(size);
                    src.writeBytes(data);
                    ByteBuf stored = codec.compress(src, ALLOC);
                    ByteBuf back = codec.decompress(stored, size, ALLOC, "test block");
                    try {
                        assertEquals(size, back.readableBytes());
                        assertEquals(true, ByteBufUtil.equals(src, back), codec.id() + " " + size);
                    } finally {
                        back.release();
                        stored.release();
                        src.release();
                    }
                }
            }
        }
    }

    @Test
    void lz4BlockStartsWithItsLength() {
        ByteBuf src = Unpooled.wrappedBuffer(new byte[1000]);
        ByteBuf stored = BlockCodecs.lz4().compress(src, ALLOC);
        try {
            assertEquals(1000, stored.getIntLE(0));
        } finally {
            stored.release();
            src.release();
        }
    }

    @Test
    void corruptOrHostileBlocksAreTypedErrors() {
        ByteBuf src = Unpooled.wrappedBuffer(new byte[4096]);
        for (BlockCodec codec : new BlockCodec[] {BlockCodecs.lz4(), BlockCodecs.zstd()}) {
            ByteBuf stored = codec.compress(src, ALLOC);
            try {
                // Claimed size far beyond what the compressed bytes can hold: refused before allocating.
                assertThrows(CorruptFileException.class, () -> codec.decompress(stored, 1L << 40, ALLOC, "b"));
                assertThrows(CorruptFileException.class, () -> codec.decompress(stored, 4095, ALLOC, "b"));
                ByteBuf garbage = Unpooled.wrappedBuffer(new byte[] {0, 16, 0, 0, (byte) 0xFF, (byte) 0xFF, 1, 2, 3});
                assertThrows(CorruptFileException.class, () -> codec.decompress(garbage, 4096, ALLOC, "b"));
                garbage.release();
            } finally {
                stored.release();
            }
        }
        src.release();
        assertThrows(CorruptFileException.class,
                () -> BlockCodecs.none().decompress(Unpooled.EMPTY_BUFFER, 3, ALLOC, "b"));
    }

    @Test
    void unknownCodecNamesAreTyped() {
        UnknownCodecException e = assertThrows(UnknownCodecException.class, () -> BlockCodecs.forId(CodecId.named("brotli")));
        assertEquals("brotli", e.codec());
        assertThrows(UnknownCodecException.class, () -> BlockCodecs.byName("snappy"));
        assertEquals(CodecId.ZSTD, BlockCodecs.byName("zstd:5").id());
    }
}
