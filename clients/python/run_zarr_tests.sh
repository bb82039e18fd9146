#!/usr/bin/env bash
# Runs test_zarr_view.py with the system Python, installing its Debian packages (python3-numpy,
# python3-xarray, python3-zarr, python3-fsspec, python3-aiohttp) when they are missing.
# Usage: run_zarr_tests.sh BASE_URL DATASET [DATASET...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py=/usr/bin/python3
pkgs="python3-numpy python3-xarray python3-zarr python3-fsspec python3-aiohttp"
if ! "$py" -c 'import numpy, xarray, zarr, fsspec, aiohttp' 2>/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
  echo "installing $pkgs" >&2
  $sudo apt-get install -y -q $pkgs >&2 \
    || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q $pkgs >&2; }
fi
exec "$py" "$here/test_zarr_view.py" "$@"
