"""Fixtures for the Home Assistant component tests (pytest-homeassistant-custom-component)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from enum import StrEnum
from typing import Any
from unittest.mock import Mock, PropertyMock, patch

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.syrupy import (
    HomeAssistantSnapshotExtension,
    HomeAssistantSnapshotSerializer,
)
from pytest_homeassistant_custom_component.typing import MqttMockHAClient, MqttMockPahoClient
from syrupy.assertion import SnapshotAssertion

from .blueprint_helpers import stop_automations


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(request: pytest.FixtureRequest) -> None:
    """Let Home Assistant load custom_components/sleep_myoclonus in every test.

    A test with ``recorder_mock`` gets the recorder first: it must exist before Home Assistant
    starts, and ``enable_custom_integrations`` would start Home Assistant.
    """
    if "recorder_mock" in request.fixturenames:
        request.getfixturevalue("recorder_mock")
    request.getfixturevalue("enable_custom_integrations")


@pytest.fixture
async def detach_automations(hass: HomeAssistant) -> AsyncGenerator[None]:
    """Turn every automation off when the test ends (detaches their triggers and timers)."""
    yield
    await stop_automations(hass)


@pytest.fixture
def entry_data() -> dict[str, Any]:
    """Config entry data of one bed sensor."""
    return {"topic_prefix": "sleep_myoclonus", "sensor_id": "bedroom"}


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Enable the entities that are disabled by default (the diagnostics counters)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
async def mqtt_mock(
    mqtt_mock: MqttMockHAClient, mqtt_client_mock: MqttMockPahoClient
) -> AsyncGenerator[MqttMockHAClient]:
    """PHACC's MQTT mock, whose fake socket is closed at the end.

    The mock paho client opens a socket on connect but never closes it, which would leave the
    MQTT client's once-a-second ``loop_misc`` timer running after the test.
    """
    yield mqtt_mock
    mqtt_client_mock.on_socket_close(mqtt_client_mock, None, Mock(fileno=Mock(return_value=-1)))


def _plain_keys(mapping: Any) -> Any:
    """The mapping with StrEnum keys as their strings (newer HA keys attributes by enums)."""
    return type(mapping)({str(k) if isinstance(k, StrEnum) else k: v for k, v in mapping.items()})


class _VersionNeutralSerializer(HomeAssistantSnapshotSerializer):
    """Home Assistant's serializer, less what differs between HA versions and is not ours.

    HA 2026 keys state attributes and capabilities by StrEnum members, adds registry fields
    (``object_id_base``, ``suggested_object_id``) and the computed name as an alias (``None``).
    The snapshots read the same on the pinned HA and on current ones.
    """

    @classmethod
    def _serializable_entity_registry_entry(cls, data: Any) -> Any:
        serialized = super()._serializable_entity_registry_entry(data)
        serialized.pop("object_id_base", None)
        serialized.pop("suggested_object_id", None)
        serialized["aliases"] = {alias for alias in serialized["aliases"] if alias is not None}
        if serialized["capabilities"]:
            serialized["capabilities"] = _plain_keys(serialized["capabilities"])
        return serialized

    @classmethod
    def _serializable_state(cls, data: Any) -> Any:
        serialized = super()._serializable_state(data)
        serialized["attributes"] = _plain_keys(serialized["attributes"])
        return serialized


class _VersionNeutralExtension(HomeAssistantSnapshotExtension):
    serializer_class = _VersionNeutralSerializer


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots through Home Assistant's serializer (registry ids and entry ids as <ANY>)."""
    return snapshot.use_extension(_VersionNeutralExtension)
