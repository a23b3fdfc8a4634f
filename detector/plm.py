"""Periodic limb movement (PLM) series rules.

A *limb movement* (LM) lasts ``min_lm_s`` to ``max_lm_s`` (WASM/IRLSSG 2016: 0.5-10 s). A *PLM
series* is a run of at least ``min_count`` consecutive LMs whose onset-to-onset intervals all lie
within ``[min_interval_s, max_interval_s]`` (WASM: 10-90 s; AASM: 5-90 s). The series is broken by

* an interval outside that window, and
* an over-long movement (longer than ``max_lm_s``, e.g. a gross body movement) that starts between
  two LMs.

Movements shorter than ``min_lm_s`` (twitches) are not LMs: they neither count nor break a series.

All times are in seconds on a common axis (e.g. from the start of a recording). The rules are
configuration, not constants: :meth:`PlmRules.wasm` is the default, :meth:`PlmRules.aasm` the
alternative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["PlmRules", "PlmSeries", "find_plm_series", "plm_member_mask"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PlmRules:
    """Timing rules for limb movements and PLM series.

    Parameters
    ----------
    min_lm_s : float
        Shortest movement that counts as a limb movement, in seconds.
    max_lm_s : float
        Longest movement that counts as a limb movement, in seconds. Longer movements break a
        series.
    min_interval_s : float
        Shortest onset-to-onset interval inside a series, in seconds (inclusive).
    max_interval_s : float
        Longest onset-to-onset interval inside a series, in seconds (inclusive).
    min_count : int
        Fewest LMs that make a series.

    Raises
    ------
    ValueError
        If a value is not finite, negative, or the bounds are inverted.
    """

    min_lm_s: float = 0.5
    max_lm_s: float = 10.0
    min_interval_s: float = 10.0
    max_interval_s: float = 90.0
    min_count: int = 4

    def __post_init__(self) -> None:
        values = (self.min_lm_s, self.max_lm_s, self.min_interval_s, self.max_interval_s)
        if not all(math.isfinite(v) for v in values):
            raise ValueError(f"PLM rule durations must be finite, got {values}")
        if not 0.0 < self.min_lm_s <= self.max_lm_s:
            raise ValueError(
                f"need 0 < min_lm_s <= max_lm_s, got {self.min_lm_s} and {self.max_lm_s}"
            )
        if not 0.0 <= self.min_interval_s <= self.max_interval_s:
            raise ValueError(
                "need 0 <= min_interval_s <= max_interval_s, got "
                f"{self.min_interval_s} and {self.max_interval_s}"
            )
        if isinstance(self.min_count, bool) or not isinstance(self.min_count, int):
            raise ValueError(f"min_count must be an int, got {self.min_count!r}")
        if self.min_count < 2:
            raise ValueError(f"min_count must be at least 2, got {self.min_count}")

    @classmethod
    def wasm(cls) -> PlmRules:
        """Return the WASM/IRLSSG 2016 rules (intervals 10-90 s); the default.

        Returns
        -------
        PlmRules
            LM 0.5-10 s, intervals 10-90 s, at least 4 LMs.
        """
        return cls()

    @classmethod
    def aasm(cls) -> PlmRules:
        """Return the AASM rules (intervals 5-90 s).

        Returns
        -------
        PlmRules
            LM 0.5-10 s, intervals 5-90 s, at least 4 LMs.
        """
        return cls(min_interval_s=5.0)


@dataclass(frozen=True, slots=True)
class PlmSeries:
    """One PLM series.

    Attributes
    ----------
    onset : float
        Onset of the first LM, in seconds.
    end : float
        End (onset + duration) of the last LM, in seconds.
    count : int
        Number of LMs in the series.
    """

    onset: float
    end: float
    count: int

    @property
    def duration_s(self) -> float:
        """Length of the series from first onset to last end, in seconds."""
        return self.end - self.onset


def _as_movements(
    onsets_s: Sequence[float] | npt.ArrayLike, durations_s: Sequence[float] | npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    onsets = np.asarray(onsets_s, dtype=np.float64).reshape(-1)
    durations = np.asarray(durations_s, dtype=np.float64).reshape(-1)
    if onsets.shape != durations.shape:
        raise ValueError(f"{onsets.size} onsets but {durations.size} durations")
    if not (np.all(np.isfinite(onsets)) and np.all(np.isfinite(durations))):
        raise ValueError("onsets and durations must be finite")
    if np.any(durations < 0.0):
        raise ValueError("durations must not be negative")
    return onsets, durations


def _series_runs(
    onsets: FloatArray, durations: FloatArray, rules: PlmRules
) -> tuple[npt.NDArray[np.intp], list[tuple[int, int]]]:
    """Return the LM indices in onset order and each series' ``[start, stop)`` run into them."""
    is_lm = (durations >= rules.min_lm_s) & (durations <= rules.max_lm_s)
    lm_index = np.flatnonzero(is_lm)
    lm_index = lm_index[np.argsort(onsets[lm_index], kind="stable")]
    if lm_index.size < rules.min_count:
        return lm_index, []
    lm_onsets = onsets[lm_index]
    breakers = np.sort(onsets[durations > rules.max_lm_s])
    intervals = np.diff(lm_onsets)
    # A breaker starting in [onset_i, onset_i+1) sits between LM i and LM i+1.
    n_breakers = np.searchsorted(breakers, lm_onsets[1:], side="left") - np.searchsorted(
        breakers, lm_onsets[:-1], side="left"
    )
    linked = (
        (intervals >= rules.min_interval_s)
        & (intervals <= rules.max_interval_s)
        & (n_breakers == 0)
    )
    # Runs of consecutive links: a run of k links joins k + 1 LMs.
    padded = np.concatenate(([False], linked, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    runs = [
        (int(a), int(b) + 1)
        for a, b in zip(starts, stops, strict=True)
        if b + 1 - a >= rules.min_count
    ]
    return lm_index, runs


def find_plm_series(
    onsets_s: Sequence[float] | npt.ArrayLike,
    durations_s: Sequence[float] | npt.ArrayLike,
    rules: PlmRules | None = None,
) -> list[PlmSeries]:
    """Find the PLM series among a set of movements.

    Pass *all* movements (twitches, limb movements and gross movements): the rules decide which are
    LMs (``min_lm_s <= duration <= max_lm_s``), which are ignored (shorter) and which break a series
    (longer).

    Parameters
    ----------
    onsets_s : array_like of float
        Movement onsets in seconds, in any order.
    durations_s : array_like of float
        Movement durations in seconds, matching ``onsets_s``.
    rules : PlmRules, optional
        Timing rules; :meth:`PlmRules.wasm` when omitted.

    Returns
    -------
    list of PlmSeries
        Series in onset order.

    Raises
    ------
    ValueError
        If the arrays differ in length, hold non-finite values or negative durations.

    Notes
    -----
    LMs are ordered by onset and consecutive LMs are *linked* when their onset-to-onset interval
    lies within ``[min_interval_s, max_interval_s]`` and no over-long movement starts in
    ``[onset_a, onset_b)``. A series is a maximal run of linked LMs with at least ``min_count``
    members. An over-long movement starting at the same instant as an LM therefore breaks the link
    *after* that LM.

    Examples
    --------
    >>> find_plm_series([0, 20, 40, 60], [1, 1, 1, 1])
    [PlmSeries(onset=0.0, end=61.0, count=4)]
    >>> find_plm_series([0, 20, 30, 40, 60], [1, 1, 15, 1, 1])
    []
    """
    rules = PlmRules.wasm() if rules is None else rules
    onsets, durations = _as_movements(onsets_s, durations_s)
    lm_index, runs = _series_runs(onsets, durations, rules)
    series = []
    for start, stop in runs:
        first, last = lm_index[start], lm_index[stop - 1]
        series.append(
            PlmSeries(
                onset=float(onsets[first]),
                end=float(onsets[last] + durations[last]),
                count=stop - start,
            )
        )
    return series


def plm_member_mask(
    onsets_s: Sequence[float] | npt.ArrayLike,
    durations_s: Sequence[float] | npt.ArrayLike,
    rules: PlmRules | None = None,
) -> npt.NDArray[np.bool_]:
    """Mark the movements that belong to a PLM series.

    Parameters
    ----------
    onsets_s : array_like of float
        Movement onsets in seconds, in any order.
    durations_s : array_like of float
        Movement durations in seconds, matching ``onsets_s``.
    rules : PlmRules, optional
        Timing rules; :meth:`PlmRules.wasm` when omitted.

    Returns
    -------
    numpy.ndarray of bool
        ``True`` for each input movement (in input order) that is an LM of some PLM series.

    Raises
    ------
    ValueError
        As :func:`find_plm_series`.
    """
    rules = PlmRules.wasm() if rules is None else rules
    onsets, durations = _as_movements(onsets_s, durations_s)
    lm_index, runs = _series_runs(onsets, durations, rules)
    mask = np.zeros(onsets.size, dtype=np.bool_)
    for start, stop in runs:
        mask[lm_index[start:stop]] = True
    return mask
