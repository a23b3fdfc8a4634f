"""Heartbeat-aware detection of twitches as small as the heartbeat itself.

A twitch of one to three times the heartbeat's amplitude looks like one more beat in the fast
envelope, so an amplitude threshold either misses it or fires on every beat. The heart, however,
keeps time. This stage follows the rhythm peak by peak (a peak is the largest fast-band value
within ``radius`` ticks on either side): a peak that comes 0.7 to 1.45 beat intervals after the last
beat is the next beat (a later one resynchronises the tracker, as after missed weak beats); a peak
that comes *early* is not part of the rhythm and, when the rhythm is established and the peak
stands clear of the resting floor, opens a movement in the segmenter even below the amplitude
threshold. The beat interval is the median of the last accepted intervals, so it follows heart
rate variability beat by beat.

Decisions use values at absolute tick positions in tick order, so any chunking gives the same
flags.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .carry import Carried
from .rolling import window_max

__all__ = ["BeatTracker"]

FloatArray = npt.NDArray[np.float64]


class BeatTracker:
    """Follow the heartbeat and flag early (off-rhythm) peaks.

    Parameters
    ----------
    radius : int
        Half-width, in ticks, of the window in which a peak must be the maximum.
    refractory : int
        Ticks after a beat in which peaks belong to that beat's complex.
    min_interval, max_interval : int
        Plausible beat intervals in ticks.
    min_peak : float
        Smallest ratio (to the heartbeat level) of a peak.
    ceiling : float
        Peaks at or above this ratio are movements in their own right and are left alone.
    """

    __slots__ = (
        "_intervals",
        "_last_beat",
        "_lookback",
        "ceiling",
        "max_interval",
        "min_interval",
        "min_peak",
        "radius",
        "refractory",
    )

    def __init__(
        self,
        radius: int,
        *,
        refractory: int,
        min_interval: int,
        max_interval: int,
        min_peak: float,
        ceiling: float,
    ) -> None:
        self.radius = radius
        self.refractory = refractory
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.min_peak = min_peak
        self.ceiling = ceiling
        self._lookback: npt.NDArray[np.float32] = np.zeros(radius, np.float32)
        self._last_beat: int | None = None
        self._intervals: list[int] = []

    def carry(self) -> Carried:
        """Return the state that changes with the data (see :mod:`detector.carry`)."""
        return [self._lookback], (self._last_beat, tuple(self._intervals))

    def resume(self, arrays: list[Any], scalars: tuple[Any, ...]) -> None:
        """Take back what :meth:`carry` gave."""
        (self._lookback,) = arrays
        self._last_beat, intervals = scalars
        self._intervals = list(intervals)

    def flags(self, first_tick: int, fast: FloatArray, floor: FloatArray) -> npt.NDArray[np.bool_]:
        """Flag off-rhythm peaks.

        Parameters
        ----------
        first_tick : int
            Absolute tick of ``fast[0]``.
        fast : numpy.ndarray
            Fused fast-band ratio of consecutive ticks, ending ``radius`` ticks *after* the last
            tick to judge (the caller holds those back for the next call).
        floor : numpy.ndarray
            Resting floor as a ratio to the heartbeat level, for each judged tick.

        Returns
        -------
        numpy.ndarray
            bool flags for the judged ticks (all but the last ``radius``).
        """
        r = self.radius
        judged = len(fast) - r
        if judged <= 0:
            return np.zeros(0, np.bool_)
        series = np.concatenate([self._lookback, fast.astype(np.float32)]).astype(np.float64)
        self._lookback = series[judged : judged + r].astype(np.float32)
        centre = series[r : r + judged]
        before = window_max(series[: judged + r - 1], r)  # before[i] = max(series[i : i + r])
        after = window_max(series[r + 1 :], r)
        is_peak = (centre > before[:judged]) & (centre >= after[:judged])
        is_peak &= (centre >= self.min_peak) & (centre < self.ceiling) & (centre >= 3.0 * floor)
        out = np.zeros(judged, np.bool_)
        for i in np.flatnonzero(is_peak):
            out[i] = self._judge(first_tick + int(i))
        return out

    def _judge(self, tick: int) -> bool:
        last = self._last_beat
        if last is None:
            self._last_beat = tick
            return False
        gap = tick - last
        if gap <= self.refractory:
            return False
        period = (
            sorted(self._intervals)[len(self._intervals) // 2] if len(self._intervals) >= 3 else 0
        )
        if gap > self.max_interval * 2.5 or (
            period == 0 and not self.min_interval <= gap <= self.max_interval
        ):
            # no rhythm yet, or lost it (a pause, a movement): start again from this peak
            self._last_beat = tick
            self._intervals = [] if gap > self.max_interval * 2.5 else self._intervals
            return False
        if period == 0 or 0.7 * period <= gap <= 1.45 * period:
            self._intervals = [*self._intervals[-6:], gap]
            self._last_beat = tick
            return False
        if gap > 1.45 * period:  # late: weak beats were missed; follow the rhythm from here
            self._last_beat = tick
            return False
        return True  # early: not the heart
