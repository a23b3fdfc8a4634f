"""Scoring detected events against ground truth: per-class matching with onset tolerances.

Events are matched one-to-one within a class when their onsets differ by at most the class's
tolerance (twitch 0.25 s, hypnic jerk 0.5 s, limb movement 1 s, gross movement 3 s), closest pairs
first. Bed intervals are scored by intersection over union; the PLM index by absolute error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "AMPLITUDE_BANDS",
    "TOLERANCE_S",
    "ClassScore",
    "interval_iou",
    "match_onsets",
]

TOLERANCE_S: Mapping[str, float] = {
    "twitch": 0.25,
    "hypnic_jerk": 0.5,
    "limb_movement": 1.0,
    "gross_movement": 3.0,
}
#: Twitch amplitude bands (times the heartbeat amplitude) for recall by band.
AMPLITUDE_BANDS: tuple[tuple[float, float], ...] = ((1.0, 3.0), (3.0, 10.0), (10.0, 20.0))


@dataclass(frozen=True, slots=True)
class ClassScore:
    """Counts for one class; precision, recall and F1 derive from them."""

    tp: int
    fp: int
    fn: int

    def __add__(self, other: ClassScore) -> ClassScore:
        return ClassScore(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

    @property
    def precision(self) -> float:
        """TP / (TP + FP); 1 when nothing was detected."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """TP / (TP + FN); 1 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """Harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_json(self) -> dict[str, Any]:
        """Return counts and rounded ratios."""
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def match_onsets(
    truth: Sequence[float], detected: Sequence[float], tolerance_s: float
) -> list[tuple[int, int]]:
    """Pair truth and detected onsets one-to-one within ``tolerance_s``, closest pairs first.

    Returns
    -------
    list of (int, int)
        ``(truth index, detected index)`` pairs.

    Examples
    --------
    >>> match_onsets([1.0, 5.0], [1.2, 4.0, 5.1], 0.25)
    [(1, 2), (0, 0)]
    """
    t = np.asarray(truth, np.float64)
    d = np.asarray(detected, np.float64)
    if not len(t) or not len(d):
        return []
    order_d = np.argsort(d, kind="stable")
    ds = d[order_d]
    candidates: list[tuple[float, int, int]] = []
    for i, onset in enumerate(t):
        lo = int(np.searchsorted(ds, onset - tolerance_s, side="left"))
        hi = int(np.searchsorted(ds, onset + tolerance_s, side="right"))
        candidates += [(abs(float(ds[j]) - onset), i, int(order_d[j])) for j in range(lo, hi)]
    candidates.sort()
    used_t: set[int] = set()
    used_d: set[int] = set()
    pairs = []
    for _, i, j in candidates:
        if i not in used_t and j not in used_d:
            used_t.add(i)
            used_d.add(j)
            pairs.append((i, j))
    return pairs


def interval_iou(
    truth: Sequence[tuple[float, float]], detected: Sequence[tuple[float, float]]
) -> float:
    """Intersection over union of two sets of intervals (1 when both are empty).

    Examples
    --------
    >>> interval_iou([(0, 10)], [(1, 10)])
    0.9
    """

    def total(intervals: Sequence[tuple[float, float]]) -> float:
        return sum(max(0.0, b - a) for a, b in _union(intervals))

    inter = 0.0
    for a0, a1 in _union(truth):
        for b0, b1 in _union(detected):
            inter += max(0.0, min(a1, b1) - max(a0, b0))
    union = total(truth) + total(detected) - inter
    return inter / union if union > 0 else 1.0


def _union(intervals: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in sorted((float(a), float(b)) for a, b in intervals):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged
