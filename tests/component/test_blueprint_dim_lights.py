"""The dim_lights blueprint in Home Assistant's automation engine, driven by a virtual night."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation import EVENT_AUTOMATION_TRIGGERED
from homeassistant.const import EVENT_HOMEASSISTANT_START, EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.sleep_myoclonus.const import DEFAULT_OPTIONS

from .bed_player import EVENING, advance, bus_events, play, state
from .blueprint_helpers import (
    RecordingLight,
    bed_inputs,
    fire_bed_event,
    scene_ids,
    setup_blueprint_automation,
    setup_platforms,
    short_stay_messages,
    start_bed,
)
from .virtual_night import night_messages

pytestmark = pytest.mark.usefixtures("mqtt_mock", "detach_automations")

# plmd night from EVENING (22:00 local, inside the default quiet hours 22:00-07:00): into bed
# at 22:00:21, limb movements from 22:01:37, first PLM series 22:03:22, first twitch 22:08:08,
# twitch rate first known at 22:10:12 (17.7/h), up to 23.4/h at 22:10:17
FIRST_LM_S = 97
FIRST_PLM_S = 202
FIRST_TWITCH_S = 488
RATE_KNOWN_S = 612
MORNING = EVENING + dt.timedelta(hours=8, minutes=30)  # 06:30 local next day
TARGET = 13  # 5 % of 255


def until(seconds: float) -> int:
    """Index of the first message of the plmd night at or after ``seconds``."""
    return next(i for i, m in enumerate(night_messages()) if m.time_s >= seconds)


@pytest.fixture
def lights() -> dict[str, RecordingLight]:
    """A lamp and a ceiling light that are on, a reading light that is off, a night light
    already dimmer than the target."""
    return {
        "lamp": RecordingLight("lamp", 200),
        "ceiling": RecordingLight("ceiling", 255),
        "reading": RecordingLight("reading", None),
        "nightlight": RecordingLight("nightlight", 8),
    }


@pytest.fixture
def triggered(hass: HomeAssistant) -> list[Event[Any]]:
    """Every run of an automation (before its conditions)."""
    runs: list[Event[Any]] = []
    hass.bus.async_listen(EVENT_AUTOMATION_TRIGGERED, runs.append)
    return runs


async def start(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
    options: dict[str, Any] | None = None,
    **inputs: Any,
) -> tuple[MockConfigEntry, str]:
    """Bed, lights and the automation; return the bed's entry and its device id."""
    entry, device_id = await start_bed(hass, tmp_path, freezer, entry_data, options)
    await setup_platforms(hass, light=list(lights.values()))
    await setup_blueprint_automation(
        hass,
        "dim_lights.yaml",
        {**bed_inputs(device_id), "lights": [f"light.{name}" for name in lights], **inputs},
    )
    return entry, device_id


def brightness(hass: HomeAssistant) -> dict[str, int | None]:
    """Each light's brightness; None when off."""
    found: dict[str, int | None] = {}
    for light in hass.states.async_all("light"):
        found[light.object_id] = light.attributes["brightness"] if light.state == "on" else None
    return found


BEFORE = {"lamp": 200, "ceiling": 255, "reading": None, "nightlight": 8}
DIMMED = {"lamp": TARGET, "ceiling": TARGET, "reading": None, "nightlight": 8}


async def test_a_plm_series_in_bed_during_quiet_hours_dims(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
) -> None:
    await start(hass, tmp_path, freezer, entry_data, lights, on_twitch=False)
    messages = night_messages()
    await play(hass, freezer, messages[: until(FIRST_PLM_S - 5)])
    assert state(hass, "binary_sensor.bedroom_in_bed") == "on"
    assert brightness(hass) == BEFORE  # limb movements alone do not dim
    await play(hass, freezer, messages[until(FIRST_PLM_S - 5) : until(FIRST_PLM_S + 5)])
    assert brightness(hass) == DIMMED
    assert lights["lamp"].transitions == [30]
    assert lights["nightlight"].transitions == []  # already dimmer than the target
    assert scene_ids(hass) == [
        "scene.sleep_myoclonus_bp_light_ceiling",
        "scene.sleep_myoclonus_bp_light_lamp",
    ]


async def test_a_twitch_dims(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
) -> None:
    await start(hass, tmp_path, freezer, entry_data, lights, on_plm_series=False, brightness_pct=20)
    messages = night_messages()
    await play(hass, freezer, messages[: until(FIRST_TWITCH_S - 5)])
    assert brightness(hass) == BEFORE  # the PLM series did not dim: its trigger is off
    await play(hass, freezer, messages[until(FIRST_TWITCH_S - 5) : until(FIRST_TWITCH_S + 5)])
    assert brightness(hass) == {**DIMMED, "lamp": 51, "ceiling": 51}


@pytest.mark.parametrize(("respect", "dimmed"), [(True, False), (False, True)])
async def test_quiet_hours(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
    triggered: list[Event[Any]],
    respect: bool,
    dimmed: bool,
) -> None:
    """Quiet hours from 23:00: a night starting at 22:00 dims only if they are ignored."""
    options = {**DEFAULT_OPTIONS, "quiet_start": "23:00:00"}
    await start(hass, tmp_path, freezer, entry_data, lights, options, respect_quiet_hours=respect)
    await play(hass, freezer, night_messages()[: until(FIRST_TWITCH_S + 5)])
    assert state(hass, "binary_sensor.bedroom_quiet_hours") == "off"
    assert len(triggered) >= 2  # the PLM series and the twitch ran it
    assert brightness(hass) == (DIMMED if dimmed else BEFORE)


async def test_no_dimming_when_nobody_is_in_bed(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
    triggered: list[Event[Any]],
) -> None:
    """After a short stay the bed is empty (the bed says so); detections on the bus change
    nothing."""
    _, device_id = await start(hass, tmp_path, freezer, entry_data, lights)
    await play(hass, freezer, short_stay_messages())
    assert state(hass, "binary_sensor.bedroom_in_bed") == "off"
    assert state(hass, "binary_sensor.bedroom_quiet_hours") == "on"
    triggered.clear()  # the exit from bed ran it (and restored nothing: not morning)
    for kind in ("twitch", "plm_series_started"):
        fire_bed_event(hass, device_id, kind)
    await hass.async_block_till_done()
    assert len(triggered) == 2
    assert brightness(hass) == BEFORE
    assert scene_ids(hass) == []


@pytest.mark.parametrize(("threshold", "dimmed"), [(17, True), (30, False)])
async def test_twitch_rate_threshold(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
    threshold: float,
    dimmed: bool,
) -> None:
    """Only the rate trigger is on; the rate peaks at 23.4/h in this part of the night."""
    await start(
        hass,
        tmp_path,
        freezer,
        entry_data,
        lights,
        on_twitch=False,
        on_plm_series=False,
        on_rate=True,
        rate_threshold=threshold,
    )
    await play(hass, freezer, night_messages()[: until(RATE_KNOWN_S + 60)])
    assert float(state(hass, "sensor.bedroom_twitch_rate")) > 17
    assert brightness(hass) == (DIMMED if dimmed else BEFORE)


async def dim_then_brighten(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """The first PLM series dims; the ceiling light is switched off and the lamp turned up
    by hand; the next PLM series dims the lamp again (its state before the first dimming
    stays the one to restore)."""
    messages = night_messages()
    await play(hass, freezer, messages[: until(FIRST_PLM_S + 5)])
    assert brightness(hass) == DIMMED
    await hass.services.async_call(
        "light", "turn_on", {"entity_id": "light.lamp", "brightness": 255}, blocking=True
    )
    await hass.services.async_call(
        "light", "turn_off", {"entity_id": "light.ceiling"}, blocking=True
    )
    await play(hass, freezer, messages[until(FIRST_PLM_S + 5) : until(RATE_KNOWN_S + 10)])
    assert brightness(hass) == {**DIMMED, "ceiling": None}


async def test_getting_up_in_the_morning_restores_the_lights(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
) -> None:
    _, device_id = await start(hass, tmp_path, freezer, entry_data, lights, on_twitch=False)
    await dim_then_brighten(hass, freezer)
    # up at 03:00: before "morning from" (05:00), nothing is restored
    freezer.move_to(EVENING + dt.timedelta(hours=5))
    async_fire_time_changed(hass)
    fire_bed_event(hass, device_id, "got_out_of_bed")
    await hass.async_block_till_done()
    assert brightness(hass) == {**DIMMED, "ceiling": None}
    # the sensor back at 06:30 (the night still running): a real exit from bed
    freezer.move_to(MORNING)
    seen = bus_events(hass)
    await play(hass, freezer, short_stay_messages())
    assert "got_out_of_bed" in [event["type"] for event in seen]
    # the lamp is back at its brightness before the first dimming; the ceiling light that was
    # switched off in the night stays off
    assert brightness(hass) == {**BEFORE, "ceiling": None}
    assert lights["lamp"].transitions[-1] == 30
    assert scene_ids(hass) == []


async def test_the_lights_are_restored_at_the_latest_time(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
) -> None:
    await start(hass, tmp_path, freezer, entry_data, lights, on_twitch=False, transition=0)
    await play(hass, freezer, night_messages()[: until(FIRST_PLM_S + 5)])
    assert brightness(hass) == DIMMED
    freezer.move_to(EVENING + dt.timedelta(hours=11, minutes=59, seconds=59))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert brightness(hass) == DIMMED
    freezer.tick(1)  # 10:00
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert brightness(hass) == BEFORE
    assert scene_ids(hass) == []


async def test_without_restore_nothing_is_kept_or_restored(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
) -> None:
    await start(hass, tmp_path, freezer, entry_data, lights, on_twitch=False, restore=False)
    await play(hass, freezer, night_messages()[: until(FIRST_PLM_S + 5)])
    assert brightness(hass) == DIMMED
    assert scene_ids(hass) == []
    freezer.move_to(EVENING + dt.timedelta(hours=12))  # 10:00
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert brightness(hass) == DIMMED


async def test_restarts_and_unavailable_sensors_do_not_dim(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
    triggered: list[Event[Any]],
) -> None:
    """In bed during quiet hours with every trigger on (rate above 1/h): a reload of the bed,
    the sensor going offline and coming back, and Home Assistant starting run nothing."""
    entry, _ = await start(
        hass, tmp_path, freezer, entry_data, lights, on_rate=True, rate_threshold=1
    )
    messages = night_messages()
    await play(hass, freezer, messages[: until(FIRST_LM_S - 30)])
    assert state(hass, "binary_sensor.bedroom_in_bed") == "on"
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await advance(hass, freezer, 30)  # silence: the sensor is offline
    assert state(hass, "binary_sensor.bedroom_in_bed") == "unavailable"
    await play(hass, freezer, messages[until(FIRST_LM_S - 30) : until(FIRST_LM_S - 5)])
    assert state(hass, "binary_sensor.bedroom_in_bed") == "on"
    hass.bus.async_fire(EVENT_HOMEASSISTANT_START)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done()
    assert triggered == []
    assert brightness(hass) == BEFORE
    # the automation is live: the night's next detections dim
    await play(hass, freezer, messages[until(FIRST_LM_S - 5) : until(FIRST_PLM_S + 5)])
    assert brightness(hass) == DIMMED


async def test_a_rate_still_high_after_a_reload_does_not_dim_again(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    lights: dict[str, RecordingLight],
    triggered: list[Event[Any]],
) -> None:
    entry, _ = await start(
        hass,
        tmp_path,
        freezer,
        entry_data,
        lights,
        on_twitch=False,
        on_plm_series=False,
        on_rate=True,
        rate_threshold=10,
    )
    messages = night_messages()
    await play(hass, freezer, messages[: until(RATE_KNOWN_S + 30)])
    assert len(triggered) == 1
    assert brightness(hass) == DIMMED
    await hass.services.async_call(
        "light", "turn_on", {"entity_id": "light.lamp", "brightness": 200}, blocking=True
    )
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    await play(hass, freezer, messages[until(RATE_KNOWN_S + 30) : until(RATE_KNOWN_S + 120)])
    assert float(state(hass, "sensor.bedroom_twitch_rate")) > 10
    assert len(triggered) == 1
    assert brightness(hass)["lamp"] == 200
