package dev.atlas.array;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Runs a buffer transformation (decompress, compress, a file read or write) on one of the
 * engine's schedulers with exact ownership whatever the timing of a cancellation: the input buffer
 * is released exactly once (by the task after use, or by the cancellation if the task never took
 * it), and a result produced after the subscriber cancelled is released instead of being
 * delivered. Reactor's {@code subscribeOn} alone does not guarantee the second part.
 */
final class Offload {
    private static final int OPEN = 0;
    private static final int DONE = 1;
    private static final int CANCELLED = 2;

    private Offload() {
    }

    /**
     * @param input consumed (may be null when the task creates its result from nothing)
     * @param task runs on {@code scheduler}; its result is owned by the subscriber
     */
    static <T> Mono<T> run(Scheduler scheduler, ByteBuf input, Function<ByteBuf, T> task) {
        return Mono.create(sink -> {
            AtomicReference<ByteBuf> in = new AtomicReference<>(input);
            AtomicInteger state = new AtomicInteger(OPEN);
            Runnable work = () -> {
                ByteBuf i = in.getAndSet(null);
                if (state.get() != OPEN || (input != null && i == null)) {
                    if (i != null) {
                        i.release();
                    }
                    return;
                }
                T out;
                try {
                    out = task.apply(i);
                } catch (Throwable e) {
                    if (state.compareAndSet(OPEN, DONE)) {
                        sink.error(e);
                    }
                    return;
                } finally {
                    if (i != null) {
                        i.release();
                    }
                }
                if (state.compareAndSet(OPEN, DONE)) {
                    sink.success(out);
                } else {
                    ReferenceCountUtil.safeRelease(out);
                }
            };
            Disposable d;
            try {
                d = scheduler.schedule(work);
            } catch (RejectedExecutionException e) {
                ByteBuf i = in.getAndSet(null);
                if (i != null) {
                    i.release();
                }
                sink.error(e);
                return;
            }
            sink.onCancel(() -> {
                if (state.compareAndSet(OPEN, CANCELLED)) {
                    d.dispose();
                    ByteBuf i = in.getAndSet(null);
                    if (i != null) {
                        i.release();
                    }
                }
            });
        });
    }
}
