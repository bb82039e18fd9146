package dev.atlas.storage.s3;

import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import dev.atlas.store.AtlasContract;
import io.netty.buffer.ByteBuf;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * The Atlas store's behaviours on S3 (Adobe S3Mock through the CRT client): one S3 client for the
 * class, each store under its own key prefix.
 */
@ExtendWith(S3Servers.class)
class S3AtlasTest extends AtlasContract {
    private static S3Storage store;
    private static final AtomicInteger STORES = new AtomicInteger();

    @Override
    protected Storage newStorage() {
        synchronized (S3AtlasTest.class) {
            if (store == null) {
                store = S3Storage.open(S3Servers.get(S3Servers.Kind.S3MOCK).options("atlas-" + UUID.randomUUID() + "/").build(),
                        resources);
            }
        }
        return new Prefixed(store, "s" + STORES.incrementAndGet() + "/");
    }

    @AfterAll
    static void closeStore() {
        synchronized (S3AtlasTest.class) {
            if (store != null) {
                store.close();
                store = null;
            }
        }
    }

    /** A storage under a key prefix of another: a fresh, empty store per test. */
    static final class Prefixed implements Storage {
        private final Storage d;
        private final String p;

        Prefixed(Storage d, String p) {
            this.d = d;
            this.p = p;
        }

        @Override
        public Mono<ByteBuf> read(String key, long offset, long length) {
            return d.read(p + key, offset, length);
        }

        @Override
        public Mono<ByteBuf> read(String key, long offset, long length, String version) {
            return d.read(p + key, offset, length, version);
        }

        @Override
        public Mono<dev.atlas.storage.StoredObject> getIfChanged(String key, String knownVersion, long maxBytes) {
            return d.getIfChanged(p + key, knownVersion, maxBytes)
                    .map(o -> new dev.atlas.storage.StoredObject(strip(o.info()), o.content()));
        }

        @Override
        public Mono<ObjectInfo> putIfMatch(String key, String expectedVersion, Publisher<ByteBuf> body) {
            return d.putIfMatch(p + key, expectedVersion, body).map(this::strip);
        }

        @Override
        public Mono<ObjectInfo> head(String key) {
            return d.head(p + key).map(this::strip);
        }

        @Override
        public Flux<ObjectInfo> list(String prefix) {
            return d.list(p + prefix).map(this::strip);
        }

        @Override
        public Mono<ObjectInfo> put(String key, Publisher<ByteBuf> body) {
            return d.put(p + key, body).map(this::strip);
        }

        @Override
        public Mono<ObjectInfo> putIfAbsent(String key, Publisher<ByteBuf> body) {
            return d.putIfAbsent(p + key, body).map(this::strip);
        }

        @Override
        public Mono<Void> delete(String key) {
            return d.delete(p + key);
        }

        private ObjectInfo strip(ObjectInfo o) {
            return new ObjectInfo(o.key().substring(p.length()), o.size(), o.version(), o.modified());
        }
    }

}
