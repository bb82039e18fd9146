"""Fixtures written by h5py (plain HDF5, no netCDF conventions unless said). Usage: make_h5py.py OUTDIR"""
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]


def path(name):
    return os.path.join(out, name)


# Plain datasets of several types, no dimension scales.
with h5py.File(path("h5py_plain.h5"), "w") as f:
    f["int8"] = np.array([-128, -1, 0, 127], dtype="i1")
    f["uint16"] = np.array([[0, 1, 2], [65533, 65534, 65535]], dtype="u2")
    f["int32"] = np.arange(24, dtype="i4").reshape(2, 3, 4) - 12
    f["uint64"] = np.array([0, 2 ** 63, 2 ** 64 - 1], dtype="u8")
    f["float32"] = np.array([[0.5, -1.25], [np.nan, np.inf]], dtype="f4")
    f["float64"] = np.linspace(0, 1, 7)
    f["vlen_string"] = np.array(["x", "", "é東"], dtype=h5py.string_dtype())
    f["int32"].attrs["units"] = "counts"
    f["float64"].attrs["scale"] = np.float64(2.0)
    f["float64"].attrs["list"] = np.array([1, 2, 3], dtype="i2")
    f.attrs["title"] = "plain HDF5"
    f.attrs["version"] = np.int32(3)
    g = f.create_group("group")
    g["inner"] = np.array([1.5, 2.5], dtype="f8")

# Scalar datasets.
with h5py.File(path("h5py_scalar.h5"), "w") as f:
    f["scalar_f8"] = np.float64(6.02214076e23)
    f["scalar_i2"] = np.int16(-5)
    f.create_dataset("scalar_string", data="scalär", dtype=h5py.string_dtype())
    f["vector"] = np.array([1, 2], dtype="i4")

# Chunked datasets with missing chunks and explicit fill values.
with h5py.File(path("h5py_partial.h5"), "w") as f:
    d = f.create_dataset("partial_f4", shape=(20, 30), dtype="f4", chunks=(10, 10), fillvalue=-7.5)
    d[0:10, 0:10] = 1.0
    d[15, 25] = 2.0
    e = f.create_dataset("partial_i4", shape=(100,), dtype="i4", chunks=(16,), fillvalue=42)
    e[20:40] = np.arange(20)
    z = f.create_dataset("partial_zero_fill", shape=(8, 8), dtype="f8", chunks=(4, 4))
    z[4:8, 4:8] = 3.0
    n = f.create_dataset("never_written", shape=(50, 50), dtype="u2", chunks=(10, 10), fillvalue=999)
    n.attrs["note"] = "never written"
    g = f.create_dataset("partial_gzip", shape=(40,), dtype="i8", chunks=(8,), fillvalue=-1,
                         compression="gzip", compression_opts=4)
    g[8:16] = 5

# Attributes with a NULL dataspace (h5py.Empty) and other attribute shapes.
with h5py.File(path("h5py_nullattr.h5"), "w") as f:
    d = f.create_dataset("data", data=np.arange(6, dtype="f4").reshape(2, 3))
    d.attrs["empty_s1"] = h5py.Empty("S1")
    d.attrs["empty_f"] = h5py.Empty("f")
    d.attrs["empty_i4"] = h5py.Empty("i4")
    d.attrs["normal"] = np.float32(1.0)
    d.attrs["fixed_str"] = np.bytes_(b"fixed")
    d.attrs["vlen_str"] = "vlen ü"
    d.attrs["int_list"] = np.array([1, 2, 3], dtype="i8")
    f.attrs["global_empty"] = h5py.Empty("S1")
    f.attrs["global_text"] = "hello"

# Big-endian data.
with h5py.File(path("h5py_bigendian.h5"), "w") as f:
    f.create_dataset("be_f8", data=np.array([1.0, -2.5, 1e300, np.nan], dtype=">f8"))
    f.create_dataset("be_i2", data=np.array([[1, -2], [256, -32768]], dtype=">i2"))
    f.create_dataset("be_u4_chunked", data=np.arange(12, dtype=">u4") * 1000003, chunks=(5,))
    f.create_dataset("le_f4", data=np.array([1.0, 2.0], dtype="<f4"))

# Filters: gzip+shuffle, fletcher32.
with h5py.File(path("h5py_filters.h5"), "w") as f:
    data = (np.arange(200, dtype="f4") / 3).reshape(10, 20)
    f.create_dataset("gzip_shuffle", data=data, chunks=(5, 10), compression="gzip", compression_opts=6, shuffle=True)
    f.create_dataset("fletcher32", data=np.arange(50, dtype="i8") * -7, chunks=(7,), fletcher32=True)
    f.create_dataset("all_three", data=np.arange(64, dtype="u2").reshape(8, 8), chunks=(3, 3),
                     compression="gzip", shuffle=True, fletcher32=True)

# Compact layout through the low-level API.
with h5py.File(path("h5py_compact.h5"), "w") as f:
    data = np.arange(30, dtype="i4").reshape(5, 6) * 11
    space = h5py.h5s.create_simple(data.shape)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl.set_layout(h5py.h5d.COMPACT)
    dsid = h5py.h5d.create(f.id, b"compact_i4", h5py.h5t.NATIVE_INT32, space, dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
    fdata = np.array([0.25, 0.5, 0.75], dtype="f8")
    space2 = h5py.h5s.create_simple(fdata.shape)
    dcpl2 = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    dcpl2.set_layout(h5py.h5d.COMPACT)
    dsid2 = h5py.h5d.create(f.id, b"compact_f8", h5py.h5t.NATIVE_DOUBLE, space2, dcpl=dcpl2)
    dsid2.write(h5py.h5s.ALL, h5py.h5s.ALL, fdata)
    f["contiguous_f8"] = fdata * 2

# Dimension scales made with h5py's dims API.
with h5py.File(path("h5py_dimscales.h5"), "w") as f:
    f["x"] = np.arange(4, dtype="f8")
    f["y"] = np.array([10.0, 20.0, 30.0])
    f["x"].make_scale("x")
    f["y"].make_scale("y")
    t = f.create_dataset("temperature", data=np.arange(12, dtype="f4").reshape(3, 4))
    t.dims[0].attach_scale(f["y"])
    t.dims[1].attach_scale(f["x"])
    t.dims[0].label = "y"
    t.attrs["units"] = "degC"
    # A scale with a NAME differing from the dataset name.
    f["lev"] = np.array([1000, 850], dtype="i4")
    f["lev"].make_scale("pressure")
    p = f.create_dataset("profile", data=np.array([[1, 2, 3, 4], [5, 6, 7, 8]], dtype="i2"))
    p.dims[0].attach_scale(f["lev"])
    p.dims[1].attach_scale(f["x"])

# What netCDF-C 4.9 cannot present (the expectation comes from h5py): a dataset with a dimension
# scale on one axis only (netCDF4-python fails to open the file), a fixed-length string dataset
# (netCDF-C shows it as NC_STRING and crashes reading it).
with h5py.File(path("h5py_notnetcdf.h5"), "w") as f:
    f["fixed_string"] = np.array([b"ab", b"cde", b""], dtype="S3")
    f["x"] = np.arange(4, dtype="f8")
    f["x"].make_scale("x")
    q = f.create_dataset("half", data=np.arange(8, dtype="u1").reshape(4, 2))
    q.dims[0].attach_scale(f["x"])
    q.attrs["empty"] = h5py.Empty("S1")
    f["unscaled"] = np.array([1.0, 2.0], dtype="f4")

# User-defined types the importer must skip: enum, compound, vlen of int.
with h5py.File(path("h5py_userdefined.h5"), "w") as f:
    et = h5py.enum_dtype({"red": 0, "green": 1, "blue": 2}, basetype="u1")
    f.create_dataset("colors", data=np.array([0, 2, 1], dtype="u1"), dtype=et)
    ct = np.dtype([("id", "i4"), ("value", "f8")])
    f.create_dataset("records", data=np.array([(1, 0.5), (2, 1.5)], dtype=ct))
    vt = h5py.vlen_dtype(np.dtype("i4"))
    v = f.create_dataset("ragged", shape=(2,), dtype=vt)
    v[0] = np.array([1, 2, 3], dtype="i4")
    v[1] = np.array([4], dtype="i4")
    f["plain"] = np.array([1, 2, 3], dtype="i2")
