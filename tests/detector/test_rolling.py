"""Rolling primitives against brute-force oracles."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.lib.stride_tricks import sliding_window_view

from detector.rolling import group_max, window_max, windows


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        np.int64,
        st.tuples(st.integers(0, 60), st.integers(1, 3)),
        elements=st.integers(-(2**40), 2**40),
    ),
    st.integers(1, 20),
)
def test_window_max_matches_loop(values: np.ndarray, width: int) -> None:
    expected = np.array([values[i : i + width].max(axis=0) for i in range(len(values) - width + 1)])
    got = window_max(values, width)
    assert got.shape[0] == max(0, len(values) - width + 1)
    if len(expected):
        np.testing.assert_array_equal(got, expected)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 10), st.integers(0, 12), st.integers(1, 3))
def test_group_max_matches_loop(size: int, groups: int, columns: int) -> None:
    rng = np.random.default_rng(groups * 31 + size)
    values = rng.normal(size=(size * groups, columns))
    expected = np.array([values[g * size : (g + 1) * size].max(axis=0) for g in range(groups)])
    got = group_max(values, size)
    assert got.shape == (groups, columns)
    if groups:
        np.testing.assert_array_equal(got, expected)


def test_windows_view_matches_sliding_window_view() -> None:
    values = np.arange(40.0).reshape(20, 2)
    for width in (1, 5, 20):
        expected = np.moveaxis(sliding_window_view(values, width, axis=0), 2, 1)
        np.testing.assert_array_equal(windows(values, width), expected)
    with pytest.raises(ValueError, match="cannot hold"):
        windows(values, 21)
