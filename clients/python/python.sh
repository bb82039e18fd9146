#!/usr/bin/env bash
# Runs the system Python (/usr/bin/python3) with the given arguments, installing the Debian packages
# the client and README's examples use (python3-numpy, python3-requests; python3-xarray,
# python3-zarr, python3-fsspec, python3-aiohttp for the Zarr example) first when they are missing.
# Usage: python.sh ARGS...
set -euo pipefail
py=/usr/bin/python3
pkgs="python3-numpy python3-requests python3-xarray python3-zarr python3-fsspec python3-aiohttp"
if ! "$py" -c 'import numpy, requests, xarray, zarr, fsspec, aiohttp' 2>/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
  echo "installing $pkgs" >&2
  $sudo apt-get install -y -q $pkgs >&2 \
    || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q $pkgs >&2; }
fi
exec "$py" "$@"
