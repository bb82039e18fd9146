#!/usr/bin/python3
"""Fixtures for ImportFailuresTest (issue 24): a directory of files that cannot all be imported.

  a.nc   time float64, v float32(time, x): imports.
  b.nc   time int32: clashes with a.nc's float64 time (the first file in name order owns 'time').
  c.nc   like a.nc plus 'only_in_c', but one compressed chunk of v is damaged on disk, so the
         import fails while copying values, after 'only_in_c' was copied.
  d.nc   fine, with a never-written 3000x3000 variable (fill, no bytes on disk).
  e.nc   v with Fletcher-32 checksums and no compression; 4 bytes inside chunk 1 flipped, so the
         chunk still decodes (to wrong values): only the checksum tells. Also f deflate+shuffle+
         fletcher32, undamaged (the checksum over compressed bytes must verify).

Run with Debian's python3 (python3-netcdf4, python3-h5py): /usr/bin/python3 generate.py [DIR]
"""
import sys, os
import numpy as np
import netCDF4, h5py

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def make(path, tdtype, extra=None, never=False):
    d = netCDF4.Dataset(path, 'w')
    d.title = os.path.basename(path)
    d.createDimension('time', None)
    d.createDimension('x', 100)
    t = d.createVariable('time', tdtype, ('time',))
    t.units = 'days since 2000-01-01'
    t[:] = np.arange(4)
    v = d.createVariable('v', 'f4', ('time', 'x'), zlib=True, chunksizes=(1, 100))
    v[:] = (np.arange(400, dtype='f4').reshape(4, 100) * 0.5)
    if extra:
        w = d.createVariable(extra, 'f8', ('x',))
        w[:] = np.arange(100) * 2.0
    if never:
        d.createDimension('big', 3000)
        d.createVariable('never', 'f4', ('big', 'big'), chunksizes=(500, 500))
    d.close()


make(os.path.join(out, 'a.nc'), 'f8')
make(os.path.join(out, 'b.nc'), 'i4')
c = os.path.join(out, 'c.nc')
make(c, 'f8', extra='only_in_c')
with h5py.File(c, 'r') as f:
    info = f['v'].id.get_chunk_info(2)
    offset, size = info.byte_offset, info.size
data = bytearray(open(c, 'rb').read())
for i in range(offset + 2, offset + size - 2):
    data[i] ^= 0xA5
open(c, 'wb').write(bytes(data))
make(os.path.join(out, 'd.nc'), 'f8', never=True)


e = os.path.join(out, 'e.nc')
d = netCDF4.Dataset(e, 'w')
d.createDimension('time', 4)
d.createDimension('x', 100)
v = d.createVariable('v', 'f4', ('time', 'x'), fletcher32=True, chunksizes=(1, 100))
v[:] = np.arange(400, dtype='f4').reshape(4, 100)
f = d.createVariable('f', 'f4', ('time', 'x'), fletcher32=True, zlib=True, shuffle=True, chunksizes=(1, 100))
f[:] = np.arange(400, dtype='f4').reshape(4, 100) * 2
d.close()
with h5py.File(e, 'r') as h:
    info = h['v'].id.get_chunk_info(1)
    offset = info.byte_offset
data = bytearray(open(e, 'rb').read())
for i in range(offset + 40, offset + 44):
    data[i] ^= 0x10
open(e, 'wb').write(bytes(data))
