#!/usr/bin/env bash
# Runs test_atlas_client.py with the system Python, installing its Debian packages
# (python3-numpy, python3-requests) when they are missing. Usage: run_tests.sh BASE_URL MANIFEST.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
py=/usr/bin/python3
if ! "$py" -c 'import numpy, requests' 2>/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
  echo "installing python3-numpy python3-requests" >&2
  $sudo apt-get install -y -q python3-numpy python3-requests >&2 \
    || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q python3-numpy python3-requests >&2; }
fi
exec "$py" "$here/test_atlas_client.py" "$@"
