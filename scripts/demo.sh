#!/usr/bin/env bash
# The demo (README quick start): sets up, then runs a local broker, a virtual bed sensor and a live
# receiver that prints frame statistics and detected events. Options: ./scripts/demo.sh --help
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
./scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
