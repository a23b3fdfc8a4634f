"""The README's demo runs end to end: broker, a real Home Assistant, the virtual sensor.

The demo starts ``hass`` with the integration unpacked from the release zip, onboards it, adds
MQTT and the bed through their config flows and prints what Home Assistant reports; Ctrl-C and
``--duration`` stop everything, leaving no process behind. Each Home Assistant run takes about
15-20 s here.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_socket  # type: ignore[import-untyped]

from hardware.virtual_sensor.synth import generate
from scripts.demo import LEAD_IN_S, _lead_in
from scripts.ha_config import HIDE_REPO, child_env, install_release
from scripts.release import release_files

ROOT = Path(__file__).parents[1]
DEMO = [sys.executable, str(ROOT / "scripts" / "demo.py")]
SHORT = ["--scenario", "hypnic_onset", "--minutes", "10", "--speed", "60"]
MAIN_ENTITIES = (
    "sensor.bedroom_twitch_rate",
    "sensor.bedroom_twitches_tonight",
    "sensor.bedroom_limb_movements_tonight",
    "sensor.bedroom_plm_index_tonight",
    "binary_sensor.bedroom_in_bed",
    "event.bedroom_movement",
)
MOVEMENT = re.compile(
    r"HA event +\d\d:\d\d:\d\d \S+: (twitch|limb_movement|gross_movement|"
    r"hypnic_jerk) +[\d.]+ s +[\d.]+x heartbeat"
)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


@dataclass
class DemoRun:
    """What a demo run printed (stdout and stderr, in order) and how it ended."""

    out: str
    returncode: int
    live: dict[str, Any] = field(default_factory=dict)  # what the callback found while running

    def pids(self) -> list[int]:
        """The broker's and Home Assistant's process ids, as printed."""
        return [int(pid) for pid in re.findall(r"\(pid (\d+)\)", self.out)]


def _interrupt(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C the demo if it still runs; SIGKILL if it has not stopped a minute later."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _run(
    args: list[str],
    on_line: Callable[[str, subprocess.Popen[str], dict[str, Any]], None] | None = None,
    timeout: float = 150.0,
) -> DemoRun:
    """Run the demo, calling ``on_line`` for each line while it runs."""
    proc = subprocess.Popen(
        [*DEMO, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    # Ctrl-C, not SIGKILL, on a timeout or a failed check: the demo then stops its broker and
    # Home Assistant (a killed demo would leave its Mosquitto running)
    watchdog = threading.Timer(timeout, _interrupt, (proc,))
    watchdog.start()
    lines: list[str] = []
    live: dict[str, Any] = {}
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if on_line is not None:
                on_line(line, proc, live)
        proc.wait(30)
    finally:
        watchdog.cancel()
        _interrupt(proc)
    return DemoRun("".join(lines), proc.returncode, live)


def _request(url: str, payload: dict[str, Any] | None = None) -> tuple[int, str]:
    data = None if payload is None else json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"} if data else {}
    request = urllib.request.Request(url, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def _check_home_assistant(line: str, _proc: subprocess.Popen[str], live: dict[str, Any]) -> None:
    """While the demo runs: the printed URL serves the frontend; the printed login works."""
    if found := re.search(r"Home Assistant: (http://\S+) +\(log in as (\S+) / (\S+)\)", line):
        url, username, password = found.groups()
        live["frontend"] = _request(url + "/")
        client = {"client_id": url + "/"}
        flow = json.loads(
            _request(
                url + "/auth/login_flow",
                {**client, "handler": ["homeassistant", None], "redirect_uri": url + "/"},
            )[1]
        )
        done = json.loads(
            _request(
                f"{url}/auth/login_flow/{flow['flow_id']}",
                {**client, "username": username, "password": password},
            )[1]
        )
        live["login"] = done["type"]
    elif found := re.search(r"the bed: +(http://\S+)", line):
        live["device_page"] = _request(found.group(1))[0]
    elif found := re.search(r"dashboard: +(http://\S+)", line):
        live["dashboard_page"] = _request(found.group(1))[0]


def _gone(pid: int) -> bool:
    return not Path(f"/proc/{pid}").exists()


@pytest.fixture(scope="module")
def kept_config(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoRun]:
    """The demo's first run (Mosquitto) in a configuration directory kept for a second run."""
    config = tmp_path_factory.mktemp("ha") / "config"
    # the checks while it runs connect to 127.0.0.1; sockets are off in every test's setup
    # (pytest-socket, through pytest-homeassistant-custom-component) and ``socket_enabled`` is
    # function-scoped; the next test's setup turns them off again
    pytest_socket.enable_socket()
    run = _run(
        ["--broker", "mosquitto", "--config", str(config), *SHORT, "--duration", "8"],
        _check_home_assistant,
    )
    return config, run


def test_demo_runs_home_assistant_with_the_release_zip(kept_config: tuple[Path, DemoRun]) -> None:
    config, run = kept_config
    out = run.out
    assert run.returncode == 0, out[-3000:]
    assert out.rstrip().endswith("[demo] stopped cleanly")
    assert "broker: mosquitto on 127.0.0.1:" in out
    manifest = json.loads((ROOT / "custom_components/sleep_myoclonus/manifest.json").read_text())
    assert f"Sleep Myoclonus {manifest['version']} installed from the release zip" in out
    assert "MQTT integration added" in out
    assert "bed 'Bedroom' discovered" in out  # MQTT discovery from the sensor's retained meta
    # where to look, and it answered while the demo ran
    assert all(entity in out for entity in MAIN_ENTITIES)
    assert "log in as demo / demo-password" in out
    assert "mosquitto_sub -h 127.0.0.1 -p" in out
    status, page = run.live["frontend"]
    assert status == 200
    assert "<html" in page.lower()
    assert run.live["login"] == "create_entry"
    assert run.live["device_page"] == 200
    assert run.live["dashboard_page"] == 200  # the shipped dashboard, registered as a panel
    assert "/sleep-bedroom (tonight live" in run.out
    # events as Home Assistant fired them on its bus, and entity states read from it
    assert re.search(r"HA event +\d\d:\d\d:\d\d Bedroom: got into bed", out)
    assert MOVEMENT.search(out)
    assert re.search(r"HA states: played [\d:]+ of 0:10 \| in bed on \| twitches \d+", out)
    # nothing left running
    pids = run.pids()
    assert len(pids) == 2  # Mosquitto, Home Assistant
    assert all(_gone(pid) for pid in pids)
    assert "Home Assistant stopped (exit code 0)" in out
    # the component Home Assistant ran is exactly the release zip's
    installed = config / "custom_components" / "sleep_myoclonus"
    files = {p.relative_to(installed).as_posix() for p in installed.rglob("*") if p.is_file()}
    assert files - {n for n in files if "__pycache__" in n} == set(release_files())
    log = (config / "home-assistant.log").read_text()
    assert not [line for line in log.splitlines() if "ERROR" in line and "sleep_myoclonus" in line]


def test_demo_reuses_its_configuration_with_the_embedded_broker(
    kept_config: tuple[Path, DemoRun],
) -> None:
    """Second run, same directory: logs in (no onboarding), re-points MQTT at the new broker; an
    other topic prefix is not discovered, so the bed is added by hand (the user flow)."""
    config, first = kept_config
    assert first.returncode == 0
    args = ["--broker", "embedded", "--config", str(config), "--prefix", "home/beds"]
    run = _run([*args, *SHORT, "--duration", "6"])
    out = run.out
    assert run.returncode == 0, out[-3000:]
    assert "broker: embedded on 127.0.0.1:" in out
    assert "MQTT integration kept, pointed at this broker" in out
    assert "bed 'Bedroom' added by hand" in out
    assert "-t 'home/beds/#'" in out
    assert MOVEMENT.search(out)
    assert "HA states: played" in out
    assert out.rstrip().endswith("[demo] stopped cleanly")
    assert all(_gone(pid) for pid in run.pids())


def test_ctrl_c_stops_sensor_home_assistant_and_broker() -> None:
    def interrupt_on_first_event(line: str, proc: subprocess.Popen[str], live: Any) -> None:
        if "HA event" in line and not live:
            live["interrupted"] = True
            proc.send_signal(signal.SIGINT)

    run = _run(["--broker", "mosquitto", "--minutes", "60"], interrupt_on_first_event)
    out = run.out
    assert run.live.get("interrupted"), out[-3000:]
    assert run.returncode == 0, out[-3000:]
    assert "[demo] stopping..." in out
    assert out.rstrip().endswith("[demo] stopped cleanly")
    pids = run.pids()
    assert len(pids) == 2
    assert all(_gone(pid) for pid in pids)
    # the temporary configuration directory is gone too
    found = re.search(r"configuration: +(\S+) \(deleted at exit", out)
    assert found is not None
    assert not Path(found.group(1)).exists()


def test_without_home_assistant_a_receiver_shows_frames_and_events() -> None:
    run = _run(["--no-ha", "--broker", "embedded", *SHORT[:4], "--speed", "300", "--duration", "5"])
    out = run.out
    assert run.returncode == 0, out[-3000:]
    assert "broker: embedded on 127.0.0.1:" in out
    rates = [float(m) for m in re.findall(r"bedroom: +([\d.]+) frames/s", out)]
    assert rates
    assert max(rates) > 50  # x300 speed at 2 frames/s
    assert "got into bed" in out
    assert re.search(r"(twitch|limb_movement|gross_movement|hypnic_jerk) +[\d.]+ s", out)
    assert "bad payloads" in out
    assert out.rstrip().endswith("[demo] stopped cleanly")


def test_home_assistant_imports_the_component_from_its_configuration(tmp_path: Path) -> None:
    """The repository is on the virtualenv's path (and the tests'); hass runs without it, so
    ``custom_components.sleep_myoclonus`` is the unpacked zip, not the repository's copy."""
    config, elsewhere = tmp_path / "config", tmp_path / "cwd"
    elsewhere.mkdir()
    install_release(config)
    # what Home Assistant's loader does: mount the configuration directory, import, unmount
    probe = (
        "sys.path.insert(0, sys.argv[1])\n"
        "import custom_components\n"
        "sys.path.remove(sys.argv[1])\n"
        "import custom_components.sleep_myoclonus.config_flow as flow\n"
        "print(flow.__file__)\n"
    )
    found = {}
    for hide in (True, False):
        unmeasured = {k: v for k, v in _env().items() if not k.startswith("COV_CORE_")}
        env = child_env() if hide else {**unmeasured, "SLEEP_MYOCLONUS_HIDE": "/nonexistent"}
        result = subprocess.run(
            [sys.executable, "-c", HIDE_REPO + probe, str(config)],
            capture_output=True,
            text=True,
            env=env,
            cwd=elsewhere,
            check=True,
        )
        found[hide] = Path(result.stdout.strip())
    assert found[True].is_relative_to(config)
    assert found[False].is_relative_to(ROOT / "custom_components")  # what hiding prevents


def test_the_demo_starts_a_minute_before_the_sleeper_gets_into_bed() -> None:
    night = generate("full_night", seed=7, minutes=40)
    assert night.truth is not None
    entry = min(i["onset"] for i in night.truth["in_bed"])
    assert entry > 2 * LEAD_IN_S  # an empty bed worth skipping
    played = _lead_in(night)
    skipped = len(night.samples) - len(played.samples)
    assert skipped / night.fs == pytest.approx(entry - LEAD_IN_S, abs=1 / night.fs)
    assert (played.samples == night.samples[skipped:]).all()
    assert played.start == pytest.approx(night.start + skipped / night.fs)
