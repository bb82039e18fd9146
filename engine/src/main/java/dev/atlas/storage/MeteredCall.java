package dev.atlas.storage;

import dev.atlas.storage.StorageMeters.Outcome;
import dev.atlas.storage.StorageMeters.Row;
import io.netty.buffer.ByteBuf;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

/**
 * One metered storage call: passes every signal through unchanged (values are never held, so
 * buffer ownership is the source's contract) and records the call's outcome, time since
 * subscription and bytes exactly once, at its first terminal signal or cancellation. A Mono whose
 * value was delivered counts as {@link Outcome#OK} even when the subscriber cancels afterwards.
 */
final class MeteredCall<T> implements CoreSubscriber<T>, Subscription {
    /** How bytes are read from the values: none. */
    static final int NO_BYTES = 0;
    /** A {@link ByteBuf}'s readable bytes. */
    static final int BUFFER_BYTES = 1;
    /** A {@link StoredObject}'s content bytes. */
    static final int OBJECT_BYTES = 2;
    /** An {@link ObjectInfo}'s size (the object written). */
    static final int INFO_SIZE = 3;

    @SuppressWarnings("rawtypes")
    private static final AtomicIntegerFieldUpdater<MeteredCall> DONE =
            AtomicIntegerFieldUpdater.newUpdater(MeteredCall.class, "done");

    private final CoreSubscriber<? super T> actual;
    private final Row row;
    private final int bytesOf;
    private final boolean mono;
    private final long start;
    private Subscription upstream;
    // Written by onNext; read at the end on the terminating thread (serial with onNext by the
    // Reactive Streams rules) or, for a cancel racing a value, possibly a step behind.
    private long bytes;
    private boolean delivered;
    private volatile int done;

    private MeteredCall(CoreSubscriber<? super T> actual, Row row, int bytesOf, boolean mono) {
        this.actual = actual;
        this.row = row;
        this.bytesOf = bytesOf;
        this.mono = mono;
        this.start = System.nanoTime();
    }

    @Override
    public void onSubscribe(Subscription s) {
        upstream = s;
        actual.onSubscribe(this);
    }

    @Override
    public void onNext(T t) {
        switch (bytesOf) {
            case BUFFER_BYTES -> bytes += ((ByteBuf) t).readableBytes();
            case OBJECT_BYTES -> bytes += ((StoredObject) t).content().readableBytes();
            case INFO_SIZE -> bytes += ((ObjectInfo) t).size();
            default -> {
            }
        }
        delivered = true;
        actual.onNext(t);
    }

    @Override
    public void onError(Throwable t) {
        finish(Outcome.of(t));
        actual.onError(t);
    }

    @Override
    public void onComplete() {
        finish(Outcome.OK);
        actual.onComplete();
    }

    @Override
    public void request(long n) {
        upstream.request(n);
    }

    @Override
    public void cancel() {
        finish(mono && delivered ? Outcome.OK : Outcome.CANCELLED);
        upstream.cancel();
    }

    @Override
    public Context currentContext() {
        return actual.currentContext();
    }

    private void finish(Outcome outcome) {
        if (done == 0 && DONE.compareAndSet(this, 0, 1)) {
            row.record(outcome, System.nanoTime() - start, bytes);
        }
    }

    /** A metered {@link Mono}. */
    static final class OfMono<T> extends Mono<T> {
        private final Mono<T> source;
        private final Row row;
        private final int bytesOf;

        OfMono(Mono<T> source, Row row, int bytesOf) {
            this.source = source;
            this.row = row;
            this.bytesOf = bytesOf;
        }

        @Override
        public void subscribe(CoreSubscriber<? super T> actual) {
            source.subscribe(new MeteredCall<>(actual, row, bytesOf, true));
        }
    }

    /** A metered {@link Flux} (listings: no bytes). */
    static final class OfFlux<T> extends Flux<T> {
        private final Flux<T> source;
        private final Row row;

        OfFlux(Flux<T> source, Row row) {
            this.source = source;
            this.row = row;
        }

        @Override
        public void subscribe(CoreSubscriber<? super T> actual) {
            source.subscribe(new MeteredCall<>(actual, row, NO_BYTES, false));
        }
    }
}
