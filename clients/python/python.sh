#!/usr/bin/env bash
# Runs the system Python (/usr/bin/python3) with the given arguments, installing the client's Debian
# packages (python3-numpy, python3-requests) first when they are missing. Usage: python.sh ARGS...
set -euo pipefail
py=/usr/bin/python3
if ! "$py" -c 'import numpy, requests' 2>/dev/null; then
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo -n"; fi
  echo "installing python3-numpy python3-requests" >&2
  $sudo apt-get install -y -q python3-numpy python3-requests >&2 \
    || { $sudo apt-get update -q >&2 && $sudo apt-get install -y -q python3-numpy python3-requests >&2; }
fi
exec "$py" "$@"
