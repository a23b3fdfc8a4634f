#!/usr/bin/env bash
# The demo (README quick start): sets up, then runs a local MQTT broker, a real Home Assistant with the
# integration installed from the release zip, and a virtual bed sensor; prints where to look (URL,
# login demo / demo-password, entities) and what Home Assistant reports. Options: ./scripts/demo.sh --help
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
./scripts/setup.sh
exec .venv/bin/python scripts/demo.py "$@"
