"""Logbook entries of the bed events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.logbook.const import DOMAIN as LOGBOOK_DOMAIN
from homeassistant.components.recorder import Recorder
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import mock_component
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient, WebSocketGenerator

from custom_components.sleep_myoclonus.const import DOMAIN, EVENT_BED
from custom_components.sleep_myoclonus.logbook import describe

from .bed_player import bed_entry, bus_events, play, setup_bed
from .virtual_night import night_messages

Describer = Callable[[Event], dict[str, Any]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"type": "twitch", "duration": 0.24, "channel": "legs", "amplitude": 3.1},
            "twitch detected (0.2 s, legs)",
        ),
        (
            {"type": "hypnic_jerk", "duration": 0.5, "channel": "torso"},
            "hypnic jerk detected (0.5 s, torso)",
        ),
        (
            {"type": "limb_movement", "duration": 1.44, "channel": "legs"},
            "limb movement detected (1.4 s, legs)",
        ),
        (
            {"type": "gross_movement", "duration": 12.3, "channel": None},
            "gross movement detected (12 s)",
        ),
        ({"type": "twitch", "duration": 0.06, "channel": "legs"}, "twitch detected (0.06 s, legs)"),
        ({"type": "twitch", "channel": "legs"}, "twitch detected (legs)"),
        ({"type": "twitch", "duration": "junk", "channel": ""}, "twitch detected"),
        ({"type": "twitch", "duration": True}, "twitch detected"),
        ({"type": "twitch", "duration": -1.0}, "twitch detected"),
        (
            {"type": "plm_series_started", "movements": 4, "duration": 65.0},
            "periodic limb movement series started (4 movements)",
        ),
        ({"type": "plm_series_started"}, "periodic limb movement series started"),
        ({"type": "got_into_bed"}, "got into bed"),
        ({"type": "got_out_of_bed"}, "got out of bed"),
        (
            {
                "type": "night_ended",
                "night": "2026-11-26",
                "twitches": 48,
                "twitches_per_hour": 6.1,
                "plm_index": 17.5,
            },
            "night of 2026-11-26 ended: 48 twitches, 6.1/h, PLM index 17.5/h",
        ),
        (
            {"type": "night_ended", "night": "2026-11-26", "twitches": 0},
            "night of 2026-11-26 ended: 0 twitches",
        ),
        ({"type": "caffeine_logged", "mg": 95.0, "late": True}, "caffeine logged: 95 mg (late)"),
        ({"type": "caffeine_logged", "mg": 62.5, "late": False}, "caffeine logged: 62.5 mg"),
        (
            {"type": "exercise_logged", "minutes": 30.0, "intensity": "vigorous"},
            "exercise logged: 30 min, vigorous",
        ),
        ({"type": "sneeze"}, "bed event sneeze"),
    ],
)
def test_messages(data: dict[str, Any], message: str) -> None:
    assert describe(data) == message


async def setup_logbook(hass: HomeAssistant) -> None:
    """Set up the logbook (the frontend, which only serves its panel, mocked: not installed)."""
    mock_component(hass, "frontend")
    assert await async_setup_component(hass, LOGBOOK_DOMAIN, {})
    await hass.async_block_till_done()


@pytest.fixture
async def describer(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entry_data: dict[str, Any],
) -> Describer:
    """The bed event's describer, as the logbook registered it (a bed set up)."""
    await setup_bed(hass, bed_entry(entry_data))
    await setup_logbook(hass)
    domain, describe_event = hass.data[LOGBOOK_DOMAIN].external_events[EVENT_BED]
    assert domain == DOMAIN
    return describe_event


async def test_the_logbook_names_the_bed_and_links_its_event_entity(
    hass: HomeAssistant, describer: Describer
) -> None:
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    data = {"device_id": device.id, "type": "limb_movement", "duration": 1.4, "channel": "legs"}
    assert describer(Event(EVENT_BED, data)) == {
        "name": "Bedroom",
        "message": "limb movement detected (1.4 s, legs)",
        "entity_id": "event.bedroom_movement",
    }
    dr.async_get(hass).async_update_device(device.id, name_by_user="Guest room")
    assert describer(Event(EVENT_BED, data))["name"] == "Guest room"
    er.async_get(hass).async_remove("event.bedroom_movement")
    assert describer(Event(EVENT_BED, data)) == {
        "name": "Guest room",
        "message": "limb movement detected (1.4 s, legs)",
    }


async def test_events_of_unknown_beds_still_read(describer: Describer) -> None:
    """An event recorded for a bed since removed."""
    assert describer(Event(EVENT_BED, {"device_id": "gone", "type": "got_into_bed"})) == {
        "name": "Bed",
        "message": "got into bed",
    }
    assert describer(Event(EVENT_BED, {"type": "got_out_of_bed"}))["name"] == "Bed"


async def test_a_night_in_the_logbook(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    hass_ws_client: WebSocketGenerator,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
) -> None:
    """The bed's events, recorded and read back through the logbook's API, as the UI shows them."""
    start = dt_util.utcnow()  # (not moved to the evening: the websocket's token would expire)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    await setup_logbook(hass)
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    fired = bus_events(hass)
    await play(hass, freezer, night_messages()[:700])
    await async_wait_recording_done(hass)
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": start.isoformat(),
            "end_time": dt_util.utcnow().isoformat(),
            "device_ids": [device.id],
        }
    )
    response = await client.receive_json()
    assert response["success"]
    ours = [e for e in response["result"] if e.get("domain") == DOMAIN]
    assert len(fired) > 3
    # (a movement and the PLM series it starts are fired together: in either order)
    assert sorted(e["message"] for e in ours) == sorted(describe(data) for data in fired)
    assert ours[0]["message"] == "got into bed"
    assert {e["name"] for e in ours} == {"Bedroom"}
    assert {e["entity_id"] for e in ours} == {"event.bedroom_movement"}
    # the event entity's own logbook (e.g. a logbook card for it) has the same lines: the bus
    # event names the entity
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": start.isoformat(),
            "end_time": dt_util.utcnow().isoformat(),
            "entity_ids": ["event.bedroom_movement"],
        }
    )
    response = await client.receive_json()
    assert response["success"]
    for_entity = [e["message"] for e in response["result"] if e.get("domain") == DOMAIN]
    assert sorted(for_entity) == sorted(describe(data) for data in fired)
