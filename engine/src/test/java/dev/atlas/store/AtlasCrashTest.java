package dev.atlas.store;

import static dev.atlas.testing.Await.TIMEOUT;
import static dev.atlas.testing.Await.block;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.storage.InMemoryStorage;
import dev.atlas.storage.Storage;
import dev.atlas.testing.EngineTestBase;
import dev.atlas.testing.FaultInjectingStorage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * The store's commit point: a scripted session (writes, a new dataset, a new array name, a
 * deleted dataset, a deleted array, attributes) is flushed through a storage that "crashes" at
 * call k (that call and every later one fail), for every k the flush makes. Each time, a store
 * reopened on the surviving objects must show exactly the state before the flush or after it,
 * and must keep working: a further session on it flushes and reopens as expected.
 */
class AtlasCrashTest extends EngineTestBase {

    AtlasOptions opts() {
        // One writer: a crashed flush's objects are garbage at once, and its commit lease expires soon.
        return AtlasOptions.builder(resources).tempDirectory(tmp).blockTargetSize(256)
                .garbageAge(java.time.Duration.ZERO).commitLease(java.time.Duration.ofMillis(200)).build();
    }

    /** Committed state S0 of the scripted store. */
    void sessionOne(Atlas a) {
        DatasetView x = block(a.createDataset("a"));
        block(x.defineArray("t", ArraySpec.of(DType.FLOAT32, 8, 4).withChunks(2, 4).withFill(new FillValue.Float(-1))));
        write(x, "t", new long[] {0, 0}, new long[] {8, 4}, 0);
        block(x.defineArray("u", ArraySpec.of(DType.INT32, 5)));
        try (NdArray v = NdArray.ofInts(DType.INT32, new long[] {5}, 1, 2, 3, 4, 5)) {
            block(x.writeArray("u", new long[] {0}, v));
        }
        block(x.setAttribute("title", Attr.of("first")));
        DatasetView y = block(a.createDataset("b"));
        block(y.defineArray("t", ArraySpec.of(DType.FLOAT32, 4, 4).withChunks(2, 2)));
        write(y, "t", new long[] {0, 0}, new long[] {4, 4}, 100);
        block(a.flush());
    }

    /** The session whose flush crashes. */
    void sessionTwo(Atlas a) {
        DatasetView x = a.dataset("a");
        write(x, "t", new long[] {2, 0}, new long[] {2, 4}, 500);
        block(x.setAttribute("title", Attr.of("second")));
        block(x.setAttribute("rev", Attr.of(2L)));
        block(x.deleteArray("u"));
        block(a.deleteDataset("b"));
        DatasetView c = block(a.createDataset("c"));
        block(c.defineArray("t", ArraySpec.of(DType.FLOAT32, 2, 4)));
        write(c, "t", new long[] {0, 0}, new long[] {2, 4}, 900);
        block(c.defineArray("w", ArraySpec.of(DType.FLOAT64, 3).withFill(new FillValue.Float(Double.NaN))));
        try (NdArray v = NdArray.ofDoubles(new long[] {2}, 0.5, 1.5)) {
            block(c.writeArray("w", new long[] {0}, v));
        }
    }

    /** A third session on whatever survived: one more dataset. */
    void sessionThree(Atlas a) {
        DatasetView d = block(a.createDataset("d"));
        block(d.defineArray("t", ArraySpec.of(DType.FLOAT32, 2, 4)));
        write(d, "t", new long[] {0, 0}, new long[] {2, 4}, 7000);
    }

    static void write(DatasetView v, String array, long[] start, long[] shape, int base) {
        int n = (int) (shape[0] * shape[1]);
        float[] vals = new float[n];
        for (int i = 0; i < n; i++) {
            vals[i] = base + i;
        }
        try (NdArray a = NdArray.ofFloats(shape, vals)) {
            block(v.writeArray(array, start, a));
        }
    }

    /** Everything a reader can see: datasets, attributes, schemas, fills and every value. */
    static String fingerprint(Atlas a) {
        StringBuilder sb = new StringBuilder();
        for (String ds : a.listDatasets()) {
            DatasetView v = a.dataset(ds);
            sb.append(ds).append(' ').append(v.meta().attributes()).append('\n');
            for (String ar : v.listArrays()) {
                sb.append("  ").append(ar).append(' ').append(v.arrayMeta(ar).orElseThrow())
                        .append(" fill=").append(block(v.arrayFillValue(ar))).append(" [");
                try (NdArray x = block(v.readArray(ar))) {
                    for (long i = 0; i < x.size(); i++) {
                        sb.append(AtlasInteropTest.element(x, i)).append(',');
                    }
                }
                sb.append("]\n");
            }
        }
        sb.append("arrays ").append(a.listArrays());
        return sb.toString();
    }

    static Map<String, Long> objects(Storage s) {
        Map<String, Long> m = new TreeMap<>();
        s.list("").toStream().forEach(o -> m.put(o.key(), o.size()));
        return m;
    }

    record Outcome(int calls, int before, int after) {
    }

    Outcome crashEveryCall(Supplier<Storage> fresh, Consumer<Atlas> setup, Consumer<Atlas> script, Consumer<Atlas> more) {
        // The clean run: the states before and after, and how many calls the flush makes.
        Storage clean = fresh.get();
        Atlas a0 = block(Atlas.open(clean, "", opts()));
        setup.accept(a0);
        block(a0.close());
        Atlas pre = block(Atlas.open(clean, "", opts()));
        String before = fingerprint(pre);
        script.accept(pre);
        FaultInjectingStorage counter = new FaultInjectingStorage(clean);
        // the flush runs against the same handle; count its calls through a second store handle
        block(pre.close());
        Atlas counted = block(Atlas.open(counter, "", opts()));
        script.accept(counted);
        int start = counter.calls();
        block(counted.flush());
        int flushCalls = counter.calls() - start;
        block(counted.close());
        Atlas post = block(Atlas.open(clean, "", opts()));
        String after = fingerprint(post);
        block(post.close());
        assertTrue(!before.equals(after), "the script changes something");
        assertTrue(flushCalls > 3, "a flush makes several calls: " + flushCalls);

        int sawBefore = 0;
        int sawAfter = 0;
        for (int k = 1; k <= flushCalls; k++) {
            Storage s = fresh.get();
            Atlas setupHandle = block(Atlas.open(s, "", opts()));
            setup.accept(setupHandle);
            block(setupHandle.close());
            FaultInjectingStorage faulty = new FaultInjectingStorage(s);
            Atlas crashing = block(Atlas.open(faulty, "", opts()));
            script.accept(crashing);
            faulty.crashAt(faulty.calls() + k);
            boolean failed;
            try {
                block(crashing.flush());
                failed = false;
            } catch (RuntimeException e) {
                failed = true;
            }
            block(crashing.close());
            Atlas reopened = block(Atlas.open(s, "", opts()));
            String seen = fingerprint(reopened);
            boolean isBefore = seen.equals(before);
            boolean isAfter = seen.equals(after);
            // Calls after the registry write (refreshing the handle's file sets) may fail without
            // failing the flush: it committed. A flush that reports success shows the state after.
            assertTrue(failed || isAfter, "the flush succeeded although call " + k + " of " + flushCalls
                    + " crashed before its commit");
            assertTrue(isBefore || isAfter, "crash at flush call " + k + "/" + flushCalls + " (" + faulty.log()
                    .get(faulty.log().size() - 1) + ") shows a third state:\n" + seen + "\n--- before:\n" + before
                    + "\n--- after:\n" + after);
            if (isBefore) {
                sawBefore++;
            } else {
                sawAfter++;
            }
            // the store keeps working: another session on it commits and reads back
            more.accept(reopened);
            block(reopened.flush());
            String expectedNext = fingerprint(reopened);
            block(reopened.close());
            Atlas again = block(Atlas.open(s, "", opts()));
            assertEquals(expectedNext, fingerprint(again), "crash at " + k + ": the next session's flush");
            block(again.compact());
            assertEquals(expectedNext, fingerprint(again), "crash at " + k + ": after compaction");
            block(again.close());
            Atlas compacted = block(Atlas.open(s, "", opts()));
            assertEquals(expectedNext, fingerprint(compacted), "crash at " + k + ": compacted and reopened");
            block(compacted.close());
        }
        assertEquals(flushCalls, sawBefore + sawAfter);
        return new Outcome(flushCalls, sawBefore, sawAfter);
    }

    @Test
    void aCrashAtAnyCallOfAFlushLeavesTheStateBeforeOrAfter() {
        List<Outcome> outcomes = new ArrayList<>();
        Supplier<Storage> fresh = () -> {
            Storage s = InMemoryStorage.create();
            block(Atlas.create(s, "", opts()).flatMap(Atlas::close));
            return s;
        };
        outcomes.add(crashEveryCall(fresh, this::sessionOne, this::sessionTwo, this::sessionThree));
        System.out.println("[AtlasCrashTest] our store: " + outcomes);
    }

    @Test
    void aCrashInTheFirstFlushOfAReferenceStoreLeavesTheStateBeforeOrAfter() throws IOException {
        Storage template = AtlasInteropTest.load(AtlasInteropTest.storeDir("A1"));
        Supplier<Storage> fresh = () -> {
            InMemoryStorage s = InMemoryStorage.create();
            for (var o : template.list("").collectList().block(TIMEOUT)) {
                byte[] bytes = AtlasInteropTest.bytes(template, o);
                block(s.put(o.key(), Mono.fromSupplier(() -> io.netty.buffer.Unpooled.wrappedBuffer(bytes))));
            }
            return s;
        };
        Consumer<Atlas> script = a -> {
            DatasetView v = a.dataset("cruise_2021");
            write(v, "temperature", new long[] {0, 0}, new long[] {2, 5}, 40);
            block(a.deleteDataset("mooring-7"));
            block(v.setAttribute("status", Attr.of("revised")));
            DatasetView n = block(a.createDataset("cruise_2025"));
            block(n.defineArray("temperature", ArraySpec.of(DType.FLOAT32, 2, 5)));
            write(n, "temperature", new long[] {0, 0}, new long[] {2, 5}, 60);
        };
        Outcome o = crashEveryCall(fresh, a -> { }, script, this::sessionThree);
        System.out.println("[AtlasCrashTest] reference store A1: " + o);
    }
}
