#!/usr/bin/env bash
# Screenshots of the shipped dashboard in a real Home Assistant (docs/dashboard.png, the History
# view, and docs/dashboard_tonight.png): about 4 minutes. Sets up first (mosquitto, chromium, the
# virtualenv). Options: ./scripts/dashboard_screenshot.sh --help
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
./scripts/setup.sh
PYTHONPATH="$repo" exec .venv/bin/python scripts/dashboard_screenshot.py "$@"
