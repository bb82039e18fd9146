package dev.atlas.array;

import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The threads and memory the engine owns: a parallel scheduler for codec work (compression,
 * decompression, copies; its threads are non-blocking), a bounded elastic scheduler for blocking
 * file I/O, and the buffer allocator. Library code never uses Reactor's global schedulers. Create
 * one per application and share it; dispose it last.
 */
public final class EngineResources implements Disposable {
    /** Codec threads by default: one per core, the work is CPU-bound. */
    public static final int DEFAULT_CODEC_THREADS = Runtime.getRuntime().availableProcessors();
    /** Blocking I/O threads by default: enough to keep a disk queue busy without oversubscribing. */
    public static final int DEFAULT_IO_THREADS = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());

    private final Scheduler codec;
    private final Scheduler io;
    private final ByteBufAllocator allocator;

    private EngineResources(int codecThreads, int ioThreads, ByteBufAllocator allocator) {
        dev.atlas.codec.BlockCodecs.preload();
        this.codec = Schedulers.newParallel("atlas-codec", codecThreads, true);
        this.io = Schedulers.newBoundedElastic(ioThreads, 10_000, "atlas-io", 60, true);
        this.allocator = allocator;
    }

    /** Default thread counts and Netty's pooled allocator. */
    public static EngineResources create() {
        return create(DEFAULT_CODEC_THREADS, DEFAULT_IO_THREADS, PooledByteBufAllocator.DEFAULT);
    }

    public static EngineResources create(int codecThreads, int ioThreads, ByteBufAllocator allocator) {
        if (codecThreads < 1 || ioThreads < 1) {
            throw new IllegalArgumentException("thread counts must be positive");
        }
        return new EngineResources(codecThreads, ioThreads, allocator);
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

    /** Disposes both schedulers, completing when their threads have stopped. */
    public Mono<Void> disposeLater() {
        return Mono.when(codec.disposeGracefully(), io.disposeGracefully());
    }

    @Override
    public void dispose() {
        codec.dispose();
        io.dispose();
    }

    @Override
    public boolean isDisposed() {
        return codec.isDisposed() && io.isDisposed();
    }
}
