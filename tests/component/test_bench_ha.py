"""The Home Assistant benchmark (scripts/bench_ha.py) runs and reports what it promises.

No timing is asserted: the figures depend on the machine. Two minutes of a night are enough to
check the result's shape, that every frame was timed and that nothing was lost on the way.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "bench_ha.py"
TIMINGS = ("on_raw_us", "detector_raw_us", "stream_step_us", "tick_us")
STATS = {"p50", "p90", "p99", "p999", "mean", "max"}


sys.path.insert(0, str(SCRIPT.parent))
try:
    import bench_ha  # a script, not a package
finally:
    sys.path.remove(str(SCRIPT.parent))


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations() -> None:
    """No test Home Assistant here: the benchmark starts its own core."""
    return


@pytest.mark.usefixtures("socket_enabled")
def test_two_minutes_of_a_night_are_timed_frame_by_frame() -> None:
    lines: list[str] = []
    result = bench_ha.run_bench(2.0, progress=lines.append)
    json.dumps(result)  # the command prints it as JSON
    assert result["frames"] == 120
    assert result["frames_accepted"] == 120
    assert result["broker"] in ("mosquitto", "embedded")
    for key in TIMINGS:
        stats = result[key]
        assert set(stats) == STATS, key
        assert 0 < stats["p50"] <= stats["p99"] <= stats["max"], key
    assert result["ratio_p99"] > 0
    assert isinstance(result["meets_target"], bool)
    assert result["target_p99_us"] == 500.0
    assert result["entities"] >= 12
    assert result["events_match_detector"]
    assert not result["reloaded"]
    assert 0 <= result["state_changed_in_callback"] <= result["state_changed"]
    assert result["state_changed_per_frame"] == pytest.approx(
        result["state_changed_in_callback"] / 120, abs=1e-4
    )
    assert any("Home Assistant" in line for line in lines)


def test_the_command_line_refuses_a_night_of_no_minutes() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--minutes", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--minutes must be positive" in done.stderr
    assert done.stdout == ""
