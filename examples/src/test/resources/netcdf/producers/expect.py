"""Writes F.expected.json and a human-readable dump for every fixture F in a directory.

The expectation comes from an independent reader: netCDF4-python (netCDF-C's view of the file)
whenever netCDF-C opens the file, h5py otherwise. Usage: expect.py DIR
"""
import ctypes
import glob
import hashlib
import importlib.metadata
import json
import math
import os
import re
import subprocess
import sys

import h5py
import netCDF4
import numpy as np

NC_GLOBAL = -1
NC_TYPES = {1: "int8", 2: "char", 3: "int16", 4: "int32", 5: "float32", 6: "float64", 7: "uint8",
            8: "uint16", 9: "uint32", 10: "int64", 11: "uint64", 12: "string"}
NUMPY_TYPES = {"i1": "int8", "u1": "uint8", "i2": "int16", "u2": "uint16", "i4": "int32", "u4": "uint32",
               "i8": "int64", "u8": "uint64", "f4": "float32", "f8": "float64"}
PHONY = re.compile(r"^phony_dim_\d+$")
SCALE_BOOKKEEPING = {"CLASS", "NAME", "REFERENCE_LIST", "DIMENSION_LIST", "_Netcdf4Dimid", "_Netcdf4Coordinates",
                     "_NCProperties"}
LIB = ctypes.CDLL("libnetcdf.so.19")
LIB.nc_inq_att.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                           ctypes.POINTER(ctypes.c_size_t)]
LIB.nc_inq_var_fill.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_void_p]


def tool_version(cmd, pattern):
    try:
        text = subprocess.run(cmd, capture_output=True, text=True).stdout + \
            subprocess.run(cmd, capture_output=True, text=True).stderr
        m = re.search(pattern, text)
        return m.group(1) if m else "?"
    except OSError:
        return "?"


NETCDF_C = netCDF4.__netcdf4libversion__.split()[0]
XARRAY = importlib.metadata.version("xarray")
if XARRAY.startswith("999"):  # Debian's python3-xarray reports no real version
    XARRAY = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "python3-xarray"], capture_output=True,
                            text=True).stdout.split("-")[0] or XARRAY
PRODUCERS = {
    "ncgen": lambda: "ncgen " + NETCDF_C,
    "netcdf4py": lambda: "netCDF4-python " + netCDF4.__version__ + " (netCDF-C " + NETCDF_C + ")",
    "h5py": lambda: "h5py " + h5py.__version__ + " (HDF5 " + h5py.version.hdf5_version + ")",
    "xarraync4": lambda: "xarray " + XARRAY + " netcdf4",
    "xarrayh5netcdf": lambda: "xarray " + XARRAY + " h5netcdf " + importlib.metadata.version("h5netcdf"),
    "nco": lambda: "nco " + tool_version(["ncks", "--version"], r"ncks version (\S+)"),
    "cdo": lambda: "cdo " + tool_version(["cdo", "--version"], r"Climate Data Operators version (\S+)"),
    "nccopy": lambda: "nccopy " + NETCDF_C,
    "h5repack": lambda: "h5repack " + tool_version(["h5repack", "--version"], r"Version (\S+)"),
}


def json_number(x):
    """A numpy or Python number as JSON: ints exact, NaN and infinities as strings."""
    if isinstance(x, (np.integer, int)):
        return int(x)
    f = float(x)
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    return f


def text(x):
    return x.decode("utf-8", "surrogateescape") if isinstance(x, bytes) else str(x)


def sha_and_count(a, kind):
    """SHA-256 of the values in C order: numbers little-endian, chars one byte, strings UTF-8 + NUL."""
    h = hashlib.sha256()
    if kind == "string":
        flat = np.asarray(a, dtype=object).reshape(-1)
        for s in flat:
            h.update(s if isinstance(s, bytes) else str(s).encode("utf-8"))
            h.update(b"\0")
        return h.hexdigest(), int(flat.size)
    if kind == "char":
        b = np.ascontiguousarray(a, dtype="S1")
        assert len(b.tobytes()) == b.size
        h.update(b.tobytes())
        return h.hexdigest(), int(b.size)
    a = np.asarray(a)
    h.update(np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<")).tobytes())
    return h.hexdigest(), int(a.size)


# ---------------------------------------------------------------- netCDF-C's view (netCDF4-python)

def nc_attribute(grpid, varid, name, value):
    xtype = ctypes.c_int()
    length = ctypes.c_size_t()
    status = LIB.nc_inq_att(grpid, varid, name.encode("utf-8"), ctypes.byref(xtype), ctypes.byref(length))
    if status != 0:
        raise RuntimeError("nc_inq_att %s: %d" % (name, status))
    t = NC_TYPES.get(xtype.value, "other")
    n = length.value
    if t == "char":
        v = "" if n == 0 else text(value)
    elif t == "string":
        vals = [text(s) for s in (value if isinstance(value, (list, tuple, np.ndarray)) else [value])]
        v = vals[0] if n == 1 else vals
    elif n == 0:
        v = []
    else:
        vals = [json_number(x) for x in np.atleast_1d(np.asarray(value)).reshape(-1)]
        v = vals[0] if n == 1 else vals
    return {"type": t, "value": v}


def nc_fill(grp, v, kind):
    """The fill: _FillValue if present; else what nc_inq_var_fill reports (the HDF5 dataset's fill
    value, or netCDF's default for the type); netCDF's default in NOFILL mode. Also what
    nc_inq_var_fill reports when that differs (NCO writes _FillValue 1e20 over an HDF5 fill of
    9.96921e+36), else None."""
    if kind == "string":
        return (text(v.getncattr("_FillValue")) if "_FillValue" in v.ncattrs() else None), None
    buf = ctypes.create_string_buffer(16)
    no_fill = ctypes.c_int()
    status = LIB.nc_inq_var_fill(grp._grpid, v._varid, ctypes.byref(no_fill), buf)
    if status != 0:
        raise RuntimeError("nc_inq_var_fill %s: %d" % (v.name, status))
    native = v.dtype.newbyteorder("=")
    reported = None
    if not no_fill.value:
        reported = buf.raw[:1].decode("latin-1") if kind == "char" else \
            json_number(np.frombuffer(buf.raw[:native.itemsize], dtype=native)[0])
    if "_FillValue" in v.ncattrs() and kind != "char" and \
            np.asarray(v.getncattr("_FillValue")).dtype.newbyteorder("=") != native:
        # A _FillValue of another type than the variable (ncpdq keeps the float 1e20 on the packed
        # short) is no fill of it: netCDF-C reports the HDF5 dataset's fill value.
        fill = reported if reported is not None else \
            json_number(np.asarray(netCDF4.default_fillvals[v.dtype.str[1:]], dtype=native)[()])
        return fill, None
    if "_FillValue" in v.ncattrs():
        value = v.getncattr("_FillValue")
        if kind == "char":
            fill = text(value)[:1] if text(value) else "\0"
        else:
            fill = json_number(np.asarray(value, dtype=native).reshape(-1)[0])
    elif no_fill.value:
        value = netCDF4.default_fillvals[v.dtype.str[1:]]
        fill = value if kind == "char" else json_number(np.asarray(value, dtype=native)[()])
    else:
        fill = reported
    return fill, (reported if reported is not None and reported != fill else None)


def read_netcdf(path, doc):
    with netCDF4.Dataset(path) as ds:
        if ds.data_model != "NETCDF4" and ds.data_model != "NETCDF4_CLASSIC":
            doc["refused"] = True
            doc["refused_because"] = "not NetCDF-4/HDF5: " + ds.data_model
        doc["global_attributes"] = {n: nc_attribute(ds._grpid, NC_GLOBAL, n, ds.getncattr(n)) for n in ds.ncattrs()}
        walk_netcdf(ds, "", doc)


def walk_netcdf(grp, prefix, doc):
    if prefix:
        doc["group_attributes"][prefix[:-1]] = {n: nc_attribute(grp._grpid, NC_GLOBAL, n, grp.getncattr(n))
                                                for n in grp.ncattrs()}
    for name, v in grp.variables.items():
        path = prefix + name
        dt = v.datatype
        if isinstance(dt, netCDF4.EnumType):
            doc["skipped"][path] = "enum"
            continue
        if isinstance(dt, netCDF4.CompoundType):
            doc["skipped"][path] = "compound"
            continue
        if isinstance(dt, netCDF4.VLType) and v.dtype != str:
            doc["skipped"][path] = "vlen"
            continue
        if v.dtype == str:
            kind = "string"
        elif v.dtype.str[1:] == "S1":
            kind = "char"
        else:
            kind = NUMPY_TYPES[v.dtype.str[1:]]
        v.set_auto_maskandscale(False)
        v.set_auto_chartostring(False)
        a = v[...]
        if kind == "string":
            a = np.asarray(a, dtype=object).reshape(v.shape)
        else:
            a = np.asarray(a)
            assert a.shape == tuple(v.shape), (path, a.shape, v.shape)
        sha, count = sha_and_count(a, kind)
        dims = list(v.dimensions)
        fill, reported = nc_fill(grp, v, kind)
        entry = {"dtype": kind, "shape": [int(n) for n in v.shape], "dims": dims,
                 "fill": fill,
                 "attributes": {n: nc_attribute(grp._grpid, v._varid, n, v.getncattr(n)) for n in v.ncattrs()},
                 "sha256": sha, "count": count}
        if reported is not None:
            entry["netcdf_c_fill"] = reported
        if any(PHONY.match(d) for d in dims):
            entry["dims"] = None
            entry["phony_dims"] = True
        doc["variables"][path] = entry
    for name, g in grp.groups.items():
        walk_netcdf(g, prefix + name + ".", doc)


# ---------------------------------------------------------------- HDF5's view (h5py), for what netCDF-C cannot open

def h5_kind(dtype):
    if h5py.check_enum_dtype(dtype) is not None:
        return None, "enum"
    if dtype.names is not None:
        return None, "compound"
    if dtype.kind == "V":
        return None, "opaque"
    if h5py.check_string_dtype(dtype) is not None:
        return "string", None
    if h5py.check_vlen_dtype(dtype) is not None:
        return None, "vlen"
    key = dtype.str[1:]
    if key in NUMPY_TYPES:
        return NUMPY_TYPES[key], None
    return None, "unsupported HDF5 type " + str(dtype)


def h5_attribute(obj, name):
    aid = obj.attrs.get_id(name)
    dtype = aid.dtype
    null = aid.get_space().get_simple_extent_type() == h5py.h5s.NULL
    sinfo = h5py.check_string_dtype(dtype)
    if sinfo is not None:
        t = "string" if sinfo.length is None else "char"
        if null:
            return {"type": t, "value": ""}
        vals = [text(x).rstrip("\0") for x in np.atleast_1d(np.asarray(obj.attrs[name], dtype=object)).reshape(-1)]
        return {"type": t, "value": vals[0] if len(vals) == 1 else vals}
    t = NUMPY_TYPES.get(dtype.str[1:], "other")
    if null:
        return {"type": t, "value": []}
    vals = [json_number(x) for x in np.atleast_1d(np.asarray(obj.attrs[name])).reshape(-1)]
    return {"type": t, "value": vals[0] if len(vals) == 1 else ([] if not vals else vals)}


def read_h5py(path, doc):
    with h5py.File(path, "r") as f:
        doc["global_attributes"] = {n: h5_attribute(f, n) for n in f.attrs if n not in SCALE_BOOKKEEPING}
        items = []
        f.visititems(lambda n, o: items.append((n, o)) if isinstance(o, h5py.Dataset) else None)
        for name, d in sorted(items):
            path = name.replace("/", ".")
            if d.attrs.get("CLASS") == b"DIMENSION_SCALE" and \
                    text(d.attrs.get("NAME", b"")).startswith("This is a netCDF dimension but not a netCDF variable"):
                continue
            kind, reason = h5_kind(d.dtype)
            if kind is None:
                doc["skipped"][path] = reason
                continue
            a = d[()]
            if kind == "string":
                a = np.asarray(a, dtype=object).reshape(d.shape)
                a = np.vectorize(lambda s: s.rstrip(b"\0") if isinstance(s, bytes) else s, otypes=[object])(a) \
                    if a.size else a
            sha, count = sha_and_count(a, kind)
            names = []
            for axis in d.dims:
                scales = list(axis.values()) if len(axis) else []
                names.append(scales[0].name.rsplit("/", 1)[-1] if scales else None)
            if d.attrs.get("CLASS") == b"DIMENSION_SCALE" and len(d.shape) == 1:
                names = [name.rsplit("/", 1)[-1]]  # a dimension scale is its own dimension
            fill = d.fillvalue
            entry = {"dtype": kind, "shape": list(d.shape), "dims": names if any(names) else None,
                     "fill": None if kind == "string" else json_number(fill),
                     "attributes": {n: h5_attribute(d, n) for n in d.attrs if n not in SCALE_BOOKKEEPING},
                     "sha256": sha, "count": count}
            doc["variables"][path] = entry


def hidden_user_types(path, doc):
    """Datasets of enum, compound or vlen type that netCDF-C does not show at all (h5py writes
    them without committed types): h5py sees them, so the importer must skip and name them."""
    with h5py.File(path, "r") as f:
        items = []
        f.visititems(lambda n, o: items.append((n, o)) if isinstance(o, h5py.Dataset) else None)
        for name, d in items:
            key = name.replace("/", ".")
            kind, reason = h5_kind(d.dtype)
            if kind is None and key not in doc["variables"] and key not in doc["skipped"]:
                doc["skipped"][key] = reason


def dump(path, reader):
    base = os.path.basename(path)
    if reader == "netCDF4":
        with netCDF4.Dataset(path) as ds:
            big = False

            def visit(g):
                nonlocal big
                for v in g.variables.values():
                    big = big or int(np.prod(v.shape)) > 20000
                for s in g.groups.values():
                    visit(s)
            visit(ds)
        cmd = ["ncdump", "-s", "-p", "9,17"] + (["-h"] if big else []) + [base]
    else:
        cmd = ["h5dump", "-p", "-H", base]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=os.path.dirname(path), check=True).stdout
    suffix = ".ncdump.txt" if reader == "netCDF4" else ".h5dump.txt"
    header = "# " + " ".join(cmd) + ("   (header only: a variable has more than 20000 values)" if "-h" in cmd else "")
    with open(path + suffix, "w") as fh:
        fh.write(header + "\n" + out)


def main(directory):
    files = sorted(glob.glob(os.path.join(directory, "*.nc")) + glob.glob(os.path.join(directory, "*.h5")))
    for path in files:
        base = os.path.basename(path)
        producer = PRODUCERS[base.split("_", 1)[0]]()
        doc = {"file": base, "producer": producer, "reader": "netCDF4", "refused": False,
               "global_attributes": {}, "variables": {}, "skipped": {}, "group_attributes": {}}
        try:
            read_netcdf(path, doc)
        except Exception as e:  # netCDF-C cannot open it (or netCDF4-python cannot present it): h5py's view
            print("%s: netCDF-C cannot read it (%s: %s); h5py is the reader" % (base, type(e).__name__, e))
            doc.update({"reader": "h5py", "global_attributes": {}, "variables": {}, "skipped": {},
                        "group_attributes": {}})
            read_h5py(path, doc)
        if doc["reader"] == "netCDF4" and not doc["refused"]:
            hidden_user_types(path, doc)
        for old in glob.glob(path + ".*dump.txt"):
            os.remove(old)
        dump(path, doc["reader"])
        with open(path + ".expected.json", "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent=1, ensure_ascii=False, allow_nan=False)
            fh.write("\n")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))
