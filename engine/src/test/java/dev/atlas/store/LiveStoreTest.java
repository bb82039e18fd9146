package dev.atlas.store;

import static dev.atlas.store.AtlasContract.defineFloats;
import static dev.atlas.store.AtlasContract.readFloats;
import static dev.atlas.store.AtlasContract.writeFloats;
import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.error.AtlasException;
import dev.atlas.error.ConflictException;
import dev.atlas.error.CorruptFileException;
import dev.atlas.error.StoreNotFoundException;
import dev.atlas.storage.ObjectInfo;
import dev.atlas.storage.Storage;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.testing.EngineTestBase;
import dev.atlas.testing.FaultInjectingStorage;
import io.netty.buffer.Unpooled;
import java.time.Duration;
import java.util.List;
import reactor.core.publisher.Mono;
import org.junit.jupiter.api.Test;

/**
 * Two store handles on one storage, as two processes would be (nothing shared in memory): commits
 * of disjoint datasets merge, a dataset both changed is a typed conflict, a refresh costs one
 * request when nothing changed and brings the other's commit when something did, and garbage is
 * only deleted once older than the garbage age (compaction yields to a flush in progress).
 */
class LiveStoreTest extends EngineTestBase {

    private AtlasOptions opts(Duration garbageAge) {
        return AtlasOptions.builder(resources).tempDirectory(tmp).blockTargetSize(256).garbageAge(garbageAge).build();
    }

    @Test
    void writersOfDisjointDatasetsBothCommitAndRefreshShowsTheOther() {
        InMemoryStorage mem = InMemoryStorage.create();
        Atlas a = block(Atlas.create(mem, "", opts(Duration.ofHours(1))));
        Atlas b = block(Atlas.open(mem, "", opts(Duration.ofHours(1))));
        writeFloats(defineFloats(a, "from-a", "t", 2), "t", new long[] {0}, new long[] {2}, 1, 2);
        writeFloats(defineFloats(b, "from-b", "t", 2), "t", new long[] {0}, new long[] {2}, 3, 4);
        block(a.flush());
        block(b.flush()); // loses the race for the registry: reads a's commit, merges, commits
        assertEquals(List.of("from-a", "from-b"), b.listDatasets());
        assertFalse(a.datasetExists("from-b"), "a has not refreshed yet");
        assertTrue(block(a.refresh()));
        assertEquals(List.of("from-a", "from-b"), a.listDatasets());
        assertArrayEquals(new float[] {3, 4}, readFloats(a.dataset("from-b"), "t"));
        assertArrayEquals(new float[] {1, 2}, readFloats(b.dataset("from-a"), "t"));
        Atlas fresh = block(Atlas.open(mem, "", opts(Duration.ofHours(1))));
        assertArrayEquals(new float[] {1, 2}, readFloats(fresh.dataset("from-a"), "t"));
        assertArrayEquals(new float[] {3, 4}, readFloats(fresh.dataset("from-b"), "t"));
        for (Atlas x : List.of(a, b, fresh)) {
            block(x.close());
        }
    }

    @Test
    void twoWritersOfOneDatasetGetATypedConflictAndLoseNothingCommitted() {
        InMemoryStorage mem = InMemoryStorage.create();
        Atlas a = block(Atlas.create(mem, "", opts(Duration.ofHours(1))));
        writeFloats(defineFloats(a, "shared", "t", 2), "t", new long[] {0}, new long[] {2}, 1, 2);
        block(a.flush());
        Atlas b = block(Atlas.open(mem, "", opts(Duration.ofHours(1))));
        writeFloats(a.dataset("shared"), "t", new long[] {0}, new long[] {2}, 5, 6);
        writeFloats(b.dataset("shared"), "t", new long[] {0}, new long[] {2}, 7, 8);
        block(a.flush());
        ConflictException e = assertThrows(ConflictException.class, () -> block(b.flush()));
        assertTrue(e.getMessage().contains("'shared'"), e.getMessage());
        Atlas fresh = block(Atlas.open(mem, "", opts(Duration.ofHours(1))));
        assertArrayEquals(new float[] {5, 6}, readFloats(fresh.dataset("shared"), "t"), "the acknowledged commit stands");
        for (Atlas x : List.of(a, b, fresh)) {
            block(x.close());
        }
    }

    @Test
    void aRefreshWhenNothingChangedIsOneRequest() {
        InMemoryStorage mem = InMemoryStorage.create();
        Atlas w = block(Atlas.create(mem, "", opts(Duration.ofHours(1))));
        for (int i = 0; i < 5; i++) {
            writeFloats(defineFloats(w, "d" + i, "t", 2), "t", new long[] {0}, new long[] {2}, i, i);
        }
        block(w.flush());
        FaultInjectingStorage counted = new FaultInjectingStorage(mem);
        Atlas r = block(Atlas.open(counted, "", opts(Duration.ofHours(1))));
        readFloats(r.dataset("d0"), "t"); // opens the array file set
        int before = counted.calls();
        assertFalse(block(r.refresh()));
        assertEquals(1, counted.calls() - before, "calls: " + counted.log().subList(before, counted.calls()));
        writeFloats(w.dataset("d3"), "t", new long[] {0}, new long[] {2}, 9, 9);
        block(w.flush());
        before = counted.calls();
        assertTrue(block(r.refresh()));
        // the registry, one listing of the changed file set, the new sidecar's footer, its statistics
        assertTrue(counted.calls() - before <= 4, "calls: " + counted.log().subList(before, counted.calls()));
        assertArrayEquals(new float[] {9, 9}, readFloats(r.dataset("d3"), "t"));
        block(r.close());
        block(w.close());
    }

    @Test
    void garbageIsDeletedOnlyWhenOldAndCompactionYieldsToAFlushInProgress() {
        InMemoryStorage mem = InMemoryStorage.create();
        Atlas a = block(Atlas.create(mem, "", opts(Duration.ofHours(1))));
        writeFloats(defineFloats(a, "d", "t", 2), "t", new long[] {0}, new long[] {2}, 1, 2);
        block(a.flush());
        writeFloats(a.dataset("d"), "t", new long[] {0}, new long[] {2}, 3, 4);
        block(a.flush());
        // Another writer's flush in progress: a sidecar no commit counts yet (here: a copy of sidecar 1).
        byte[] layer = mem.getBytes("t/data.1.af");
        assertNotNull(layer);
        mem.putBytes("t/data.9.af", layer);
        CompactionReport young = block(a.compact());
        assertEquals(List.of("t"), young.yielded(), "compaction yields to the flush in progress");
        assertEquals(List.of(), young.garbage());
        assertNotNull(mem.getBytes("t/data.9.af"), "a young uncommitted sidecar is not garbage");
        assertArrayEquals(new float[] {3, 4}, readFloats(a.dataset("d"), "t"), "and it is invisible");
        block(a.close());

        Atlas old = block(Atlas.open(mem, "", opts(Duration.ZERO)));
        CompactionReport report = block(old.compact());
        assertEquals(List.of("t"), report.compacted());
        assertEquals(List.of("t/data.9.af"), report.garbage().stream().filter(k -> !k.startsWith("t/_retained/")).toList());
        assertEquals(3, report.garbage().size() - 1, "the compaction's retained base and sidecars 1 and 2, older than zero: "
                + report.garbage());
        assertEquals(null, mem.getBytes("t/data.9.af"));
        assertArrayEquals(new float[] {3, 4}, readFloats(old.dataset("d"), "t"));
        block(old.close());
        Atlas fresh = block(Atlas.open(mem, "", opts(Duration.ofHours(1))));
        assertArrayEquals(new float[] {3, 4}, readFloats(fresh.dataset("d"), "t"));
        block(fresh.close());
    }

    /**
     * A pinned state survives another writer's compaction: the replaced base and the deleted
     * sidecars stay readable as retained copies (memory keeps no old versions, so nothing else
     * could serve them), until garbage collection older than the garbage age removes them; then
     * the pinned read fails typed, never with other bytes.
     */
    @Test
    void aPinnedReadFinishesOnItsStateAcrossAnotherWritersCompactionUntilTheRetainedCopiesAreCollected() {
        InMemoryStorage mem = InMemoryStorage.create();
        Atlas w = block(Atlas.create(mem, "", opts(Duration.ofHours(1))));
        float[] v1 = new float[64];
        float[] v2 = new float[64];
        for (int i = 0; i < 64; i++) {
            v1[i] = i;
            v2[i] = 1000 + i;
        }
        DatasetView dv = block(w.createDataset("d"));
        block(dv.defineArray("t", dev.atlas.array.ArraySpec.of(dev.atlas.format.DType.FLOAT32, 64).withChunks(8)));
        writeFloats(dv, "t", new long[] {0}, new long[] {64}, v1);
        block(w.flush());
        writeFloats(w.dataset("d"), "t", new long[] {32}, new long[] {32}, java.util.Arrays.copyOfRange(v2, 32, 64));
        block(w.flush()); // the base and sidecar 1 both hold visible chunks
        Atlas r = block(Atlas.open(mem, "", opts(Duration.ofHours(1))));
        ArrayPin pin = block(r.pin("t"));
        float[] pinned = v1.clone();
        System.arraycopy(v2, 32, pinned, 32, 32);

        writeFloats(w.dataset("d"), "t", new long[] {0}, new long[] {64}, v2);
        block(w.flush());
        CompactionReport report = block(w.compact());
        assertEquals(List.of("t"), report.compacted());
        assertNull(mem.getBytes("t/data.1.af"), "the absorbed sidecar is deleted");
        try (dev.atlas.array.NdArray a = block(pin.readArray("d", null, null))) {
            assertArrayEquals(pinned, AtlasContract.floats(a), "the pinned state, read after the compaction");
        }
        assertTrue(r.liveCounters().get("retainedReads") > 0, "served by retained copies: " + r.liveCounters());

        Atlas collector = block(Atlas.open(mem, "", opts(Duration.ZERO)));
        CompactionReport gc = block(collector.gc());
        assertTrue(gc.garbage().stream().anyMatch(k -> k.startsWith("t/_retained/data.af.")), gc.garbage().toString());
        assertTrue(gc.garbage().stream().anyMatch(k -> k.startsWith("t/_retained/data.1.af.")), gc.garbage().toString());
        Atlas late = block(Atlas.open(mem, "", opts(Duration.ofHours(1))));
        ArrayPin stale = block(late.pin("t"));
        assertArrayEquals(v2, readFloats(late.dataset("d"), "t"));
        try (dev.atlas.array.NdArray a = block(pin.readArray("d", null, null))) {
            // Blocks the caches hold are that version's bytes; nothing else may come back.
            assertArrayEquals(pinned, AtlasContract.floats(a), "with the retained copies gone, only the old bytes or an error");
        } catch (dev.atlas.error.ObjectChangedException expected) {
            assertTrue(expected.retryable());
        }
        try (dev.atlas.array.NdArray a = block(stale.readArray("d", null, null))) {
            assertArrayEquals(v2, AtlasContract.floats(a));
        }
        for (Atlas x : List.of(w, r, collector, late)) {
            block(x.close());
        }
    }

    // ------------------------------------------------------------------ deleting an empty store

    @Test
    void deletingAnEmptyStoreRemovesItsObjectsAndNothingElse() {
        InMemoryStorage mem = InMemoryStorage.create();
        List<String> foreign = List.of("p/exports/data.csv", "p/notes.txt", "p/t/_retained/notes.txt", "p/t/data.01.af",
                "p/t/more/data.af");
        for (String k : foreign) {
            block(mem.put(k, Mono.fromSupplier(() -> Unpooled.wrappedBuffer(new byte[] {1}))));
        }
        Atlas a = block(Atlas.create(mem, "p", opts(Duration.ofHours(1))));
        // A dataset created and deleted again leaves an array file set behind.
        defineFloats(a, "gone", "t", 2);
        block(a.flush());
        block(a.deleteDataset("gone"));
        block(a.flush());
        assertTrue(block(a.deleteIfEmpty()));
        block(a.close());
        assertEquals(foreign, block(mem.list("p/").map(ObjectInfo::key).sort().collectList()),
                "the store's objects are gone, those that are not the store's stay");
        for (String own : List.of("atlas.json", "atlas.msgpack.zst", "_commit.lock", "t/data.af", "t/data.7.af", "t/data.stats",
                "t/_retained/data.af.3f2a.1733500000000", "t/_retained/data.12.af.x.1")) {
            assertTrue(StoreCommit.isStoreObject(own), own);
        }
        assertThrows(StoreNotFoundException.class, () -> block(Atlas.open(mem, "p", opts(Duration.ofHours(1)))));
    }

    @Test
    void aStoreAnotherWriterPutADatasetInIsKeptWithItsData() {
        InMemoryStorage mem = InMemoryStorage.create();
        Atlas a = block(Atlas.create(mem, "", opts(Duration.ofHours(1))));
        Atlas b = block(Atlas.open(mem, "", opts(Duration.ofHours(1))));
        writeFloats(defineFloats(b, "from-b", "t", 2), "t", new long[] {0}, new long[] {2}, 3, 4);
        block(b.flush());
        assertFalse(a.datasetExists("from-b"), "a has not seen b's commit");
        assertFalse(block(a.deleteIfEmpty()), "the registry as stored names b's dataset");
        Atlas fresh = block(Atlas.open(mem, "", opts(Duration.ofHours(1))));
        assertArrayEquals(new float[] {3, 4}, readFloats(fresh.dataset("from-b"), "t"));
        for (Atlas x : List.of(a, b, fresh)) {
            block(x.close());
        }
    }

    @Test
    void aWriterThatOpenedTheStoreBeforeItWasDeletedCannotCommitIntoIt() {
        InMemoryStorage mem = InMemoryStorage.create();
        Atlas a = block(Atlas.create(mem, "", opts(Duration.ofHours(1))));
        Atlas b = block(Atlas.open(mem, "", opts(Duration.ofHours(1))));
        assertTrue(block(a.deleteIfEmpty()));
        writeFloats(defineFloats(b, "late", "t", 2), "t", new long[] {0}, new long[] {2}, 5, 6);
        assertThrows(AtlasException.class, () -> block(b.flush()), "no commit is acknowledged into a deleted store");
        assertThrows(StoreNotFoundException.class, () -> block(Atlas.open(mem, "", opts(Duration.ofHours(1)))));
        block(a.close());
        block(b.close());
    }

    @Test
    void aCommitThatComesWhileTheStoreIsBeingDeletedFailsAndIsNotLost() {
        InMemoryStorage mem = InMemoryStorage.create();
        Atlas b = block(Atlas.create(mem, "", opts(Duration.ofHours(1))));
        writeFloats(defineFloats(b, "late", "t", 2), "t", new long[] {0}, new long[] {2}, 5, 6);
        java.util.concurrent.atomic.AtomicReference<Object> bFlush = new java.util.concurrent.atomic.AtomicReference<>();
        // a's storage lets b flush at the moment a, having found the store empty and swapped its
        // registry, lists the objects to delete: the window between the check and the deletes.
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
        Storage racing = new Storage() {
            @Override
            public Mono<io.netty.buffer.ByteBuf> read(String key, long offset, long length) {
                return mem.read(key, offset, length);
            }

            @Override
            public Mono<io.netty.buffer.ByteBuf> read(String key, long offset, long length, String version) {
                return mem.read(key, offset, length, version);
            }

            @Override
            public Mono<dev.atlas.storage.StoredObject> getIfChanged(String key, String knownVersion, long maxBytes) {
                return mem.getIfChanged(key, knownVersion, maxBytes);
            }

            @Override
            public Mono<ObjectInfo> putIfMatch(String key, String expectedVersion, org.reactivestreams.Publisher<io.netty.buffer.ByteBuf> body) {
                return mem.putIfMatch(key, expectedVersion, body);
            }

            @Override
            public Mono<ObjectInfo> head(String key) {
                return mem.head(key);
            }

            @Override
            public reactor.core.publisher.Flux<ObjectInfo> list(String prefix) {
                if (!armed.getAndSet(false)) {
                    return mem.list(prefix);
                }
                return b.flush().doOnSuccess(x -> bFlush.set("committed")).onErrorResume(e -> {
                    bFlush.set(e);
                    return Mono.empty();
                }).thenMany(mem.list(prefix));
            }

            @Override
            public Mono<ObjectInfo> put(String key, org.reactivestreams.Publisher<io.netty.buffer.ByteBuf> body) {
                return mem.put(key, body);
            }

            @Override
            public Mono<ObjectInfo> putIfAbsent(String key, org.reactivestreams.Publisher<io.netty.buffer.ByteBuf> body) {
                return mem.putIfAbsent(key, body);
            }

            @Override
            public Mono<Void> delete(String key) {
                return mem.delete(key);
            }
        };
        Atlas a = block(Atlas.open(racing, "", opts(Duration.ofHours(1))));
        armed.set(true);
        assertTrue(block(a.deleteIfEmpty()));
        assertNotNull(bFlush.get(), "b flushed inside the window");
        assertTrue(bFlush.get() instanceof AtlasException, "b's commit after the swap is refused, not acknowledged: " + bFlush.get());
        assertThrows(StoreNotFoundException.class, () -> block(Atlas.open(mem, "", opts(Duration.ofHours(1)))));
        block(a.close());
        block(b.close());
    }

    @Test
    void aStoreBeingDeletedIsRefusedByEveryRegistryFormat() {
        for (RegistryFile f : RegistryFile.PRIORITY) {
            InMemoryStorage mem = InMemoryStorage.create();
            Atlas a = block(Atlas.create(mem, "", AtlasOptions.builder(resources).tempDirectory(tmp).registryFile(f).build()));
            block(a.close());
            assertThrows(CorruptFileException.class, () -> RegistryCodec.decode(RegistryObject.TOMBSTONE, f, f.fileName()),
                    f.fileName() + ": no registry decoder (ours or another's) takes the tombstone for a registry");
            // The state between the swap and the last delete (or after a deletion that did not
            // finish): the registry object holds the tombstone, and there is no store.
            block(mem.put(f.fileName(), Mono.fromSupplier(() -> Unpooled.wrappedBuffer(RegistryObject.TOMBSTONE))));
            StoreNotFoundException e = assertThrows(StoreNotFoundException.class,
                    () -> block(Atlas.open(mem, "", opts(Duration.ofHours(1)))), f.fileName());
            assertTrue(e.getMessage().contains("tombstone"), e.getMessage());
            assertThrows(StoreNotFoundException.class, () -> block(Atlas.openOrCreate(mem, "", opts(Duration.ofHours(1)))),
                    "nor is an empty one created over it");
        }
    }
}
