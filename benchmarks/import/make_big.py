#!/usr/bin/python3
"""Writes a big NetCDF-4 file shaped like real model output, for the import benchmark (issue 24).

Usage: make_big.py OUT.nc [--gib 3.0] [--lat 721] [--lon 1440]

The default, 3.0 GiB of data values, makes a file of about 2.17 GiB on disk (deflate shrinks
precip about 4.5-fold), so the file is >= 2 GiB both in values and in bytes on disk.

Layout (a 0.25-degree global grid, like a reanalysis extract):
  dimensions  time (unlimited), lat = 721, lon = 1440
  time(time)  float64, hours since 2000-01-01, 6-hourly
  lat(lat), lon(lon)  float32 coordinates
  t2m(time, lat, lon)     float32, chunks (1, lat, lon), no compression
  u10(time, lat, lon)     float32, chunks (1, lat, lon), no compression
  precip(time, lat, lon)  float32, chunks (1, lat, lon), deflate level 1 + shuffle, _FillValue -9999
  z(lat, lon)             float32, declared and never written (no _FillValue attribute, so every
                          element reads as netCDF's default float fill, 9.96921e+36)

Why compression on only one variable: producers typically deflate sparse fields such as
precipitation (mostly zeros, so deflate pays for itself) and leave smooth full-precision fields
uncompressed, where deflate gains little and costs every reader. Having both makes the
benchmark go through both of an importer's read paths (filtered chunks and raw chunks) and puts the
inflate cost into both sides of the comparison (nccopy keeps each variable's filters).
Shuffle comes with deflate because that is netCDF4-python's default (zlib=True implies
shuffle=True) and what most files written by it carry.

The never-written `z` is named like ERA5's surface geopotential; it also sorts after the data
variables, so an importer that visits variables by name copies all the data before it meets it.

The number of time steps is the smallest that makes the three data variables hold at least
--gib GiB of uncompressed values. The file is written one time step at a time (a few MiB of
memory whatever the size). Every value is an exact float32 (an integer below 2^24 times a power
of two) computed from its indices by the functions below, so a check can recompute any slab
exactly; check_big.py imports them. The low bits of every value are a hash of its indices, so
the fields compress about as (badly) as real float32 model output; without them a general-purpose
codec shrinks them 200-fold and the benchmark measures nothing but reading.
"""
import argparse
import math
import sys
import time as clock

import numpy as np

NLAT = 721
NLON = 1440
DATA_VARS = ("t2m", "u10", "precip")
PRECIP_FILL = np.float32(-9999.0)
# netCDF's default fill for NC_FLOAT (NC_FILL_FLOAT in netcdf.h).
NC_FILL_FLOAT = np.float32(9.9692099683868690e+36)


def _grid(i0, i1, j0, j1):
    i = np.arange(i0, i1, dtype=np.int64)[:, None]
    j = np.arange(j0, j1, dtype=np.int64)[None, :]
    return i, j


def _noise(i, j, t, bits):
    """`bits` pseudo-random low bits per cell, a hash of (i, j, t): what keeps the values from
    compressing far better than real model output does (its low mantissa bits are noise too)."""
    h = (i.astype(np.uint64) * np.uint64(0x9E3779B1) + j.astype(np.uint64) * np.uint64(0x85EBCA77)
         + np.uint64(t) * np.uint64(0xC2B2AE3D))
    h ^= h >> np.uint64(29)
    h *= np.uint64(0xBF58476D1CE4E5B9)  # wraps modulo 2^64, as intended
    h ^= h >> np.uint64(32)
    return (h & np.uint64((1 << bits) - 1)).astype(np.int64)


def field(name, t, i0=0, i1=NLAT, j0=0, j1=NLON):
    """The float32 values of data variable `name` at time index t over lat [i0, i1) x lon [j0, j1).

    Each value is an integer below 2^24 times a power of two, so float32 holds it exactly: a
    slowly varying sawtooth of the indices (the "field") plus hashed low bits (the "noise")."""
    i, j = _grid(i0, i1, j0, j1)
    if name == "t2m":      # 220 K .. 320 K in steps of 2^-15
        k = 220 * 32768 + ((7 * i + 3 * j + 11 * t) % 800) * 4096 + _noise(i, j, t, 12)
        v = k / 32768.0
    elif name == "u10":    # -15.625 .. 15.64 m/s in steps of 2^-19
        k = (((31 * i + 17 * j + 13 * t) % 2001) - 1000) * 8192 + _noise(i, j, t + 100003, 13)
        v = k / 524288.0
    elif name == "precip":  # rain on a quarter of the cells, 0 elsewhere, steps of 2^-15 mm
        k = ((i * j + 3 * t) % 256) * 1024 + _noise(i, j, t + 200003, 10)
        v = np.where((i + 2 * j + 5 * t) % 4 == 0, k / 32768.0, 0.0)
    else:
        raise KeyError(name)
    return np.asarray(v, dtype=np.float32)


def lat_values(n=NLAT):
    return (90.0 - 180.0 * np.arange(n) / (n - 1)).astype(np.float32)


def lon_values(n=NLON):
    return (360.0 * np.arange(n) / n).astype(np.float32)


def time_values(n):
    return 6.0 * np.arange(n, dtype=np.float64)


def steps_for(gib, nlat=NLAT, nlon=NLON):
    per_step = len(DATA_VARS) * nlat * nlon * 4
    return math.ceil(gib * (1 << 30) / per_step)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--gib", type=float, default=3.0, help="GiB of uncompressed data values (default 3.0)")
    p.add_argument("--lat", type=int, default=NLAT)
    p.add_argument("--lon", type=int, default=NLON)
    a = p.parse_args(argv)
    import netCDF4  # Debian's python3-netcdf4

    nt = steps_for(a.gib, a.lat, a.lon)
    t0 = clock.monotonic()
    with netCDF4.Dataset(a.out, "w", format="NETCDF4") as nc:
        nc.Conventions = "CF-1.8"
        nc.title = "Atlas import benchmark: synthetic 0.25-degree 6-hourly fields (issue 24)"
        nc.source = "benchmarks/import/make_big.py"
        nc.createDimension("time", None)
        nc.createDimension("lat", a.lat)
        nc.createDimension("lon", a.lon)
        tv = nc.createVariable("time", "f8", ("time",))
        tv.units = "hours since 2000-01-01 00:00:00"
        tv.calendar = "standard"
        tv.standard_name = "time"
        la = nc.createVariable("lat", "f4", ("lat",))
        la.units = "degrees_north"
        la.standard_name = "latitude"
        lo = nc.createVariable("lon", "f4", ("lon",))
        lo.units = "degrees_east"
        lo.standard_name = "longitude"
        la[:] = lat_values(a.lat)
        lo[:] = lon_values(a.lon)
        chunks = (1, a.lat, a.lon)
        dims = ("time", "lat", "lon")
        t2m = nc.createVariable("t2m", "f4", dims, chunksizes=chunks)
        t2m.units = "K"
        t2m.standard_name = "air_temperature"
        t2m.long_name = "2 metre temperature"
        u10 = nc.createVariable("u10", "f4", dims, chunksizes=chunks)
        u10.units = "m s-1"
        u10.standard_name = "eastward_wind"
        u10.long_name = "10 metre U wind component"
        pr = nc.createVariable("precip", "f4", dims, chunksizes=chunks, zlib=True, complevel=1, shuffle=True,
                               fill_value=PRECIP_FILL)
        pr.units = "mm"
        pr.long_name = "total precipitation over the preceding 6 hours"
        z = nc.createVariable("z", "f4", ("lat", "lon"), chunksizes=(a.lat, a.lon))
        z.units = "m2 s-2"
        z.standard_name = "surface_geopotential"
        z.long_name = "surface geopotential (declared, never written)"
        z.coordinates = "lat lon"
        for t in range(nt):
            tv[t] = time_values(t + 1)[t]
            for name, var in (("t2m", t2m), ("u10", u10), ("precip", pr)):
                var[t, :, :] = field(name, t, 0, a.lat, 0, a.lon)
            if t % 20 == 0 or t == nt - 1:
                print(f"make_big: step {t + 1}/{nt} ({(t + 1) * len(DATA_VARS) * a.lat * a.lon * 4 / (1 << 30):.2f} GiB)",
                      file=sys.stderr, flush=True)
    print(f"make_big: wrote {a.out}: {nt} steps x {a.lat} x {a.lon}, "
          f"{nt * len(DATA_VARS) * a.lat * a.lon * 4 / (1 << 30):.2f} GiB of data values in {clock.monotonic() - t0:.1f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
