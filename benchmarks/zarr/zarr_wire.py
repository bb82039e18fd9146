"""Raw or zstd chunks on the wire, measured through the server: every chunk of every array of the
first N datasets of a demo store, fetched through /zarr/v2 and
/zarr/v2-zstd in alternating passes (one keep-alive connection each, sequential GETs), with the
server's CPU time per chunk (utime + stime of its process from /proc, so the server must run on
this machine), the bytes on the wire, the wall time, and the client's numcodecs decode time. The
values are compared (decoded zstd chunk == raw chunk) on every pass.

    python3 zarr_wire.py BASE_URL SERVER_PID DATASETS PASSES
"""
import http.client
import itertools
import json
import os
import sys
import time
import urllib.parse
import urllib.request

import numcodecs


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def keys(base, n):
    """Every chunk key of every array of grid_0000..n-1 (the grid read from grid_0000's .zmetadata)."""
    with urllib.request.urlopen(base + "/zarr/v2/grid_0000/.zmetadata") as r:
        md = json.loads(r.read())["metadata"]
    grids = {}
    for k, v in md.items():
        if k.endswith("/.zarray"):
            grids[k[:-len("/.zarray")]] = [range(-(-s // c)) for s, c in zip(v["shape"], v["chunks"])]
    out = []
    for d in range(n):
        for a, g in grids.items():
            out += ["grid_%04d/%s/%s" % (d, a, ".".join(map(str, idx))) for idx in itertools.product(*g)]
    return out


def fetch_all(conn, prefix, ks):
    bodies = []
    for k in ks:
        conn.request("GET", prefix + k)
        r = conn.getresponse()
        b = r.read()
        assert r.status == 200, (k, r.status, b[:200])
        bodies.append(b)
    return bodies


def main(base, pid, n, passes):
    u = urllib.parse.urlsplit(base)
    ks = keys(base, n)
    zstd = numcodecs.Zstd()
    results = {"v2": [], "v2-zstd": []}
    for p in range(passes):
        for view in (("v2", "v2-zstd") if p % 2 == 0 else ("v2-zstd", "v2")):
            conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
            c0, t0 = cpu_seconds(pid), time.perf_counter()
            bodies = fetch_all(conn, "/zarr/%s/" % view, ks)
            wall, cpu = time.perf_counter() - t0, cpu_seconds(pid) - c0
            conn.close()
            d0 = time.perf_counter()
            decoded = [zstd.decode(b) if view == "v2-zstd" else b for b in bodies]
            dec = time.perf_counter() - d0
            results[view].append((wall, cpu, sum(len(b) for b in bodies), dec, decoded))
        raw, z = results["v2"][-1][4], results["v2-zstd"][-1][4]
        assert all(bytes(a) == bytes(b) for a, b in zip(raw, z)), "decoded zstd chunks differ from raw ones"
    for view, rs in results.items():
        rs.sort(key=lambda r: r[1])
        wall, cpu, size, dec, _ = rs[len(rs) // 2]
        print("%-8s %d chunks: %8.0f bytes/chunk on the wire, server CPU %6.0f us/chunk, wall %6.0f us/chunk,"
              " client decode %4.0f us/chunk (median of %d passes by server CPU)"
              % (view, len(ks), size / len(ks), cpu / len(ks) * 1e6, wall / len(ks) * 1e6, dec / len(ks) * 1e6, len(rs)))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
