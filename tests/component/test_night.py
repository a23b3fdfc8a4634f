"""Tonight's counters: the night window, midnight, new nights, naps, restore."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_components.sleep_myoclonus.const import DEFAULT_OPTIONS, BedEventType
from custom_components.sleep_myoclonus.night import ClockWindow, NightTally
from custom_components.sleep_myoclonus.settings import quiet_hours

TZ = ZoneInfo("Europe/Berlin")
WINDOW = ClockWindow.parse("18:00", "12:00")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def test_a_night_is_named_after_the_evening_its_window_opened() -> None:
    assert WINDOW.night_of(at(26, 23, 59)) == dt.date(2026, 11, 26)
    assert WINDOW.night_of(at(27, 0, 1)) == dt.date(2026, 11, 26)
    assert WINDOW.night_of(at(27, 11, 59)) == dt.date(2026, 11, 26)
    assert WINDOW.night_of(at(27, 12, 0)) is None
    assert WINDOW.night_of(at(27, 18, 0)) == dt.date(2026, 11, 27)
    day_sleeper = ClockWindow.parse("08:00", "16:00")
    assert day_sleeper.night_of(at(27, 9)) == dt.date(2026, 11, 27)
    assert day_sleeper.night_of(at(27, 17)) is None
    with pytest.raises(ValueError, match="same time"):
        ClockWindow.parse("22:00", "22:00")


def test_midnight_neither_resets_nor_double_counts() -> None:
    tally = NightTally(WINDOW)
    assert tally.got_into_bed(at(26, 22, 30))
    assert tally.movement(BedEventType.TWITCH, at(26, 23, 59))
    assert not tally.tick(at(27, 0, 0))
    assert tally.movement(BedEventType.TWITCH, at(27, 0, 1))
    assert tally.counts[BedEventType.TWITCH] == 2
    assert tally.night == dt.date(2026, 11, 26)
    tally.got_out_of_bed(at(27, 6, 30))
    assert tally.time_in_bed_s(at(27, 9)) == 8 * 3600
    assert tally.last_twitch == at(27, 0, 1)


def test_counters_stay_until_the_next_night_starts_and_then_reset() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 23))
    tally.movement(BedEventType.LIMB_MOVEMENT, at(27, 1))
    tally.got_out_of_bed(at(27, 7))
    # the next afternoon: last night's counts still show
    assert tally.counts[BedEventType.LIMB_MOVEMENT] == 1
    assert not tally.got_into_bed(at(27, 14))  # a nap: not a night, not counted
    assert not tally.movement(BedEventType.LIMB_MOVEMENT, at(27, 14, 30))
    tally.got_out_of_bed(at(27, 15))
    assert tally.time_in_bed_s(at(27, 16)) == 8 * 3600
    assert tally.got_into_bed(at(27, 22))
    assert tally.counts[BedEventType.LIMB_MOVEMENT] == 0
    assert tally.night == dt.date(2026, 11, 27)
    assert tally.time_in_bed_s(at(27, 23)) == 3600


def test_getting_back_into_bed_the_same_night_continues_it() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 23))
    tally.movement(BedEventType.GROSS_MOVEMENT, at(27, 2))
    tally.got_out_of_bed(at(27, 3))
    assert not tally.got_into_bed(at(27, 3, 10))
    tally.movement(BedEventType.GROSS_MOVEMENT, at(27, 4))
    tally.got_out_of_bed(at(27, 7, 10))
    assert tally.counts[BedEventType.GROSS_MOVEMENT] == 2
    assert tally.time_in_bed_s(at(27, 8)) == 8 * 3600


def test_in_bed_when_the_window_opens_starts_the_night_then() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 17))  # before the window: not counted
    assert not tally.movement(BedEventType.TWITCH, at(26, 17, 30))
    assert tally.tick(at(26, 18, 5))
    assert tally.movement(BedEventType.TWITCH, at(26, 18, 10))
    assert tally.counts[BedEventType.TWITCH] == 1
    assert tally.time_in_bed_s(at(26, 19, 5)) == 3600


def test_plm_movements_count_each_series_member_once() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 23))
    for members in (4, 5, 5, 6):
        tally.plm_progress(members, at(27, 1))
    tally.plm_progress(0, at(27, 1, 30))  # series broken
    tally.plm_progress(4, at(27, 2))  # a new one
    assert tally.plm_movements == 10
    assert tally.plm_index(at(27, 0)) == pytest.approx(10.0)
    assert tally.plm_index(at(26, 23, 10)) is None  # under half an hour in bed


def test_the_tally_survives_a_json_round_trip() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 23))
    tally.movement(BedEventType.TWITCH, at(27, 1))
    tally.movement(BedEventType.HYPNIC_JERK, at(26, 23, 5))
    tally.plm_progress(4, at(27, 2))
    stored = json.loads(json.dumps(tally.as_dict()))
    restored = NightTally.from_dict(WINDOW, stored)
    assert restored.as_dict() == tally.as_dict()
    restored.plm_progress(5, at(27, 2, 1))  # the running series goes on from where it was
    assert restored.plm_movements == 5
    empty = NightTally.from_dict(WINDOW, {"counts": "junk", "in_bed_since": "not a time"})
    assert empty.night is None
    assert empty.in_bed_since is None
    assert sum(empty.counts.values()) == 0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 4 * 24 * 60), st.sampled_from(["in", "out", "move"])),
        max_size=40,
    )
)
def test_counts_never_go_down_within_a_night(steps: list[tuple[int, str]]) -> None:
    """Whatever happens, a night's counts only grow, and change night only on a new window."""
    tally = NightTally(WINDOW)
    start = at(24, 0)
    night, total = tally.night, 0
    for minute, action in sorted(steps):
        when = start + dt.timedelta(minutes=minute)
        if action == "in":
            tally.got_into_bed(when)
        elif action == "out":
            tally.got_out_of_bed(when)
        else:
            tally.movement(BedEventType.TWITCH, when)
        now_total = tally.counts[BedEventType.TWITCH]
        if tally.night == night:
            assert now_total >= total
        else:
            assert tally.night == WINDOW.night_of(when)
        night, total = tally.night, now_total


def test_quiet_hours_are_a_clock_window_and_empty_ones_are_never_quiet() -> None:
    quiet = quiet_hours(DEFAULT_OPTIONS)
    assert quiet is not None
    assert quiet.contains(at(26, 23))
    assert quiet.contains(at(27, 6, 59))
    assert not quiet.contains(at(27, 7))
    assert not quiet.contains(at(27, 15))
    assert quiet_hours({**DEFAULT_OPTIONS, "quiet_start": "07:00:00"}) is None


# -- the end of a night, and the overrides -----------------------------------------------------


def test_a_night_ends_when_its_window_has_closed_with_nobody_in_bed() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 23))
    tally.movement(BedEventType.TWITCH, at(27, 1))
    for _ in range(3):
        tally.frame(clipped=False)
    tally.frame(clipped=True)
    tally.got_out_of_bed(at(27, 7))
    assert not tally.tick(at(27, 11, 59))  # the window is still open: a return to bed continues
    assert tally.pop_finished() == []
    assert tally.tick(at(27, 12))
    [record] = tally.pop_finished()
    assert record.night == dt.date(2026, 11, 26)
    assert record.first_in_bed == at(26, 23)
    assert record.ended == at(27, 12)
    assert record.twitch_count == 1
    assert record.time_in_bed_s == 8 * 3600
    assert (record.frames, record.clipped_frames) == (4, 1)
    assert not tally.running
    assert not tally.tick(at(27, 13))  # ended once
    assert tally.pop_finished() == []
    # last night's counts still show until the next night starts
    assert tally.counts[BedEventType.TWITCH] == 1


def test_in_bed_at_the_end_of_the_window_the_night_ends_on_getting_up() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 23))
    assert not tally.tick(at(27, 12, 30))
    tally.got_out_of_bed(at(27, 13))
    assert tally.tick(at(27, 13))
    [record] = tally.pop_finished()
    assert record.time_in_bed_s == 14 * 3600


def test_the_next_night_ends_the_previous_one_if_its_end_was_missed() -> None:
    """Home Assistant was away when the window closed: the next bed entry files the night."""
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 23))
    tally.got_out_of_bed(at(27, 7))
    assert tally.got_into_bed(at(27, 22))
    [record] = tally.pop_finished()
    assert record.night == dt.date(2026, 11, 26)
    assert record.time_in_bed_s == 8 * 3600
    assert tally.night == dt.date(2026, 11, 27)
    assert tally.first_in_bed == at(27, 22)


def test_in_bed_as_the_next_window_opens_files_the_night_up_to_then() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 23))
    assert tally.tick(at(27, 18))  # never got up (or the exit was missed)
    [record] = tally.pop_finished()
    assert record.time_in_bed_s == 19 * 3600
    assert tally.night == dt.date(2026, 11, 27)
    assert tally.counting
    assert tally.first_in_bed == at(27, 18)


def test_end_night_while_in_bed_stops_counting_until_the_next_night() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 23))
    record = tally.close(at(27, 5))
    assert record is not None
    assert record.time_in_bed_s == 6 * 3600
    assert tally.pop_finished() == [record]
    assert tally.close(at(27, 6)) is None  # nothing runs
    assert not tally.movement(BedEventType.TWITCH, at(27, 6))
    assert tally.time_in_bed_s(at(27, 8)) == 6 * 3600
    tally.got_out_of_bed(at(27, 8))
    tally.got_into_bed(at(27, 9))  # back to bed in the same window: the ended night stays ended
    assert not tally.counting
    assert tally.got_into_bed(at(27, 23)) is False  # still in bed since 09:00
    tally.got_out_of_bed(at(27, 23, 30))
    assert tally.got_into_bed(at(27, 23, 45))  # the next night
    assert tally.counting


def test_start_night_outside_the_window_counts_until_end_night() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(26, 23))
    tally.movement(BedEventType.TWITCH, at(27, 1))
    tally.got_out_of_bed(at(27, 7))
    tally.start(at(27, 14))  # a night shift's sleep: the running night ends first
    [previous] = tally.pop_finished()
    assert previous.night == dt.date(2026, 11, 26)
    assert tally.night == dt.date(2026, 11, 27)  # named after today outside the window
    assert tally.forced
    assert tally.counts[BedEventType.TWITCH] == 0
    tally.got_into_bed(at(27, 14, 30))
    assert tally.counting
    assert tally.movement(BedEventType.TWITCH, at(27, 15))
    tally.got_out_of_bed(at(27, 16, 30))
    assert not tally.tick(at(27, 17))  # not ended by the clock
    record = tally.close(at(27, 17))
    assert record is not None
    assert record.twitch_count == 1
    assert record.time_in_bed_s == 2 * 3600
    assert record.first_in_bed == at(27, 14, 30)


def test_start_night_while_in_bed_counts_from_now() -> None:
    tally = NightTally(WINDOW)
    tally.got_into_bed(at(27, 13))  # a nap: not counted
    tally.start(at(27, 14))
    assert tally.counting
    assert tally.first_in_bed == at(27, 14)
    assert tally.pop_finished() == []  # no night was running
    tally.got_out_of_bed(at(27, 15))
    assert tally.time_in_bed_s(at(27, 16)) == 3600


def test_an_ended_or_started_night_survives_a_json_round_trip() -> None:
    tally = NightTally(WINDOW)
    tally.start(at(27, 14))
    tally.got_into_bed(at(27, 14, 30))
    tally.frame(clipped=True)
    restored = NightTally.from_dict(WINDOW, json.loads(json.dumps(tally.as_dict())))
    assert restored.forced
    assert restored.first_in_bed == at(27, 14, 30)
    assert (restored.frames, restored.clipped_frames) == (1, 1)
    restored.close(at(27, 16))
    again = NightTally.from_dict(WINDOW, json.loads(json.dumps(restored.as_dict())))
    assert again.ended
    assert not again.running
    assert again.close(at(27, 17)) is None
