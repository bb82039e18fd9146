package dev.atlas.internal;

import io.netty.buffer.ByteBuf;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Runs a buffer transformation (decompress, compress, a file read or write) on one of the
 * engine's schedulers with exact ownership whatever the timing of a cancellation: the input buffer
 * is released exactly once (by the task after use, or by the cancellation if the task never
 * started), and a result that meets a cancellation is released (if reference counted) instead of
 * being dropped. A task that has started is never interrupted (an
 * interrupt closes a {@code FileChannel} for good); it runs to the end. Neither {@code subscribeOn}
 * nor {@code Mono.create} guarantees this: both drop a value that races with a cancel.
 */
public final class Offload<T> extends Mono<T> {
    private static final int QUEUED = 0;
    private static final int RUNNING = 1;
    private static final int DONE = 2;
    private static final int CANCELLED = 3;

    private final Scheduler scheduler;
    private final ByteBuf input;
    private final Function<ByteBuf, T> task;

    private Offload(Scheduler scheduler, ByteBuf input, Function<ByteBuf, T> task) {
        this.scheduler = scheduler;
        this.input = input;
        this.task = task;
    }

    /**
     * @param input consumed (may be null when the task creates its result from nothing); a Mono
     *     that is never subscribed never releases it, so subscribe (or build it lazily)
     * @param task runs on {@code scheduler}; its result is owned by the subscriber
     */
    public static <T> Mono<T> run(Scheduler scheduler, ByteBuf input, Function<ByteBuf, T> task) {
        return new Offload<>(scheduler, input, task);
    }

    @Override
    public void subscribe(CoreSubscriber<? super T> actual) {
        Work<T> w = new Work<>(actual, input, task);
        actual.onSubscribe(w);
        try {
            w.scheduled = scheduler.schedule(w);
        } catch (RejectedExecutionException e) {
            if (w.phase.compareAndSet(QUEUED, DONE)) {
                w.releaseInput();
                w.fail(e);
            }
        }
    }

    private static final class Work<T> extends OneShotSubscription<T> implements Runnable {
        private final AtomicReference<ByteBuf> in;
        private final Function<ByteBuf, T> task;
        final AtomicInteger phase = new AtomicInteger(QUEUED);
        volatile Disposable scheduled;

        Work(CoreSubscriber<? super T> actual, ByteBuf input, Function<ByteBuf, T> task) {
            super(actual);
            this.in = new AtomicReference<>(input);
            this.task = task;
        }

        @Override
        public void run() {
            if (!phase.compareAndSet(QUEUED, RUNNING)) {
                releaseInput();
                return;
            }
            ByteBuf i = in.getAndSet(null);
            T out;
            try {
                out = task.apply(i);
            } catch (Throwable e) {
                phase.set(DONE);
                fail(e);
                return;
            } finally {
                if (i != null) {
                    i.release();
                }
            }
            phase.set(DONE);
            if (out == null) {
                completeEmpty();
            } else {
                deliver(out); // or, cancelled, released
            }
        }

        void releaseInput() {
            ByteBuf i = in.getAndSet(null);
            if (i != null) {
                i.release();
            }
        }

        @Override
        protected void onCancel() {
            if (phase.compareAndSet(QUEUED, CANCELLED)) {
                // Not started: it never will (and disposing cannot interrupt anything).
                Disposable d = scheduled;
                if (d != null) {
                    d.dispose();
                }
                releaseInput();
            }
        }
    }
}
