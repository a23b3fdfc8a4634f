"""Reference levels: array and list versions against a brute-force oracle; live path = bulk."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.levels import BlockLevels, robust_level, robust_levels


def oracle(values: list[float]) -> float:
    """Straight from the definition: median and half-IQR, then the median of what is near."""
    v = sorted(x for x in values if not np.isnan(x))
    if not v:
        return float("nan")
    last = len(v) - 1
    median = (v[last // 2] + v[(last + 1) // 2]) * 0.5
    spread = (v[last - last // 4] - v[last // 4]) * 0.5
    low, high = median - 3.0 * spread, median + 3.0 * spread
    kept = [x for x in v if low <= x <= high]
    if not kept:  # nothing near the median (an extreme spread): the first value above it
        kept = [v[min(sum(x < low for x in v), last)]]
    m = len(kept) - 1
    return (kept[m // 2] + kept[(m + 1) // 2]) * 0.5


values = st.lists(
    st.one_of(st.floats(0.0, 100.0, width=32), st.sampled_from([1.0, 2.0, 1000.0, float("nan")])),
    min_size=1,
    max_size=45,
)


@settings(max_examples=300, deadline=None)
@given(values)
def test_array_and_list_versions_match_the_oracle(window: list[float]) -> None:
    expected = oracle(window)
    array = robust_levels(np.array(window, np.float64)[np.newaxis, :, np.newaxis])[0, 0]
    listed = robust_level(sorted(x for x in window if not np.isnan(x)))
    np.testing.assert_equal(array, expected)
    np.testing.assert_equal(listed, expected)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=30), st.integers(0, 10_000))
def test_block_by_block_equals_all_at_once(sizes: list[int], seed: int) -> None:
    """The live path (one block per call) and the bulk path give the same levels and resets."""
    rng = np.random.default_rng(seed)
    n = 60
    blocks = rng.integers(100, 200, (n, 20, 6)).astype(np.int64)
    blocks[20:27] *= 40  # a long disturbance: the history restarts once it subsides

    def levels() -> BlockLevels:
        return BlockLevels(6, 45, 2, 6.0, 4, floor_columns=2)

    whole = levels().advance(blocks)
    one, beats, floors = levels(), [], []
    one.advance(blocks[:0])
    start = 0
    for size in sizes * 10:
        if start >= n:
            break
        beat, floor = one.advance(blocks[start : start + size])
        beats.append(beat[:-1])
        floors.append(floor[:-1])
        start += size
    last_beat, last_floor = one.advance(blocks[:0])
    np.testing.assert_array_equal(np.concatenate([*beats, last_beat]), whole[0][: start + 1])
    np.testing.assert_array_equal(np.concatenate([*floors, last_floor]), whole[1][: start + 1])
