"""A floor for the per-frame cost: the detector's arithmetic on one frame with nothing else.

:func:`skeleton_costs` times a bare skeleton of what a live 1 s frame (250 Hz, two channels) needs
at least: the front end's boxcars and envelopes, the slow band, the ratios and band maxima, the
heartbeat peak test and the segmenter's candidate test; and, once per 2 s block, the robust levels
of a 90 s window and the rhythm test. It keeps no state and makes no decisions, so it is not a
detector: it shows how much of the real step is the unavoidable cost of numpy calls on small
arrays on the machine at hand. The benchmark reports it next to the real step, in the same run.
"""

from __future__ import annotations

import timeit

import numpy as np
import numpy.typing as npt

__all__ = ["skeleton_costs"]

_FS = 250
_TICK = 5  # samples per 20 ms tick
_LONG = 51  # samples of the 0.2 s boxcar


def _frame(history: npt.NDArray[np.int16], frame: npt.NDArray[np.int16]) -> int:
    raw = np.concatenate([history, frame])
    csum = np.zeros((len(raw) + 1, 2), np.int32)
    np.cumsum(raw, axis=0, dtype=np.int32, out=csum[1:])
    short = csum[_TICK:] - csum[:-_TICK]
    long_sum = csum[_LONG:] - csum[:-_LONG]
    fast = short[23 : 23 + _FS] * _LONG
    long_sum *= _TICK
    fast -= long_sum[:_FS]
    high = short[4 : 4 + _FS] - short[2 : 2 + _FS]
    high -= short[2 : 2 + _FS]
    high += short[:_FS]
    env = np.abs(fast).reshape(-1, _TICK, 2).max(axis=1)
    high_env = np.abs(high).reshape(-1, _TICK, 2).max(axis=1)
    tick_sums = np.cumsum(short[::_TICK], axis=0)
    slow = np.abs(tick_sums[17:] - tick_sums[:-17])
    np.maximum(slow[:-2], slow[2:])
    ratio = np.concatenate([env, high_env], axis=1) / np.array([10.0, 10.0, 5.0, 5.0])
    bands = ratio.reshape(-1, 2, 2).max(axis=2)
    ratio.reshape(-1, 2, 2).max(axis=1).argmax(axis=1)
    beat = bands[:, 0]
    peaks = (beat[1:-1] > beat[:-2]) & (beat[1:-1] >= beat[2:]) & (beat[1:-1] > 0.7)
    np.flatnonzero(peaks)
    return len(np.flatnonzero((bands >= 1.5).any(axis=1)))


def _block(window: npt.NDArray[np.float64], decimated: npt.NDArray[np.int64]) -> float:
    ordered = np.sort(window, axis=0)
    median = ordered[22]
    spread = (ordered[33] - ordered[11]) * 0.5
    below = (ordered < median - 3 * spread).sum(axis=0)
    above = (ordered <= median + 3 * spread).sum(axis=0)
    ordered[(below + above) // 2, np.arange(window.shape[1])]
    centred = decimated * decimated.shape[1] - decimated.sum(axis=1, keepdims=True)
    energy = (centred * centred).sum(axis=1)
    lagged = np.lib.stride_tricks.as_strided(
        centred[:, 4:],
        shape=(2, 13, 64),
        strides=(centred.strides[0], centred.strides[1], centred.strides[1]),
    )
    products = np.einsum("ri,rli->rl", centred[:, :64], lagged)
    return float((products.max(axis=1) / energy).max())


def skeleton_costs(repeat: int = 3000) -> tuple[float, float]:
    """Return the skeleton's cost per frame and per block, in microseconds (best of 3).

    Examples
    --------
    >>> frame_us, block_us = skeleton_costs(repeat=50)
    >>> frame_us > 0 and block_us > 0
    True
    """
    rng = np.random.default_rng(0)
    history = rng.integers(-100, 100, (_LONG - 1, 2)).astype(np.int16)
    frame = rng.integers(-100, 100, (_FS, 2)).astype(np.int16)
    window = rng.random((45, 8))
    decimated = rng.integers(0, 1000, (2, 80))
    timer = timeit.Timer(lambda: _frame(history, frame))
    frame_s = min(timer.repeat(3, repeat)) / repeat
    timer = timeit.Timer(lambda: _block(window, decimated))
    block_s = min(timer.repeat(3, repeat)) / repeat
    return frame_s * 1e6, block_s * 1e6
