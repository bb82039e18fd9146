package dev.atlas.examples.netcdf;

import dev.atlas.array.ArraySpec;
import dev.atlas.error.AtlasException;
import dev.atlas.error.DTypeMismatchException;
import dev.atlas.error.InvalidNameException;
import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.store.Atlas;
import dev.atlas.store.Attr;
import dev.atlas.store.DatasetView;
import io.jhdf.HdfFile;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;

/**
 * Imports one NetCDF-4/HDF5 file as one dataset: its {@link NcModel} (read first, so a file that
 * cannot be read changes nothing), then the dataset, its attributes, one array per variable, and
 * each variable's values streamed by a {@link VariableCopier}. Nothing is committed here: the
 * caller flushes. If anything fails after the dataset was created, the dataset is deleted again
 * (before any flush), so a failed file leaves nothing visible; the failure is an
 * {@link ImportException} naming the file and the variable.
 */
public final class NcImporter {
    /** What to do when a variable's dtype differs from the store's array of the same name. */
    public enum DtypeClash {
        /** Fail the file (the default). */
        FAIL,
        /** Import the variable as {@code NAME_DTYPE} (e.g. {@code time_int32}). */
        SUFFIX,
        /** Skip the variable and report it. */
        SKIP
    }

    /**
     * Import options: variable renames ({@code old → new} by variable name), variables to skip
     * (with the reason to report), and the dtype-clash rule for clashes found while importing.
     */
    public record Options(Map<String, String> rename, Map<String, String> skip, DtypeClash dtypeClash) {
        public Options {
            rename = Map.copyOf(rename);
            skip = Map.copyOf(skip);
        }

        public Options(Map<String, String> rename, DtypeClash dtypeClash) {
            this(rename, Map.of(), dtypeClash);
        }
    }

    /** Progress callbacks (called from the importing thread). */
    public interface Progress {
        /** A variable's copy starts; {@code bytes} is the size of its values. */
        void variable(String file, String variable, long bytes);

        /** {@code bytes} more bytes of values copied. */
        void advance(long bytes);
    }

    /** What one file imported. */
    public record Result(String dataset, int arrays, long bytes, List<String> notes) {
    }

    /** A failure importing one file: a message naming the file and, when known, the variable. */
    public static final class ImportException extends AtlasException {
        private static final long serialVersionUID = 1L;

        public ImportException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    private NcImporter() {
    }

    /** The netCDF model of {@code file}, or an {@link ImportException} naming the file. */
    public static NcModel model(Path file, HdfFile hdf) {
        try {
            return NcModel.read(hdf);
        } catch (RuntimeException e) {
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            String why = root == e ? describe(e) : describe(e) + ": " + describe(root);
            throw new ImportException(file.getFileName() + ": cannot read its netCDF structure: jHDF 0.13 cannot parse it ("
                    + why + ")", e);
        }
    }

    /** Refuses files that are not HDF5 (netCDF classic files start with "CDF") with a clear message. */
    public static void checkHdf5(Path file) throws IOException {
        byte[] head = new byte[8];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, 8);
        }
        if (n >= 3 && head[0] == 'C' && head[1] == 'D' && head[2] == 'F') {
            throw new ImportException(file.getFileName() + ": a netCDF classic file, not NetCDF-4/HDF5; convert it with "
                    + "'nccopy -k nc4'", null);
        }
        byte[] sig = {(byte) 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
        if ((n < 8 || !Arrays.equals(head, sig)) && Files.size(file) < 512) {
            // HDF5 allows a user block before the signature (at 512, 1024, ...): jHDF looks further.
            throw new ImportException(file.getFileName() + ": not an HDF5 file (no HDF5 signature)", null);
        }
    }

    /**
     * Imports {@code model} (of {@code file}) as dataset {@code name}, which must not exist. Blocks.
     *
     * @throws ImportException naming the file (and variable) on any failure; the dataset is then
     *     deleted again (uncommitted)
     */
    public static Result importFile(Atlas atlas, Path file, NcModel model, String name, Options options, Progress progress) {
        String f = file.getFileName().toString();
        DatasetView ds;
        try {
            ds = atlas.createDataset(name).block();
        } catch (RuntimeException e) {
            throw new ImportException(f + ": cannot create dataset '" + name + "': " + describe(e), e);
        }
        String variable = null;
        try {
            List<String> notes = new ArrayList<>();
            for (NcModel.Skipped s : model.skipped()) {
                notes.add(f + ": skipped variable '" + s.variable() + "': " + s.reason());
            }
            for (NcModel.DroppedAttribute a : model.droppedAttributes()) {
                notes.add(f + ": skipped attribute '" + a.attribute() + "' of '" + a.owner() + "': " + a.reason());
            }
            for (Map.Entry<String, AttributeValue> a : model.globalAttributes().entrySet()) {
                ds.setAttribute(a.getKey(), datasetAttr(a.getValue())).block();
            }
            int arrays = 0;
            long bytes = 0;
            for (NcModel.Variable v : model.variables()) {
                variable = v.name();
                if (options.skip().containsKey(v.name())) {
                    notes.add(f + ": skipped variable '" + v.name() + "': " + options.skip().get(v.name()));
                    continue;
                }
                String array = options.rename().getOrDefault(v.name(), v.name());
                VariableCopier copier = VariableCopier.of(v);
                Optional<String> defined = define(atlas, ds, f, v, array, copier.chunks(), options, notes);
                if (defined.isEmpty()) {
                    continue;
                }
                array = defined.get();
                for (Map.Entry<String, AttributeValue> a : v.attributes().entrySet()) {
                    ds.setArrayAttribute(array, a.getKey(), a.getValue()).block();
                }
                progress.variable(f, v.name(), v.valueBytes());
                copier.copy(ds, array, progress::advance);
                arrays++;
                bytes += v.valueBytes();
            }
            return new Result(name, arrays, bytes, notes);
        } catch (RuntimeException | Error e) {
            try {
                atlas.deleteDataset(name).block();
            } catch (RuntimeException cleanup) {
                e.addSuppressed(cleanup);
            }
            String where = variable == null ? f : f + ": variable '" + variable + "'";
            if (e instanceof ImportException ie && ie.getMessage().startsWith(f + ":")) {
                throw ie;
            }
            if (e instanceof Error err && !(e instanceof OutOfMemoryError) && !(e instanceof StackOverflowError)) {
                throw err;
            }
            throw new ImportException(where + ": " + describe(e), e);
        }
    }

    /** Declares the array; empty when the variable is skipped (reported in {@code notes}). */
    private static Optional<String> define(Atlas atlas, DatasetView ds, String f, NcModel.Variable v, String array, long[] chunks,
            Options options, List<String> notes) {
        ArraySpec spec = ArraySpec.of(v.dtype(), v.shape()).withChunks(chunks).withFill(v.fill());
        List<String> dims = v.dimensionNames();
        if (dims != null) {
            spec = spec.withDimensions(dims.toArray(new String[0]));
        }
        try {
            ds.defineArray(array, spec).block();
            return Optional.of(array);
        } catch (DTypeMismatchException e) {
            String clash = clashMessage(f, v.name(), v.dtype(), array, atlas.arrayDtype(array).orElse(null));
            String suffixed = suffixed(array, v.dtype());
            switch (options.dtypeClash()) {
                case SKIP:
                    notes.add(clash + ": skipped (--dtype-clash=skip)");
                    return Optional.empty();
                case SUFFIX:
                    notes.add(clash + ": imported as '" + suffixed + "' (--dtype-clash=suffix)");
                    return define(atlas, ds, f, v, suffixed, chunks, new Options(options.rename(), options.skip(), DtypeClash.FAIL), notes);
                default:
                    throw new ImportException(clash + "; " + clashAdvice(v.name(), suffixed), e);
            }
        } catch (InvalidNameException e) {
            throw new ImportException(f + ": variable '" + v.name() + "' cannot be an array name (" + e.getMessage()
                    + "); pass --rename " + v.name() + "=NEWNAME", e);
        }
    }

    /** "F: variable 'V' is T but the store's array 'A' is U" (U unknown: "another dtype"). */
    public static String clashMessage(String file, String variable, DType dtype, String array, DType existing) {
        return file + ": variable '" + variable + "' is " + dtype + " but the store's array '" + array + "' is "
                + (existing == null ? "another dtype" : existing.toString());
    }

    /** How to resolve a dtype clash, for messages. */
    public static String clashAdvice(String variable, String suffixed) {
        return "pass --dtype-clash=suffix (imports it as '" + suffixed + "'), --dtype-clash=skip, or --rename "
                + variable + "=NEWNAME";
    }

    /** The array name {@code --dtype-clash=suffix} gives: {@code NAME_DTYPE}, e.g. {@code time_int32}. */
    public static String suffixed(String array, DType dtype) {
        return array + "_" + dtype.toString().toLowerCase(Locale.ROOT);
    }

    /**
     * A netCDF global attribute as a dataset attribute (dataset attributes are scalars): one value
     * as itself, several joined with ", " into a string, none as "".
     */
    public static Attr datasetAttr(AttributeValue v) {
        switch (v.kind()) {
            case STRING: return Attr.of(v.asString());
            case FLOAT32: return Attr.of((double) v.asFloat32());
            case FLOAT64: return Attr.of(v.asDouble());
            case UINT64: return v.asLong() < 0 ? Attr.of(Long.toUnsignedString(v.asLong())) : Attr.of(v.asLong());
            case INT8: case INT16: case INT32: case INT64: case UINT8: case UINT16: case UINT32:
                return Attr.of(v.asLong());
            default:
                break;
        }
        Object list = v.listValue();
        StringJoiner j = new StringJoiner(", ");
        if (list instanceof List<?> l) {
            l.forEach(o -> j.add(String.valueOf(o)));
            return Attr.of(j.toString());
        }
        boolean unsigned = v.kind().name().startsWith("UINT");
        for (int i = 0; i < java.lang.reflect.Array.getLength(list); i++) {
            Object o = java.lang.reflect.Array.get(list, i);
            if (unsigned && o instanceof Byte x) {
                j.add(Integer.toString(Byte.toUnsignedInt(x)));
            } else if (unsigned && o instanceof Short x) {
                j.add(Integer.toString(Short.toUnsignedInt(x)));
            } else if (unsigned && o instanceof Integer x) {
                j.add(Integer.toUnsignedString(x));
            } else if (unsigned && o instanceof Long x) {
                j.add(Long.toUnsignedString(x));
            } else {
                j.add(String.valueOf(o));
            }
        }
        return Attr.of(j.toString());
    }

    /** A one-line description of a failure: its message, or its type when it has none. */
    public static String describe(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t.getMessage() == null || t instanceof java.util.concurrent.CompletionException)) {
            t = t.getCause();
        }
        String m = t.getMessage();
        String s = m == null || m.isBlank() ? t.getClass().getSimpleName() : m;
        return s.lines().findFirst().orElse(s);
    }
}
