package dev.atlas.testing;

import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** A {@link Storage} that forwards every call: tests override the calls they observe. */
public class ForwardingStorage implements Storage {
    private final Storage delegate;

    public ForwardingStorage(Storage delegate) {
        this.delegate = delegate;
    }

    @Override
    public Mono<ByteBuf> read(String key, long offset, long length) {
        return delegate.read(key, offset, length);
    }

    @Override
    public Mono<ByteBuf> read(String key, long offset, long length, String version) {
        return delegate.read(key, offset, length, version);
    }

    @Override
    public Mono<dev.atlas.storage.StoredObject> getIfChanged(String key, String knownVersion, long maxBytes) {
        return delegate.getIfChanged(key, knownVersion, maxBytes);
    }

    @Override
    public Mono<ObjectInfo> putIfMatch(String key, String expectedVersion, Publisher<ByteBuf> body) {
        return delegate.putIfMatch(key, expectedVersion, body);
    }

    @Override
    public Mono<ObjectInfo> head(String key) {
        return delegate.head(key);
    }

    @Override
    public Flux<ObjectInfo> list(String prefix) {
        return delegate.list(prefix);
    }

    @Override
    public Mono<ObjectInfo> put(String key, Publisher<ByteBuf> body) {
        return delegate.put(key, body);
    }

    @Override
    public Mono<ObjectInfo> putIfAbsent(String key, Publisher<ByteBuf> body) {
        return delegate.putIfAbsent(key, body);
    }

    @Override
    public Mono<Void> delete(String key) {
        return delegate.delete(key);
    }

    @Override
    public boolean cheapRangeReads() {
        return delegate.cheapRangeReads();
    }

    @Override
    public dev.atlas.storage.StorageKind kind() {
        return delegate.kind();
    }
}
