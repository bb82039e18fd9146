package dev.atlas.store;

import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import reactor.core.publisher.Mono;

/**
 * The registry object of one store in storage: found by the reference's priority order, read
 * within the one registry size limit, and written (which is what commits a flush).
 */
final class RegistryObject {
    private final Storage storage;
    private final String key;
    private final RegistryFile file;

    RegistryObject(Storage storage, StoreLayout layout, RegistryFile file) {
        this.storage = storage;
        this.key = layout.key(file.fileName());
        this.file = file;
    }

    RegistryFile file() {
        return file;
    }

    /**
     * The registry object under {@code layout}'s prefix: when several of the six names exist, the
     * first in {@link RegistryFile#PRIORITY}; empty when none does.
     */
    static Mono<Optional<ObjectInfo>> find(Storage storage, StoreLayout layout) {
        return storage.list(layout.key("atlas.")).collectList().map(objects -> {
            Map<String, ObjectInfo> byName = new HashMap<>();
            for (ObjectInfo o : objects) {
                String name = layout.relative(o.key());
                if (RegistryFile.ofFileName(name) != null) {
                    byName.put(name, o);
                }
            }
            for (RegistryFile f : RegistryFile.PRIORITY) {
                ObjectInfo o = byName.get(f.fileName());
                if (o != null) {
                    return Optional.of(o);
                }
            }
            return Optional.empty();
        });
    }

    /** The registry file a found object is (its name is one of the six). */
    static RegistryFile fileOf(ObjectInfo info) {
        return RegistryFile.ofFileName(info.key().substring(info.key().lastIndexOf('/') + 1));
    }

    /** A decoded registry and the object (version included) it was read from or written as. */
    record Versioned(Registry registry, ObjectInfo info) {
    }

    /**
     * Reads and decodes the registry object {@code key}: content and version from one read, so a
     * concurrent replace is never read half (the size a listing reported is not trusted).
     *
     * @throws CorruptFileException (as an error signal) if it is above the registry size limit or does not decode
     * @throws dev.atlas.error.StoreNotFoundException (as an error signal) if it is the tombstone of a deletion
     */
    static Mono<Versioned> read(Storage storage, String key) {
        return readIfChanged(storage, key, null);
    }

    /**
     * As {@link #read}, but completes empty, after one conditional request, when the object is
     * still version {@code known}.
     */
    static Mono<Versioned> readIfChanged(Storage storage, String key, String known) {
        return storage.getIfChanged(key, known, RegistryCodec.MAX_REGISTRY_BYTES)
                .onErrorMap(dev.atlas.error.InvalidArgumentException.class, e -> new CorruptFileException(key,
                        "registry above the limit of " + RegistryCodec.MAX_REGISTRY_BYTES + " bytes", e))
                .map(o -> {
                    byte[] bytes;
                    try {
                        bytes = ByteBufUtil.getBytes(o.content());
                    } finally {
                        o.content().release();
                    }
                    if (java.util.Arrays.equals(bytes, TOMBSTONE)) {
                        throw new dev.atlas.error.StoreNotFoundException("the store's registry " + key + " is the tombstone"
                                + " of a deletion that did not finish (Atlas.deleteIfEmpty): the store is gone; delete the"
                                + " objects left under its prefix to create one there again");
                    }
                    return new Versioned(RegistryCodec.decode(bytes, fileOf(o.info()), key), o.info());
                });
    }

    /** The key of this store's registry object. */
    String key() {
        return key;
    }

    /**
     * Writes {@code r} where no registry object exists yet.
     *
     * @throws AlreadyExistsException (as an error signal) if one does
     */
    Mono<ObjectInfo> create(Registry r) {
        return encoded(r).flatMap(body -> storage.putIfAbsent(key, body));
    }

    /**
     * Writes {@code r} over the registry object if it is still version {@code expected}: the
     * commit point of a flush, a compare-and-swap so that concurrent writers never overwrite each
     * other's commits.
     *
     * @throws dev.atlas.error.ObjectChangedException (as an error signal) if another writer committed first
     */
    Mono<ObjectInfo> writeIfMatch(Registry r, String expected) {
        return encoded(r).flatMap(body -> storage.putIfMatch(key, expected, body));
    }

    /**
     * What replaces the registry of a store being deleted ({@link StoreCommit#deleteIfEmpty}):
     * bytes no registry format decodes (not JSON, not a MessagePack map, no zstd or LZ4 frame),
     * which {@link #read} reports as {@link dev.atlas.error.StoreNotFoundException}; so a process
     * that opens the store meanwhile (or after a deletion that did not finish) finds no store, never
     * an empty one to write into.
     */
    static final byte[] TOMBSTONE = "ATLAS STORE BEING DELETED\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    /**
     * Replaces the registry object with {@link #TOMBSTONE} if it is still version {@code expected}.
     *
     * @throws dev.atlas.error.ObjectChangedException (as an error signal) if another writer committed first
     */
    Mono<ObjectInfo> tombstoneIfMatch(String expected) {
        return storage.putIfMatch(key, expected, Mono.fromSupplier(() -> Unpooled.wrappedBuffer(TOMBSTONE)));
    }

    private Mono<Mono<ByteBuf>> encoded(Registry r) {
        return Mono.fromCallable(() -> RegistryCodec.encode(r, file))
                .map(bytes -> Mono.fromSupplier(() -> Unpooled.wrappedBuffer(bytes)));
    }
}
