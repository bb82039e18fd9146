package dev.atlas.array;

import dev.atlas.testing.EngineTestBase;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.NotFoundException;
import dev.atlas.format.DType;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * Ingestion memory does not grow with the data: while 128 MiB stream through a pending layer, at
 * most the open block plus the blocks being spilled in the background stay in memory (the rest is
 * compressed and spilled), and the flush streams
 * the spill file to storage in pieces. The storage here counts bytes and keeps none, so the only
 * memory in play is the engine's.
 */
class BoundedIngestTest extends EngineTestBase {
    /** Stores sizes only; reads are not supported (nothing here reads committed blocks). */
    static final class CountingStorage implements Storage {
        final Map<String, ObjectInfo> objects = new ConcurrentHashMap<>();
        final AtomicLong bytes = new AtomicLong();
        final AtomicLong largestPiece = new AtomicLong();

        @Override
        public Mono<ByteBuf> read(String key, long offset, long length) {
            return Mono.error(new UnsupportedOperationException("counting storage keeps no bytes"));
        }

        @Override
        public Mono<ByteBuf> read(String key, long offset, long length, String version) {
            return read(key, offset, length);
        }

        @Override
        public Mono<dev.atlas.storage.StoredObject> getIfChanged(String key, String knownVersion, long maxBytes) {
            return Mono.error(new UnsupportedOperationException("counting storage keeps no bytes"));
        }

        @Override
        public Mono<ObjectInfo> putIfMatch(String key, String expectedVersion, Publisher<ByteBuf> body) {
            return put(key, body);
        }

        @Override
        public Mono<ObjectInfo> head(String key) {
            ObjectInfo o = objects.get(key);
            return o == null ? Mono.error(new NotFoundException(key)) : Mono.just(o);
        }

        @Override
        public Flux<ObjectInfo> list(String prefix) {
            return Flux.fromIterable(objects.values()).filter(o -> o.key().startsWith(prefix));
        }

        @Override
        public Mono<ObjectInfo> put(String key, Publisher<ByteBuf> body) {
            return Flux.from(body).map(b -> {
                try {
                    largestPiece.accumulateAndGet(b.readableBytes(), Math::max);
                    return (long) b.readableBytes();
                } finally {
                    b.release();
                }
            }).reduce(0L, Long::sum).map(n -> {
                bytes.addAndGet(n);
                ObjectInfo o = new ObjectInfo(key, n, Long.toString(System.nanoTime()));
                objects.put(key, o);
                return o;
            });
        }

        @Override
        public Mono<ObjectInfo> putIfAbsent(String key, Publisher<ByteBuf> body) {
            if (objects.containsKey(key)) {
                return Flux.from(body).doOnNext(ByteBuf::release).then(Mono.error(new AlreadyExistsException(key)));
            }
            return put(key, body);
        }

        @Override
        public Mono<Void> delete(String key) {
            return Mono.fromRunnable(() -> objects.remove(key));
        }
    }

    @Test
    void pendingMemoryStaysNearOneBlockWhateverTheVolume() {
        CountingStorage storage = new CountingStorage();
        long block = 1 << 20;
        ArrayFileOptions o = ArrayFileOptions.builder(resources).codec(BlockCodecs.lz4()).blockTargetSize(block)
                .tempDirectory(tmp).build();
        int chunk = 64 * 1024; // int32 elements: 256 KiB per chunk
        int chunks = 512;      // 128 MiB in all
        ArrayFile f = ArrayFile.create(storage, "big.af", o).block(TIMEOUT);
        f.defineArray("x", ArraySpec.of(DType.INT32, (long) chunk * chunks).withChunks(chunk)).block(TIMEOUT);
        long seed = 0x9E3779B97F4A7C15L;
        long maxInMemory = 0;
        byte[] raw = new byte[chunk * 4];
        for (int c = 0; c < chunks; c++) {
            for (int i = 0; i < raw.length; i += 8) {
                seed ^= seed << 13;
                seed ^= seed >>> 7;
                seed ^= seed << 17;
                for (int k = 0; k < 8; k++) {
                    raw[i + k] = (byte) (seed >>> (8 * k));
                }
            }
            try (NdArray d = NdArray.wrap(DType.INT32, new long[] {chunk}, Unpooled.wrappedBuffer(raw))) {
                f.writeArray("x", new long[] {(long) c * chunk}, d).block(TIMEOUT);
            }
            maxInMemory = Math.max(maxInMemory, Probes.pendingBytesInMemory(f));
        }
        f.flush().block(TIMEOUT);
        long total = (long) chunk * chunks * 4;
        System.out.printf("bounded ingest: %d MiB written, at most %d KiB of pending blocks in memory,"
                + " %d MiB uploaded in pieces of at most %d KiB%n", total >> 20, maxInMemory >> 10,
                storage.bytes.get() >> 20, storage.largestPiece.get() >> 10);
        long bound = (o.writeConcurrency() + 1) * block;
        assertTrue(maxInMemory <= bound, "pending memory " + maxInMemory + " stays within the blocks spilling in the"
                + " background plus the open one (" + bound + ")");
        assertTrue(storage.bytes.get() >= total, "the sidecar holds all the data (incompressible)");
        assertTrue(storage.largestPiece.get() <= 1 << 20, "the upload streams in pieces of at most 1 MiB");
        assertEquals(2, f.numLayers());
        f.close().block(TIMEOUT);
    }
}
