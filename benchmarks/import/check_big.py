#!/usr/bin/python3
"""Checks an `atlas import` of a make_big.py file by reading slabs back through the CLI.

Usage:
  check_big.py sizes BIG.nc                      prints "VALUE_BYTES DATA_BYTES STEPS": the bytes of
                                                 all variables' values at their netCDF shapes, of
                                                 the three data variables alone, and the time steps
  check_big.py verify BIG.nc JAR STORE [DATASET] reads slabs with `atlas cat --format raw` and
                                                 compares them with make_big.py's formulas

verify compares every array's dtype, shape and dimension names (`atlas info`) with the file's,
and, for each data variable, three whole time steps (first, middle, last) and one box
that crosses time steps and covers a window of lat/lon; the coordinates whole; and the
never-written `z` whole, which must read as netCDF's default float fill (9.96921e+36) in every
element. It also reads the same slabs from BIG.nc with netCDF4-python first, so a mismatch
in the generator shows up as such and not as an import error. It prints one line per slab
and exits 1 when any slab differs, 0 when all agree.
"""
import os
import re
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_big  # noqa: E402


def sizes(path):
    import netCDF4
    with netCDF4.Dataset(path) as nc:
        total = 0
        for v in nc.variables.values():
            n = 1
            for d in v.dimensions:
                n *= len(nc.dimensions[d])
            total += n * v.dtype.itemsize
        steps = len(nc.dimensions["time"])
        nlat, nlon = len(nc.dimensions["lat"]), len(nc.dimensions["lon"])
    return total, len(make_big.DATA_VARS) * steps * nlat * nlon * 4, steps


def atlas_raw(jar, store, dataset, array, region, dtype):
    cmd = ["java", "-Xmx512m", "-jar", jar, "cat", store, dataset, array, "--region", region, "--format", "raw", "--force"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
    return np.frombuffer(p.stdout, dtype=dtype)


def check_schema(jar, store, dataset, nt, nlat, nlon):
    """Compares dtype, shape and dimension names of every array (from `atlas info`) with the file's; 0 or 1 failure."""
    want = {"time": f"Float64 time(time={nt})", "lat": f"Float32 lat(lat={nlat})", "lon": f"Float32 lon(lon={nlon})",
            "z": f"Float32 z(lat={nlat}, lon={nlon})"}
    for name in make_big.DATA_VARS:
        want[name] = f"Float32 {name}(time={nt}, lat={nlat}, lon={nlon})"
    cmd = ["java", "-Xmx512m", "-jar", jar, "info", store, dataset]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        print(f"FAIL schema: {' '.join(cmd)} exited {p.returncode}: {p.stderr.decode(errors='replace').strip()}")
        return 1
    got, details = {}, {}
    lines = p.stdout.decode().splitlines()
    for k, line in enumerate(lines):
        m = re.match(r"^(\w+) (\w+)\(.*\)$", line)
        if m:
            got[m.group(2)] = line
            details[m.group(2)] = lines[k + 1] if k + 1 < len(lines) else ""
    wrong = [f"{n}: '{got.get(n, 'absent')}', expected '{w}'" for n, w in want.items() if got.get(n) != w]
    if "precip" in got and "fill Float(-9999.0)" not in details["precip"]:
        wrong.append(f"precip: '{details['precip'].strip()}', expected its _FillValue as fill Float(-9999.0)")
    if wrong:
        print("FAIL schema: " + "; ".join(wrong))
        return 1
    print(f"ok   schema: {len(want)} arrays with the file's dtype, shape and dimension names; precip's fill -9999")
    return 0


def verify(path, jar, store, dataset):
    import netCDF4
    with netCDF4.Dataset(path) as nc:
        nc.set_auto_mask(False)
        nt, nlat, nlon = len(nc.dimensions["time"]), len(nc.dimensions["lat"]), len(nc.dimensions["lon"])
        # (array, region text, expected values, values netCDF4-python reads from the file)
        slabs = []
        for name in make_big.DATA_VARS:
            for t in sorted({0, nt // 2, nt - 1}):
                slabs.append((name, f"{t}:{t + 1},:,:", make_big.field(name, t, 0, nlat, 0, nlon), nc[name][t, :, :]))
            t0, t1 = max(0, nt // 3 - 1), min(nt, nt // 3 + 2)
            i0, i1, j0, j1 = nlat // 4, nlat // 4 + 37, nlon - 101, nlon
            box = np.stack([make_big.field(name, t, i0, i1, j0, j1) for t in range(t0, t1)])
            slabs.append((name, f"{t0}:{t1},{i0}:{i1},{j0}:{j1}", box, nc[name][t0:t1, i0:i1, j0:j1]))
        slabs.append(("lat", ":", make_big.lat_values(nlat), nc["lat"][:]))
        slabs.append(("lon", ":", make_big.lon_values(nlon), nc["lon"][:]))
        slabs.append(("time", ":", make_big.time_values(nt), nc["time"][:]))
        slabs.append(("z", ":,:", np.full((nlat, nlon), make_big.NC_FILL_FLOAT, dtype=np.float32), nc["z"][:, :]))
    bad = check_schema(jar, store, dataset, nt, nlat, nlon)
    for array, region, expected, in_file in slabs:
        expected = np.asarray(expected)
        if not np.array_equal(np.asarray(in_file).reshape(-1), expected.reshape(-1)):
            print(f"GENERATOR MISMATCH {array}[{region}]: the file does not hold the formula's values")
            bad += 1
            continue
        try:
            got = atlas_raw(jar, store, dataset, array, region, expected.dtype.newbyteorder("<"))
        except RuntimeError as e:
            print(f"FAIL {array}[{region}]: {e}")
            bad += 1
            continue
        if got.size != expected.size:
            print(f"FAIL {array}[{region}]: {got.size} elements read back, {expected.size} expected")
            bad += 1
        elif not np.array_equal(got, expected.reshape(-1)):
            diff = np.flatnonzero(got != expected.reshape(-1))
            k = diff[0]
            print(f"FAIL {array}[{region}]: {diff.size} of {got.size} elements differ, first at flat index {k}: "
                  f"read {got[k]!r}, expected {expected.reshape(-1)[k]!r}")
            bad += 1
        else:
            print(f"ok   {array}[{region}]: {got.size} elements equal")
    print(f"check: {len(slabs) + 1 - bad} of {len(slabs) + 1} checks pass (the schema and {len(slabs)} slabs)")
    return 1 if bad else 0


def main(argv):
    if len(argv) == 2 and argv[0] == "sizes":
        print(*sizes(argv[1]))
        return 0
    if len(argv) in (4, 5) and argv[0] == "verify":
        dataset = argv[4] if len(argv) == 5 else os.path.splitext(os.path.basename(argv[1]))[0]
        return verify(argv[1], argv[2], argv[3], dataset)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
