"""A Home Assistant configuration directory for the demo and the end-to-end tests.

A minimal ``configuration.yaml`` (frontend, config entries UI, history, logbook, recorder; HTTP
on ``127.0.0.1``), the onboarding steps other than the owner account marked done before the
first start (so nothing calls the cloud), and Sleep Myoclonus unpacked from the release zip built
by ``scripts/release.py``: what a user installs. And the environment ``hass`` runs in, which
hides this repository from it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import zipfile
import zoneinfo
from pathlib import Path
from typing import Any, Final

from scripts.release import DOMAIN, ROOT, build, version

__all__ = [
    "HIDE_REPO",
    "HOST",
    "child_env",
    "free_port",
    "install_release",
    "local_time_zone",
    "onboarding_done",
    "point_mqtt_entries",
    "port_is_free",
    "stored_entry",
    "write_config",
]

HOST: Final = "127.0.0.1"
# Run hass without the repository on the module path (it is there through the virtualenv's .pth
# file), so the component comes from <config>/custom_components only; on Linux, have the kernel
# send it SIGTERM when the demo's thread that started it ends (PR_SET_PDEATHSIG).
HIDE_REPO: Final = (
    "import ctypes, os, signal, sys\n"
    "if sys.platform == 'linux':\n"
    "    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)\n"
    "hide = os.environ.pop('SLEEP_MYOCLONUS_HIDE')\n"
    "sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != hide]\n"
)


def child_env() -> dict[str, str]:
    """Return the environment for a child that runs :data:`HIDE_REPO` first."""
    # no PYTHONPATH (the repository must not shadow the installed zip), and no pytest-cov hooks:
    # the installed copy is not the repository's code, and measuring it would mix data kinds
    env = {
        key: value
        for key, value in os.environ.items()
        if key != "PYTHONPATH" and not key.startswith("COV_CORE_")
    }
    return env | {"SLEEP_MYOCLONUS_HIDE": os.path.realpath(ROOT)}


def free_port() -> int:
    """Return a TCP port on ``127.0.0.1`` that is free right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    """Return whether a TCP port on ``127.0.0.1`` can be listened on right now."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Home Assistant's server
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def local_time_zone() -> str:
    """Return this machine's IANA time zone name (``UTC`` when it cannot tell)."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with_file = Path("/etc/timezone")
    if with_file.is_file():
        candidates.append(with_file.read_text(encoding="utf-8").strip())
    localtime = Path("/etc/localtime").resolve()
    if "zoneinfo" in localtime.parts:
        candidates.append("/".join(localtime.parts[localtime.parts.index("zoneinfo") + 1 :]))
    for name in candidates:
        try:
            if name and zoneinfo.ZoneInfo(name):
                return name
        except (ValueError, zoneinfo.ZoneInfoNotFoundError):
            continue
    return "UTC"


def write_config(config_dir: Path, port: int, time_zone: str) -> None:
    """Write ``configuration.yaml`` (always) and the onboarding state (for a new directory)."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "configuration.yaml").write_text(
        "# Written by scripts/ha_instance.py for the Sleep Myoclonus demo (rewritten each run).\n"
        "homeassistant:\n"
        "  name: Sleep Myoclonus demo\n"
        f"  time_zone: {time_zone}\n"
        "  country: DE\n"  # any country: without one, HA raises a repair in the demo's UI
        "frontend:\nconfig:\nhistory:\nlogbook:\nrecorder:\n"
        f"http:\n  server_host: {HOST}\n  server_port: {port}\n"
        "logger:\n  default: warning\n  logs:\n"
        f"    custom_components.{DOMAIN}: info\n"
        # optional speed-up library missing here; nothing to do with the demo
        "    homeassistant.components.camera.img_util: critical\n",
        encoding="utf-8",
    )
    onboarding = config_dir / ".storage" / "onboarding"
    if not onboarding.exists():  # the owner account is created over the API, after the start
        onboarding.parent.mkdir(exist_ok=True)
        done = {"done": ["core_config", "analytics", "integration"]}
        store = {"version": 4, "minor_version": 1, "key": "onboarding", "data": done}
        onboarding.write_text(json.dumps(store), encoding="utf-8")


def onboarding_done(config_dir: Path) -> list[str]:
    """Return the onboarding steps a configuration directory has done (``user``: onboarded)."""
    path = config_dir / ".storage" / "onboarding"
    if not path.exists():
        return []
    done: list[str] = json.loads(path.read_text(encoding="utf-8"))["data"]["done"]
    return done


def point_mqtt_entries(config_dir: Path, host: str, port: int) -> bool:
    """Point an existing MQTT config entry at this run's broker; return whether there was one."""
    path = config_dir / ".storage" / "core.config_entries"
    if not path.exists():
        return False
    store = json.loads(path.read_text(encoding="utf-8"))
    entries = [e for e in store["data"]["entries"] if e["domain"] == "mqtt"]
    for entry in entries:
        entry["data"] |= {"broker": host, "port": port}
    path.write_text(json.dumps(store), encoding="utf-8")
    return bool(entries)


def stored_entry(config_dir: Path, domain: str, unique_id: str) -> dict[str, Any] | None:
    """Return a config entry Home Assistant has saved (its REST API does not show unique ids)."""
    path = config_dir / ".storage" / "core.config_entries"
    if not path.exists():
        return None
    entries = json.loads(path.read_text(encoding="utf-8"))["data"]["entries"]
    for entry in entries:
        if entry["domain"] == domain and entry.get("unique_id") == unique_id:
            return dict(entry)
    return None


def install_release(config_dir: Path) -> str:
    """Build the release zip and unpack it as ``<config>/custom_components/sleep_myoclonus``.

    Returns
    -------
    str
        The installed version.
    """
    target = config_dir / "custom_components" / DOMAIN
    shutil.rmtree(target, ignore_errors=True)
    with (
        tempfile.TemporaryDirectory(prefix="sleep-myoclonus-release-") as tmp,
        zipfile.ZipFile(build(Path(tmp) / f"{DOMAIN}.zip")) as archive,
    ):
        archive.extractall(target)
    return version()
