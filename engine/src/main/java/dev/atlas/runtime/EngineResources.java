package dev.atlas.runtime;

import dev.atlas.cache.ReadCaches;
import io.netty.buffer.ByteBufAllocator;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The threads and memory the engine owns: a fixed pool of codec threads with one shared queue for codec work (compression,
 * decompression, copies; its threads are non-blocking), a bounded elastic scheduler for blocking
 * file I/O, the buffer allocator, the default read caches and the storage-call counters
 * ({@link #storageMeters()}). Library code never uses Reactor's global schedulers. Create
 * one per application and share it; dispose it last.
 */
public final class EngineResources implements Disposable {
    /** Codec threads by default: one per core, the work is CPU-bound. */
    public static final int DEFAULT_CODEC_THREADS = Runtime.getRuntime().availableProcessors();
    /** Blocking I/O threads by default: enough to keep a disk queue busy without oversubscribing. */
    public static final int DEFAULT_IO_THREADS = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());

    private final CodecPool codecPool;
    private final Scheduler codec;
    private final Scheduler io;
    private final ByteBufAllocator allocator;
    private final ReadCaches caches;
    private final dev.atlas.storage.StorageMeters storageMeters = dev.atlas.storage.StorageMeters.create();

    private EngineResources(int codecThreads, int ioThreads, ByteBufAllocator allocator, ReadCaches caches) {
        dev.atlas.codec.BlockCodecs.preload();
        this.codecPool = new CodecPool(codecThreads);
        this.codec = Schedulers.fromExecutorService(codecPool, "atlas-codec");
        this.io = Schedulers.newBoundedElastic(ioThreads, 10_000, "atlas-io", 60, true);
        this.allocator = allocator;
        this.caches = caches == null ? ReadCaches.defaults(allocator) : caches;
    }

    /**
     * Default thread counts, and Netty's pooled allocator with block-sized buffers recycled on top
     * ({@link dev.atlas.buffer.BlockBufferAllocator#shared()}, one pool for the process like
     * Netty's: Netty pools nothing above 4 MiB); fresh read caches.
     */
    public static EngineResources create() {
        return create(DEFAULT_CODEC_THREADS, DEFAULT_IO_THREADS, dev.atlas.buffer.BlockBufferAllocator.shared());
    }

    public static EngineResources create(int codecThreads, int ioThreads, ByteBufAllocator allocator) {
        if (codecThreads < 1 || ioThreads < 1) {
            throw new dev.atlas.error.InvalidArgumentException("thread counts must be positive");
        }
        return new EngineResources(codecThreads, ioThreads, allocator, null);
    }

    /**
     * Like {@link #create(int, int, ByteBufAllocator)} with the read caches every file opened with
     * these resources shares by default (see {@code ArrayFileOptions.Builder.caches}).
     */
    public static EngineResources create(int codecThreads, int ioThreads, ByteBufAllocator allocator, ReadCaches caches) {
        if (codecThreads < 1 || ioThreads < 1) {
            throw new dev.atlas.error.InvalidArgumentException("thread counts must be positive");
        }
        return new EngineResources(codecThreads, ioThreads, allocator, java.util.Objects.requireNonNull(caches, "caches"));
    }

    /** Scheduler for CPU-bound codec work (non-blocking threads). */
    public Scheduler codecScheduler() {
        return codec;
    }

    /** Scheduler for blocking I/O. */
    public Scheduler ioScheduler() {
        return io;
    }

    public ByteBufAllocator allocator() {
        return allocator;
    }

    /** The read caches shared by default by every file opened with these resources. */
    public ReadCaches caches() {
        return caches;
    }

    /**
     * The storage-call counters of stores opened with these resources (an {@code Atlas} meters its
     * storage with them); they count once enabled, which a metrics binder does when bound.
     */
    public dev.atlas.storage.StorageMeters storageMeters() {
        return storageMeters;
    }

    /**
     * Codec tasks waiting in the codec threads' queue now (delayed retry timers included). Takes
     * the queue's lock for a moment: meant for metrics scrapes, not for the read path.
     */
    public int codecQueued() {
        return codecPool.getQueue().size();
    }

    /** Codec threads running a task now (takes the pool's lock for a moment, as {@link #codecQueued()}). */
    public int codecActive() {
        return codecPool.getActiveCount();
    }

    /** Codec tasks that ran to their end (normally or not) since these resources were created. */
    public long codecTasks() {
        return codecPool.tasks.sum();
    }

    /** Total time (nanoseconds) codec threads spent running those tasks. */
    public long codecTaskNanos() {
        return codecPool.taskNanos.sum();
    }

    /**
     * Disposes both schedulers, completing when their threads have stopped (queued codec work runs
     * first, as a graceful shutdown does).
     */
    public Mono<Void> disposeLater() {
        Mono<Void> codecDone = Mono.fromRunnable(codecPool::shutdown).then(Mono.fromFuture(codecPool.terminated, false));
        return Mono.when(codecDone, io.disposeGracefully()).doFinally(s -> caches.invalidateAll());
    }

    @Override
    public void dispose() {
        caches.invalidateAll();
        codec.dispose();
        io.dispose();
    }

    @Override
    public boolean isDisposed() {
        return codecPool.isShutdown() && io.isDisposed();
    }

    /**
     * The codec threads: one shared queue, so an idle thread takes the next task whichever thread
     * the task was scheduled from. Reactor's parallel scheduler deals tasks round-robin to one
     * queue per thread instead; blocks of a streamed write (and of a read) then sometimes queue
     * behind each other on one thread while the other waits, which left about a fifth of two
     * cores idle during writes. Delayed tasks (retry backoffs) are supported; the threads are
     * marked {@link reactor.core.scheduler.NonBlocking} as the parallel scheduler's are, so
     * BlockHound still watches them.
     */
    private static final class CodecPool extends java.util.concurrent.ScheduledThreadPoolExecutor {
        final java.util.concurrent.CompletableFuture<Void> terminated = new java.util.concurrent.CompletableFuture<>();
        final java.util.concurrent.atomic.LongAdder tasks = new java.util.concurrent.atomic.LongAdder();
        final java.util.concurrent.atomic.LongAdder taskNanos = new java.util.concurrent.atomic.LongAdder();

        CodecPool(int threads) {
            super(threads, new java.util.concurrent.ThreadFactory() {
                private final java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();

                @Override
                public Thread newThread(Runnable r) {
                    Thread t = new CodecThread(r, "atlas-codec-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                }
            });
            setRemoveOnCancelPolicy(true);
            prestartAllCoreThreads();
        }

        /** Notes the task's start on its thread (a field of the thread: nothing allocated per task). */
        @Override
        protected void beforeExecute(Thread t, Runnable r) {
            super.beforeExecute(t, r);
            if (t instanceof CodecThread c) {
                c.taskStart = System.nanoTime();
            }
        }

        @Override
        protected void afterExecute(Runnable r, Throwable t) {
            super.afterExecute(r, t);
            if (Thread.currentThread() instanceof CodecThread c) {
                taskNanos.add(System.nanoTime() - c.taskStart);
                tasks.increment();
            }
        }

        @Override
        protected void terminated() {
            super.terminated();
            terminated.complete(null);
        }
    }

    /** A codec thread: non-blocking for Reactor and BlockHound. */
    private static final class CodecThread extends Thread implements reactor.core.scheduler.NonBlocking {
        /** When the running task started ({@link System#nanoTime()}); only this thread touches it. */
        long taskStart;

        CodecThread(Runnable r, String name) {
            super(r, name);
        }
    }
}
