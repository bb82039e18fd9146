package dev.atlas.http;

import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpMethod;
import java.util.concurrent.atomic.AtomicReference;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.Connection;
import reactor.netty.http.server.HttpServerRequest;
import reactor.netty.http.server.HttpServerResponse;

/** A reactor-netty request and response as a {@link RouteExchange}. */
final class NettyExchange implements RouteExchange {
    private final HttpServerRequest req;
    private final HttpServerResponse res;

    NettyExchange(HttpServerRequest req, HttpServerResponse res) {
        this.req = req;
        this.res = res;
    }

    @Override
    public HttpMethod method() {
        return req.method();
    }

    @Override
    public String uri() {
        return req.uri();
    }

    @Override
    public String header(CharSequence name) {
        return req.requestHeaders().get(name);
    }

    @Override
    public Flux<byte[]> receive() {
        // asByteArray copies each received chunk to the heap and releases it (reactor-netty owns the buffers).
        return req.receive().asByteArray();
    }

    @Override
    public Channel channel() {
        AtomicReference<Channel> ch = new AtomicReference<>();
        res.withConnection(c -> ch.set(c.channel()));
        return ch.get();
    }

    /**
     * Status and headers onto the response, then the body: heap bytes through
     * {@code sendByteArray} (reactor-netty sets their {@code Content-Length}), a stream through
     * {@code send}, which releases every buffer once written or on cancel.
     */
    @Override
    public Mono<Void> send(Reply reply) {
        res.status(reply.status());
        res.responseHeaders().setAll(reply.headers());
        if (reply.bytes() != null) {
            // Set here, not left to reactor-netty: a HEAD (no body sent) must carry the length a
            // GET would, not "Transfer-Encoding: chunked".
            res.header(io.netty.handler.codec.http.HttpHeaderNames.CONTENT_LENGTH, Integer.toString(reply.bytes().length));
            return res.sendByteArray(Mono.just(reply.bytes())).then();
        }
        if (reply.stream() != null) {
            return res.send(reply.stream()).then();
        }
        return res.send().then();
    }

    @Override
    public boolean committed() {
        return res.hasSentHeaders();
    }

    @Override
    public Mono<Void> abort(Throwable failure) {
        res.withConnection(Connection::dispose);
        return Mono.empty();
    }

}
