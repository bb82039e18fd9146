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
 * {@link dev.atlas.error.StorageException} (with {@code retryable()}) for backend failures.
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

    /** Deletes {@code key}; completes normally if it does not exist. */
    Mono<Void> delete(String key);

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
     * The storage's ability to adopt a finished local file as an object without copying it, or
     * {@code null} (the default) when it has none. Local-filesystem storages have it; wrappers that
     * must see every byte written (instrumentation, fault injection) should leave it {@code null}.
     */
    default FileAdoption fileAdoption() {
        return null;
    }
}
