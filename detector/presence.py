"""Bed presence from the heartbeat's periodicity, with hysteresis and movement-aware edges.

A person lying on the sensor makes the movement envelope beat with the heart: its autocorrelation
at one beat interval (0.4-1.6 s) is high. An empty bed gives noise, whose envelope has no such
peak; a movement gives neither answer. Periodicity is a ratio, so it does not depend on gain.

Per block the detector reports one piece of evidence: ``present`` (periodic), ``absent`` (quiet
and not periodic) or ``unknown`` (movement). The state switches to *in bed* after
``enter_blocks`` of presence evidence and to *out of bed* after ``exit_blocks`` of absence
evidence. Getting in and out of bed are gross movements, so the edges are moved to the start of a
movement that ended just before the first present block, and to the end of a movement that started
just after the last one.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .carry import Carried

__all__ = ["Evidence", "Presence", "PresenceChange", "periodicity"]

_SHIFT_BITS = 8  # envelope scaling that keeps the integer autocorrelation inside int64


class Evidence(enum.IntEnum):
    """What one block says about bed presence."""

    ABSENT = 0
    PRESENT = 1
    UNKNOWN = 2


@dataclass(frozen=True, slots=True)
class PresenceChange:
    """The bed state changed; ``tick`` is the (back-dated) absolute tick of the change."""

    in_bed: bool
    tick: int


def periodicity(
    windows: npt.NDArray[np.int64], min_lag: int, max_lag: int
) -> npt.NDArray[np.float64]:
    """Largest normalised autocorrelation of each row at lags ``min_lag..max_lag``.

    Every lag is summed over the same ``n - max_lag`` products, all in one integer ``einsum``
    (after a fixed right shift), so the result is exact and does not depend on how many rows are
    computed at once.

    Parameters
    ----------
    windows : numpy.ndarray
        int64, shape ``(k, n)``: decimated envelope windows.
    min_lag, max_lag : int
        Lag range in decimated samples.

    Returns
    -------
    numpy.ndarray
        Shape ``(k,)``: about 1 for a strict rhythm, near 0 for noise (the fixed overlap can push
        a perfect rhythm slightly above 1); 0 for a constant window.

    Examples
    --------
    >>> beat = np.tile([4000, 0, 0, 0, 0], 16)[np.newaxis] << 8  # a peak every 5 samples
    >>> noise = np.random.default_rng(0).integers(0, 4000, (1, 80)) << 8
    >>> [bool(strength > 0.5) for strength in periodicity(np.vstack([beat, noise]), 2, 8)]
    [True, False]
    """
    x = windows >> _SHIFT_BITS
    k, n = x.shape
    overlap = n - max_lag
    centred = x * n - x.sum(axis=1, keepdims=True)
    energy = np.maximum((centred * centred).sum(axis=1), 1)
    shifted = np.lib.stride_tricks.as_strided(
        centred[:, min_lag:],
        shape=(k, max_lag - min_lag + 1, overlap),
        strides=(centred.strides[0], centred.strides[1], centred.strides[1]),
        writeable=False,
    )
    products = np.einsum("ri,rli->rl", centred[:, :overlap], shifted)
    best = products.max(axis=1) * (n / overlap) / energy
    return np.where((centred == 0).all(axis=1), 0.0, best)


_CARRIED = (  # the attributes of Presence that change with the data
    "in_bed",
    "_present_run",
    "_present_start",
    "_absent_run",
    "_ever_absent",
    "_last_present_end",
    "_last_move",
)


class Presence:
    """In-bed state machine over per-block evidence.

    Parameters
    ----------
    block_ticks : int
        Ticks per block.
    enter_blocks, exit_blocks : int
        Evidence needed to switch in and out.
    edge_ticks : int
        How far a bed entry/exit movement may lie from the first/last present block.
    """

    __slots__ = (
        "_absent_run",
        "_ever_absent",
        "_last_move",
        "_last_present_end",
        "_present_run",
        "_present_start",
        "block_ticks",
        "edge_ticks",
        "enter_blocks",
        "exit_blocks",
        "in_bed",
    )

    def __init__(
        self, block_ticks: int, enter_blocks: int, exit_blocks: int, edge_ticks: int
    ) -> None:
        self.block_ticks = block_ticks
        self.enter_blocks = enter_blocks
        self.exit_blocks = exit_blocks
        self.edge_ticks = edge_ticks
        self.in_bed = False
        self._present_run = 0
        self._present_start = 0
        self._absent_run = 0
        self._ever_absent = False
        self._last_present_end = 0
        self._last_move: tuple[int, int] | None = (
            None  # (first, last) tick of the latest gross move
        )

    def carry(self) -> Carried:
        """Return the state that changes with the data (see :mod:`detector.carry`)."""
        return [], tuple(getattr(self, name) for name in _CARRIED)

    def resume(self, arrays: list[Any], scalars: tuple[Any, ...]) -> None:
        """Take back what :meth:`carry` gave."""
        del arrays  # all scalars
        for name, value in zip(_CARRIED, scalars, strict=True):
            setattr(self, name, value)

    def resume_in_bed(self) -> None:
        """Start in bed (a restart after a short gap or a sensor reboot with someone in bed)."""
        self.in_bed = True
        self._ever_absent = True
        self._present_run = self._absent_run = 0

    def note_movement(self, first_tick: int, last_tick: int) -> None:
        """Tell the state machine about a gross movement (a bed entry or exit candidate)."""
        self._last_move = (first_tick, last_tick)

    def add_block(self, block: int, evidence: Evidence) -> PresenceChange | None:
        """Consume the evidence of absolute block ``block``; return a state change if any."""
        start = block * self.block_ticks
        end = start + self.block_ticks
        if evidence is Evidence.PRESENT:
            if self._present_run == 0:
                self._present_start = start
            self._present_run += 1
            self._absent_run = 0
            self._last_present_end = end
        elif evidence is Evidence.ABSENT:
            self._absent_run += 1
            self._ever_absent = True
            self._present_run = 0
        if not self.in_bed and self._present_run >= self.enter_blocks:
            self.in_bed = True
            tick = self._present_start
            move = self._last_move
            if move is not None and 0 <= tick - move[1] <= self.edge_ticks:
                tick = move[0]
            elif not self._ever_absent:
                tick = 0  # in bed since the stream started
            return PresenceChange(True, tick)
        if self.in_bed and self._absent_run >= self.exit_blocks:
            self.in_bed = False
            tick = self._last_present_end
            move = self._last_move
            if move is not None and 0 <= move[0] - tick <= self.edge_ticks:
                tick = move[1] + 1
            return PresenceChange(False, tick)
        return None
