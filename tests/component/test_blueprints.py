"""The automation blueprints load with Home Assistant's blueprint schema and keep the rules:
inputs that pick the bed are filtered to the integration, triggers that cannot fire on a
restart, an import URL that points at the file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.components.automation.config import async_validate_config_item
from homeassistant.components.automation.helpers import async_get_blueprints
from homeassistant.components.blueprint.models import Blueprint
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from custom_components.sleep_myoclonus.const import DOMAIN
from custom_components.sleep_myoclonus.device_trigger import TRIGGER_TYPES

from .bed_player import bed_entry, setup_bed
from .blueprint_helpers import BLUEPRINT_FILES, BLUEPRINTS, SOURCE_URL, install_blueprints

pytestmark = pytest.mark.usefixtures("mqtt_mock")

# the inputs that pick the bed or its entities
BED_INPUTS = {
    "bed",
    "in_bed_sensor",
    "quiet_hours_sensor",
    "twitch_rate_sensor",
    "last_night_sensor",
}


class _InputTag:
    """``!input name``, read as a marker."""

    def __init__(self, name: str) -> None:
        self.name = name


class _Loader(yaml.SafeLoader):
    """A YAML loader that keeps ``!input`` as :class:`_InputTag`."""


_Loader.add_constructor(
    "!input",
    lambda loader, node: _InputTag(loader.construct_scalar(node)),
)


def raw(name: str) -> dict[str, Any]:
    """The blueprint file as written."""
    loaded: dict[str, Any] = yaml.load((BLUEPRINTS / name).read_text(), Loader=_Loader)
    return loaded


def inputs_of(blueprint: Blueprint) -> dict[str, dict[str, Any]]:
    """Every input, sections flattened."""
    found: dict[str, dict[str, Any]] = {}
    for key, value in blueprint.data["blueprint"]["input"].items():
        if value and "input" in value:
            found.update(value["input"])
        else:
            found[key] = value
    return found


@pytest.fixture
async def blueprints(hass: HomeAssistant, tmp_path: Path) -> dict[str, Blueprint]:
    """The blueprints as Home Assistant loads them from its config dir."""
    install_blueprints(hass, tmp_path)
    domain_blueprints = async_get_blueprints(hass)
    return {
        name: await domain_blueprints.async_get_blueprint(f"sleep_myoclonus/{name}")
        for name in BLUEPRINT_FILES
    }


async def test_the_blueprints_load_with_home_assistants_schema(
    blueprints: dict[str, Blueprint],
) -> None:
    for name, blueprint in blueprints.items():
        assert blueprint.domain == "automation"
        assert blueprint.metadata["source_url"] == SOURCE_URL + name
        assert blueprint.metadata["homeassistant"]["min_version"] == "2025.4.0"
        assert blueprint.name.startswith("Sleep Myoclonus")
        assert "Needs" in blueprint.metadata["description"]
        assert blueprint.validate() is None  # no errors


async def test_inputs_that_pick_the_bed_are_filtered_to_the_integration(
    blueprints: dict[str, Blueprint],
) -> None:
    for blueprint in blueprints.values():
        inputs = inputs_of(blueprint)
        picked = BED_INPUTS & inputs.keys()
        assert "bed" in picked
        for key in picked:
            selector = inputs[key]["selector"]
            (kind,) = selector
            filters = selector[kind]["filter"]
            assert [f["integration"] for f in filters] == [DOMAIN], key
            assert "default" not in inputs[key], key  # a bed must be picked
        # everything else has a default, but the lights to dim
        without_default = {key for key, value in inputs.items() if "default" not in value}
        assert without_default - picked <= {"lights"}


@pytest.mark.parametrize("name", BLUEPRINT_FILES)
def test_only_restart_safe_triggers(name: str) -> None:
    """Device triggers of the bed (a bus event, or the rate that ignores gaps) and times of
    day: nothing that fires when Home Assistant starts or an entity comes back."""
    data = raw(name)
    assert data["mode"] in {"queued", "single", "restart"}
    for trigger in data["triggers"]:
        platform = trigger.get("trigger", trigger.get("platform"))
        assert platform in {"device", "time"}, trigger
        if platform == "device":
            assert trigger["domain"] == DOMAIN
            assert isinstance(trigger["device_id"], _InputTag)
            assert trigger["device_id"].name == "bed"
            assert trigger["type"] in TRIGGER_TYPES


async def test_automations_from_the_blueprints_validate(
    hass: HomeAssistant, blueprints: dict[str, Blueprint], entry_data: dict[str, Any]
) -> None:
    """Every input but the bed's (and the lights) left at its default: Home Assistant's
    automation config validation accepts the automation (device triggers on the real bed)."""
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    picks = {
        "bed": device.id,
        "in_bed_sensor": "binary_sensor.bedroom_in_bed",
        "quiet_hours_sensor": "binary_sensor.bedroom_quiet_hours",
        "twitch_rate_sensor": "sensor.bedroom_twitch_rate",
        "last_night_sensor": "sensor.bedroom_last_night_twitch_rate",
        "lights": ["light.bedside"],
    }
    for name, blueprint in blueprints.items():
        wanted = {key: picks[key] for key in picks.keys() & inputs_of(blueprint).keys()}
        config = {
            "id": name,
            "alias": name,
            "use_blueprint": {"path": f"sleep_myoclonus/{name}", "input": wanted},
        }
        validated = await async_validate_config_item(hass, name, config)
        assert validated is not None
        assert validated.validation_status == "ok", (name, validated.validation_error)
