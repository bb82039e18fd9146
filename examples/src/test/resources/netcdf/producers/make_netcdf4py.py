"""Fixtures written by netCDF4-python (the netCDF-C library underneath). Usage: make_netcdf4py.py OUTDIR"""
import os
import sys

import netCDF4
import numpy as np

out = sys.argv[1]


def path(name):
    return os.path.join(out, name)


# Partial writes: chunked variables where only some chunks were ever written.
with netCDF4.Dataset(path("netcdf4py_partial.nc"), "w") as ds:
    ds.createDimension("lat", 36)
    ds.createDimension("lon", 72)
    lat = ds.createVariable("lat", "f8", ("lat",))
    lat.units = "degrees_north"
    lat[:] = np.linspace(-87.5, 87.5, 36)
    lon = ds.createVariable("lon", "f8", ("lon",))
    lon.units = "degrees_east"
    lon[:] = np.arange(72) * 5.0
    orog = ds.createVariable("orog", "f4", ("lat", "lon"), chunksizes=(12, 12), fill_value=-1e10)
    orog.standard_name = "surface_altitude"
    orog.units = "m"
    # Two regions only: 12 of the 18 chunks stay unwritten.
    orog[0:12, 0:24] = np.arange(12 * 24, dtype="f4").reshape(12, 24)
    orog[24:36, 48:72] = -np.arange(12 * 24, dtype="f4").reshape(12, 24)
    # No _FillValue: netCDF's default fill for float (9.96921e+36) applies to unwritten chunks.
    nofill = ds.createVariable("nofill", "f4", ("lat", "lon"), chunksizes=(12, 12))
    nofill[12:24, 24:36] = 1.5
    # An integer variable without _FillValue, partly written in the middle of a chunk.
    mask = ds.createVariable("mask", "i2", ("lat", "lon"), chunksizes=(18, 18), zlib=True)
    mask[5:7, 40:50] = 1
    ds.title = "partially written chunked variables"

# Unlimited dimensions: one record variable written to more records than the other.
with netCDF4.Dataset(path("netcdf4py_unlimited.nc"), "w") as ds:
    ds.createDimension("time", None)
    ds.createDimension("x", 3)
    t = ds.createVariable("time", "f8", ("time",))
    t.units = "hours since 2000-01-01"
    long = ds.createVariable("long", "i4", ("time", "x"))
    short = ds.createVariable("short", "f4", ("time", "x"), fill_value=-9.5)
    short_nofill = ds.createVariable("short_nofill", "i2", ("time",))
    never = ds.createVariable("never", "f8", ("time", "x"))
    t[0:5] = np.arange(5) * 6.0
    long[0:5, :] = np.arange(15).reshape(5, 3)
    short[0:2, :] = [[1, 2, 3], [4, 5, 6]]
    short_nofill[0:3] = [7, 8, 9]
    # A second unlimited dimension.
    ds.createDimension("obs", None)
    o = ds.createVariable("obs_value", "i8", ("obs",))
    o[0:4] = [10, 20, 30, 40]

# Packed data: short with scale_factor/add_offset; the raw shorts are what is stored.
with netCDF4.Dataset(path("netcdf4py_packed.nc"), "w") as ds:
    ds.createDimension("n", 6)
    v = ds.createVariable("packed", "i2", ("n",), fill_value=np.int16(-32767))
    v.scale_factor = np.float32(0.01)
    v.add_offset = np.float32(273.15)
    v.units = "K"
    v.set_auto_maskandscale(False)
    v[:] = np.array([-32000, -1, 0, 1, 32000, -32767], dtype="i2")
    u = ds.createVariable("packed_u8", "u1", ("n",))
    u.scale_factor = 0.5
    u.add_offset = -10.0
    u.valid_range = np.array([0, 250], dtype="u1")
    u.set_auto_maskandscale(False)
    u[:] = np.array([0, 1, 2, 100, 250, 255], dtype="u1")

# Big-endian variables.
with netCDF4.Dataset(path("netcdf4py_bigendian.nc"), "w") as ds:
    ds.createDimension("n", 5)
    a = ds.createVariable("be_f8", ">f8", ("n",), endian="big")
    a[:] = [1.0, -2.5, 1e-300, np.inf, 3.0]
    b = ds.createVariable("be_i4", ">i4", ("n",), endian="big", chunksizes=(2,))
    b[:] = [1, -2, 65536, 2 ** 31 - 1, -(2 ** 31)]
    c = ds.createVariable("be_u2", ">u2", ("n",), endian="big", fill_value=np.uint16(7))
    c[0:3] = [1, 258, 65535]
    d = ds.createVariable("le_f4", "f4", ("n",), endian="little")
    d[:] = [0.5, 1.5, 2.5, 3.5, 4.5]

# Storage: contiguous, deflate+shuffle, fletcher32.
with netCDF4.Dataset(path("netcdf4py_storage.nc"), "w") as ds:
    ds.createDimension("y", 10)
    ds.createDimension("x", 12)
    data = np.arange(120, dtype="f8").reshape(10, 12) / 7.0
    c = ds.createVariable("contiguous", "f8", ("y", "x"), contiguous=True)
    c[:] = data
    z = ds.createVariable("deflate_shuffle", "f4", ("y", "x"), compression="zlib", complevel=6, shuffle=True,
                          chunksizes=(5, 5))
    z[:] = data.astype("f4")
    f = ds.createVariable("fletcher32", "i4", ("y", "x"), fletcher32=True, chunksizes=(10, 4))
    f[:] = np.arange(120, dtype="i4").reshape(10, 12) * -3
    zf = ds.createVariable("deflate_fletcher", "u2", ("y", "x"), zlib=True, complevel=1, fletcher32=True,
                           shuffle=False, chunksizes=(3, 7))
    zf[:] = np.arange(120, dtype="u2").reshape(10, 12) * 500

# Strings: NC_STRING (vlen) and NC_CHAR, scalar strings.
with netCDF4.Dataset(path("netcdf4py_strings.nc"), "w") as ds:
    ds.createDimension("n", 5)
    ds.createDimension("nchar", 8)
    s = ds.createVariable("names", str, ("n",))
    s[0] = "plain"
    s[1] = ""
    s[2] = "Zürich"
    s[3] = "東京 ☃"
    # element 4 never written: netCDF-C's string fill ("")
    s.long_name = "vlen strings"
    c = ds.createVariable("codes", "S1", ("n", "nchar"))
    c[:] = np.array([b"abc", b"", b"12345678", "é".encode(), b"x"], dtype="S8").view("S1").reshape(5, 8)
    sc = ds.createVariable("scalar_string", str, ())
    sc[...] = "a scalar NC_STRING ✓"
    sn = ds.createVariable("scalar_float", "f4", ())
    sn[...] = 2.5
    sn2 = ds.createVariable("scalar_never", "i8", ())
    ds.setncattr_string("string_attr", ["one", "twö"])
    ds.setncattr_string("string_attr_one", "alone")
    ds.char_attr = "char attr (NC_CHAR)"
    ds.utf8_attr = "char ättr"  # netCDF4-python stores non-ASCII text as NC_STRING

# Datetime encodings written through date2num.
with netCDF4.Dataset(path("netcdf4py_time.nc"), "w") as ds:
    ds.createDimension("time", 4)
    import datetime as dt
    dates = [dt.datetime(1850, 1, 1), dt.datetime(1900, 2, 28, 12), dt.datetime(2000, 2, 29), dt.datetime(2023, 12, 31, 23)]
    td = ds.createVariable("time_double", "f8", ("time",))
    td.units = "days since 1850-01-01"
    td.calendar = "proleptic_gregorian"
    td[:] = netCDF4.date2num(dates, td.units, td.calendar)
    ti = ds.createVariable("time_int", "i4", ("time",))
    ti.units = "hours since 1850-01-01 00:00:00"
    ti.calendar = "standard"
    ti[:] = netCDF4.date2num(dates, ti.units, ti.calendar).astype("i4")
    t360 = ds.createVariable("time_360", "i8", ("time",))
    t360.units = "seconds since 2000-01-01"
    t360.calendar = "360_day"
    t360[:] = [0, 86400, 30 * 86400, 360 * 86400]

# Groups: dimensions defined in groups, nested two levels.
with netCDF4.Dataset(path("netcdf4py_groups.nc"), "w") as ds:
    ds.createDimension("time", None)
    t = ds.createVariable("time", "i4", ("time",))
    t[:] = [0, 1, 2]
    g = ds.createGroup("model")
    g.createDimension("level", 2)
    lev = g.createVariable("level", "f4", ("level",))
    lev[:] = [1000, 500]
    g.createVariable("temp", "f4", ("time", "level"))[:] = [[1, 2], [3, 4], [5, 6]]
    h = g.createGroup("detail")
    h.createDimension("cell", 3)
    h.createVariable("area", "f8", ("level", "cell"))[:] = [[1, 2, 3], [4, 5, 6]]
    h.createVariable("flux", "i2", ("time", "level", "cell"), fill_value=np.int16(-5))[0:2] = 9
    h.note = "second level"
    o = ds.createGroup("other")
    o.createDimension("level", 4)  # same name as /model/level, another dimension
    o.createVariable("depth", "f4", ("level",))[:] = [0, 10, 20, 30]

# Attributes of every type, zero-length ones, multi-valued ones.
with netCDF4.Dataset(path("netcdf4py_attributes.nc"), "w") as ds:
    ds.createDimension("n", 2)
    v = ds.createVariable("v", "f8", ("n",))
    v[:] = [1, 2]
    for code in ["i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "f4", "f8"]:
        v.setncattr("one_" + code, np.array([3], dtype=code))
        v.setncattr("many_" + code, np.array([1, 2, 100], dtype=code))
    v.setncattr("empty_char", "")
    v.setncattr("empty_f8", np.array([], dtype="f8"))
    v.setncattr("empty_i4", np.array([], dtype="i4"))
    v.setncattr("nan_inf", np.array([np.nan, np.inf, -np.inf], dtype="f4"))
    v.setncattr_string("strings", ["x", "", "ÿ"])
    ds.setncattr("g_empty", "")
    ds.setncattr("g_many_i2", np.array([-1, 0, 1], dtype="i2"))
    ds.setncattr("g_one_u8", np.array([18446744073709551615], dtype="u8"))
    ds.setncattr("g_f4", np.float32(0.1))
    ds.setncattr("g_f8_many", np.array([0.1, 0.2]))
