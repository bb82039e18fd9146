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
# dataset as "_nc4_non_coord_lat" and presents it as "lat". A char "time(time, strlen)" beside it.
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
