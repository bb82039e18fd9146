"""Opens datasets of a served store through its Zarr v2 view with clients nobody here wrote
(xarray + zarr-python 2 + fsspec/aiohttp) and compares every value with the binary endpoint.

    python3 test_zarr_view.py BASE_URL [--view=v2-zstd] DATASET [DATASET...] [stack:PREFIX...] [names:A,B,...]

For each dataset: ``xarray.open_zarr(URL, consolidated=True)`` and ``zarr.open_consolidated`` on
an fsspec HTTP mapper; every array read whole and in several selections (``.isel`` with slices,
steps and index lists, zarr basic and orthogonal indexing), a mean, fill values, dimension names
and attributes; each compared with ``GET /datasets/{d}/arrays/{a}/data`` (the whole array or the
same region) and ``GET /datasets/{d}``. For each ``stack:PREFIX``: the stack group
``/zarr/v2/_stack/PREFIX`` (its ``dataset`` coordinate against the catalog's listing of that prefix,
values, selections and a mean against ``POST /arrays/{a}/data`` naming the datasets); the same for
each ``names:A,B,...``, the stack ``/zarr/v2/_names/TOKEN`` of those datasets in that order. Exits 0 when every
check passes. ``--view=v2-zstd`` reads the view whose chunks are zstd frames (numcodecs' Zstd
decodes them) instead of ``/zarr/v2``; the checks are the same, and each array's ``compressor``
is checked to be zstd there and absent in the raw view.
"""

import base64
import json
import sys
import zlib
import time
import urllib.request

import fsspec
import numpy as np
import xarray as xr
import zarr

DTYPES = {"Bool": "|b1", "Int8": "|i1", "Int16": "<i2", "Int32": "<i4", "Int64": "<i8", "UInt8": "|u1",
          "UInt16": "<u2", "UInt32": "<u4", "UInt64": "<u8", "Float32": "<f4", "Float64": "<f8"}


def fetch(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return r.read(), r.headers


VARIABLE = ("String", "Binary")


def variable(base, dataset, array, shape):
    """A String or Binary array through the region endpoint's JSON form, as a numpy object array
    (Binary elements arrive as hex and become bytes, as numcodecs' VLenBytes decodes them)."""
    body = json.loads(fetch("%s/datasets/%s/arrays/%s/data?format=json" % (base, dataset, array))[0])
    values = body["values"]
    if body["dtype"] == "Binary":
        values = [bytes.fromhex(v) for v in values]
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out.reshape(shape)


def binary(base, dataset, array, region=None):
    """The binary endpoint's answer as a numpy array (dtype and shape from its X-Atlas headers)."""
    url = "%s/datasets/%s/arrays/%s/data" % (base, dataset, array)
    if region is not None:
        url += "?region=" + region
    body, headers = fetch(url)
    assert headers["X-Atlas-Byte-Order"] == "little-endian", headers
    shape = [int(s) for s in headers["X-Atlas-Shape"].split(",") if s != ""]
    return np.frombuffer(body, dtype=np.dtype(DTYPES[headers["X-Atlas-DType"]])).reshape(shape)


def listing(base, prefix):
    """The names of the datasets of a prefix in the store's listing order (the catalog's pages)."""
    names, cursor = [], None
    while True:
        url = "%s/datasets?prefix=%s&limit=100" % (base, prefix) + ("&cursor=" + cursor if cursor else "")
        page = json.loads(fetch(url)[0])
        names += [d["name"] for d in page["datasets"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return names


def unambiguous_dims(every, served):
    """The view's rule for a dimension name with several lengths in one dataset (a flattened
    NetCDF-4 hierarchy): each use becomes the nearest 1-D array of that length named like it up the
    array's group path (a.b.level, a.level, level), else NAME_LENGTH. Applied to served[...]["dims"]."""
    dims = {a: [n if n != "dim%d" % i else "%s_dim%d" % (a, i) for i, n in enumerate(m["dims"])] for a, m in every.items()}
    lengths = {}
    for a, m in every.items():
        for d, n in zip(dims[a], m["shape"]):
            lengths.setdefault(d, set()).add(n)
    for a, meta in served.items():
        out = []
        for d, n in zip(dims[a], every[a]["shape"]):
            if len(lengths[d]) > 1:
                groups = a.split(".")[:-1]
                name = "%s_%d" % (d, n)
                for k in range(len(groups), -1, -1):
                    c = every.get(".".join(groups[:k] + [d]))
                    if c is not None and c["shape"] == [n]:
                        name = ".".join(groups[:k] + [d])
                        break
                d = name
            out.append(d)
        meta["dims"] = out


def same(a, b):
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype == object:
        return all(x == y and type(x) is type(y) for x, y in zip(a.ravel().tolist(), b.ravel().tolist()))
    return bool(np.array_equal(a, b, equal_nan=True) if a.dtype.kind == "f" else np.array_equal(a, b))


def main(base, args):
    view = "v2"
    for a in args:
        if a.startswith("--view="):
            view = a[len("--view="):]
    args = [a for a in args if not a.startswith("--view=")]
    datasets = [a for a in args if not a.startswith("stack:") and not a.startswith("names:")]
    # A stack: (label, URL, its datasets in order) for a prefix, or for a list of names carried in the
    # URL as a token (unpadded base64url of the zlib-compressed names joined by newlines).
    stacks = []
    for a in args:
        if a.startswith("stack:"):
            prefix = a[len("stack:"):]
            stacks.append((prefix, "%s/zarr/%s/_stack/%s" % (base, view, prefix), listing(base, prefix)))
        elif a.startswith("names:"):
            names = a[len("names:"):].split(",")
            token = base64.urlsafe_b64encode(zlib.compress("\n".join(names).encode())).rstrip(b"=").decode()
            stacks.append((a, "%s/zarr/%s/_names/%s" % (base, view, token), names))
    failures = []
    checks = [0]

    def check(name, cond, detail=""):
        checks[0] += 1
        if not cond:
            failures.append("%s: %s" % (name, detail))

    for ds_name in datasets:
        url = "%s/zarr/%s/%s" % (base, view, ds_name)
        info = json.loads(fetch("%s/datasets/%s" % (base, ds_name))[0])
        arrays = {a["name"]: a for a in info["arrays"] if a["dtype"] in DTYPES or a["dtype"] in VARIABLE}
        for a, meta in arrays.items():
            # The engine's placeholder name dim{i} is served as {array}_dim{i}.
            meta["dims"] = [n if n != "dim%d" % i else "%s_dim%d" % (a, i) for i, n in enumerate(meta["dims"])]
        unambiguous_dims({a["name"]: a for a in info["arrays"]}, arrays)
        whole = {a: variable(base, ds_name, a, meta["shape"]) if meta["dtype"] in VARIABLE else binary(base, ds_name, a)
                 for a, meta in arrays.items()}

        # xarray: raw values (no masking of the fill value, no time decoding) so that every value compares.
        ds = xr.open_zarr(url, consolidated=True, mask_and_scale=False, decode_times=False)
        check(ds_name + " variables", sorted(ds.variables) == sorted(arrays), sorted(ds.variables))
        for a, meta in arrays.items():
            v = ds[a]
            check("%s/%s dims" % (ds_name, a), list(v.dims) == meta["dims"], v.dims)
            check("%s/%s values" % (ds_name, a), same(v.values, whole[a]),
                  "%r vs %r" % (v.values.tolist(), whole[a].tolist()) if meta["dtype"] in VARIABLE else "differ")
            for k, attr in meta["attributes"].items():
                val = attr["value"]
                got = v.attrs.get(k)
                ok = got == val or (isinstance(val, list) and list(np.asarray(got).tolist()) == val)
                check("%s/%s attribute %s" % (ds_name, a, k), ok, "%r vs %r" % (got, val))
        for k, attr in info["attributes"].items():
            got = ds.attrs.get(k)
            if attr["type"] in ("TimestampNs", "timestamp_ns"):
                ok = isinstance(got, str) and np.datetime64(got.rstrip("Z"), "ns") == np.datetime64(int(attr["value"]), "ns")
            else:
                ok = got == attr["value"]
            check("%s attribute %s" % (ds_name, k), ok, "%r vs %r" % (got, attr))

        if "temperature" in arrays:
            t = ds["temperature"]
            sel = t.isel(time=slice(2, 9), lat=slice(5, 30, 3), lon=[0, 71, 35]).values
            check(ds_name + " isel steps and lists", same(sel, whole["temperature"][2:9, 5:30:3][:, :, [0, 71, 35]]), "differ")
            # The same box through the binary endpoint's region read.
            box = t.isel(time=slice(3, 11), lat=slice(17, 20), lon=slice(30, 40)).values
            check(ds_name + " isel box vs region read", same(box, binary(base, ds_name, "temperature", "3:11,17:20,30:40")),
                  "differ")
            point = t.isel(time=11, lat=35, lon=71).values
            check(ds_name + " isel edge point", same(point, whole["temperature"][11, 35, 71]), point)
            m = float(t.mean().values)
            expected = float(np.nanmean(whole["temperature"].astype(np.float64)))
            check(ds_name + " mean", abs(m - expected) <= 1e-5 * abs(expected), "%r vs %r" % (m, expected))
        if "precipitation" in arrays:
            p = ds["precipitation"].isel(time=[0, 5, 11], lon=slice(None, None, 7)).values
            check(ds_name + " precipitation isel", same(p, whole["precipitation"][[0, 5, 11]][:, :, ::7]), "differ")
            m = float(ds["precipitation"].mean(dim="time", skipna=True).isel(lat=10, lon=10).values)
            e = float(np.nanmean(whole["precipitation"][:, 10, 10].astype(np.float64)))
            check(ds_name + " precipitation mean over time", abs(m - e) <= 1e-5 * max(1.0, abs(e)), "%r vs %r" % (m, e))

        # The same through xarray with CF decoding: the fill value masked as NaN.
        if "land_mask" in arrays:
            decoded = xr.open_zarr(url, consolidated=True)
            lm = decoded["land_mask"].values
            raw = whole["land_mask"].astype(np.float64)
            raw[whole["land_mask"] == 255] = np.nan
            check(ds_name + " land_mask decoded", np.array_equal(lm, raw, equal_nan=True), "differ")

        # zarr-python directly, on an fsspec HTTP mapper.
        group = zarr.open_consolidated(fsspec.get_mapper(url), mode="r")
        check(ds_name + " zarr arrays", sorted(group.array_keys()) == sorted(arrays), sorted(group.array_keys()))
        for a, meta in arrays.items():
            z = group[a]
            check("%s/%s zarr shape and chunks" % (ds_name, a),
                  list(z.shape) == meta["shape"] and list(z.chunks) == [max(1, c) for c in meta["chunks"]],
                  (z.shape, z.chunks))
            check("%s/%s zarr whole" % (ds_name, a), same(z[...], whole[a]), "differ")
            codec = None if z.compressor is None else z.compressor.codec_id
            check("%s/%s zarr compressor" % (ds_name, a), codec == ("zstd" if view.endswith("-zstd") else None), codec)
            if z.ndim == 3:
                check("%s/%s zarr basic" % (ds_name, a), same(z[1:12:4, 7, -5:], whole[a][1:12:4, 7, -5:]), "differ")
                check("%s/%s zarr orthogonal" % (ds_name, a),
                      same(z.get_orthogonal_selection(([0, 11], slice(0, 36, 5), [1, 70])),
                           whole[a][[0, 11]][:, 0:36:5][:, :, [1, 70]]), "differ")
            fill = meta["fill"]
            if meta["dtype"] in VARIABLE:
                # Strings and bytes: numcodecs' vlen object arrays, no fill value (an empty item is a value).
                codec = z.filters[0].codec_id if z.filters else None
                check("%s/%s zarr vlen" % (ds_name, a), z.dtype == object and z.fill_value is None
                      and codec == ("vlen-utf8" if meta["dtype"] == "String" else "vlen-bytes"), (z.dtype, z.filters))
                if z.ndim == 2:
                    check("%s/%s zarr vlen box" % (ds_name, a), same(z[1:, 1:3], whole[a][1:, 1:3]), "differ")
                    check("%s/%s xarray vlen isel" % (ds_name, a),
                          same(ds[a].isel({ds[a].dims[0]: [0, -1]}).values, whole[a][[0, -1]]), "differ")
            elif fill is not None and z.dtype.kind == "f":
                check("%s/%s zarr fill" % (ds_name, a),
                      (np.isnan(z.fill_value) and fill["value"] == "NaN") or z.fill_value == fill["value"],
                      (z.fill_value, fill))
            elif fill is not None:
                check("%s/%s zarr fill" % (ds_name, a), z.fill_value == fill["value"], (z.fill_value, fill))
            check("%s/%s zarr dims" % (ds_name, a), z.attrs["_ARRAY_DIMENSIONS"] == meta["dims"], z.attrs.asdict())

    for prefix, url, expected_names in stacks:
        # A stack: the datasets as one group, each array [n, *shape] with dimension "dataset" first.
        st = xr.open_zarr(url, consolidated=True, mask_and_scale=False, decode_times=False)
        names = [str(n) for n in st["dataset"].values]
        check(prefix + " stack names", names == expected_names, names)
        for a in ("temperature", "precipitation"):
            v = st[a]
            check("%s stack %s dims" % (prefix, a), v.dims[0] == "dataset" and v.shape[0] == len(names), v.dims)
            req = urllib.request.Request("%s/arrays/%s/data" % (base, a), method="POST",
                                         data=json.dumps({"datasets": names}).encode(),
                                         headers={"Content-Type": "application/json"})
            bulk, headers = fetch(req)
            shape = [int(x) for x in headers["X-Atlas-Shape"].split(",")]
            expected = np.frombuffer(bulk, dtype=np.dtype(DTYPES[headers["X-Atlas-DType"]])).reshape(shape)
            t0 = time.perf_counter()
            values = v.values
            print("stack %s: %s of %d datasets read through the Zarr view in %.2f s" % (prefix, a, len(names),
                                                                                   time.perf_counter() - t0))
            check("%s stack %s values" % (prefix, a), same(values, expected), "differ")
            sel = v.isel(dataset=slice(None, None, 2), time=[0, 11], lat=slice(3, 9)).values
            check("%s stack %s isel" % (prefix, a), same(sel, expected[::2][:, [0, 11]][:, :, 3:9]), "differ")
            picks = [names[0], names[len(names) // 2], names[-1]]
            by_name = v.sel(dataset=picks).isel(time=slice(0, 12, 5)).values
            rows = [names.index(n) for n in picks]
            check("%s stack %s sel by name" % (prefix, a), same(by_name, expected[rows][:, 0:12:5]), "differ")
            one = v.sel(dataset=names[-1]).isel(lat=slice(None, None, 4)).values
            check("%s stack %s sel one" % (prefix, a), same(one, expected[-1][:, ::4]), "differ")
            m = float(v.isel(time=0).mean().values)
            e = float(np.nanmean(expected[:, 0].astype(np.float64)))
            check("%s stack %s mean" % (prefix, a), abs(m - e) <= 1e-5 * max(1.0, abs(e)), "%r vs %r" % (m, e))
        group = zarr.open_consolidated(fsspec.get_mapper(url), mode="r")
        z = group["temperature"]
        check(prefix + " zarr stack chunks", list(z.chunks)[0] == 1 and z.shape[0] == len(names), z.chunks)
        codec = None if z.compressor is None else z.compressor.codec_id
        check(prefix + " zarr stack compressor", codec == ("zstd" if view.endswith("-zstd") else None), codec)

    for f in failures:
        print("FAIL", f)
    print("%d datasets, %d stacks, %d checks, %d failures" % (len(datasets), len(stacks), checks[0], len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1].rstrip("/"), sys.argv[2:]))
