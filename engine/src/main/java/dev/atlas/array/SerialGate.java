package dev.atlas.array;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;

/**
 * Runs asynchronous operations one at a time, in submission order, without blocking a thread:
 * the mutations of one {@link ArrayFile} (define, write, delete, attributes, flush, compact) go
 * through one gate so each sees the effects of the previous one. An operation that is cancelled
 * before it starts never runs; one cancelled while running is disposed and frees the gate.
 */
final class SerialGate {
    private final Queue<Task<?>> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger wip = new AtomicInteger();
    private volatile boolean busy;

    /** A Mono that runs {@code op} when every earlier operation has finished. */
    <T> Mono<T> run(Supplier<Mono<T>> op) {
        return Mono.create(sink -> {
            Task<T> t = new Task<>(op, sink);
            sink.onCancel(t::cancel);
            queue.offer(t);
            drain();
        });
    }

    private void drain() {
        if (wip.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        for (;;) {
            while (!busy) {
                Task<?> t = queue.poll();
                if (t == null) {
                    break;
                }
                busy = true;
                t.start();
            }
            missed = wip.addAndGet(-missed);
            if (missed == 0) {
                return;
            }
        }
    }

    private void done() {
        busy = false;
        drain();
    }

    private final class Task<T> {
        private final Supplier<Mono<T>> op;
        private final reactor.core.publisher.MonoSink<T> sink;
        private final AtomicBoolean finished = new AtomicBoolean();
        private volatile boolean cancelled;
        private volatile Disposable running;

        Task(Supplier<Mono<T>> op, reactor.core.publisher.MonoSink<T> sink) {
            this.op = op;
            this.sink = sink;
        }

        void start() {
            if (cancelled) {
                finish();
                return;
            }
            Mono<T> m;
            try {
                m = op.get();
            } catch (Throwable e) {
                sink.error(e);
                finish();
                return;
            }
            running = m.doFinally(s -> finish()).subscribe(sink::success, sink::error, sink::success);
            if (cancelled) {
                running.dispose();
            }
        }

        void cancel() {
            cancelled = true;
            Disposable d = running;
            if (d != null) {
                d.dispose();
            }
        }

        private void finish() {
            if (finished.compareAndSet(false, true)) {
                done();
            }
        }
    }
}
