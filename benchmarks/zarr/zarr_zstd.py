import time, urllib.request, numcodecs
base = "http://127.0.0.1:18765/zarr/v2"
chunks = []
for d in range(6):
    for a in ("temperature", "precipitation"):
        for t in range(2):
            for y in range(2):
                for x in range(2):
                    chunks.append(urllib.request.urlopen("%s/grid_%04d/%s/%d.%d.%d" % (base, d, a, t, y, x)).read())
raw = sum(len(c) for c in chunks)
for level in (1, 3):
    z = numcodecs.Zstd(level=level)
    t0 = time.perf_counter()
    for _ in range(20):
        out = [z.encode(c) for c in chunks]
    dt = (time.perf_counter() - t0) / 20 / len(chunks)
    comp = sum(len(o) for o in out)
    t0 = time.perf_counter()
    for _ in range(20):
        for o in out:
            z.decode(o)
    dd = (time.perf_counter() - t0) / 20 / len(chunks)
    print("zstd-%d: %d chunks of %d B: %.1f%% of raw, %.1f us to compress, %.1f us to decompress per chunk (%.0f MB/s)"
          % (level, len(chunks), len(chunks[0]), 100.0 * comp / raw, dt * 1e6, dd * 1e6, len(chunks[0]) / dt / 1e6))
