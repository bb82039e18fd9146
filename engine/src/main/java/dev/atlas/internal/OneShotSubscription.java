package dev.atlas.internal;

import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.atomic.AtomicReference;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;

/**
 * The subscription of a Mono whose value may own resources (a {@code ByteBuf}, an {@code NdArray}):
 * one atomic slot decides, whatever the interleaving of completion, request and cancellation,
 * that the value is either delivered once or released once. Reactor's
 * {@code Operators.MonoSubscriber} does not: a {@code cancel()} racing its {@code complete(v)} can
 * discard the value twice (a double release) or never (a leak), both seen in CI.
 *
 * <p>Subclasses call exactly one of {@link #deliver}, {@link #completeEmpty} or {@link #fail}, and
 * may override {@link #onCancel} to stop their work.
 */
public abstract class OneShotSubscription<T> implements Subscription {
    private static final Object EMPTY = new Object();
    private static final Object CANCELLED = new Object();
    private static final Object DONE = new Object();

    protected final CoreSubscriber<? super T> actual;
    private final AtomicReference<Object> slot = new AtomicReference<>(EMPTY);
    private volatile boolean requested;

    protected OneShotSubscription(CoreSubscriber<? super T> actual) {
        this.actual = actual;
    }

    /** True once the subscriber cancelled (before this terminated). */
    public final boolean isCancelled() {
        return slot.get() == CANCELLED;
    }

    /** Hands {@code v} (owned) to the subscriber once it has requested, or releases it if cancelled. */
    protected final void deliver(T v) {
        if (!slot.compareAndSet(EMPTY, v)) {
            ReferenceCountUtil.safeRelease(v); // cancelled (or already terminated): ours to release
            return;
        }
        tryDeliver();
    }

    /** Completes without a value (unless cancelled). */
    protected final void completeEmpty() {
        if (slot.compareAndSet(EMPTY, DONE)) {
            actual.onComplete();
        }
    }

    /** Fails the subscriber (unless cancelled). */
    protected final void fail(Throwable e) {
        if (slot.compareAndSet(EMPTY, DONE)) {
            actual.onError(e);
        }
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
    public final void request(long n) {
        if (n <= 0) {
            cancel();
            actual.onError(new IllegalArgumentException("§3.9: request must be positive, was " + n));
            return;
        }
        requested = true;
        tryDeliver();
    }

    @Override
    public final void cancel() {
        for (;;) {
            Object prev = slot.get();
            if (prev == DONE || prev == CANCELLED) {
                return;
            }
            if (slot.compareAndSet(prev, CANCELLED)) {
                if (prev != EMPTY) {
                    ReferenceCountUtil.safeRelease(prev); // completed, never requested
                }
                onCancel();
                return;
            }
        }
    }

    /** Called once when the subscriber cancels before termination: stop or abandon the work. */
    protected void onCancel() {
    }
}
