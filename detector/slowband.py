"""The slow band: limb and body movements that are mostly below the front end's band-pass.

A leg that moves under the duvet shifts pressure slowly (1-3.5 Hz), with little of the sharp
content the front end's band-pass keeps. The slow band is a second difference of boxcars computed
on the per-tick raw sums (short ``short_ticks``, long ``long_ticks``, both centred), followed by a
centred running maximum of its absolute value over ``hold_ticks`` on either side, so an oscillating
movement gives a steady envelope. It needs ``delay`` ticks of look-ahead; the stage holds the fast
band back by the same amount so both bands of a tick describe the same moment.

Integer arithmetic and fixed absolute tick positions: any chunking gives the same output.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .carry import Carried
from .frontend import Ticks
from .rolling import window_max

__all__ = ["SlowBand"]

IntArray = npt.NDArray[np.int64]


class SlowBand:
    """Add slow-band columns to the front end's ticks.

    Parameters
    ----------
    channels : int
        Input channels.
    short_ticks, long_ticks : int
        Boxcar lengths in ticks (odd, short < long).
    hold_ticks : int
        Half-width of the running maximum.
    """

    __slots__ = (
        "_clip",
        "_fast",
        "_first",
        "_sums",
        "channels",
        "hold_ticks",
        "long_ticks",
        "short_ticks",
    )

    def __init__(self, channels: int, short_ticks: int, long_ticks: int, hold_ticks: int) -> None:
        if short_ticks % 2 == 0 or long_ticks % 2 == 0 or not short_ticks < long_ticks:
            raise ValueError("boxcars must be odd and short < long")
        self.channels = channels
        self.short_ticks = short_ticks
        self.long_ticks = long_ticks
        self.hold_ticks = hold_ticks
        self._first = 0  # absolute tick of the first held fast-band tick
        # Carried state, stored compactly (tick sums and envelopes fit int32):
        self._sums: npt.NDArray[np.int32] = np.zeros((0, channels), np.int32)
        self._fast: npt.NDArray[np.int32] = np.zeros((0, 2 * channels), np.int32)
        self._clip: npt.NDArray[np.bool_] = np.zeros((0, channels), np.bool_)

    def carry(self) -> Carried:
        """Return the state that changes with the data (see :mod:`detector.carry`)."""
        return [self._sums, self._fast, self._clip], (self._first,)

    def resume(self, arrays: list[Any], scalars: tuple[Any, ...]) -> None:
        """Take back what :meth:`carry` gave."""
        self._sums, self._fast, self._clip = arrays
        (self._first,) = scalars

    @property
    def next_tick(self) -> int:
        """Absolute index of the next tick this stage will emit."""
        return self._first

    @property
    def delay(self) -> int:
        """Look-ahead in ticks."""
        return (self.long_ticks - 1) // 2 + self.hold_ticks

    def process(self, ticks: Ticks) -> Ticks:
        """Consume front-end ticks; return ticks with the slow band's columns appended.

        ``self._sums`` always starts ``delay`` ticks before the next tick to emit; at the very
        start that history is the first tick's sum repeated (a flat signal, no false step).
        """
        if len(ticks) and ticks.first == 0 and len(self._sums) == 0:
            self._sums = np.repeat(ticks.sums[:1], self.delay, axis=0).astype(np.int32)
        sums = np.concatenate([self._sums.astype(np.int64), ticks.sums])
        fast = np.concatenate([self._fast.astype(np.int64), ticks.envelope])
        clip = np.asarray(np.concatenate([self._clip, ticks.clipped]), np.bool_)
        first = self._first
        out_n = len(sums) - 2 * self.delay
        if out_n <= 0:
            self._sums, self._fast, self._clip = sums.astype(np.int32), fast.astype(np.int32), clip
            return Ticks(first, fast[:0], clip[:0], sums[:0])
        csum = np.zeros((len(sums) + 1, self.channels), np.int64)
        np.cumsum(sums, axis=0, out=csum[1:])
        long_n, short_n = self.long_ticks, self.short_ticks
        n_band = len(sums) - long_n + 1
        off = (long_n - short_n) // 2
        long_sum = csum[long_n:] - csum[:n_band]
        short_sum = csum[off + short_n : off + short_n + n_band] - csum[off : off + n_band]
        slow = np.abs(long_n * short_sum - short_n * long_sum)
        held = window_max(slow, 2 * self.hold_ticks + 1)
        env = np.concatenate([fast[:out_n], held[:out_n]], axis=1)
        result = Ticks(first, env, clip[:out_n], sums[:0])
        self._first = first + out_n
        self._sums = sums[out_n:].astype(np.int32)
        self._fast = fast[out_n:].astype(np.int32)
        self._clip = clip[out_n:].copy()
        return result
