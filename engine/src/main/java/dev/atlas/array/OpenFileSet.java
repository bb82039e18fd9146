package dev.atlas.array;

import dev.atlas.error.ArrayNotFoundException;
import dev.atlas.error.ClosedHandleException;
import dev.atlas.error.ObjectChangedException;
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
    /** Which layers count as committed: the commit record this file set belongs to. */
    final LayerCommits commits;
    /** At most this many layers are loaded (an as-of view), else Integer.MAX_VALUE. */
    final int maxLayers;
    private final AsyncGate gate = new AsyncGate();
    /** Guards every replacement of {@link #snapshot} (short; never held across I/O). */
    private final Object publishLock = new Object();
    /**
     * What readers see; replaced as a whole through {@link #publish} or {@link #publishRefreshed}:
     * by mutations (one at a time) and by refreshes, which only replace a committed stack nothing
     * else replaced meanwhile.
     */
    volatile Snapshot snapshot;
    /** The stats object as last loaded or written (null: none). */
    volatile ObjectInfo statsObject;
    /** Its content as last loaded or written (null: unknown or unreadable). */
    volatile dev.atlas.internal.format.Trailer.StampedStats statsContent;
    /** The number of the sidecar the last flush of this handle wrote (0: none). */
    volatile long lastFlushed;
    /** The highest sidecar number seen in storage, committed or not (a new layer is numbered above it). */
    volatile long highestNumber;
    /** The committed layers the current stack was loaded for (null: unknown, e.g. a new file set). */
    volatile CommittedLayers loadedWith;
    /** The refresh in flight, shared by everyone who asks meanwhile (null: none). */
    private final java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CompletableFuture<Boolean>> refreshing =
            new java.util.concurrent.atomic.AtomicReference<>();
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
            List<ObjectInfo> uncommitted, LayerCommits commits, int maxLayers, ObjectInfo statsObject, long highestNumber) {
        this.commits = commits;
        this.maxLayers = maxLayers;
        this.statsObject = statsObject;
        this.highestNumber = highestNumber;
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
        PendingLayer p;
        synchronized (publishLock) {
            Snapshot s = snapshot;
            p = s.pending();
            if (p != null) {
                snapshot = s.committedOnly();
            }
        }
        if (p != null) {
            p.release();
        }
    }

    /** A snapshot and the committed layers its stack was loaded for (null: unknown), read together. */
    record PinState(Snapshot snapshot, CommittedLayers with) {
    }

    /** The snapshot and what it was loaded for, consistently. */
    PinState pinState() {
        synchronized (publishLock) {
            return new PinState(snapshot, loadedWith);
        }
    }

    /** Replaces the snapshot with {@code f} of the current one, atomically with respect to refreshes. */
    Snapshot publish(java.util.function.UnaryOperator<Snapshot> f) {
        synchronized (publishLock) {
            snapshot = f.apply(snapshot);
            return snapshot;
        }
    }

    /**
     * Publishes a refreshed committed stack, unless the committed stack is no longer
     * {@code loadedOn} (a commit of this handle or another refresh replaced it meanwhile: its
     * result stands, and nothing is lost by dropping this one). Keeps the pending layer.
     *
     * @return whether it was published
     */
    boolean publishRefreshed(LayerStack loadedOn, LayerStackLoader.Loaded l, CommittedLayers with) {
        synchronized (publishLock) {
            Snapshot s = snapshot;
            if (s.committed() != loadedOn) {
                return false;
            }
            // The stack and what it was loaded for change together: a pin that finds them equal
            // to the record it consulted takes a stack at least that new.
            snapshot = new Snapshot(l.stack(), s.pending());
            loadedWith = with;
            uncommitted = List.copyOf(l.uncommitted());
            statsObject = l.statsObject();
            statsContent = l.stats();
            highestNumber = Math.max(highestNumber, l.highestNumber());
            return true;
        }
    }

    /**
     * Brings the committed stack to the newest commit the file set's {@link LayerCommits} knows
     * ({@code latest}: after it brought itself up to date): one listing, and footer reads only for
     * layer objects that are new or replaced. Concurrent callers share one refresh. Never waits
     * for mutations or readers; a stack a commit of this handle published meanwhile is kept.
     *
     * @return whether a changed stack was published
     */
    /** The longest one refresh of a file set may take before it fails (and the next one starts afresh). */
    static final Duration REFRESH_TIMEOUT = Duration.ofMinutes(2);

    Mono<Boolean> refresh(boolean latest) {
        return Mono.defer(() -> {
            // The refresh runs to its end whoever stops waiting for it (a cancelled reader must not
            // strand the others that share it): a future, completed after the slot is cleared, so a
            // caller that continues synchronously and refreshes again starts a new refresh.
            java.util.concurrent.CompletableFuture<Boolean> mine = new java.util.concurrent.CompletableFuture<>();
            java.util.concurrent.CompletableFuture<Boolean> running = refreshing.compareAndExchange(null, mine);
            if (running != null) {
                return Mono.fromFuture(running, true);
            }
            // Bounded, so a refresh that never ends (a request lost without a timeout) cannot hold
            // every later refresh of this file set, which would join it.
            Mono.defer(() -> load(latest)).defaultIfEmpty(false).timeout(REFRESH_TIMEOUT).subscribe(v -> {
                refreshing.compareAndSet(mine, null);
                mine.complete(v);
            }, e -> {
                refreshing.compareAndSet(mine, null);
                mine.completeExceptionally(e);
            });
            return Mono.fromFuture(mine, true);
        });
    }

    private Mono<Boolean> load(boolean latest) {
        LayerStack before = snapshot.committed();
        java.util.Map<String, LayerStack.Layer> known = new java.util.HashMap<>();
        before.layers().forEach(l -> known.put(l.object().key(), l));
        CommittedLayers[] with = new CommittedLayers[1];
        return commits.committed(latest)
                .flatMap(sel -> LayerStackLoader.open(storage, base, options, maxLayers, sel, known,
                        new LayerStackLoader.KnownStats(statsObject, statsContent)).map(l -> {
                            with[0] = sel;
                            return l;
                        }))
                // An object replaced or removed between the listing and its read: list again.
                .retryWhen(Retry.backoff(5, Duration.ofMillis(2)).maxBackoff(Duration.ofMillis(200))
                        .filter(e -> e instanceof ObjectChangedException
                                || e instanceof NotFoundException && !(e instanceof ArrayNotFoundException))
                        .scheduler(options.resources().codecScheduler())
                        .onRetryExhaustedThrow((spec, signal) -> signal.failure()))
                .map(l -> {
                    if (sameLayers(before, l.stack()) && java.util.Objects.equals(statsVersion(statsObject), statsVersion(l.statsObject()))) {
                        synchronized (publishLock) {
                            highestNumber = Math.max(highestNumber, l.highestNumber());
                            uncommitted = List.copyOf(l.uncommitted());
                            if (snapshot.committed() == before) {
                                loadedWith = with[0];
                            }
                        }
                        return false;
                    }
                    boolean published = publishRefreshed(before, l, with[0]);
                    if (published) {
                        for (LayerStack.Layer layer : l.stack().layers()) {
                            options.caches().invalidateOtherVersions(storage, layer.object().key(), layer.object().version());
                        }
                    }
                    return published;
                });
    }

    private static String statsVersion(ObjectInfo o) {
        return o == null ? null : o.version();
    }

    /** Same layer objects, same incarnations, in the same order. */
    static boolean sameLayers(LayerStack a, LayerStack b) {
        if (a.statsStatus() != b.statsStatus() || a.layers().size() != b.layers().size()) {
            return false;
        }
        for (int i = 0; i < a.layers().size(); i++) {
            if (!LayerStackLoader.sameObject(a.layers().get(i).object(), b.layers().get(i).object())) {
                return false;
            }
        }
        return true;
    }

    /** Runs {@code op} alone, after every earlier mutation, also on a closed handle (closing itself). */
    <T> Mono<T> exclusive(Supplier<Mono<T>> op) {
        return gate.exclusive(op);
    }

    /** The array {@code name} resolves to in {@code s}. @throws NotFoundException if it is not visible */
    Snapshot.Resolved visible(Snapshot s, String name) {
        Snapshot.Resolved r = s.resolve(name);
        if (r == null) {
            throw new ArrayNotFoundException("array '" + name + "' not found in " + base);
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
     * a newer snapshot when it raced with a commit: of this handle (the snapshot changed), or of
     * another handle or process (an object the plan named was replaced or is gone: the file set is
     * refreshed first, from the newest commit record).
     */
    <T> Mono<T> consistent(BiFunction<Snapshot, Long, Mono<T>> read) {
        return Mono.defer(() -> {
            long epoch = baseEpoch.get();
            Snapshot s = snapshot;
            return Mono.defer(() -> read.apply(s, epoch)).onErrorResume(e -> isStale(s, e), e -> {
                if (snapshot != s) {
                    return Mono.error(new StaleSnapshotException(e));
                }
                replans.incrementAndGet();
                return refresh(true).onErrorResume(r -> Mono.just(false))
                        .then(Mono.error(new StaleSnapshotException(e)));
            });
        }).retryWhen(staleRetry());
    }

    /** Reads re-planned because an object they were planned against changed (for tests and metrics). */
    final AtomicLong replans = new AtomicLong();
    /** Block reads served by a copy a compaction retained because their object was replaced or deleted. */
    final AtomicLong retainedReads = new AtomicLong();

    /**
     * A failure to read a layer object that a concurrent flush or compaction replaced or removed:
     * the snapshot changed meanwhile, or the storage says the object is another version or gone.
     */
    private boolean isStale(Snapshot s, Throwable e) {
        // A handle opened as of an older layer is a history: it is never refreshed to another state.
        if (!readOnly) {
            if (e instanceof ObjectChangedException) {
                return true;
            }
            if (e instanceof NotFoundException && !(e instanceof ArrayNotFoundException)
                    && !(e instanceof dev.atlas.error.DatasetNotFoundException)) {
                return true;
            }
        }
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
                .onRetryExhaustedThrow((spec, signal) -> {
                    Throwable cause = signal.failure().getCause();
                    if (cause instanceof ObjectChangedException || cause instanceof StorageException se && se.retryable()) {
                        return (RuntimeException) cause;
                    }
                    if (cause instanceof NotFoundException) {
                        return new StorageException("the file set " + base + " kept changing under a read: " + cause.getMessage(),
                                true, cause);
                    }
                    return cause instanceof RuntimeException r ? r
                            : new StorageException("the file set kept changing under a read", true, signal.failure());
                });
    }

    /** A read that raced with a flush or compaction retires its snapshot and runs again on the new one. */
    static final class StaleSnapshotException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StaleSnapshotException(Throwable cause) {
            super("the file set changed under a read", cause, false, false);
        }
    }
}
