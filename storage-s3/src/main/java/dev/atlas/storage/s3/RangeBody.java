package dev.atlas.storage.s3;

import dev.atlas.error.ObjectChangedException;
import dev.atlas.error.RangeNotSatisfiableException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.async.SdkPublisher;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;

/**
 * Streams the body of one range GET straight into a pooled direct buffer of the requested length
 * (no intermediate copy or aggregation). The buffer stays here until {@link #take()} hands it to
 * the caller; {@link #close()} releases it otherwise. Writes and release share this object's
 * monitor, so a late body chunk can never land in a buffer already returned to the pool.
 *
 * <p>Where the response starts is read from its {@code Content-Range}; a server that ignores the
 * range and sends the whole object (status 200) is handled by copying only the requested window.
 */
final class RangeBody implements AsyncResponseTransformer<GetObjectResponse, GetObjectResponse> {
    private final ByteBufAllocator alloc;
    private final String key;
    private final long offset;
    private final int length;
    private final S3Counters counters;
    /** The version ({@link S3Storage#version} spelling) the read names, or null. */
    private final String expected;

    private CompletableFuture<GetObjectResponse> future;
    private GetObjectResponse response;
    private long bodyStart; // absolute object offset of the first body byte
    private long received; // body bytes seen in this attempt
    private long total; // object size from Content-Range, or -1
    private ByteBuf buf; // guarded by this
    private boolean closed; // guarded by this

    RangeBody(ByteBufAllocator alloc, String key, long offset, int length, S3Counters counters) {
        this(alloc, key, offset, length, counters, null);
    }

    /**
     * @param expected the version the read names (sent as {@code If-Match}), or null. A response of
     *     another version fails with {@link ObjectChangedException} whatever its status: a server
     *     may ignore the precondition or clamp the range to a newer, shorter object first.
     */
    RangeBody(ByteBufAllocator alloc, String key, long offset, int length, S3Counters counters, String expected) {
        this.expected = expected;
        this.alloc = alloc;
        this.key = key;
        this.offset = offset;
        this.length = length;
        this.counters = counters;
    }

    @Override
    public CompletableFuture<GetObjectResponse> prepare() {
        synchronized (this) {
            if (buf != null) {
                buf.release();
                buf = null;
            }
        }
        future = new CompletableFuture<>();
        return future;
    }

    @Override
    public void onResponse(GetObjectResponse r) {
        this.response = r;
        this.received = 0;
        this.bodyStart = startOf(r.contentRange());
        this.total = totalOf(r.contentRange());
        if (total < 0 && r.contentRange() == null && r.contentLength() != null) {
            total = r.contentLength(); // the whole object came back
        }
        synchronized (this) {
            if (buf != null) { // a second response without prepare(): start over
                buf.release();
                buf = null;
            }
            if (!closed && !pastEnd()) {
                buf = alloc.directBuffer(length, length);
            }
        }
    }

    private boolean pastEnd() {
        return total >= 0 && offset + length > total;
    }

    /** First byte position of a {@code Content-Range: bytes a-b/n}, or 0 when absent (a whole-object body). */
    static long startOf(String contentRange) {
        if (contentRange == null || !contentRange.startsWith("bytes ")) {
            return 0;
        }
        int dash = contentRange.indexOf('-', 6);
        if (dash < 0) {
            return 0;
        }
        try {
            return Long.parseLong(contentRange.substring(6, dash).trim());
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** Total object size of a {@code Content-Range: bytes a-b/n} (or {@code bytes * /n}), or -1. */
    static long totalOf(String contentRange) {
        if (contentRange == null) {
            return -1;
        }
        int slash = contentRange.lastIndexOf('/');
        if (slash < 0) {
            return -1;
        }
        try {
            return Long.parseLong(contentRange.substring(slash + 1).trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public void onStream(SdkPublisher<ByteBuffer> publisher) {
        CompletableFuture<GetObjectResponse> f = future;
        publisher.subscribe(new Subscriber<ByteBuffer>() {
            @Override
            public void onSubscribe(Subscription s) {
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(ByteBuffer bb) {
                int n = bb.remaining();
                counters.bytesIn(n);
                write(bb);
            }

            @Override
            public void onError(Throwable t) {
                f.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
                String got = response == null ? null : response.eTag();
                if (expected != null && got != null && !expected.equals(S3Storage.version(got))) {
                    f.completeExceptionally(new ObjectChangedException(key, "object '" + key + "' is version "
                            + S3Storage.version(got) + ", not " + expected + " (the server answered a read that named "
                            + "the old version)"));
                    return;
                }
                if (pastEnd()) {
                    f.completeExceptionally(new RangeNotSatisfiableException(key, offset, length, total));
                    return;
                }
                synchronized (RangeBody.this) {
                    if (buf != null && buf.writerIndex() != length) {
                        f.completeExceptionally(new ShortBodyException("GET of '" + key + "' [" + offset + ", "
                                + (offset + length) + ") ended after " + buf.writerIndex() + " of " + length + " bytes"));
                        return;
                    }
                }
                f.complete(response);
            }
        });
    }

    private void write(ByteBuffer bb) {
        long from = bodyStart + received;
        int n = bb.remaining();
        received += n;
        // Intersect [from, from + n) with the window [offset, offset + length).
        long lo = Math.max(from, offset);
        long hi = Math.min(from + n, offset + length);
        if (lo >= hi) {
            return;
        }
        synchronized (this) {
            if (buf == null) {
                return;
            }
            int at = (int) (lo - offset);
            if (at != buf.writerIndex()) {
                return; // a gap or overlap: the length check at the end reports it
            }
            ByteBuffer part = bb.duplicate();
            part.position(bb.position() + (int) (lo - from));
            part.limit(bb.position() + (int) (hi - from));
            buf.writeBytes(part);
        }
    }

    @Override
    public void exceptionOccurred(Throwable error) {
        CompletableFuture<GetObjectResponse> f = future;
        if (f != null) {
            f.completeExceptionally(error);
        }
    }

    /** The filled buffer, now the caller's. */
    synchronized ByteBuf take() {
        ByteBuf b = buf;
        buf = null;
        closed = true;
        if (b == null) {
            throw new CancellationException("GET of '" + key + "' was cancelled");
        }
        return b;
    }

    /** Releases the buffer unless taken; later body chunks are ignored. Idempotent. */
    synchronized void close() {
        closed = true;
        if (buf != null) {
            buf.release();
            buf = null;
        }
    }

    /** A body shorter than its headers promised (a connection cut mid-body): retryable. */
    static final class ShortBodyException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        ShortBodyException(String message) {
            super(message);
        }
    }
}
