"""Robustness: gain and sample rate do not change what is found; noise alone finds nothing."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from detector.analyze import AnalysisResult, analyze
from detector.recording import Recording
from detector.scoring import TOLERANCE_S, match_onsets
from hardware.virtual_sensor.scenarios import preset
from hardware.virtual_sensor.synth import generate

SCENARIO = "myoclonus_clusters"
MINUTES = 20


def _run(**changes: object) -> tuple[Recording, AnalysisResult]:
    scenario = dataclasses.replace(preset(SCENARIO), **changes)  # type: ignore[arg-type]
    rec = generate(scenario, seed=21, minutes=MINUTES)
    return rec, analyze(rec.samples, rec.fs, rec.channels)


def _agreement(a: AnalysisResult, b: AnalysisResult) -> float:
    """Fraction of events of either result that the other has (same class, within tolerance)."""
    matched = total = 0
    for kind, tol in TOLERANCE_S.items():
        x = [e.onset_s for e in a.events if e.type.value == kind]
        y = [e.onset_s for e in b.events if e.type.value == kind]
        matched += 2 * len(match_onsets(x, y, tol))
        total += len(x) + len(y)
    return matched / total if total else 1.0


@pytest.fixture(scope="module")
def nominal() -> tuple[Recording, AnalysisResult]:
    return _run()


def test_nominal_finds_the_twitches(nominal: tuple[Recording, AnalysisResult]) -> None:
    rec, result = nominal
    assert rec.truth is not None
    truth = [e["onset"] for e in rec.truth["events"] if e["type"] == "twitch"]
    found = [e.onset_s for e in result.events if e.type.value == "twitch"]
    assert len(truth) >= 10
    assert len(match_onsets(truth, found, 0.25)) >= 0.7 * len(truth)


@pytest.mark.parametrize("factor", [0.1, 0.5, 4.0, 8.0])
def test_gain_does_not_change_the_events(
    nominal: tuple[Recording, AnalysisResult], factor: float
) -> None:
    _, result = nominal
    gain = preset(SCENARIO).gain_counts_per_unit * factor
    _, scaled = _run(gain_counts_per_unit=gain)
    assert _agreement(result, scaled) >= 0.85
    assert scaled.in_bed
    assert abs(scaled.summary.time_in_bed_s - result.summary.time_in_bed_s) <= 10.0


@pytest.mark.parametrize("fs_hz", [100.0, 200.0, 500.0])
def test_sample_rate_does_not_change_the_events(
    nominal: tuple[Recording, AnalysisResult], fs_hz: float
) -> None:
    _, result = nominal
    _, other = _run(fs_hz=fs_hz)
    # Another rate also draws other noise, so small twitches near the threshold may differ.
    assert _agreement(result, other) >= 0.75


def test_flat_input_finds_nothing() -> None:
    for fs in (100.0, 250.0, 500.0):
        for level in (0, 1234, -32768):
            result = analyze(np.full((int(fs * 300), 2), level, np.int16), fs, ("torso", "legs"))
            assert result.events == []
            assert result.in_bed == []


@pytest.mark.parametrize("hum_hz", [None, 50.0, 60.0])
def test_empty_bed_with_hum_and_noise_finds_nothing(hum_hz: float | None) -> None:
    scenario = dataclasses.replace(
        preset("empty_bed"), hum_hz=hum_hz, pink_noise_units=preset("noisy").pink_noise_units
    )
    rec = generate(scenario, seed=4, minutes=10)
    result = analyze(rec.samples, rec.fs, rec.channels)
    assert result.events == []
    assert result.in_bed == []


def test_white_noise_at_any_level_finds_nothing() -> None:
    rng = np.random.default_rng(0)
    for sigma in (3.0, 300.0, 8000.0):
        noise = np.clip(rng.normal(0, sigma, (250 * 300, 2)), -32768, 32767).astype(np.int16)
        result = analyze(noise, 250.0, ("torso", "legs"))
        assert result.events == []
