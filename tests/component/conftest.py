"""Fixtures for the Home Assistant component tests (pytest-homeassistant-custom-component)."""

from __future__ import annotations

from typing import Any

import pytest


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
