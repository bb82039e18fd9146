#!/bin/sh
# Regenerates every producer fixture and its expectation from scratch.
#   generate.sh [OUTDIR]      (default: this script's directory)
# Needs Debian's netcdf-bin, hdf5-tools, nco, cdo and /usr/bin/python3 with python3-netcdf4,
# python3-h5py, python3-xarray, python3-h5netcdf. NCO and CDO fixtures are skipped (with a line)
# when those tools are missing. See README.md for what each file covers.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here}
mkdir -p "$out"
out=$(cd "$out" && pwd)
py=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

rm -f "$out"/*.nc "$out"/*.h5 "$out"/*.expected.json "$out"/*.ncdump.txt "$out"/*.h5dump.txt

# netCDF-C through ncgen, from the CDL in cdl/.
for cdl in "$here"/cdl/ncgen_*.cdl; do
    name=$(basename "$cdl" .cdl)
    ncgen -k nc4 -o "$out/$name.nc" "$cdl"
done
# A netCDF-3 classic file: the importer must refuse it.
ncgen -k classic -o "$out/ncgen_classic.nc" "$here/cdl/classic.cdl"

# netCDF4-python, h5py, xarray (both engines).
"$py" "$here/make_netcdf4py.py" "$out"
"$py" "$here/make_h5py.py" "$out"
"$py" "$here/make_xarray.py" "$out"
# Minimal files for importer bugs an adversarial suite found.
"$py" "$here/make_adversary.py" "$out"

# nccopy conversions: netCDF-3 to netCDF-4 with deflate+shuffle, rechunking, a file with groups.
ncgen -k nc3 -o "$tmp/classic3.nc" "$here/cdl/classic.cdl"
nccopy -k nc4 -d 1 -s "$tmp/classic3.nc" "$out/nccopy_deflate.nc"
nccopy -k nc4 -c time/1,lat/2,lon/3 "$tmp/classic3.nc" "$out/nccopy_rechunk.nc"
nccopy -k nc4 "$out/ncgen_groups.nc" "$out/nccopy_groups.nc"

# NCO: rechunking with deflate, netCDF-3 to netCDF-4, a variable added by ncap2 (no history attribute).
if command -v ncks >/dev/null 2>&1 && command -v ncap2 >/dev/null 2>&1; then
    ncks -O -h -4 -L 1 --cnk_dmn lat,2 --cnk_dmn lon,2 "$out/ncgen_cmip.nc" "$out/nco_rechunk.nc"
    ncks -O -h -4 --cnk_dmn time,2 "$tmp/classic3.nc" "$out/nco_convert.nc"
    # ncpdq packs tas to short and keeps its float _FillValue 1e20 (netCDF-C: the HDF5 fill, -32767).
    ncpdq -O -h -4 -P all_new -v tas "$out/ncgen_cmip.nc" "$out/nco_pack.nc"
    ncap2 -O -h -4 -s 'tas_c=tas-273.15f;tas_c@units="degC";warm=int(tas>260)' "$out/ncgen_cmip.nc" "$out/nco_ncap2.nc"
else
    echo "generate.sh: NCO missing, no nco_* fixtures"
fi

# CDO: a CF file copied to netCDF-4 with zip, a constant field on a generated grid.
if command -v cdo >/dev/null 2>&1; then
    cdo -s --no_history -f nc4 -z zip_1 copy "$out/ncgen_cmip.nc" "$out/cdo_copy.nc"
    cdo -s --no_history -f nc4 -const,1.5,r4x3 "$out/cdo_const.nc"
else
    echo "generate.sh: CDO missing, no cdo_* fixtures"
fi

# HDF5's h5repack (hdf5-tools): the newest format (chunk indexes, object headers) with
# shuffle+deflate; the N-bit filter.
if command -v h5repack >/dev/null 2>&1; then
    h5repack --latest -f SHUF -f GZIP=1 "$out/ncgen_cmip.nc" "$out/h5repack_latest.nc"
    h5repack -f NBIT "$out/ncgen_storage.nc" "$out/h5repack_nbit.nc"
else
    echo "generate.sh: h5repack missing, no h5repack_* fixtures"
fi

# Expectations and dumps from an independent reader.
"$py" "$here/expect.py" "$out"
