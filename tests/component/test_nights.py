"""A night's end in Home Assistant: its report equals the command line's, statistics, repairs."""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.sleep_myoclonus.const import DOMAIN, BedNotice
from custom_components.sleep_myoclonus.history import NightRecord
from custom_components.sleep_myoclonus.repairs import async_update_night_issues, issue_id
from detector.analyze import analyze
from hardware.virtual_sensor.frames import VirtualBed
from hardware.virtual_sensor.network import Message
from hardware.virtual_sensor.synth import generate

from .bed_player import EVENING, act, advance, bed_entry, bus_events, play, setup_bed, state
from .virtual_night import SENSOR_ID

SEED = 11
MINUTES = 50.0


@cache
def full_night() -> tuple[list[Message], dict[str, Any]]:
    """A short full night (empty bed, in bed, out again) and the command line's JSON of it."""
    recording = generate("full_night", seed=SEED, minutes=MINUTES)
    report = analyze(recording.samples, recording.fs, recording.channels).as_json()
    messages = list(VirtualBed(recording, SENSOR_ID, seed=SEED).iter_messages())
    return messages, report


def test_the_full_night_has_what_the_comparison_needs() -> None:
    """The recording ends out of bed, with every kind of finding the report holds."""
    _, report = full_night()
    assert len(report["in_bed"]) >= 1
    assert report["in_bed"][-1]["end"] < MINUTES * 60 - 60  # out of bed well before the end
    assert len(report["events"]) > 10
    assert report["summary"]["time_in_bed_s"] > 1200


async def test_the_exported_night_is_the_command_lines_report(
    recorder_mock: Recorder,
    mqtt_mock: MqttMockHAClient,
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Played live and ended by its window closing, the night exports what ``analyze`` prints."""
    hass.config.config_dir = str(tmp_path)
    freezer.move_to(EVENING)
    messages, expected = full_night()
    events = bus_events(hass)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    await play(hass, freezer, messages)
    assert state(hass, "sensor.bedroom_last_night_twitch_rate") == "unknown"  # still tonight
    await advance(hass, freezer, 15 * 3600, step=900)  # past the window's end at 12:00
    ended = [e for e in events if e["type"] == BedNotice.NIGHT_ENDED]
    assert len(ended) == 1
    night = ended[0]["night"]
    assert night == "2026-11-26"

    response = await act(hass, "export_night", config_entry_id=entry.entry_id)
    assert response is not None
    files = [Path(str(name)) for name in response["files"]]  # type: ignore[union-attr]
    assert [f.name for f in files] == [f"bedroom_{night}.{ext}" for ext in ("csv", "json", "edf")]
    assert all(f.parent == tmp_path / "sleep_myoclonus" / "exports" for f in files)
    exported = json.loads(files[1].read_text())
    for key in ("events", "plm_series", "in_bed", "summary"):
        assert exported[key] == expected[key], key
    assert exported["night"] == night
    assert exported["bed"] == SENSOR_ID

    # the record behind the sensors and the statistics is the same night
    summary = expected["summary"]
    last_night = hass.states.get("sensor.bedroom_last_night_twitch_rate")
    assert last_night is not None
    assert float(last_night.state) == pytest.approx(summary["twitches_per_hour"], abs=0.06)
    assert last_night.attributes["twitches"] == summary["twitch_count"]
    assert last_night.attributes["night"] == night
    await async_wait_recording_done(hass)
    rows = await recorder_mock.async_add_executor_job(
        statistics_during_period,
        hass,
        dt_util.utcnow() - dt.timedelta(days=3),
        None,
        {"sleep_myoclonus:bedroom_twitches", "sleep_myoclonus:bedroom_plm_index"},
        "day",
        None,
        {"mean"},
    )
    assert [row["mean"] for row in rows["sleep_myoclonus:bedroom_twitches"]] == [
        summary["twitch_count"]
    ]
    assert rows["sleep_myoclonus:bedroom_plm_index"][0]["mean"] == pytest.approx(
        summary["plm_index"], abs=0.01
    )


def _record(night: dt.date, plm_movements: int, **changes: Any) -> NightRecord:
    values: dict[str, Any] = {
        "night": night,
        "first_in_bed": dt.datetime.combine(night, dt.time(22, 30), tzinfo=dt.UTC),
        "ended": dt.datetime.combine(night + dt.timedelta(days=1), dt.time(7), tzinfo=dt.UTC),
        "twitch_count": 40,
        "hypnic_jerk_count": 1,
        "limb_movement_count": plm_movements + 10,
        "gross_movement_count": 5,
        "plm_movements": plm_movements,
        "time_in_bed_s": 8 * 3600.0,
        "frames": 57600,
        "clipped_frames": 0,
    }
    values.update(changes)
    return NightRecord(**values)


def _stored(hass_storage: dict[str, Any], entry_id: str, records: list[NightRecord]) -> None:
    """Put finished nights into the bed's nights store, as a previous run saved them."""
    key = f"{DOMAIN}.{entry_id}.nights"
    hass_storage[key] = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"history": [r.as_dict() for r in records]},
    }


@pytest.mark.usefixtures("mqtt_mock")
async def test_a_high_plm_index_on_3_of_7_nights_raises_the_doctor_notice(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    """Three nights above 15/h within a week raise it at setup; fewer clear it at a night's end."""
    entry = bed_entry(entry_data)
    first = dt.date(2026, 11, 18)
    nights = [first + dt.timedelta(days=i) for i in range(7)]
    # 8 h in bed: 160 movements in series = 20/h, 80 = 10/h
    high_on = {nights[1], nights[4], nights[6]}
    records = [_record(n, 160 if n in high_on else 80) for n in nights]
    _stored(hass_storage, entry.entry_id, records)
    await setup_bed(hass, entry)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id("plm_doctor", entry))
    assert issue is not None
    assert issue.translation_key == "plm_doctor"
    assert issue.translation_placeholders == {
        "bed": "Bedroom",
        "nights": "3",
        "of_nights": "7",
        "indices": "20/h, 20/h, 20/h",
    }
    assert not issue.is_fixable
    assert issue.severity is ir.IssueSeverity.WARNING

    # two low nights later, the first high night has left the week: only 2 of 7 remain
    bed = entry.runtime_data
    for extra in (nights[-1] + dt.timedelta(days=1), nights[-1] + dt.timedelta(days=2)):
        bed.journal.history.append(_record(extra, 80))
    async_update_night_issues(hass, entry, bed.journal.history)
    assert issue_registry.async_get_issue(DOMAIN, issue_id("plm_doctor", entry)) is None


@pytest.mark.usefixtures("mqtt_mock")
async def test_a_clipped_night_raises_the_placement_notice_and_a_clean_one_clears_it(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    entry = bed_entry(entry_data)
    night = dt.date(2026, 11, 25)
    _stored(hass_storage, entry.entry_id, [_record(night, 0, clipped_frames=40000)])
    await setup_bed(hass, entry)
    issue = issue_registry.async_get_issue(DOMAIN, issue_id("signal_clipped", entry))
    assert issue is not None
    assert issue.translation_placeholders == {
        "bed": "Bedroom",
        "night": "2026-11-25",
        "percent": "69",
    }
    bed = entry.runtime_data
    bed.journal.history.append(_record(night + dt.timedelta(days=1), 0, clipped_frames=100))
    async_update_night_issues(hass, entry, bed.journal.history)
    assert issue_registry.async_get_issue(DOMAIN, issue_id("signal_clipped", entry)) is None
    # a night too short to judge (under ten minutes of frames) raises nothing
    short = _record(night + dt.timedelta(days=2), 0, frames=500, clipped_frames=500)
    bed.journal.history.append(short)
    async_update_night_issues(hass, entry, bed.journal.history)
    assert issue_registry.async_get_issue(DOMAIN, issue_id("signal_clipped", entry)) is None


@pytest.mark.usefixtures("mqtt_mock")
async def test_a_night_window_without_data_raises_a_notice_until_data_arrives(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    """Judged only for a window watched from its start; cleared by the update after a frame."""
    # set up at 22:00: tonight's window is already open, so it is not judged
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    await advance(hass, freezer, 16 * 3600, step=900)  # to 14:00 next day
    no_data = issue_id("no_data", entry)
    assert issue_registry.async_get_issue(DOMAIN, no_data) is None
    await advance(hass, freezer, 24 * 3600, step=900)  # a whole window without a frame
    issue = issue_registry.async_get_issue(DOMAIN, no_data)
    assert issue is not None
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {"bed": "Bedroom", "night": "2026-11-27"}
    messages, _ = full_night()
    raw = next(m for m in messages if m.topic.endswith("/raw"))
    async_fire_mqtt_message(hass, raw.topic, raw.payload)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, no_data) is not None  # judged by the update
    await advance(hass, freezer, 5)
    assert issue_registry.async_get_issue(DOMAIN, no_data) is None


@pytest.mark.usefixtures("mqtt_mock")
async def test_removing_the_bed_removes_its_notices(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
    issue_registry: ir.IssueRegistry,
) -> None:
    entry = bed_entry(entry_data)
    night = dt.date(2026, 11, 25)
    _stored(hass_storage, entry.entry_id, [_record(night, 0, clipped_frames=40000)])
    await setup_bed(hass, entry)
    assert issue_registry.async_get_issue(DOMAIN, issue_id("signal_clipped", entry)) is not None
    assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert issue_registry.async_get_issue(DOMAIN, issue_id("signal_clipped", entry)) is None
    for suffix in ("", ".nights", ".reports"):
        assert f"{DOMAIN}.{entry.entry_id}{suffix}" not in hass_storage
