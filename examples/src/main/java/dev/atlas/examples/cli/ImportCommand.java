package dev.atlas.examples.cli;

import dev.atlas.array.ArraySpec;
import dev.atlas.array.NdArray;
import dev.atlas.error.DatasetAlreadyExistsException;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import dev.atlas.store.Atlas;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetView;
import io.jhdf.HdfFile;
import io.jhdf.api.Attribute;
import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.Node;
import io.jhdf.api.dataset.ChunkedDataset;
import io.jhdf.object.datatype.DataType;
import io.jhdf.object.datatype.FixedPoint;
import io.jhdf.object.datatype.FloatingPoint;
import io.jhdf.object.datatype.StringData;
import io.jhdf.object.datatype.VariableLength;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.lang.reflect.Array;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code atlas import DIR --store PATH}: one dataset per NetCDF-4/HDF5 file (named after the file
 * stem), read with jHDF. Variables become arrays with their dtype, shape, chunk shape and
 * dimension names; variable attributes become array attributes; {@code _FillValue} becomes the
 * array's fill value; global attributes become dataset attributes (lists joined into one string,
 * since dataset attributes are scalars). Variables of nested groups are named
 * {@code group.variable}. netCDF's bookkeeping (dimension scales without data,
 * {@code _Netcdf4Dimid}, {@code DIMENSION_LIST}, {@code _NCProperties}) is not copied. Each file
 * is one commit (a flush). Data is copied in slabs along the first dimension, so a variable
 * larger than memory imports too.
 */
@Command(name = "import", description = {"Import a directory of NetCDF-4/HDF5 files into a store (one dataset per file).",
        "Exit codes: 0 ok, 1 runtime error (unreadable file, dataset exists), 2 usage error, 3 directory not found."})
final class ImportCommand implements Callable<Integer> {
    /** File name endings taken as NetCDF-4/HDF5. */
    static final List<String> EXTENSIONS = List.of(".nc", ".nc4", ".h5", ".hdf5", ".he5", ".hdf");
    /** Bytes per slab read from a variable: bounds memory for variables of any size. */
    static final long SLAB_BYTES = 16L << 20;
    private static final Set<String> NETCDF_INTERNAL = Set.of("_Netcdf4Coordinates", "_Netcdf4Dimid", "_NCProperties",
            "_nc3_strict", "DIMENSION_LIST", "_FillValue");
    private static final Set<String> DIMENSION_SCALE_ATTRS = Set.of("CLASS", "NAME", "REFERENCE_LIST");
    private static final String PURE_DIMENSION = "This is a netCDF dimension but not a netCDF variable";

    @Parameters(index = "0", paramLabel = "DIR", description = "A directory of .nc/.nc4/.h5/.hdf5 files (or one file).")
    Path dir;

    @Option(names = "--store", required = true, paramLabel = "PATH", description = "The store to import into (created if absent).")
    String store;

    @Option(names = "--replace", description = "Replace datasets that already exist (default: refuse).")
    boolean replace;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws IOException {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        List<Path> files = files(dir);
        StoreLocation location = StoreLocation.parse(store);
        try (StoreSession s = StoreSession.open(location, true)) {
            Atlas atlas = s.atlas();
            Map<Path, String> names = new LinkedHashMap<>();
            for (Path f : files) {
                String name = stem(f);
                if (names.containsValue(name)) {
                    throw CliException.usage("two files in " + dir + " import as dataset '" + name + "'");
                }
                if (atlas.datasetExists(name) && !replace) {
                    throw new DatasetAlreadyExistsException("dataset '" + name + "' (from " + f.getFileName()
                            + ") already exists in " + location + "; pass --replace to overwrite it (nothing imported)");
                }
                names.put(f, name);
            }
            out.printf("importing %d file(s) from %s into %s%n", files.size(), dir, location);
            out.flush();
            ProgressBar bar = new ProgressBar(err, "import", files.size(), "files", ProgressBar.interactive());
            long t0 = System.nanoTime();
            long[] totals = new long[2];   // arrays, bytes
            try {
                for (Map.Entry<Path, String> e : names.entrySet()) {
                    long[] r = importFile(atlas, e.getKey(), e.getValue(), err);
                    atlas.flush().block();
                    totals[0] += r[0];
                    totals[1] += r[1];
                    bar.advance(1);
                }
            } finally {
                bar.finish();
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            out.printf("imported %d dataset(s), %d array(s), %s of values in %.2f s%n", files.size(), totals[0],
                    Values.bytes(totals[1]), seconds);
        }
        out.flush();
        return 0;
    }

    /** The HDF5 files of {@code dir} (or {@code dir} itself when it is a file), sorted by name. */
    static List<Path> files(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            throw new NoSuchFileException(dir.toString());
        }
        if (Files.isRegularFile(dir)) {
            return List.of(dir);
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(Files::isRegularFile)
                    .filter(p -> EXTENSIONS.stream().anyMatch(x -> p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(x)))
                    .sorted().collect(Collectors.toList());
        }
        if (files.isEmpty()) {
            throw CliException.usage("no NetCDF-4/HDF5 files (" + String.join(", ", EXTENSIONS) + ") in " + dir);
        }
        return files;
    }

    static String stem(Path f) {
        String n = f.getFileName().toString();
        int dot = n.lastIndexOf('.');
        return dot > 0 ? n.substring(0, dot) : n;
    }

    /** Imports one file as dataset {@code name}; returns {arrays, value bytes}. */
    private long[] importFile(Atlas atlas, Path file, String name, PrintWriter err) throws IOException {
        checkHdf5(file);
        if (atlas.datasetExists(name)) {
            atlas.deleteDataset(name).block();
        }
        try (HdfFile hdf = new HdfFile(file)) {
            DatasetView ds = atlas.createDataset(name).block();
            for (Map.Entry<String, Attribute> a : new TreeMap<>(hdf.getAttributes()).entrySet()) {
                if (NETCDF_INTERNAL.contains(a.getKey())) {
                    continue;
                }
                Attr v = datasetAttr(a.getValue());
                if (v != null) {
                    ds.setAttribute(a.getKey(), v).block();
                }
            }
            Map<Integer, String> dimNames = new HashMap<>();
            List<Map.Entry<String, Dataset>> vars = new ArrayList<>();
            collect(hdf, "", vars, dimNames);
            long[] totals = new long[2];
            for (Map.Entry<String, Dataset> v : vars) {
                Dataset d = v.getValue();
                if (isPureDimension(d)) {
                    continue;
                }
                DType dtype = dtype(d.getDataType());
                if (dtype == null) {
                    err.printf("atlas: skipped %s:%s (HDF5 type %s not supported)%n", file.getFileName(), d.getPath(),
                            d.getDataType().getClass().getSimpleName());
                    continue;
                }
                totals[1] += importVariable(ds, v.getKey(), d, dtype, dimNames);
                totals[0]++;
            }
            return totals;
        } catch (RuntimeException e) {
            if (e instanceof dev.atlas.error.AtlasException || e instanceof CliException) {
                throw e;
            }
            throw CliException.runtime("cannot read " + file + ": " + AtlasCli.describe(e));
        }
    }

    /** Refuses files that are not HDF5 (netCDF classic files start with "CDF") with a clear message. */
    private static void checkHdf5(Path file) throws IOException {
        byte[] head = new byte[8];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, 8);
        }
        if (n >= 3 && head[0] == 'C' && head[1] == 'D' && head[2] == 'F') {
            throw CliException.runtime(file + " is a netCDF classic file, not NetCDF-4/HDF5; convert it with 'nccopy -k nc4'");
        }
        byte[] sig = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
        if (n < 8 || !Arrays.equals(head, sig)) {
            // HDF5 allows a user block before the signature (at 512, 1024, ...): let jHDF look further.
            if (Files.size(file) < 512) {
                throw CliException.runtime(file + " is not an HDF5 file (no HDF5 signature)");
            }
        }
    }

    /** Datasets of {@code g} and its subgroups (names joined with '.'), and the netCDF dimension ids. */
    private static void collect(Group g, String prefix, List<Map.Entry<String, Dataset>> vars, Map<Integer, String> dimNames) {
        for (Node n : new TreeMap<>(g.getChildren()).values()) {
            if (n instanceof Dataset d) {
                vars.add(Map.entry(prefix + n.getName(), d));
                Attribute dimid = n.getAttribute("_Netcdf4Dimid");
                if (dimid != null && dimid.getData() instanceof Number num && prefix.isEmpty()) {
                    dimNames.put(num.intValue(), n.getName());
                }
            } else if (n instanceof Group sub) {
                collect(sub, prefix + n.getName() + ".", vars, dimNames);
            }
        }
    }

    private static boolean isPureDimension(Dataset d) {
        Attribute name = d.getAttribute("NAME");
        return name != null && name.getData() instanceof String s && s.startsWith(PURE_DIMENSION);
    }

    private static boolean isDimensionScale(Node n) {
        Attribute c = n.getAttribute("CLASS");
        return c != null && "DIMENSION_SCALE".equals(c.getData());
    }

    /** Our dtype for an HDF5 type, or null when not supported. */
    static DType dtype(DataType t) {
        if (t instanceof FloatingPoint) {
            return t.getSize() == 4 ? DType.FLOAT32 : t.getSize() == 8 ? DType.FLOAT64 : null;
        }
        if (t instanceof FixedPoint f) {
            boolean s = f.isSigned();
            switch (f.getSize()) {
                case 1: return s ? DType.INT8 : DType.UINT8;
                case 2: return s ? DType.INT16 : DType.UINT16;
                case 4: return s ? DType.INT32 : DType.UINT32;
                case 8: return s ? DType.INT64 : DType.UINT64;
                default: return null;
            }
        }
        if (t instanceof StringData || t instanceof VariableLength v && String.class.equals(v.getJavaType())) {
            return DType.STRING;
        }
        return null;
    }

    /** Defines and writes one variable; returns the bytes of its values. */
    private static long importVariable(DatasetView ds, String name, Dataset d, DType dtype, Map<Integer, String> dimNames) {
        long[] shape = d.isScalar() ? new long[] {1} : d.getDimensionsAsLong();
        ArraySpec spec = ArraySpec.of(dtype, shape);
        if (d instanceof ChunkedDataset c && !d.isScalar()) {
            int[] cd = c.getChunkDimensions();
            long[] chunks = new long[shape.length];
            for (int i = 0; i < shape.length; i++) {
                chunks[i] = Math.max(1, Math.min(i < cd.length ? cd[i] : shape[i], Math.max(1, shape[i])));
            }
            spec = spec.withChunks(chunks);
        }
        List<String> dims = dimensionNames(d, shape.length, dimNames);
        if (dims != null) {
            spec = spec.withDimensions(dims.toArray(new String[0]));
        }
        Attribute fill = d.getAttribute("_FillValue");
        if (fill != null) {
            FillValue fv = fillValue(fill.getData(), dtype);
            if (fv != null) {
                spec = spec.withFill(fv);
            }
        }
        ds.defineArray(name, spec).block();
        boolean scale = isDimensionScale(d);
        for (Map.Entry<String, Attribute> a : new TreeMap<>(d.getAttributes()).entrySet()) {
            if (NETCDF_INTERNAL.contains(a.getKey()) || scale && DIMENSION_SCALE_ATTRS.contains(a.getKey())) {
                continue;
            }
            AttributeValue v = arrayAttribute(a.getValue());
            if (v != null) {
                ds.setArrayAttribute(name, a.getKey(), v).block();
            }
        }
        long total = 1;
        for (long s : shape) {
            total *= s;
        }
        if (total == 0) {
            return 0;
        }
        if (d.isScalar() || dtype == DType.STRING || shape.length == 0) {
            Object data = d.isScalar() ? d.getData() : d.getDataFlat();
            try (NdArray a = toNdArray(data, dtype, shape)) {
                ds.writeArray(name, new long[shape.length], a).block();
            }
            return dtype.elementSize() > 0 ? total * dtype.elementSize() : 0;
        }
        long rowElements = total / shape[0];
        long rows = Math.max(1, SLAB_BYTES / Math.max(1, rowElements * dtype.elementSize()));
        for (long r0 = 0; r0 < shape[0]; r0 += rows) {
            long n = Math.min(rows, shape[0] - r0);
            long[] off = new long[shape.length];
            off[0] = r0;
            int[] sh = new int[shape.length];
            long[] slabShape = shape.clone();
            slabShape[0] = n;
            for (int i = 0; i < shape.length; i++) {
                sh[i] = Math.toIntExact(slabShape[i]);
            }
            Object data = n == shape[0] ? d.getData() : d.getData(off, sh);
            try (NdArray a = toNdArray(data, dtype, slabShape)) {
                ds.writeArray(name, off, a).block();
            }
        }
        return total * dtype.elementSize();
    }

    /** Dimension names from netCDF's {@code _Netcdf4Coordinates} ids, a dimension scale's own name, or null. */
    private static List<String> dimensionNames(Dataset d, int rank, Map<Integer, String> dimNames) {
        if (d.isScalar()) {
            return null;
        }
        Attribute coords = d.getAttribute("_Netcdf4Coordinates");
        if (coords != null && coords.getData() != null && coords.getData().getClass().isArray()
                && Array.getLength(coords.getData()) == rank) {
            List<String> names = new ArrayList<>();
            for (int i = 0; i < rank; i++) {
                String n = dimNames.get(((Number) Array.get(coords.getData(), i)).intValue());
                if (n == null) {
                    return null;
                }
                names.add(n);
            }
            return names;
        }
        if (rank == 1 && isDimensionScale(d)) {
            return List.of(d.getName());
        }
        return null;
    }

    /** Element bytes (little-endian) of jHDF data: a scalar, a flat or multi-dimensional Java array. */
    static NdArray toNdArray(Object data, DType dtype, long[] shape) {
        if (dtype == DType.STRING) {
            List<String> values = new ArrayList<>();
            flattenStrings(data, values);
            return NdArray.ofStrings(shape, values);
        }
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(n * dtype.elementSize())).order(ByteOrder.LITTLE_ENDIAN);
        put(b, data, dtype);
        b.flip();
        return NdArray.wrap(dtype, shape, Unpooled.wrappedBuffer(b));
    }

    private static void flattenStrings(Object data, List<String> out) {
        if (data instanceof Object[] arr) {
            for (Object o : arr) {
                flattenStrings(o, out);
            }
        } else {
            out.add(String.valueOf(data));
        }
    }

    private static void put(ByteBuffer b, Object data, DType dtype) {
        if (data instanceof Object[] arr && !(data instanceof BigInteger[])) {
            for (Object o : arr) {
                put(b, o, dtype);
            }
            return;
        }
        if (data instanceof Number num) {
            putNumber(b, num, dtype);
            return;
        }
        if (data instanceof float[] f) {
            for (float v : f) {
                putNumber(b, v, dtype);
            }
        } else if (data instanceof double[] f) {
            for (double v : f) {
                putNumber(b, v, dtype);
            }
        } else if (data instanceof byte[] f) {
            for (byte v : f) {
                putNumber(b, v, dtype);
            }
        } else if (data instanceof short[] f) {
            for (short v : f) {
                putNumber(b, v, dtype);
            }
        } else if (data instanceof int[] f) {
            for (int v : f) {
                putNumber(b, v, dtype);
            }
        } else if (data instanceof long[] f) {
            for (long v : f) {
                putNumber(b, v, dtype);
            }
        } else if (data instanceof BigInteger[] f) {
            for (BigInteger v : f) {
                putNumber(b, v, dtype);
            }
        } else {
            throw CliException.runtime("unexpected data " + (data == null ? "null" : data.getClass().getSimpleName())
                    + " for dtype " + dtype);
        }
    }

    /** One element, narrowed to the dtype's width (jHDF widens unsigned types: uint8 arrives as int). */
    private static void putNumber(ByteBuffer b, Number v, DType dtype) {
        switch (dtype.kind()) {
            case FLOAT32: b.putFloat(v.floatValue()); break;
            case FLOAT64: b.putDouble(v.doubleValue()); break;
            case INT8: case UINT8: b.put((byte) v.longValue()); break;
            case INT16: case UINT16: b.putShort((short) v.longValue()); break;
            case INT32: case UINT32: b.putInt((int) v.longValue()); break;
            default: b.putLong(v.longValue()); break;
        }
    }

    /** The fill value of a {@code _FillValue} attribute's data for {@code dtype}, or null. */
    static FillValue fillValue(Object data, DType dtype) {
        Object v = data != null && data.getClass().isArray() ? (Array.getLength(data) > 0 ? Array.get(data, 0) : null) : data;
        if (v instanceof String s) {
            return dtype == DType.STRING ? new FillValue.Str(s) : null;
        }
        if (!(v instanceof Number num)) {
            return null;
        }
        if (dtype.isFloat()) {
            return new FillValue.Float(num.doubleValue());
        }
        if (dtype.isUnsignedInteger()) {
            long bits = num.longValue();
            long mask = dtype.elementSize() == 8 ? -1L : (1L << (8 * dtype.elementSize())) - 1;
            return new FillValue.UInt(bits & mask);
        }
        if (dtype.isSignedInteger()) {
            return new FillValue.Int(num.longValue());
        }
        return null;
    }

    /** A variable attribute as an array attribute (scalars for one element, lists otherwise), or null if unsupported. */
    static AttributeValue arrayAttribute(Attribute a) {
        Object data;
        try {
            data = a.getData();
        } catch (RuntimeException e) {
            return null;
        }
        if (data instanceof String s) {
            return AttributeValue.ofString(s);
        }
        if (data instanceof String[] s) {
            return s.length == 1 ? AttributeValue.ofString(s[0]) : AttributeValue.ofStringList(Arrays.asList(s));
        }
        DType t = dtype(a.getDataType());
        if (t == null || t == DType.STRING || data == null) {
            return null;
        }
        long[] v;
        double[] f = null;
        if (data instanceof Number num) {
            v = new long[] {num.longValue()};
            f = new double[] {num.doubleValue()};
        } else if (data.getClass().isArray()) {
            int n = Array.getLength(data);
            v = new long[n];
            f = new double[n];
            for (int i = 0; i < n; i++) {
                Object o = Array.get(data, i);
                if (!(o instanceof Number num)) {
                    return null;
                }
                v[i] = num.longValue();
                f[i] = num.doubleValue();
            }
        } else {
            return null;
        }
        boolean one = v.length == 1;
        switch (t.kind()) {
            case FLOAT32: {
                float[] x = new float[f.length];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) f[i];
                }
                return one ? AttributeValue.ofFloat32(x[0]) : AttributeValue.ofFloat32List(x);
            }
            case FLOAT64: return one ? AttributeValue.ofFloat64(f[0]) : AttributeValue.ofFloat64List(f);
            case INT8: case UINT8: {
                byte[] x = new byte[v.length];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (byte) v[i];
                }
                return t == DType.INT8 ? (one ? AttributeValue.ofInt8(x[0]) : AttributeValue.ofInt8List(x))
                        : (one ? AttributeValue.ofUInt8(x[0]) : AttributeValue.ofUInt8List(x));
            }
            case INT16: case UINT16: {
                short[] x = new short[v.length];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (short) v[i];
                }
                return t == DType.INT16 ? (one ? AttributeValue.ofInt16(x[0]) : AttributeValue.ofInt16List(x))
                        : (one ? AttributeValue.ofUInt16(x[0]) : AttributeValue.ofUInt16List(x));
            }
            case INT32: case UINT32: {
                int[] x = new int[v.length];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (int) v[i];
                }
                return t == DType.INT32 ? (one ? AttributeValue.ofInt32(x[0]) : AttributeValue.ofInt32List(x))
                        : (one ? AttributeValue.ofUInt32(x[0]) : AttributeValue.ofUInt32List(x));
            }
            case INT64: return one ? AttributeValue.ofInt64(v[0]) : AttributeValue.ofInt64List(v);
            case UINT64: return one ? AttributeValue.ofUInt64(v[0]) : AttributeValue.ofUInt64List(v);
            default: return null;
        }
    }

    /** A global attribute as a dataset attribute: numbers and strings as scalars, lists joined by ", ". */
    static Attr datasetAttr(Attribute a) {
        AttributeValue v = arrayAttribute(a);
        if (v == null) {
            return null;
        }
        switch (v.kind()) {
            case STRING: return Attr.of(v.asString());
            case FLOAT32: return Attr.of((double) v.asFloat32());
            case FLOAT64: return Attr.of(v.asDouble());
            case UINT64: return v.asLong() < 0 ? Attr.of(Long.toUnsignedString(v.asLong())) : Attr.of(v.asLong());
            case INT8: case INT16: case INT32: case INT64: case UINT8: case UINT16: case UINT32:
                return Attr.of(v.asLong());
            default:
                return Attr.of(Values.attribute(v).replace("\"", ""));
        }
    }
}
