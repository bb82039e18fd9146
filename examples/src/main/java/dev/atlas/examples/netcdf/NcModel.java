package dev.atlas.examples.netcdf;

import dev.atlas.format.AttributeValue;
import dev.atlas.format.DType;
import dev.atlas.format.FillValue;
import io.jhdf.HdfFile;
import io.jhdf.api.Attribute;
import io.jhdf.api.Dataset;
import io.jhdf.api.Group;
import io.jhdf.api.Node;
import io.jhdf.api.dataset.ChunkedDataset;
import java.lang.reflect.Array;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The netCDF-4 view of an HDF5 file, as netCDF-C presents it: dimensions (from dimension scales in
 * every group), variables with their netCDF shape, dimension names, fill value and attributes, and
 * the variables that cannot be imported with the reason.
 *
 * <p>The rules, which are netCDF-C's:
 * <ul>
 * <li>A dataset with {@code CLASS = "DIMENSION_SCALE"} defines a dimension named after the dataset
 *     (a {@code _nc4_non_coord_} prefix removed) in its group. If its {@code NAME} starts with
 *     "This is a netCDF dimension but not a netCDF variable" it is only a dimension, not a variable.
 *     A dimension whose scale has an unlimited maximum size is unlimited; its length is the largest
 *     extent of its scale and of every variable axis attached to it.</li>
 * <li>A variable's dimensions are, in order: itself, for a one-dimensional scale; else the scales its
 *     {@code DIMENSION_LIST} references (matched by object address); else the dimension ids of its
 *     {@code _Netcdf4Coordinates} matched against the scales' {@code _Netcdf4Dimid} (ids are unique
 *     across groups). {@code _Netcdf4Dimid} on an ordinary variable is never trusted. A variable
 *     without dimension scales (a plain HDF5 dataset) has no dimension names (netCDF-C makes up
 *     {@code phony_dim_N}; Atlas leaves them unnamed) and its HDF5 extent as its shape.</li>
 * <li>The shape is the dimensions' lengths: a variable whose dataset is shorter than its unlimited
 *     dimension reads the missing records as its fill value.</li>
 * <li>The fill value is {@code _FillValue} if the variable has one, else the HDF5 fill value when
 *     the dataset defines one, else netCDF's default fill for the type (as {@code nc_inq_var_fill}
 *     reports it). Elements inside the HDF5 extent whose chunk was never written read as the HDF5 fill
 *     value (the dataset's fill value property, 0 when undefined), as the HDF5 library reads them.</li>
 * <li>Variables of nested groups are named {@code group.sub.variable}; group attributes become
 *     dataset attributes named {@code group.sub.attribute}.</li>
 * </ul>
 */
public final class NcModel {
    /** The {@code NAME} of a dimension scale that is only a dimension. */
    static final String PURE_DIMENSION = "This is a netCDF dimension but not a netCDF variable";
    /** netCDF-C's prefix for the scale of a dimension whose coordinate variable is multi-dimensional. */
    static final String NON_COORD = "_nc4_non_coord_";
    /** Attributes netCDF-C keeps for its own bookkeeping: never part of the netCDF view. */
    static final Set<String> INTERNAL = Set.of("_Netcdf4Coordinates", "_Netcdf4Dimid", "_NCProperties", "_nc3_strict",
            "DIMENSION_LIST", "REFERENCE_LIST", "_IsNetcdf4", "_SuperblockVersion", "_Format");
    /** Attributes of a dimension scale that are HDF5's bookkeeping. */
    static final Set<String> SCALE_ATTRIBUTES = Set.of("CLASS", "NAME");

    /** A netCDF dimension. */
    public static final class Dimension {
        final String name;
        final boolean unlimited;
        long length;

        Dimension(String name, boolean unlimited, long length) {
            this.name = name;
            this.unlimited = unlimited;
            this.length = length;
        }

        public String name() {
            return name;
        }

        public boolean unlimited() {
            return unlimited;
        }

        public long length() {
            return length;
        }
    }

    /** A variable that is not imported, and why. */
    public record Skipped(String variable, String reason) {
    }

    /** An attribute that has no Atlas value (enum, compound, reference), and its owner. */
    public record DroppedAttribute(String owner, String attribute, String reason) {
    }

    /** A variable to import. */
    public static final class Variable {
        final String name;
        final Dataset dataset;
        final DType dtype;
        final boolean isChar;
        final long[] shape;
        final long[] extent;
        final List<Dimension> dims;
        final FillValue fill;
        final FillValue storedFill;
        final Map<String, AttributeValue> attributes;

        Variable(String name, Dataset dataset, DType dtype, boolean isChar, long[] shape, long[] extent,
                List<Dimension> dims, FillValue fill, FillValue storedFill, Map<String, AttributeValue> attributes) {
            this.name = name;
            this.dataset = dataset;
            this.dtype = dtype;
            this.isChar = isChar;
            this.shape = shape;
            this.extent = extent;
            this.dims = dims;
            this.fill = fill;
            this.storedFill = storedFill;
            this.attributes = attributes;
        }

        /** The variable's name: its HDF5 path without the leading '/', groups joined with '.'. */
        public String name() {
            return name;
        }

        public Dataset dataset() {
            return dataset;
        }

        public DType dtype() {
            return dtype;
        }

        /** Whether this is an {@code NC_CHAR} variable (imported as UInt8 bytes). */
        public boolean isChar() {
            return isChar;
        }

        /** The netCDF shape (a scalar has rank 0). */
        public long[] shape() {
            return shape.clone();
        }

        /** The HDF5 dataset's extent: at most {@link #shape()} on every axis. */
        public long[] extent() {
            return extent.clone();
        }

        /**
         * Dimension names, or null for a dataset without dimension scales; an axis without a scale
         * among named ones is {@code dim<axis>}, as the engine names unnamed axes.
         */
        public List<String> dimensionNames() {
            if (dims == null) {
                return null;
            }
            List<String> names = new ArrayList<>();
            for (int i = 0; i < dims.size(); i++) {
                names.add(dims.get(i) == null ? "dim" + i : dims.get(i).name);
            }
            return names;
        }

        /** The fill value netCDF reports ({@code _FillValue}, else the type's default). */
        public FillValue fill() {
            return fill;
        }

        /** What an unwritten element inside the HDF5 extent reads as. */
        public FillValue storedFill() {
            return storedFill;
        }

        /** Attributes in file order (netCDF bookkeeping left out; {@code _FillValue} kept). */
        public Map<String, AttributeValue> attributes() {
            return attributes;
        }

        /** Bytes of values (strings: elements), for progress. */
        public long valueBytes() {
            long n = 1;
            for (long s : shape) {
                n = Math.multiplyExact(n, s);
            }
            return dtype.elementSize() > 0 ? n * dtype.elementSize() : n;
        }
    }

    private final Map<String, AttributeValue> globals;
    private final List<Variable> variables;
    private final List<Skipped> skipped;
    private final List<DroppedAttribute> dropped;

    private NcModel(Map<String, AttributeValue> globals, List<Variable> variables, List<Skipped> skipped,
            List<DroppedAttribute> dropped) {
        this.globals = globals;
        this.variables = variables;
        this.skipped = skipped;
        this.dropped = dropped;
    }

    /** Global attributes, then those of nested groups ({@code group.attribute}). */
    public Map<String, AttributeValue> globalAttributes() {
        return globals;
    }

    public List<Variable> variables() {
        return variables;
    }

    public List<Skipped> skipped() {
        return skipped;
    }

    public List<DroppedAttribute> droppedAttributes() {
        return dropped;
    }

    /** Reads the netCDF view of an open HDF5 file (metadata only: no values are read). */
    public static NcModel read(HdfFile file) {
        List<Map.Entry<String, Dataset>> datasets = new ArrayList<>();
        Map<String, AttributeValue> globals = new LinkedHashMap<>();
        List<DroppedAttribute> dropped = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        walk(file, "", datasets, globals, dropped, skipped);

        // Dimensions: every dimension scale, by object address and by netCDF dimension id.
        Map<Long, Dimension> byAddress = new HashMap<>();
        Map<Integer, Dimension> byId = new HashMap<>();
        for (Map.Entry<String, Dataset> e : datasets) {
            Dataset d = e.getValue();
            if (!isScale(d) || d.isScalar()) {
                continue;
            }
            String name = d.getName().startsWith(NON_COORD) ? d.getName().substring(NON_COORD.length()) : d.getName();
            long[] max = d.getMaxSize();
            long[] ext = d.getDimensionsAsLong();
            Dimension dim = new Dimension(name, max.length > 0 && max[0] < 0, ext.length > 0 ? ext[0] : 0);
            if (!dim.unlimited && isPureDimension(d)) {
                Long declared = pureDimensionLength(d);
                if (declared != null) {
                    dim.length = declared;
                }
            }
            byAddress.put(d.getAddress(), dim);
            Attribute id = d.getAttribute("_Netcdf4Dimid");
            if (id != null && scalarNumber(id) instanceof Number n) {
                byId.put(n.intValue(), dim);
            }
        }

        // Each variable's dimensions; unlimited lengths grow to the longest attached extent.
        List<Object[]> resolved = new ArrayList<>();   // {name, dataset, dims}
        for (Map.Entry<String, Dataset> e : datasets) {
            Dataset d = e.getValue();
            if (isPureDimension(d)) {
                continue;
            }
            String name = e.getKey();
            int leaf = name.lastIndexOf('.') + 1;
            if (name.startsWith(NON_COORD, leaf)) {
                // netCDF-C stores a variable named like a dimension it is not the coordinate of
                // (lat(y, x) beside dimension lat) under this prefix, and presents it without.
                name = name.substring(0, leaf) + name.substring(leaf + NON_COORD.length());
            }
            String unsupported;
            try {
                unsupported = NcTypes.dtype(d.getDataType()) == null ? NcTypes.unsupported(d.getDataType()) : filters(d);
            } catch (RuntimeException ex) {
                unsupported = "its HDF5 type or layout cannot be read (" + ex.getMessage() + ")";
            }
            if (unsupported != null) {
                skipped.add(new Skipped(name, unsupported));
                continue;
            }
            List<Dimension> dims = dimensions(d, byAddress, byId);
            long[] ext = d.isScalar() ? new long[0] : d.getDimensionsAsLong();
            if (dims != null) {
                for (int i = 0; i < dims.size(); i++) {
                    Dimension dim = dims.get(i);
                    if (dim != null && (dim.unlimited || ext[i] > dim.length)) {
                        dim.length = Math.max(dim.length, ext[i]);
                    }
                }
            }
            resolved.add(new Object[] {name, d, dims});
        }

        List<Variable> variables = new ArrayList<>();
        for (Object[] r : resolved) {
            String name = (String) r[0];
            Dataset d = (Dataset) r[1];
            @SuppressWarnings("unchecked")
            List<Dimension> dims = (List<Dimension>) r[2];
            variables.add(variable(name, d, dims, dropped));
        }
        return new NcModel(Collections.unmodifiableMap(globals), List.copyOf(variables), List.copyOf(skipped),
                List.copyOf(dropped));
    }

    private static Variable variable(String name, Dataset d, List<Dimension> dims, List<DroppedAttribute> dropped) {
        DType dtype = NcTypes.dtype(d.getDataType());
        boolean isChar = NcTypes.isChar(d.getDataType());
        long[] extent = d.isScalar() ? new long[0] : d.getDimensionsAsLong();
        long[] shape = extent.clone();
        if (dims != null) {
            for (int i = 0; i < shape.length; i++) {
                shape[i] = dims.get(i) == null ? extent[i] : Math.max(extent[i], dims.get(i).length);
            }
        }
        Map<String, AttributeValue> attributes = new LinkedHashMap<>();
        boolean scale = isScale(d);
        FillValue fill = null;
        for (Attribute a : orderedAttributes(d, name, dropped)) {
            String key = a.getName();
            if (INTERNAL.contains(key) || scale && SCALE_ATTRIBUTES.contains(key)) {
                continue;
            }
            if (garbled(key)) {
                dropped.add(new DroppedAttribute(name, key, GARBLED));
                continue;
            }
            AttributeValue v = NcAttributes.convert(a);
            if (v == null) {
                dropped.add(new DroppedAttribute(name, key, NcTypes.unsupported(a.getDataType())));
                continue;
            }
            attributes.put(key, v);
            if (key.equals("_FillValue") && sameType(a, d)) {
                // netCDF-C ignores a _FillValue of another type than its variable (ncpdq writes a
                // float one on a packed short): the fill is then the HDF5 one, or the default.
                fill = NcTypes.fill(a.isEmpty() ? null : a.getData(), dtype);
            }
        }
        Object hdfFill;
        try {
            hdfFill = d.getFillValue();
        } catch (RuntimeException e) {
            hdfFill = null;
        }
        FillValue stored = hdfFill == null ? null : NcTypes.fill(hdfFill, dtype);
        if (fill == null) {
            fill = stored != null ? stored : NcTypes.defaultFill(dtype, isChar);
        }
        if (stored == null) {
            // An undefined HDF5 fill value reads as zero bytes (strings: empty).
            stored = dtype == DType.STRING ? new FillValue.Str("") : dtype.isFloat() ? new FillValue.Float(0.0)
                    : dtype.isUnsignedInteger() ? new FillValue.UInt(0) : new FillValue.Int(0);
        }
        return new Variable(name, d, dtype, isChar, shape, extent, dims, fill, stored, Collections.unmodifiableMap(attributes));
    }

    /** Datasets of {@code g} and its subgroups (names joined with '.'), and the group attributes. */
    private static void walk(Group g, String prefix, List<Map.Entry<String, Dataset>> out, Map<String, AttributeValue> globals,
            List<DroppedAttribute> dropped, List<Skipped> skipped) {
        String owner = prefix.isEmpty() ? "/" : prefix.substring(0, prefix.length() - 1);
        for (Attribute a : orderedAttributes(g, owner, dropped)) {
            if (INTERNAL.contains(a.getName())) {
                continue;
            }
            if (garbled(a.getName())) {
                dropped.add(new DroppedAttribute(owner, a.getName(), GARBLED));
                continue;
            }
            AttributeValue v = NcAttributes.convert(a);
            if (v == null) {
                dropped.add(new DroppedAttribute(owner, a.getName(), NcTypes.unsupported(a.getDataType())));
            } else {
                globals.put(prefix + a.getName(), v);
            }
        }
        for (Map.Entry<String, Node> e : new TreeMap<>(g.getChildren()).entrySet()) {
            Node n = e.getValue();
            String name = prefix + e.getKey();
            if (n instanceof io.jhdf.api.Link link) {
                // Soft and external links are variables (or groups) of their own, as the HDF5 library
                // (and so netCDF-C) follows them.
                try {
                    n = link.isBrokenLink() ? null : link.getTarget();
                } catch (RuntimeException ex) {
                    n = null;
                }
                if (n == null) {
                    skipped.add(new Skipped(name, "a link whose target cannot be reached (" + link.getTargetPath() + ")"));
                    continue;
                }
            }
            if (garbled(e.getKey())) {
                skipped.add(new Skipped(name, GARBLED));
                continue;
            }
            if (n instanceof Dataset d) {
                out.add(Map.entry(name, d));
            } else if (n instanceof Group sub) {
                walk(sub, name + ".", out, globals, dropped, skipped);
            }
        }
    }

    /** Why a name with a replacement character is not imported. */
    static final String GARBLED = "its name is not ASCII and is flagged as ASCII in the file (netCDF-C writes UTF-8 names "
            + "that way), which jHDF 0.13 cannot decode; the name would be wrong";

    /** Whether jHDF replaced undecodable bytes of a name (U+FFFD): the real name is unknown. */
    static boolean garbled(String name) {
        return name.indexOf('\uFFFD') >= 0;
    }

    /** Why a chunked dataset's values cannot be decoded (a filter jHDF lacks), or null. */
    private static String filters(Dataset d) {
        if (!(d instanceof ChunkedDataset)) {
            return null;
        }
        try {
            d.getFilters();
            return null;
        } catch (RuntimeException e) {
            return "its HDF5 filter pipeline cannot be decoded by jHDF 0.13 (" + e.getMessage() + ")";
        }
    }

    /**
     * Attributes in creation order when the file tracks it, else by name (as netCDF-C lists them).
     * Attributes jHDF cannot load (two above 64 KiB on one object, stored as "huge" fractal-heap
     * objects) are reported in {@code dropped} as one entry, and the object has none.
     */
    private static List<Attribute> orderedAttributes(Node n, String owner, List<DroppedAttribute> dropped) {
        Map<String, Attribute> all;
        try {
            all = n.getAttributes();
        } catch (RuntimeException e) {
            dropped.add(new DroppedAttribute(owner, "*", "the attributes cannot be read by jHDF 0.13 (" + e.getMessage() + ")"));
            return List.of();
        }
        if (n.isAttributeCreationOrderTracked()) {
            return new ArrayList<>(all.values());
        }
        return new ArrayList<>(new TreeMap<>(all).values());
    }

    private static List<Dimension> dimensions(Dataset d, Map<Long, Dimension> byAddress, Map<Integer, Dimension> byId) {
        if (d.isScalar()) {
            return List.of();
        }
        int rank = d.getDimensions().length;
        if (isScale(d) && rank == 1) {
            Dimension own = byAddress.get(d.getAddress());
            if (own != null) {
                return List.of(own);
            }
        }
        List<Dimension> fromList = fromDimensionList(d, rank, byAddress);
        if (fromList != null) {
            return fromList;
        }
        Attribute coords = d.getAttribute("_Netcdf4Coordinates");
        if (coords != null) {
            Object data = coords.isEmpty() ? null : coords.getData();
            if (data != null && data.getClass().isArray() && Array.getLength(data) == rank) {
                List<Dimension> dims = new ArrayList<>();
                for (int i = 0; i < rank; i++) {
                    Dimension dim = Array.get(data, i) instanceof Number n ? byId.get(n.intValue()) : null;
                    if (dim == null) {
                        return null;
                    }
                    dims.add(dim);
                }
                return dims;
            }
        }
        return null;
    }

    /** The scales a {@code DIMENSION_LIST} references (first reference per axis), or null. */
    private static List<Dimension> fromDimensionList(Dataset d, int rank, Map<Long, Dimension> byAddress) {
        Attribute list = d.getAttribute("DIMENSION_LIST");
        if (list == null) {
            return null;
        }
        Object data;
        try {
            data = list.isEmpty() ? null : list.getData();
        } catch (RuntimeException e) {
            return null;
        }
        if (data == null || !data.getClass().isArray() || Array.getLength(data) != rank) {
            return null;
        }
        List<Dimension> dims = new ArrayList<>();
        boolean any = false;
        for (int i = 0; i < rank; i++) {
            Long address = firstAddress(Array.get(data, i));
            Dimension dim = address == null ? null : byAddress.get(address);
            any |= dim != null;
            dims.add(dim);   // null: an axis without a scale (unnamed)
        }
        return any ? dims : null;
    }

    private static Long firstAddress(Object refs) {
        if (refs instanceof Number n) {
            return n.longValue();
        }
        if (refs != null && refs.getClass().isArray() && Array.getLength(refs) > 0) {
            return firstAddress(Array.get(refs, 0));
        }
        return null;
    }

    /** Whether an attribute has the variable's netCDF type (class, size and signedness). */
    private static boolean sameType(Attribute a, Dataset d) {
        io.jhdf.object.datatype.DataType at = a.getDataType();
        io.jhdf.object.datatype.DataType dt = d.getDataType();
        if (NcTypes.isChar(dt)) {
            return at instanceof io.jhdf.object.datatype.StringData;
        }
        return java.util.Objects.equals(NcTypes.dtype(at), NcTypes.dtype(dt)) && at.getClass() == dt.getClass();
    }

    static boolean isScale(Node n) {
        Attribute c = n.getAttribute("CLASS");
        if (c == null) {
            return false;
        }
        Object v = c.isEmpty() ? null : c.getData();
        return "DIMENSION_SCALE".equals(v instanceof String[] s && s.length == 1 ? s[0] : v);
    }

    static boolean isPureDimension(Dataset d) {
        Attribute name = d.getAttribute("NAME");
        return name != null && !name.isEmpty() && name.getData() instanceof String s && s.startsWith(PURE_DIMENSION);
    }

    /** The length netCDF-C writes at the end of a pure dimension's {@code NAME}, or null. */
    private static Long pureDimensionLength(Dataset d) {
        String s = ((String) d.getAttribute("NAME").getData()).substring(PURE_DIMENSION.length()).replace(".", "").trim();
        try {
            return s.isEmpty() ? null : Long.parseLong(s);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    private static Object scalarNumber(Attribute a) {
        Object v = a.isEmpty() ? null : a.getData();
        if (v != null && v.getClass().isArray()) {
            return Array.getLength(v) > 0 ? Array.get(v, 0) : null;
        }
        return v;
    }

    @Override
    public String toString() {
        return "NcModel" + Arrays.asList(variables.size(), skipped.size());
    }
}
