"""Full-rate front end: integer band-pass, tick envelope and clipping flags, with carried state.

The front end turns raw samples into *ticks*, short fixed blocks of ``tick_samples`` samples (about
20 ms) on the absolute sample grid. Per tick and channel it reports

* ``envelope``: the peak absolute value of the movement band-pass in that tick,
* ``clipped``: whether any raw sample sat on an ADC rail: at or beyond ``clip_level`` (the int16
  rails), or on the flat top of a narrower ADC's rail (see :mod:`detector.rails`).

The band-pass is a difference of two centred boxcars (short ``tick_samples`` long, long
``long_samples`` long) computed from an integer running sum. Everything is integer arithmetic, so
the output is bit-identical however the input is chunked: the carried state is the last
``long_samples - 1`` raw samples and the band-pass samples of the partial tick. The short boxcar
spans 20 ms, which puts transfer zeros on 50 Hz mains hum and its harmonics; the long one (about
0.2 s) removes respiration, posture drift and the offset left by the piezo's high-pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .carry import Carried
from .rails import START_HIGH, START_LOW, rail_flags
from .rolling import group_max

__all__ = ["FrontEnd", "FrontEndDesign", "Ticks"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class FrontEndDesign:
    """Sample-domain sizes derived once per sample rate.

    Parameters
    ----------
    fs_hz : float
        Sample rate.
    tick_s : float
        Target tick length; rounded to whole samples.
    long_window_s : float
        Length of the long (baseline) boxcar; rounded to whole samples of the same parity as the
        tick, so both boxcars share a centre.
    clip_level : int
        Absolute raw value at or above which a sample counts as clipped.
    """

    fs_hz: float
    tick_s: float = 0.02
    long_window_s: float = 0.2
    clip_level: int = 32000

    def __post_init__(self) -> None:
        if not 50.0 <= self.fs_hz <= 2000.0:
            raise ValueError(f"fs_hz must be 50-2000 Hz, got {self.fs_hz}")
        if not 0.005 <= self.tick_s <= 0.1:
            raise ValueError(f"tick_s must be 5-100 ms, got {self.tick_s}")
        if self.long_window_s < 4 * self.tick_s:
            raise ValueError("long_window_s must be at least four ticks")

    @property
    def tick_samples(self) -> int:
        """Samples per tick (the short boxcar)."""
        return max(1, round(self.fs_hz * self.tick_s))

    @property
    def long_samples(self) -> int:
        """Samples of the long boxcar, same parity as ``tick_samples``."""
        n = round(self.fs_hz * self.long_window_s)
        return n + ((n - self.tick_samples) % 2)

    @property
    def high_lag(self) -> int:
        """Lag of the high band's second difference (about fs / 80 samples).

        With the 20 ms boxcar in front, the high band passes about 14-41 Hz at 250 Hz sampling,
        peaking near 27 Hz; the boxcar's zero removes 50 Hz hum.
        """
        return max(1, round(self.fs_hz / 80.0))

    @property
    def tick_hz(self) -> float:
        """Ticks per second."""
        return self.fs_hz / self.tick_samples

    @property
    def delay_samples(self) -> int:
        """Group delay of the band-pass, in samples (the centre of the long boxcar)."""
        return (self.long_samples - 1) // 2


@dataclass(frozen=True, slots=True)
class Ticks:
    """Front-end output for a run of whole ticks.

    Attributes
    ----------
    first : int
        Absolute index of the first tick (tick ``k`` covers band-pass samples
        ``k * tick_samples`` to ``(k + 1) * tick_samples - 1``).
    envelope : numpy.ndarray
        int64, shape ``(ticks, 2 * channels)``: peak absolute value per tick of the band-pass
        (first ``channels`` columns) and of the high band (the rest).
    clipped : numpy.ndarray
        bool, shape ``(ticks, channels)``.
    sums : numpy.ndarray
        int64, shape ``(ticks, channels)``: sum of the tick's raw samples (the short boxcar at the
        tick's first band-pass sample), the input of the slow band.
    """

    first: int
    envelope: IntArray
    clipped: BoolArray
    sums: IntArray

    def __len__(self) -> int:
        return int(self.envelope.shape[0])


class FrontEnd:
    """Streaming front end for one bed; see the module docstring.

    Parameters
    ----------
    design : FrontEndDesign
        Sizes for this sample rate.
    channels : int
        Number of input channels.
    """

    __slots__ = (
        "_clip",
        "_high",
        "_history",
        "_history_rail",
        "_low",
        "_pending",
        "_pending_sums",
        "_sizes",
        "_ticks_done",
        "channels",
        "design",
        "rail_samples",
    )

    def __init__(self, design: FrontEndDesign, channels: int) -> None:
        self.design = design
        self.channels = channels
        # long boxcar, short boxcar (tick), high-band lag: read on every call
        self._sizes = (design.long_samples, design.tick_samples, design.high_lag)
        # last long_samples - 1 raw samples; band-pass samples and clip flags of a partial tick
        self._history: npt.NDArray[np.int16] = np.zeros((0, channels), np.int16)
        self._pending: npt.NDArray[np.int32] = np.zeros((0, 2 * channels), np.int32)
        self._pending_sums: IntArray = np.zeros((0, channels), np.int64)
        self._clip: BoolArray = np.zeros((0, channels), np.bool_)
        self._ticks_done = 0
        # extremes of every sample so far, and narrow-ADC rail flags of the history (None: none)
        self._high, self._low = START_HIGH, START_LOW
        self._history_rail: BoolArray | None = None
        # samples (any channel) found on an ADC rail by this front end: a read-out, not carried
        self.rail_samples = 0

    def carry(self) -> Carried:
        """Return the state that changes with the data (see :mod:`detector.carry`)."""
        arrays: list[npt.NDArray[Any]] = [
            self._history,
            self._pending,
            self._pending_sums,
            self._clip,
        ]
        if self._history_rail is not None:
            arrays.append(self._history_rail)
        return arrays, (self._ticks_done, self._high, self._low)

    def resume(self, arrays: list[Any], scalars: tuple[Any, ...]) -> None:
        """Take back what :meth:`carry` gave."""
        self._history, self._pending, self._pending_sums, self._clip = arrays[:4]
        self._history_rail = arrays[4] if len(arrays) > 4 else None
        self._ticks_done, self._high, self._low = scalars

    @property
    def samples_seen(self) -> int:
        """Raw samples fed so far (band samples made, plus the history they still wait on)."""
        return self._ticks_done * self._sizes[1] + len(self._pending) + len(self._history)

    @property
    def last_sample(self) -> npt.NDArray[np.int16] | None:
        """The most recent raw sample (one value per channel), None before any."""
        return self._history[-1].copy() if len(self._history) else None

    def process(self, samples: npt.NDArray[np.integer]) -> Ticks:
        """Feed raw samples of shape ``(n, channels)``; return the ticks completed by them."""
        long_n, short_n, _ = self._sizes
        first_tick = self._ticks_done
        new = samples.astype(np.int16, copy=False)
        raw = np.concatenate([self._history, new])
        on_rail = self._on_rail(new, raw)
        produced = len(raw) - long_n + 1  # band samples this buffer completes (all new)
        if produced <= 0:
            self._history = raw
            self._history_rail = on_rail
            return self._empty(first_tick)
        # Band sample j uses raw[j : j + long_n]; the short boxcar sits in its middle.
        offset = (long_n - short_n) // 2
        c = self.channels
        fast, high, short_sum = self._bands(raw, produced, offset)
        p = len(self._pending)
        if p:  # band samples of the partial tick before
            fast = np.concatenate([self._pending[:, :c], fast])
            high = np.concatenate([self._pending[:, c:], high])
        clip = np.empty((p + produced, c), np.bool_)
        clip[:p] = self._clip
        if on_rail is None:
            clip[p:] = False
        else:
            rails = _running_sum(on_rail)
            np.greater(
                rails[offset + short_n : offset + short_n + produced]
                - rails[offset : offset + produced],
                0,
                out=clip[p:],
            )
        # Raw sums of each tick's own short window (the slow band's input).
        first_start = (short_n - p) % short_n  # first tick start among the new samples
        sums = short_sum[first_start::short_n].astype(np.int64)
        if p:
            sums = np.concatenate([self._pending_sums, sums])
        self._history = raw[produced:].copy()
        kept = None if on_rail is None else on_rail[produced:]
        self._history_rail = kept.copy() if kept is not None and kept.any() else None
        whole = len(fast) // short_n * short_n
        ticks = whole // short_n
        self._pending = np.concatenate([fast[whole:], high[whole:]], axis=1)
        self._pending_sums = sums[ticks:].copy()
        self._clip = clip[whole:].copy()
        if whole == 0:
            return self._empty(first_tick)
        fast_env = group_max(np.abs(fast[:whole], out=fast[:whole]), short_n)
        high_env = group_max(np.abs(high[:whole], out=high[:whole]), short_n)
        env = np.concatenate([fast_env, high_env], axis=1).astype(np.int64)
        if on_rail is None and not clip[:p].any():
            clipped: BoolArray = np.zeros((ticks, c), np.bool_)  # the common case: no rail
        else:
            clipped = group_max(clip[:whole], short_n)
        self._ticks_done += ticks
        return Ticks(first_tick, env, clipped, sums[:ticks].copy())

    def _bands(
        self, raw: npt.NDArray[np.int16], produced: int, offset: int
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """Fast and high band of the ``produced`` new band samples, and their short boxcar sums.

        Prefix sums in int32 wrap around on long buffers, but every windowed sum fits int32 (at
        most ``long_samples * 32768``) and wrapping subtraction recovers it exactly: exact
        arithmetic with half the memory traffic of int64. Every array is contiguous (strided
        writes cost several times more).
        """
        long_n, short_n, k = self._sizes
        csum = np.zeros((len(raw) + 1, self.channels), np.int32)
        np.cumsum(raw, axis=0, dtype=np.int32, out=csum[1:])
        # Short boxcar sums from 2k samples before the first band sample (the high band needs them).
        ext = (
            csum[offset - 2 * k + short_n : offset + short_n + produced]
            - csum[offset - 2 * k : offset + produced]
        )
        short_sum = ext[2 * k :]
        long_sum = csum[long_n:] - csum[:produced]
        fast = short_sum * long_n
        long_sum *= short_n
        fast -= long_sum
        # High band: second difference (lag k) of the short boxcar.
        high = short_sum - ext[k : k + produced]
        high -= ext[k : k + produced]
        high += ext[:produced]
        return fast, high, short_sum

    def _on_rail(self, new: npt.NDArray[np.int16], raw: npt.NDArray[np.int16]) -> BoolArray | None:
        """Per raw sample (history, then ``new``): on an ADC rail; None when none is.

        Only ``new`` is examined: the history's flags were kept when it was new.
        """
        new_rail = None
        if len(new):
            extremes = int(new.max()), int(new.min())
            new_rail, self._high, self._low = rail_flags(
                new, self._history, self._high, self._low, extremes
            )
            level = self.design.clip_level
            if extremes[0] >= level or extremes[1] <= -level:
                beyond = np.abs(new.astype(np.int32)) >= level
                new_rail = beyond if new_rail is None else new_rail | beyond
            if new_rail is not None:
                self.rail_samples += int(new_rail.any(axis=1).sum())
        if new_rail is None and self._history_rail is None:
            return None
        on_rail = np.zeros(raw.shape, np.bool_)
        if self._history_rail is not None:
            on_rail[: len(self._history)] = self._history_rail
        if new_rail is not None:
            on_rail[len(self._history) :] = new_rail
        return on_rail

    def _empty(self, first: int) -> Ticks:
        empty = np.zeros((0, self.channels), np.int64)
        env = np.zeros((0, 2 * self.channels), np.int64)
        return Ticks(first, env, np.zeros((0, self.channels), np.bool_), empty)


def _running_sum(values: npt.NDArray[np.generic]) -> IntArray:
    """Prefix sums along axis 0 with a leading zero row, in int64 (exact)."""
    out = np.zeros((len(values) + 1, values.shape[1]), np.int64)
    np.cumsum(values, axis=0, dtype=np.int64, out=out[1:])
    return out
