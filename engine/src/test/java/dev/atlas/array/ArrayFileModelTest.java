package dev.atlas.array;

import dev.atlas.testing.EngineTestBase;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.fail;

import dev.atlas.codec.BlockCodec;
import dev.atlas.codec.BlockCodecs;
import dev.atlas.error.AlreadyExistsException;
import dev.atlas.error.AtlasException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.NotFoundException;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.storage.InMemoryStorage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Random sequences of define / write / delete / attribute / flush / compact / reopen (which drops
 * unflushed changes) against a plain in-memory model of the intended semantics; the whole visible
 * state (list order, schemas, every element, attributes) is compared after every step, and stored
 * statistics against a recomputation after every commit. The seed is printed; rerun one with
 * {@code -Datlas.model.seed=...}; {@code -Datlas.model.steps=...} sets the length.
 */
class ArrayFileModelTest extends EngineTestBase {
    private static final List<String> NAMES = List.of("a", "b", "c", "d", "e");
    private static final List<String> KEYS = List.of("units", "scale", "long_name");
    private static final List<DType> DTYPES = List.of(DType.INT32, DType.INT64, DType.UINT8, DType.STRING);
    /** The model of one array: schema, every element (Long or String), attributes. */
    private static final class Model {
        final DType dtype;
        final long[] shape;
        final long[] chunks;
        final FillValue fill;
        final Object[] values;
        final Map<String, AttributeValue> attrs = new HashMap<>();

        Model(DType dtype, long[] shape, long[] chunks, FillValue fill) {
            this.dtype = dtype;
            this.shape = shape;
            this.chunks = chunks;
            this.fill = fill;
            this.values = new Object[(int) count(shape)];
            Object f = dtype == DType.STRING ? "" : fill == null ? 0L : ((FillValue.Int) fill).value();
            Arrays.fill(values, f);
        }

        Model copy() {
            Model m = new Model(dtype, shape, chunks, fill);
            System.arraycopy(values, 0, m.values, 0, values.length);
            m.attrs.putAll(attrs);
            return m;
        }
    }

    private static long count(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    private static LinkedHashMap<String, Model> copy(LinkedHashMap<String, Model> m) {
        LinkedHashMap<String, Model> out = new LinkedHashMap<>();
        m.forEach((k, v) -> out.put(k, v.copy()));
        return out;
    }

    @Test
    void randomHistoriesMatchTheModel() {
        long seed = Long.getLong("atlas.model.seed", System.nanoTime());
        int steps = Integer.getInteger("atlas.model.steps", 2500);
        System.out.println("ArrayFileModelTest seed " + seed + " (-Datlas.model.seed=" + seed + "), " + steps + " steps");
        Random rnd = new Random(seed);
        BlockCodec codec = List.of(BlockCodecs.none(), BlockCodecs.lz4(), BlockCodecs.zstd()).get(rnd.nextInt(3));
        ArrayFileOptions options = ArrayFileOptions.builder(resources).codec(codec).blockTargetSize(16 + rnd.nextInt(200))
                .tempDirectory(tmp).readConcurrency(1 + rnd.nextInt(4)).build();
        InMemoryStorage storage = InMemoryStorage.create();
        ArrayFile f = ArrayFile.create(storage, "m.af", options).block(TIMEOUT);
        LinkedHashMap<String, Model> current = new LinkedHashMap<>();
        LinkedHashMap<String, Model> committed = new LinkedHashMap<>();
        Map<String, Integer> ops = new LinkedHashMap<>();
        String last = "";
        try {
            for (int step = 0; step < steps; step++) {
                int dice = rnd.nextInt(100);
                String name = NAMES.get(rnd.nextInt(NAMES.size()));
                String op;
                ArrayFile file = f;
                if (dice < 14) {
                    op = "define";
                    define(f, current, name, rnd);
                } else if (dice < 50) {
                    op = "write";
                    write(f, current, name, rnd);
                } else if (dice < 57) {
                    op = "delete";
                    if (current.containsKey(name)) {
                        f.delete(name).block(TIMEOUT);
                        current.remove(name);
                    } else {
                        expect(NotFoundException.class, () -> file.delete(name).block(TIMEOUT));
                    }
                } else if (dice < 70) {
                    op = "attribute";
                    String key = KEYS.get(rnd.nextInt(KEYS.size()));
                    AttributeValue v = switch (rnd.nextInt(3)) {
                        case 0 -> AttributeValue.ofString("v" + rnd.nextInt(5));
                        case 1 -> AttributeValue.ofInt32(rnd.nextInt(5));
                        default -> AttributeValue.ofFloat64List(new double[] {rnd.nextInt(3), 0.5});
                    };
                    if (current.containsKey(name)) {
                        f.setAttribute(name, key, v).block(TIMEOUT);
                        current.get(name).attrs.put(key, v);
                    } else {
                        expect(NotFoundException.class, () -> file.setAttribute(name, key, v).block(TIMEOUT));
                    }
                } else if (dice < 82) {
                    op = "flush";
                    f.flush().block(TIMEOUT);
                    committed = copy(current);
                } else if (dice < 87) {
                    op = "compact";
                    f.compact().block(TIMEOUT);
                    committed = copy(current);
                    assertEquals(1, f.numLayers());
                } else {
                    op = "reopen";
                    f.close().block(TIMEOUT);
                    f = ArrayFile.open(storage, "m.af", options).block(TIMEOUT);
                    current = copy(committed);
                }
                ops.merge(op, 1, Integer::sum);
                last = "step " + step + " " + op + " " + name;
                check(f, current, rnd, last);
                if (op.equals("flush") || op.equals("compact")) {
                    // NONE only when nothing was ever committed (a flush of nothing writes nothing)
                    assertEquals(f.numLayers() == 1 && committed.isEmpty() && !op.equals("compact")
                            ? f.statsStatus() : ArrayFile.StatsStatus.CURRENT, f.statsStatus(), last);
                    assertNull(FileSetState.statsProblem(f), last);
                }
            }
            f.flush().block(TIMEOUT);
            ArrayFile reopened = ArrayFile.open(storage, "m.af", options).block(TIMEOUT);
            check(reopened, current, rnd, "final reopen");
            System.out.println("ArrayFileModelTest ops " + ops + ", final layers " + reopened.numLayers() + ", codec "
                    + codec.id());
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("seed " + seed + ", " + last + ": " + e.getMessage(), e);
        } finally {
            f.close().block(TIMEOUT);
        }
    }

    private static void expect(Class<? extends AtlasException> type, Runnable r) {
        try {
            r.run();
            fail("expected " + type.getSimpleName());
        } catch (AtlasException e) {
            if (!type.isInstance(e)) {
                throw e;
            }
        }
    }

    private static void define(ArrayFile f, Map<String, Model> current, String name, Random rnd) {
        DType dtype = DTYPES.get(rnd.nextInt(DTYPES.size()));
        int rank = rnd.nextInt(3);
        long[] shape = new long[rank];
        long[] chunks = new long[rank];
        for (int i = 0; i < rank; i++) {
            shape[i] = rnd.nextInt(10) == 0 ? 0 : 1 + rnd.nextInt(7);
            chunks[i] = 1 + rnd.nextInt(4);
        }
        FillValue fill = dtype == DType.STRING || rnd.nextBoolean() ? null : new FillValue.Int(rnd.nextInt(100));
        ArraySpec spec = ArraySpec.of(dtype, shape).withChunks(chunks).withFill(fill);
        if (current.containsKey(name)) {
            expect(AlreadyExistsException.class, () -> f.defineArray(name, spec).block(TIMEOUT));
            return;
        }
        f.defineArray(name, spec).block(TIMEOUT);
        current.put(name, new Model(dtype, shape, chunks, fill));
    }

    private static void write(ArrayFile f, Map<String, Model> current, String name, Random rnd) {
        Model m = current.get(name);
        if (m == null) {
            try (NdArray d = NdArray.ofInts(DType.INT32, new long[] {1}, 1)) {
                expect(NotFoundException.class, () -> f.writeArray(name, new long[] {0}, d).block(TIMEOUT));
            }
            return;
        }
        long[] start = new long[m.shape.length];
        long[] shape = new long[m.shape.length];
        for (int i = 0; i < start.length; i++) {
            start[i] = m.shape[i] == 0 ? 0 : rnd.nextInt((int) m.shape[i]);
            shape[i] = m.shape[i] == 0 ? 0 : 1 + rnd.nextInt((int) (m.shape[i] - start[i]));
        }
        int n = (int) count(shape);
        Object[] vals = new Object[n];
        NdArray data;
        if (m.dtype == DType.STRING) {
            List<String> s = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String v = rnd.nextInt(4) == 0 ? "" : "s" + rnd.nextInt(1000);
                s.add(v);
                vals[i] = v;
            }
            data = NdArray.ofStrings(shape, s);
        } else {
            int w = (int) m.dtype.elementSize();
            ByteBuffer b = ByteBuffer.allocate(n * w).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                long v = m.dtype == DType.UINT8 ? rnd.nextInt(256) : rnd.nextInt(2000) - 1000;
                vals[i] = v;
                switch (w) {
                    case 1 -> b.put((byte) v);
                    case 4 -> b.putInt((int) v);
                    default -> b.putLong(v);
                }
            }
            data = NdArray.wrap(m.dtype, shape, io.netty.buffer.Unpooled.wrappedBuffer(b.array()));
        }
        try {
            if (rnd.nextInt(30) == 0 && m.dtype != DType.STRING) {
                try (NdArray wrong = NdArray.ofDoubles(shape, new double[n])) {
                    expect(DTypeMismatchException.class, () -> f.writeArray(name, start, wrong).block(TIMEOUT));
                }
                return;
            }
            f.writeArray(name, start, data).block(TIMEOUT);
        } finally {
            data.close();
        }
        // model: copy vals into the region
        int[] idx = new int[shape.length];
        for (int k = 0; k < n; k++) {
            long flat = 0;
            for (int i = 0; i < shape.length; i++) {
                flat = flat * m.shape[i] + start[i] + idx[i];
            }
            m.values[(int) flat] = vals[k];
            for (int i = shape.length - 1; i >= 0; i--) {
                if (++idx[i] < shape[i]) {
                    break;
                }
                idx[i] = 0;
            }
        }
    }

    private static void check(ArrayFile f, Map<String, Model> current, Random rnd, String where) {
        assertEquals(new ArrayList<>(current.keySet()), f.listArrays(), where + ": list order");
        for (Map.Entry<String, Model> e : current.entrySet()) {
            Model m = e.getValue();
            String what = where + ", array " + e.getKey();
            assertEquals(m.dtype, f.arrayMeta(e.getKey()).dtype(), what);
            assertArrayEquals(m.shape, f.arrayMeta(e.getKey()).shape(), what);
            assertEquals(m.attrs, f.attributes(e.getKey()), what + " attributes");
            try (NdArray a = f.readArray(e.getKey()).block(TIMEOUT)) {
                for (int i = 0; i < m.values.length; i++) {
                    Object got = switch (m.dtype.kind()) {
                        case STRING -> a.getString(i);
                        case UINT8 -> (long) (a.getByte(i) & 0xFF);
                        case INT32 -> (long) a.getInt(i);
                        default -> a.getLong(i);
                    };
                    if (!m.values[i].equals(got)) {
                        fail(what + " element " + i + ": model " + m.values[i] + ", file " + got);
                    }
                }
            }
        }
    }
}
