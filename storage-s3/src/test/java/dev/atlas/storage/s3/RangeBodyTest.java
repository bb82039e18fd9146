package dev.atlas.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import software.amazon.awssdk.core.async.SdkPublisher;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/** Parsing of {@code Content-Range}, and who owns the buffer when a cancel races the body. */
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

    /**
     * The SDK's callbacks (response, body chunks, completion, then the caller's take) on one thread,
     * the cancel's close on another, released together by a barrier with a random head start:
     * in every interleaving the buffer is either taken whole and live, or released exactly once.
     */
    @Test
    void closeRacingTheBodyLeavesOneOwner() throws Exception {
        int length = 4096;
        byte[] data = new byte[length];
        ThreadLocalRandom.current().nextBytes(data);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        int taken = 0;
        int released = 0;
        try {
            for (int i = 0; i < 3000; i++) {
                AtomicReference<ByteBuf> allocated = new AtomicReference<>();
                RangeBody body = new RangeBody(new io.netty.buffer.AbstractByteBufAllocator(true) {
                    @Override
                    protected ByteBuf newDirectBuffer(int initialCapacity, int maxCapacity) {
                        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer(initialCapacity, maxCapacity);
                        allocated.set(b);
                        return b;
                    }

                    @Override
                    protected ByteBuf newHeapBuffer(int initialCapacity, int maxCapacity) {
                        return PooledByteBufAllocator.DEFAULT.heapBuffer(initialCapacity, maxCapacity);
                    }

                    @Override
                    public boolean isDirectBufferPooled() {
                        return true;
                    }
                }, "k", 0, length, new S3Counters());
                body.prepare();
                CyclicBarrier start = new CyclicBarrier(2);
                int headStart = ThreadLocalRandom.current().nextInt(0, 20_000);
                Future<ByteBuf> sdk = pool.submit(() -> {
                    start.await();
                    body.onResponse(GetObjectResponse.builder().contentRange("bytes 0-" + (length - 1) + "/" + length)
                            .contentLength((long) length).build());
                    body.onStream(SdkPublisher.adapt(Flux.range(0, 4)
                            .map(k -> ByteBuffer.wrap(data, k * (length / 4), length / 4))));
                    try {
                        return body.take();
                    } catch (CancellationException e) {
                        return null;
                    }
                });
                Future<?> cancel = pool.submit(() -> {
                    start.await();
                    spin(headStart);
                    body.close();
                    return null;
                });
                ByteBuf out = sdk.get(10, TimeUnit.SECONDS);
                cancel.get(10, TimeUnit.SECONDS);
                ByteBuf b = allocated.get();
                if (out != null) {
                    taken++;
                    assertEquals(1, out.refCnt(), "a taken buffer is live");
                    assertEquals(length, out.readableBytes(), "a taken buffer is whole");
                    byte[] got = new byte[length];
                    out.getBytes(0, got);
                    assertTrue(java.util.Arrays.equals(data, got), "a taken buffer holds the body");
                    out.release();
                } else if (b != null) {
                    released++;
                    assertEquals(0, b.refCnt(), "a buffer the cancel won is released");
                }
                body.close(); // idempotent: nothing left to release twice
            }
        } finally {
            pool.shutdownNow();
        }
        assertTrue(taken > 0, "some bodies completed first (" + taken + ")");
        assertTrue(released + taken > 0, "buffers were allocated");
    }

    private static void spin(int nanos) {
        long until = System.nanoTime() + nanos;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }
}
