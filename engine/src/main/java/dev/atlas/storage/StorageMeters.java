package dev.atlas.storage;

import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.ConflictException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.ObjectChangedException;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;

/**
 * Counters of storage calls by backend kind, operation and outcome: how many, how long they took
 * (from subscription to their end), and the bytes they read and wrote. Plain {@link LongAdder}s,
 * read by whatever exports them (the {@code dev.atlas.metrics} binder); this class knows no
 * metrics library.
 *
 * <p>Calls are counted through the storage {@link #meter(Storage)} returns (an {@code Atlas} store
 * meters its storage with its engine resources' counters). Counting starts when {@link #enable()}
 * is called (a metrics binder does it when bound): until then the metered storage hands out its
 * delegate's publishers unchanged and costs one volatile read per call. Once enabled, each call
 * gets one small operator (no locks, no per-call lookup); every label is a fixed enum value, never
 * a key.
 */
public final class StorageMeters {

    /** What a storage call did. */
    public enum Operation {
        /** Range reads, version-checked or not. */
        READ,
        /** Whole-object conditional reads ({@link Storage#getIfChanged}). */
        GET,
        /** {@link Storage#head}. */
        HEAD,
        /** {@link Storage#list}. */
        LIST,
        /** Writes: {@link Storage#put}, {@link Storage#putIfAbsent}, {@link Storage#putIfMatch}, and file adoptions. */
        PUT,
        /** {@link Storage#copy}. */
        COPY,
        /** {@link Storage#delete}. */
        DELETE;

        /** The lower-case name used as a metrics tag value. */
        public String tag() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** How a storage call ended. */
    public enum Outcome {
        /** Completed (with or without a value; an unchanged conditional read too). */
        OK,
        /** The object was not there ({@link NotFoundException}). */
        NOT_FOUND,
        /**
         * A version or existence precondition failed ({@link ObjectChangedException},
         * {@link AlreadyExistsException}, {@link ConflictException}): the normal end of a lost race.
         */
        CONFLICT,
        /** Any other error. */
        ERROR,
        /** The subscriber cancelled before the call ended. */
        CANCELLED;

        /** The tag value: {@code ok}, {@code not-found}, {@code conflict}, {@code error}, {@code cancelled}. */
        public String tag() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /** The outcome an error stands for. */
        public static Outcome of(Throwable error) {
            if (error instanceof NotFoundException) {
                return NOT_FOUND;
            }
            if (error instanceof ObjectChangedException || error instanceof AlreadyExistsException
                    || error instanceof ConflictException) {
                return CONFLICT;
            }
            return ERROR;
        }
    }

    private static final int KINDS = StorageKind.values().length;
    private static final int OPS = Operation.values().length;
    private static final int OUTCOMES = Outcome.values().length;

    /** The counters of one backend kind and operation. */
    static final class Row {
        final LongAdder[] calls = adders(OUTCOMES);
        final LongAdder[] nanos = adders(OUTCOMES);
        final LongAdder bytes = new LongAdder();

        void record(Outcome outcome, long elapsedNanos, long byteCount) {
            calls[outcome.ordinal()].increment();
            nanos[outcome.ordinal()].add(elapsedNanos);
            if (byteCount != 0) {
                bytes.add(byteCount);
            }
        }
    }

    private final Row[] rows = new Row[KINDS * OPS];
    private final boolean[] seen = new boolean[KINDS];
    private final List<Consumer<StorageKind>> listeners = new CopyOnWriteArrayList<>();
    private volatile boolean enabled;

    private StorageMeters() {
        for (int i = 0; i < rows.length; i++) {
            rows[i] = new Row();
        }
    }

    /** Fresh counters, not yet enabled. */
    public static StorageMeters create() {
        return new StorageMeters();
    }

    private static LongAdder[] adders(int n) {
        LongAdder[] a = new LongAdder[n];
        for (int i = 0; i < n; i++) {
            a[i] = new LongAdder();
        }
        return a;
    }

    /**
     * {@code storage} with its calls counted here (once {@link #enabled}). Metering a storage these
     * counters already meter returns it unchanged. The result forwards every call, the version
     * checks, {@link Storage#cheapRangeReads()} and {@link Storage#fileAdoption()} (adoptions count
     * as {@link Operation#PUT}); two metered views of one storage are {@code equals}, so read caches
     * keyed by storage treat them as one.
     */
    public Storage meter(Storage storage) {
        Objects.requireNonNull(storage, "storage");
        if (storage instanceof MeteredStorage m && m.meters() == this) {
            return m;
        }
        StorageKind kind = storage.kind();
        if (kind == null) {
            kind = StorageKind.OTHER;
        }
        announce(kind);
        return new MeteredStorage(storage, this, kind);
    }

    /** Starts counting calls (idempotent). */
    public void enable() {
        enabled = true;
    }

    /** Whether calls are being counted. */
    public boolean enabled() {
        return enabled;
    }

    /**
     * Calls {@code listener} with every backend kind metered so far and, from now on, with each
     * kind the first time a storage of it is metered (from the thread that meters it). Exporters
     * use this to register series only for backends in use.
     */
    public void onBackend(Consumer<StorageKind> listener) {
        Objects.requireNonNull(listener, "listener");
        synchronized (seen) {
            listeners.add(listener);
            for (StorageKind k : StorageKind.values()) {
                if (seen[k.ordinal()]) {
                    listener.accept(k);
                }
            }
        }
    }

    /** The backend kinds metered so far. */
    public Set<StorageKind> backends() {
        EnumSet<StorageKind> s = EnumSet.noneOf(StorageKind.class);
        synchronized (seen) {
            for (StorageKind k : StorageKind.values()) {
                if (seen[k.ordinal()]) {
                    s.add(k);
                }
            }
        }
        return s;
    }

    private void announce(StorageKind kind) {
        synchronized (seen) {
            if (seen[kind.ordinal()]) {
                return;
            }
            seen[kind.ordinal()] = true;
            for (Consumer<StorageKind> l : listeners) {
                l.accept(kind);
            }
        }
    }

    Row row(StorageKind kind, Operation op) {
        return rows[kind.ordinal() * OPS + op.ordinal()];
    }

    /** Calls of {@code kind} and {@code op} that ended with {@code outcome}. */
    public long calls(StorageKind kind, Operation op, Outcome outcome) {
        return row(kind, op).calls[outcome.ordinal()].sum();
    }

    /** Total time (nanoseconds, subscription to end) of those calls. */
    public long nanos(StorageKind kind, Operation op, Outcome outcome) {
        return row(kind, op).nanos[outcome.ordinal()].sum();
    }

    /**
     * Bytes moved by calls of {@code kind} and {@code op}: delivered by {@link Operation#READ} and
     * {@link Operation#GET}, stored by {@link Operation#PUT} (the sizes of the objects written);
     * 0 for the other operations.
     */
    public long bytes(StorageKind kind, Operation op) {
        return row(kind, op).bytes.sum();
    }
}
