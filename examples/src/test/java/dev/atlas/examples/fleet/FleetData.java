package dev.atlas.examples.fleet;

import static dev.atlas.testing.Await.TIMEOUT;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.store.Atlas;
import dev.atlas.store.DatasetView;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import reactor.core.publisher.Mono;

/**
 * The data every fleet process writes and checks. A dataset {@code d00042} has id 42 and two
 * arrays, {@code grid} (float64 {@code [rows, 64]}) and {@code series} (int64 {@code [1000]}); the
 * same array names in every dataset, so all datasets share two array file sets. Each element's
 * value names dataset, array, version and its own flat index exactly:
 * {@code ((id * 4 + array) * 100000 + version) * 1000000 + index} (below 2^53, so float64 holds
 * it exactly). Versions start at 1: a zero (the fill value) is never a valid element.
 */
final class FleetData {
    static final String GRID = "grid";
    static final String SERIES = "series";
    static final int GRID_COLS = 64;
    static final int SERIES_LENGTH = 1000;
    /** Rows of every small dataset's grid are at least this (bulk reads of grid regions stay inside it). */
    static final int MIN_ROWS = 24;
    static final long MAX_ID = 9_999;
    static final long MAX_VERSION = 99_999;
    static final long INDEX_LIMIT = 1_000_000;

    private FleetData() {
    }

    static String name(long id) {
        return String.format("d%05d", id);
    }

    /** The id of a dataset name, or -1 when it is not one of ours. */
    static long id(String name) {
        if (name.length() != 6 || name.charAt(0) != 'd') {
            return -1;
        }
        try {
            return Long.parseLong(name.substring(1));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    static int arrayIndex(String array) {
        return array.equals(GRID) ? 0 : 1;
    }

    static long value(long id, int array, long version, long index) {
        return ((id * 4 + array) * 100_000L + version) * INDEX_LIMIT + index;
    }

    /** Rows of dataset {@code id}'s grid: {@code bigRows} for dataset 0, 24..56 for the others. */
    static int rows(long id, int bigRows) {
        return id == 0 ? bigRows : MIN_ROWS + (int) (id % 5) * 8;
    }

    static ArraySpec gridSpec(long id, int bigRows) {
        return ArraySpec.of(DType.FLOAT64, rows(id, bigRows), GRID_COLS).withChunks(16, 32);
    }

    static ArraySpec seriesSpec() {
        return ArraySpec.of(DType.INT64, SERIES_LENGTH).withChunks(128);
    }

    /** One decoded element. */
    record Element(long id, int array, long version, long index) {
        static Element of(long v) {
            long index = v % INDEX_LIMIT;
            long rest = v / INDEX_LIMIT;
            long version = rest % 100_000L;
            long ia = rest / 100_000L;
            return new Element(ia / 4, (int) (ia % 4), version, index);
        }

        @Override
        public String toString() {
            return "(dataset " + name(id) + ", " + (array == 0 ? GRID : array == 1 ? SERIES : "array#" + array)
                    + ", version " + version + ", index " + index + ")";
        }
    }

    /** A body or array that is not exactly one (dataset, array, version) with the right indices. */
    static final class Mismatch extends Exception {
        private static final long serialVersionUID = 1L;

        Mismatch(String message) {
            super(message, null, false, false);
        }
    }

    /** Reads element {@code i} of a little-endian buffer of float64 or int64 values as the encoded long. */
    interface Elements {
        long get(long i);

        long count();
    }

    /**
     * Checks that {@code values} are exactly dataset {@code id}'s {@code array} at one version, element
     * {@code i} being flat index {@code indexOf[i]} of the array; returns that version.
     *
     * @throws Mismatch naming the first element that differs, expected vs got, and whether it is
     *     another dataset, another array, a second version (mixed) or a wrong index
     */
    static long checkOne(Elements values, long id, int array, java.util.function.LongUnaryOperator indexOf)
            throws Mismatch {
        if (values.count() == 0) {
            throw new Mismatch("no elements");
        }
        Element first = Element.of(values.get(0));
        long version = first.version();
        for (long i = 0; i < values.count(); i++) {
            long got = values.get(i);
            long want = value(id, array, version, indexOf.applyAsLong(i));
            if (got != want) {
                Element g = Element.of(got);
                String kind = g.id() != id ? "ANOTHER DATASET" : g.array() != array ? "ANOTHER ARRAY"
                        : g.version() != version ? "MIXED VERSIONS" : "WRONG INDEX";
                throw new Mismatch(kind + " at element " + i + ": expected " + Element.of(want) + " = " + want
                        + ", got " + g + " = " + got + (i > 0 ? " (element 0 was " + first + ")" : ""));
            }
        }
        if (version < 1) {
            throw new Mismatch("version " + version + " (fill values?) at element 0: " + first);
        }
        return version;
    }

    /** The values of an NdArray (float64 or int64) as encoded longs. */
    static Elements of(NdArray a) {
        long n = 1;
        for (long s : a.shape()) {
            n *= s;
        }
        long count = n;
        boolean dbl = a.dtype() == DType.FLOAT64;
        return new Elements() {
            @Override
            public long get(long i) {
                return dbl ? (long) a.getDouble(i) : a.getLong(i);
            }

            @Override
            public long count() {
                return count;
            }
        };
    }

    // ------------------------------------------------------------------ writing

    /** Creates dataset {@code id} with both arrays and writes them at {@code version}. */
    static Mono<Void> create(Atlas atlas, long id, long version, int bigRows) {
        return atlas.createDataset(name(id))
                .flatMap(v -> v.defineArray(GRID, gridSpec(id, bigRows))
                        .then(v.defineArray(SERIES, seriesSpec()))
                        .then(write(v, id, version, bigRows)));
    }

    /** Overwrites both arrays of dataset {@code id} whole with {@code version}. */
    static Mono<Void> write(DatasetView v, long id, long version, int bigRows) {
        return Mono.defer(() -> {
            int rows = rows(id, bigRows);
            double[] g = new double[rows * GRID_COLS];
            for (int i = 0; i < g.length; i++) {
                g[i] = value(id, 0, version, i);
            }
            long[] s = new long[SERIES_LENGTH];
            for (int i = 0; i < s.length; i++) {
                s[i] = value(id, 1, version, i);
            }
            NdArray ga = NdArray.ofDoubles(new long[] {rows, GRID_COLS}, g);
            NdArray sa = NdArray.ofLongs(DType.INT64, new long[] {SERIES_LENGTH}, s);
            return v.writeArray(GRID, new long[] {0, 0}, ga).then(v.writeArray(SERIES, new long[] {0}, sa))
                    .doFinally(x -> {
                        ga.close();
                        sa.close();
                    });
        });
    }

    /** Creates (when absent) a dataset with only a series of {@code length}, written at {@code version}. */
    static Mono<Void> writeSeriesOnly(Atlas atlas, long id, long version, int length) {
        return Mono.defer(() -> {
            Mono<DatasetView> view = atlas.datasetExists(name(id)) ? Mono.just(atlas.dataset(name(id)))
                    : atlas.createDataset(name(id)).flatMap(v -> v.defineArray(SERIES,
                            ArraySpec.of(DType.INT64, length).withChunks(64)).thenReturn(v));
            long[] s = new long[length];
            for (int i = 0; i < s.length; i++) {
                s[i] = value(id, 1, version, i);
            }
            return view.flatMap(v -> {
                NdArray sa = NdArray.ofLongs(DType.INT64, new long[] {length}, s);
                return v.writeArray(SERIES, new long[] {0}, sa).doFinally(x -> sa.close());
            });
        });
    }

    // ------------------------------------------------------------------ reading

    /**
     * Reads every array of dataset {@code name} whole and checks each; returns the version of each
     * array (in declaration order).
     *
     * @throws Mismatch for wrong values
     */
    static Map<String, Long> readDataset(Atlas atlas, String name) throws Mismatch {
        long id = id(name);
        if (id < 0) {
            throw new Mismatch("unexpected dataset '" + name + "'");
        }
        DatasetView v = atlas.dataset(name);
        Map<String, Long> versions = new java.util.LinkedHashMap<>();
        for (String array : v.listArrays()) {
            NdArray a = v.readArray(array).block(TIMEOUT);
            if (a == null) {
                throw new Mismatch(name + "/" + array + " is declared but reads empty");
            }
            try (a) {
                versions.put(array, checkOne(of(a), id, arrayIndex(array), i -> i));
            } catch (Mismatch m) {
                throw new Mismatch(name + "/" + array + ": " + m.getMessage());
            }
        }
        if (versions.isEmpty()) {
            throw new Mismatch(name + " declares no array");
        }
        return versions;
    }

    /**
     * The one version of all of {@code name}'s arrays (they are written in one commit, so a store
     * nobody writes meanwhile has them at one version).
     *
     * @throws Mismatch for wrong values or arrays at different versions
     */
    static long readDatasetStrict(Atlas atlas, String name) throws Mismatch {
        Map<String, Long> versions = readDataset(atlas, name);
        long version = versions.values().iterator().next();
        if (versions.values().stream().anyMatch(x -> x != version)) {
            throw new Mismatch(name + ": its arrays are at different versions " + versions
                    + " (they are written in one commit)");
        }
        return version;
    }

    /** Every dataset of a store nobody writes meanwhile and its version, all values checked. */
    static Map<Long, Long> readAll(Atlas atlas, List<String> problems) {
        Map<Long, Long> state = new TreeMap<>();
        for (String name : atlas.listDatasets()) {
            try {
                state.put(id(name), readDatasetStrict(atlas, name));
            } catch (Mismatch m) {
                problems.add(m.getMessage());
            }
        }
        return state;
    }

    static List<String> problems() {
        return new ArrayList<>();
    }
}
