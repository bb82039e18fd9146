package dev.atlas.storage;

import io.netty.buffer.ByteBuf;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A flat namespace of immutable-once-written objects addressed by {@code /}-separated keys: the
 * one contract every backend (in-memory, local disk, S3) implements and the engine reads and writes
 * through. All methods are lazy (nothing happens until subscription) and non-blocking.
 *
 * <p>Errors are typed: {@link dev.atlas.error.NotFoundException} for a missing object,
 * {@link dev.atlas.error.AlreadyExistsException} from {@link #putIfAbsent},
 * {@link dev.atlas.error.RangeNotSatisfiableException} for a range past the end,
 * {@link dev.atlas.error.InvalidArgumentException} for a malformed key or range, and
 * {@link dev.atlas.error.StorageException} (with {@code retryable()}) for backend failures, and
 * {@link dev.atlas.error.ObjectChangedException} when a version-checked call finds another version.
 *
 * <h2>Versions</h2>
 * Every object carries a version token ({@link ObjectInfo#version()}) that every call reporting
 * the object ({@link #head}, {@link #list}, the puts, {@link #getIfChanged}) spells the same way.
 * The version-checked calls are what several processes sharing one store rely on: a range read
 * planned against one version never returns bytes of another
 * ({@link #read(String, long, long, String)}), a registry commit replaces exactly the version it
 * read ({@link #putIfMatch}), and a refresh costs one request when nothing changed
 * ({@link #getIfChanged}). Wrappers must forward them: a best-effort emulation would break that.
 */
public interface Storage {

    /**
     * Reads bytes {@code [offset, offset + length)} of {@code key}. Only explicit ranges: a range
     * ending past the object's size fails with {@code RangeNotSatisfiableException}; a zero-length
     * range at or before the end yields an empty buffer.
     *
     * @return a buffer of exactly {@code length} readable bytes that the subscriber owns and must
     *     release; cancelling before it is emitted releases nothing the subscriber holds
     */
    Mono<ByteBuf> read(String key, long offset, long length);

    /**
     * Reads bytes {@code [offset, offset + length)} of the object {@code key} as of version
     * {@code version}, exactly as {@link #read(String, long, long)} but never from another version:
     * if the object now stored at {@code key} is another version, the read fails with
     * {@link dev.atlas.error.ObjectChangedException}; if none is stored, with
     * {@link dev.atlas.error.NotFoundException}. A backend that can still read the named version
     * after a replacement (an open file of the old incarnation) may return its bytes: they are the
     * version asked for. (S3: a ranged GET with {@code If-Match}; local files: the open file whose
     * identity is the version; memory: the entry's generation.)
     *
     * @return a buffer of exactly {@code length} readable bytes that the subscriber owns and must release
     */
    Mono<ByteBuf> read(String key, long offset, long length, String version);

    /**
     * The whole object {@code key} with its version, unless its version is {@code knownVersion}:
     * then the Mono completes empty (S3: a conditional GET answered {@code 304 Not Modified}: one
     * request either way). {@code knownVersion} null reads unconditionally.
     * {@code NotFoundException} if absent; objects above {@code maxBytes} fail with
     * {@code InvalidArgumentException} without being read.
     *
     * @return the object; its content is owned by the subscriber
     */
    Mono<StoredObject> getIfChanged(String key, String knownVersion, long maxBytes);

    /**
     * Replaces {@code key} with {@code body} only if the object stored there is version
     * {@code expectedVersion} when the write would become visible (compare-and-swap): of two
     * concurrent calls naming the same version, at most one succeeds, also across processes.
     * Fails with {@link dev.atlas.error.ObjectChangedException} (writing nothing) when the stored
     * version differs or no object is stored. Visibility and failure atomicity as {@link #put}.
     *
     * @param body consumed: the storage releases every buffer it receives
     */
    Mono<ObjectInfo> putIfMatch(String key, String expectedVersion, Publisher<ByteBuf> body);

    /** Size and version of {@code key}; {@code NotFoundException} if absent. */
    Mono<ObjectInfo> head(String key);

    /**
     * Objects whose key starts with {@code prefix} (recursively, across {@code /}), in ascending
     * key order (UTF-16 order of the key strings).
     */
    Flux<ObjectInfo> list(String prefix);

    /**
     * Writes {@code key} from {@code body}, replacing any existing object. The new content becomes
     * visible atomically when the returned Mono completes: readers see the old object or the new
     * one, never a part. If the body fails or the subscription is cancelled, nothing becomes visible
     * and the old object (if any) is untouched.
     *
     * @param body consumed: the storage releases every buffer it receives. Bodies should create
     *     their buffers on subscription ({@code Flux.defer}, {@code Flux.generate}): a put that fails
     *     before reading its body never subscribes to it
     */
    Mono<ObjectInfo> put(String key, Publisher<ByteBuf> body);

    /**
     * Like {@link #put} but fails with {@code AlreadyExistsException} (writing nothing) if
     * {@code key} exists when the write would become visible. Two concurrent calls for one key:
     * exactly one succeeds.
     *
     * @param body consumed: the storage releases every buffer it receives
     */
    Mono<ObjectInfo> putIfAbsent(String key, Publisher<ByteBuf> body);

    /**
     * Copies the object version {@code from} names to {@code toKey}, replacing any object there:
     * the copy holds exactly that version's bytes, or the call fails with
     * {@link dev.atlas.error.ObjectChangedException} when {@code from.key()} is now another version
     * and {@link dev.atlas.error.NotFoundException} when it is gone (writing nothing either way).
     * Visibility and failure atomicity as {@link #put}. The engine keeps a replaced object readable
     * this way for reads planned on it (see {@code dev.atlas.array.Retained}).
     *
     * <p>Default: version-checked range reads streamed into a {@link #put} (one read and one write
     * of every byte through this process). Backends override it with something cheaper: a hard link
     * (local files), a server-side copy (S3).
     *
     * @return the copy's size and version (which need not equal {@code from}'s)
     */
    default Mono<ObjectInfo> copy(ObjectInfo from, String toKey) {
        long piece = 8L << 20;
        long size = from.size();
        Flux<ByteBuf> body = Flux.defer(() -> Flux.range(0, (int) ((size + piece - 1) / piece))
                .concatMap(i -> read(from.key(), i * piece, Math.min(piece, size - i * piece), from.version()), 0));
        Mono<Void> check = size == 0 ? head(from.key()).flatMap(now -> from.version() == null
                || from.version().equals(now.version()) ? Mono.<Void>empty()
                : Mono.error(new dev.atlas.error.ObjectChangedException(from.key(), "object '" + from.key()
                        + "' is version " + now.version() + ", not " + from.version()))) : Mono.empty();
        return check.then(put(toKey, body));
    }

    /** Deletes {@code key}; completes normally if it does not exist. */
    Mono<Void> delete(String key);

    /**
     * Removes the debris of writers that died: staged files and unfinished uploads older than
     * {@code olderThan} (younger ones may belong to a live writer). Default: nothing to remove.
     *
     * @return how many were removed
     */
    default Mono<Long> deleteAbandonedUploads(java.time.Duration olderThan) {
        return Mono.just(0L);
    }

    /**
     * Whether a range read costs little beyond its bytes (local files, memory), as opposed to a
     * request with a latency and a price of its own (an object store). The slab cache reads large
     * ranges of cheap storages exactly, as they come, and coalesces them into aligned slabs only for
     * storages where fewer requests are worth some read amplification. Default: {@code false}.
     */
    default boolean cheapRangeReads() {
        return false;
    }

    /**
     * Which kind of backend this is, for metrics ({@link StorageMeters}). Wrappers forward their
     * delegate's. Default: {@link StorageKind#OTHER}.
     */
    default StorageKind kind() {
        return StorageKind.OTHER;
    }

    /**
     * The storage's ability to adopt a finished local file as an object without copying it, or
     * {@code null} (the default) when it has none. Local-filesystem storages have it; wrappers that
     * must see every byte written (instrumentation, fault injection) should leave it {@code null}.
     */
    default FileAdoption fileAdoption() {
        return null;
    }
}
