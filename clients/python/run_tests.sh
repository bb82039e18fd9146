#!/usr/bin/env bash
# Runs test_atlas_client.py with the system Python (python.sh installs python3-numpy and
# python3-requests when they are missing). Usage: run_tests.sh BASE_URL MANIFEST.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/python.sh" "$here/test_atlas_client.py" "$@"
