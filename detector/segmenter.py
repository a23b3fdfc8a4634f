"""Hysteresis segmentation of per-band activity ratios into movements, with carried state.

Input per tick: one activity ratio per band (each band's envelope over its resting level, the
largest over channels), the channel of the largest, and whether the tick is clipped. A movement

* opens at a tick where any band reaches its ``on`` threshold, at a clipped tick, or at a tick the
  heartbeat tracker flags,
* stays open while ticks above any band's ``off`` threshold (or clipped) follow each other with
  gaps shorter than ``merge_gap``; after a clipped tick the sensor's recovery time counts as
  active,
* closes once ``merge_gap`` quiet ticks have passed.

Its onset and end are then refined to the first and last *strong* tick: at or above
``max(off, edge * peak)`` in a band whose peak reached its ``on`` threshold, so a large jerk is
not lengthened by a filter's skirt, nor a twitch by weak slow activity next to it. The end uses a
lower fraction (``end_edge``): movements fade out more slowly than they start.
Only candidate ticks are visited in Python; decisions depend only on tick values and absolute
tick numbers, so any chunking gives the same movements.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from .carry import Carried
from .rolling import row_any

__all__ = ["Movement", "Segmenter", "Thresholds"]

_MAX_EDGE_TICKS = 64  # candidate ticks remembered per movement for edge refinement
_PRE_TICKS = 8  # candidate ticks remembered before a movement opens (its rising edge)
_BULK_TICKS = 512  # candidate ticks looked at per bulk step (bounds the work of a step)


@dataclass(frozen=True, slots=True)
class Movement:
    """A closed movement in tick units.

    Attributes
    ----------
    first_tick, last_tick : int
        Absolute ticks of the refined onset and end (inclusive).
    peaks : tuple of float
        Largest activity ratio of each band inside the movement.
    channel : int
        Channel index of the peak.
    clipped_ticks : int
        Ticks with a sample on an ADC rail.
    flagged_ticks : int
        Ticks the heartbeat tracker flagged as off-rhythm.
    decided_tick : int
        The tick at which the movement was known to be over (its end plus the merge gap).
    """

    first_tick: int
    last_tick: int
    peaks: tuple[float, ...]
    channel: int
    clipped_ticks: int
    flagged_ticks: int
    decided_tick: int


@dataclass(frozen=True, slots=True)
class Thresholds:
    """One band's thresholds: open at ``on``, continue at ``off``, edges at ``edge`` of the peak.

    ``erode`` (ticks) shrinks the band's strong region at both ends before it delimits a movement:
    the smoothing of a slow band spreads even a short twitch over its window. ``end_edge``
    (default ``edge``) is the fraction of the peak that delimits the end: a movement fades out
    more slowly than it starts (muscles relax gradually).
    """

    on: float
    off: float
    edge: float
    erode: int = 0
    end_edge: float | None = None

    @property
    def end(self) -> float:
        """The fraction of the peak that delimits a movement's end."""
        return self.edge if self.end_edge is None else self.end_edge


@dataclass(slots=True)
class _Open:
    start: int
    peaks: list[float]
    channel: int
    channel_ratio: float
    last_active: int
    last_strong: int
    clipped_ticks: int
    flagged_ticks: int
    edge: list[tuple[int, tuple[float, ...]]] = field(default_factory=list)

    def __getstate__(self) -> tuple[object, ...]:
        """Pack the edge ticks compactly (ratios are float32 values already, so this is exact)."""
        bands = len(self.peaks)
        packed = b"".join(
            struct.pack(f"<i{bands}f", tick - self.start, *row) for tick, row in self.edge
        )
        return (
            self.start,
            self.peaks,
            self.channel,
            self.channel_ratio,
            self.last_active,
            self.last_strong,
            self.clipped_ticks,
            self.flagged_ticks,
            packed,
        )

    def __setstate__(self, state: tuple[object, ...]) -> None:
        (start, peaks, channel, channel_ratio, active, strong, clipped, flagged, packed) = state
        self.start, self.peaks = cast(int, start), cast(list[float], peaks)
        self.channel, self.channel_ratio = cast(int, channel), cast(float, channel_ratio)
        self.last_active, self.last_strong = cast(int, active), cast(int, strong)
        self.clipped_ticks, self.flagged_ticks = cast(int, clipped), cast(int, flagged)
        layout = struct.Struct(f"<i{len(self.peaks)}f")
        self.edge = [
            (self.start + values[0], tuple(values[1:]))
            for values in layout.iter_unpack(cast(bytes, packed))
        ]


@dataclass(frozen=True, slots=True)
class _Run:
    """Candidate ticks from one position on, and the arrays their values come from."""

    first_tick: int
    idx: npt.NDArray[np.intp]
    ratios: npt.NDArray[np.float64]
    channel: npt.NDArray[np.intp]
    clipped: npt.NDArray[np.bool_]
    openers: npt.NDArray[np.bool_]

    def values(self, stop: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.intp]]:
        """Ratios and strongest channel of the first ``stop`` candidates."""
        idx = self.idx[:stop]
        return self.ratios[idx], self.channel[idx]


class Segmenter:
    """Streaming segmenter for one bed.

    Parameters
    ----------
    bands : sequence of Thresholds
        Thresholds of each band, in the column order of the ratios.
    merge_gap_ticks : int
        Quiet ticks that close a movement.
    blanking_ticks : int
        Ticks after a clipped tick that count as active.
    """

    __slots__ = (
        "_blank_until",
        "_end",
        "_off",
        "_on",
        "_open",
        "_recent",
        "bands",
        "blanking_ticks",
        "merge_gap_ticks",
    )

    def __init__(self, bands: list[Thresholds], merge_gap_ticks: int, blanking_ticks: int) -> None:
        self.bands = bands
        self._on = np.array([b.on for b in bands])
        self._off = np.array([b.off for b in bands])
        self._end = np.array([b.end for b in bands])
        self.merge_gap_ticks = merge_gap_ticks
        self.blanking_ticks = blanking_ticks
        self._open: _Open | None = None
        # the last candidate ticks while no movement is open (its rising edge)
        self._recent: deque[tuple[int, tuple[float, ...]]] = deque(maxlen=_PRE_TICKS)
        self._blank_until = -1

    def carry(self) -> Carried:
        """Return the state that changes with the data (see :mod:`detector.carry`)."""
        recent_ticks = np.array([tick for tick, _ in self._recent], np.int64)
        recent_rows = np.array([row for _, row in self._recent], np.float32).reshape(
            len(self._recent), len(self.bands)
        )
        is_open = self._open is not None
        open_state = self._open.__getstate__() if self._open is not None else ()
        return [recent_ticks, recent_rows], (self._blank_until, is_open, open_state)

    def resume(self, arrays: list[Any], scalars: tuple[Any, ...]) -> None:
        """Take back what :meth:`carry` gave."""
        recent_ticks, recent_rows = arrays
        self._recent.clear()
        for tick, row in zip(recent_ticks.tolist(), recent_rows.tolist(), strict=True):
            self._recent.append((tick, tuple(row)))
        self._blank_until, is_open, open_state = scalars
        self._open = None
        if is_open:
            self._open = _Open.__new__(_Open)
            self._open.__setstate__(open_state)

    def process(
        self,
        first_tick: int,
        ratios: npt.NDArray[np.float64],
        channel: npt.NDArray[np.intp],
        clipped: npt.NDArray[np.bool_],
        openers: npt.NDArray[np.bool_] | None = None,
    ) -> list[Movement]:
        """Consume consecutive ticks starting at ``first_tick``; return movements that closed.

        ``ratios`` has one column per band. ``openers`` marks ticks that open (or extend) a
        movement whatever their level: the off-rhythm peaks of
        :class:`~detector.beats.BeatTracker`.
        """
        closed: list[Movement] = []
        n = len(ratios)
        if openers is None:
            openers = np.zeros(n, np.bool_)
        # Ratios rounded to float32 once, so a movement's carried state packs exactly and every
        # comparison below sees the same values.
        ratios = ratios.astype(np.float32).astype(np.float64)
        opens = row_any(ratios >= self._on)
        candidate = row_any(ratios >= self._off) | clipped | openers
        idx = np.flatnonzero(candidate)
        # Python values in bulk (the loop below runs once per candidate tick it does not hand to
        # the bulk path); rows become tuples only when the loop reads them.
        rows = cast(list[list[float]], ratios[idx].tolist())
        ticks = cast(list[int], idx.tolist())
        chans = cast(list[int], channel[idx].tolist())
        clips = cast(list[bool], clipped[idx].tolist())
        opener_list = cast(list[bool], openers[idx].tolist())
        opening_list = cast(list[bool], opens[idx].tolist())
        j = 0
        while j < len(ticks):
            if self._open is not None and len(self._open.edge) >= _MAX_EDGE_TICKS:
                run = _Run(first_tick, idx[j : j + _BULK_TICKS], ratios, channel, clipped, openers)
                taken = self._extend_run(self._open, run)
                if taken:
                    j += taken
                    continue
            i, row, chan = ticks[j], tuple(rows[j]), chans[j]
            is_clipped, is_opener, opening = clips[j], opener_list[j], opening_list[j]
            j += 1
            tick = first_tick + i
            if self._open is not None:
                self._close_if_quiet(tick, closed)
            forced = is_clipped or is_opener
            if is_clipped:
                self._blank_until = tick + self.blanking_ticks
            current = self._open
            if current is None:
                if not (forced or opening):
                    self._recent.append((tick, row))
                    continue
                current = self._start(tick)
            self._extend(current, tick, row, chan=chan, is_clipped=is_clipped, forced=forced)
        self._close_if_quiet(first_tick + n, closed)
        return closed

    def _extend_run(self, current: _Open, run: _Run) -> int:
        """Extend ``current`` over the candidate ticks of ``run`` in bulk; return how many.

        Used once the movement's edge list is full (a long movement): then a tick only updates
        peaks, channel, counters and the last strong tick, all of which vectorise. Stops before
        the first tick that would close the movement (the loop in :meth:`process` takes it).
        """
        ticks = run.first_tick + run.idx.astype(np.int64)
        clip = run.clipped[run.idx]
        blank = np.maximum.accumulate(
            np.maximum(np.where(clip, ticks + self.blanking_ticks, -1), self._blank_until)
        )
        active_before = np.concatenate([[current.last_active], ticks[:-1]])
        blank_before = np.concatenate([[self._blank_until], blank[:-1]])
        closes = ticks - np.maximum(active_before, blank_before) > self.merge_gap_ticks
        stop = int(np.argmax(closes)) if closes.any() else len(ticks)
        if stop == 0:
            return 0
        rows, channel = run.values(stop)
        clip = clip[:stop]
        forced = clip | run.openers[run.idx[:stop]]
        start_peaks = np.array(current.peaks)[np.newaxis]
        peaks = np.maximum.accumulate(np.concatenate([start_peaks, rows]), axis=0)[1:]
        strong = ((peaks >= self._on) & (rows >= np.maximum(self._off, self._end * peaks))).any(1)
        hits = np.flatnonzero(strong | forced)
        if len(hits):
            current.last_strong = int(ticks[hits[-1]])
        top = rows.max(axis=1)
        best = int(np.argmax(top))
        if top[best] > current.channel_ratio:
            current.channel, current.channel_ratio = int(channel[best]), float(top[best])
        current.peaks = cast(list[float], peaks[-1].tolist())
        current.last_active = int(ticks[stop - 1])
        current.clipped_ticks += int(clip.sum())
        current.flagged_ticks += int((forced & ~clip).sum())
        self._blank_until = int(blank[stop - 1])
        return stop

    def flush(self, tick: int) -> list[Movement]:
        """Close any open movement at ``tick`` (end of data, gap or reboot)."""
        closed: list[Movement] = []
        if self._open is not None:
            closed.append(self._finish(self._open, tick))
        self._open = None
        self._recent.clear()
        self._blank_until = -1
        return closed

    def _start(self, tick: int) -> _Open:
        recent = [e for e in self._recent if tick - e[0] <= self.merge_gap_ticks + _PRE_TICKS]
        start = recent[0][0] if recent else tick
        self._open = _Open(start, [0.0] * len(self.bands), 0, 0.0, tick, tick, 0, 0, edge=recent)
        self._recent.clear()
        return self._open

    def _strong(self, current: _Open, row: tuple[float, ...]) -> bool:
        """Whether a tick can delimit the movement's end in some band."""
        for b, r, peak in zip(self.bands, row, current.peaks, strict=True):
            if peak >= b.on and r >= max(b.off, b.end * peak):
                return True
        return False

    def _extend(
        self,
        current: _Open,
        tick: int,
        row: tuple[float, ...],
        *,
        chan: int,
        is_clipped: bool,
        forced: bool,
    ) -> None:
        peaks = current.peaks
        for b, r in enumerate(row):
            peaks[b] = max(peaks[b], r)
        top = max(row)
        if top > current.channel_ratio:
            current.channel, current.channel_ratio = chan, top
        current.last_active = tick
        current.clipped_ticks += is_clipped
        current.flagged_ticks += forced and not is_clipped
        if forced or self._strong(current, row):
            current.last_strong = tick
        if len(current.edge) < _MAX_EDGE_TICKS:
            current.edge.append((tick, row if not forced else (1e9,) * len(row)))

    def _close_if_quiet(self, tick: int, closed: list[Movement]) -> None:
        current = self._open
        if current is None:
            return
        quiet_since = max(current.last_active, self._blank_until)
        if tick - quiet_since > self.merge_gap_ticks:
            closed.append(self._finish(current, quiet_since + self.merge_gap_ticks + 1))
            self._open = None

    def _finish(self, current: _Open, decided: int) -> Movement:
        starts: list[int] = []  # strong by the onset edges
        ends: list[int] = []  # strong by the (lower) end edges
        for b, band in enumerate(self.bands):
            peak = current.peaks[b]
            if peak < band.on:
                continue  # this band never opened: it delimits nothing
            for fraction, found in ((band.edge, starts), (band.end, ends)):
                level = max(band.off, fraction * peak)
                ticks = [t for t, row in current.edge if row[b] >= level]
                if ticks and band.erode:
                    erode = band.erode
                    ticks = [t for t in ticks if ticks[0] + erode <= t <= ticks[-1] - erode]
                found.extend(ticks)
        first = min(starts) if starts else current.start
        if len(current.edge) < _MAX_EDGE_TICKS and starts:
            last = max(starts + ends)
        else:
            last = max(current.last_strong, first)
        return Movement(
            first,
            last,
            tuple(current.peaks),
            current.channel,
            current.clipped_ticks,
            current.flagged_ticks,
            decided,
        )
