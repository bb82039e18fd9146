"""Whole 1,000-dataset stack of temperature: xarray through the Zarr view vs the bulk binary endpoint."""
import sys, time, urllib.request
import numpy as np, xarray as xr

base = sys.argv[1]
prefix = sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 3

def bulk():
    with urllib.request.urlopen("%s/arrays/temperature/data?prefix=%s" % (base, prefix), timeout=600) as r:
        body = r.read()
        shape = [int(s) for s in r.headers["X-Atlas-Shape"].split(",")]
    return np.frombuffer(body, dtype="<f4").reshape(shape)

def via_zarr():
    ds = xr.open_zarr("%s/zarr/v2/_stack/%s" % (base, prefix), consolidated=True, mask_and_scale=False, decode_times=False)
    return ds["temperature"].values

def via_zarr_nodask():
    ds = xr.open_zarr("%s/zarr/v2/_stack/%s" % (base, prefix), consolidated=True, mask_and_scale=False, decode_times=False,
                      chunks=None)
    return ds["temperature"].values

def meta():
    with urllib.request.urlopen("%s/zarr/v2/_stack/%s/.zmetadata" % (base, prefix), timeout=600) as r:
        return len(r.read())

t0 = time.perf_counter(); n = meta(); print("stack .zmetadata (first request): %d bytes in %.1f ms" % (n, (time.perf_counter() - t0) * 1e3))
for i in range(runs):
    for name, f in (("bulk binary", bulk), ("xarray+dask zarr", via_zarr), ("xarray chunks=None zarr", via_zarr_nodask)):
        t0 = time.perf_counter(); a = f(); dt = time.perf_counter() - t0
        print("%s run %d: shape %s, %.1f MiB in %.2f s = %.1f MiB/s" % (name, i, a.shape, a.nbytes / 2**20, dt, a.nbytes / 2**20 / dt))
b = bulk(); z = via_zarr()
print("equal:", np.array_equal(b, z, equal_nan=True))
