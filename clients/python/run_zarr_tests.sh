#!/usr/bin/env bash
# Runs test_zarr_view.py with the system Python through python.sh, which installs the Debian
# packages it needs (python3-numpy, python3-xarray, python3-zarr, python3-fsspec, python3-aiohttp)
# when they are missing. Usage: run_zarr_tests.sh BASE_URL DATASET [DATASET...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/python.sh" "$here/test_zarr_view.py" "$@"
