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

    /**
     * Reads and decodes the found registry object {@code info}.
     *
     * @throws CorruptFileException (as an error signal) if it is above the registry size limit or does not decode
     */
    static Mono<Registry> read(Storage storage, ObjectInfo info) {
        return Mono.defer(() -> {
            RegistryCodec.checkSize(info.size(), RegistryCodec.MAX_REGISTRY_BYTES, info.key());
            return storage.read(info.key(), 0, info.size()).map(buf -> {
                try {
                    return ByteBufUtil.getBytes(buf);
                } finally {
                    buf.release();
                }
            }).map(bytes -> RegistryCodec.decode(bytes, fileOf(info), info.key()));
        });
    }

    /**
     * Writes {@code r} where no registry object exists yet.
     *
     * @throws AlreadyExistsException (as an error signal) if one does
     */
    Mono<Void> create(Registry r) {
        return put(r, true);
    }

    /** Writes {@code r} over the registry object: the commit point of a flush. */
    Mono<Void> write(Registry r) {
        return put(r, false);
    }

    private Mono<Void> put(Registry r, boolean ifAbsent) {
        return Mono.fromCallable(() -> RegistryCodec.encode(r, file)).flatMap(bytes -> {
            Mono<ByteBuf> body = Mono.fromSupplier(() -> Unpooled.wrappedBuffer(bytes));
            return ifAbsent ? storage.putIfAbsent(key, body) : storage.put(key, body);
        }).then();
    }
}
