"""Gain-invariant reference levels: heartbeat peak level and noise floor, per channel.

Ticks are grouped into *blocks* of ``block_ticks`` (about 2 s) on the absolute tick grid. For each
finished block and channel two statistics are kept: the block's peak envelope (at rest: the
heartbeat's ballistocardiogram peak) and its median envelope (the floor between beats). The levels
that judge block ``b`` come from the ``window_blocks`` blocks before it, estimated in two passes:
median and a spread (half the interquartile range) first, then the median of the values within
three spreads of it, so movement blocks are
excluded without waiting for the detector's decisions. Every detection threshold is a multiple of
these levels, so a change of sensor gain changes nothing.

All statistics are order statistics of exactly representable values, so the batch path (many
blocks at once) and the streaming path (one block at a time) give bit-identical levels.
"""

from __future__ import annotations

import bisect
import math
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from .carry import NAN_CODE, Carried, from_bfloat16, to_bfloat16
from .rolling import windows

__all__ = ["BlockLevels", "robust_level", "robust_levels"]

FloatArray = npt.NDArray[np.float64]
_SUBSIDE_BLOCKS = 5  # a disturbance must subside within this many calm blocks to reset


def robust_levels(windows: FloatArray) -> FloatArray:
    """Two-pass robust level along axis 1 of ``windows`` (``(k, window, channels)``), one sort.

    First pass: the median and a spread (half the interquartile range, which equals the MAD for a
    symmetric distribution). Second pass: the median of the values within three spreads of the
    median, so movement blocks are excluded. Excluding a range keeps the remaining values
    contiguous in sorted order, so both passes read the same sorted array. NaN entries (history
    not yet seen) are ignored; a window without data gives NaN.

    Examples
    --------
    >>> robust_levels(np.array([[[1.0], [1.2], [0.9], [50.0], [1.1]]]))
    array([[1.05]])
    """
    ordered = np.sort(windows, axis=1)  # NaN sorts last
    width = windows.shape[1]
    if not np.isnan(ordered[:, -1]).any():  # full windows: fixed positions, plain slicing
        count = np.full((len(windows), 1, windows.shape[2]), width)
        w = width - 1
        median = (
            ordered[:, w // 2 : w // 2 + 1] + ordered[:, (w + 1) // 2 : (w + 1) // 2 + 1]
        ) * 0.5
        spread = (ordered[:, w - w // 4 : w - w // 4 + 1] - ordered[:, w // 4 : w // 4 + 1]) * 0.5
    else:
        count = (~np.isnan(windows)).sum(axis=1, keepdims=True)
        last_index = np.maximum(count - 1, 0)
        median = (_at(ordered, last_index // 2) + _at(ordered, (last_index + 1) // 2)) * 0.5
        spread = (_at(ordered, last_index - last_index // 4) - _at(ordered, last_index // 4)) * 0.5
    last = np.maximum(count - 1, 0)
    with np.errstate(invalid="ignore"):
        below = (ordered < median - 3.0 * spread).sum(axis=1, keepdims=True)
        kept_end = (ordered <= median + 3.0 * spread).sum(axis=1, keepdims=True)
    kept = np.maximum(kept_end - below, 1)
    first = np.minimum(below, last)
    level = (_at(ordered, first + (kept - 1) // 2) + _at(ordered, first + kept // 2)) * 0.5
    return np.where(count > 0, level, np.nan)[:, 0]


def robust_level(ordered: list[float]) -> float:
    """:func:`robust_levels` of one window, given its values (no NaN) in ascending order.

    The same positions and the same float arithmetic as the array version, so the result is
    bit-identical; ``bisect`` counts what the array version sums.

    Examples
    --------
    >>> robust_level([0.9, 1.0, 1.1, 1.2, 50.0])
    1.05
    """
    if not ordered:
        return math.nan
    last = len(ordered) - 1
    median = (ordered[last // 2] + ordered[(last + 1) // 2]) * 0.5
    spread = (ordered[last - last // 4] - ordered[last // 4]) * 0.5
    below = bisect.bisect_left(ordered, median - 3.0 * spread)
    kept = max(bisect.bisect_right(ordered, median + 3.0 * spread) - below, 1)
    first = min(below, last)
    return (ordered[first + (kept - 1) // 2] + ordered[first + kept // 2]) * 0.5


def _at(ordered: FloatArray, index: npt.NDArray[np.integer]) -> FloatArray:
    """Return ``ordered[i, index[i, 0, j], j]`` with shape ``(k, 1, columns)``.

    One flat take: cheaper than ``take_along_axis`` on the small arrays of the streaming path.
    """
    k, width, columns = ordered.shape
    rows = np.arange(k)[:, np.newaxis, np.newaxis] * (width * columns)
    flat = index * columns + (rows + np.arange(columns))
    return np.ascontiguousarray(ordered).ravel().take(flat)


class BlockLevels:
    """Rolling per-block statistics and the levels derived from them.

    After a disturbance (``reset_blocks`` or more blocks in a row whose peak exceeds
    ``reset_ratio`` times the level, e.g. a gross movement with a change of posture, or getting
    into bed) the history is cleared once it has subsided, because the heartbeat's amplitude on
    the sensor changes with posture. Levels are NaN until ``min_blocks`` blocks of history exist.

    Parameters
    ----------
    columns : int
        Number of envelope columns.
    window_blocks : int
        Blocks of history behind each level.
    min_blocks : int
        History needed before a level is given.
    reset_ratio : float
        Block peak over level that counts as a disturbance.
    reset_blocks : int
        Disturbed blocks in a row that reset the history.
    floor_columns : int, optional
        Leading columns whose floor is needed (all by default).
    """

    __slots__ = (
        "_calm",
        "_current",
        "_hist",
        "_run",
        "_run_max",
        "_sorted",
        "columns",
        "floor_columns",
        "min_blocks",
        "reset_blocks",
        "reset_ratio",
        "window_blocks",
    )

    def __init__(
        self,
        columns: int,
        window_blocks: int,
        min_blocks: int,
        reset_ratio: float,
        reset_blocks: int,
        *,
        floor_columns: int | None = None,
    ) -> None:
        self.window_blocks = window_blocks
        self.floor_columns = columns if floor_columns is None else floor_columns
        self.min_blocks = min_blocks
        self.reset_ratio = reset_ratio
        self.reset_blocks = reset_blocks
        self.columns = columns
        # rows: oldest .. newest finished block; the peak of every column, then the floor of the
        # first ``floor_columns`` columns, as bfloat16 codes (see :func:`to_bfloat16`)
        self._hist: npt.NDArray[np.uint16] = np.full(
            (window_blocks, columns + self.floor_columns), NAN_CODE, np.uint16
        )
        self._run = 0
        self._calm = 0  # calm blocks since a long disturbance, waiting for it to subside
        self._run_max: npt.NDArray[np.float32] = np.zeros(columns, np.float32)
        self._current: FloatArray | None = None
        # per history column, its values in ascending order (a cache for the live path)
        self._sorted: list[list[float]] | None = None

    def carry(self) -> Carried:
        """Return the state that changes with the data (current levels are recomputed on resume)."""
        return [self._hist, self._run_max], (self._run, self._calm)

    def resume(self, arrays: list[Any], scalars: tuple[Any, ...]) -> None:
        """Take back what :meth:`carry` gave."""
        self._hist, self._run_max = arrays
        self._run, self._calm = scalars
        self._current = None
        self._sorted = None

    def advance(self, blocks: npt.NDArray[np.int64]) -> tuple[FloatArray, FloatArray]:
        """Fold finished blocks in; return the levels in force *before* each of them and after.

        Parameters
        ----------
        blocks : numpy.ndarray
            Envelope maxima (0.1 s each) of ``k >= 0`` finished blocks, shape
            ``(k, rows_per_block, columns)``.

        Returns
        -------
        beat, floor : numpy.ndarray
            Shape ``(k + 1, columns)``: row ``i`` holds the levels computed from the history
            before block ``i``; the last row is the level for the block after the last one.
        """
        k = blocks.shape[0]
        if k == 0 and self._current is not None:
            return self._current[np.newaxis, 0], self._current[np.newaxis, 1]
        cols, fc = self.columns, self.floor_columns
        stats: npt.NDArray[np.float32] = np.empty((k, cols + fc), np.float32)
        if k:
            stats[:, :cols] = blocks.max(axis=1)
            ordered = np.sort(blocks[:, :, :fc], axis=1)
            rows = blocks.shape[1]
            stats[:, cols:] = (ordered[:, (rows - 1) // 2] + ordered[:, rows // 2]) / 2
        codes = to_bfloat16(stats)
        stats = from_bfloat16(codes)  # the values the history will hold
        if k == 1 and self._current is not None:
            return self._advance_one(codes[0], stats)
        self._sorted = None  # the bulk path below does not keep the sorted windows
        parts = []
        start = 0
        while True:
            cached = self._current if start == 0 else None
            levels = self._levels(stats[start:], cached)
            reset_at = self._find_reset(stats[start:, :cols], levels[:-1, 0])
            if reset_at is None:
                self._append(codes[start:])
                parts.append(levels)
                break
            parts.append(levels[: reset_at + 1])
            self._hist[:] = NAN_CODE
            self._append(codes[start + reset_at : start + reset_at + 1])
            start += reset_at + 1
        out = np.concatenate(parts)
        self._current = out[-1].copy()  # levels in force until the next block finishes
        return out[:, 0], out[:, 1]

    def _advance_one(
        self, codes: npt.NDArray[np.uint16], stats: npt.NDArray[np.float32]
    ) -> tuple[FloatArray, FloatArray]:
        """:meth:`advance` for one block (the live path): sorted windows, updated in place.

        Gives exactly what the bulk path gives: the same values, the same order statistics and
        the same float arithmetic (see :func:`robust_level`), with a few list operations per
        column instead of a sort of the whole window.
        """
        before = self._current
        assert before is not None
        if self._find_reset(stats[:, : self.columns], before[np.newaxis, 0]) is not None:
            self._hist[:] = NAN_CODE
            self._sorted = None
        ordered = self._sorted_windows()
        oldest = self._hist[0]
        if oldest[0] != NAN_CODE:
            gone = cast(list[float], from_bfloat16(oldest).tolist())
            for column, value in zip(ordered, gone, strict=True):
                del column[bisect.bisect_left(column, value)]
        self._hist[:-1] = self._hist[1:]
        self._hist[-1] = codes
        for column, value in zip(ordered, cast(list[float], stats[0].tolist()), strict=True):
            bisect.insort(column, value)
        after = np.full((2, self.columns), np.nan)
        if len(ordered[0]) >= self.min_blocks:
            cols = self.columns
            after[0] = [robust_level(column) for column in ordered[:cols]]
            after[1, : self.floor_columns] = [robust_level(column) for column in ordered[cols:]]
        self._current = after
        out = np.stack([before, after])
        return out[:, 0], out[:, 1]

    def _sorted_windows(self) -> list[list[float]]:
        """Each history column's values in ascending order (built from the history if needed)."""
        if self._sorted is None:
            values = from_bfloat16(self._hist[self._hist[:, 0] != NAN_CODE])
            self._sorted = [sorted(column) for column in cast(list[list[float]], values.T.tolist())]
        return self._sorted

    def _levels(self, stats: npt.NDArray[np.float32], cached: FloatArray | None) -> FloatArray:
        """Levels before each block of ``stats`` and after the last, from the history.

        Floors are computed for the first ``floor_columns`` columns only (NaN for the rest).
        ``cached`` is the level already known for the first row (the history is unchanged).
        """
        k = len(stats)
        cols, fc = self.columns, self.floor_columns
        if cached is not None and k == 0:
            return cached[np.newaxis]
        skip = 0 if cached is None else 1
        series = np.concatenate([from_bfloat16(self._hist[skip:]), stats]).astype(np.float64)
        view = windows(series, self.window_blocks)  # (k + 1 - skip, W, cols + fc)
        robust = robust_levels(view)
        levels = np.full((k + 1 - skip, 2, cols), np.nan)
        levels[:, 0] = robust[:, :cols]
        levels[:, 1, :fc] = robust[:, cols:]
        valid = (~np.isnan(view[:, :, 0])).sum(axis=1)
        levels[valid < self.min_blocks] = np.nan
        if cached is not None:
            levels = np.concatenate([cached[np.newaxis], levels])
        return levels

    def _find_reset(self, peaks: npt.NDArray[np.float32], beat: FloatArray) -> int | None:
        """Index of the block where a long enough disturbance has subsided, updating the run.

        A disturbance has subsided at the first block whose peaks are all below an eighth of the
        disturbance's own peaks, whatever the old level says: after getting into bed the
        heartbeat itself is far above the empty bed's level, and must become the new level.
        """
        with np.errstate(invalid="ignore"):
            disturbed = (peaks >= self.reset_ratio * beat).any(axis=1)
        for i, is_disturbed in enumerate(np.atleast_1d(disturbed)):
            if self._run >= self.reset_blocks and (peaks[i] * 8.0 <= self._run_max).all():
                self._run, self._calm, self._run_max = 0, 0, np.zeros_like(self._run_max)
                return i
            if is_disturbed:
                self._run += 1
                self._calm = 0
                self._run_max = np.maximum(self._run_max, peaks[i])
            elif self._run < self.reset_blocks or self._calm >= _SUBSIDE_BLOCKS:
                # too short to matter, or it never subsided: the old levels still hold
                if self._run:
                    self._run, self._calm, self._run_max = 0, 0, np.zeros_like(self._run_max)
            else:
                self._calm += 1
        return None

    def _append(self, codes: npt.NDArray[np.uint16]) -> None:
        series = np.concatenate([self._hist, codes])
        self._hist = np.ascontiguousarray(series[-self.window_blocks :])
