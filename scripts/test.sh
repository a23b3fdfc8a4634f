#!/usr/bin/env bash
# The project's test command (README quick start; CI runs exactly this through .ci/run).
# Sets up everything it needs, then: lint, format check, strict typing, the test suite with coverage.
# Extra arguments go to pytest, e.g. ./scripts/test.sh tests/detector -k fuzz
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
./scripts/setup.sh
echo "[test] ruff check" >&2
.venv/bin/ruff check .
echo "[test] ruff format --check" >&2
.venv/bin/ruff format --check .
echo "[test] mypy --strict" >&2
.venv/bin/mypy
echo "[test] pytest" >&2
# an absolute --cov-config: a measured child process started elsewhere still collects branch data
.venv/bin/python -m pytest -p no:cacheprovider --cov --cov-config="$repo/pyproject.toml" \
  --cov-report=term "$@"
if [ $# -eq 0 ]; then
  # the whole suite ran: the Home Assistant component must stay at >= 95 % line coverage
  echo "[test] coverage of custom_components/sleep_myoclonus (at least 95 %)" >&2
  .venv/bin/python -m coverage report --include='custom_components/sleep_myoclonus/*' \
    --fail-under=95 --skip-covered
fi
