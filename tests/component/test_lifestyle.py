"""Lifestyle tracking: caffeine and exercise logs, bedtime regularity, night comparisons."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.sleep_myoclonus.history import NightRecord
from custom_components.sleep_myoclonus.lifestyle import (
    CaffeineIntake,
    Comparison,
    ExerciseSession,
    Intensity,
    LifestyleLog,
    bedtime_regularity,
    caffeine_comparison,
    exercise_comparison,
)

# fixed offsets only: no daylight saving time anywhere in these tests
TZ = dt.timezone(dt.timedelta(hours=1))
NEW_YORK_WINTER = dt.timezone(dt.timedelta(hours=-5))
KOLKATA = dt.timezone(dt.timedelta(hours=5, minutes=30))
CUTOFF = dt.time(14, 0)


def at(day: int, hour: int, minute: int = 0, tz: dt.tzinfo = TZ) -> dt.datetime:
    """A time in March 2026."""
    return dt.datetime(2026, 3, 1, hour, minute, tzinfo=tz) + dt.timedelta(days=day - 1)


def night(day: int) -> dt.date:
    """The date of March ``day`` (days past 31 run on into April)."""
    return dt.date(2026, 3, 1) + dt.timedelta(days=day - 1)


def record(
    day: int,
    first_in_bed: dt.datetime | None = None,
    twitches: int = 0,
    hours: float = 8.0,
) -> NightRecord:
    """A finished night of March ``day`` (its evening)."""
    return NightRecord(
        night=night(day),
        first_in_bed=first_in_bed,
        ended=at(day + 1, 8),
        twitch_count=twitches,
        hypnic_jerk_count=0,
        limb_movement_count=0,
        gross_movement_count=0,
        plm_movements=0,
        time_in_bed_s=hours * 3600.0,
        frames=0,
        clipped_frames=0,
    )


def bedtimes(*entries: tuple[int, int, int]) -> list[NightRecord]:
    """Records for (night day, hour, minute) bed entries; hours < 12 are the morning after."""
    return [
        record(day, at(day + 1 if hour < 12 else day, hour, minute))
        for day, hour, minute in entries
    ]


# -- the log -----------------------------------------------------------------------------------


def test_intensity_values() -> None:
    assert [i.value for i in Intensity] == ["light", "moderate", "vigorous"]
    assert Intensity("vigorous") is Intensity.VIGOROUS


def test_entries_are_frozen_and_validated() -> None:
    intake = CaffeineIntake(at(1, 9), 95)
    assert intake.mg == 95.0
    assert isinstance(intake.mg, float)
    with pytest.raises(dataclasses.FrozenInstanceError):
        intake.mg = 1.0  # type: ignore[misc]
    session = ExerciseSession(at(1, 18), 30, "moderate")  # type: ignore[arg-type]
    assert session.intensity is Intensity.MODERATE
    with pytest.raises(ValueError, match="timezone-aware"):
        CaffeineIntake(dt.datetime(2026, 3, 1, 9), 95)


@pytest.mark.parametrize("mg", [0, -5, 1000.01, math.nan, math.inf])
def test_caffeine_out_of_range_is_refused(mg: float) -> None:
    log = LifestyleLog()
    with pytest.raises(ValueError, match="caffeine must be more than 0 and at most 1000 mg"):
        log.log_caffeine(at(1, 9), mg)
    assert log.caffeine == ()


@pytest.mark.parametrize("minutes", [0, -1, 1440.5, math.nan])
def test_exercise_out_of_range_is_refused(minutes: float) -> None:
    log = LifestyleLog()
    with pytest.raises(ValueError, match="exercise duration must be more than 0 and at most 1440"):
        log.log_exercise(at(1, 18), minutes, Intensity.LIGHT)
    assert log.exercise == ()


def test_limits_themselves_are_accepted_and_bad_input_refused() -> None:
    log = LifestyleLog()
    log.log_caffeine(at(1, 9), 1000)
    log.log_exercise(at(1, 18), 1440, "vigorous")
    assert log.caffeine_on(night(1)) == 1000.0
    assert log.exercise_on(night(1)) == 1440.0
    with pytest.raises(ValueError, match="intensity must be one of light, moderate, vigorous"):
        log.log_exercise(at(1, 18), 30, "extreme")
    with pytest.raises(ValueError, match="timezone-aware"):
        log.log_exercise(dt.datetime(2026, 3, 1, 18), 30, "light")
    with pytest.raises(ValueError, match="timezone-aware"):
        log.log_caffeine(dt.datetime(2026, 3, 1, 9), 50)
    assert len(log.caffeine) == len(log.exercise) == 1


def test_caffeine_and_exercise_add_up_per_local_date() -> None:
    log = LifestyleLog()
    log.log_caffeine(at(1, 8), 80)
    log.log_caffeine(at(1, 15, 30), 40.5)
    log.log_caffeine(at(2, 0, 30), 60)  # after midnight: the next date
    log.log_caffeine(at(1, 0, 0), 10)  # first minute of the date counts
    log.log_exercise(at(1, 7), 20, Intensity.LIGHT)
    log.log_exercise(at(1, 19), 45, Intensity.VIGOROUS)
    log.log_exercise(at(3, 19), 30, Intensity.MODERATE)
    assert log.caffeine_on(night(1)) == 130.5
    assert log.caffeine_on(night(2)) == 60.0
    assert log.caffeine_on(night(3)) == 0.0
    assert log.exercise_on(night(1)) == 65.0
    assert log.exercise_on(night(2)) == 0.0
    assert log.exercise_on(night(3)) == 30.0


def test_the_date_is_the_one_in_the_time_zone_the_time_carries() -> None:
    log = LifestyleLog()
    evening_in_new_york = at(1, 23, 30, NEW_YORK_WINTER)  # 04:30 UTC on 2 March
    log.log_caffeine(evening_in_new_york, 100)
    assert log.caffeine_on(night(1)) == 100.0
    assert log.caffeine_on(night(2)) == 0.0
    assert log.late_caffeine_on(night(1), dt.time(23, 0))
    # the same instant handed over in UTC is read as 04:30 on 2 March
    utc_log = LifestyleLog()
    utc_log.log_caffeine(evening_in_new_york.astimezone(dt.UTC), 100)
    assert utc_log.caffeine_on(night(2)) == 100.0
    assert not utc_log.late_caffeine_on(night(1), dt.time(23, 0))


def test_late_caffeine_counts_from_the_cutoff_itself() -> None:
    log = LifestyleLog()
    log.log_caffeine(at(1, 13, 59), 80)
    assert not log.late_caffeine_on(night(1), CUTOFF)
    log.log_caffeine(at(1, 14, 0), 80)
    assert log.late_caffeine_on(night(1), CUTOFF)
    assert log.late_caffeine_on(night(1), CUTOFF.replace(tzinfo=dt.UTC))  # zone is ignored


def test_late_caffeine_on_another_date_does_not_count() -> None:
    log = LifestyleLog()
    log.log_caffeine(at(1, 9), 80)  # morning: not late
    log.log_caffeine(at(2, 0, 30), 80)  # after midnight: belongs to 2 March, before the cutoff
    log.log_caffeine(at(3, 20), 80)  # late, but on 3 March
    assert not log.late_caffeine_on(night(1), CUTOFF)
    assert not log.late_caffeine_on(night(2), CUTOFF)
    assert log.late_caffeine_on(night(3), CUTOFF)
    assert not LifestyleLog().late_caffeine_on(night(1), CUTOFF)


def test_last_caffeine_is_the_latest_by_time() -> None:
    log = LifestyleLog()
    assert log.last_caffeine() is None
    log.log_caffeine(at(3, 9), 60)
    log.log_caffeine(at(5, 16), 120)  # the latest
    log.log_caffeine(at(4, 11), 90)  # logged last, but earlier
    assert log.last_caffeine() == CaffeineIntake(at(5, 16), 120)
    # compared as instants, not clock readings: 16:00 in TZ is 15:00 UTC
    log.log_caffeine(at(5, 20, 0, KOLKATA), 30)  # later clock, but 14:30 UTC
    assert log.last_caffeine() == CaffeineIntake(at(5, 16), 120)
    log.log_caffeine(at(5, 21, 30, KOLKATA), 50)  # 16:00 UTC: the latest
    assert log.last_caffeine() == CaffeineIntake(at(5, 21, 30, KOLKATA), 50)
    assert [i.mg for i in log.caffeine] == [60.0, 90.0, 30.0, 120.0, 50.0]


def test_prune_drops_entries_older_than_keep_days() -> None:
    log = LifestyleLog()
    now = at(20, 12)
    log.log_caffeine(now - dt.timedelta(days=10, seconds=1), 50)
    log.log_caffeine(now - dt.timedelta(days=10), 60)  # exactly at the edge: kept
    log.log_caffeine(now, 70)
    log.log_exercise(now - dt.timedelta(days=11), 30, "light")
    log.log_exercise(now - dt.timedelta(days=2), 40, "moderate")
    assert log.prune(now, keep_days=10) == 2
    assert [i.mg for i in log.caffeine] == [60.0, 70.0]
    assert [s.minutes for s in log.exercise] == [40.0]
    assert log.prune(now, keep_days=10) == 0
    assert log.prune(now + dt.timedelta(days=91)) == 3  # default: 90 days
    assert log.caffeine == ()
    assert log.exercise == ()
    with pytest.raises(ValueError, match="keep_days must be positive"):
        log.prune(now, keep_days=0)
    with pytest.raises(ValueError, match="timezone-aware"):
        log.prune(dt.datetime(2026, 3, 20, 12))


def test_storage_round_trip_is_json_safe() -> None:
    log = LifestyleLog()
    log.log_caffeine(at(2, 16), 95)
    log.log_caffeine(at(1, 23, 30, NEW_YORK_WINTER), 63.5)
    log.log_exercise(at(2, 7), 25, Intensity.LIGHT)
    log.log_exercise(at(1, 18), 60, Intensity.VIGOROUS)
    stored = json.loads(json.dumps(log.as_dict()))
    assert stored["caffeine"][0] == {"when": "2026-03-01T23:30:00-05:00", "mg": 63.5}
    assert stored["exercise"][0] == {
        "when": "2026-03-01T18:00:00+01:00",
        "minutes": 60.0,
        "intensity": "vigorous",
    }
    again = LifestyleLog.from_dict(stored)
    assert again.caffeine == log.caffeine
    assert again.exercise == log.exercise
    assert again.caffeine[0].when.utcoffset() == dt.timedelta(hours=-5)
    assert again.as_dict() == log.as_dict()


@pytest.mark.parametrize("data", [None, [], "log", 3, {"caffeine": "x", "exercise": {"a": 1}}])
def test_storage_that_is_not_a_log_gives_an_empty_log(data: object) -> None:
    log = LifestyleLog.from_dict(data)
    assert log.caffeine == ()
    assert log.exercise == ()


def test_broken_stored_entries_are_skipped() -> None:
    good_when = "2026-03-01T20:00:00+01:00"
    data = {
        "caffeine": [
            {"when": good_when, "mg": 80},
            {"when": "2026-03-01T20:00:00", "mg": 80},  # naive
            {"when": "yesterday", "mg": 80},
            {"when": 1700000000, "mg": 80},
            {"when": good_when, "mg": "80"},
            {"when": good_when, "mg": True},
            {"when": good_when, "mg": 0},
            {"when": good_when, "mg": 5000},
            {"when": good_when},
            {"mg": 80},
            "coffee",
            None,
        ],
        "exercise": [
            {"when": good_when, "minutes": 30, "intensity": "moderate"},
            {"when": good_when, "minutes": 30, "intensity": "extreme"},
            {"when": good_when, "minutes": 30, "intensity": None},
            {"when": good_when, "minutes": 30},
            {"when": good_when, "minutes": -30, "intensity": "light"},
            {"when": good_when, "minutes": None, "intensity": "light"},
            {"when": None, "minutes": 30, "intensity": "light"},
            [good_when, 30, "light"],
        ],
    }
    log = LifestyleLog.from_dict(data)
    assert log.caffeine == (CaffeineIntake(at(1, 20), 80),)
    assert log.exercise == (ExerciseSession(at(1, 20), 30, Intensity.MODERATE),)


# -- bedtime regularity ------------------------------------------------------------------------


def test_regularity_wraps_at_midnight() -> None:
    records = bedtimes((1, 23, 30), (2, 23, 50), (3, 0, 10), (4, 0, 30))
    # unwrapped: 1410, 1430, 1450, 1470 min; mean 1440; squares 900+100+100+900 = 2000;
    # population variance 2000 / 4 = 500; spread sqrt(500) = 22.36 min
    spread = bedtime_regularity(records, night(4))
    assert spread == pytest.approx(math.sqrt(500), abs=1e-9)
    assert round(spread or 0, 1) == 22.4


def test_regularity_of_identical_bedtimes_is_zero() -> None:
    records = bedtimes((1, 22, 45), (2, 22, 45), (3, 22, 45))
    assert bedtime_regularity(records, night(3)) == 0.0


def test_regularity_needs_three_nights_with_a_bed_entry() -> None:
    records = [*bedtimes((1, 23, 0), (2, 23, 20)), record(3, None)]
    assert bedtime_regularity(records, night(3)) is None
    assert bedtime_regularity([], night(3)) is None
    records.append(record(4, at(4, 23, 40)))
    # 1380, 1400, 1420: population std sqrt((400 + 0 + 400) / 3)
    assert bedtime_regularity(records, night(4)) == pytest.approx(math.sqrt(800 / 3))


def test_regularity_only_looks_at_the_window() -> None:
    records = bedtimes((1, 20, 0), (8, 23, 0), (9, 23, 10), (10, 23, 20), (11, 2, 0))
    # night 1 is 8+ nights before night 10, night 11 is after it: only 1380, 1390, 1400 count
    assert bedtime_regularity(records, night(10)) == pytest.approx(math.sqrt(200 / 3))
    # a 10-night window reaches back to night 1 (1200 min): much larger spread
    # 1200, 1380, 1390, 1400: mean 1342.5, squares 20306.25 + 1406.25 + 2256.25 + 3306.25
    wide = bedtime_regularity(records, night(10), nights=10)
    assert wide == pytest.approx(math.sqrt(27275 / 4))
    assert bedtime_regularity(records, night(10), nights=2) is None


def test_regularity_reads_each_bed_entry_in_the_zone_it_carries() -> None:
    # travelling: 23:00 local every evening, in three different fixed offsets
    records = [
        record(1, at(1, 23, 0, TZ)),
        record(2, at(2, 23, 0, NEW_YORK_WINTER)),
        record(3, at(3, 23, 0, KOLKATA)),
    ]
    assert bedtime_regularity(records, night(3)) == 0.0
    in_utc = [
        dataclasses.replace(r, first_in_bed=at(r.night.day, 23, 0, zone).astimezone(dt.UTC))
        for r, zone in zip(records, (TZ, NEW_YORK_WINTER, KOLKATA), strict=True)
    ]
    # read in UTC the clock times are 22:00, 04:00 (next day) and 17:30: far apart
    assert (bedtime_regularity(in_utc, night(3)) or 0) > 200


# -- comparisons -------------------------------------------------------------------------------


def test_difference_needs_two_nights_on_each_side() -> None:
    assert Comparison(10.0, 2, 6.0, 2).difference == pytest.approx(4.0)
    assert Comparison(10.0, 1, 6.0, 9).difference is None
    assert Comparison(10.0, 9, 6.0, 1).difference is None
    assert Comparison(None, 0, 6.0, 5).difference is None
    assert Comparison(12.345, 3, 6.0, 4).as_attributes() == {
        "mean_with": 12.3,
        "nights_with": 3,
        "mean_without": 6.0,
        "nights_without": 4,
        "difference": 6.3,
    }
    assert Comparison(12.345, 1, None, 0).as_attributes() == {
        "mean_with": 12.3,
        "nights_with": 1,
        "mean_without": None,
        "nights_without": 0,
        "difference": None,
    }


def test_caffeine_comparison_groups_nights_by_late_caffeine_on_their_evening() -> None:
    log = LifestyleLog()
    log.log_caffeine(at(1, 16), 100)  # late: night 1
    log.log_caffeine(at(2, 14, 0), 60)  # at the cutoff: night 2
    log.log_caffeine(at(3, 9), 200)  # morning only: night 3 is without
    log.log_caffeine(at(5, 0, 30), 80)  # after midnight of night 4, morning of 5: both without
    records = [
        record(1, twitches=96),  # 12/h
        record(2, twitches=80),  # 10/h
        record(3, twitches=40),  # 5/h
        record(4, twitches=56),  # 7/h
        record(5, twitches=24),  # 3/h
        record(6, twitches=0, hours=0.0),  # no time in bed: left out
    ]
    comparison = caffeine_comparison(records, log, CUTOFF)
    assert comparison == Comparison(11.0, 2, 5.0, 3)
    assert comparison.difference == pytest.approx(6.0)
    assert comparison.as_attributes()["difference"] == 6.0
    # a later cutoff: only night 1 is late, one night is not enough for a difference
    later = caffeine_comparison(records, log, dt.time(15, 0))
    assert later == Comparison(12.0, 1, 6.25, 4)
    assert later.difference is None


def test_nights_without_time_in_bed_are_left_out_of_both_groups() -> None:
    log = LifestyleLog()
    log.log_caffeine(at(1, 20), 100)
    records = [record(1, twitches=0, hours=0.0), record(2, twitches=0, hours=0.0)]
    assert caffeine_comparison(records, log, CUTOFF) == Comparison(None, 0, None, 0)
    assert caffeine_comparison([], log, CUTOFF) == Comparison(None, 0, None, 0)


def test_comparisons_look_at_the_last_30_nights_only() -> None:
    log = LifestyleLog()
    for day in (1, 2, 3):
        log.log_exercise(at(day, 18), 45, Intensity.MODERATE)
    # nights 1-3 had exercise but are more than 30 nights before the newest (night 33)
    records = [record(day, twitches=80) for day in (1, 2, 3)]
    records += [record(day, twitches=16 * (day % 2 + 1)) for day in range(31, 34)]  # night 33
    recent = exercise_comparison(records, log)
    assert recent.nights_with == 0
    assert recent.nights_without == 3
    wide = exercise_comparison(records, log, nights=33)
    assert wide.nights_with == 3
    assert wide.mean_with == pytest.approx(10.0)
    earlier = exercise_comparison(records, log, nights=2, until=night(3))
    assert earlier == Comparison(10.0, 2, None, 0)


def test_exercise_comparison_groups_nights_by_exercise_on_their_date() -> None:
    log = LifestyleLog()
    log.log_exercise(at(1, 7), 30, Intensity.LIGHT)  # morning counts for the same date
    log.log_exercise(at(2, 19), 60, Intensity.VIGOROUS)
    log.log_exercise(at(4, 0, 30), 20, Intensity.LIGHT)  # after midnight: date 4, not night 3
    records = [
        record(1, twitches=16),  # 2/h
        record(2, twitches=32),  # 4/h
        record(3, twitches=64),  # 8/h
        record(5, twitches=96),  # 12/h
        record(4, twitches=8, hours=2.0),  # 4/h, exercise that date
    ]
    comparison = exercise_comparison(records, log)
    assert comparison.nights_with == 3
    assert comparison.mean_with == pytest.approx((2 + 4 + 4) / 3)
    assert comparison.nights_without == 2
    assert comparison.mean_without == pytest.approx(10.0)
    assert comparison.difference == pytest.approx(10 / 3 - 10)
    assert comparison.as_attributes()["difference"] == -6.7


# -- invariants --------------------------------------------------------------------------------

_BEDTIME_MINUTES = st.lists(st.integers(21 * 60, 26 * 60), min_size=3, max_size=7)


def _records_from_minutes(minutes: list[int], shift: int = 0) -> list[NightRecord]:
    return [
        record(day, dt.datetime(2026, 3, day, tzinfo=TZ) + dt.timedelta(minutes=m + shift))
        for day, m in enumerate(minutes, start=1)
    ]


@settings(max_examples=60, deadline=None)
@given(minutes=_BEDTIME_MINUTES, shift=st.integers(-180, 180), seed=st.integers(0, 2**16))
def test_regularity_ignores_a_common_shift_and_the_order(
    minutes: list[int], shift: int, seed: int
) -> None:
    last = night(len(minutes))
    expected = bedtime_regularity(_records_from_minutes(minutes), last)
    shifted = _records_from_minutes(minutes, shift)  # 18:00 to 05:00: may cross midnight
    random.Random(seed).shuffle(shifted)
    spread = bedtime_regularity(shifted, last)
    assert expected is not None
    assert spread is not None
    assert spread == pytest.approx(expected, abs=1e-6)
    assert 0.0 <= spread <= (max(minutes) - min(minutes)) / 2 + 1e-9


_STORED_AMOUNTS = st.floats(0.001, 1000.0, allow_nan=False)


@settings(max_examples=40, deadline=None)
@given(
    intakes=st.lists(st.tuples(st.integers(0, 60 * 24 * 20), _STORED_AMOUNTS), max_size=20),
    offset_minutes=st.sampled_from([-300, 0, 60, 330, 840]),
)
def test_daily_sums_and_storage_agree_with_the_entries(
    intakes: list[tuple[int, float]], offset_minutes: int
) -> None:
    tz = dt.timezone(dt.timedelta(minutes=offset_minutes))
    start = dt.datetime(2026, 3, 1, tzinfo=tz)
    log = LifestyleLog()
    for minute, mg in intakes:
        log.log_caffeine(start + dt.timedelta(minutes=minute), mg)
    days = {start.date() + dt.timedelta(days=d) for d in range(21)}
    assert math.fsum(log.caffeine_on(day) for day in days) == pytest.approx(
        math.fsum(mg for _, mg in intakes)
    )
    again = LifestyleLog.from_dict(json.loads(json.dumps(log.as_dict())))
    assert again.caffeine == log.caffeine
    assert all(again.caffeine_on(day) == log.caffeine_on(day) for day in days)
