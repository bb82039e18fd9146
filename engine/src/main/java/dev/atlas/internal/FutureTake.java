package dev.atlas.internal;

import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;

/**
 * Bridges a shared {@link CompletableFuture} (a cache's in-flight load) to a Mono of an owned
 * value: when the future completes, {@code take} turns its result into a value the subscriber owns
 * (a retained slice, a leased buffer). A subscriber that cancels never cancels the future (other
 * readers may wait on it); if the cancel comes first, {@code take} still runs on completion and its
 * value is released, so whatever {@code take} claims (e.g. a pre-leased buffer only this reader may
 * collect) is never stranded.
 */
public final class FutureTake<X, T> extends Mono<T> {
    private final CompletableFuture<X> future;
    private final Function<X, T> take;

    private FutureTake(CompletableFuture<X> future, Function<X, T> take) {
        this.future = future;
        this.take = take;
    }

    /**
     * @param take runs once, on the thread that completes the future (or the subscriber's, if it
     *     already completed); its result is owned by the subscriber, or released on a cancel. A null
     *     result completes the Mono empty; a throw fails it
     */
    public static <X, T> Mono<T> of(CompletableFuture<X> future, Function<X, T> take) {
        return new FutureTake<>(future, take);
    }

    @Override
    public void subscribe(CoreSubscriber<? super T> actual) {
        Sub<X, T> s = new Sub<>(actual, take);
        actual.onSubscribe(s);
        future.whenComplete(s::done);
    }

    private static final class Sub<X, T> extends OneShotSubscription<T> {
        private final Function<X, T> take;

        Sub(CoreSubscriber<? super T> actual, Function<X, T> take) {
            super(actual);
            this.take = take;
        }

        void done(X x, Throwable err) {
            if (err != null) {
                fail(err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err);
                return;
            }
            T out;
            try {
                out = take.apply(x); // runs even after a cancel: what it claims is released below
            } catch (Throwable e) {
                fail(e);
                return;
            }
            if (out == null) {
                completeEmpty();
            } else {
                deliver(out); // or, cancelled, released
            }
        }
    }
}
