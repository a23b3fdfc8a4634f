"""Hysteresis segmentation of the fused activity ratio into movements, with carried state.

Input per tick: the activity ratio ``r`` (envelope over the heartbeat peak level, the largest over
channels), the channel it came from, and whether the tick is clipped. A movement

* opens at a tick with ``r >= on_ratio`` or a clipped tick,
* stays open while ticks with ``r >= off_ratio`` (or clipped) follow each other with gaps shorter
  than ``merge_gap``; after a clipped tick the sensor's recovery time (blanking) counts as active,
* closes once ``merge_gap`` quiet ticks have passed.

Its onset and end are then refined to the first and last tick at or above
``max(off_ratio, edge_fraction * peak)``, so a large jerk is not lengthened by the band-pass skirt.
Only candidate ticks (``r >= off_ratio`` or clipped) are visited in Python; decisions depend only on
tick values and absolute tick numbers, so any chunking gives the same movements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["Movement", "Segmenter"]

_MAX_EDGE_TICKS = 64  # candidate ticks remembered per movement for edge refinement
_PRE_TICKS = 8  # candidate ticks remembered before a movement opens (its rising edge)


@dataclass(frozen=True, slots=True)
class Movement:
    """A closed movement in tick units.

    Attributes
    ----------
    first_tick, last_tick : int
        Absolute ticks of the refined onset and end (inclusive).
    peak_ratio : float
        Largest activity ratio inside the movement.
    channel : int
        Channel index of the peak.
    clipped_ticks : int
        Ticks with a sample on an ADC rail.
    decided_tick : int
        The tick at which the movement was known to be over (its end plus the merge gap).
    """

    first_tick: int
    last_tick: int
    peak_ratio: float
    channel: int
    clipped_ticks: int
    decided_tick: int


@dataclass(slots=True)
class _Open:
    start: int
    peak: float
    channel: int
    last_active: int
    last_strong: int
    clipped_ticks: int
    edge: list[tuple[int, float]] = field(default_factory=list)


class Segmenter:
    """Streaming segmenter for one bed.

    Parameters
    ----------
    on_ratio, off_ratio, edge_fraction : float
        Thresholds, see the module docstring.
    merge_gap_ticks : int
        Quiet ticks that close a movement.
    blanking_ticks : int
        Ticks after a clipped tick that belong to the movement whatever their level.
    """

    __slots__ = (
        "_blank_until",
        "_open",
        "_recent",
        "blanking_ticks",
        "edge_fraction",
        "merge_gap_ticks",
        "off_ratio",
        "on_ratio",
    )

    def __init__(
        self,
        on_ratio: float,
        off_ratio: float,
        edge_fraction: float,
        merge_gap_ticks: int,
        blanking_ticks: int,
    ) -> None:
        self.on_ratio = on_ratio
        self.off_ratio = off_ratio
        self.edge_fraction = edge_fraction
        self.merge_gap_ticks = merge_gap_ticks
        self.blanking_ticks = blanking_ticks
        self._open: _Open | None = None
        self._recent: list[tuple[int, float]] = []  # last candidate ticks while closed
        self._blank_until = -1

    @property
    def is_open(self) -> bool:
        """Whether a movement is in progress."""
        return self._open is not None

    def process(
        self,
        first_tick: int,
        ratio: npt.NDArray[np.float64],
        channel: npt.NDArray[np.intp],
        clipped: npt.NDArray[np.bool_],
    ) -> list[Movement]:
        """Consume consecutive ticks starting at ``first_tick``; return movements that closed."""
        closed: list[Movement] = []
        n = len(ratio)
        candidate = (ratio >= self.off_ratio) | clipped
        for i in np.flatnonzero(candidate):
            tick = first_tick + int(i)
            r = float(ratio[i])
            self._close_if_quiet(tick, closed)
            is_clipped = bool(clipped[i])
            if is_clipped:
                self._blank_until = tick + self.blanking_ticks
            current = self._open
            if current is None:
                if not (r >= self.on_ratio or is_clipped):
                    if r >= self.off_ratio:
                        self._recent = [*self._recent[-(_PRE_TICKS - 1) :], (tick, r)]
                    continue
                current = self._start(tick)
            self._extend(current, tick, r, int(channel[i]), is_clipped)
        self._close_if_quiet(first_tick + n, closed)
        return closed

    def flush(self, tick: int) -> list[Movement]:
        """Close any open movement at ``tick`` (end of data, gap or reboot)."""
        closed: list[Movement] = []
        if self._open is not None:
            closed.append(self._finish(self._open, tick))
        self._open = None
        self._recent = []
        self._blank_until = -1
        return closed

    def _start(self, tick: int) -> _Open:
        recent = [(t, r) for t, r in self._recent if tick - t <= self.merge_gap_ticks + _PRE_TICKS]
        start = recent[0][0] if recent else tick
        self._open = _Open(start, 0.0, 0, tick, tick, 0, edge=recent)
        self._recent = []
        return self._open

    def _extend(self, current: _Open, tick: int, r: float, chan: int, is_clipped: bool) -> None:
        if r > current.peak:
            current.peak, current.channel = r, chan
        current.last_active = tick
        current.clipped_ticks += is_clipped
        if r >= max(self.off_ratio, self.edge_fraction * current.peak) or is_clipped:
            current.last_strong = tick
        if len(current.edge) < _MAX_EDGE_TICKS:
            current.edge.append((tick, r if not is_clipped else max(r, current.peak)))

    def _close_if_quiet(self, tick: int, closed: list[Movement]) -> None:
        current = self._open
        if current is None:
            return
        quiet_since = max(current.last_active, self._blank_until)
        if tick - quiet_since > self.merge_gap_ticks:
            closed.append(self._finish(current, quiet_since + self.merge_gap_ticks + 1))
            self._open = None

    def _finish(self, current: _Open, decided: int) -> Movement:
        threshold = max(self.off_ratio, self.edge_fraction * current.peak)
        strong = [t for t, r in current.edge if r >= threshold]
        first = strong[0] if strong else current.start
        if len(current.edge) < _MAX_EDGE_TICKS and strong:
            last = strong[-1]
        else:
            last = max(current.last_strong, first)
        return Movement(first, last, current.peak, current.channel, current.clipped_ticks, decided)
