package dev.atlas.examples.cli;

import static dev.atlas.testing.Await.TIMEOUT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.atlas.array.NdArray;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.store.ArraySchema;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetView;
import java.io.File;
import java.lang.reflect.Array;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code atlas import} against real NetCDF-4 files made by the reference netCDF tools.
 *
 * <p>Fixtures ({@code src/test/resources/netcdf}): for each {@code NAME.cdl}, {@code NAME.nc} was
 * made with Debian's netcdf-bin 4.9 as {@code ncgen -k nc4 -o NAME.nc NAME.cdl} and
 * {@code NAME.ncdump.txt} with {@code ncdump -p 9,17 NAME.nc} (full float precision, so values
 * compare exactly). All three are committed because CI has no netcdf-bin. Every imported array
 * (dtype, shape, chunking, dimension names, fill value, attributes, every value) is compared with
 * the parsed ncdump text. When {@code ncgen} is on the PATH, the fixtures are also regenerated
 * from their CDL and imported again against the same expectations.
 */
class ImportCommandTest {
    static final List<String> FIXTURES = List.of("ocean", "station");

    @TempDir
    Path tmp;

    static Path fixtures() throws Exception {
        return Path.of(ImportCommandTest.class.getResource("/netcdf/ocean.nc").toURI()).getParent();
    }

    @Test
    void committedFixturesImportWithNcdumpValues() throws Exception {
        Path store = tmp.resolve("store");
        Cli.Run r = Cli.run("import", fixtures().toString(), "--store", store.toString(), "--progress");
        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().contains("importing 2 file(s)"), r.out());
        assertTrue(r.out().matches("(?s).*imported 2 dataset\\(s\\), 13 array\\(s\\), .*"), r.out());
        assertTrue(r.err().contains("imported ocean.nc as 'ocean'") && r.err().contains("(2/2 files; 582 B of 582 B"), r.err());
        checkAgainstNcdump(store, fixtures());
    }

    @Test
    void regeneratedFixturesImportTheSameWhenNcgenIsInstalled() throws Exception {
        if (!onPath("ncgen")) {
            System.out.println("ImportCommandTest: ncgen not on PATH; the committed .nc fixtures were checked instead");
            return;
        }
        Path dir = Files.createDirectories(tmp.resolve("regen"));
        for (String f : FIXTURES) {
            Process p = new ProcessBuilder("ncgen", "-k", "nc4", "-o", dir.resolve(f + ".nc").toString(),
                    fixtures().resolve(f + ".cdl").toString()).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS) && p.exitValue() == 0, "ncgen " + f + ": " + log);
        }
        Path store = tmp.resolve("regen-store");
        Cli.Run r = Cli.run("import", dir.toString(), "--store", store.toString());
        assertEquals(0, r.code(), r.toString());
        checkAgainstNcdump(store, fixtures());
    }

    @Test
    void existingDatasetsAreRefusedUnlessReplaced() throws Exception {
        Path store = tmp.resolve("store");
        assertEquals(0, Cli.run("import", fixtures().resolve("station.nc").toString(), "--store", store.toString()).code());
        Cli.Run again = Cli.run("import", fixtures().toString(), "--store", store.toString());
        assertEquals(AtlasCli.EXIT_RUNTIME, again.code(), again.toString());
        assertEquals("atlas: dataset 'station' (from station.nc) already exists in " + store
                + "; pass --replace to overwrite it (nothing imported)", again.err().strip());
        assertEquals(List.of("station"), Cli.run("ls", store.toString()).out().lines().toList(), "nothing imported");

        Cli.Run replace = Cli.run("import", fixtures().toString(), "--store", store.toString(), "--replace");
        assertEquals(0, replace.code(), replace.toString());
        checkAgainstNcdump(store, fixtures());
    }

    @Test
    void badInputsAreOneLineErrors() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty"));
        Files.writeString(empty.resolve("readme.txt"), "no netcdf here");
        Cli.Run none = Cli.run("import", empty.toString(), "--store", tmp.resolve("s1").toString());
        assertEquals(AtlasCli.EXIT_USAGE, none.code(), none.toString());
        assertTrue(none.err().startsWith("atlas: no NetCDF-4/HDF5 files (.nc, .nc4, .h5, .hdf5, .he5, .hdf) in "), none.err());

        Cli.Run missing = Cli.run("import", tmp.resolve("nowhere").toString(), "--store", tmp.resolve("s2").toString());
        assertEquals(AtlasCli.EXIT_NOT_FOUND, missing.code(), missing.toString());

        Path classic = Files.createDirectories(tmp.resolve("classic"));
        byte[] cdf = new byte[64];
        cdf[0] = 'C';
        cdf[1] = 'D';
        cdf[2] = 'F';
        cdf[3] = 1;
        Files.write(classic.resolve("old.nc"), cdf);
        Cli.Run c = Cli.run("import", classic.toString(), "--store", tmp.resolve("s3").toString());
        assertEquals(AtlasCli.EXIT_RUNTIME, c.code(), c.toString());
        assertTrue(c.err().contains("old.nc: a netCDF classic file, not NetCDF-4/HDF5; convert it with 'nccopy -k nc4' (nothing imported)"), c.err());
        assertEquals(1, c.err().lines().filter(l -> l.startsWith("atlas:")).count(), c.err());

        Path garbage = Files.createDirectories(tmp.resolve("garbage"));
        byte[] junk = new byte[4096];
        new java.util.Random(7).nextBytes(junk);
        Files.write(garbage.resolve("junk.h5"), junk);
        Cli.Run g = Cli.run("import", garbage.toString(), "--store", tmp.resolve("s4").toString());
        assertEquals(AtlasCli.EXIT_RUNTIME, g.code(), g.toString());
        assertTrue(g.err().startsWith("atlas: junk.h5: cannot read"), g.err());
        assertEquals(1, g.err().lines().count(), g.err());
        assertTrue(!Files.exists(tmp.resolve("s4")), "a failed import into a new store leaves no store behind");

        Cli.Run noStore = Cli.run("import", fixtures().toString());
        assertEquals(AtlasCli.EXIT_USAGE, noStore.code(), noStore.toString());
    }

    private static boolean onPath(String exe) {
        String path = System.getenv("PATH");
        return path != null && Arrays.stream(path.split(File.pathSeparator)).anyMatch(d -> Files.isExecutable(Path.of(d, exe)));
    }

    /** Every fixture's dataset in {@code store} equals its ncdump text. */
    static void checkAgainstNcdump(Path store, Path fixtures) throws Exception {
        Cli.checkStore(store, atlas -> {
            for (String f : FIXTURES) {
                NcDump dump = NcDump.parse(Files.readString(fixtures.resolve(f + ".ncdump.txt")));
                checkDataset(atlas.dataset(f), dump, fixtures.resolve(f + ".cdl"));
            }
        });
    }

    private static void checkDataset(DatasetView ds, NcDump dump, Path cdl) throws Exception {
        String where = ds.name();
        assertEquals(dump.variables().keySet().stream().sorted().toList(), ds.listArrays().stream().sorted().toList(),
                where + " arrays");
        for (Map.Entry<String, List<String>> g : dump.globals().entrySet()) {
            Attr a = ds.attribute(g.getKey()).orElse(null);
            assertNotNull(a, where + " global attribute " + g.getKey());
            List<String> exp = g.getValue();
            if (a instanceof Attr.Str s) {
                assertEquals(String.join(", ", exp), s.value(), where + ":" + g.getKey());
            } else if (a instanceof Attr.Int64 i) {
                assertEquals(Long.parseLong(NcDump.number(exp.get(0))), i.value(), where + ":" + g.getKey());
            } else if (a instanceof Attr.Float64 d) {
                assertEquals(Double.parseDouble(NcDump.number(exp.get(0))), d.value(), where + ":" + g.getKey());
            } else {
                fail(where + ":" + g.getKey() + " unexpected " + a);
            }
        }
        assertEquals(dump.globals().size(), ds.meta().attributes().size(), where + " global attribute count");
        String cdlText = Files.readString(cdl);
        for (Map.Entry<String, NcDump.Var> e : dump.variables().entrySet()) {
            checkVariable(ds, e.getKey(), e.getValue(), dump, cdlText);
        }
    }

    private static void checkVariable(DatasetView ds, String name, NcDump.Var v, NcDump dump, String cdl) {
        String where = ds.name() + "/" + name;
        ArraySchema schema = ds.arrayMeta(name).orElseThrow();
        assertEquals(dtypeOf(v.type()), schema.dtype(), where + " dtype");
        long[] shape = v.dims().stream().mapToLong(d -> dump.dimensions().get(d)).toArray();
        assertEquals(Arrays.toString(shape), Arrays.toString(schema.shape()), where + " shape");
        assertEquals(v.dims(), schema.dimensionNames(), where + " dimension names");
        // Chunk shapes given in the CDL are kept, grown by whole chunks (or to the whole axis) up to 1 MiB.
        java.util.regex.Matcher chunks = java.util.regex.Pattern.compile("\\b" + name + ":_ChunkSizes = ([0-9, ]+) ;").matcher(cdl);
        if (chunks.find()) {
            long[] exp = Arrays.stream(chunks.group(1).split(",\\s*")).mapToLong(Long::parseLong).toArray();
            long[] got = schema.chunkShape();
            for (int i = 0; i < exp.length; i++) {
                assertTrue(got[i] % Math.min(exp[i], shape[i]) == 0 || got[i] == shape[i],
                        where + " chunks " + Arrays.toString(got) + " from " + Arrays.toString(exp));
            }
        }
        // Fill value.
        List<String> fillTok = v.attributes().get("_FillValue");
        FillValue fill = ds.arrayFillValue(name).block(TIMEOUT);
        if (fillTok == null) {
            boolean isChar = v.type().equals("char");
            assertEquals(dev.atlas.examples.netcdf.NcTypes.defaultFill(schema.dtype(), isChar), fill, where + " netCDF's default fill");
        } else {
            assertNotNull(fill, where + " fill");
            String n = NcDump.number(fillTok.get(0));
            if (schema.dtype().isFloat()) {
                double expFill = schema.dtype() == DType.FLOAT32 ? Float.parseFloat(n) : Double.parseDouble(n);
                assertEquals(expFill, ((FillValue.Float) fill).value(), where + " fill");
            } else if (schema.dtype().isUnsignedInteger()) {
                assertEquals(new BigInteger(n).longValue(), ((FillValue.UInt) fill).value(), where + " fill");
            } else {
                assertEquals(Long.parseLong(n), ((FillValue.Int) fill).value(), where + " fill");
            }
        }
        // Attributes (_FillValue kept as an attribute too).
        Map<String, AttributeValue> attrs = ds.arrayAttributes(name).block(TIMEOUT);
        assertEquals(v.attributes().keySet().stream().sorted().toList(),
                attrs.keySet().stream().sorted().toList(), where + " attribute names");
        for (Map.Entry<String, AttributeValue> a : attrs.entrySet()) {
            List<String> exp = v.attributes().get(a.getKey());
            AttributeValue got = a.getValue();
            if (got.kind() == AttributeValue.Kind.STRING) {
                assertEquals(exp, List.of(got.asString()), where + ":" + a.getKey());
            } else {
                boolean f32 = got.kind() == AttributeValue.Kind.FLOAT32 || got.kind() == AttributeValue.Kind.FLOAT32_LIST;
                assertEquals(exp.stream().map(NcDump::number)
                        .map(x -> f32 ? Double.toString(Double.parseDouble(Float.toString(Float.parseFloat(x)))) : canonical(x)).toList(),
                        attrValues(got), where + ":" + a.getKey());
            }
        }
        // Values.
        try (NdArray data = ds.readArray(name).block(TIMEOUT)) {
            assertEquals(v.data().size(), data.size(), where + " value count");
            for (int i = 0; i < data.size(); i++) {
                String tok = v.data().get(i);
                String exp = tok.equals("_") ? NcDump.number(fillTok.get(0)) : tok;
                assertEquals(canonical(exp, schema.dtype()), Values.element(data, i), where + "[" + i + "]");
            }
        }
    }

    /** The CDL number as our text form of it in {@code dtype} (floats through their binary value). */
    private static String canonical(String text, DType dtype) {
        switch (dtype.kind()) {
            case FLOAT32: return Float.toString(Float.parseFloat(text));
            case FLOAT64: return Double.toString(Double.parseDouble(text));
            default: return new BigInteger(text).toString();
        }
    }

    private static String canonical(String text) {
        return text.matches("-?[0-9]+") ? text : Double.toString(Double.parseDouble(text));
    }

    private static List<String> attrValues(AttributeValue a) {
        List<String> out = new ArrayList<>();
        if (a.kind().ordinal() < AttributeValue.Kind.STRING.ordinal()) {
            out.add(a.kind() == AttributeValue.Kind.FLOAT32 || a.kind() == AttributeValue.Kind.FLOAT64
                    ? Double.toString(a.kind() == AttributeValue.Kind.FLOAT32 ? Double.parseDouble(Float.toString(a.asFloat32())) : a.asDouble())
                    : Long.toString(a.asLong()));
            return out;
        }
        Object list = a.listValue();
        for (int i = 0; i < Array.getLength(list); i++) {
            Object o = Array.get(list, i);
            if (o instanceof Float f) {
                out.add(Double.toString(Double.parseDouble(Float.toString(f))));
            } else if (o instanceof Double d) {
                out.add(Double.toString(d));
            } else {
                out.add(Long.toString(((Number) o).longValue()));
            }
        }
        return out;
    }

    private static DType dtypeOf(String cdlType) {
        switch (cdlType) {
            case "byte": return DType.INT8;
            case "ubyte": return DType.UINT8;
            case "short": return DType.INT16;
            case "ushort": return DType.UINT16;
            case "int": return DType.INT32;
            case "uint": return DType.UINT32;
            case "int64": return DType.INT64;
            case "uint64": return DType.UINT64;
            case "float": return DType.FLOAT32;
            case "double": return DType.FLOAT64;
            default: throw new AssertionError("fixture type " + cdlType);
        }
    }
}
