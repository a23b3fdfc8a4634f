"""The live twitch rate against a brute-force count, and on a real stream's output."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from detector.rate import RollingTwitchRate
from detector.stream import Stream
from hardware.virtual_sensor.synth import generate


def brute(onsets: list[float], spans: list[tuple[float, float]], now: float, lead: float) -> float:
    """Twitches in (now - window - lead, now] per hour in bed over (now - window, now]."""
    in_bed = sum(max(0.0, min(b, now) - max(a, now - 3600.0)) for a, b in spans)
    count = sum(1 for t in onsets if now - 3600.0 - lead < t <= now)
    return count * 3600.0 / in_bed


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 20_000), max_size=300),
    st.lists(st.floats(0, 20_000), min_size=2, max_size=8),
    st.floats(0, 20_000),
)
def test_matches_a_brute_force_count_to_the_minute(
    onsets: list[float], edges: list[float], now: float
) -> None:
    edges = sorted(set(edges))
    spans = list(zip(edges[0::2], edges[1::2], strict=False))
    rate = RollingTwitchRate()
    for a, b in spans:
        rate.bed(True, a)
        rate.bed(False, b)
    for t in sorted(onsets):
        if t <= now:
            rate.twitch(t)
    got = rate.rate(now)
    in_bed = sum(max(0.0, min(b, now) - max(a, now - 3600.0)) for a, b in spans)
    if in_bed < 600.0:
        assert got is None
        return
    assert got is not None
    # the window's first minute is counted whole: between the exact count and one minute more
    assert brute(onsets, spans, now, 0.0) - 1e-9 <= got <= brute(onsets, spans, now, 60.0) + 1e-9


def test_an_open_bed_interval_counts_up_to_now() -> None:
    rate = RollingTwitchRate()
    rate.bed(True, 1000.0)
    rate.bed(True, 1500.0)  # still in bed: nothing changes
    for t in range(1100, 4600, 100):
        rate.twitch(float(t))
    assert rate.rate(4600.0) == pytest.approx(35 * 3600.0 / 3600.0)
    rate.bed(False, 4600.0)
    assert rate.rate(9000.0) is None  # out of bed for over an hour


def test_follows_a_stream() -> None:
    night = generate("myoclonus_clusters", seed=3, minutes=30)
    stream = Stream(night.fs, night.channels)
    rate = RollingTwitchRate()
    step = int(night.fs * 60)
    rates, twitches = [], 0
    for start in range(0, len(night.samples), step):
        out = stream.feed(night.samples[start : start + step])
        rate.consume(out)
        twitches += sum(e.type.value == "twitch" for e in out.events)
        rates.append(rate.rate((start + step) / night.fs))
    assert twitches > 10
    given_rates = [r for r in rates if r is not None]
    assert given_rates
    assert all(math.isfinite(r) and r >= 0 for r in given_rates)
    # within the first hour the window holds the whole night: the rate is the night's rate so far
    assert given_rates[-1] * (len(night.samples) / night.fs) / 3600 == pytest.approx(
        twitches, rel=0.1
    )


def test_refuses_a_bucket_longer_than_the_window() -> None:
    with pytest.raises(ValueError, match="bucket_s"):
        RollingTwitchRate(window_s=60.0, bucket_s=120.0)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.floats(0, 10_000), max_size=100),
    st.lists(st.floats(0, 10_000), min_size=1, max_size=7),
    st.floats(0, 20_000),
)
def test_a_json_round_trip_gives_the_same_rate_now_and_later(
    onsets: list[float], edges: list[float], later: float
) -> None:
    """Saved and restored (e.g. across a Home Assistant restart), the rate goes on unchanged."""
    rate = RollingTwitchRate()
    for i, edge in enumerate(sorted(set(edges))):
        rate.bed(i % 2 == 0, edge)  # an odd number of edges leaves the last span open
    for t in sorted(onsets):
        rate.twitch(t)
    restored = RollingTwitchRate.from_json(json.loads(json.dumps(rate.to_json())))
    now = max([*onsets, *edges])
    assert restored.rate(now) == rate.rate(now)
    assert restored.rate(now + later) == rate.rate(now + later)


def test_malformed_saved_parts_are_left_out() -> None:
    restored = RollingTwitchRate.from_json(
        {"buckets": [[1, 2], ["x", 1], [3]], "spans": [[0.0, None], ["a", 1.0], 5]}
    )
    assert restored.to_json() == {"buckets": [[1, 2]], "spans": [[0.0, None]]}
