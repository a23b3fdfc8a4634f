"""The fixed evaluation set covers every scenario and the variants the accuracy report promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hardware.virtual_sensor import evalset
from hardware.virtual_sensor.scenarios import PRESETS


def test_the_set_covers_every_scenario_and_variant() -> None:
    entries = evalset.EVALUATION_SET
    assert len(entries) >= 20
    assert len({stem for stem, *_ in entries}) == len(entries)
    assert {scenario.name for _, scenario, _, _ in entries} == set(PRESETS)
    rates = {scenario.fs_hz for _, scenario, _, _ in entries}
    assert {100.0, 250.0, 500.0} <= rates
    gains = {scenario.gain_counts_per_unit for _, scenario, _, _ in entries}
    assert min(gains) <= 0.1 * 120
    assert max(gains) >= 8 * 120
    assert any(s.channels == 1 for _, s, _, _ in entries)
    assert any(s.hum_hz == 50 for _, s, _, _ in entries)
    assert any(s.hum_hz == 60 for _, s, _, _ in entries)
    assert any(
        s.name == "full_night" and s.duration_s >= 8 * 3600 and m is None for _, s, _, m in entries
    )


def test_writing_is_deterministic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    small = tuple(
        (stem, sc, seed, 6.0)
        for stem, sc, seed, _ in evalset.EVALUATION_SET
        if stem in ("healthy_a", "noisy_hum60_fs100")
    )
    monkeypatch.setattr(evalset, "EVALUATION_SET", small)
    first = evalset.write_evaluation_set(tmp_path / "a")
    second = evalset.write_evaluation_set(tmp_path / "b")
    assert [p.name for p in first] == ["healthy_a.npz", "noisy_hum60_fs100.npz"]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes()
        truth = json.loads(a.with_suffix(".truth.json").read_text())
        assert truth["in_bed"]
