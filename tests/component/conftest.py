"""Fixtures for the Home Assistant component tests (pytest-homeassistant-custom-component)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any
from unittest.mock import Mock, PropertyMock, patch

import pytest
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import MqttMockHAClient, MqttMockPahoClient
from syrupy.assertion import SnapshotAssertion


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    enable_custom_integrations: None,
) -> None:
    """Let Home Assistant load custom_components/sleep_myoclonus in every test."""
    return


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


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots through Home Assistant's serializer (registry ids and entry ids as <ANY>)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
