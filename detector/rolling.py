"""Rolling primitives on the tick grid, written as a few element-wise numpy passes.

Reductions over a short middle axis (``reshape(...).max(axis=1)``) are slow in numpy; the same
maxima from a handful of whole-array ``np.maximum`` calls are several times faster and exactly equal
(maximum is exact), so they keep the detector's chunking invariance. The tests compare every
primitive with a brute-force loop.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["group_max", "row_any", "row_max", "window_max", "windows"]


def group_max[T: np.generic](values: npt.NDArray[T], size: int) -> npt.NDArray[T]:
    """Maximum of each run of ``size`` consecutive rows (``len(values)`` a multiple of ``size``).

    Examples
    --------
    >>> group_max(np.array([[1], [5], [2], [0]]), 2).ravel().tolist()
    [5, 2]
    """
    out = values[0::size].copy()
    for offset in range(1, size):
        np.maximum(out, values[offset::size], out=out)
    return out


def window_max[T: np.generic](values: npt.NDArray[T], width: int) -> npt.NDArray[T]:
    """Maximum of every window of ``width`` consecutive rows: ``out[i] = max(values[i:i+width])``.

    Uses doubling, so it costs about ``log2(width)`` passes.

    Examples
    --------
    >>> window_max(np.array([3, 1, 4, 1, 5, 9, 2]), 3).tolist()
    [4, 4, 5, 9, 9]
    """
    n = len(values) - width + 1
    if n <= 0:
        return values[:0].copy()
    out = values.copy()
    span = 1
    while span * 2 <= width:
        out = np.maximum(out[:-span], out[span:])
        span *= 2
    if span < width:
        out = np.maximum(out[:n], out[width - span : width - span + n])
    return out[:n]


def row_max[T: np.generic](values: npt.NDArray[T]) -> npt.NDArray[T]:
    """Maximum across the columns of a 2-D array (one element-wise pass per column; exact).

    Examples
    --------
    >>> row_max(np.array([[1, 7], [4, 2]])).tolist()
    [7, 4]
    """
    out = values[:, 0].copy()
    for column in range(1, values.shape[1]):
        np.maximum(out, values[:, column], out=out)
    return out


def row_any(values: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Logical or across the columns of a 2-D boolean array."""
    out = values[:, 0].copy()
    for column in range(1, values.shape[1]):
        np.logical_or(out, values[:, column], out=out)
    return out


def windows[T: np.generic](values: npt.NDArray[T], width: int) -> npt.NDArray[T]:
    """Read-only view of every run of ``width`` consecutive rows, windows along a new axis 1.

    The same as ``sliding_window_view`` along axis 0 with the window axis second, without its
    per-call overhead (this runs on every finished block of every bed).

    Examples
    --------
    >>> windows(np.arange(5), 3).tolist()
    [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    """
    count = len(values) - width + 1
    if count <= 0:
        raise ValueError(f"{len(values)} rows cannot hold a window of {width}")
    shape = (count, width, *values.shape[1:])
    strides = (values.strides[0], *values.strides)
    return np.lib.stride_tricks.as_strided(values, shape, strides, writeable=False)
