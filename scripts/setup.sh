#!/usr/bin/env bash
# Idempotent project setup: system packages (mosquitto, chromium), a Python >= 3.13 virtualenv in
# .venv/ and the pinned dependencies. Safe to run again; it only redoes the steps whose inputs changed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
HA_VERSION=2025.4.4
say() { printf '[setup] %s\n' "$*" >&2; }

# --- system packages ------------------------------------------------------------------------------
need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++)
# the end-to-end test's browser (tests/e2e), driven by Playwright at this path (Debian's package)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${need_apt[*]} from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
    # Debian starts a system mosquitto on :1883; we start our own brokers on free ports.
    if command -v systemctl >/dev/null 2>&1; then systemctl disable --now mosquitto >/dev/null 2>&1 || true; fi
  else
    say "missing system packages: ${need_apt[*]}"
    say "install them first, e.g.: sudo apt-get install ${need_apt[*]}"
    exit 1
  fi
fi

# --- a Python >= 3.13 -----------------------------------------------------------------------------
py_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 13) else 1)' >/dev/null 2>&1; }
find_python() {
  local c
  for c in python3.13 python3.14 python3; do
    if command -v "$c" >/dev/null 2>&1 && py_ok "$(command -v "$c")"; then command -v "$c"; return 0; fi
  done
  local root
  root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
  for c in "$root"/versions/3.13*/bin/python3 "$root"/versions/3.14*/bin/python3; do
    if [ -x "$c" ] && py_ok "$c"; then echo "$c"; return 0; fi
  done
  return 1
}

if [ ! -x .venv/bin/python ] || ! py_ok .venv/bin/python; then
  if ! py=$(find_python); then
    say "no Python >= 3.13 found on PATH or in pyenv; install one, e.g.: pyenv install 3.13.0"
    exit 1
  fi
  say "creating .venv with $py ($("$py" -V 2>&1))"
  rm -rf .venv
  "$py" -m venv .venv
fi

# --- pinned dependencies --------------------------------------------------------------------------
stamp=.venv/.sleep-myoclonus-deps
want=$(cat requirements-dev.txt scripts/constraints-extra.txt pyproject.toml | sha256sum | cut -c1-16)-$HA_VERSION
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  pip=(.venv/bin/python -m pip --disable-pip-version-check -q)
  mkdir -p .venv/cache
  constraints=.venv/cache/ha-$HA_VERSION-package_constraints.txt
  if [ ! -s "$constraints" ]; then
    say "fetching Home Assistant $HA_VERSION's package_constraints.txt"
    "${pip[@]}" download --no-deps "homeassistant==$HA_VERSION" -d .venv/cache 2>/dev/null
    .venv/bin/python - "$HA_VERSION" "$constraints" <<'PY'
import sys, zipfile, pathlib
version, out = sys.argv[1], sys.argv[2]
wheel = next(pathlib.Path(".venv/cache").glob(f"homeassistant-{version}-*.whl"))
with zipfile.ZipFile(wheel) as zf:
    pathlib.Path(out).write_bytes(zf.read("homeassistant/package_constraints.txt"))
PY
  fi
  say "installing pinned dependencies (about 1-2 minutes the first time)"
  if ! "${pip[@]}" install -c "$constraints" -c scripts/constraints-extra.txt -r requirements-dev.txt \
      >.venv/cache/pip-install.log 2>&1; then
    grep -v "is ignored: it is neither a file nor a directory" .venv/cache/pip-install.log | tail -n 20 >&2
    say "dependency install failed (full log: .venv/cache/pip-install.log)"
    exit 1
  fi
  # The repo itself goes on the venv's path, so `python -m detector` works from anywhere.
  site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$repo" > "$site/sleep_myoclonus_repo.pth"
  .venv/bin/python -c "import homeassistant, pytest_homeassistant_custom_component, numpy, paho.mqtt" \
    || { say "dependency install failed"; exit 1; }
  echo "$want" > "$stamp"
fi
say "ready: $(.venv/bin/python -V), Home Assistant $HA_VERSION test stack"
