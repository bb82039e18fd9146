package dev.atlas.array;

import dev.atlas.cache.ReadCaches;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * The threads and memory the engine owns: a parallel scheduler for codec work (compression,
 * decompression, copies; its threads are non-blocking), a bounded elastic scheduler for blocking
 * file I/O, the buffer allocator, and the default read caches. Library code never uses Reactor's global schedulers. Create
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
    private final ReadCaches caches;

    private EngineResources(int codecThreads, int ioThreads, ByteBufAllocator allocator, ReadCaches caches) {
        dev.atlas.codec.BlockCodecs.preload();
        this.codec = Schedulers.newParallel("atlas-codec", codecThreads, true);
        this.io = Schedulers.newBoundedElastic(ioThreads, 10_000, "atlas-io", 60, true);
        this.allocator = allocator;
        this.caches = caches == null ? ReadCaches.defaults(allocator) : caches;
    }

    /**
     * Default thread counts, and Netty's pooled allocator with block-sized buffers recycled on top
     * ({@link dev.atlas.buffer.BlockBufferAllocator}: Netty pools nothing above 4 MiB).
     */
    public static EngineResources create() {
        return create(DEFAULT_CODEC_THREADS, DEFAULT_IO_THREADS,
                dev.atlas.buffer.BlockBufferAllocator.create(PooledByteBufAllocator.DEFAULT));
    }

    public static EngineResources create(int codecThreads, int ioThreads, ByteBufAllocator allocator) {
        if (codecThreads < 1 || ioThreads < 1) {
            throw new IllegalArgumentException("thread counts must be positive");
        }
        return new EngineResources(codecThreads, ioThreads, allocator, null);
    }

    /**
     * Like {@link #create(int, int, ByteBufAllocator)} with the read caches every file opened with
     * these resources shares by default (see {@link ArrayFileOptions.Builder#caches}).
     */
    public static EngineResources create(int codecThreads, int ioThreads, ByteBufAllocator allocator, ReadCaches caches) {
        if (codecThreads < 1 || ioThreads < 1) {
            throw new IllegalArgumentException("thread counts must be positive");
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

    /** Disposes both schedulers, completing when their threads have stopped. */
    public Mono<Void> disposeLater() {
        return Mono.when(codec.disposeGracefully(), io.disposeGracefully()).doFinally(s -> caches.invalidateAll());
    }

    @Override
    public void dispose() {
        caches.invalidateAll();
        codec.dispose();
        io.dispose();
    }

    @Override
    public boolean isDisposed() {
        return codec.isDisposed() && io.isDisposed();
    }
}
