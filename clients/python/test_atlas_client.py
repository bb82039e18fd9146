"""Checks atlas_client against a served store: every case of a manifest the Java test wrote.

    python3 test_atlas_client.py BASE_URL MANIFEST.json

Each case names a read and a file of the bytes the engine itself read for it (little-endian, C
order), with the dtype and shape it must come back as. Exits 0 when every case matches.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from atlas_client import AtlasClient, AtlasError, numpy_dtype, typed_value  # noqa: E402


def main(base_url, manifest_path):
    manifest = json.load(open(manifest_path))
    here = os.path.dirname(os.path.abspath(manifest_path))
    atlas = AtlasClient(base_url)
    failures = []

    def check(name, cond, detail=""):
        if not cond:
            failures.append("%s: %s" % (name, detail))

    health = atlas.health()
    check("health", health["status"] == "ok" and health["datasets"] == manifest["datasets"], health)
    names = [d["name"] for d in atlas.datasets(page_size=2)]
    check("datasets paged", names == manifest["dataset_names"], names)
    check("arrays", sorted(a["name"] for a in atlas.arrays()) == sorted(manifest["array_names"]), atlas.arrays())
    ds = atlas.dataset(manifest["dataset_names"][1])
    check("dataset", ds["name"] == manifest["dataset_names"][1] and len(ds["arrays"]) == manifest["arrays_of_second"], ds)

    # Typed values: dataset and array attributes in one vocabulary (the dtype names), fills and stats.
    attrs = ds["attributes"]
    check("attribute types", [attrs[k]["type"] for k in ("title", "member", "grid_resolution_deg", "created")]
          == ["String", "Int64", "Float64", "TimestampNs"], attrs)
    check("typed values", typed_value(attrs["member"]) == 1 and isinstance(typed_value(attrs["title"]), str)
          and typed_value(attrs["created"]).dtype == np.dtype("<M8[ns]"), attrs)
    temp = next(a for a in ds["arrays"] if a["name"] == "temperature")
    check("array attribute type", temp["attributes"]["units"] == {"type": "String", "value": "K"}, temp["attributes"])
    check("fill NaN", np.isnan(typed_value(temp["fill"])), temp["fill"])
    mask = next(a for a in ds["arrays"] if a["name"] == "land_mask")
    check("list attribute", typed_value(mask["attributes"]["flag_values"]) == [0, 1], mask["attributes"])

    for case in manifest["cases"]:
        expected = np.frombuffer(open(os.path.join(here, case["file"]), "rb").read(), dtype=numpy_dtype(case["dtype"]))
        expected = expected.reshape(case["shape"])
        if case["kind"] == "read":
            got = atlas.read(case["dataset"], case["array"], region=case.get("region"))
        else:
            got_names, got = atlas.read_stack(case["array"], prefix=case.get("prefix"), datasets=case.get("datasets"),
                                              region=case.get("region"))
            check(case["name"] + " names", got_names == case["names"], got_names)
        check(case["name"] + " dtype", got.dtype == expected.dtype, "%s vs %s" % (got.dtype, expected.dtype))
        check(case["name"] + " shape", list(got.shape) == list(case["shape"]), got.shape)
        same = got.shape == expected.shape and (np.array_equal(got, expected, equal_nan=True)
                                                if got.dtype.kind == "f" else np.array_equal(got, expected))
        check(case["name"] + " values", same, "differ")
        if case.get("mean") is not None:
            m = float(np.nanmean(got.astype(np.float64)))
            check(case["name"] + " mean", abs(m - case["mean"]) < 1e-6 * max(1.0, abs(case["mean"])), m)

    st = manifest["strings"]
    got = atlas.read(st["dataset"], st["array"])
    check("strings", got.dtype == object and list(got.shape) == st["shape"] and got.ravel().tolist() == st["values"],
          repr(got))

    try:
        atlas.read("no_such_dataset", "temperature")
        check("404", False, "no error")
    except AtlasError as e:
        check("404", e.status == 404 and e.parameter == "dataset", e)
    try:
        atlas.read(manifest["dataset_names"][0], "temperature", region="0:999,:,:")
        check("400", False, "no error")
    except AtlasError as e:
        check("400", e.status == 400 and e.parameter == "region", e)

    for f in failures:
        print("FAIL", f)
    print("%d cases, %d failures" % (len(manifest["cases"]), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
