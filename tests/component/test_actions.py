"""The actions: log caffeine and exercise, start and end a night, export a night's report."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
import voluptuous as vol
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.translation import async_get_translations
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.sleep_myoclonus.const import (
    CONF_CAFFEINE_CUTOFF,
    DEFAULT_OPTIONS,
    DOMAIN,
    BedEventType,
)

from .bed_player import (
    EVENING,
    act,
    advance,
    bed_entry,
    bus_events,
    play,
    setup_bed,
    state,
    stored_night,
)
from .virtual_night import night_messages

pytestmark = pytest.mark.usefixtures("mqtt_mock")

TRANSLATIONS = Path(__file__).parents[2] / "custom_components" / DOMAIN / "translations" / "en.json"
EXCEPTIONS: dict[str, dict[str, str]] = json.loads(TRANSLATIONS.read_text("utf-8"))["exceptions"]
LOCAL_16H = EVENING - dt.timedelta(hours=6)  # 16:00 local, 2026-11-26


async def refused(hass: HomeAssistant, action: str, key: str, **data: Any) -> dict[str, str]:
    """Call an action that must be refused with translation ``key``; return the placeholders.

    The message Home Assistant shows is the one in translations/en.json, filled in (Home
    Assistant drops its final full stop).
    """
    await async_get_translations(hass, "en", "exceptions", {DOMAIN})
    with pytest.raises(ServiceValidationError) as caught:
        await act(hass, action, **data)
    error = caught.value
    assert (error.translation_domain, error.translation_key) == (DOMAIN, key)
    placeholders = error.translation_placeholders or {}
    assert str(error) == EXCEPTIONS[key]["message"].rstrip(".").format(**placeholders)
    return placeholders


def logged(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The bus events of one type, without the device id, entity id and type."""
    return [
        {k: v for k, v in e.items() if k not in ("device_id", "entity_id", "type")}
        for e in events
        if e["type"] == kind
    ]


async def test_log_caffeine_updates_the_sensors_and_announces_late_intakes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(LOCAL_16H)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    events = bus_events(hass)
    assert state(hass, "sensor.bedroom_caffeine_today") == "0.0"
    assert state(hass, "sensor.bedroom_last_caffeine") == "unknown"
    eid = entry.entry_id
    await act(hass, "log_caffeine", config_entry_id=eid, mg=95)  # now
    await act(hass, "log_caffeine", config_entry_id=eid, mg=60, time="2026-11-26T13:59:00")
    await act(hass, "log_caffeine", config_entry_id=eid, mg="40", time="2026-11-26 14:00")
    await act(hass, "log_caffeine", config_entry_id=eid, mg=30, time="2026-11-26T22:30:00Z")
    await act(hass, "log_caffeine", config_entry_id=eid, mg=200, time="2026-11-25T15:00:00")
    await advance(hass, freezer, 5)
    assert logged(events, "caffeine_logged") == [
        {"mg": 95.0, "time": "2026-11-26T16:00:00-08:00", "late": True},
        {"mg": 60.0, "time": "2026-11-26T13:59:00-08:00", "late": False},  # naive: local time
        {"mg": 40.0, "time": "2026-11-26T14:00:00-08:00", "late": True},  # the cutoff itself
        {"mg": 30.0, "time": "2026-11-26T14:30:00-08:00", "late": True},  # UTC, shown local
        {"mg": 200.0, "time": "2026-11-25T15:00:00-08:00", "late": True},
    ]
    assert {e["device_id"] for e in events} == {entry.runtime_data.device_id} != {None}
    assert state(hass, "sensor.bedroom_caffeine_today") == "225.0"  # not yesterday's 200
    last = hass.states.get("sensor.bedroom_last_caffeine")
    assert last is not None
    assert (last.state, last.attributes["mg"]) == ("2026-11-27T00:00:00+00:00", 95.0)


async def test_the_caffeine_cutoff_option_decides_what_is_late(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data, {**DEFAULT_OPTIONS, CONF_CAFFEINE_CUTOFF: "20:00:00"})
    await setup_bed(hass, entry)
    events = bus_events(hass)
    for clock in ("14:00", "19:59", "20:00", "21:30"):
        await act(
            hass,
            "log_caffeine",
            config_entry_id=entry.entry_id,
            mg=50,
            time=f"2026-11-26T{clock}:00",
        )
    assert [e["late"] for e in logged(events, "caffeine_logged")] == [False, False, True, True]
    effect = hass.states.get("sensor.bedroom_late_caffeine_effect")
    assert effect is not None
    assert effect.attributes["cutoff"] == "20:00:00"


async def test_the_day_rolls_over_at_local_midnight(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(EVENING + dt.timedelta(hours=1, minutes=50))  # 23:50 local
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    await act(hass, "log_caffeine", config_entry_id=entry.entry_id, mg=80)
    await act(hass, "log_exercise", config_entry_id=entry.entry_id, minutes=20)
    await advance(hass, freezer, 5)
    assert state(hass, "sensor.bedroom_caffeine_today") == "80.0"
    assert state(hass, "sensor.bedroom_exercise_today") == "20.0"
    await advance(hass, freezer, 9 * 60 + 50, step=60)  # 23:59:55
    assert state(hass, "sensor.bedroom_caffeine_today") == "80.0"
    await advance(hass, freezer, 10)  # 00:00:05
    assert state(hass, "sensor.bedroom_caffeine_today") == "0.0"
    assert state(hass, "sensor.bedroom_exercise_today") == "0.0"
    assert state(hass, "sensor.bedroom_last_caffeine") == "2026-11-27T07:50:00+00:00"


async def test_log_exercise_adds_up_today_with_moderate_by_default(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(LOCAL_16H)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    events = bus_events(hass)
    eid = entry.entry_id
    await act(hass, "log_exercise", config_entry_id=eid, minutes=30)
    await act(
        hass,
        "log_exercise",
        config_entry_id=eid,
        minutes=15,
        intensity="vigorous",
        time="2026-11-26T07:30",
    )
    await act(hass, "log_exercise", config_entry_id=eid, minutes=45, time="2026-11-25T18:00")
    await advance(hass, freezer, 5)
    assert logged(events, "exercise_logged") == [
        {"minutes": 30.0, "intensity": "moderate", "time": "2026-11-26T16:00:00-08:00"},
        {"minutes": 15.0, "intensity": "vigorous", "time": "2026-11-26T07:30:00-08:00"},
        {"minutes": 45.0, "intensity": "moderate", "time": "2026-11-25T18:00:00-08:00"},
    ]
    assert state(hass, "sensor.bedroom_exercise_today") == "45.0"


async def test_bad_input_is_refused_with_a_translated_reason(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(LOCAL_16H)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    eid = entry.entry_id
    other = MockConfigEntry(domain="sun", title="Sun")
    other.add_to_hass(hass)
    args: dict[str, dict[str, Any]] = {
        "log_caffeine": {"mg": 95},
        "log_exercise": {"minutes": 30},
        "start_night": {},
        "end_night": {},
        "export_night": {},
    }
    for action, data in args.items():
        found = await refused(hass, action, "bed_not_found", config_entry_id="nope", **data)
        assert found == {"entry_id": "nope"}
        await refused(hass, action, "bed_not_found", config_entry_id=other.entry_id, **data)
        with pytest.raises(vol.Invalid):  # no bed named at all
            await act(hass, action, **data)
    for mg in (0, 1001, "abc", -5):
        with pytest.raises(vol.Invalid):
            await act(hass, "log_caffeine", config_entry_id=eid, mg=mg)
    for minutes in (0, 1441, "half an hour"):
        with pytest.raises(vol.Invalid):
            await act(hass, "log_exercise", config_entry_id=eid, minutes=minutes)
    with pytest.raises(vol.Invalid):
        await act(hass, "log_exercise", config_entry_id=eid, minutes=30, intensity="extreme")
    with pytest.raises(vol.Invalid):
        await act(hass, "log_caffeine", config_entry_id=eid, mg=95, time="teatime")
    later = "2026-11-26T16:06:00"  # 6 min ahead; up to 5 min is a clock difference
    for action, data in (("log_caffeine", {"mg": 95}), ("log_exercise", {"minutes": 30})):
        future = await refused(
            hass, action, "time_in_future", config_entry_id=eid, time=later, **data
        )
        assert future == {"time": "2026-11-26T16:06-08:00"}
        await act(hass, action, config_entry_id=eid, time="2026-11-26T16:04:00", **data)
    ended = await refused(hass, "end_night", "no_night_running", config_entry_id=eid)
    assert ended == {"bed": "Bedroom"}
    missing = await refused(hass, "export_night", "night_not_found", config_entry_id=eid)
    assert missing == {"night": "-", "available": "-"}
    lifestyle = entry.runtime_data.journal.lifestyle
    assert lifestyle.caffeine_on(dt.date(2026, 11, 26)) == 95.0  # only the call 4 min ahead
    assert lifestyle.exercise_on(dt.date(2026, 11, 26)) == 30.0
    assert await hass.config_entries.async_unload(eid)
    for action, data in args.items():
        unloaded = await refused(hass, action, "bed_not_loaded", config_entry_id=eid, **data)
        assert unloaded == {"bed": "Bedroom"}


async def test_start_night_outside_the_window_ends_the_last_one_and_starts_afresh(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
) -> None:
    freezer.move_to(EVENING + dt.timedelta(hours=17))  # 15:00 local, 2026-11-27
    entry = bed_entry(entry_data)
    stored_night(
        hass_storage,
        entry,
        {
            "night": "2026-11-26",
            "counts": {"twitch": 12, "limb_movement": 30},
            "plm_movements": 6,
            "in_bed_s": 7200.0,
            "first_in_bed": "2026-11-26T22:40:00-08:00",
        },
        "2026-11-27T22:55:00+00:00",
    )
    await setup_bed(hass, entry)
    events = bus_events(hass)
    eid = entry.entry_id
    await act(hass, "start_night", config_entry_id=eid)
    tally = entry.runtime_data.tally
    assert (tally.night, tally.forced, tally.running) == (dt.date(2026, 11, 27), True, True)
    assert set(tally.counts.values()) == {0}
    await advance(hass, freezer, 600, step=60)  # a night started by hand outlasts daytime ticks
    assert tally.running
    await act(hass, "end_night", config_entry_id=eid)
    assert logged(events, "night_ended") == [
        {
            "night": "2026-11-26",
            "twitches": 12,
            "twitches_per_hour": 6.0,
            "plm_index": 3.0,
            "time_in_bed": 2.0,
        },
        {
            "night": "2026-11-27",
            "twitches": 0,
            "twitches_per_hour": None,
            "plm_index": None,
            "time_in_bed": 0.0,
        },
    ]
    last = hass.states.get("sensor.bedroom_last_night_twitch_rate")
    assert last is not None
    assert last.state == "unknown"  # no time in bed: no rate
    assert last.attributes["night"] == "2026-11-27"
    await refused(hass, "end_night", "no_night_running", config_entry_id=eid)
    assert [r.night.isoformat() for r in entry.runtime_data.journal.history] == [
        "2026-11-26",
        "2026-11-27",
    ]


async def test_a_night_ended_by_hand_is_filed_and_exported_inside_the_config_dir(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    tmp_path: Path,
) -> None:
    hass.config.config_dir = str(tmp_path / "config")  # PHACC's is inside site-packages
    (tmp_path / "config").mkdir()
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    events = bus_events(hass)
    await play(hass, freezer, night_messages())
    eid = entry.entry_id
    tonight = {
        key: state(hass, f"sensor.bedroom_{key}_tonight")
        for key in ("twitches", "hypnic_jerks", "limb_movements", "gross_movements")
    }
    hours = float(state(hass, "sensor.bedroom_time_in_bed_tonight"))
    assert int(tonight["limb_movements"]) > 10
    assert 0.3 < hours < 0.35
    await act(hass, "end_night", config_entry_id=eid)
    (ended,) = logged(events, "night_ended")
    assert ended["night"] == "2026-11-26"
    assert ended["twitches"] == int(tonight["twitches"])
    last = hass.states.get("sensor.bedroom_last_night_twitch_rate")
    assert last is not None
    record = entry.runtime_data.journal.history[-1]
    assert record.twitches_per_hour is not None
    assert float(last.state) == round(record.twitches_per_hour, 1) == ended["twitches_per_hour"]
    assert last.attributes["night"] == "2026-11-26"
    assert {k: str(last.attributes[k]) for k in tonight} == tonight
    assert abs(last.attributes["time_in_bed"] - hours) <= 0.01
    await refused(hass, "end_night", "no_night_running", config_entry_id=eid)
    # the night's report, where it must go and nowhere else
    outside = tmp_path / "outside"
    link = tmp_path / "config" / "link"
    link.symlink_to(outside, target_is_directory=True)
    for directory in ("../outside", str(outside), "/tmp/elsewhere", "link", "link/deeper"):
        denied = await refused(
            hass, "export_night", "directory_not_allowed", config_entry_id=eid, directory=directory
        )
        assert denied == {"directory": directory, "config_dir": str(tmp_path / "config")}
    assert not outside.exists()
    response = await act(hass, "export_night", config_entry_id=eid)
    exports = tmp_path / "config" / "sleep_myoclonus" / "exports"
    names = [exports / f"bedroom_2026-11-26.{ext}" for ext in ("csv", "json", "edf")]
    assert response["files"] == [str(path) for path in names]
    assert response["night"] == "2026-11-26"
    report = json.loads(names[1].read_text("utf-8"))
    assert report["summary"] == response["summary"]
    assert report["summary"]["twitch_count"] == int(tonight["twitches"])
    assert sum(e["type"] == BedEventType.LIMB_MOVEMENT for e in report["events"]) == int(
        tonight["limb_movements"]
    )
    edf = names[2].read_bytes()
    assert edf[:8] == b"0       "
    assert edf[192:197] == b"EDF+C"
    assert names[0].read_text("utf-8").count("\n") > len(report["events"])
    # the same night by name, into another directory inside the config dir
    again = await act(
        hass, "export_night", config_entry_id=eid, night="2026-11-26", directory="reports"
    )
    assert [Path(p).parent for p in again["files"]] == [(tmp_path / "config" / "reports")] * 3
    nope = await refused(
        hass, "export_night", "night_not_found", config_entry_id=eid, night="2026-11-20"
    )
    assert nope == {"night": "2026-11-20", "available": "2026-11-26"}
