#!/usr/bin/env bash
# One-off check (not CI): run the component tests on CURRENT Home Assistant (Python 3.14) in a
# Debian sid chroot, next to the pinned 2025.4.4 / Python 3.13 stack of scripts/setup.sh.
# Needs root and the Debian + PyPI package registries. Idempotent: reuses the chroot and venv.
#   sudo scripts/check_current_ha.sh                 # tests/component, then tests/detector
#   sudo scripts/check_current_ha.sh tests/component/test_entities.py -x   # own pytest arguments
# Env: SID (chroot dir, default /tmp/sid), PHACC (pytest-homeassistant-custom-component version; it
# pins the Home Assistant version), PYTEST_EXTRA (more pytest options, e.g. "--snapshot-update").
# The repo goes in as HEAD plus uncommitted changes to tracked files (git stash create).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SID=${SID:-/tmp/sid}
PHACC=${PHACC:-0.13.375}        # pins homeassistant==2026.10.4
PY=python3.14
say() { printf '[check-ha] %s\n' "$*" >&2; }
[ "$(id -u)" = 0 ] || { say "run as root (debootstrap, chroot, mounts)"; exit 1; }
start=$(date +%s)

# --- 1. the chroot (about 40 s the first time) -----------------------------------------------------
if [ ! -x "$SID/usr/bin/$PY" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap; }
  [ -e "$SID/etc/debian_version" ] || debootstrap --variant=minbase sid "$SID" http://deb.debian.org/debian >/dev/null
fi
mounts=(proc dev dev/pts dev/shm)
cleanup() {  # unmount in reverse order; the chroot itself stays for the next run
  local i
  for ((i=${#mounts[@]}-1; i>=0; i--)); do
    mountpoint -q "$SID/${mounts[i]}" && umount "$SID/${mounts[i]}" || true
  done
}
trap cleanup EXIT
for m in "${mounts[@]}"; do
  mkdir -p "$SID/$m"
  mountpoint -q "$SID/$m" && continue
  if [ "$m" = proc ]; then mount -t proc proc "$SID/proc"; else mount --bind "/$m" "$SID/$m"; fi
done
cp /etc/resolv.conf "$SID/etc/resolv.conf"
# the host's extra CAs (e.g. an egress proxy's) so pip's truststore verifies PyPI inside
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$SID/usr/local/share/ca-certificates/"
fi
# a sid mirror's Release file may be past Valid-Until on a frozen mirror
echo 'Acquire::Check-Valid-Until "false";' > "$SID/etc/apt/apt.conf.d/99no-check-valid"
# a clean environment inside (no host PIP_* settings pointing at host-only paths); SSL_CERT_FILE
# for uv, which a test's Home Assistant runs if it installs a requirement at run time (today's
# scripts/bench_ha.py does: pyotp and PyQRCode for the auth manager's default TOTP module)
in_sid() { chroot "$SID" /usr/bin/env -i HOME=/root PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 \
  SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt "$@"; }
if [ ! -x "$SID/usr/bin/$PY" ] || [ ! -x "$SID/usr/sbin/mosquitto" ]; then
  say "installing $PY, venv, mosquitto in the chroot"
  in_sid apt-get update -qq
  in_sid apt-get install -y -qq --no-install-recommends \
    "$PY" "$PY-venv" ca-certificates mosquitto mosquitto-clients >/dev/null
fi
in_sid update-ca-certificates >/dev/null

# --- 2. the venv: PHACC + that Home Assistant's package_constraints.txt ------------------------------
venv=/opt/venv-phacc-$PHACC
# the tests' other packages at the project's pins (numpy, paho-mqtt, pytest: as PHACC pins them)
mapfile -t extra < <(grep -E '^(hypothesis|scipy|edfio)==' "$repo/requirements-dev.txt")
if [ "$(cat "$SID$venv/.ready" 2>/dev/null)" != "${extra[*]}" ]; then
  say "creating $venv (pytest-homeassistant-custom-component==$PHACC; a few minutes)"
  rm -rf "${SID:?}$venv"
  in_sid "$PY" -m venv "$venv"
  in_sid "$venv/bin/python" - "$PHACC" "$venv" <<'PY'
import pathlib, re, subprocess, sys, zipfile
phacc, venv = sys.argv[1], pathlib.Path(sys.argv[2])
cache = venv / "cache"
pip = [str(venv / "bin/python"), "-m", "pip", "-q"]
subprocess.run([*pip, "download", "--no-deps", f"pytest-homeassistant-custom-component=={phacc}",
                "-d", str(cache)], check=True)
meta = zipfile.ZipFile(next(cache.glob("pytest_homeassistant_custom_component-*.whl")))
meta = next(meta.read(n).decode() for n in meta.namelist() if n.endswith("/METADATA"))
ha = re.search(r"^Requires-Dist: homeassistant==(\S+)", meta, re.M).group(1)
subprocess.run([*pip, "download", "--no-deps", f"homeassistant=={ha}", "-d", str(cache)], check=True)
wheel = zipfile.ZipFile(next(cache.glob(f"homeassistant-{ha}-*.whl")))
(venv / "ha-constraints.txt").write_bytes(wheel.read("homeassistant/package_constraints.txt"))
print(ha)
PY
  in_sid "$venv/bin/python" -m pip install -q -c "$venv/ha-constraints.txt" \
    "pytest-homeassistant-custom-component==$PHACC" "${extra[@]}"
  site=$(in_sid "$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo /work/main > "$SID$site/sleep_myoclonus_repo.pth"
  echo "${extra[*]}" > "$SID$venv/.ready"
fi

# --- 3. the repo copy and the tests ---------------------------------------------------------------
rm -rf "$SID/work/main" && mkdir -p "$SID/work/main" "$SID/work/shared"
tree=$(git -C "$repo" stash create)
git -C "$repo" archive "${tree:-HEAD}" | tar -x -C "$SID/work/main"
# the virtual sensor reads ../shared/data
[ -d "$repo/../shared" ] && cp -a "$repo/../shared/." "$SID/work/shared/"
in_sid "$venv/bin/python" -c 'import homeassistant.const as c, sys; print("Home Assistant", c.__version__, "on Python", sys.version.split()[0])'
rc=0
# shellcheck disable=SC2086  # PYTEST_EXTRA is split on purpose
run() { in_sid /bin/sh -c 'cd /work/main && exec "$@"' sh "$venv/bin/python" -m pytest \
  -p no:cacheprovider ${PYTEST_EXTRA:-} "$@" || rc=$?; }
if [ $# -gt 0 ]; then
  run "$@"
else
  run tests/component -q
  run tests/detector detector -q  # detector/: its doctests
fi
say "done in $(( $(date +%s) - start )) s (exit $rc)"
exit $rc
