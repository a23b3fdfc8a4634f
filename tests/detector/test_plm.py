"""PLM series rules: hand cases plus a brute-force oracle."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.plm import PlmRules, PlmSeries, find_plm_series, plm_member_mask

WASM = PlmRules.wasm()
AASM = PlmRules.aasm()


def _oracle(onsets: list[float], durations: list[float], rules: PlmRules) -> list[PlmSeries]:
    """Walk the movements in time order, one at a time (ties: the LM before the long movement)."""
    order = sorted(range(len(onsets)), key=lambda i: (onsets[i], durations[i] > rules.max_lm_s, i))
    found: list[PlmSeries] = []
    run: list[int] = []

    def close() -> None:
        if len(run) >= rules.min_count:
            last = run[-1]
            found.append(PlmSeries(onsets[run[0]], onsets[last] + durations[last], len(run)))
        run.clear()

    for i in order:
        if durations[i] > rules.max_lm_s:
            close()
        elif durations[i] >= rules.min_lm_s:
            if run:
                gap = onsets[i] - onsets[run[-1]]
                if not rules.min_interval_s <= gap <= rules.max_interval_s:
                    close()
            run.append(i)
    close()
    return found


def test_presets() -> None:
    assert (WASM.min_interval_s, WASM.max_interval_s, WASM.min_count) == (10.0, 90.0, 4)
    assert (AASM.min_interval_s, AASM.max_interval_s) == (5.0, 90.0)
    assert (WASM.min_lm_s, WASM.max_lm_s) == (0.5, 10.0)
    assert PlmRules() == WASM


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_lm_s": 0.0},
        {"min_lm_s": 5.0, "max_lm_s": 2.0},
        {"min_interval_s": 50.0, "max_interval_s": 20.0},
        {"min_interval_s": -1.0},
        {"max_interval_s": math.inf},
        {"min_count": 1},
    ],
)
def test_rules_refuse_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"."):
        PlmRules(**kwargs)  # type: ignore[arg-type]


def test_four_regular_lms_make_one_series() -> None:
    series = find_plm_series([0.0, 20.0, 40.0, 60.0], [1.0, 2.0, 1.5, 3.0])
    assert series == [PlmSeries(onset=0.0, end=63.0, count=4)]


def test_three_lms_are_not_a_series() -> None:
    assert find_plm_series([0.0, 20.0, 40.0], [1.0, 1.0, 1.0]) == []


def test_interval_of_seven_seconds_wasm_vs_aasm() -> None:
    onsets = [0.0, 7.0, 14.0, 21.0]
    durations = [1.0] * 4
    assert find_plm_series(onsets, durations, WASM) == []
    assert find_plm_series(onsets, durations, AASM) == [PlmSeries(0.0, 22.0, 4)]


def test_short_interval_splits_series_under_wasm() -> None:
    onsets = [0.0, 20.0, 40.0, 60.0, 67.0, 87.0, 107.0, 127.0]
    series = find_plm_series(onsets, [1.0] * 8, WASM)
    assert series == [PlmSeries(0.0, 61.0, 4), PlmSeries(67.0, 128.0, 4)]
    assert find_plm_series(onsets, [1.0] * 8, AASM) == [PlmSeries(0.0, 128.0, 8)]


def test_long_movement_breaks_series() -> None:
    onsets = [0.0, 20.0, 40.0, 50.0, 70.0, 90.0, 110.0]
    durations = [1.0, 1.0, 1.0, 12.0, 1.0, 1.0, 1.0]
    # 0, 20, 40 | gross at 50 | 70, 90, 110: two runs of three, no series.
    assert find_plm_series(onsets, durations) == []
    # without the gross movement the 30 s interval 40 -> 70 links them into one series of six
    assert find_plm_series(
        [o for o, d in zip(onsets, durations, strict=True) if d <= 10],
        [d for d in durations if d <= 10],
    ) == [PlmSeries(0.0, 111.0, 6)]


def test_twitches_neither_count_nor_break() -> None:
    onsets = [0.0, 5.0, 20.0, 33.0, 40.0, 60.0]
    durations = [1.0, 0.2, 1.0, 0.3, 1.0, 1.0]
    assert find_plm_series(onsets, durations) == [PlmSeries(0.0, 61.0, 4)]


def test_ninety_second_boundary() -> None:
    durations = [2.0] * 4
    assert find_plm_series([0.0, 90.0, 180.0, 270.0], durations) == [PlmSeries(0.0, 272.0, 4)]
    assert find_plm_series([0.0, 90.0, 180.0, 270.5], durations) == []
    # exactly 10 s is inside the WASM window as well
    assert find_plm_series([0.0, 10.0, 20.0, 30.0], durations)[0].count == 4


def test_lm_duration_bounds() -> None:
    onsets = [0.0, 20.0, 40.0, 60.0]
    assert find_plm_series(onsets, [0.5, 10.0, 0.5, 10.0])[0].count == 4
    # 0.49 s is a twitch: only three LMs are left
    assert find_plm_series(onsets, [0.49, 10.0, 0.5, 10.0]) == []
    # 10.01 s is a breaker
    assert find_plm_series(onsets, [0.5, 10.01, 0.5, 1.0]) == []


def test_unsorted_input_and_mask() -> None:
    onsets = np.array([60.0, 0.0, 40.0, 20.0, 300.0])
    durations = np.array([1.0, 1.0, 1.0, 1.0, 1.0])
    assert find_plm_series(onsets, durations) == [PlmSeries(0.0, 61.0, 4)]
    assert plm_member_mask(onsets, durations).tolist() == [True, True, True, True, False]


def test_breaker_at_same_onset_breaks_following_link() -> None:
    onsets = [0.0, 20.0, 40.0, 60.0, 60.0, 80.0]
    durations = [1.0, 1.0, 1.0, 1.0, 20.0, 1.0]
    assert find_plm_series(onsets, durations) == [PlmSeries(0.0, 61.0, 4)]


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="onsets but"):
        find_plm_series([0.0, 1.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        find_plm_series([0.0, math.nan], [1.0, 1.0])
    with pytest.raises(ValueError, match="negative"):
        find_plm_series([0.0], [-1.0])
    assert find_plm_series([], []) == []


# Gaps between consecutive onsets include every rule boundary (5, 10, 90 s) and ties (0 s).
_gaps = st.sampled_from(
    [0.0, 2.5, 4.99, 5.0, 7.0, 10.0, 10.01, 20.0, 35.5, 89.99, 90.0, 90.01, 150.0]
)
_durations = st.sampled_from([0.1, 0.3, 0.49, 0.5, 1.0, 2.5, 9.99, 10.0, 10.01, 15.0, 40.0])


@st.composite
def _movements(draw: st.DrawFn) -> list[tuple[float, float]]:
    gaps = draw(st.lists(_gaps, max_size=40))
    onsets = np.cumsum([0.0, *gaps]).tolist()
    durations = draw(st.lists(_durations, min_size=len(onsets), max_size=len(onsets)))
    movements = list(zip(onsets, durations, strict=True))
    return draw(st.permutations(movements))


@settings(max_examples=300, deadline=None)
@given(
    movements=_movements(),
    rules=st.sampled_from([WASM, AASM, PlmRules(min_count=3, max_interval_s=60.0)]),
)
def test_matches_brute_force_oracle(movements: list[tuple[float, float]], rules: PlmRules) -> None:
    onsets = [m[0] for m in movements]
    durations = [m[1] for m in movements]
    expected = _oracle(onsets, durations, rules)
    assert find_plm_series(onsets, durations, rules) == expected
    mask = plm_member_mask(onsets, durations, rules)
    assert int(mask.sum()) == sum(s.count for s in expected)


@settings(max_examples=200, deadline=None)
@given(
    base=st.floats(min_value=0.0, max_value=1e5),
    intervals=st.lists(st.floats(min_value=10.0, max_value=90.0), min_size=3, max_size=30),
    duration=st.floats(min_value=0.5, max_value=10.0),
)
def test_regular_runs_are_one_series(base: float, intervals: list[float], duration: float) -> None:
    onsets = base + np.concatenate(([0.0], np.cumsum(intervals)))
    # float rounding can push an interval a hair outside the window; keep only exact cases
    if not np.all((np.diff(onsets) >= 10.0) & (np.diff(onsets) <= 90.0)):
        return
    series = find_plm_series(onsets, np.full(onsets.size, duration))
    assert len(series) == 1
    assert series[0].count == onsets.size
    assert series[0].onset == onsets[0]
    assert series[0].end == onsets[-1] + duration
