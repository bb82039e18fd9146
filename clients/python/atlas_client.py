"""A small Python client of the Atlas HTTP service (``atlas serve``).

Regions come back as numpy arrays: the binary answers are little-endian C-order bytes described by
the ``X-Atlas-DType`` and ``X-Atlas-Shape`` headers, mapped to numpy dtypes here; variable-length
dtypes (String, Binary, List) are read through ``format=json``.

    from atlas_client import AtlasClient
    atlas = AtlasClient("http://127.0.0.1:8080")
    t = atlas.read("grid_0001", "temperature", region="0,:,:")      # numpy float32 [1, 36, 72]
    stack = atlas.read_stack("temperature", prefix="grid_", region="0,:,:")   # [n, 1, 36, 72]

Requires numpy and requests (Debian: python3-numpy, python3-requests).
"""

import re

import numpy as np
import requests

__all__ = ["AtlasClient", "AtlasError", "numpy_dtype", "typed_value"]

_SCALARS = {
    "Bool": np.dtype("?"),
    "Int8": np.dtype("<i1"),
    "Int16": np.dtype("<i2"),
    "Int32": np.dtype("<i4"),
    "Int64": np.dtype("<i8"),
    "UInt8": np.dtype("<u1"),
    "UInt16": np.dtype("<u2"),
    "UInt32": np.dtype("<u4"),
    "UInt64": np.dtype("<u8"),
    "Float32": np.dtype("<f4"),
    "Float64": np.dtype("<f8"),
    "TimestampNs": np.dtype("<M8[ns]"),
}
_FIXED_LIST = re.compile(r"^FixedSizeList\((.+), (\d+)\)$")


class AtlasError(Exception):
    """An error answer of the service: its status, message and the parameter it names (if any)."""

    def __init__(self, status, message, parameter=None):
        super().__init__("%d: %s" % (status, message))
        self.status = status
        self.message = message
        self.parameter = parameter


def numpy_dtype(atlas_dtype):
    """The numpy dtype of an ``X-Atlas-DType`` value, or None for variable-length dtypes.

    A ``FixedSizeList(T, n)`` element becomes a sub-array dtype of n elements of T (numpy then adds
    a trailing axis of length n).
    """
    if atlas_dtype in _SCALARS:
        return _SCALARS[atlas_dtype]
    m = _FIXED_LIST.match(atlas_dtype)
    if m:
        child = numpy_dtype(m.group(1))
        return None if child is None else np.dtype((child, (int(m.group(2)),)))
    return None


_FLOAT_WORDS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}


def typed_value(typed):
    """The Python value of a typed JSON value ``{"type": T, "value": v}`` (attributes, fills, stats).

    Types are named as dtypes are, for dataset and array attributes alike (``String``, ``Int64``,
    ``Float64``, ``Bool``, ``TimestampNs``, ``Float32List`` ...; fills and statistics use ``Int``,
    ``UInt``, ``Float``, ``Bytes``): floats come back as floats (``"NaN"`` and the infinities
    included), timestamps as ``numpy.datetime64`` in nanoseconds, binary as bytes, lists as lists.
    """
    if typed is None:
        return None
    t, v = typed["type"], typed["value"]
    if t.endswith("List"):
        return [typed_value({"type": t[:-4], "value": x}) for x in v]
    if t.startswith("Float"):
        return _FLOAT_WORDS[v] if isinstance(v, str) else float(v)
    if t == "TimestampNs":
        return np.datetime64(int(v), "ns")
    if t in ("Binary", "Bytes"):
        return bytes.fromhex(v)
    return v


def _region(region, start, shape):
    params = {}
    if region is not None:
        params["region"] = region if isinstance(region, str) else ",".join(str(r) for r in region)
    if start is not None:
        params["start"] = ",".join(str(int(x)) for x in start)
    if shape is not None:
        params["shape"] = ",".join(str(int(x)) for x in shape)
    return params


class AtlasClient:
    """The routes of one Atlas service at ``base_url`` (e.g. ``http://127.0.0.1:8080``)."""

    def __init__(self, base_url, session=None, timeout=60.0):
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout = timeout

    # ------------------------------------------------------------------ plumbing

    def _get(self, path, params=None, **kw):
        r = self.session.get(self.base_url + path, params=params, timeout=self.timeout, **kw)
        self._check(r)
        return r

    @staticmethod
    def _check(r):
        if r.status_code >= 400:
            try:
                body = r.json()
                raise AtlasError(r.status_code, body.get("error", r.text), body.get("parameter"))
            except ValueError:
                raise AtlasError(r.status_code, r.text or r.reason) from None

    @staticmethod
    def _array(r, what):
        """The numpy array of a binary answer, checked against its headers."""
        dtype_name = r.headers["X-Atlas-DType"]
        shape_text = r.headers.get("X-Atlas-Shape", "")
        shape = tuple(int(x) for x in shape_text.split(",")) if shape_text else ()
        dt = numpy_dtype(dtype_name)
        if dt is None:
            raise AtlasError(0, "%s: dtype %s has no binary form" % (what, dtype_name))
        data = r.content
        expected = dt.itemsize * int(np.prod(shape, dtype=np.int64))
        if len(data) != expected:
            # A cut stream (the server failed after its headers): never hand out part of an array.
            raise AtlasError(0, "%s: %d bytes received, %d expected (the answer was cut)" % (what, len(data), expected))
        return np.frombuffer(data, dtype=dt).reshape(shape)

    # ------------------------------------------------------------------ catalog

    def health(self):
        """``{"status", "datasets", "commit", "refreshed"}``."""
        return self._get("/health").json()

    def datasets(self, prefix=None, page_size=None):
        """Every dataset (dicts with name, arrays, attributes), following the pages."""
        cursor = None
        while True:
            params = {}
            if prefix:
                params["prefix"] = prefix
            if page_size:
                params["limit"] = page_size
            if cursor:
                params["cursor"] = cursor
            page = self._get("/datasets", params).json()
            for d in page["datasets"]:
                yield d
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def dataset(self, name):
        """One dataset: attributes and every array's schema, fill, attributes and statistics."""
        return self._get("/datasets/" + requests.utils.quote(name, safe="")).json()

    def array_info(self, dataset, array):
        """One array of one dataset: schema, fill, attributes, statistics."""
        return self._get("/datasets/%s/arrays/%s" % (requests.utils.quote(dataset, safe=""),
                                                     requests.utils.quote(array, safe=""))).json()

    def arrays(self):
        """Array names across the store: ``[{"name", "dtype", "datasets"}]``."""
        return self._get("/arrays").json()["arrays"]

    # ------------------------------------------------------------------ data

    def read(self, dataset, array, region=None, start=None, shape=None):
        """A region of one dataset's array as a numpy array (the whole array without a region).

        ``region`` is the service's syntax (``"0:6,10:20,:"``) or a sequence of per-axis strings;
        or give ``start`` and ``shape``. Variable-length dtypes come back as a numpy object array.
        """
        path = "/datasets/%s/arrays/%s/data" % (requests.utils.quote(dataset, safe=""), requests.utils.quote(array, safe=""))
        params = _region(region, start, shape)
        try:
            r = self._get(path, params)
        except AtlasError as e:
            # Variable-length elements (String, Binary) have no binary form: the service refuses
            # the binary answer naming the parameter format; their values come as JSON.
            if e.status == 400 and e.parameter == "format":
                return self._json_values(path, params)
            raise
        if numpy_dtype(r.headers.get("X-Atlas-DType", "")) is not None:
            return self._array(r, dataset + "/" + array)
        return self._json_values(path, params)

    def _json_values(self, path, params):
        params = dict(params, format="json")
        body = self._get(path, params).json()
        return np.array(body["values"], dtype=object).reshape(body["shape"])

    def read_stack(self, array, datasets=None, prefix=None, limit=None, region=None, start=None, shape=None):
        """The same region of many datasets stacked along a new leading axis, in the order given.

        Name the datasets, or select them by ``prefix`` (then the service's registration order,
        up to ``limit``). Long lists go in a POST body. Returns ``(names, array)``.
        """
        path = "/arrays/%s/data" % requests.utils.quote(array, safe="")
        params = _region(region, start, shape)
        if datasets is None:
            names = [d["name"] for d in self.datasets(prefix=prefix) if any(a["name"] == array for a in d["arrays"])]
            if limit is not None:
                names = names[:limit]
        else:
            names = list(datasets)
        r = self.session.post(self.base_url + path, params=params, json={"datasets": names}, timeout=self.timeout)
        self._check(r)
        return names, self._array(r, array + " stack")
