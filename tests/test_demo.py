"""The README's demo runs end to end: broker, virtual sensor, receiver; Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
DEMO = [sys.executable, str(ROOT / "scripts" / "demo.py")]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}


@pytest.mark.parametrize("broker", ["embedded", "mosquitto"])
def test_demo_shows_frames_and_events_then_stops(broker: str) -> None:
    result = subprocess.run(
        [
            *DEMO,
            "--broker",
            broker,
            "--scenario",
            "hypnic_onset",
            "--minutes",
            "10",
            "--speed",
            "300",
            "--duration",
            "6",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        check=False,
    )
    out = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"broker: {broker} on 127.0.0.1:" in out
    rates = [float(m) for m in re.findall(r"bedroom: +([\d.]+) frames/s", out)]
    assert rates
    assert max(rates) > 50  # x300 speed at 2 frames/s
    assert "got into bed" in out
    assert re.search(r"(twitch|limb_movement|gross_movement|hypnic_jerk) +[\d.]+ s", out)
    assert "bad payloads" in out
    assert out.rstrip().endswith("[demo] stopped cleanly")


def test_ctrl_c_stops_cleanly() -> None:
    proc = subprocess.Popen(
        [*DEMO, "--broker", "mosquitto", "--minutes", "60", "--speed", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        seen = ""
        while time.monotonic() < deadline and "frames/s" not in seen:
            seen += proc.stdout.readline()
        assert "frames/s" in seen
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "stopped cleanly" in rest
    # the broker the demo started is gone
    pid = re.search(r"\(pid (\d+)\)", seen)
    assert pid is not None
    assert not Path(f"/proc/{pid.group(1)}").exists()


def test_the_demo_starts_a_minute_before_the_sleeper_gets_into_bed() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from demo import LEAD_IN_S, _lead_in  # noqa: PLC0415 - a script, not a package
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    from hardware.virtual_sensor.synth import generate  # noqa: PLC0415

    night = generate("full_night", seed=7, minutes=40)
    assert night.truth is not None
    entry = min(i["onset"] for i in night.truth["in_bed"])
    assert entry > 2 * LEAD_IN_S  # an empty bed worth skipping
    played = _lead_in(night)
    skipped = len(night.samples) - len(played.samples)
    assert skipped / night.fs == pytest.approx(entry - LEAD_IN_S, abs=1 / night.fs)
    assert (played.samples == night.samples[skipped:]).all()
    assert played.start == pytest.approx(night.start + skipped / night.fs)
