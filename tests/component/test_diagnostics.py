"""Diagnostics: what a bed sensor's diagnostics download holds after a short virtual night."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockUser,
    async_fire_mqtt_message,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, MqttMockHAClient
from syrupy.assertion import SnapshotAssertion

from custom_components.sleep_myoclonus.const import (
    CONF_RULE_SET,
    CONF_SENSITIVITY,
    DEFAULT_OPTIONS,
    DOMAIN,
    RuleSet,
    Sensitivity,
)
from custom_components.sleep_myoclonus.detector.config import DetectorConfig
from custom_components.sleep_myoclonus.detector.plm import PlmRules
from custom_components.sleep_myoclonus.diagnostics import (
    async_get_config_entry_diagnostics,
    non_default_parameters,
)

from .virtual_night import SENSOR_ID, night_messages

# 23:30 in the test instance's time zone (US/Pacific): inside the default night window.
NIGHT = "2025-01-16T07:30:00+00:00"
META_TOPIC = f"sleep_myoclonus/{SENSOR_ID}/meta"
STATUS_TOPIC = f"sleep_myoclonus/{SENSOR_ID}/status"
RAW_TOPIC = f"sleep_myoclonus/{SENSOR_ID}/raw"
TICK_S = 5.0  # the integration's state write interval


def _entry(hass: HomeAssistant, data: dict[str, Any], **options: str) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        data=data,
        options={**DEFAULT_OPTIONS, **options},
        unique_id=f"sleep_myoclonus/{SENSOR_ID}",
        title="Bedroom",
    )
    entry.add_to_hass(hass)
    return entry


async def _set_up(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def _client_at_frozen_time(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, user: MockUser
) -> ClientSessionGenerator:
    """An API client whose access token is issued at the frozen time (the fixture's is not)."""
    token = hass.auth.async_create_access_token(next(iter(user.refresh_tokens.values())))

    async def client() -> TestClient:
        return await hass_client(token)

    return client


async def _play_night(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Deliver the virtual night with the clock following the sensor; timers fire on the way."""
    last_s = next_tick_s = 0.0
    for message in night_messages():
        if message.time_s > last_s:
            freezer.tick(message.time_s - last_s)
            last_s = message.time_s
        if message.time_s >= next_tick_s:
            async_fire_time_changed(hass)
            next_tick_s = message.time_s + TICK_S
        async_fire_mqtt_message(hass, message.topic, message.payload, retain=message.retain)
    await hass.async_block_till_done()


async def test_diagnostics_after_a_virtual_night(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    mqtt_mock: MqttMockHAClient,
    freezer: FrozenDateTimeFactory,
    hass_admin_user: MockUser,
    entry_data: dict[str, Any],
    snapshot: SnapshotAssertion,
) -> None:
    # Frozen only now that MQTT is set up (freezegun breaks importing its add-on models).
    freezer.move_to(NIGHT)
    entry = _entry(hass, entry_data)
    await _set_up(hass, entry)
    await _play_night(hass, freezer)
    # The sensor announces itself again (as after a reconnect), with a meta that says more than
    # the protocol asks for: who and where stays out of the diagnostics.
    meta = json.loads(next(m.payload for m in night_messages() if m.topic == META_TOPIC))
    meta |= {
        "name": "Anna's bed",
        "ip": "192.168.1.23",
        "mac": "24:0a:c4:00:00:01",
        "wifi": {"ssid": "Home", "rssi_dbm": -61},
    }
    async_fire_mqtt_message(hass, STATUS_TOPIC, "online")
    async_fire_mqtt_message(hass, META_TOPIC, json.dumps(meta))
    async_fire_mqtt_message(hass, RAW_TOPIC, b"not a frame")
    await hass.async_block_till_done()

    diagnostics = await get_diagnostics_for_config_entry(
        hass, _client_at_frozen_time(hass, hass_client, hass_admin_user), entry
    )

    assert diagnostics == snapshot
    # what support needs stays readable
    assert diagnostics["entry"]["data"] == entry_data
    sensor = diagnostics["sensor"]
    assert isinstance(sensor, dict)
    assert sensor["status"] == "online"
    assert sensor["meta"]["sensor_id"] == SENSOR_ID
    assert sensor["meta"]["channels"] == ["torso", "legs"]
    for key in ("name", "ip", "mac", "wifi"):
        assert sensor["meta"][key] == "**REDACTED**"
    assert diagnostics["protocol"]["errors"]["bad_magic"] >= 1
    assert diagnostics["protocol"]["frames_accepted"] > 0
    assert diagnostics["stream"]["channels"] == ["torso", "legs"]
    assert diagnostics["detector_config"] == {}
    assert diagnostics["last_event"] is not None
    assert sum(diagnostics["tonight"]["counts"].values()) > 0


async def test_diagnostics_name_the_parameters_the_options_changed(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entry_data: dict[str, Any]
) -> None:
    entry = _entry(
        hass,
        entry_data,
        **{CONF_RULE_SET: RuleSet.AASM.value, CONF_SENSITIVITY: Sensitivity.HIGH.value},
    )
    await _set_up(hass, entry)
    # MQTT's periodic client loop runs once (and ends: the client is a mock).
    async_fire_time_changed(hass, dt_util.utcnow() + dt.timedelta(seconds=2))

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)

    changed = diagnostics["detector_config"]
    default = DetectorConfig()
    assert changed["plm"] == {
        "min_lm_s": 0.5,
        "max_lm_s": 10.0,
        "min_interval_s": 5.0,
        "max_interval_s": 90.0,
        "min_count": 4,
    }
    assert changed["on_ratio"] == pytest.approx(default.on_ratio * 0.85)
    assert "tick_s" not in changed
    # nothing heard yet
    assert diagnostics["sensor"]["available"] is False
    assert diagnostics["sensor"]["meta"] == {}
    assert diagnostics["stream"] is None
    assert diagnostics["last_event"] is None
    assert diagnostics["protocol"]["payloads"] == 0
    json.dumps(diagnostics)  # JSON-safe as it is


async def test_diagnostics_of_an_entry_that_is_not_loaded(
    hass: HomeAssistant, entry_data: dict[str, Any]
) -> None:
    entry = _entry(hass, entry_data)

    diagnostics = await async_get_config_entry_diagnostics(hass, entry)

    assert diagnostics == {
        "entry": {"state": "not_loaded", "data": entry_data, "options": DEFAULT_OPTIONS}
    }


def test_non_default_parameters() -> None:
    assert non_default_parameters(DetectorConfig()) == {}
    assert non_default_parameters(DetectorConfig(plm=PlmRules.wasm())) == {}
    assert non_default_parameters(DetectorConfig(clip_level=8188, warmup_s=6.0)) == {
        "warmup_s": 6.0,
        "clip_level": 8188,
    }
