package dev.atlas.http;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpMethod;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * One HTTP request and its response as {@link AtlasRoutes#serve} sees them, whatever server
 * carries them: the transport-neutral side of the routes. Two adapters implement it: reactor-netty's
 * ({@link AtlasRoutes#handle}) and Spring WebFlux's (in {@code atlas-spring-boot-starter}); the
 * routes compute a {@link Reply} and the adapter writes it.
 *
 * <p>Threading: every method is called on the server's event loop or an engine scheduler and must
 * not block.
 */
public interface RouteExchange {
    /** The request method (any token a client sent, not only those HTTP defines). */
    HttpMethod method();

    /**
     * The request target as sent: the raw (still percent-encoded) path relative to the server's
     * root, with its query string if any. The routes strip {@link ServerOptions#basePath()} from it.
     */
    String uri();

    /** The value of request header {@code name} (the first one when repeated), or null. */
    String header(CharSequence name);

    /**
     * The request body, each chunk a heap copy the routes own (the adapter releases its own
     * buffers). Subscribed at most once, by routes that read a body.
     */
    Flux<byte[]> receive();

    /**
     * The network channel under this exchange when the server is Netty-based, else null. Streamed
     * replies use it to read their next piece only once the channel is writable again (so a slow
     * client holds at most one piece plus Netty's outbound buffer); without a channel they rely on
     * the server's demand alone.
     */
    Channel channel();

    /**
     * Writes {@code reply}: its status, its headers, then its body, if the request method wants one.
     * The adapter subscribes to {@link Reply#body()} at most once and releases every buffer it
     * receives from it once written (or on cancel); the routes call {@link Reply#release()} after
     * the returned Mono ends, which frees what a body never subscribed still holds.
     *
     * @return completes once the reply is written; fails when writing fails (a client gone, or the
     *     body failing after the status line went out)
     */
    Mono<Void> send(Reply reply);

    /** Whether the status line and headers have gone out (a failure can then only cut the response). */
    boolean committed();

    /**
     * Ends a response whose headers went out and whose body then failed with {@code failure}: by
     * closing its connection short of its {@code Content-Length}, so the client sees a cut, not a
     * complete body. Called only after {@link #committed()} said true.
     *
     * @return completes once the cut is made (the failure is logged and counted already), or fails
     *     with {@code failure} when the transport cannot close the connection itself and must be
     *     told by the error
     */
    Mono<Void> abort(Throwable failure);
}
