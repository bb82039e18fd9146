package dev.atlas.http;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A streamed binary {@link Reply} whose status line waits for its first piece. Once the status and
 * {@code Content-Length} are on the wire nothing can change them, so the first piece is read
 * before they are sent: a read that fails at once (not found, a bad region the engine refuses,
 * damaged data, a store that changed under the read) fails the handler with nothing sent, and the
 * server answers it with its status and a JSON body like any other error. A failure after the
 * first piece can only cut the stream: the connection closes short of {@code Content-Length}, the
 * failure is logged in one line (no stack trace per request) and counted
 * ({@code atlas.http.stream.cut}).
 *
 * <p>Buffer ownership, the one protocol of this class: the first piece's buffer is held here from
 * the moment it arrives until the transport subscribes to the reply's body and takes it (then the
 * transport releases it once written, or on cancel through the discard hook reactor-netty installs
 * for the buffers it requests); whatever ends the response before that (an error, a cancel, a
 * client already gone so that the body is never subscribed, a HEAD request) releases the held
 * buffer exactly once ({@link Reply#release()}, or the body's own end). The later pieces go
 * straight to the transport. Nothing here installs a ByteBuf discard hook: reactor-netty's would
 * then release a discarded buffer a second time.
 */
final class StreamedBody {
    private static final Logger LOG = LoggerFactory.getLogger(StreamedBody.class);

    private StreamedBody() {
    }

    /**
     * Reads {@code first}, then makes the reply: status 200, the headers {@code headers} sets, and
     * the body {@code first} followed by {@code rest}.
     *
     * @param first the first piece; the buffer it emits is owned by this method, then by the reply
     *     (handed to the transport by its stream, or released by {@link Reply#release()})
     * @param rest the later pieces, subscribed only once the transport subscribes to the body, after
     *     the status line is committed; every buffer it emits is the transport's to release
     * @param headers sets the success headers (called once the first piece is in hand)
     * @return the reply; an error before the first piece means nothing is answered yet (the routes
     *     answer the error), an error of the body after it means the stream was cut
     */
    static Mono<Reply> reply(AtlasRoutes.Call call, ServerMetrics metrics, Mono<ByteBuf> first, Flux<ByteBuf> rest,
            Consumer<HttpHeaders> headers) {
        return first.map(buf -> {
            Held held = new Held();
            held.offer(buf);
            HttpHeaders h = new DefaultHttpHeaders();
            headers.accept(h);
            AtomicLong sent = new AtomicLong();
            Flux<ByteBuf> body = Flux.concat(Mono.fromSupplier(held::take), rest)
                    .doOnNext(b -> {
                        sent.addAndGet(b.readableBytes());
                        metrics.sent(b.readableBytes());
                    })
                    .doOnError(e -> {
                        metrics.cut();
                        if (reactor.core.Exceptions.unwrap(e) instanceof dev.atlas.error.CorruptFileException) {
                            metrics.corruptRead(call.route(), "cut");
                        }
                        LOG.warn("{} {}: response cut after {} of {} bytes: {}", call.exchange().method(),
                                call.exchange().uri(), sent.get(), h.get(HttpHeaderNames.CONTENT_LENGTH), e.toString());
                    })
                    .doFinally(signal -> held.close());
            return Reply.stream(HttpResponseStatus.OK, h, body, held::close);
        });
    }

    /**
     * The slot holding the first piece until {@code send} takes it. States: empty, holding a
     * buffer, closed (taken or ended). Offer, take and close race safely: a buffer offered after
     * the close is released by the offer; one held at the close is released by the close.
     */
    private static final class Held {
        private static final Object CLOSED = new Object();
        private final AtomicReference<Object> slot = new AtomicReference<>();

        /** Holds {@code b} (owned from now on); false, having released it, if the slot was closed. */
        boolean offer(ByteBuf b) {
            if (slot.compareAndSet(null, b)) {
                return true;
            }
            ReferenceCountUtil.safeRelease(b);
            return false;
        }

        /** The held buffer, now owned by the caller, or null; closes the slot. */
        ByteBuf take() {
            Object o = slot.getAndSet(CLOSED);
            return o instanceof ByteBuf b ? b : null;
        }

        /** Closes the slot, releasing a buffer still held. Idempotent. */
        void close() {
            Object o = slot.getAndSet(CLOSED);
            if (o instanceof ByteBuf b) {
                ReferenceCountUtil.safeRelease(b);
            }
        }
    }
}
