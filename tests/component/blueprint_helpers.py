"""Blueprints in a temporary config dir, and small real entities for them to act on.

The entities are real Home Assistant entities (``LightEntity``, ``MediaPlayerEntity``,
``SwitchEntity``, ``FanEntity``) on a test platform: the blueprints' actions go through Home
Assistant's own services, scenes and state reproduction, and the entities record what they were
asked to do.
"""

from __future__ import annotations

import dataclasses
import shutil
from functools import cache
from pathlib import Path
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.fan import FanEntity, FanEntityFeature
from homeassistant.components.light import (
    ATTR_BRIGHTNESS,
    ATTR_TRANSITION,
    ColorMode,
    LightEntity,
    LightEntityFeature,
)
from homeassistant.components.media_player import (
    MediaPlayerEntity,
    MediaPlayerEntityFeature,
    MediaPlayerState,
)
from homeassistant.components.switch import SwitchEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    setup_test_component_platform,
)

from custom_components.sleep_myoclonus.const import EVENT_BED
from hardware.virtual_sensor.frames import VirtualBed
from hardware.virtual_sensor.network import Message
from hardware.virtual_sensor.scenarios import preset
from hardware.virtual_sensor.synth import generate

from .bed_player import EVENING, bed_entry, setup_bed

BLUEPRINTS = (
    Path(__file__).parents[2]
    / "custom_components"
    / "sleep_myoclonus"
    / "blueprints"
    / "automation"
)
AUTOMATION = "automation"
BLUEPRINT_FILES = ("dim_lights.yaml", "cut_noise.yaml", "caffeine_reminder.yaml")
SOURCE_URL = (
    "https://github.com/sleep-myoclonus/sleep-myoclonus/blob/main/"
    "custom_components/sleep_myoclonus/blueprints/automation/"
)


@cache
def short_stay_messages() -> list[Message]:
    """Six minutes of a virtual sensor (a boot of its own): empty bed, someone in bed from
    about 100 s, out of bed (``got_out_of_bed``, the in-bed sensor off) by 240 s."""
    scenario = dataclasses.replace(
        preset("plmd").with_duration(360.0), empty_lead_s=30.0, empty_tail_s=150.0
    )
    return list(VirtualBed(generate(scenario, seed=7), "bedroom", seed=8).iter_messages())


def install_blueprints(hass: HomeAssistant, config_dir: Path) -> None:
    """Make ``config_dir`` the config dir and put the blueprints where Home Assistant looks."""
    hass.config.config_dir = str(config_dir)
    target = Path(hass.config.path("blueprints", "automation", "sleep_myoclonus"))
    target.mkdir(parents=True, exist_ok=True)
    for name in BLUEPRINT_FILES:
        if (BLUEPRINTS / name).exists():
            shutil.copy(BLUEPRINTS / name, target / name)


async def start_bed(
    hass: HomeAssistant,
    config_dir: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    options: dict[str, Any] | None = None,
) -> tuple[MockConfigEntry, str]:
    """At 22:00 the blueprints installed and a bed set up; return its entry and device id."""
    freezer.move_to(EVENING)
    install_blueprints(hass, config_dir)
    entry = bed_entry(entry_data, options)
    await setup_bed(hass, entry)
    (device,) = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return entry, device.id


def bed_inputs(device_id: str) -> dict[str, Any]:
    """The blueprints' inputs that pick the bed ``Bedroom`` and its entities."""
    return {
        "bed": device_id,
        "in_bed_sensor": "binary_sensor.bedroom_in_bed",
        "quiet_hours_sensor": "binary_sensor.bedroom_quiet_hours",
        "twitch_rate_sensor": "sensor.bedroom_twitch_rate",
    }


def fire_bed_event(hass: HomeAssistant, device_id: str, kind: str, **data: Any) -> None:
    """Fire the bus event as the bed does (``SleepBed._fire``)."""
    hass.bus.async_fire(EVENT_BED, {"device_id": device_id, "type": kind, **data})


async def setup_blueprint_automation(
    hass: HomeAssistant, blueprint: str, inputs: dict[str, Any], alias: str = "bp"
) -> str:
    """Create one automation from a blueprint; return its entity id."""
    assert await async_setup_component(
        hass,
        AUTOMATION,
        {
            AUTOMATION: [
                {
                    "alias": alias,
                    "use_blueprint": {"path": f"sleep_myoclonus/{blueprint}", "input": inputs},
                }
            ]
        },
    )
    await hass.async_block_till_done()
    entity_id = f"automation.{alias}"
    assert hass.states.get(entity_id) is not None, "the automation did not load"
    return entity_id


class RecordingLight(LightEntity):
    """A dimmable light that records the transition of each turn on."""

    _attr_should_poll = False
    _attr_color_mode = ColorMode.BRIGHTNESS
    _attr_supported_features = LightEntityFeature.TRANSITION

    def __init__(self, object_id: str, brightness: int | None) -> None:
        self._attr_supported_color_modes = {ColorMode.BRIGHTNESS}
        self._attr_name = object_id
        self._attr_unique_id = f"light-{object_id}"
        self._attr_is_on = brightness is not None
        self._attr_brightness = brightness if brightness is not None else 255
        self.transitions: list[float | None] = []

    async def async_turn_on(self, **kwargs: Any) -> None:
        self._attr_is_on = True
        if ATTR_BRIGHTNESS in kwargs:
            self._attr_brightness = int(kwargs[ATTR_BRIGHTNESS])
        self.transitions.append(kwargs.get(ATTR_TRANSITION))
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        self._attr_is_on = False
        self.async_write_ha_state()


class RecordingPlayer(MediaPlayerEntity):
    """A media player that plays, pauses and sets its volume."""

    _attr_should_poll = False
    _attr_supported_features = (
        MediaPlayerEntityFeature.PLAY
        | MediaPlayerEntityFeature.PAUSE
        | MediaPlayerEntityFeature.VOLUME_SET
    )

    def __init__(self, object_id: str, state: MediaPlayerState, volume: float) -> None:
        self._attr_name = object_id
        self._attr_unique_id = f"player-{object_id}"
        self._attr_state = state
        self._attr_volume_level = volume
        self.calls: list[str] = []

    async def async_media_play(self) -> None:
        self.calls.append("play")
        self._attr_state = MediaPlayerState.PLAYING
        self.async_write_ha_state()

    async def async_media_pause(self) -> None:
        self.calls.append("pause")
        self._attr_state = MediaPlayerState.PAUSED
        self.async_write_ha_state()

    async def async_set_volume_level(self, volume: float) -> None:
        self.calls.append(f"volume {volume:g}")
        self._attr_volume_level = volume
        self.async_write_ha_state()


class RecordingSwitch(SwitchEntity):
    """A switch (a white-noise machine, a dehumidifier)."""

    _attr_should_poll = False

    def __init__(self, object_id: str, is_on: bool) -> None:
        self._attr_name = object_id
        self._attr_unique_id = f"switch-{object_id}"
        self._attr_is_on = is_on

    async def async_turn_on(self, **kwargs: Any) -> None:
        self._attr_is_on = True
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        self._attr_is_on = False
        self.async_write_ha_state()


class RecordingFan(FanEntity):
    """A fan with a speed."""

    _attr_should_poll = False
    _attr_supported_features = (
        FanEntityFeature.SET_SPEED | FanEntityFeature.TURN_ON | FanEntityFeature.TURN_OFF
    )

    def __init__(self, object_id: str, percentage: int) -> None:
        self._attr_name = object_id
        self._attr_unique_id = f"fan-{object_id}"
        self._attr_percentage = percentage

    @property
    def is_on(self) -> bool:
        return bool(self._attr_percentage)

    async def async_turn_on(
        self, percentage: int | None = None, preset_mode: str | None = None, **kwargs: Any
    ) -> None:
        self._attr_percentage = percentage if percentage is not None else 50
        self.async_write_ha_state()

    async def async_set_percentage(self, percentage: int) -> None:
        self._attr_percentage = percentage
        self.async_write_ha_state()

    async def async_turn_off(self, **kwargs: Any) -> None:
        self._attr_percentage = 0
        self.async_write_ha_state()


async def setup_platforms(hass: HomeAssistant, **entities: list[Any]) -> None:
    """Set up ``homeassistant``, ``scene`` and a test platform per domain with ``entities``."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "scene", {})
    for domain, domain_entities in entities.items():
        setup_test_component_platform(hass, domain, domain_entities)
        assert await async_setup_component(hass, domain, {domain: [{"platform": "test"}]})
    await hass.async_block_till_done()


async def stop_automations(hass: HomeAssistant) -> None:
    """Turn every automation off, which detaches its triggers (a time trigger's timer)."""
    if hass.services.has_service(AUTOMATION, "turn_off"):
        await hass.services.async_call(AUTOMATION, "turn_off", {"entity_id": "all"}, blocking=True)


def scene_ids(hass: HomeAssistant) -> list[str]:
    """The scenes that exist now."""
    return sorted(state.entity_id for state in hass.states.async_all("scene"))
