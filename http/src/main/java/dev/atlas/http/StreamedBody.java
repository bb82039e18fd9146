package dev.atlas.http;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.netty.http.server.HttpServerResponse;

/**
 * A streamed binary response whose status line waits for its first piece. Once the status and
 * {@code Content-Length} are on the wire nothing can change them, so the first piece is read
 * before they are sent: a read that fails at once (not found, a bad region the engine refuses,
 * damaged data, a store that changed under the read) fails the handler with nothing sent, and the
 * server answers it with its status and a JSON body like any other error. A failure after the
 * first piece can only cut the stream: the connection closes short of {@code Content-Length}, the
 * failure is logged in one line (no stack trace per request) and counted
 * ({@code atlas.http.stream.cut}).
 *
 * <p>Buffer ownership, the one protocol of this class: the first piece's buffer is held here from
 * the moment it arrives until reactor-netty's {@code send} takes it (then {@code send} releases it
 * once written, or on cancel through the discard hook it installs for the buffers it requests);
 * whatever ends the response before that (an error, a cancel, a client already gone so that
 * {@code send} never subscribes) releases the held buffer exactly once. The later pieces go
 * straight to {@code send}. Nothing here installs a ByteBuf discard hook: reactor-netty's would
 * then release a discarded buffer a second time.
 */
final class StreamedBody {
    private static final Logger LOG = LoggerFactory.getLogger(StreamedBody.class);

    private StreamedBody() {
    }

    /**
     * Reads {@code first}, then sends status 200 with the headers {@code headers} sets and the body
     * {@code first} followed by {@code rest}.
     *
     * @param first the first piece; the buffer it emits is owned by this method (sent or released)
     * @param rest the later pieces, subscribed only once the status line is committed; every buffer
     *     it emits is handed to reactor-netty's {@code send}, which releases it
     * @param headers sets the success headers on the response (called once the first piece is in hand)
     * @return completes once the body is written; an error before the first piece leaves the
     *     response untouched (the caller answers it), an error after it means the stream was cut
     */
    static Mono<Void> send(HttpServerResponse res, AtlasRoutes.Call call, ServerMetrics metrics,
            Mono<ByteBuf> first, Flux<ByteBuf> rest, Consumer<HttpServerResponse> headers) {
        return Mono.defer(() -> {
            Held held = new Held();
            AtomicLong sent = new AtomicLong();
            return first
                    .flatMap(buf -> {
                        if (!held.offer(buf)) {
                            return Mono.<Void>empty();           // already ended: offer released it
                        }
                        headers.accept(res);
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
                                    LOG.warn("{} {}: response cut after {} of {} bytes: {}", call.request().method(),
                                            call.request().uri(), sent.get(),
                                            res.responseHeaders().get("Content-Length"), e.toString());
                                });
                        return res.status(HttpResponseStatus.OK).send(body).then();
                    })
                    .doFinally(signal -> held.close());
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
