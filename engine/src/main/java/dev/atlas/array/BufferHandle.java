package dev.atlas.array;

import dev.atlas.error.ClosedHandleException;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The close-once ownership that {@link NdArray} and {@link ChunkFragment} share: each holds one
 * reference to its data buffer, released by the first close; reads after it are refused. Static
 * helpers over the handle's own flag and buffer, so a handle costs no extra object.
 */
final class BufferHandle {
    private BufferHandle() {
    }

    /** Throws {@link ClosedHandleException} ("{@code what} is closed") once {@code closed} is set. */
    static void checkOpen(AtomicBoolean closed, String what) {
        if (closed.get()) {
            throw new ClosedHandleException(what + " is closed");
        }
    }

    /** Sets {@code closed} and releases the handle's reference to {@code data} (may be null); idempotent. */
    static void close(AtomicBoolean closed, ByteBuf data) {
        if (closed.compareAndSet(false, true) && data != null) {
            data.release();
        }
    }
}
