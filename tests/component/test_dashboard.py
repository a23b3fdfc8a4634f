"""The shipped dashboard: valid YAML whose statistics and entities are the ones a bed has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import slugify
from homeassistant.util.yaml import load_yaml_dict
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import MqttMockHAClient

from custom_components.sleep_myoclonus.const import DEFAULT_OPTIONS, DOMAIN
from custom_components.sleep_myoclonus.statistics import statistic_ids
from scripts.ha_dashboard import DASHBOARD_FILE, bed_slug, dashboard_for

from .bed_player import bed_entry, setup_bed

DASHBOARD = DASHBOARD_FILE
ENTITY_ID = re.compile(r"^[a-z_]+\.[a-z0-9_]+$")


def _dashboard() -> dict[str, Any]:
    """The dashboard as Home Assistant loads a YAML dashboard."""
    return dict(load_yaml_dict(DASHBOARD))


def _cards(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every card of every view, cards in stacks included."""
    stack = [card for view in config["views"] for card in view.get("cards", [])]
    while stack:
        card = stack.pop(0)
        stack.extend(card.get("cards", []))
        yield card


def _ids(card: dict[str, Any]) -> list[str]:
    """The ids a card shows: its ``entities`` (strings or ``entity:`` rows), ``entity`` and
    ``target.entity_id``."""
    found: list[str] = []
    for row in card.get("entities", []):
        found.append(row if isinstance(row, str) else row["entity"])
    if "entity" in card:
        found.append(card["entity"])
    target = card.get("target", {}).get("entity_id", [])
    found.extend([target] if isinstance(target, str) else target)
    return found


def _statistics(config: dict[str, Any]) -> list[str]:
    return [i for c in _cards(config) if c["type"] == "statistics-graph" for i in _ids(c)]


def _entities(config: dict[str, Any]) -> set[str]:
    return {i for c in _cards(config) if c["type"] != "statistics-graph" for i in _ids(c)}


def test_the_dashboard_has_a_tonight_and_a_history_view() -> None:
    config = _dashboard()
    assert config["title"]
    assert [view["title"] for view in config["views"]] == ["Tonight", "History"]
    cards = list(_cards(config))
    assert all(isinstance(card.get("type"), str) for card in cards)
    types = {card["type"] for card in config["views"][0]["cards"]}
    assert {"history-graph", "logbook"} <= types
    head = DASHBOARD.read_text(encoding="utf-8").splitlines()[:12]
    assert any("replace" in line and '"bedroom"' in line for line in head)


def test_every_statistic_is_one_the_integration_writes_and_each_has_a_daily_bar_chart() -> None:
    config = _dashboard()
    shown = _statistics(config)
    assert set(shown) == set(statistic_ids("bedroom"))
    daily = {
        sid
        for card in _cards(config)
        if card["type"] == "statistics-graph" and card["period"] == "day"
        for sid in _ids(card)
    }
    assert daily == set(statistic_ids("bedroom"))
    for card in _cards(config):
        if card["type"] == "statistics-graph":
            assert card["chart_type"] == "bar"
            assert card["stat_types"] == ["mean"]
            assert card["period"] in {"day", "week"}
            if card["period"] == "day":
                assert card["days_to_show"] == 30


async def test_every_entity_exists_once_a_bed_is_set_up(
    hass: HomeAssistant,
    mqtt_mock: MqttMockHAClient,
    entry_data: dict[str, Any],
    entity_registry: er.EntityRegistry,
) -> None:
    await setup_bed(hass, bed_entry(entry_data))
    wanted = _entities(_dashboard())
    assert all(ENTITY_ID.match(entity_id) for entity_id in wanted), wanted
    # the lifestyle sensors and last night's twitch rate are among them
    assert "sensor.bedroom_caffeine_today" in wanted
    assert "sensor.bedroom_last_night_twitch_rate" in wanted
    ours = {
        e.entity_id for e in entity_registry.entities.values() if e.platform == "sleep_myoclonus"
    }
    missing = {
        entity_id
        for entity_id in wanted
        if entity_id not in ours or hass.states.get(entity_id) is None
    }
    assert not missing


async def test_the_demo_renames_it_for_any_bed(
    hass: HomeAssistant, mqtt_mock: MqttMockHAClient, entity_registry: er.EntityRegistry
) -> None:
    """The demo names a bed after its sensor id; the renamed dashboard fits that bed."""
    sensor_id = "guest-room"
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={"topic_prefix": "sleep_myoclonus", "sensor_id": sensor_id},
        options=dict(DEFAULT_OPTIONS),
        unique_id=f"sleep_myoclonus/{sensor_id}",
        title=sensor_id.replace("_", " ").title(),  # as the demo names it
    )
    await setup_bed(hass, entry)
    config = dashboard_for(bed_slug(sensor_id))
    assert "bedroom" not in str(config)
    assert set(_statistics(config)) == set(statistic_ids(slugify(sensor_id)))
    ours = {
        e.entity_id for e in entity_registry.entities.values() if e.platform == "sleep_myoclonus"
    }
    assert _entities(config) <= ours
