package dev.atlas.http;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.util.concurrent.atomic.AtomicBoolean;
import reactor.core.publisher.Flux;

/**
 * What a route answers, before any server writes it: a status, headers, and a body that is either
 * heap bytes (JSON, PNG, text: built whole, small by the routes' limits), a stream of Netty buffers
 * (array data, read piece by piece as the transport asks for it), or nothing. {@link RouteExchange}
 * adapters write it; the routes never touch a server's response object, so reactor-netty and
 * WebFlux serve the same answers from one implementation.
 *
 * <p>Buffer ownership: every {@link ByteBuf} {@link #stream()} emits is owned by its subscriber (the
 * transport), which releases it once written or discarded. A stream may hold its first buffer from
 * before the reply was made (see {@link StreamedBody}); {@link #release()} frees it when the stream
 * was never subscribed, and is harmless after a subscription.
 */
public final class Reply {
    private final HttpResponseStatus status;
    private final HttpHeaders headers;
    private final byte[] bytes;
    private final Flux<ByteBuf> stream;
    private final Runnable release;
    private final AtomicBoolean released = new AtomicBoolean();

    private Reply(HttpResponseStatus status, HttpHeaders headers, byte[] bytes, Flux<ByteBuf> stream, Runnable release) {
        this.status = status;
        this.headers = headers;
        this.bytes = bytes;
        this.stream = stream;
        this.release = release;
    }

    /** A reply whose body is {@code body} (heap bytes), of type {@code contentType}. */
    static Reply bytes(HttpResponseStatus status, String contentType, byte[] body) {
        HttpHeaders h = new DefaultHttpHeaders();
        h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
        return new Reply(status, h, body, null, null);
    }

    /** A reply without a body (headers set by the caller on {@link #headers()}). */
    static Reply empty(HttpResponseStatus status) {
        return new Reply(status, new DefaultHttpHeaders(), null, null, null);
    }

    /**
     * A streamed reply: {@code headers} carry its {@code Content-Length}; {@code release} frees what
     * {@code stream} holds before it is subscribed.
     */
    static Reply stream(HttpResponseStatus status, HttpHeaders headers, Flux<ByteBuf> stream, Runnable release) {
        return new Reply(status, headers, null, stream, release);
    }

    /** The status. */
    public HttpResponseStatus status() {
        return status;
    }

    /** The response headers (mutable until the reply is written). */
    public HttpHeaders headers() {
        return headers;
    }

    /** The body when it is heap bytes, else null. */
    public byte[] bytes() {
        return bytes;
    }

    /**
     * The body when it is streamed, else null: subscribe at most once; each buffer it emits is the
     * subscriber's to release (see the class comment). It requests the next engine read only on
     * demand (and, on Netty, once the channel is writable).
     */
    public Flux<ByteBuf> stream() {
        return stream;
    }

    /** Whether the reply has a body (bytes or stream). */
    public boolean hasBody() {
        return bytes != null || stream != null;
    }

    /** Frees what a streamed body holds if it was never subscribed; idempotent, harmless after a subscription. */
    public void release() {
        if (release != null && released.compareAndSet(false, true)) {
            release.run();
        }
    }
}
