package dev.atlas.array;

import dev.atlas.internal.Offload;
import dev.atlas.runtime.EngineResources;
import dev.atlas.storage.FileAdoption;
import dev.atlas.storage.ObjectInfo;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The spill file of a pending layer: created on first use, written at offsets reserved one after
 * the other, synced behind the writes when it may become the layer object, and read back or
 * adopted when the layer is committed. Guards its own state with its own monitor; its
 * {@link PendingLayer} may call in while holding the layer's (the only lock order: layer, then
 * spill file). {@link #release} drops the file's reference under it, which closes and deletes the
 * file right there if the I/O scheduler refuses the task.
 */
final class SpillFile {
    private static final Logger LOG = LoggerFactory.getLogger(SpillFile.class);

    /** One byte range of the file: {@code length} bytes at {@code offset}. */
    record Range(long offset, long length) {
    }

    private final EngineResources resources;
    private final Supplier<Path> dir;
    private final String prefix;
    /** The file may be adopted by name: it keeps its name until released. */
    private final boolean adoptable;
    /** Bytes spilled between two background syncs (0: none). */
    private final long syncBehindBytes;
    private TempFile temp;
    private long end;
    /** Spilled bytes not yet covered by a background sync, and whether one runs. */
    private long unsynced;
    private boolean syncing;
    private long syncsBehind;
    private boolean released;

    SpillFile(EngineResources resources, Supplier<Path> dir, String prefix, boolean adoptable, long syncBehindBytes) {
        this.resources = resources;
        this.dir = dir;
        this.prefix = prefix;
        this.adoptable = adoptable;
        this.syncBehindBytes = adoptable ? syncBehindBytes : 0;
    }

    boolean adoptable() {
        return adoptable;
    }

    /** Whether the file exists (something was spilled). */
    synchronized boolean exists() {
        return temp != null;
    }

    /** The end of the data written or reserved so far. */
    synchronized long end() {
        return end;
    }

    /** Reserves {@code n} bytes at the end; returns their offset. */
    synchronized long reserve(int n) {
        long at = end;
        end += n;
        return at;
    }

    /** The file with one reference for the caller, or null when nothing was spilled yet. */
    synchronized TempFile retainedIfExists() {
        checkOpen();
        return temp == null ? null : (TempFile) temp.retain();
    }

    /**
     * The file with one reference for the caller, created on first use (blocking: call on the I/O
     * scheduler). The file is created outside the monitor.
     */
    TempFile retained() {
        synchronized (this) {
            checkOpen();
            if (temp != null) {
                return (TempFile) temp.retain();
            }
        }
        TempFile created = TempFile.create(dir.get(), prefix, adoptable, resources.ioScheduler());
        synchronized (this) {
            if (released) {
                created.release();
                throw new PendingLayer.ReleasedException();
            }
            if (temp == null) {
                temp = created;
            } else {
                created.release();
            }
            return (TempFile) temp.retain();
        }
    }

    /** Writes {@code bytes} at {@code at} (blocking), then starts a background sync when one is due. */
    void write(ByteBuffer bytes, long at) {
        int n = bytes.remaining();
        TempFile t = retained();
        try {
            t.write(bytes, at);
            syncBehind(t, n);
        } finally {
            t.release();
        }
    }

    /**
     * Starts a background sync of the file (holding {@code t}, which the caller keeps) once
     * {@code syncBehindBytes} were spilled since the last, one at a time, on the I/O scheduler.
     * Only for files that become the layer: a copied spill file is never synced. A failed sync is
     * left to the flush's own, which reports it.
     */
    private void syncBehind(TempFile t, int n) {
        if (syncBehindBytes <= 0) {
            return;
        }
        synchronized (this) {
            unsynced += n;
            if (syncing || released || unsynced < syncBehindBytes) {
                return;
            }
            syncing = true;
            unsynced = 0;
        }
        TempFile held = (TempFile) t.retain();
        Runnable sync = () -> {
            try {
                held.force();
                synchronized (this) {
                    syncsBehind++;
                }
            } catch (RuntimeException e) {
                LOG.debug("write-behind sync of {} failed (the flush syncs again): {}", held.path(), e.getMessage());
            } finally {
                held.release();
                synchronized (this) {
                    syncing = false;
                }
            }
        };
        try {
            resources.ioScheduler().schedule(sync);
        } catch (RejectedExecutionException e) {
            held.release();
            synchronized (this) {
                syncing = false;
            }
        }
    }

    /** Background syncs completed so far. */
    synchronized long syncsBehind() {
        return syncsBehind;
    }

    /**
     * Appends {@code tail} after the data, cuts the file there, syncs it and hands it to
     * {@code adoption} as object {@code key}. The file stays usable if this fails (the tail is
     * rewritten, and the file cut to length, on the next attempt).
     */
    Mono<ObjectInfo> adopt(FileAdoption adoption, String key, byte[] tail, boolean ifAbsent) {
        return adopt(key, tail, path -> adoption.adopt(key, path, ifAbsent));
    }

    /** As {@link #adopt}, replacing {@code key} only if it is still version {@code expectedVersion}. */
    Mono<ObjectInfo> adoptIfMatch(FileAdoption adoption, String key, byte[] tail, String expectedVersion) {
        return adopt(key, tail, path -> adoption.adoptIfMatch(key, path, expectedVersion));
    }

    private Mono<ObjectInfo> adopt(String key, byte[] tail, java.util.function.Function<java.nio.file.Path, Mono<ObjectInfo>> install) {
        return Offload.run(resources.ioScheduler(), null, none -> {
            TempFile t;
            long at;
            synchronized (this) {
                checkOpen();
                t = (TempFile) temp.retain();
                at = end;
            }
            t.write(ByteBuffer.wrap(tail), at);
            t.truncate(at + tail.length);
            t.force();
            return t;
        }).flatMap(t -> install.apply(t.path()).doFinally(sig -> t.release()));
    }

    /**
     * The bytes of {@code ranges} in order, read in pieces of at most 1 MiB on the I/O scheduler;
     * empty when nothing was spilled. Buffers are owned by the subscriber.
     */
    Flux<ByteBuf> read(List<Range> ranges) {
        TempFile t = retainedIfExists();
        if (ranges.isEmpty() || t == null) {
            if (t != null) {
                t.release();
            }
            return Flux.empty();
        }
        ByteBufAllocator alloc = resources.allocator();
        int piece = 1 << 20;
        return Flux.fromIterable(ranges).concatMap(r -> {
            long pieces = (r.length() + piece - 1) / piece;
            return Flux.range(0, (int) pieces).concatMap(i -> Offload.run(resources.ioScheduler(), null, none -> {
                long at = r.offset() + (long) i * piece;
                int n = (int) Math.min(piece, r.length() - (long) i * piece);
                ByteBuf buf = alloc.directBuffer(n, n);
                try {
                    t.read(buf.nioBuffer(0, n), at);
                    buf.writerIndex(n);
                    return buf;
                } catch (RuntimeException e) {
                    buf.release();
                    throw e;
                }
            }), 0);
        }, 0).doFinally(sig -> t.release()).doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease);
    }

    private void checkOpen() {
        if (released) {
            throw new PendingLayer.ReleasedException();
        }
    }

    /** Drops the layer's reference to the file; idempotent. */
    synchronized void release() {
        if (released) {
            return;
        }
        released = true;
        if (temp != null) {
            temp.release();
            temp = null;
        }
    }
}
