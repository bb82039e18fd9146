package dev.atlas.cache;

import io.netty.buffer.ByteBuf;

/**
 * One cache entry of the block and slab caches: the cache's single reference to a loaded buffer,
 * or the failure of its load, and the evict-once release of that reference. Failures are values
 * rather than failed futures (Caffeine logs every failed asynchronous load as a warning, and a read
 * that raced with a compaction is routine); the first reader to see one removes it.
 */
class CachedBuffer {
    /** The cached buffer (the cache owns one reference), or null when {@link #error} is set. */
    final ByteBuf buf;
    /** The failure of the load, or null. */
    final Throwable error;
    private boolean evicted;

    CachedBuffer(ByteBuf buf, Throwable error) {
        this.buf = buf;
        this.error = error;
    }

    /**
     * A retained duplicate of the whole buffer, or null once evicted (then the buffer may already be
     * someone else's); the caller owns and releases the duplicate.
     */
    final synchronized ByteBuf retainedDuplicate() {
        return evicted ? null : buf.retainedDuplicate();
    }

    /**
     * A retained slice {@code [from, from + len)} of the buffer, or null once evicted; the caller owns
     * and releases the slice.
     */
    final synchronized ByteBuf retainedSlice(int from, int len) {
        return evicted ? null : buf.retainedSlice(from, len);
    }

    /** Drops the cache's reference (once). After it, nothing touches the buffer through this entry. */
    final synchronized void evict() {
        if (!evicted) {
            evicted = true;
            if (buf != null) {
                buf.release();
            }
        }
    }
}
