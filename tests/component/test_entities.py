"""The bed's entities over a virtual night: snapshots, counts agreeing with events, device info."""

from __future__ import annotations

from collections import Counter
from typing import Any
from unittest.mock import patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.sleep_myoclonus.const import DOMAIN

from .bed_player import EVENING, bed_entry, bus_events, play, setup_bed
from .virtual_night import night_messages

pytestmark = pytest.mark.usefixtures("mqtt_mock")


def bed_device(hass: HomeAssistant, entry_id: str) -> dr.DeviceEntry | None:
    """The bed's device (not DeviceRegistry.async_get_device: deprecated since HA 2026)."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
    return next((d for d in devices if (DOMAIN, entry_id) in d.identifiers), None)


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platform", [Platform.SENSOR, Platform.BINARY_SENSOR, Platform.EVENT])
async def test_entities_after_a_night(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    entry_data: dict[str, Any],
    platform: Platform,
) -> None:
    """Every entity's registry entry and state after 20 minutes of a PLM night, as snapshots."""
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    with patch("custom_components.sleep_myoclonus.PLATFORMS", [platform]):
        await setup_bed(hass, entry)
        await play(hass, freezer, night_messages())
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_counts_match_the_events_fired(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(EVENING)
    events = bus_events(hass)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    await play(hass, freezer, night_messages())
    kinds = Counter(e["type"] for e in events)
    assert kinds["got_into_bed"] == 1
    assert kinds["plm_series_started"] >= 1
    for key, kind in (
        ("twitches_tonight", "twitch"),
        ("limb_movements_tonight", "limb_movement"),
        ("hypnic_jerks_tonight", "hypnic_jerk"),
        ("gross_movements_tonight", "gross_movement"),
    ):
        assert hass.states.get(f"sensor.bedroom_{key}").state == str(kinds[kind]), key
    assert kinds["limb_movement"] > 10
    device = bed_device(hass, entry.entry_id)
    assert device is not None
    assert {e["device_id"] for e in events} == {device.id}
    last = hass.states.get("event.bedroom_movement")
    assert last.attributes["event_type"] == events[-1]["type"]
    # in bed for ~19 of the 20 minutes; the PLM index needs half an hour in bed
    hours = float(hass.states.get("sensor.bedroom_time_in_bed_tonight").state)
    assert 0.28 < hours < 0.34
    assert hass.states.get("sensor.bedroom_plm_index_tonight").state == "unknown"
    assert hass.states.get("binary_sensor.bedroom_in_bed").state == "on"
    twitches = [e for e in events if e["type"] == "twitch"]
    if twitches:
        assert set(twitches[0]) >= {"duration", "amplitude", "channel", "clipped", "event_id"}


async def test_the_device_comes_from_the_sensors_meta(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    await play(hass, freezer, night_messages()[:20])
    device = bed_device(hass, entry.entry_id)
    assert device is not None
    assert device.name == "Bedroom"
    assert device.model == "SM-virtual"
    assert device.manufacturer
    assert device.sw_version
    assert device.hw_version == "250 Hz · torso, legs"
