package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.atlas.array.NdArray;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.store.DatasetView;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What {@code atlas import} does with files it cannot import, on committed fixtures
 * ({@code src/test/resources/netcdf/failures}, made by its {@code generate.py} with netCDF4-python):
 * {@code a.nc} imports; {@code b.nc} declares {@code time} as Int32 where {@code a.nc} has Float64;
 * {@code c.nc} has a damaged compressed chunk of {@code v} (chunk [2, 0]), found only while its
 * values are copied, after its variable {@code only_in_c} was copied; {@code d.nc} imports, with a
 * never-written 3000x3000 variable; {@code e.nc} has Fletcher-32 checksums, and 4 bytes of an
 * uncompressed chunk of {@code v} flipped (the chunk still decodes, to wrong values: jHDF does not
 * verify the checksum, the importer does). Whatever fails, nothing of a failed file is visible afterwards,
 * and a store the command created is not left behind empty.
 */
class ImportFailuresTest {
    @TempDir
    Path tmp;

    static Path fixtures() throws Exception {
        return Path.of(ImportFailuresTest.class.getResource("/netcdf/failures/a.nc").toURI()).getParent();
    }

    /**
     * A store the command created and could put nothing in is gone: no registry, and of the
     * directory the command made, at most the local storage's hidden lock files (which are never
     * deleted: another process may hold one).
     */
    static void assertNoStoreLeft(Path dir) throws Exception {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> all = Files.walk(dir)) {
            List<Path> left = all.filter(Files::isRegularFile).toList();
            assertTrue(left.stream().allMatch(f -> f.getFileName().toString().startsWith(".atlas-lock-")),
                    "a store the command created is removed when nothing was imported; left: " + left);
        }
        assertTrue(StoreSession.holdsOnlyStorageFiles(dir));
    }

    @Test
    void aDtypeClashStopsTheImportBeforeAnythingIsWrittenAndNamesFileVariableAndBothDtypes() throws Exception {
        Path store = tmp.resolve("store");
        Cli.Run r = Cli.run("import", fixtures().toString(), "--store", store.toString());
        assertEquals(AtlasCli.EXIT_RUNTIME, r.code(), r.toString());
        assertEquals("atlas: b.nc: variable 'time' is Int32 but the store's array 'time' is Float64; pass "
                + "--dtype-clash=suffix (imports it as 'time_int32'), --dtype-clash=skip, or --rename time=NEWNAME "
                + "(nothing imported)", r.err().strip());
        assertNoStoreLeft(store);
    }

    @Test
    void keepGoingImportsTheRestListsTheFailuresAndLeavesNothingOfThem() throws Exception {
        Path store = tmp.resolve("store");
        Cli.Run r = Cli.run("import", fixtures().toString(), "--store", store.toString(), "--keep-going", "--jobs", "2");
        assertEquals(AtlasCli.EXIT_PARTIAL, r.code(), r.toString());
        assertTrue(r.out().contains("imported 2 dataset(s)"), r.out());
        List<String> failures = r.err().lines().filter(l -> l.startsWith("atlas:   ")).toList();
        assertEquals(3, failures.size(), r.err());
        assertTrue(failures.get(0).startsWith("atlas:   b.nc: variable 'time' is Int32 but the store's array 'time' is Float64"),
                failures.toString());
        assertTrue(failures.get(1).startsWith("atlas:   c.nc: variable 'v': the HDF5 chunk at [2, 0] cannot be decoded"),
                failures.toString());
        assertTrue(failures.get(2).startsWith("atlas:   e.nc: variable 'v': the HDF5 chunk at [1, 0] fails its Fletcher-32 checksum"),
                failures.toString());
        assertTrue(r.err().contains("atlas: 3 file(s) failed:"), r.err());

        Cli.checkStore(store, atlas -> {
            assertEquals(List.of("a", "d"), atlas.listDatasets());
            assertEquals(List.of("never", "time", "v"), atlas.listArrays().stream().sorted().toList(),
                    "no array of the failed files is registered");
            DatasetView a = atlas.dataset("a");
            try (NdArray v = a.readArray("v").block(TIMEOUT)) {
                assertArrayEquals(new long[] {4, 100}, v.shape());
                for (int i = 0; i < 400; i++) {
                    assertEquals(i * 0.5f, v.data().getFloatLE(i * 4), "a.v[" + i + "]");
                }
            }
            DatasetView d = atlas.dataset("d");
            assertEquals(new FillValue.Float((double) 9.9692099683868690e+36f), d.arrayFillValue("never").block(TIMEOUT));
            try (NdArray never = d.readArray("never", new long[] {2990, 0}, new long[] {10, 3000}).block(TIMEOUT)) {
                for (int i = 0; i < 30000; i++) {
                    assertEquals(9.9692099683868690e+36f, never.data().getFloatLE(i * 4), "never is all fill");
                }
            }
        });
        // The never-written 3000x3000 float32 variable (36 MB of values) costs nothing on disk.
        long neverBytes;
        try (Stream<Path> files = Files.walk(store.resolve("never"))) {
            neverBytes = files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
        assertTrue(neverBytes < 8192, "never-written variable stored in " + neverBytes + " bytes");
    }

    @Test
    void aFileFailingWhileItsValuesAreCopiedLeavesTheStoreAsItWas() throws Exception {
        Path store = tmp.resolve("store");
        assertEquals(0, Cli.run("import", fixtures().resolve("a.nc").toString(), "--store", store.toString()).code());
        // With --progress, as on a terminal: the failed file's progress line, then the one error line.
        Cli.Run r = Cli.run("import", fixtures().resolve("c.nc").toString(), "--store", store.toString(), "--progress");
        assertEquals(AtlasCli.EXIT_RUNTIME, r.code(), r.toString());
        assertTrue(r.err().contains("\natlas: c.nc: variable 'v': the HDF5 chunk at [2, 0] cannot be decoded"), r.err());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("atlas:")).count(), r.err());
        Cli.checkStore(store, atlas -> {
            assertEquals(List.of("a"), atlas.listDatasets());
            assertFalse(atlas.listArrays().contains("only_in_c"), atlas.listArrays().toString());
        });

        Path fresh = tmp.resolve("fresh");
        Cli.Run first = Cli.run("import", fixtures().resolve("c.nc").toString(), "--store", fresh.toString());
        assertEquals(AtlasCli.EXIT_RUNTIME, first.code(), first.toString());
        assertTrue(first.err().startsWith("atlas: c.nc: variable 'v'") && first.err().lines().count() == 1,
                "without --progress (and no terminal) stderr is the error line alone: " + first.err());
        assertNoStoreLeft(fresh);
        // What stays (the storage's lock file) does not stand in the way of the next import there.
        assertEquals(0, Cli.run("import", fixtures().resolve("a.nc").toString(), "--store", fresh.toString()).code());
        Cli.checkStore(fresh, atlas -> assertEquals(List.of("a"), atlas.listDatasets()));
    }

    @Test
    void aChunkFailingItsFletcher32ChecksumIsNeverImported() throws Exception {
        Path store = tmp.resolve("store");
        Cli.Run r = Cli.run("import", fixtures().resolve("e.nc").toString(), "--store", store.toString(), "--progress");
        assertEquals(AtlasCli.EXIT_RUNTIME, r.code(), r.toString());
        assertTrue(r.err().contains("\natlas: e.nc: variable 'v': the HDF5 chunk at [1, 0] fails its Fletcher-32 checksum "
                + "(stored "), r.err());
        assertNoStoreLeft(store);
    }

    @Test
    void dtypeClashesResolveBySuffixSkipOrRename() throws Exception {
        String a = fixtures().resolve("a.nc").toString();
        String b = fixtures().resolve("b.nc").toString();

        Path suffix = tmp.resolve("suffix");
        Cli.Run s = Cli.run("import", a, b, "--store", suffix.toString(), "--dtype-clash", "suffix");
        assertEquals(0, s.code(), s.toString());
        assertTrue(s.err().contains("atlas: b.nc: variable 'time' is Int32 but the store's array 'time' is Float64"), s.err());
        Cli.checkStore(suffix, atlas -> {
            assertEquals(DType.INT32, atlas.dataset("b").arrayMeta("time_int32").orElseThrow().dtype());
            assertEquals(DType.FLOAT64, atlas.dataset("a").arrayMeta("time").orElseThrow().dtype());
            try (NdArray t = atlas.dataset("b").readArray("time_int32").block(TIMEOUT)) {
                assertEquals(3, t.data().order(ByteOrder.LITTLE_ENDIAN).getInt(12));
            }
        });

        Path skip = tmp.resolve("skip");
        Cli.Run k = Cli.run("import", a, b, "--store", skip.toString(), "--dtype-clash", "skip");
        assertEquals(0, k.code(), k.toString());
        assertTrue(k.err().contains("atlas: b.nc: skipped variable 'time': variable 'time' is Int32 but the store's array 'time' "
                + "is Float64 (--dtype-clash=skip)"), k.err());
        Cli.checkStore(skip, atlas -> assertEquals(List.of("v"), atlas.dataset("b").listArrays()));

        Path rename = tmp.resolve("rename");
        Cli.Run n = Cli.run("import", b, "--store", rename.toString(), "--rename", "time=time_index");
        assertEquals(0, n.code(), n.toString());
        assertEquals(0, Cli.run("import", a, "--store", rename.toString()).code());
        Cli.checkStore(rename, atlas -> {
            assertEquals(List.of("time_index", "v"), atlas.dataset("b").listArrays().stream().sorted().toList());
            assertEquals(DType.FLOAT64, atlas.dataset("a").arrayMeta("time").orElseThrow().dtype());
        });

        Cli.Run bad = Cli.run("import", a, "--store", tmp.resolve("bad").toString(), "--dtype-clash", "coerce");
        assertEquals(AtlasCli.EXIT_USAGE, bad.code(), bad.toString());
    }
}
