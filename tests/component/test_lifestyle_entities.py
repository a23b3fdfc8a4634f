"""Lifestyle sensors and last night in Home Assistant: what they show, what survives a restart."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sleep_myoclonus.const import (
    CONF_CAFFEINE_CUTOFF,
    DEFAULT_OPTIONS,
    DOMAIN,
    STORE_VERSION,
)
from custom_components.sleep_myoclonus.history import NightRecord
from custom_components.sleep_myoclonus.lifestyle import (
    Comparison,
    LifestyleLog,
    bedtime_regularity,
    caffeine_comparison,
    exercise_comparison,
)
from custom_components.sleep_myoclonus.nightlog import NightLog

from .bed_player import EVENING, act, advance, bed_entry, play, setup_bed, state
from .virtual_night import night_messages

pytestmark = pytest.mark.usefixtures("mqtt_mock")

PACIFIC = ZoneInfo("US/Pacific")  # the test instance's time zone
LIFESTYLE_SENSORS = (
    "caffeine_today",
    "last_caffeine",
    "exercise_today",
    "bedtime_regularity",
    "late_caffeine_effect",
    "exercise_effect",
)


def local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """Local time on November ``day``, 2026 (days past 30 run on into December)."""
    return dt.datetime(2026, 11, 1, hour, minute, tzinfo=PACIFIC) + dt.timedelta(days=day - 1)


def record(day: int, bedtime: tuple[int, int] | None, twitches: int, hours: float) -> NightRecord:
    """The finished night of November ``day`` (its evening); bedtime after midnight as 24:xx."""
    first = None
    if bedtime is not None:
        first = local(day, 0) + dt.timedelta(hours=bedtime[0], minutes=bedtime[1])
    return NightRecord(
        night=dt.date(2026, 11, day),
        first_in_bed=first,
        ended=local(day + 1, 7),
        twitch_count=twitches,
        hypnic_jerk_count=1,
        limb_movement_count=3 * twitches,
        gross_movement_count=2,
        plm_movements=twitches,
        time_in_bed_s=hours * 3600.0,
        frames=100,
        clipped_frames=0,
    )


def saved(
    hass_storage: dict[str, Any], entry: MockConfigEntry, key_suffix: str, data: dict[str, Any]
) -> None:
    """Put what a previous Home Assistant run saved for ``entry`` into the test storage."""
    key = f"{DOMAIN}.{entry.entry_id}{key_suffix}"
    hass_storage[key] = {"version": STORE_VERSION, "minor_version": 1, "key": key, "data": data}


def shown_comparison(hass: HomeAssistant, entity_id: str) -> tuple[str, dict[str, Any]]:
    """A comparison sensor's state and its comparison attributes."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    names = ("mean_with", "nights_with", "mean_without", "nights_without", "difference")
    return current.state, {name: current.attributes[name] for name in names}


def expected_comparison(comparison: Comparison) -> tuple[str, dict[str, Any]]:
    """What a comparison sensor must show for ``comparison``."""
    figures = comparison.as_attributes()
    difference = figures["difference"]
    return ("unknown" if difference is None else str(difference)), figures


def twelve_nights() -> tuple[list[NightRecord], LifestyleLog]:
    """Twelve nights (one without time in bed) and a log with late coffee and exercise days."""
    bedtimes = [(22, 10), (23, 50), (24, 20), (22, 45), (23, 5), (23, 30)]
    records = [
        record(day, bedtimes[day % len(bedtimes)], twitches=4 + (day * 7) % 11, hours=6.5 + day % 3)
        for day in range(8, 20)
    ]
    records[4] = dataclasses.replace(records[4], time_in_bed_s=0.0, first_in_bed=None)
    log = LifestyleLog()
    for day, hour in ((9, 15), (11, 9), (12, 17), (15, 14), (17, 10), (18, 20), (19, 13)):
        log.log_caffeine(local(day, hour), 80.0)
    for day, minutes in ((8, 30), (10, 45), (13, 20), (16, 60), (19, 15)):
        log.log_exercise(local(day, 7), minutes, "vigorous")
    return records, log


async def test_lifestyle_sensors_show_what_lifestyle_computes_for_the_stored_nights(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
) -> None:
    freezer.move_to(local(20, 16))
    records, log = twelve_nights()
    entry = bed_entry(entry_data)
    saved(
        hass_storage,
        entry,
        ".nights",
        {"history": [r.as_dict() for r in records], "lifestyle": log.as_dict()},
    )
    await setup_bed(hass, entry)
    spread = bedtime_regularity(records, records[-1].night)
    assert spread is not None
    assert float(state(hass, "sensor.bedroom_bedtime_regularity")) == round(spread, 1)
    caffeine = caffeine_comparison(records, log, dt.time(14))
    assert caffeine.difference is not None
    assert caffeine.nights_with + caffeine.nights_without == 11  # the night without bed time
    assert shown_comparison(hass, "sensor.bedroom_late_caffeine_effect") == expected_comparison(
        caffeine
    )
    effect = hass.states.get("sensor.bedroom_late_caffeine_effect")
    assert effect is not None
    assert effect.attributes["cutoff"] == "14:00:00"
    assert effect.attributes["unit_of_measurement"] == "twitches/h"
    exercise = exercise_comparison(records, log)
    assert exercise.difference is not None
    assert shown_comparison(hass, "sensor.bedroom_exercise_effect") == expected_comparison(exercise)
    last = hass.states.get("sensor.bedroom_last_night_twitch_rate")
    assert last is not None
    newest = records[-1]
    assert newest.twitches_per_hour is not None
    assert float(last.state) == round(newest.twitches_per_hour, 1)
    assert last.attributes["night"] == "2026-11-19"
    assert last.attributes["twitches"] == newest.twitch_count
    assert state(hass, "sensor.bedroom_caffeine_today") == "0.0"
    assert (
        state(hass, "sensor.bedroom_last_caffeine") == local(19, 13).astimezone(dt.UTC).isoformat()
    )
    # a later cutoff regroups the nights: coffee at 14:00 and 15:00 is no longer late
    hass.config_entries.async_update_entry(
        entry, options={**DEFAULT_OPTIONS, CONF_CAFFEINE_CUTOFF: "16:00:00"}
    )
    await hass.async_block_till_done()
    later = caffeine_comparison(records, log, dt.time(16))
    assert later.nights_with != caffeine.nights_with
    assert shown_comparison(hass, "sensor.bedroom_late_caffeine_effect") == expected_comparison(
        later
    )


async def test_the_lifestyle_read_outs_become_numbers_once_enough_nights_exist(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
) -> None:
    """Two bedtimes and one night without late caffeine are too few; the third night ends by
    hand and all three read-outs appear."""
    freezer.move_to(local(20, 9))  # the morning after night 19, still inside its window
    records = [
        record(16, (22, 30), 10, 7.0),
        record(17, (23, 40), 20, 8.0),
        record(18, None, 5, 6.0),
    ]
    log = LifestyleLog()
    log.log_caffeine(local(16, 16), 100.0)
    log.log_caffeine(local(17, 18), 60.0)
    log.log_exercise(local(18, 12), 40.0, "light")
    entry = bed_entry(entry_data)
    tonight = {
        "night": "2026-11-19",
        "counts": {"twitch": 14, "limb_movement": 20},
        "plm_movements": 7,
        "in_bed_s": 7 * 3600.0,
        "first_in_bed": local(19, 23, 15).isoformat(),
    }
    saved(hass_storage, entry, "", {"tally": tonight, "last_seen": local(20, 8, 55).isoformat()})
    saved(
        hass_storage,
        entry,
        ".nights",
        {"history": [r.as_dict() for r in records], "lifestyle": log.as_dict()},
    )
    await setup_bed(hass, entry)
    await advance(hass, freezer, 5)
    for key in ("bedtime_regularity", "late_caffeine_effect", "exercise_effect"):
        assert state(hass, f"sensor.bedroom_{key}") == "unknown", key
    assert shown_comparison(hass, "sensor.bedroom_late_caffeine_effect")[1] == {
        "mean_with": 2.0,  # (10/7 + 20/8) / 2
        "nights_with": 2,
        "mean_without": 0.8,
        "nights_without": 1,
        "difference": None,
    }
    ended = dt.datetime.now(dt.UTC)
    await act(hass, "end_night", config_entry_id=entry.entry_id)
    filed = dataclasses.replace(
        record(19, (23, 15), 14, 7.0),
        ended=ended,
        hypnic_jerk_count=0,
        limb_movement_count=20,
        gross_movement_count=0,
        plm_movements=7,
        frames=0,
    )
    history = [*records, filed]
    assert entry.runtime_data.journal.history == history
    spread = bedtime_regularity(history, filed.night)
    assert spread is not None
    assert float(state(hass, "sensor.bedroom_bedtime_regularity")) == round(spread, 1)
    caffeine = caffeine_comparison(history, log, dt.time(14))
    assert (caffeine.nights_with, caffeine.nights_without) == (2, 2)
    assert shown_comparison(hass, "sensor.bedroom_late_caffeine_effect") == expected_comparison(
        caffeine
    )
    exercise = exercise_comparison(history, log)
    assert (exercise.nights_with, exercise.nights_without) == (1, 3)
    assert shown_comparison(hass, "sensor.bedroom_exercise_effect") == (
        "unknown",
        exercise.as_attributes(),
    )
    assert state(hass, "sensor.bedroom_last_night_twitch_rate") == "2.0"


def lifestyle_states(hass: HomeAssistant) -> dict[str, Any]:
    """The lifestyle sensors' and last night's states and attributes."""
    shown: dict[str, Any] = {}
    for key in (*LIFESTYLE_SENSORS, "last_night_twitch_rate"):
        current = hass.states.get(f"sensor.bedroom_{key}")
        assert current is not None, key
        shown[key] = (current.state, dict(current.attributes))
    return shown


async def test_lifestyle_last_night_and_reports_survive_a_reload_and_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
    tmp_path: Path,
) -> None:
    hass.config.config_dir = str(tmp_path)  # PHACC's is inside site-packages
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    eid = entry.entry_id
    await setup_bed(hass, entry)

    await act(hass, "log_caffeine", config_entry_id=eid, mg=95, time="2026-11-26T15:30:00")
    await act(hass, "log_exercise", config_entry_id=eid, minutes=40, time="2026-11-26T18:00:00")
    await play(hass, freezer, night_messages())
    await act(hass, "end_night", config_entry_id=eid)
    before = lifestyle_states(hass)
    assert before["caffeine_today"][0] == "95.0"
    assert before["exercise_today"][0] == "40.0"
    assert before["last_night_twitch_rate"][1]["night"] == "2026-11-26"
    assert before["last_night_twitch_rate"][0] not in ("unknown", "unavailable")
    history = entry.runtime_data.journal.history
    await advance(hass, freezer, 5)  # see the next test for a reload at once
    assert await hass.config_entries.async_reload(eid)
    await hass.async_block_till_done()
    assert lifestyle_states(hass) == before
    assert entry.runtime_data.journal.history == history
    first = await act(hass, "export_night", config_entry_id=eid)
    assert first["night"] == "2026-11-26"
    # Home Assistant stops and starts again an hour later: everything comes from storage
    assert await hass.config_entries.async_unload(eid)
    stored = json.loads(json.dumps(hass_storage[f"{DOMAIN}.{eid}.nights"]["data"]))
    assert [night["night"] for night in stored["history"]] == ["2026-11-26"]
    assert (
        hass_storage[f"{DOMAIN}.{eid}.reports"]["data"]["2026-11-26"]["summary"]
        == (first["summary"])
    )
    freezer.tick(3600)
    assert await hass.config_entries.async_setup(eid)
    await hass.async_block_till_done()
    assert lifestyle_states(hass) == before
    assert entry.runtime_data.journal.history == history
    again = await act(
        hass, "export_night", config_entry_id=eid, night="2026-11-26", directory="after_restart"
    )
    assert again["summary"] == first["summary"]
    assert Path(again["files"][1]).read_text("utf-8") == Path(first["files"][1]).read_text("utf-8")


async def test_a_new_run_exports_a_report_saved_by_the_last_one(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
    tmp_path: Path,
) -> None:
    hass.config.config_dir = str(tmp_path)
    freezer.move_to(local(20, 16))
    records, log = twelve_nights()
    night_log = NightLog(origin=local(19, 23).astimezone(dt.UTC), in_bed=[(0.0, 7 * 3600.0)])
    night_log.events.append(
        {"type": "twitch", "onset": 61.5, "duration": 0.2, "channel": "legs", "amplitude": 3.0}
    )
    report = night_log.report("bedroom", dt.date(2026, 11, 19))
    entry = bed_entry(entry_data)
    saved(
        hass_storage,
        entry,
        ".nights",
        {"history": [r.as_dict() for r in records], "lifestyle": log.as_dict()},
    )
    saved(hass_storage, entry, ".reports", {"2026-11-19": report})
    await setup_bed(hass, entry)
    response = await act(hass, "export_night", config_entry_id=entry.entry_id)
    assert response is not None
    assert response["night"] == "2026-11-19"
    files = [Path(str(path)) for path in response["files"]]  # type: ignore[union-attr]
    assert [f.name for f in files] == [f"bedroom_2026-11-19.{x}" for x in ("csv", "json", "edf")]
    assert json.loads(files[1].read_text("utf-8")) == report
    assert files[2].read_bytes()[192:197] == b"EDF+C"


async def test_a_report_survives_a_reload_right_after_the_night_ended(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
    tmp_path: Path,
) -> None:
    hass.config.config_dir = str(tmp_path)
    freezer.move_to(local(20, 9))
    entry = bed_entry(entry_data)
    tonight = {"night": "2026-11-19", "counts": {"twitch": 3}, "in_bed_s": 3600.0}
    saved(hass_storage, entry, "", {"tally": tonight, "last_seen": local(20, 8, 55).isoformat()})
    await setup_bed(hass, entry)
    await act(hass, "end_night", config_entry_id=entry.entry_id)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    response = await act(hass, "export_night", config_entry_id=entry.entry_id)
    assert response is not None
    assert response["night"] == "2026-11-19"
