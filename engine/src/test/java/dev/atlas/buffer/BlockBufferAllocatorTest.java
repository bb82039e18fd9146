package dev.atlas.buffer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.error.InvalidArgumentException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import org.junit.jupiter.api.Test;

/** Which sizes {@link BlockBufferAllocator} recycles, and that recycled memory is bounded and usable. */
class BlockBufferAllocatorTest {
    @Test
    void buffersFromOneMebibyteAreRecycledBySizeClassAndSmallerOnesGoToTheDelegate() {
        BlockBufferAllocator a = BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT, 8 << 20, 3L << 20);
        try {
            ByteBuf small = a.directBuffer(BlockBufferAllocator.LARGE - 1);
            small.release();
            assertEquals(0, a.allocatedCount() + a.reusedCount(), "below LARGE: the delegate's");

            ByteBuf one = a.directBuffer(1 << 20);
            assertEquals(1 << 20, one.capacity());
            one.setLong(0, 42L);
            one.release();
            assertEquals(1 << 20, a.idleBytes(), "a 1 MiB block buffer is kept");
            ByteBuf again = a.directBuffer(1 << 20);
            assertEquals(1, a.reusedCount(), "served from the free list");
            assertEquals(0, a.idleBytes());
            again.writeZero(again.capacity());
            assertEquals(again.capacity(), again.readableBytes());

            ByteBuf twoish = a.directBuffer((1 << 20) + 1, Integer.MAX_VALUE - 8);
            assertEquals(2, a.allocatedCount(), "the next class (2 MiB) needs new memory");
            twoish.release();
            again.release();
            assertEquals(3L << 20, a.idleBytes());
            ByteBuf over = a.directBuffer(1 << 20);
            ByteBuf over2 = a.directBuffer(1 << 20);
            over.release();
            over2.release();
            assertTrue(a.idleBytes() <= 3L << 20, "idle memory stays within maxIdle");
            ByteBuf huge = a.directBuffer(9 << 20);
            huge.release();
            assertTrue(a.idleBytes() <= 3L << 20, "buffers above maxPooledSize are freed, not kept");
        } finally {
            a.trim();
        }
        assertEquals(0, a.idleBytes());
        assertThrows(InvalidArgumentException.class, () -> BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT, 1, 0));
    }

    @Test
    void theDefaultPoolRecyclesDecodedBlockSizesFrom64KibInClassesOf64Kib() {
        BlockBufferAllocator a = BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT, BlockBufferAllocator.MEDIUM, 8 << 20,
                1L << 20);
        try {
            ByteBuf tiny = a.directBuffer(BlockBufferAllocator.MEDIUM - 1);
            tiny.release();
            assertEquals(0, a.allocatedCount() + a.reusedCount(), "below MEDIUM: the delegate's");

            // A 235 KB decoded block (AtlasBench profile's) takes the 256 KiB class.
            ByteBuf block = a.directBuffer(235_200, 235_200);
            assertEquals(235_200, block.capacity());
            block.writeZero(235_200);
            block.setLong(235_200 - 8, 7L);
            block.release();
            assertEquals(256 << 10, a.idleBytes(), "its 256 KiB of memory is kept");
            ByteBuf next = a.directBuffer(200_000);
            assertEquals(1, a.reusedCount(), "a request of the same class reuses it");
            assertEquals(200_000, next.capacity());
            assertEquals(0, next.readableBytes(), "a reused buffer starts empty");
            ByteBuf other = a.directBuffer(300_000);
            assertEquals(2, a.allocatedCount(), "the 320 KiB class needs new memory");
            other.release();
            next.release();
            assertEquals((256 << 10) + (320 << 10), a.idleBytes());
            for (int i = 0; i < 8; i++) {
                a.directBuffer(128 << 10).release();
            }
            assertEquals(3, a.allocatedCount(), "one new 128 KiB buffer, reused by the next seven");
            ByteBuf[] many = new ByteBuf[8];
            for (int i = 0; i < many.length; i++) {
                many[i] = a.directBuffer(256 << 10);
            }
            for (ByteBuf b : many) {
                b.release();
            }
            assertTrue(a.idleBytes() <= 1L << 20, "idle memory stays within maxIdle");
        } finally {
            a.trim();
        }
        assertEquals(0, a.idleBytes());
        assertThrows(InvalidArgumentException.class, () -> BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT,
                BlockBufferAllocator.MEDIUM - 1, 8 << 20, 0));
        assertThrows(InvalidArgumentException.class, () -> BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT,
                BlockBufferAllocator.LARGE + 1, 8 << 20, 0));
    }
}
