package dev.atlas.storage;

import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.NotFoundException;
import dev.atlas.error.RangeNotSatisfiableException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ReferenceCountUtil;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A {@link Storage} held in memory: objects are immutable byte arrays in a sorted concurrent map,
 * replaced atomically. Reads copy the requested range into a pooled direct buffer. For tests,
 * examples and caches of small stores; thread-safe; never blocks.
 */
public final class InMemoryStorage implements Storage {
    private record Entry(byte[] bytes, String version, java.time.Instant modified) {
        Entry(byte[] bytes, String version) {
            this(bytes, version, java.time.Instant.now());
        }

        ObjectInfo info(String key) {
            return new ObjectInfo(key, bytes.length, version, modified);
        }
    }

    private final ConcurrentSkipListMap<String, Entry> objects = new ConcurrentSkipListMap<>();
    private final AtomicLong generation = new AtomicLong();
    private final ByteBufAllocator alloc;

    private InMemoryStorage(ByteBufAllocator alloc) {
        this.alloc = alloc;
    }

    /** An empty store whose reads allocate from {@code alloc}. */
    public static InMemoryStorage create(ByteBufAllocator alloc) {
        return new InMemoryStorage(alloc);
    }

    /**
     * An empty store on Netty's pooled allocator. (Not {@code ByteBufAllocator.DEFAULT}: in Netty 4.2
     * that is the adaptive allocator, which can park on a lock under contention, and BlockHound
     * rejects that on non-blocking threads.)
     */
    public static InMemoryStorage create() {
        return create(io.netty.buffer.PooledByteBufAllocator.DEFAULT);
    }

    /** Puts bytes directly (synchronously), e.g. to load fixtures. The array is copied. */
    public ObjectInfo putBytes(String key, byte[] bytes) {
        Keys.check(key);
        Entry e = new Entry(bytes.clone(), nextVersion());
        objects.put(key, e);
        return e.info(key);
    }

    /** A copy of the whole object, or null. For tests. */
    public byte[] getBytes(String key) {
        Entry e = objects.get(key);
        return e == null ? null : e.bytes().clone();
    }

    private String nextVersion() {
        return Long.toString(generation.incrementAndGet());
    }

    @Override
    public Mono<ByteBuf> read(String key, long offset, long length) {
        return read(key, offset, length, null);
    }

    @Override
    public Mono<ByteBuf> read(String key, long offset, long length, String version) {
        // FutureTake over a completed future: the copy is delivered or, when a cancel races it,
        // released here (Mono.fromCallable would hand it to a discard hook the caller may lack).
        return Mono.defer(() -> dev.atlas.internal.FutureTake.of(DONE, ignored -> {
            Keys.check(key);
            Keys.checkRange(key, offset, length);
            Entry e = objects.get(key);
            if (e == null) {
                throw new NotFoundException("object '" + key + "' not found");
            }
            if (version != null && !version.equals(e.version())) {
                throw new dev.atlas.error.ObjectChangedException(key, "object '" + key + "' is version " + e.version()
                        + ", not " + version);
            }
            if (offset + length > e.bytes().length) {
                throw new RangeNotSatisfiableException(key, offset, length, e.bytes().length);
            }
            ByteBuf out = alloc.directBuffer((int) length);
            out.writeBytes(e.bytes(), (int) offset, (int) length);
            return out;
        }));
    }

    private static final java.util.concurrent.CompletableFuture<Void> DONE =
            java.util.concurrent.CompletableFuture.completedFuture(null);

    /** {@code true}: a range read is a copy (memory) or a positional read (page cache). */
    @Override
    public boolean cheapRangeReads() {
        return true;
    }

    /** {@link StorageKind#MEMORY}. */
    @Override
    public StorageKind kind() {
        return StorageKind.MEMORY;
    }

    @Override
    public Mono<ObjectInfo> head(String key) {
        return Mono.fromCallable(() -> {
            Keys.check(key);
            Entry e = objects.get(key);
            if (e == null) {
                throw new NotFoundException("object '" + key + "' not found");
            }
            return e.info(key);
        });
    }

    @Override
    public Mono<StoredObject> getIfChanged(String key, String knownVersion, long maxBytes) {
        return Mono.defer(() -> {
            Keys.check(key);
            Entry e = objects.get(key);
            if (e == null) {
                return Mono.error(new NotFoundException("object '" + key + "' not found"));
            }
            if (e.version().equals(knownVersion)) {
                return Mono.empty();
            }
            if (e.bytes().length > maxBytes) {
                return Mono.error(new dev.atlas.error.InvalidArgumentException("object '" + key + "' of "
                        + e.bytes().length + " bytes is above the limit of " + maxBytes));
            }
            ObjectInfo info = e.info(key);
            return read(key, 0, e.bytes().length, e.version()).map(b -> new StoredObject(info, b));
        });
    }

    @Override
    public Mono<ObjectInfo> putIfMatch(String key, String expectedVersion, Publisher<ByteBuf> body) {
        if (expectedVersion == null) {
            return Mono.error(new dev.atlas.error.InvalidArgumentException("putIfMatch of '" + key + "' needs a version"));
        }
        return write(key, body, false, expectedVersion);
    }

    @Override
    public Flux<ObjectInfo> list(String prefix) {
        return Flux.defer(() -> Flux.fromIterable(objects.tailMap(prefix, true).entrySet())
                .takeWhile(en -> en.getKey().startsWith(prefix))
                .map(en -> en.getValue().info(en.getKey())));
    }

    @Override
    public Mono<ObjectInfo> put(String key, Publisher<ByteBuf> body) {
        return write(key, body, false, null);
    }

    @Override
    public Mono<ObjectInfo> putIfAbsent(String key, Publisher<ByteBuf> body) {
        return write(key, body, true, null);
    }

    private Mono<ObjectInfo> write(String key, Publisher<ByteBuf> body, boolean ifAbsent, String ifMatch) {
        return Mono.defer(() -> {
            Keys.check(key);
            return Flux.from(body)
                    .doOnDiscard(ByteBuf.class, ReferenceCountUtil::safeRelease)
                    // Pieces first, one exact-size array at the end: a growing stream would copy a
                    // large object about twice over while it doubles.
                    .collect(java.util.ArrayList<byte[]>::new, (pieces, buf) -> {
                        try {
                            byte[] piece = new byte[buf.readableBytes()];
                            buf.readBytes(piece);
                            pieces.add(piece);
                        } finally {
                            buf.release();
                        }
                    })
                    .map(pieces -> {
                        long total = 0;
                        for (byte[] p : pieces) {
                            total += p.length;
                        }
                        if (total > Integer.MAX_VALUE - 8) {
                            throw new dev.atlas.error.InvalidArgumentException("object '" + key + "' of " + total
                                    + " bytes is too large for an in-memory store");
                        }
                        byte[] all = new byte[(int) total];
                        int at = 0;
                        for (byte[] p : pieces) {
                            System.arraycopy(p, 0, all, at, p.length);
                            at += p.length;
                        }
                        Entry e = new Entry(all, nextVersion());
                        if (ifAbsent) {
                            if (objects.putIfAbsent(key, e) != null) {
                                throw new AlreadyExistsException("object '" + key + "' already exists");
                            }
                        } else if (ifMatch != null) {
                            boolean[] swapped = {false};
                            objects.computeIfPresent(key, (k, old) -> {
                                if (!old.version().equals(ifMatch)) {
                                    return old;
                                }
                                swapped[0] = true;
                                return e;
                            });
                            if (!swapped[0]) {
                                throw new dev.atlas.error.ObjectChangedException(key, "object '" + key
                                        + "' is not version " + ifMatch);
                            }
                        } else {
                            objects.put(key, e);
                        }
                        return e.info(key);
                    });
        });
    }

    @Override
    public Mono<Void> delete(String key) {
        return Mono.fromRunnable(() -> objects.remove(Keys.check(key)));
    }

    /** Number of objects (for tests). */
    public int size() {
        return objects.size();
    }

    /** Keys and sizes, for diagnostics. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("InMemoryStorage{");
        for (Map.Entry<String, Entry> e : objects.entrySet()) {
            sb.append(e.getKey()).append('=').append(e.getValue().bytes().length).append(' ');
        }
        return sb.append('}').toString();
    }
}
