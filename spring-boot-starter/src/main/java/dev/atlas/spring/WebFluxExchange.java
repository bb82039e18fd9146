package dev.atlas.spring;

import dev.atlas.http.Reply;
import dev.atlas.http.RouteExchange;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.util.ReferenceCountUtil;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.springframework.core.io.buffer.DataBuffer;
import org.springframework.core.io.buffer.DataBufferFactory;
import org.springframework.core.io.buffer.DataBufferUtils;
import org.springframework.core.io.buffer.NettyDataBufferFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.server.reactive.ServerHttpRequest;
import org.springframework.http.server.reactive.ServerHttpRequestDecorator;
import org.springframework.http.server.reactive.ServerHttpResponse;
import org.springframework.http.server.reactive.ServerHttpResponseDecorator;
import org.springframework.web.server.ServerWebExchange;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A WebFlux exchange as a {@link RouteExchange}: the routes' {@link Reply} written through
 * Spring's reactive response. On Reactor Netty (WebFlux's default server) each Netty buffer of a
 * streamed body is wrapped, not copied ({@link NettyDataBufferFactory#wrap(ByteBuf)}), Spring hands
 * it back to reactor-netty's {@code send}, which releases it once written or on cancel; the
 * connection's channel paces the stream as on a bare reactor-netty server, and a stream cut after
 * its headers closes the connection. On another server (Tomcat, Jetty) each buffer is copied into
 * the server's buffer and released at once, the stream is paced by the server's demand alone, and a
 * cut is reported to Spring as the error it is.
 */
final class WebFluxExchange implements RouteExchange {
    private final ServerWebExchange exchange;

    WebFluxExchange(ServerWebExchange exchange) {
        this.exchange = exchange;
    }

    /** The request target within the application (context path removed), raw, with its query. */
    static String uri(ServerHttpRequest r) {
        String path = r.getPath().pathWithinApplication().value();
        String query = r.getURI().getRawQuery();
        return query == null ? path : path + "?" + query;
    }

    @Override
    public HttpMethod method() {
        return HttpMethod.valueOf(exchange.getRequest().getMethod().name());
    }

    @Override
    public String uri() {
        return uri(exchange.getRequest());
    }

    @Override
    public String header(CharSequence name) {
        return exchange.getRequest().getHeaders().getFirst(name.toString());
    }

    @Override
    public Flux<byte[]> receive() {
        return exchange.getRequest().getBody()
                .map(buf -> {
                    try {
                        byte[] b = new byte[buf.readableByteCount()];
                        buf.read(b);
                        return b;
                    } finally {
                        DataBufferUtils.release(buf);
                    }
                })
                .doOnDiscard(DataBuffer.class, DataBufferUtils::release);
    }

    @Override
    public Channel channel() {
        Object req = ServerHttpRequestDecorator.getNativeRequest(exchange.getRequest());
        if (req instanceof reactor.netty.http.server.HttpServerRequest netty) {
            AtomicReference<Channel> ch = new AtomicReference<>();
            netty.withConnection(c -> ch.set(c.channel()));
            return ch.get();
        }
        return null;
    }

    @Override
    public Mono<Void> send(Reply reply) {
        ServerHttpResponse res = exchange.getResponse();
        res.setStatusCode(HttpStatusCode.valueOf(reply.status().code()));
        HttpHeaders h = res.getHeaders();
        for (String name : reply.headers().names()) {
            h.remove(name);
            for (String v : reply.headers().getAll(name)) {
                h.add(name, v);
            }
        }
        if (reply.bytes() != null) {
            h.setContentLength(reply.bytes().length);
        }
        if (!reply.hasBody() || exchange.getRequest().getMethod() == org.springframework.http.HttpMethod.HEAD) {
            // HEAD: the headers alone; the body is never subscribed (the routes release what it holds).
            return res.setComplete();
        }
        DataBufferFactory factory = res.bufferFactory();
        if (reply.bytes() != null) {
            return res.writeWith(Mono.fromSupplier(() -> factory.wrap(reply.bytes())));
        }
        // A client that leaves mid-stream cancels the body, and Spring then completes the write as
        // if nothing happened: say what happened, so the routes count it as the client's doing
        // (status "client-closed") rather than as a 200.
        AtomicBoolean cancelled = new AtomicBoolean();
        return res.writeWith(reply.stream().doOnCancel(() -> cancelled.set(true)).map(buf -> toDataBuffer(factory, buf)))
                .then(Mono.defer(() -> cancelled.get()
                        ? Mono.error(new ClosedChannelException())
                        : Mono.empty()));
    }

    /**
     * {@code buf} as the server's buffer.
     *
     * @param buf owned by this method: wrapped (the returned buffer owns it and releases it) or
     *     copied and released here
     */
    private static DataBuffer toDataBuffer(DataBufferFactory factory, ByteBuf buf) {
        if (factory instanceof NettyDataBufferFactory netty) {
            return netty.wrap(buf);
        }
        try {
            DataBuffer d = factory.allocateBuffer(buf.readableBytes());
            d.write(buf.nioBuffer());
            return d;
        } finally {
            ReferenceCountUtil.release(buf);
        }
    }

    @Override
    public boolean committed() {
        return exchange.getResponse().isCommitted();
    }

    @Override
    public Mono<Void> abort(Throwable failure) {
        Object res = ServerHttpResponseDecorator.getNativeResponse(exchange.getResponse());
        if (res instanceof reactor.netty.http.server.HttpServerResponse netty) {
            netty.withConnection(reactor.netty.Connection::dispose);
            return Mono.empty();
        }
        return Mono.error(failure);
    }
}
