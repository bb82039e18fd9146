package dev.atlas.array;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A destination buffer that several reads fill side by side ({@link ArrayFile#readInto}), with
 * the bookkeeping that makes cancellation safe: the owner holds it once, each copy in flight holds
 * it too, and the buffer is released when the last hold goes. A separate count rather than the
 * buffer's reference count: a pooled buffer that was released may already belong to someone else,
 * so probing it with {@code retain()} could succeed on foreign memory.
 */
public final class ReadTarget {
    final ByteBuf buf;
    private final AtomicInteger holds = new AtomicInteger(1);

    /** Wraps {@code buf}, taking over its reference: the creator holds the target once. */
    ReadTarget(ByteBuf buf) {
        this.buf = buf;
    }

    /** A target of exactly {@code bytes} bytes (contents undefined until filled); the caller holds it once. */
    public static ReadTarget allocate(ByteBufAllocator alloc, int bytes) {
        return new ReadTarget(alloc.directBuffer(bytes, bytes));
    }

    /** Capacity in bytes. */
    public long capacity() {
        return buf.capacity();
    }

    /** A copier's hold; false when the target was given up and its buffer is gone or going. */
    boolean acquire() {
        for (;;) {
            int h = holds.get();
            if (h == 0) {
                return false;
            }
            if (holds.compareAndSet(h, h + 1)) {
                return true;
            }
        }
    }

    /** Gives up one hold (the owner's, once, on error or cancel); the last one releases the buffer. */
    public void release() {
        if (holds.decrementAndGet() == 0) {
            buf.release();
        }
    }

    /**
     * The buffer, when only the owner holds the target (every read into it has terminated): the
     * caller then owns the buffer and must release it; null otherwise (the target stays held).
     */
    public ByteBuf take() {
        return holds.compareAndSet(1, 0) ? buf : null;
    }
}
