"""Clipping at the rails of ADCs narrower than the int16 samples that carry them.

A 12-bit ADC (the ESP32's own, for instance) delivers values in -2048..2047 (or 0..4095), so a
clipped movement sits on 2047, not on the int16 rail. A sample counts as clipped at such a rail
when

* its value is the top (or bottom) code of a common ADC width (8, 10, 12 or 14 bits, signed or
  unsigned), or of the sum of 2, 4, 8 or 16 such readings (firmware that oversamples by summing,
  like this project's ESP32-ADC source: four 12-bit readings, rails -8192 and +8188),
* it repeats for at least three samples in a row (a flat top), and
* no sample of the stream on any channel went beyond it so far (a rail is the extreme of the
  signal; the channels share one ADC).

The last condition keeps a wide-range signal that merely passes through 2047 from counting. The
flags depend only on the samples seen so far: the caller carries the running extremes and the
last two samples, so any chunking gives the same flags.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["HIGH_RAILS", "LOW_RAILS", "RUN", "START_HIGH", "START_LOW", "rail_flags"]

_WIDTHS = (8, 10, 12, 14)
_SUMMED = (1, 2, 4, 8, 16)  # readings summed per sample
_TOPS = [top for b in _WIDTHS for top in (2 ** (b - 1) - 1, 2**b - 1)]
_NEAR_INT16 = 2**15 - 2**10  # codes this far out are the int16 check's (``clip_level``)
HIGH_RAILS = np.array(sorted({k * top for top in _TOPS for k in _SUMMED if k * top < _NEAR_INT16}))
LOW_RAILS = np.array(
    sorted({-k * 2 ** (b - 1) for b in _WIDTHS for k in _SUMMED if k * 2 ** (b - 1) < _NEAR_INT16})
)
RUN = 3  # samples in a row on the rail
START_HIGH, START_LOW = -(2**15) - 1, 2**15  # extremes before any sample (beyond int16)
_HIGH_SET = frozenset(HIGH_RAILS.tolist())
_LOW_SET = frozenset(LOW_RAILS.tolist())


def rail_flags(
    samples: npt.NDArray[np.int16],
    previous: npt.NDArray[np.int16],
    high: int,
    low: int,
    extremes: tuple[int, int] | None = None,
) -> tuple[npt.NDArray[np.bool_] | None, int, int]:
    """Flag samples sitting on a narrow ADC's rail.

    Parameters
    ----------
    samples : numpy.ndarray
        New raw samples, shape ``(n, channels)``.
    previous : numpy.ndarray
        The samples before them (only the last ``RUN - 1`` are read; fewer at the start).
    high, low : int
        The largest and smallest value seen before ``samples``, over all channels (the channels
        share one ADC).
    extremes : tuple of int, optional
        ``(samples.max(), samples.min())`` when the caller has them already.

    Returns
    -------
    flags : numpy.ndarray or None
        bool ``(n, channels)``, or None when no sample is flagged (the common case, cheap).
    high, low : int
        The extremes including ``samples``.

    Examples
    --------
    >>> x = np.array([[5], [2047], [2047], [2047], [2047], [3]], np.int16)
    >>> flags, high, low = rail_flags(x, x[:0], -99, 99)
    >>> flags[:, 0].tolist(), high, low
    ([False, False, False, True, True, False], 2047, 3)
    """
    if len(samples) == 0:
        return None, high, low
    top, bottom = extremes or (int(samples.max()), int(samples.min()))  # flat: fast
    new_high, new_low = max(high, top), min(low, bottom)
    if not ((top >= high and top in _HIGH_SET) or (bottom <= low and bottom in _LOW_SET)):
        return None, new_high, new_low
    tail = previous[len(previous) - min(len(previous), RUN - 1) :].astype(np.int32)
    # Before the stream's first sample: distinct values no int16 sample can equal.
    missing = np.arange(RUN - 1 - len(tail), dtype=np.int32)[:, np.newaxis] + 2**20
    filler = np.broadcast_to(missing, (len(missing), samples.shape[1]))
    context = np.concatenate([filler, tail, samples])
    lead, n = RUN - 1, len(samples)
    value = context[lead:]
    repeated = np.ones(samples.shape, np.bool_)
    for back in range(1, RUN):
        repeated &= value == context[lead - back : lead - back + n]
    running_high = np.maximum.accumulate(np.maximum(value.max(axis=1), high))
    running_low = np.minimum.accumulate(np.minimum(value.min(axis=1), low))
    on_high = (value == running_high[:, np.newaxis]) & np.isin(value, HIGH_RAILS)
    on_low = (value == running_low[:, np.newaxis]) & np.isin(value, LOW_RAILS)
    flags = repeated & (on_high | on_low)
    return (flags if flags.any() else None), new_high, new_low
