"""The fixed evaluation set: every scenario, sample-rate and gain variants, and one 8-hour night.

``python -m hardware.virtual_sensor evalset DIR`` writes it; the same command always writes the same
bytes (fixed seeds), so the accuracy figures in the README can be reproduced with
``python -m detector evaluate DIR``. The set is deliberately varied rather than large: 24
recordings, about 14 hours of data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from detector.recording import save_recording

from .scenarios import Scenario, preset
from .synth import generate

__all__ = ["EVALUATION_SET", "write_evaluation_set"]


def _variant(name: str, **changes: object) -> Scenario:
    return dataclasses.replace(preset(name), **changes)  # type: ignore[arg-type]


#: (file stem, scenario, seed, minutes or None for the preset's length)
EVALUATION_SET: tuple[tuple[str, Scenario, int, float | None], ...] = (
    ("healthy_a", preset("healthy"), 101, None),
    ("healthy_b", preset("healthy"), 102, None),
    ("plmd_a", preset("plmd"), 201, None),
    ("plmd_b", preset("plmd"), 202, None),
    ("plmd_fs200", _variant("plmd", fs_hz=200.0), 203, None),
    ("rls_evening_a", preset("rls_evening"), 301, None),
    ("rls_evening_b", preset("rls_evening"), 302, None),
    ("hypnic_onset_a", preset("hypnic_onset"), 401, None),
    ("hypnic_onset_b", preset("hypnic_onset"), 402, None),
    ("myoclonus_a", preset("myoclonus_clusters"), 501, None),
    ("myoclonus_b", preset("myoclonus_clusters"), 502, None),
    ("noisy_hum50", preset("noisy"), 601, None),
    ("noisy_hum60", _variant("noisy", hum_hz=60), 602, None),
    ("noisy_hum60_fs100", _variant("noisy", hum_hz=60, fs_hz=100.0), 603, None),
    ("partner_a", preset("partner"), 701, None),
    ("partner_b", preset("partner"), 702, None),
    ("empty_bed", preset("empty_bed"), 801, None),
    ("fs100_healthy", _variant("healthy", fs_hz=100.0), 901, 30.0),
    ("fs500_myoclonus", _variant("myoclonus_clusters", fs_hz=500.0), 902, 30.0),
    ("gain_low_x0.1", _variant("healthy", gain_counts_per_unit=12.0), 903, 30.0),
    ("gain_high_x8", _variant("myoclonus_clusters", gain_counts_per_unit=960.0), 904, 30.0),
    ("one_channel", _variant("myoclonus_clusters", channels=1), 905, 30.0),
    (
        "adc12_clipping",
        _variant("hypnic_onset", adc_bits=12, gain_counts_per_unit=400.0),
        906,
        None,
    ),
    ("full_night", preset("full_night"), 1001, None),
)


def write_evaluation_set(
    out_dir: Path, progress: Callable[[str], None] | None = None
) -> list[Path]:
    """Write every recording of :data:`EVALUATION_SET` (NPZ + truth JSON) into ``out_dir``.

    Returns
    -------
    list of pathlib.Path
        The NPZ files written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (stem, scenario, seed, minutes) in enumerate(EVALUATION_SET):
        if progress is not None:
            progress(f"[{i + 1}/{len(EVALUATION_SET)}] {stem}")
        recording = generate(scenario, seed=seed, minutes=minutes)
        written.append(save_recording(recording, out_dir / f"{stem}.npz"))
    return written
