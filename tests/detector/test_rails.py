"""Narrow-ADC rails: brute-force oracle, chunking invariance, no flags off the rails."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.frontend import FrontEnd, FrontEndDesign
from detector.rails import HIGH_RAILS, LOW_RAILS, RUN, START_HIGH, START_LOW, rail_flags


def oracle(x: np.ndarray) -> np.ndarray:
    """Sample by sample, straight from the definition."""
    flags = np.zeros(x.shape, bool)
    for c in range(x.shape[1]):
        col = x[:, c].astype(int)
        for i in range(RUN - 1, len(col)):
            run = len(set(col[i - RUN + 1 : i + 1].tolist())) == 1
            high = col[i] in HIGH_RAILS and col[i] >= x[: i + 1].max()
            low = col[i] in LOW_RAILS and col[i] <= x[: i + 1].min()
            flags[i, c] = run and (high or low)
    return flags


def chunked(x: np.ndarray, cuts: list[int]) -> np.ndarray:
    high, low = START_HIGH, START_LOW
    out, seen = [], x[:0]
    for part in np.split(x, sorted(cuts)):
        flags, high, low = rail_flags(part, seen, high, low)
        out.append(np.zeros(part.shape, bool) if flags is None else flags)
        seen = np.concatenate([seen, part])
    assert high == int(x.max())
    assert low == int(x.min())
    return np.concatenate(out)


def clipped_12_bit(seed: int, n: int = 600) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    wave = 1500 * np.sin(t / 9.0) + 900 * np.sin(t / 31.0) + rng.normal(0, 40, (2, n))
    return np.clip(np.round(wave), -2048, 2047).astype(np.int16).T


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 600), max_size=10), st.integers(0, 5))
def test_any_chunking_matches_the_oracle(cuts: list[int], seed: int) -> None:
    x = clipped_12_bit(seed)
    expected = oracle(x)
    assert expected.any()
    np.testing.assert_array_equal(chunked(x, cuts), expected)


def test_a_wide_signal_passing_through_a_rail_code_is_not_clipped() -> None:
    x = np.array(
        [[100], [3000], [2047], [2047], [2047], [2047], [-5000], [-2048], [-2048], [-2048]]
    )
    x = x.astype(np.int16)
    assert not chunked(x, []).any()
    assert not oracle(x).any()


def test_two_equal_samples_are_not_a_flat_top() -> None:
    x = np.array([[0], [2047], [2047], [0], [4095], [4095], [4095]], np.int16)
    assert chunked(x, []).tolist() == [[False]] * 6 + [[True]]


def test_front_end_flags_ticks_of_a_12_bit_rail_in_any_chunking() -> None:
    design = FrontEndDesign(250.0)
    x = clipped_12_bit(3, 2000)

    def ticks(cuts: list[int]) -> np.ndarray:
        fe = FrontEnd(design, 2)
        return np.concatenate([fe.process(p).clipped for p in np.split(x, cuts)])

    whole = ticks([])
    assert whole.any()
    assert not whole.all()
    np.testing.assert_array_equal(ticks([1, 2, 3, 250, 251, 777, 1999]), whole)
    np.testing.assert_array_equal(ticks(list(range(7, 2000, 7))), whole)


def test_this_project_s_esp32_adc_rails_are_recognised() -> None:
    """The reference firmware sums four 12-bit readings: rails +8188 and -8192 (hardware/README)."""
    x = np.array([[0], [8188], [8188], [8188], [0], [-8192], [-8192], [-8192], [0]], np.int16)
    flags = chunked(x, []).ravel().tolist()
    assert flags == [False, False, False, True, False, False, False, True, False]
