"""Fixtures written by xarray through both of its netCDF-4 engines. Usage: make_xarray.py OUTDIR"""
import os
import sys

import numpy as np
import pandas as pd
import xarray as xr

out = sys.argv[1]


def dataset():
    time = pd.date_range("2000-01-01", periods=5, freq="D")
    lat = np.array([-45.0, 0.0, 45.0])
    lon = np.array([0.0, 90.0, 180.0, 270.0])
    station = np.array(["Zürich", "Oslo", "", "東京", "Lima"], dtype=object)
    temp = np.arange(3 * 4, dtype="f4").reshape(3, 4) + 0.5
    temp[1, 2] = np.nan
    series = np.array([1.0, np.nan, 3.0, 4.5, np.nan])
    counts = np.array([3, 1, 4, 1, 5], dtype="i4")
    ds = xr.Dataset(
        {
            "temp": (("lat", "lon"), temp, {"units": "K", "long_name": "temperature"}),
            "series": (("time",), series),
            "counts": (("time",), counts, {"flag_values": np.array([1, 3, 5], dtype="i1")}),
            "level": ((), 850.0, {"units": "hPa"}),
        },
        coords={"time": time, "lat": lat, "lon": lon, "station": (("time",), station)},
        attrs={"title": "xarray dataset", "history": "made by make_xarray.py", "numbers": np.array([1.5, 2.5])},
    )
    ds["lat"].attrs["units"] = "degrees_north"
    return ds


for engine, tag in [("netcdf4", "xarraync4"), ("h5netcdf", "xarrayh5netcdf")]:
    ds = dataset()
    encoding = {
        "temp": {"chunksizes": (2, 2), "zlib": True, "complevel": 4, "_FillValue": -9999.0},
        "series": {"_FillValue": np.nan},
        "counts": {"_FillValue": -1},
        "time": {"units": "days since 2000-01-01", "calendar": "proleptic_gregorian", "dtype": "i4"},
    }
    if engine == "h5netcdf":
        encoding["temp"] = {"chunksizes": (2, 2), "compression": "gzip", "compression_opts": 4, "_FillValue": -9999.0}
    ds.to_netcdf(os.path.join(out, tag + "_coords.nc"), engine=engine, encoding=encoding)
    # xarray's defaults: float coords get _FillValue NaN, time encoded by xarray's own choice.
    plain = xr.Dataset(
        {"v": (("t",), np.array([0.5, np.nan, 2.0], dtype="f8"))},
        coords={"t": pd.date_range("1999-12-31T12:00", periods=3, freq="6H")},
    )
    plain.to_netcdf(os.path.join(out, tag + "_defaults.nc"), engine=engine)
