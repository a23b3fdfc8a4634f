"""The detector's command line, run as a user would: a subprocess of the project's Python."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from detector.recording import save_recording
from hardware.virtual_sensor.synth import generate

ROOT = Path(__file__).parents[2]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "detector", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    path = save_recording(generate("hypnic_onset", seed=8, minutes=8), folder / "night.npz")
    save_recording(generate("myoclonus_clusters", seed=9, minutes=5), folder / "clusters.npz")
    return path


def test_analyze_json_follows_the_schema(recording: Path) -> None:
    result = run("analyze", str(recording), "--json")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert set(doc) == {"events", "plm_series", "in_bed", "summary"}
    assert doc["events"]
    for event in doc["events"]:
        assert set(event) == {"type", "onset", "duration", "channel", "amplitude"}
        assert event["type"] in {"twitch", "hypnic_jerk", "limb_movement", "gross_movement"}
        assert event["channel"] in {"torso", "legs"}
        assert 0 <= event["onset"] <= 8 * 60
        assert event["duration"] > 0
    assert all(set(s) == {"onset", "end", "count"} for s in doc["plm_series"])
    assert all(set(i) == {"onset", "end"} for i in doc["in_bed"])
    summary = doc["summary"]
    for key in (
        "twitch_count",
        "twitches_per_hour",
        "plm_index",
        "hypnic_jerk_count",
        "gross_movement_count",
        "time_in_bed_s",
    ):
        assert key in summary
    assert summary["twitch_count"] == sum(e["type"] == "twitch" for e in doc["events"])
    assert summary["time_in_bed_s"] == pytest.approx(
        sum(i["end"] - i["onset"] for i in doc["in_bed"]), abs=0.01
    )


def test_analyze_report_is_readable(recording: Path) -> None:
    result = run("analyze", str(recording), "--rules", "aasm")
    assert result.returncode == 0, result.stderr
    assert "Night report: night.npz" in result.stdout
    assert "PLM index" in result.stdout


def test_edf_input_gives_the_same_events(recording: Path, tmp_path: Path) -> None:
    import edfio  # noqa: PLC0415 - optional at runtime, a pinned dev dependency here

    data = np.load(recording)
    signals = [
        edfio.EdfSignal(
            data["samples"][:, i].astype(np.float64),
            sampling_frequency=float(data["fs"]),
            label=str(name),
            physical_range=(-32768, 32767),
            digital_range=(-32768, 32767),
        )
        for i, name in enumerate(data["channels"])
    ]
    edf_path = tmp_path / "night.edf"
    edfio.Edf(signals).write(edf_path)
    from_edf = json.loads(run("analyze", str(edf_path), "--json").stdout)
    from_npz = json.loads(run("analyze", str(recording), "--json").stdout)
    assert from_edf["events"] == from_npz["events"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (None, "no such file"),
        (b"not an archive at all", "not a readable recording"),
        (b"PK\x03\x04 broken zip", "not a readable recording"),
    ],
)
def test_bad_files_fail_with_one_line(tmp_path: Path, content: bytes | None, reason: str) -> None:
    path = tmp_path / "bad.npz"
    if content is not None:
        path.write_bytes(content)
    result = run("analyze", str(path), "--json")
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert reason in lines[0]


def test_contract_violations_fail_with_one_line(tmp_path: Path) -> None:
    path = tmp_path / "floats.npz"
    np.savez(path, samples=np.zeros((100, 1)), fs=250.0, start=0.0, channels=np.array(["torso"]))
    result = run("analyze", str(path))
    assert result.returncode == 1
    assert "int16" in result.stderr
    missing = tmp_path / "missing.npz"
    np.savez(missing, samples=np.zeros((100, 1), np.int16))
    result = run("analyze", str(missing))
    assert result.returncode == 1
    assert "missing keys" in result.stderr


def test_usage_errors_exit_2() -> None:
    assert run("analyze").returncode == 2
    assert run("nonsense").returncode == 2


def test_evaluate_reports_engine_and_baseline(recording: Path) -> None:
    result = run("evaluate", str(recording.parent))
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    assert doc["engine"]["files"] == 2
    assert set(doc["engine"]["classes"]) == {
        "twitch",
        "hypnic_jerk",
        "limb_movement",
        "gross_movement",
    }
    assert "baseline" in doc
    assert "twitch recall by amplitude" in result.stdout
    assert doc["engine"]["classes"]["twitch"]["f1"] > doc["baseline"]["classes"]["twitch"]["f1"]


def test_evaluate_refuses_a_directory_without_truth(tmp_path: Path) -> None:
    result = run("evaluate", str(tmp_path))
    assert result.returncode == 1
    assert "no *.npz recordings" in result.stderr


def test_bench_last_line_is_the_json_summary() -> None:
    result = run("bench", "--hours", "0.25")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout.strip().splitlines()[-1])
    for key in ("night_ratio", "frame_p50_us", "frame_p99_us", "state_bytes", "peak_mb"):
        assert doc[key] > 0
