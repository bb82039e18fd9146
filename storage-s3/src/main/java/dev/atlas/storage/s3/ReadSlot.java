package dev.atlas.storage.s3;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.CancellationException;

/**
 * Owns the filled buffer of one range read between the attempt that filled it and the hand-over
 * to the reader, so that the buffer never travels through the retry operator: Reactor's
 * {@code retryWhen} serialises its downstream, and a value that meets a cancel there goes to the
 * discard hook, where nothing releases it (the leak of issue 21). Fill, take and close share this
 * object's monitor; whichever of take or close comes first decides the buffer's owner.
 */
final class ReadSlot {
    private final String what;
    private ByteBuf buf; // guarded by this
    private boolean closed; // guarded by this

    ReadSlot(String what) {
        this.what = what;
    }

    /**
     * Keeps {@code b}, which this slot now owns (consumed): released here if the read already
     * ended, or when {@link #close()} comes before {@link #take()}.
     */
    synchronized void fill(ByteBuf b) {
        if (closed) {
            b.release();
            return;
        }
        if (buf != null) {
            buf.release();
        }
        buf = b;
    }

    /** The filled buffer, now the caller's to release; fails if the read was closed first. */
    synchronized ByteBuf take() {
        ByteBuf b = buf;
        buf = null;
        closed = true;
        if (b == null) {
            throw new CancellationException(what + " was cancelled");
        }
        return b;
    }

    /** Releases the buffer unless taken; a later {@link #fill} releases its buffer at once. Idempotent. */
    synchronized void close() {
        closed = true;
        if (buf != null) {
            buf.release();
            buf = null;
        }
    }
}
