package dev.atlas.storage.s3;

import dev.atlas.internal.OneShotSubscription;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.function.Function;
import java.util.function.Supplier;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;

/**
 * One SDK call as a Mono: the future is created at subscription (so nothing is sent before) and
 * cancelled when the subscriber cancels (which aborts the HTTP request). On success {@code take}
 * turns the SDK's result into the emitted value (e.g. claims the buffer a transformer filled); a
 * value that meets a cancellation is released, never dropped; {@code cleanup} runs exactly once
 * after the call ends or is cancelled (it releases whatever {@code take} did not claim).
 * {@code Mono.fromFuture} would drop a value that races with a cancel.
 */
final class SdkCall<X, T> extends Mono<T> {
    private final Supplier<CompletableFuture<X>> call;
    private final Function<X, T> take;
    private final Runnable cleanup;

    private SdkCall(Supplier<CompletableFuture<X>> call, Function<X, T> take, Runnable cleanup) {
        this.call = call;
        this.take = take;
        this.cleanup = cleanup;
    }

    static <X, T> Mono<T> of(Supplier<CompletableFuture<X>> call, Function<X, T> take, Runnable cleanup) {
        return new SdkCall<>(call, take, cleanup);
    }

    static <X> Mono<X> of(Supplier<CompletableFuture<X>> call) {
        return new SdkCall<>(call, x -> x, () -> { });
    }

    @Override
    public void subscribe(CoreSubscriber<? super T> actual) {
        Sub<X, T> s = new Sub<>(actual, take, cleanup);
        actual.onSubscribe(s);
        if (s.isCancelled()) {
            s.cleanupOnce();
            return;
        }
        CompletableFuture<X> f;
        try {
            f = call.get();
        } catch (Throwable e) {
            s.done(null, e);
            return;
        }
        s.future = f;
        if (s.isCancelled()) {
            f.cancel(true);
        }
        f.whenComplete(s::done);
    }

    static Throwable unwrap(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    /** Delivers or releases the taken value exactly once (see {@link OneShotSubscription}). */
    private static final class Sub<X, T> extends OneShotSubscription<T> {
        private final Function<X, T> take;
        private final Runnable cleanup;
        private final java.util.concurrent.atomic.AtomicBoolean cleaned = new java.util.concurrent.atomic.AtomicBoolean();
        volatile CompletableFuture<X> future;

        Sub(CoreSubscriber<? super T> actual, Function<X, T> take, Runnable cleanup) {
            super(actual);
            this.take = take;
            this.cleanup = cleanup;
        }

        void cleanupOnce() {
            if (cleaned.compareAndSet(false, true)) {
                cleanup.run();
            }
        }

        void done(X x, Throwable err) {
            if (err != null) {
                cleanupOnce();
                fail(unwrap(err)); // a no-op after a cancel
                return;
            }
            T out;
            try {
                out = take.apply(x);
            } catch (Throwable e) {
                cleanupOnce();
                fail(e);
                return;
            }
            cleanupOnce();
            if (out == null) {
                completeEmpty();
            } else {
                deliver(out); // or, cancelled, released
            }
        }

        @Override
        protected void onCancel() {
            CompletableFuture<X> f = future;
            if (f != null) {
                f.cancel(true);
            }
            cleanupOnce();
        }
    }
}
