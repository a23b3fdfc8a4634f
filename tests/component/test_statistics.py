"""The nightly history in the recorder's long-term statistics, read back through its own API."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import pytest
from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import (
    get_metadata,
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.sleep_myoclonus.history import NightRecord
from custom_components.sleep_myoclonus.statistics import (
    METRICS,
    async_add_night_statistics,
    night_row_start,
    statistic_ids,
)
from scripts.dashboard_screenshot import import_night
from scripts.ha_api import HaApiError

SLUG = "bedroom"
BED = "Bedroom"
WINDOW_START = dt.time(18, 30)  # rows start at 18:00
METRIC_KEYS = [m.key for m in METRICS]
Period = Literal["5minute", "day", "hour", "week", "month"]


def _night(
    night: dt.date,
    *,
    twitches: int = 40,
    hours: float = 8.0,
    plm: int = 30,
    jerks: int = 3,
    limbs: int = 50,
    gross: int = 12,
) -> NightRecord:
    tz = dt_util.get_default_time_zone()
    evening = dt.datetime.combine(night, dt.time(22, 0), tzinfo=tz)
    return NightRecord(
        night=night,
        first_in_bed=evening if hours else None,
        ended=evening + dt.timedelta(hours=9),
        twitch_count=twitches,
        hypnic_jerk_count=jerks,
        limb_movement_count=limbs,
        gross_movement_count=gross,
        plm_movements=plm,
        time_in_bed_s=hours * 3600.0,
        frames=1000,
        clipped_frames=0,
    )


async def _write(hass: HomeAssistant, *records: NightRecord, bed: str = BED) -> None:
    for record in records:
        await async_add_night_statistics(hass, SLUG, bed, record, WINDOW_START)
    await async_wait_recording_done(hass)


async def _rows(hass: HomeAssistant, period: Period) -> dict[str, list[dict[str, Any]]]:
    """Every row of the bed's statistics since 2020, by metric key."""
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        None,
        set(statistic_ids(SLUG)),
        period,
        None,
        {"mean", "min", "max", "sum"},
    )
    return {sid.removeprefix(f"sleep_myoclonus:{SLUG}_"): list(rows) for sid, rows in found.items()}


async def _metadata(hass: HomeAssistant) -> dict[str, StatisticMetaData]:
    found = await get_instance(hass).async_add_executor_job(
        lambda: get_metadata(hass, statistic_ids=set(statistic_ids(SLUG)))
    )
    return {sid.removeprefix(f"sleep_myoclonus:{SLUG}_"): meta for sid, (_, meta) in found.items()}


def _local(day: dt.date, hour: int = 0) -> float:
    """A local time on a date as a timestamp (the recorder's row starts)."""
    tz = dt_util.get_default_time_zone()
    return dt.datetime.combine(day, dt.time(hour), tzinfo=tz).timestamp()


# PHACC's Home Assistant runs in US/Pacific; daylight saving time began on 2025-03-09
NIGHTS = [dt.date(2025, 3, 7), dt.date(2025, 3, 8), dt.date(2025, 3, 9)]


async def test_one_hourly_row_per_night_and_figure(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    records = [
        _night(NIGHTS[0], twitches=40, hours=8.0, plm=30),
        _night(NIGHTS[1], twitches=18, hours=6.0, plm=0, jerks=0),
        _night(NIGHTS[2], twitches=7, hours=3.5, plm=14, gross=2),
    ]
    await _write(hass, *records)
    rows = await _rows(hass, "hour")
    assert sorted(rows) == sorted(METRIC_KEYS)
    for key in METRIC_KEYS:
        # at 18:00 local on each night's date, across the change to summer time
        assert [row["start"] for row in rows[key]] == [_local(n, 18) for n in NIGHTS], key
        for row in rows[key]:
            assert row["mean"] == row["min"] == row["max"]
            assert row.get("sum") is None  # no sum kept
    means = {key: [row["mean"] for row in rows[key]] for key in METRIC_KEYS}
    assert means["twitches"] == [40, 18, 7]
    assert means["twitches_per_hour"] == pytest.approx([5.0, 3.0, 2.0])
    assert means["plm_index"] == pytest.approx([3.75, 0.0, 4.0])
    assert means["hypnic_jerks"] == [3, 0, 3]
    assert means["limb_movements"] == [50, 50, 50]
    assert means["gross_movements"] == [12, 12, 2]
    assert means["time_in_bed"] == pytest.approx([8.0, 6.0, 3.5])


async def test_a_day_per_night_and_the_mean_of_a_week(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    # Monday to Wednesday, then the Monday after
    nights = [dt.date(2026, 11, 16), dt.date(2026, 11, 17), dt.date(2026, 11, 18)]
    later = dt.date(2026, 11, 23)
    await _write(
        hass,
        *(_night(n, twitches=t, hours=4.0) for n, t in zip(nights, (8, 16, 36), strict=True)),
        _night(later, twitches=20, hours=5.0),
    )
    days = await _rows(hass, "day")
    assert [row["start"] for row in days["twitches_per_hour"]] == [
        _local(n) for n in [*nights, later]
    ]
    assert [row["mean"] for row in days["twitches_per_hour"]] == pytest.approx([2.0, 4.0, 9.0, 4.0])
    weeks = await _rows(hass, "week")
    assert [row["start"] for row in weeks["twitches_per_hour"]] == [
        _local(nights[0]),
        _local(later),
    ]
    assert [row["mean"] for row in weeks["twitches_per_hour"]] == pytest.approx([5.0, 4.0])
    assert [row["mean"] for row in weeks["twitches"]] == pytest.approx([20.0, 20.0])


async def test_the_metadata(recorder_mock: Recorder, hass: HomeAssistant) -> None:
    await _write(hass, _night(NIGHTS[0]))
    meta = await _metadata(hass)
    units = {key: meta[key]["unit_of_measurement"] for key in METRIC_KEYS}
    assert units == {
        "twitches": None,
        "twitches_per_hour": "twitches/h",
        "plm_index": "/h",
        "hypnic_jerks": None,
        "limb_movements": None,
        "gross_movements": None,
        "time_in_bed": "h",
    }
    assert meta["twitches"]["name"] == "Bedroom twitches per night"
    assert meta["twitches_per_hour"]["name"] == "Bedroom twitches per hour in bed"
    assert meta["plm_index"]["name"] == "Bedroom PLM index"
    assert meta["time_in_bed"]["name"] == "Bedroom time in bed per night"
    for key in METRIC_KEYS:
        assert meta[key]["source"] == "sleep_myoclonus"
        assert meta[key]["statistic_id"] == f"sleep_myoclonus:bedroom_{key}"
        assert meta[key]["mean_type"] is StatisticMeanType.ARITHMETIC
        assert meta[key]["has_sum"] is False
        if "unit_class" in meta[key]:  # current Home Assistant
            expected = "duration" if key == "time_in_bed" else None
            assert meta[key].get("unit_class") == expected

    listed = await get_instance(hass).async_add_executor_job(list_statistic_ids, hass)
    ours = {item["statistic_id"]: item for item in listed if item["source"] == "sleep_myoclonus"}
    assert sorted(ours) == sorted(statistic_ids(SLUG))
    for item in ours.values():
        assert item["has_mean"] is True
        assert item["has_sum"] is False
    assert ours["sleep_myoclonus:bedroom_time_in_bed"]["statistics_unit_of_measurement"] == "h"


async def test_a_night_written_again_replaces_its_rows(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    await _write(hass, _night(NIGHTS[0], twitches=10), _night(NIGHTS[1], twitches=5))
    await _write(hass, _night(NIGHTS[0], twitches=12, hours=6.0), bed="Guest room")
    rows = await _rows(hass, "hour")
    assert [row["mean"] for row in rows["twitches"]] == [12, 5]
    assert [row["mean"] for row in rows["twitches_per_hour"]] == pytest.approx([2.0, 5 / 8])
    assert [row["mean"] for row in rows["time_in_bed"]] == pytest.approx([6.0, 8.0])
    assert (await _metadata(hass))["twitches"]["name"] == "Guest room twitches per night"


async def test_a_night_without_time_in_bed_has_no_rates(
    recorder_mock: Recorder, hass: HomeAssistant
) -> None:
    empty = _night(NIGHTS[1], twitches=0, hours=0.0, plm=0, jerks=0, limbs=0, gross=0)
    await _write(hass, _night(NIGHTS[0]), empty)
    rows = await _rows(hass, "hour")
    for key in ("twitches_per_hour", "plm_index"):
        assert [row["start"] for row in rows[key]] == [_local(NIGHTS[0], 18)], key
    for key in ("twitches", "hypnic_jerks", "limb_movements", "gross_movements", "time_in_bed"):
        assert [row["start"] for row in rows[key]] == [_local(n, 18) for n in NIGHTS[:2]], key
        assert rows[key][1]["mean"] == 0


async def test_the_screenshot_script_imports_what_the_integration_writes(
    recorder_mock: Recorder, hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> None:
    """scripts/dashboard_screenshot.py imports past nights over the WebSocket API: the same
    rows and metadata as the integration's own path."""
    client = await hass_ws_client(hass)

    async def call(command: str, **data: Any) -> Any:
        await client.send_json_auto_id({"type": command, **data})
        answer = await client.receive_json()
        if not answer["success"]:
            raise HaApiError(f"WebSocket command failed: {answer['error']}")
        return answer["result"]

    record = _night(NIGHTS[0], twitches=30, hours=7.5, plm=45)
    await import_night(call, record, WINDOW_START)
    await async_wait_recording_done(hass)
    imported, imported_meta = await _rows(hass, "hour"), await _metadata(hass)
    assert sorted(imported) == sorted(METRIC_KEYS)
    assert [row["mean"] for row in imported["twitches_per_hour"]] == [4.0]

    await _write(hass, record)
    assert await _rows(hass, "hour") == imported
    assert await _metadata(hass) == imported_meta


async def test_a_slug_that_makes_no_statistic_id_writes_nothing(
    recorder_mock: Recorder, hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    await async_add_night_statistics(hass, "", BED, _night(NIGHTS[0]), WINDOW_START)
    await async_wait_recording_done(hass)
    listed = await get_instance(hass).async_add_executor_job(list_statistic_ids, hass)
    assert not [item for item in listed if item["source"] == "sleep_myoclonus"]
    assert "no valid statistic id" in caplog.text


async def test_without_the_recorder_nothing_is_written_and_nothing_fails(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG", logger="custom_components.sleep_myoclonus")
    assert "recorder" not in hass.config.components
    await async_add_night_statistics(hass, SLUG, BED, _night(NIGHTS[0]), WINDOW_START)
    assert "Recorder not loaded" in caplog.text


@pytest.mark.parametrize(
    ("time_zone", "window_start", "expected_utc"),
    [
        ("US/Pacific", dt.time(18, 0), dt.datetime(2026, 11, 21, 2, tzinfo=dt.UTC)),
        ("Europe/Berlin", dt.time(21, 45), dt.datetime(2026, 11, 20, 20, tzinfo=dt.UTC)),
        # 18:00 IST is 12:30 UTC: the row starts at the next UTC hour, 18:30 local, same date
        ("Asia/Kolkata", dt.time(18, 0), dt.datetime(2026, 11, 20, 13, tzinfo=dt.UTC)),
        ("Asia/Kolkata", dt.time(0, 0), dt.datetime(2026, 11, 19, 19, tzinfo=dt.UTC)),
        ("Asia/Kathmandu", dt.time(23, 59), dt.datetime(2026, 11, 20, 18, tzinfo=dt.UTC)),
    ],
)
async def test_the_row_starts_when_the_window_opens_on_the_nights_date(
    hass: HomeAssistant, time_zone: str, window_start: dt.time, expected_utc: dt.datetime
) -> None:
    await hass.config.async_set_time_zone(time_zone)
    night = dt.date(2026, 11, 20)
    start = night_row_start(night, window_start)
    assert start == expected_utc
    assert dt_util.as_local(start).date() == night
    assert start.minute == start.second == 0
