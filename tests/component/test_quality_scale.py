"""Integration Quality Scale self-assessment and icon translations: complete and consistent."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.core import HomeAssistant
from homeassistant.helpers.icon import async_get_icons

from custom_components.sleep_myoclonus.const import DOMAIN, BedEventType

COMPONENT = Path(__file__).parents[2] / "custom_components" / DOMAIN

# The rules of the Integration Quality Scale (Home Assistant 2025.4), by tier.
RULES: dict[str, tuple[str, ...]] = {
    "bronze": (
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow-test-coverage",
        "config-flow",
        "dependency-transparency",
        "docs-actions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ),
    "silver": (
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ),
    "gold": (
        "devices",
        "diagnostics",
        "discovery-update-info",
        "discovery",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ),
    # only the platinum rules that apply to this integration's kind
    "platinum": ("async-dependency", "inject-websession", "strict-typing"),
}
ALL_RULES = [rule for rules in RULES.values() for rule in rules]
ICON = re.compile(r"^mdi:[a-z0-9]+(-[a-z0-9]+)*$")


def _status(value: Any) -> tuple[str, str]:
    """A rule's status and comment, from either the short (``done``) or the long form."""
    if isinstance(value, str):
        return value, ""
    assert isinstance(value, dict), value
    assert set(value) <= {"status", "comment"}, value
    return value["status"], str(value.get("comment") or "").strip()


def _rules() -> dict[str, Any]:
    document = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text())
    assert set(document) == {"rules"}
    rules = document["rules"]
    assert isinstance(rules, dict)
    return rules


def _icons() -> dict[str, Any]:
    icons = json.loads((COMPONENT / "icons.json").read_text())
    entity = icons["entity"]
    assert isinstance(entity, dict)
    return entity


def _translated_entities() -> dict[str, Any]:
    entity = json.loads((COMPONENT / "translations" / "en.json").read_text())["entity"]
    assert isinstance(entity, dict)
    return entity


def test_every_rule_is_assessed_once() -> None:
    rules = _rules()
    assert len(ALL_RULES) == len(set(ALL_RULES)) == 52
    assert sorted(rules) == sorted(ALL_RULES)


@pytest.mark.parametrize("rule", ALL_RULES)
def test_rule_is_done_or_exempt_with_a_reason(rule: str) -> None:
    status, comment = _status(_rules()[rule])
    assert status in {"done", "exempt"}, f"{rule}: {status}"
    if status == "exempt":
        assert comment, f"{rule} is exempt without a reason"


def test_every_translated_entity_has_an_icon_and_every_icon_an_entity() -> None:
    icons, names = _icons(), _translated_entities()
    assert set(icons) == set(names)
    for platform, keys in names.items():
        assert set(icons[platform]) == set(keys), platform


def test_icons_are_mdi_names() -> None:
    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}")
        else:
            assert isinstance(node, str), path
            assert ICON.match(node), f"{path}: {node!r}"

    walk(_icons(), "entity")


def test_state_icons_name_real_states() -> None:
    icons = _icons()
    for key, icon in icons["binary_sensor"].items():
        assert "default" in icon, key
        assert set(icon.get("state", {})) <= {"on", "off"}, key
    for key, icon in icons["sensor"].items():
        assert set(icon) == {"default"}, key
    event = icons["event"]["bed_event"]
    assert set(event["state_attributes"]["event_type"]["state"]) == {k.value for k in BedEventType}


async def test_home_assistant_loads_the_icons(hass: HomeAssistant) -> None:
    loaded = await async_get_icons(hass, "entity", integrations={DOMAIN})
    assert loaded[DOMAIN] == _icons()
