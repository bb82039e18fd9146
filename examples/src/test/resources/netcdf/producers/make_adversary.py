"""Minimal files for importer bugs found by an adversarial suite of producer files (issue 24).

Each file isolates one feature that netCDF-C (or HDF5) reads and the importer got wrong when it
was found; see README.md. Usage: make_adversary.py OUTDIR
"""
import sys

import h5py
import netCDF4
import numpy as np

out = sys.argv[1]

# HDF5's built-in scale-offset filter (id 6), integer (lossless, minbits computed) and float
# (D-scaling, 3 decimals): netCDF-C reads it through HDF5.
with h5py.File(out + "/h5py_scaleoffset.h5", "w") as f:
    f.create_dataset("so_int", data=np.arange(100, dtype="i4") * 3 - 50, chunks=(32,), scaleoffset=0)
    f.create_dataset("so_float", data=np.linspace(0, 1, 60).astype("f8"), chunks=(25,), scaleoffset=3)

# A variable named like a dimension but not its coordinate variable: netCDF-C stores the HDF5
# dataset as "_nc4_non_coord_lat" and presents it as "lat". A char "time(time, strlen)" beside it,
# and a group's "x(time)" next to the group's dimension x.
with netCDF4.Dataset(out + "/netcdf4py_noncoord.nc", "w") as ds:
    ds.createDimension("lat", 2)
    ds.createDimension("y", 2)
    ds.createDimension("x", 3)
    ds.createDimension("time", 3)
    ds.createDimension("strlen", 5)
    lat = ds.createVariable("lat", "f4", ("y", "x"))
    lat[:] = np.arange(6).reshape(2, 3)
    lat.units = "degrees_north"
    d = ds.createVariable("d", "f4", ("lat", "x"))
    d[:] = 1
    t = ds.createVariable("time", "S1", ("time", "strlen"))
    t[:] = netCDF4.stringtochar(np.array(["2000a", "2001b", "2002c"], "S5"))
    # The same inside a group: "g/x" has the dimension time, not the group's own x.
    g = ds.createGroup("g")
    g.createDimension("x", 2)
    gx = g.createVariable("x", "f8", ("time",))
    gx[:] = [1, 2, 3]
    g.createVariable("y", "f8", ("x",))[:] = [5, 6]

# Non-ASCII (UTF-8) names of a variable, an attribute, a global attribute, a dimension and a group.
with netCDF4.Dataset(out + "/netcdf4py_unicode.nc", "w") as ds:
    ds.createDimension("höhe", 2)
    z = ds.createVariable("température", "f4", ("höhe",))
    z[:] = [1, 2]
    z.setncattr("unité", "°C")
    ds.setncattr("zürich", 1)
    g = ds.createGroup("grüppe")
    g.createVariable("w", "i2", ("höhe",))[:] = [3, 4]

# An HDF5 soft link to a dataset: netCDF-C follows it and shows a second variable.
with h5py.File(out + "/h5py_softlink.h5", "w") as f:
    f.create_dataset("orig", data=np.arange(5, dtype="i4"))
    f["alias"] = h5py.SoftLink("/orig")

# HDF5 1.10's fixed-array chunk index (h5py libver="latest", fixed dimensions) with chunks never
# written: netCDF-C reads them as the fill value. 1-D plain and 2-D deflated.
with h5py.File(out + "/h5py_fixedarray.h5", "w", libver="latest") as f:
    d = f.create_dataset("p1", shape=(100,), dtype="f4", chunks=(10,), fillvalue=-3)
    d[0:10] = 5
    d[95] = 1
    d = f.create_dataset("p2", shape=(20, 30), dtype="i2", chunks=(7, 8), fillvalue=-3, compression="gzip")
    d[8:14, 0:8] = 5

# Two attributes of one object longer than 64 KiB (HDF5 keeps them as "huge" objects of the dense
# attribute heap): a long history, as a chain of NCO commands leaves, and a second one.
with netCDF4.Dataset(out + "/netcdf4py_hugeattrs.nc", "w") as ds:
    ds.history = "".join("step %05d: ncks -O in.nc out.nc\n" % i for i in range(2200))[:65600]
    ds.history_of_appended_files = ("appended a.nc; " * 4400)[:65600]

# An HDF5 16-bit float (h5py "f2"): netCDF-C presents it as a float variable (values converted).
with h5py.File(out + "/h5py_float16.h5", "w") as f:
    f.create_dataset("half", data=np.array([1, 2.5, -3, 65504, 0.000061035], dtype="f2"))
    f.create_dataset("ok", data=np.arange(3, dtype="i4"))

# HDF5's szip filter (id 4, libaec), as NASA's HDF-EOS5 files and netCDF-C's compression="szip" use.
with netCDF4.Dataset(out + "/netcdf4py_szip.nc", "w") as ds:
    ds.createDimension("t", None)
    ds.createDimension("x", 50)
    v = ds.createVariable("v", "f4", ("t", "x"), compression="szip", szip_coding="nn", szip_pixels_per_block=8,
                          chunksizes=(4, 16))
    v[:] = np.linspace(0, 100, 500).astype("f4").reshape(10, 50)
    w = ds.createVariable("w", "i2", ("t", "x"), compression="szip", szip_coding="ec", szip_pixels_per_block=16,
                          chunksizes=(3, 50))
    w[0:5] = np.arange(250, dtype="i2").reshape(5, 50)
