package dev.atlas.internal;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.MonoSink;

/**
 * A fair, non-blocking shared/exclusive gate: operations run in arrival order, shared ones many at
 * once, an exclusive one alone, without blocking a thread. The mutations of one {@code ArrayFile}
 * all run exclusive (one at a time, each seeing the effects of the previous one); an Atlas store
 * runs its mutations shared and its flush exclusive, so a flush commits exactly the mutations that
 * finished before it. An operation cancelled before it starts never runs; one cancelled while
 * running is disposed and frees the gate.
 */
public final class AsyncGate {
    private final ArrayDeque<Task<?>> queue = new ArrayDeque<>();
    private int shared;
    private boolean exclusive;
    private final AtomicInteger wip = new AtomicInteger();

    /** A Mono that runs {@code op} alongside other shared operations, after every earlier exclusive one. */
    public <T> Mono<T> shared(Supplier<Mono<T>> op) {
        return submit(op, false);
    }

    /** A Mono that runs {@code op} alone, when every earlier operation has finished. */
    public <T> Mono<T> exclusive(Supplier<Mono<T>> op) {
        return submit(op, true);
    }

    private <T> Mono<T> submit(Supplier<Mono<T>> op, boolean excl) {
        return Mono.create(sink -> {
            Task<T> t = new Task<>(op, sink, excl);
            sink.onCancel(t::cancel);
            synchronized (this) {
                queue.add(t);
            }
            drain();
        });
    }

    /**
     * Starts what may start. Trampolined: a task that completes synchronously inside
     * {@code start()} (or a subscriber that submits the next task from its completion) calls back
     * into {@code drain()}, which then only records the missed pass for the loop already on the
     * stack; without this, N synchronous operations queued behind one another nested N deep and
     * overflowed the stack (1,000 dataset writes in the peers benchmark).
     */
    private void drain() {
        if (wip.getAndIncrement() != 0) {
            return;
        }
        int missed = 1;
        for (;;) {
            List<Task<?>> start = new ArrayList<>();
            synchronized (this) {
                while (!queue.isEmpty()) {
                    Task<?> t = queue.peek();
                    if (t.cancelled) {
                        queue.poll();
                        continue;
                    }
                    if (t.exclusive) {
                        if (shared == 0 && !exclusive) {
                            exclusive = true;
                            queue.poll();
                            start.add(t);
                        }
                        break;
                    }
                    if (exclusive) {
                        break;
                    }
                    shared++;
                    queue.poll();
                    start.add(t);
                }
            }
            start.forEach(Task::start);
            missed = wip.addAndGet(-missed);
            if (missed == 0) {
                return;
            }
        }
    }

    private void done(boolean excl) {
        synchronized (this) {
            if (excl) {
                exclusive = false;
            } else {
                shared--;
            }
        }
        drain();
    }

    private final class Task<T> {
        private final Supplier<Mono<T>> op;
        private final MonoSink<T> sink;
        private final boolean exclusive;
        private final AtomicBoolean finished = new AtomicBoolean();
        private volatile boolean cancelled;
        private volatile Disposable running;

        Task(Supplier<Mono<T>> op, MonoSink<T> sink, boolean exclusive) {
            this.op = op;
            this.sink = sink;
            this.exclusive = exclusive;
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
                finish();
                sink.error(e);
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
                done(exclusive);
            }
        }
    }
}
