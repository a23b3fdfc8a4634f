"""Config flow: add a bed sensor by hand or by MQTT discovery, reconfigure its topics, options."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncGenerator, Generator
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
from homeassistant.components import mqtt
from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_MQTT,
    SOURCE_USER,
    ConfigEntryState,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.sleep_myoclonus import config_flow
from custom_components.sleep_myoclonus.const import (
    CONF_CAFFEINE_CUTOFF,
    CONF_NIGHT_END,
    CONF_NIGHT_START,
    CONF_QUIET_END,
    CONF_QUIET_START,
    CONF_RULE_SET,
    CONF_SENSITIVITY,
    CONF_SENSOR_ID,
    CONF_TOPIC_PREFIX,
    DEFAULT_NAME,
    DEFAULT_OPTIONS,
    DEFAULT_TOPIC_PREFIX,
    DOMAIN,
    RuleSet,
    Sensitivity,
)

PREFIX = DEFAULT_TOPIC_PREFIX
SENSOR = "bedroom"
STATUS_TOPIC = f"{PREFIX}/{SENSOR}/status"
META_TOPIC = f"{PREFIX}/{SENSOR}/meta"
META = {"firmware": "1.0.0", "channels": ["piezo"], "fs": 250}


def _matches(topic_filter: str, topic: str) -> bool:
    """MQTT topic matching for the ``+`` wildcard (all the flow subscribes with)."""
    filter_levels = topic_filter.split("/")
    levels = topic.split("/")
    return len(filter_levels) == len(levels) and all(
        f in ("+", level) for f, level in zip(filter_levels, levels, strict=True)
    )


@pytest.fixture(autouse=True)
async def mock_setup_entry(hass: HomeAssistant) -> AsyncGenerator[AsyncMock]:
    """Keep the entry setup and unload (not under test here) from running."""
    with (
        patch(
            "custom_components.sleep_myoclonus.async_setup_entry", return_value=True, create=True
        ) as setup_entry,
        patch(
            "custom_components.sleep_myoclonus.async_unload_entry", return_value=True, create=True
        ),
    ):
        yield setup_entry
        # unloaded here, with the mock: the hass fixture unloads what is still loaded after
        # this fixture ends, which would run the real unload on an entry never set up
        for entry in hass.config_entries.async_entries(DOMAIN):
            if entry.state is ConfigEntryState.LOADED:
                await hass.config_entries.async_unload(entry.entry_id)


@pytest.fixture(autouse=True)
def short_timeout() -> Generator[None]:
    """Let a silent sensor time out at once."""
    with patch.object(config_flow, "DISCOVERY_TIMEOUT_S", 0.05):
        yield


@pytest.fixture
async def broker(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> AsyncGenerator[dict[str, str | bytes]]:
    """Retained messages of the mock broker: delivered on every matching subscription.

    Like a real broker, the retained messages arrive after the subscription, while the flow
    waits for the sensor.
    """
    retained: dict[str, str | bytes] = {}
    real_subscribe = mqtt.async_subscribe

    async def subscribe(
        hass_: HomeAssistant,
        topic: str,
        msg_callback: Any,
        qos: int = 0,
        encoding: str | None = "utf-8",
    ) -> Any:
        unsubscribe = await real_subscribe(hass_, topic, msg_callback, qos, encoding)
        for retained_topic, payload in retained.items():
            if _matches(topic, retained_topic):
                hass.loop.call_soon(async_fire_mqtt_message, hass, retained_topic, payload, 1, True)
        return unsubscribe

    with patch("homeassistant.components.mqtt.async_subscribe", subscribe):
        yield retained


@pytest.fixture
def bed_entry(hass: HomeAssistant) -> MockConfigEntry:
    """A configured bed sensor (not set up)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Bedroom",
        unique_id=f"{PREFIX}/{SENSOR}",
        data={CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR},
        options=dict(DEFAULT_OPTIONS),
    )
    entry.add_to_hass(hass)
    return entry


def _meta_info(topic: str = META_TOPIC, payload: str | bytes | None = None) -> MqttServiceInfo:
    return MqttServiceInfo(
        topic=topic,
        payload=json.dumps(META) if payload is None else payload,
        qos=1,
        retain=True,
        subscribed_topic=f"{PREFIX}/+/meta",
        timestamp=0.0,
    )


# --- user step ---------------------------------------------------------------------------------


async def test_user_creates_entry_when_the_sensor_is_heard(
    hass: HomeAssistant, broker: dict[str, str | bytes], mock_setup_entry: AsyncMock
) -> None:
    broker[STATUS_TOPIC] = "online"
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}
    schema = result["data_schema"]
    assert schema is not None
    assert schema({CONF_SENSOR_ID: SENSOR}) == {
        CONF_NAME: DEFAULT_NAME,
        CONF_TOPIC_PREFIX: DEFAULT_TOPIC_PREFIX,
        CONF_SENSOR_ID: SENSOR,
    }

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NAME: " Bedroom ", CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: f" {SENSOR}"},
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Bedroom"
    assert result["data"] == {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR}
    assert result["options"] == DEFAULT_OPTIONS
    entry = result["result"]
    assert entry.unique_id == f"{PREFIX}/{SENSOR}"
    assert entry.state is ConfigEntryState.LOADED
    assert len(mock_setup_entry.mock_calls) == 1


async def test_user_hears_binary_raw_frames_under_a_nested_prefix(
    hass: HomeAssistant, broker: dict[str, str | bytes]
) -> None:
    broker["home/beds/guest/raw"] = b"\x00\xff\x80"  # a binary frame, not UTF-8
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NAME: "", CONF_TOPIC_PREFIX: "home/beds", CONF_SENSOR_ID: "guest"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == DEFAULT_NAME
    assert result["data"] == {CONF_TOPIC_PREFIX: "home/beds", CONF_SENSOR_ID: "guest"}
    assert result["result"].unique_id == "home/beds/guest"


@pytest.mark.parametrize(
    ("prefix", "sensor_id", "errors"),
    [
        ("sleep myoclonus", SENSOR, {CONF_TOPIC_PREFIX: "invalid_topic_prefix"}),
        ("a//b", SENSOR, {CONF_TOPIC_PREFIX: "invalid_topic_prefix"}),
        ("a/+", SENSOR, {CONF_TOPIC_PREFIX: "invalid_topic_prefix"}),
        ("", SENSOR, {CONF_TOPIC_PREFIX: "invalid_topic_prefix"}),
        (PREFIX, "bed/room", {CONF_SENSOR_ID: "invalid_sensor_id"}),
        (PREFIX, "#", {CONF_SENSOR_ID: "invalid_sensor_id"}),
        (PREFIX, "", {CONF_SENSOR_ID: "invalid_sensor_id"}),
        (
            "a b",
            "c d",
            {CONF_TOPIC_PREFIX: "invalid_topic_prefix", CONF_SENSOR_ID: "invalid_sensor_id"},
        ),
    ],
)
async def test_user_invalid_topics(
    hass: HomeAssistant,
    broker: dict[str, str | bytes],
    prefix: str,
    sensor_id: str,
    errors: dict[str, str],
) -> None:
    broker[STATUS_TOPIC] = "online"
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    user_input = {CONF_NAME: "Bedroom", CONF_TOPIC_PREFIX: prefix, CONF_SENSOR_ID: sensor_id}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == errors
    # the form keeps what was entered
    schema = result["data_schema"]
    assert schema is not None
    assert schema({}) == user_input

    # and recovers once the input is fixed
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NAME: "Bedroom", CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR}


async def test_user_no_data_from_a_silent_sensor(
    hass: HomeAssistant, broker: dict[str, str | bytes]
) -> None:
    broker[f"{PREFIX}/other/status"] = "online"  # another sensor is heard, this one is not
    broker[f"{PREFIX}/{SENSOR}/raw/extra"] = "x"  # deeper than the sensor's topics
    user_input = {CONF_NAME: "Bedroom", CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR}
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "no_data"}
    schema = result["data_schema"]
    assert schema is not None
    assert schema({}) == user_input
    assert not hass.config_entries.async_entries(DOMAIN)

    # the sensor comes online; trying again succeeds
    broker[STATUS_TOPIC] = "online"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_user_already_configured(
    hass: HomeAssistant, broker: dict[str, str | bytes], bed_entry: MockConfigEntry
) -> None:
    broker[STATUS_TOPIC] = "online"
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NAME: "Again", CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert len(hass.config_entries.async_entries(DOMAIN)) == 1


async def test_user_replaces_an_ignored_discovery(
    hass: HomeAssistant, broker: dict[str, str | bytes]
) -> None:
    MockConfigEntry(
        domain=DOMAIN, source=SOURCE_IGNORE, unique_id=f"{PREFIX}/{SENSOR}", data={}
    ).add_to_hass(hass)
    broker[STATUS_TOPIC] = "online"
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NAME: "Bedroom", CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR},
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entries = hass.config_entries.async_entries(DOMAIN, include_ignore=True)
    assert [entry.source for entry in entries] == [SOURCE_USER]


async def test_user_without_mqtt(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


async def test_user_mqtt_entry_that_does_not_come_up(hass: HomeAssistant) -> None:
    MockConfigEntry(domain=mqtt.DOMAIN, data={mqtt.CONF_BROKER: "mock-broker"}).add_to_hass(hass)
    with (
        # no connection attempt (HA 2026's MQTT setup tries the broker with paho's own socket)
        patch("homeassistant.components.mqtt.async_setup_entry", return_value=False),
        patch(
            "homeassistant.components.mqtt.async_wait_for_mqtt_client", return_value=False
        ) as wait,
    ):
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_connected"
    wait.assert_awaited_once_with(hass)


async def test_user_mqtt_not_connected_to_the_broker(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    mqtt_mock.connected = False
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_connected"


async def test_user_subscription_fails(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    with patch(
        "homeassistant.components.mqtt.async_subscribe",
        side_effect=HomeAssistantError("Cannot subscribe"),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_NAME: "Bedroom", CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR},
        )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_connected"


# --- MQTT discovery ----------------------------------------------------------------------------


async def test_discovery_creates_entry(hass: HomeAssistant, mqtt_mock: MqttMockHAClient) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": SOURCE_MQTT},
        data=_meta_info(payload=json.dumps({**META, "name": "Master bedroom"})),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "discovery_confirm"
    assert result["description_placeholders"] == {"topic": f"{PREFIX}/{SENSOR}/"}
    schema = result["data_schema"]
    assert schema is not None
    assert schema({}) == {CONF_NAME: "Master bedroom"}
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["title_placeholders"] == {"name": "Master bedroom"}
    assert flow["context"]["unique_id"] == f"{PREFIX}/{SENSOR}"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "Bed of Anna"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Bed of Anna"
    assert result["data"] == {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR}
    assert result["options"] == DEFAULT_OPTIONS
    assert result["result"].unique_id == f"{PREFIX}/{SENSOR}"
    assert result["result"].source == SOURCE_MQTT


@pytest.mark.parametrize(
    "payload",
    [
        json.dumps(META),  # no name
        json.dumps({**META, "name": 7}),  # not a string
        json.dumps({**META, "name": "  "}),  # blank
        json.dumps(["not", "an", "object"]),
        "not json",
        b"\xff\xfe",  # not UTF-8
    ],
)
async def test_discovery_names_the_bed_after_the_sensor_id(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, payload: str | bytes
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=_meta_info(payload=payload)
    )
    assert result["type"] is FlowResultType.FORM
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["context"]["title_placeholders"] == {"name": SENSOR}

    # a blank name keeps the proposed one
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_NAME: " "})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == SENSOR


async def test_discovery_from_a_retained_meta_message(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    """The manifest's MQTT topic starts the flow when the sensor's meta message arrives."""
    async_fire_mqtt_message(
        hass, META_TOPIC, json.dumps({**META, "name": "Guest room"}), qos=1, retain=True
    )
    await hass.async_block_till_done()
    (flow,) = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert flow["step_id"] == "discovery_confirm"
    assert flow["context"]["source"] == SOURCE_MQTT
    assert flow["context"]["title_placeholders"] == {"name": "Guest room"}


async def test_discovery_already_configured(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, bed_entry: MockConfigEntry
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=_meta_info()
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_discovery_already_in_progress(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=_meta_info()
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=_meta_info(payload='{"name": "x"}')
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_in_progress"


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        (f"{PREFIX}/{SENSOR}/status", "online"),  # not the meta message
        (f"{PREFIX}/bed room/meta", "{}"),  # invalid id
        ("meta", "{}"),  # too short
        (f"{PREFIX}/{SENSOR}/unknown", "{}"),  # unknown kind
        (META_TOPIC, ""),  # retained meta cleared: the sensor is gone
    ],
)
async def test_discovery_invalid_info(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, topic: str, payload: str
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_MQTT}, data=_meta_info(topic, payload)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "invalid_discovery_info"


# --- reconfigure -------------------------------------------------------------------------------


async def test_reconfigure_changes_the_topics(
    hass: HomeAssistant,
    broker: dict[str, str | bytes],
    bed_entry: MockConfigEntry,
    mock_setup_entry: AsyncMock,
) -> None:
    broker["home/beds/master/status"] = "online"
    result = await bed_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    schema = result["data_schema"]
    assert schema is not None
    assert schema({}) == {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOPIC_PREFIX: "home/beds", CONF_SENSOR_ID: "master"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert bed_entry.data == {CONF_TOPIC_PREFIX: "home/beds", CONF_SENSOR_ID: "master"}
    assert bed_entry.unique_id == "home/beds/master"
    assert bed_entry.title == "Bedroom"
    assert bed_entry.options == DEFAULT_OPTIONS
    assert len(mock_setup_entry.mock_calls) == 1  # reloaded


async def test_reconfigure_to_the_same_topics(
    hass: HomeAssistant, broker: dict[str, str | bytes], bed_entry: MockConfigEntry
) -> None:
    broker[STATUS_TOPIC] = "online"
    result = await bed_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert bed_entry.unique_id == f"{PREFIX}/{SENSOR}"


@pytest.mark.parametrize(
    ("user_input", "errors"),
    [
        (
            {CONF_TOPIC_PREFIX: "bad prefix", CONF_SENSOR_ID: SENSOR},
            {CONF_TOPIC_PREFIX: "invalid_topic_prefix"},
        ),
        (
            {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: "bad/id"},
            {CONF_SENSOR_ID: "invalid_sensor_id"},
        ),
        ({CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: "silent"}, {"base": "no_data"}),
    ],
)
async def test_reconfigure_errors(
    hass: HomeAssistant,
    broker: dict[str, str | bytes],
    bed_entry: MockConfigEntry,
    user_input: dict[str, str],
    errors: dict[str, str],
) -> None:
    broker[STATUS_TOPIC] = "online"
    result = await bed_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == errors
    schema = result["data_schema"]
    assert schema is not None
    assert schema({}) == user_input
    assert bed_entry.data == {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR}

    broker[f"{PREFIX}/living/status"] = "online"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: "living"}
    )
    await hass.async_block_till_done()
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert bed_entry.data == {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: "living"}
    assert bed_entry.unique_id == f"{PREFIX}/living"


async def test_reconfigure_onto_another_entry(
    hass: HomeAssistant, broker: dict[str, str | bytes], bed_entry: MockConfigEntry
) -> None:
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=f"{PREFIX}/guest",
        data={CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: "guest"},
    ).add_to_hass(hass)
    broker[f"{PREFIX}/guest/status"] = "online"
    result = await bed_entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: "guest"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert bed_entry.unique_id == f"{PREFIX}/{SENSOR}"
    assert bed_entry.data == {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR}


async def test_reconfigure_without_mqtt(hass: HomeAssistant, bed_entry: MockConfigEntry) -> None:
    result = await bed_entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "mqtt_not_configured"


# --- options -----------------------------------------------------------------------------------


async def test_options_defaults_and_update(hass: HomeAssistant, bed_entry: MockConfigEntry) -> None:
    hass.config_entries.async_update_entry(
        bed_entry, options={**DEFAULT_OPTIONS, CONF_SENSITIVITY: Sensitivity.HIGH.value}
    )
    result = await hass.config_entries.options.async_init(bed_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert result["errors"] == {}
    schema = result["data_schema"]
    assert schema is not None
    assert schema({}) == {**DEFAULT_OPTIONS, CONF_SENSITIVITY: Sensitivity.HIGH.value}

    new_options = {
        CONF_RULE_SET: RuleSet.AASM.value,
        CONF_SENSITIVITY: Sensitivity.LOW.value,
        CONF_NIGHT_START: "20:00:00",
        CONF_NIGHT_END: "10:30",  # the time selector may leave out the seconds
        CONF_QUIET_START: "23:15:00",
        CONF_QUIET_END: "06:45:00",
        CONF_CAFFEINE_CUTOFF: "15:30:00",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], new_options)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    expected = {**new_options, CONF_NIGHT_END: "10:30:00"}
    assert result["data"] == expected
    assert bed_entry.options == expected
    assert bed_entry.data == {CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR}


async def test_options_fall_back_to_the_defaults(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=f"{PREFIX}/{SENSOR}",
        data={CONF_TOPIC_PREFIX: PREFIX, CONF_SENSOR_ID: SENSOR},
        options={CONF_RULE_SET: RuleSet.AASM.value, "kept": True},
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"]
    assert schema is not None
    assert schema({}) == {**DEFAULT_OPTIONS, CONF_RULE_SET: RuleSet.AASM.value}
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {**DEFAULT_OPTIONS, CONF_RULE_SET: RuleSet.AASM.value, "kept": True}


@pytest.mark.parametrize(
    ("user_input", "error"),
    [
        ({CONF_NIGHT_START: "21:00:00", CONF_NIGHT_END: "21:00"}, "empty_night_window"),
        ({CONF_QUIET_START: "07:00:00", CONF_QUIET_END: "07:00:00"}, "empty_quiet_hours"),
    ],
)
async def test_options_empty_windows(
    hass: HomeAssistant, bed_entry: MockConfigEntry, user_input: dict[str, str], error: str
) -> None:
    result = await hass.config_entries.options.async_init(bed_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**DEFAULT_OPTIONS, **user_input}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": error}
    schema = result["data_schema"]
    assert schema is not None
    assert schema({})[CONF_NIGHT_START] == user_input.get(
        CONF_NIGHT_START, DEFAULT_OPTIONS[CONF_NIGHT_START]
    )
    assert bed_entry.options == DEFAULT_OPTIONS

    result = await hass.config_entries.options.async_configure(result["flow_id"], DEFAULT_OPTIONS)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert bed_entry.options == DEFAULT_OPTIONS


# --- translations ------------------------------------------------------------------------------

TRANSLATIONS = Path(config_flow.__file__).parent / "translations"


def _leaves(tree: dict[str, Any], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    leaves: dict[tuple[str, ...], str] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            leaves |= _leaves(value, (*path, key))
        else:
            leaves[(*path, key)] = value
    return leaves


@pytest.mark.parametrize("language", ["en", "de"])
def test_translations_cover_the_flows(language: str) -> None:
    strings = json.loads((TRANSLATIONS / f"{language}.json").read_text(encoding="utf-8"))
    config, options = strings["config"], strings["options"]
    assert set(config["step"]) == {"user", "discovery_confirm", "reconfigure"}
    assert set(config["error"]) == {"invalid_topic_prefix", "invalid_sensor_id", "no_data"}
    assert set(config["abort"]) == {
        "already_configured",
        "already_in_progress",
        "mqtt_not_configured",
        "mqtt_not_connected",
        "invalid_discovery_info",
        "reconfigure_successful",
    }
    assert set(config["step"]["user"]["data"]) == {CONF_NAME, CONF_TOPIC_PREFIX, CONF_SENSOR_ID}
    assert set(config["step"]["discovery_confirm"]["data"]) == {CONF_NAME}
    assert "{topic}" in config["step"]["discovery_confirm"]["description"]
    assert set(config["step"]["reconfigure"]["data"]) == {CONF_TOPIC_PREFIX, CONF_SENSOR_ID}
    assert set(options["step"]["init"]["data"]) == set(DEFAULT_OPTIONS)
    assert set(options["error"]) == {"empty_night_window", "empty_quiet_hours"}
    assert set(strings["selector"]["rule_set"]["options"]) == {r.value for r in RuleSet}
    assert set(strings["selector"]["sensitivity"]["options"]) == {s.value for s in Sensitivity}


def test_german_translation_follows_the_english_one() -> None:
    english = _leaves(json.loads((TRANSLATIONS / "en.json").read_text(encoding="utf-8")))
    german = _leaves(json.loads((TRANSLATIONS / "de.json").read_text(encoding="utf-8")))
    assert set(german) == set(english)
    for key, text in english.items():
        assert set(re.findall(r"\{\w+\}", german[key])) == set(re.findall(r"\{\w+\}", text)), key
