"""The streaming PLM tracker agrees with the batch rule (:func:`find_plm_series`) as its oracle."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from detector.plm import PlmRules, PlmSeries, find_plm_series
from detector.plm_tracker import PlmTracker


def tracked(
    onsets: list[float], durations: list[float], rules: PlmRules
) -> tuple[list[PlmSeries], int]:
    tracker = PlmTracker(rules)
    series, started = [], 0
    for onset, duration in zip(onsets, durations, strict=True):
        update = tracker.add(onset, duration)
        started += update.started is not None
        if update.closed is not None:
            series.append(update.closed)
    last = tracker.close()
    if last is not None:
        series.append(last)
    return series, started


movement = st.tuples(
    st.floats(3.0, 120.0),  # gap to the previous onset
    st.one_of(st.floats(0.05, 0.49), st.floats(0.5, 10.0), st.floats(10.01, 40.0)),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(movement, max_size=40), st.sampled_from([PlmRules.wasm(), PlmRules.aasm()]))
def test_tracker_matches_batch_rule(moves: list[tuple[float, float]], rules: PlmRules) -> None:
    onsets, durations, t = [], [], 0.0
    for gap, duration in moves:
        t += gap
        onsets.append(round(t, 3))
        durations.append(round(duration, 3))
        t += duration
    expected = find_plm_series(onsets, durations, rules)
    got, started = tracked(onsets, durations, rules)
    assert got == expected
    assert started == len(expected)


def test_series_starts_at_the_fourth_lm() -> None:
    tracker = PlmTracker(PlmRules.wasm())
    updates = [tracker.add(20.0 * i, 1.0) for i in range(5)]
    assert [u.started is not None for u in updates] == [False, False, False, True, False]
    assert tracker.current == PlmSeries(0.0, 81.0, 5)
