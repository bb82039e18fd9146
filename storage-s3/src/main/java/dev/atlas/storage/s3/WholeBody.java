package dev.atlas.storage.s3;

import dev.atlas.error.InvalidArgumentException;
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
 * Streams the body of one whole-object GET (a conditional one of {@link S3Storage#getIfChanged},
 * ranged from byte 0 to one past the size limit) into a pooled direct buffer sized by the object
 * size the response reports ({@code Content-Range}, else {@code Content-Length}). A response above
 * {@code maxBytes} is refused before any body byte is accepted: the body subscription is cancelled,
 * which aborts the request, and the call fails with {@link InvalidArgumentException}. The buffer
 * stays here until {@link #take()} hands it to the caller; {@link #close()} releases it otherwise;
 * both share this object's monitor with the writes, as in {@link RangeBody}.
 */
final class WholeBody implements AsyncResponseTransformer<GetObjectResponse, GetObjectResponse> {
    private final ByteBufAllocator alloc;
    private final String key;
    private final long maxBytes;
    private final S3Counters counters;

    private CompletableFuture<GetObjectResponse> future;
    private GetObjectResponse response;
    private long expected; // Content-Length of this attempt's response
    private RuntimeException refused; // set in onResponse when the body must not be read
    private ByteBuf buf; // guarded by this
    private boolean closed; // guarded by this

    WholeBody(ByteBufAllocator alloc, String key, long maxBytes, S3Counters counters) {
        this.alloc = alloc;
        this.key = key;
        this.maxBytes = maxBytes;
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
        this.refused = null;
        // The request names a range from 0 past the limit: a 206 carries the object's size after the
        // slash of its Content-Range; a server that ignores the range answers 200 with the whole object.
        long total = RangeBody.totalOf(r.contentRange());
        Long len = r.contentLength();
        this.expected = total >= 0 ? total : len == null ? -1 : len;
        if (expected < 0) {
            refused = new RangeBody.ShortBodyException("GET of '" + key + "' answered without a Content-Length");
        } else if (expected > maxBytes) {
            refused = new InvalidArgumentException("object '" + key + "' of " + expected + " bytes is above the limit of "
                    + maxBytes + " bytes");
        }
        synchronized (this) {
            if (buf != null) {
                buf.release();
                buf = null;
            }
            if (!closed && refused == null) {
                buf = alloc.directBuffer((int) expected, (int) expected);
            }
        }
    }

    @Override
    public void onStream(SdkPublisher<ByteBuffer> publisher) {
        CompletableFuture<GetObjectResponse> f = future;
        RuntimeException no = refused;
        publisher.subscribe(new Subscriber<ByteBuffer>() {
            @Override
            public void onSubscribe(Subscription s) {
                if (no != null) {
                    s.cancel(); // aborts the request: not one body byte is taken
                    f.completeExceptionally(no);
                    return;
                }
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(ByteBuffer bb) {
                counters.bytesIn(bb.remaining());
                write(bb);
            }

            @Override
            public void onError(Throwable t) {
                f.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
                synchronized (WholeBody.this) {
                    if (buf != null && buf.writerIndex() != expected) {
                        f.completeExceptionally(new RangeBody.ShortBodyException("GET of '" + key + "' ended after "
                                + buf.writerIndex() + " of " + expected + " bytes"));
                        return;
                    }
                }
                f.complete(response);
            }
        });
    }

    private synchronized void write(ByteBuffer bb) {
        if (buf == null) {
            return;
        }
        // More bytes than Content-Length promised cannot happen over HTTP/1.1; keep what fits and
        // let the length check in onComplete speak if it ever does.
        int n = Math.min(bb.remaining(), buf.writableBytes());
        ByteBuffer part = bb.duplicate();
        part.limit(part.position() + n);
        buf.writeBytes(part);
    }

    @Override
    public void exceptionOccurred(Throwable error) {
        CompletableFuture<GetObjectResponse> f = future;
        if (f != null) {
            f.completeExceptionally(error);
        }
    }

    /** The filled buffer, now the caller's to release. */
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
}
