"""Chunk requests per second for a hot set of chunks, many concurrent clients (aiohttp)."""
import asyncio, sys, time, random
import aiohttp

base, clients, total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
keys = ["%s/zarr/v2/grid_%04d/temperature/%d.%d.%d" % (base, d, t, y, x) for d in range(8) for t in range(2) for y in range(2) for x in range(2)]

async def worker(session, n, counts):
    rnd = random.Random(n)
    for _ in range(total // clients):
        async with session.get(rnd.choice(keys)) as r:
            b = await r.read()
            assert r.status == 200 and len(b) == 6 * 18 * 36 * 4, r.status
            counts[0] += 1

async def main():
    counts = [0]
    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn) as s:
        for k in keys:
            async with s.get(k) as r:
                await r.read()
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(s, i, counts) for i in range(clients)))
        dt = time.perf_counter() - t0
    print("%d hot chunks, %d clients: %d requests in %.2f s = %.0f requests/s" % (len(keys), clients, counts[0], dt, counts[0] / dt))

asyncio.run(main())
