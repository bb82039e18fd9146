package dev.atlas.storage;

import dev.atlas.storage.StorageMeters.Operation;
import dev.atlas.storage.StorageMeters.Row;
import io.netty.buffer.ByteBuf;
import java.nio.file.Path;
import java.time.Duration;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A storage whose calls {@link StorageMeters} counts (see {@link StorageMeters#meter}). While the
 * counters are not enabled every call returns the delegate's publisher as it is.
 */
final class MeteredStorage implements Storage {
    private final Storage delegate;
    private final StorageMeters meters;
    private final StorageKind kind;
    private final Row read;
    private final Row get;
    private final Row head;
    private final Row list;
    private final Row put;
    private final Row copy;
    private final Row delete;
    private final FileAdoption adoption;

    MeteredStorage(Storage delegate, StorageMeters meters, StorageKind kind) {
        this.delegate = delegate;
        this.meters = meters;
        this.kind = kind;
        this.read = meters.row(kind, Operation.READ);
        this.get = meters.row(kind, Operation.GET);
        this.head = meters.row(kind, Operation.HEAD);
        this.list = meters.row(kind, Operation.LIST);
        this.put = meters.row(kind, Operation.PUT);
        this.copy = meters.row(kind, Operation.COPY);
        this.delete = meters.row(kind, Operation.DELETE);
        FileAdoption a = delegate.fileAdoption();
        this.adoption = a == null ? null : new MeteredAdoption(a);
    }

    StorageMeters meters() {
        return meters;
    }

    private <T> Mono<T> metered(Mono<T> call, Row row, int bytes) {
        return meters.enabled() ? new MeteredCall.OfMono<>(call, row, bytes) : call;
    }

    @Override
    public Mono<ByteBuf> read(String key, long offset, long length) {
        return metered(delegate.read(key, offset, length), read, MeteredCall.BUFFER_BYTES);
    }

    @Override
    public Mono<ByteBuf> read(String key, long offset, long length, String version) {
        return metered(delegate.read(key, offset, length, version), read, MeteredCall.BUFFER_BYTES);
    }

    @Override
    public Mono<StoredObject> getIfChanged(String key, String knownVersion, long maxBytes) {
        return metered(delegate.getIfChanged(key, knownVersion, maxBytes), get, MeteredCall.OBJECT_BYTES);
    }

    @Override
    public Mono<ObjectInfo> putIfMatch(String key, String expectedVersion, Publisher<ByteBuf> body) {
        return metered(delegate.putIfMatch(key, expectedVersion, body), put, MeteredCall.INFO_SIZE);
    }

    @Override
    public Mono<ObjectInfo> head(String key) {
        return metered(delegate.head(key), head, MeteredCall.NO_BYTES);
    }

    @Override
    public Flux<ObjectInfo> list(String prefix) {
        Flux<ObjectInfo> f = delegate.list(prefix);
        return meters.enabled() ? new MeteredCall.OfFlux<>(f, list) : f;
    }

    @Override
    public Mono<ObjectInfo> put(String key, Publisher<ByteBuf> body) {
        return metered(delegate.put(key, body), put, MeteredCall.INFO_SIZE);
    }

    @Override
    public Mono<ObjectInfo> putIfAbsent(String key, Publisher<ByteBuf> body) {
        return metered(delegate.putIfAbsent(key, body), put, MeteredCall.INFO_SIZE);
    }

    @Override
    public Mono<ObjectInfo> copy(ObjectInfo from, String toKey) {
        return metered(delegate.copy(from, toKey), copy, MeteredCall.NO_BYTES);
    }

    @Override
    public Mono<Void> delete(String key) {
        return metered(delegate.delete(key), delete, MeteredCall.NO_BYTES);
    }

    @Override
    public Mono<Long> deleteAbandonedUploads(Duration olderThan) {
        return delegate.deleteAbandonedUploads(olderThan);
    }

    @Override
    public boolean cheapRangeReads() {
        return delegate.cheapRangeReads();
    }

    @Override
    public StorageKind kind() {
        return kind;
    }

    @Override
    public FileAdoption fileAdoption() {
        return adoption;
    }

    /** Equal to every metered view of the same storage (read-cache keys compare storages). */
    @Override
    public boolean equals(Object o) {
        return o instanceof MeteredStorage m && m.delegate.equals(delegate);
    }

    @Override
    public int hashCode() {
        return delegate.hashCode();
    }

    @Override
    public String toString() {
        return delegate.toString();
    }

    /** The delegate's file adoption, each adoption counted as a {@link Operation#PUT}. */
    private final class MeteredAdoption implements FileAdoption {
        private final FileAdoption a;

        MeteredAdoption(FileAdoption a) {
            this.a = a;
        }

        @Override
        public Path stagingDirectory(String key) {
            return a.stagingDirectory(key);
        }

        @Override
        public String stagedFilePrefix() {
            return a.stagedFilePrefix();
        }

        @Override
        public Mono<ObjectInfo> adopt(String key, Path staged, boolean ifAbsent) {
            return metered(a.adopt(key, staged, ifAbsent), put, MeteredCall.INFO_SIZE);
        }

        @Override
        public Mono<ObjectInfo> adoptIfMatch(String key, Path staged, String expectedVersion) {
            return metered(a.adoptIfMatch(key, staged, expectedVersion), put, MeteredCall.INFO_SIZE);
        }
    }
}
