"""Score a detector over a directory of recordings with ground truth.

Every ``*.npz`` with a ``*.truth.json`` beside it is analysed; per class the true and false
positives and misses are summed over all files (see :mod:`detector.scoring` for the matching
rules), plus twitch recall by amplitude band, the PLM index's absolute error per file and the
in-bed intersection over union per file.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .analyze import AnalysisResult, analyze
from .config import DetectorConfig
from .recording import Recording, RecordingError, load_recording
from .scoring import AMPLITUDE_BANDS, TOLERANCE_S, ClassScore, interval_iou, match_onsets

__all__ = ["Evaluation", "FileScore", "engine_analyzer", "evaluate_directory", "score_recording"]

Analyzer = Callable[[Recording], AnalysisResult]


@dataclass(frozen=True, slots=True)
class FileScore:
    """Scores of one recording."""

    name: str
    classes: dict[str, ClassScore]
    twitch_bands: list[tuple[int, int]]  # (found, total) per amplitude band
    plm_index_error: float
    in_bed_iou: float


@dataclass(slots=True)
class Evaluation:
    """Scores summed over a set of recordings."""

    files: list[FileScore] = field(default_factory=list)

    def total(self, kind: str) -> ClassScore:
        """Return the summed counts of one class."""
        score = ClassScore(0, 0, 0)
        for f in self.files:
            score = score + f.classes[kind]
        return score

    def band_recall(self) -> list[tuple[tuple[float, float], float, int]]:
        """Twitch recall per amplitude band: ``(band, recall, truth count)``."""
        out = []
        for b, band in enumerate(AMPLITUDE_BANDS):
            found = sum(f.twitch_bands[b][0] for f in self.files)
            total = sum(f.twitch_bands[b][1] for f in self.files)
            out.append((band, found / total if total else 1.0, total))
        return out

    def as_json(self) -> dict[str, Any]:
        """Return the summary as one JSON-ready object."""
        plm_errors = [f.plm_index_error for f in self.files]
        ious = [f.in_bed_iou for f in self.files]
        return {
            "files": len(self.files),
            "classes": {kind: self.total(kind).as_json() for kind in TOLERANCE_S},
            "twitch_recall_by_amplitude": {
                f"{lo:g}-{hi:g}x": {"recall": round(r, 4), "n": n}
                for (lo, hi), r, n in self.band_recall()
            },
            "plm_index_abs_error": {
                "mean": round(float(np.mean(plm_errors)), 3) if plm_errors else 0.0,
                "max": round(float(np.max(plm_errors)), 3) if plm_errors else 0.0,
            },
            "in_bed_iou": {
                "mean": round(float(np.mean(ious)), 4) if ious else 1.0,
                "min": round(float(np.min(ious)), 4) if ious else 1.0,
            },
        }


def score_recording(name: str, truth: dict[str, Any], result: AnalysisResult) -> FileScore:
    """Score one analysis against its ground truth (the recording contract's truth JSON)."""
    classes: dict[str, ClassScore] = {}
    bands = [(0, 0)] * len(AMPLITUDE_BANDS)
    detected = [e.as_json() for e in result.events]
    for kind, tolerance in TOLERANCE_S.items():
        t_events = [e for e in truth.get("events", []) if e["type"] == kind]
        d_events = [e for e in detected if e["type"] == kind]
        pairs = match_onsets(
            [e["onset"] for e in t_events], [e["onset"] for e in d_events], tolerance
        )
        classes[kind] = ClassScore(
            len(pairs), len(d_events) - len(pairs), len(t_events) - len(pairs)
        )
        if kind == "twitch":
            matched = {i for i, _ in pairs}
            for b, (lo, hi) in enumerate(AMPLITUDE_BANDS):
                in_band = [
                    i
                    for i, e in enumerate(t_events)
                    if lo <= e["amplitude"] < hi
                    or (b == len(AMPLITUDE_BANDS) - 1 and e["amplitude"] >= hi)
                ]
                bands[b] = (sum(i in matched for i in in_band), len(in_band))
    truth_plm = float(truth.get("summary", {}).get("plm_index", 0.0))
    iou = interval_iou(
        [(i["onset"], i["end"]) for i in truth.get("in_bed", [])],
        [(i.onset_s, i.end_s) for i in result.in_bed],
    )
    return FileScore(name, classes, bands, abs(result.summary.plm_index - truth_plm), iou)


def engine_analyzer(config: DetectorConfig | None = None) -> Analyzer:
    """Return the detector engine as an analyzer for :func:`evaluate_directory`."""

    def run(rec: Recording) -> AnalysisResult:
        return analyze(rec.samples, rec.fs, rec.channels, config)

    return run


def evaluate_directory(
    directory: Path,
    analyzers: Mapping[str, Analyzer],
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Evaluation]:
    """Score every analyzer on every recording with ground truth in ``directory``.

    Each recording is read once and handed to every analyzer in turn.

    Returns
    -------
    dict
        One :class:`Evaluation` per analyzer name.

    Raises
    ------
    RecordingError
        If the directory holds no recording with ground truth, or a file is unreadable.
    """
    paths = sorted(
        p for p in Path(directory).glob("*.npz") if p.with_suffix(".truth.json").exists()
    )
    if not paths:
        raise RecordingError(f"{directory}: no *.npz recordings with *.truth.json ground truth")
    evaluations = {name: Evaluation() for name in analyzers}
    for i, path in enumerate(paths):
        if progress is not None:
            progress(path.name, i, len(paths))
        recording = load_recording(path)
        assert recording.truth is not None
        for name, run in analyzers.items():
            evaluations[name].files.append(
                score_recording(path.stem, recording.truth, run(recording))
            )
    return evaluations
