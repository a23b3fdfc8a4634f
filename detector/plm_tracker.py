"""Streaming PLM series tracking, one movement at a time.

The rules are those of :func:`detector.plm.find_plm_series`; the state is constant (the current
candidate run only), so it fits the per-bed budget and can be rebuilt from recent events.
"""

from __future__ import annotations

from dataclasses import dataclass

from .plm import PlmRules, PlmSeries

__all__ = ["PlmTracker", "PlmUpdate"]


@dataclass(frozen=True, slots=True)
class PlmUpdate:
    """What one movement did to the series state.

    Attributes
    ----------
    started : PlmSeries or None
        A series reached ``min_count`` LMs with this movement (so far: onset, end, count).
    closed : PlmSeries or None
        A series was broken by this movement and is final.
    """

    started: PlmSeries | None = None
    closed: PlmSeries | None = None


class PlmTracker:
    """Follow limb movements and breakers in onset order.

    Parameters
    ----------
    rules : PlmRules
        Timing rules.
    """

    __slots__ = ("_count", "_first_onset", "_last_end", "_last_onset", "rules")

    def __init__(self, rules: PlmRules) -> None:
        self.rules = rules
        self._count = 0
        self._first_onset = 0.0
        self._last_onset = 0.0
        self._last_end = 0.0

    @property
    def in_series(self) -> bool:
        """Whether the current run is a series (at least ``min_count`` LMs)."""
        return self._count >= self.rules.min_count

    @property
    def current(self) -> PlmSeries | None:
        """The series in progress, if any."""
        if not self.in_series:
            return None
        return PlmSeries(self._first_onset, self._last_end, self._count)

    def add(self, onset_s: float, duration_s: float) -> PlmUpdate:
        """Add one movement (any length; twitches are ignored, long ones break the run)."""
        rules = self.rules
        if duration_s < rules.min_lm_s:
            return PlmUpdate()
        if duration_s > rules.max_lm_s:
            return PlmUpdate(closed=self.close())
        interval = onset_s - self._last_onset
        if self._count and rules.min_interval_s <= interval <= rules.max_interval_s:
            self._count += 1
            self._last_onset, self._last_end = onset_s, onset_s + duration_s
            if self._count == rules.min_count:
                return PlmUpdate(started=self.current)
            return PlmUpdate()
        closed = self.close()
        self._count = 1
        self._first_onset = self._last_onset = onset_s
        self._last_end = onset_s + duration_s
        return PlmUpdate(closed=closed)

    def close(self) -> PlmSeries | None:
        """End the current run; return it if it was a series."""
        series = self.current
        self._count = 0
        return series
