package dev.atlas.http;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import reactor.netty.NettyPipeline;
import reactor.netty.http.server.HttpServer;

/**
 * Answers the requests Netty's HTTP decoder refused with the service's JSON error, instead of the
 * empty-bodied answer reactor-netty would send: a request line over
 * {@link ServerOptions#maxRequestLineBytes()} gets 414, headers over
 * {@link ServerOptions#maxHeaderBytes()} get 431, any other request head the decoder cannot parse
 * 400. The
 * connection is closed after the answer (the decoder discards the rest of what the client sends).
 *
 * <p>It sits right after the HTTP codec, before reactor-netty's own handler, so such a request never
 * reaches the routes: it has no route, and is counted apart ({@code atlas.http.refused}, tagged
 * with the status). Raising the decoder's limits and checking
 * lengths in the routes would only move the limit: past the decoder's own, reactor-netty answers
 * alone again, and meanwhile every connection may hold the raised amount.
 */
@ChannelHandler.Sharable
final class DecoderFailures extends ChannelInboundHandlerAdapter {
    /** Name of this handler in the channel pipeline. */
    static final String NAME = "atlas.decoderFailures";

    private final ServerOptions options;
    private final ServerMetrics metrics;

    DecoderFailures(ServerOptions options, ServerMetrics metrics) {
        this.options = options;
        this.metrics = metrics;
    }

    /**
     * {@code server} with the decoder limits of {@code options} and this handler after the HTTP codec
     * of every connection, counting what it refuses in {@code metrics}.
     */
    static HttpServer configure(HttpServer server, ServerOptions options, ServerMetrics metrics) {
        DecoderFailures handler = new DecoderFailures(options, metrics);
        return server.httpRequestDecoder(spec -> spec.maxInitialLineLength(options.maxRequestLineBytes())
                        .maxHeaderSize(options.maxHeaderBytes()))
                .doOnChannelInit((observer, channel, remote) -> {
                    if (channel.pipeline().get(NettyPipeline.HttpCodec) != null && channel.pipeline().get(NAME) == null) {
                        channel.pipeline().addAfter(NettyPipeline.HttpCodec, NAME, handler);
                    }
                });
    }

    /** Consumes (releases) {@code msg} when it is a request head the decoder failed; passes anything else on. */
    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        // Only a request head the decoder refused: a body that fails to decode belongs to a request
        // the routes already answer, and reactor-netty's handling of it stays as it is.
        if (!(msg instanceof HttpRequest r) || !r.decoderResult().isFailure()) {
            ctx.fireChannelRead(msg);
            return;
        }
        DecoderResult result = r.decoderResult();
        ReferenceCountUtil.release(msg);
        if (!ctx.channel().isActive()) {
            return;
        }
        Throwable cause = result.cause();
        HttpResponseStatus status;
        String message;
        if (cause instanceof TooLongHttpLineException) {
            status = HttpResponseStatus.REQUEST_URI_TOO_LONG;
            message = "the request line is longer than " + options.maxRequestLineBytes() + " bytes";
        } else if (cause instanceof TooLongHttpHeaderException) {
            status = HttpResponseStatus.REQUEST_HEADER_FIELDS_TOO_LARGE;
            message = "the request headers are larger than " + options.maxHeaderBytes() + " bytes";
        } else {
            status = HttpResponseStatus.BAD_REQUEST;
            message = "malformed HTTP request: "
                    + (cause == null || cause.getMessage() == null ? "cannot be parsed" : cause.getMessage());
        }
        metrics.refused(status.code());
        byte[] body = Json.error(message, null);
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status, Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json")
                .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
    }
}
