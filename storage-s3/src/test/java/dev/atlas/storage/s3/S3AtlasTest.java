package dev.atlas.storage.s3;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static dev.atlas.testing.Await.block;

import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import dev.atlas.store.AtlasContract;
import io.netty.buffer.ByteBuf;
import dev.atlas.format.DType;
import dev.atlas.array.ArraySpec;
import dev.atlas.store.Atlas;
import dev.atlas.store.DatasetView;
import dev.atlas.array.NdArray;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
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

    /**
     * A cross-dataset bulk read on an object store coalesces its blocks into ranges of at least
     * 2 MiB (a request costs a round trip and a price), even when {@code ioConcurrency} alone would
     * cut the bytes into ranges of a few hundred KiB: 12 datasets of 512 KiB of barely compressible
     * floats in 256 KiB blocks, read with 64 ranges in flight, went out as 24 block-sized GETs.
     */
    @Test
    void bulkReadsOnAnObjectStoreFetchRangesOfAtLeastTwoMebibytes() {
        Counting s = new Counting(newStorage());
        Atlas a = create(s, optsBuilder().blockTargetSize(256 << 10).build());
        long[] shape = {32, 64, 64};
        int n = 12;
        List<String> names = new ArrayList<>();
        Random rnd = new Random(25);
        for (int i = 0; i < n; i++) {
            DatasetView v = block(a.createDataset("d" + i));
            block(v.defineArray("t", ArraySpec.of(DType.FLOAT32, shape).withChunks(8, 64, 64)));
            float[] vals = new float[32 * 64 * 64];
            for (int k = 0; k < vals.length; k++) {
                vals[k] = rnd.nextFloat();
            }
            try (NdArray arr = NdArray.ofFloats(shape, vals)) {
                block(v.writeArray("t", new long[3], arr));
            }
            names.add("d" + i);
        }
        block(a.flush());
        block(a.close());
        Atlas fresh = reopen(s, optsBuilder().ioConcurrency(64).build());
        long stored = block(s.list("t/").map(ObjectInfo::size).reduce(0L, Long::sum));
        s.bigReads.set(0);
        try (NdArray all = block(fresh.readArrayAcrossStacked("t", names, new long[3], shape))) {
            assertEquals(n * 32L * 64 * 64 * 4, all.data().readableBytes());
        }
        long allowed = (stored + (2 << 20) - 1) / (2 << 20) + 1;
        assertTrue(s.bigReads.get() <= allowed, s.bigReads.get() + " range reads over 64 KiB for " + stored
                + " stored bytes: at most " + allowed + " expected");
        block(fresh.close());
    }

    /** Counts range reads longer than 64 KiB (block ranges; footer tail reads are 64 KiB). */
    static final class Counting extends dev.atlas.testing.ForwardingStorage {
        final AtomicLong bigReads = new AtomicLong();

        Counting(Storage d) {
            super(d);
        }

        private void count(long length) {
            if (length > 64 << 10) {
                bigReads.incrementAndGet();
            }
        }

        @Override
        public Mono<ByteBuf> read(String key, long offset, long length) {
            count(length);
            return super.read(key, offset, length);
        }

        @Override
        public Mono<ByteBuf> read(String key, long offset, long length, String version) {
            count(length);
            return super.read(key, offset, length, version);
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
