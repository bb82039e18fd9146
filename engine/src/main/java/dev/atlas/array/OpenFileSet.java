package dev.atlas.array;

import dev.atlas.error.ClosedHandleException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.RangeNotSatisfiableException;
import dev.atlas.error.ReadOnlyException;
import dev.atlas.error.StorageException;
import dev.atlas.format.DType;
import dev.atlas.internal.format.LayerNames;
import dev.atlas.internal.AsyncGate;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.Mono;
import reactor.util.retry.Retry;

/**
 * The mutable state of one open handle, shared by its units: the published {@link Snapshot}, the
 * base epoch reads check against, the gate mutations queue at, and the objects still to delete.
 * Reads take a snapshot here and are re-run on a newer one when they raced with a commit.
 */
final class OpenFileSet {
    private static final Logger LOG = LoggerFactory.getLogger(ArrayFile.class);

    final Storage storage;
    final String base;
    final String stem;
    final ArrayFileOptions options;
    final boolean readOnly;
    private final AsyncGate gate = new AsyncGate();
    /** What readers see; replaced as a whole, by mutations only (they run one at a time). */
    volatile Snapshot snapshot;
    volatile boolean closed;
    /** True from the start of a stats write until it succeeds: the stats object lags the layers. */
    volatile boolean statsFileStale;
    /**
     * Sidecars numbered above the committed number an open was pinned to, newest first:
     * invisible, deleted before this handle writes a layer.
     */
    volatile List<ObjectInfo> uncommitted;
    /**
     * Odd while a compaction replaces the base object, bumped again once the new snapshot is
     * published. A base block read that starts or ends in another epoch than its plan may hold
     * bytes of the other base incarnation; it is discarded and the read re-planned.
     */
    final AtomicLong baseEpoch = new AtomicLong();

    OpenFileSet(Storage storage, String base, ArrayFileOptions options, LayerStack committed, boolean readOnly,
            List<ObjectInfo> uncommitted) {
        this.storage = storage;
        this.base = base;
        this.stem = LayerNames.stem(base);
        this.options = options;
        this.readOnly = readOnly;
        this.snapshot = new Snapshot(committed, null);
        this.uncommitted = List.copyOf(uncommitted);
    }

    /** Runs {@code op} alone, after every earlier mutation, unless the handle is read-only or closed. */
    <T> Mono<T> mutation(Supplier<Mono<T>> op) {
        return gate.exclusive(() -> {
            if (readOnly) {
                return Mono.error(new ReadOnlyException(base + " was opened read-only as of an older layer"));
            }
            if (closed) {
                return Mono.error(new ClosedHandleException(base + " is closed"));
            }
            return op.get();
        });
    }

    /**
     * Marks the handle closed and discards unflushed changes (with a warning when there are any);
     * idempotent. Call inside {@link #exclusive}.
     */
    void close() {
        if (closed) {
            return;
        }
        closed = true;
        PendingLayer p = snapshot.pending();
        if (p != null && !p.isEmpty()) {
            LOG.warn("closing {} with unflushed changes; they are discarded", base);
        }
        dropPending();
    }

    /** Drops the pending layer, freeing its memory and spill file (call inside a mutation). */
    void dropPending() {
        Snapshot s = snapshot;
        if (s.pending() != null) {
            snapshot = s.committedOnly();
            s.pending().release();
        }
    }

    /** Runs {@code op} alone, after every earlier mutation, also on a closed handle (closing itself). */
    <T> Mono<T> exclusive(Supplier<Mono<T>> op) {
        return gate.exclusive(op);
    }

    /** The array {@code name} resolves to in {@code s}. @throws NotFoundException if it is not visible */
    Snapshot.Resolved visible(Snapshot s, String name) {
        Snapshot.Resolved r = s.resolve(name);
        if (r == null) {
            throw new NotFoundException("array '" + name + "' not found in " + base);
        }
        return r;
    }

    /** As {@link #visible(Snapshot, String)}, checking the dtype when {@code expected} is not null. */
    Snapshot.Resolved visible(Snapshot s, String name, DType expected) {
        Snapshot.Resolved a = visible(s, name);
        DType actual = a.schema().dtype();
        if (expected != null && !actual.equals(expected)) {
            throw new DTypeMismatchException(name, actual, expected);
        }
        return a;
    }

    /**
     * One read against one snapshot (the epoch is taken first, see {@link #baseEpoch}), re-run on
     * a newer snapshot when it raced with a commit.
     */
    <T> Mono<T> consistent(BiFunction<Snapshot, Long, Mono<T>> read) {
        return Mono.defer(() -> {
            long epoch = baseEpoch.get();
            Snapshot s = snapshot;
            return Mono.defer(() -> read.apply(s, epoch)).onErrorMap(e -> isStale(s, e), StaleSnapshotException::new);
        }).retryWhen(staleRetry());
    }

    /** A failure to read a layer object that a concurrent flush or compaction replaced or removed. */
    private boolean isStale(Snapshot s, Throwable e) {
        return snapshot != s && (e instanceof NotFoundException || e instanceof RangeNotSatisfiableException
                || e instanceof PendingLayer.ReleasedException || e instanceof CorruptFileException);
    }

    /**
     * Re-plans a read that raced with a commit, with short backoff (a read that overlaps the
     * rewrite of the base waits for it to finish), on the engine's own scheduler.
     */
    private Retry staleRetry() {
        return Retry.backoff(10, Duration.ofMillis(2)).maxBackoff(Duration.ofMillis(500))
                .filter(StaleSnapshotException.class::isInstance)
                .scheduler(options.resources().codecScheduler())
                .onRetryExhaustedThrow((spec, signal) -> signal.failure().getCause() instanceof RuntimeException r ? r
                        : new StorageException("the file set kept changing under a read", true, signal.failure()));
    }

    /** A read that raced with a flush or compaction retires its snapshot and runs again on the new one. */
    static final class StaleSnapshotException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StaleSnapshotException(Throwable cause) {
            super("the file set changed under a read", cause, false, false);
        }
    }
}
