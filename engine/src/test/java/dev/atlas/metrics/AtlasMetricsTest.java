package dev.atlas.metrics;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.error.InvalidArgumentException;
import dev.atlas.error.NotFoundException;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.storage.Storage;
import dev.atlas.storage.StorageKind;
import dev.atlas.storage.StorageMeters;
import dev.atlas.storage.StorageMeters.Operation;
import dev.atlas.storage.StorageMeters.Outcome;
import dev.atlas.testing.EngineTestBase;
import dev.atlas.testing.ForwardingStorage;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The engine's meters move when the engine works, and their series are a fixed set. */
class AtlasMetricsTest extends EngineTestBase {

    private static Flux<ByteBuf> body(int n) {
        return Flux.defer(() -> Flux.just(Unpooled.wrappedBuffer(new byte[n])));
    }

    @Test
    void storageCallsAreCountedByOperationOutcomeAndBytesOnceEnabled() {
        StorageMeters m = StorageMeters.create();
        InMemoryStorage raw = InMemoryStorage.create(resources.allocator());
        Storage s = m.meter(raw);
        assertSame(s, m.meter(s), "metering a metered storage again");
        assertEquals(s, m.meter(raw), "two metered views of one storage are equal (cache keys)");
        assertEquals(StorageKind.MEMORY, s.kind());

        s.put("x", body(100)).block(TIMEOUT);
        assertEquals(0, m.calls(StorageKind.MEMORY, Operation.PUT, Outcome.OK), "nothing counted before enable()");

        m.enable();
        s.put("y", body(300)).block(TIMEOUT);
        s.read("y", 10, 50).doOnNext(ByteBuf::release).block(TIMEOUT);
        s.getIfChanged("y", null, 1 << 20).doOnNext(o -> o.content().release()).block(TIMEOUT);
        assertThrows(NotFoundException.class, () -> s.read("missing", 0, 1).block(TIMEOUT));
        assertThrows(RuntimeException.class, () -> s.putIfAbsent("y", body(1)).block(TIMEOUT));
        assertThrows(RuntimeException.class, () -> s.read("y", 290, 50).block(TIMEOUT));
        assertEquals(2, s.list("").count().block(TIMEOUT));
        s.head("y").block(TIMEOUT);
        s.delete("x").block(TIMEOUT);

        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.PUT, Outcome.OK));
        assertEquals(300, m.bytes(StorageKind.MEMORY, Operation.PUT));
        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.READ, Outcome.OK));
        assertEquals(50, m.bytes(StorageKind.MEMORY, Operation.READ));
        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.GET, Outcome.OK));
        assertEquals(300, m.bytes(StorageKind.MEMORY, Operation.GET));
        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.READ, Outcome.NOT_FOUND));
        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.PUT, Outcome.CONFLICT));
        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.READ, Outcome.ERROR));
        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.LIST, Outcome.OK));
        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.HEAD, Outcome.OK));
        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.DELETE, Outcome.OK));
        assertTrue(m.nanos(StorageKind.MEMORY, Operation.READ, Outcome.OK) > 0);
    }

    @Test
    void aCallCancelledBeforeItEndsCountsAsCancelled() {
        StorageMeters m = StorageMeters.create();
        m.enable();
        Storage hanging = new ForwardingStorage(InMemoryStorage.create(resources.allocator())) {
            @Override
            public Mono<ByteBuf> read(String key, long offset, long length) {
                return Mono.never();
            }
        };
        Storage s = m.meter(hanging);
        assertEquals(StorageKind.MEMORY, s.kind(), "wrappers forward the kind");
        Disposable d = s.read("k", 0, 1).subscribe();
        assertEquals(0, m.calls(StorageKind.MEMORY, Operation.READ, Outcome.CANCELLED));
        d.dispose();
        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.READ, Outcome.CANCELLED));
        // A Mono whose value arrived and that is cancelled afterwards ended well.
        s.put("v", body(8)).block(TIMEOUT);
        Flux.from(s.head("v")).take(1).blockLast(TIMEOUT); // take(1) cancels after the value, before completion
        assertEquals(1, m.calls(StorageKind.MEMORY, Operation.HEAD, Outcome.OK));
        assertEquals(0, m.calls(StorageKind.MEMORY, Operation.HEAD, Outcome.CANCELLED));
    }

    @Test
    void aStoreReadMovesTheStorageCodecCacheAndBulkMeters() {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new AtlasMetrics(resources).bindTo(registry);
        double codecBefore = registry.get("atlas.codec.tasks").functionTimer().count();
        double blockRequests = registry.get("atlas.cache.requests").tag("cache", "block").functionCounter().count();

        SmallRead.run(resources, tmp);

        FunctionTimer reads = registry.get("atlas.storage.requests").tags("backend", "memory", "operation", "read",
                "outcome", "ok").functionTimer();
        assertTrue(reads.count() > 0, "storage range reads counted");
        assertTrue(reads.totalTime(TimeUnit.NANOSECONDS) > 0, "and timed");
        assertTrue(registry.get("atlas.storage.requests").tags("backend", "memory", "operation", "put", "outcome", "ok")
                .functionTimer().count() > 0, "storage writes counted");
        assertTrue(registry.get("atlas.storage.read.bytes").tag("backend", "memory").functionCounter().count() > 0);
        assertTrue(registry.get("atlas.storage.written.bytes").tag("backend", "memory").functionCounter().count() > 0);
        assertTrue(registry.get("atlas.codec.tasks").functionTimer().count() > codecBefore, "codec tasks counted");
        assertTrue(registry.get("atlas.codec.tasks").functionTimer().totalTime(TimeUnit.NANOSECONDS) > 0);
        assertNotNull(registry.get("atlas.codec.queued").gauge());
        assertTrue(registry.get("atlas.cache.requests").tag("cache", "block").functionCounter().count() > blockRequests);
        assertTrue(registry.get("atlas.cache.resident.bytes").tag("cache", "block").gauge().value() >= 0);

        // Series: one timer per operation and outcome of the one backend in use, nothing per key.
        long storageSeries = registry.getMeters().stream().filter(x -> x.getId().getName().startsWith("atlas.storage."))
                .count();
        assertEquals(Operation.values().length * Outcome.values().length + 2, storageSeries);
        for (Meter meter : registry.getMeters()) {
            for (var tag : meter.getId().getTags()) {
                assertTrue(java.util.Set.of("cache", "backend", "operation", "outcome", "kind").contains(tag.getKey()),
                        meter.getId().toString());
            }
        }
    }

    @Test
    void storeMetersCountBulkReadsAndLiveStoreWork() {
        InMemoryStorage storage = InMemoryStorage.create(resources.allocator());
        dev.atlas.store.AtlasOptions options = dev.atlas.store.AtlasOptions.builder(resources).tempDirectory(tmp).build();
        dev.atlas.store.Atlas a = dev.atlas.store.Atlas.create(storage, "", options).block(TIMEOUT);
        try {
            SimpleMeterRegistry registry = new SimpleMeterRegistry();
            new AtlasMetrics(null, a).bindTo(registry);
            dev.atlas.store.DatasetView v = a.createDataset("d").block(TIMEOUT);
            v.defineArray("x", dev.atlas.array.ArraySpec.of(dev.atlas.format.DType.FLOAT32, new long[] {4})).block(TIMEOUT);
            a.flush().block(TIMEOUT);
            assertEquals(1.0, registry.get("atlas.store.datasets").gauge().value());
            FunctionCounter bulk = registry.get("atlas.store.bulk.reads").functionCounter();
            Gauge inFlight = registry.get("atlas.store.bulk.reads.inflight").gauge();
            assertEquals(0.0, bulk.count());
            a.readArrayAcrossStacked("x", java.util.List.of("d"), new long[] {0}, new long[] {4})
                    .doOnNext(dev.atlas.array.NdArray::close).block(TIMEOUT);
            a.readArrayAcross("x", java.util.List.of("d", "nope"), new long[] {0}, new long[] {4})
                    .doOnNext(dev.atlas.store.DatasetRead::close).blockLast(TIMEOUT);
            assertEquals(2.0, bulk.count());
            assertEquals(0.0, inFlight.value());
            assertNotNull(registry.get("atlas.store.live.refreshes").functionCounter());
            assertNotNull(registry.get("atlas.store.live.commitretries").functionCounter());
            assertTrue(registry.find("atlas.cache.requests").meters().isEmpty(), "no engine meters without resources");
        } finally {
            a.close().block(TIMEOUT);
        }
        assertThrows(InvalidArgumentException.class, () -> new AtlasMetrics(null, null));
    }
}
