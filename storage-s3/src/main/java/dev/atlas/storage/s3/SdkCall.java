package dev.atlas.storage.s3;

import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.CancellationException;
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

    /**
     * The subscription. Reactor's {@code Operators.MonoSubscriber} is not safe for resources: a
     * {@code cancel()} racing its {@code complete(v)} can discard the value twice (double release)
     * or not at all (leak), as CI saw. Here one atomic slot decides: the value is delivered or
     * released exactly once, whichever of completion, request and cancellation comes last.
     */
    private static final class Sub<X, T> implements org.reactivestreams.Subscription {
        private static final Object EMPTY = new Object();
        private static final Object CANCELLED = new Object();
        private static final Object DONE = new Object();

        private final CoreSubscriber<? super T> actual;
        private final Function<X, T> take;
        private final Runnable cleanup;
        private final java.util.concurrent.atomic.AtomicBoolean cleaned = new java.util.concurrent.atomic.AtomicBoolean();
        private final java.util.concurrent.atomic.AtomicReference<Object> slot = new java.util.concurrent.atomic.AtomicReference<>(EMPTY);
        private volatile boolean requested;
        volatile CompletableFuture<X> future;

        Sub(CoreSubscriber<? super T> actual, Function<X, T> take, Runnable cleanup) {
            this.actual = actual;
            this.take = take;
            this.cleanup = cleanup;
        }

        boolean isCancelled() {
            return slot.get() == CANCELLED;
        }

        void cleanupOnce() {
            if (cleaned.compareAndSet(false, true)) {
                cleanup.run();
            }
        }

        void done(X x, Throwable err) {
            if (err != null) {
                cleanupOnce();
                Throwable e = unwrap(err);
                if (slot.compareAndSet(EMPTY, DONE)) {
                    actual.onError(e);
                }
                return;
            }
            T out;
            try {
                out = take.apply(x);
            } catch (Throwable e) {
                cleanupOnce();
                if (slot.compareAndSet(EMPTY, DONE)) {
                    actual.onError(e);
                }
                return;
            }
            cleanupOnce();
            if (out == null) {
                if (slot.compareAndSet(EMPTY, DONE)) {
                    actual.onComplete();
                }
                return;
            }
            if (!slot.compareAndSet(EMPTY, out)) {
                ReferenceCountUtil.safeRelease(out); // cancelled first: the value is ours to release
                return;
            }
            tryDeliver();
        }

        @SuppressWarnings("unchecked")
        private void tryDeliver() {
            if (!requested) {
                return;
            }
            Object v = slot.get();
            if (v == EMPTY || v == CANCELLED || v == DONE) {
                return;
            }
            if (slot.compareAndSet(v, DONE)) {
                actual.onNext((T) v);
                actual.onComplete();
            }
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                cancel();
                actual.onError(new IllegalArgumentException("request must be positive, was " + n));
                return;
            }
            requested = true;
            tryDeliver();
        }

        @Override
        public void cancel() {
            Object prev = slot.getAndSet(CANCELLED);
            if (prev == DONE) {
                slot.set(DONE); // already terminated: nothing to cancel
                return;
            }
            if (prev != EMPTY && prev != CANCELLED) {
                ReferenceCountUtil.safeRelease(prev); // completed but never requested
            }
            CompletableFuture<X> f = future;
            if (f != null) {
                f.cancel(true);
            }
            cleanupOnce();
        }
    }
}
