"""Sleep Myoclonus: nocturnal twitch detection from an under-mattress piezo sensor over MQTT.

Each config entry is one bed sensor. Its :class:`~.bed.SleepBed` (``entry.runtime_data``)
subscribes to the sensor's topics through Home Assistant's MQTT integration, runs the detector on
the event loop and feeds the entities, the bus event behind the device triggers, and the logbook.
"""

from __future__ import annotations

from homeassistant.components import mqtt
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .bed import SleepBed, SleepMyoclonusConfigEntry
from .const import CONF_SENSOR_ID, CONF_TOPIC_PREFIX, DOMAIN
from .detector.topics import is_valid_id, is_valid_prefix
from .journal import journal_stores
from .repairs import async_clear_issues, async_update_night_issues
from .services import async_setup_services

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.EVENT, Platform.SENSOR]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

__all__ = [
    "DOMAIN",
    "async_remove_entry",
    "async_setup",
    "async_setup_entry",
    "async_unload_entry",
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions (once, for all beds)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: SleepMyoclonusConfigEntry) -> bool:
    """Set up one bed sensor."""
    prefix, sensor_id = entry.data[CONF_TOPIC_PREFIX], entry.data[CONF_SENSOR_ID]
    if not (is_valid_prefix(prefix) and is_valid_id(sensor_id)):  # the flow refuses these
        raise ConfigEntryError(
            translation_domain=DOMAIN,
            translation_key="invalid_topic",
            translation_placeholders={"prefix": prefix, "sensor_id": sensor_id},
        )
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="mqtt_not_available")
    bed = SleepBed(hass, entry)
    await bed.async_load()
    async_update_night_issues(hass, entry, bed.journal.history)  # not kept over a restart
    registry = dr.async_get(hass)
    identifiers = {(DOMAIN, entry.entry_id)}  # kept when the bed is pointed at a new sensor
    # created once; afterwards the sensor's meta keeps model and firmware up to date. The entry's
    # own devices are searched: DeviceRegistry.async_get_device is deprecated (HA 2026, removed
    # in 2027.8) and its replacement async_get_device_by_identifier is not in 2025.4.
    known = (
        device
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
        if identifiers <= device.identifiers
    )
    device = next(known, None) or registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers=identifiers,
        name=entry.title,
        manufacturer="Sleep Myoclonus",
        model="Bed sensor",
    )
    bed.device_id = device.id
    entry.runtime_data = bed
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    await bed.async_start()
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    return True


async def async_unload_entry(hass: HomeAssistant, entry: SleepMyoclonusConfigEntry) -> bool:
    """Unload a bed sensor, saving tonight's counters."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: SleepMyoclonusConfigEntry) -> None:
    """Delete a removed bed's stored nights and its repair issues."""
    for store in journal_stores(hass, entry.entry_id):
        await store.async_remove()
    async_clear_issues(hass, entry)


async def _async_options_updated(hass: HomeAssistant, entry: SleepMyoclonusConfigEntry) -> None:
    """Options change the detector's parameters and the night window: start over with them.

    Other entry updates (e.g. discovery keys after the sensor re-announced itself) change nothing
    the bed uses, so they do not restart it.
    """
    if dict(entry.options) != entry.runtime_data.options:
        await hass.config_entries.async_reload(entry.entry_id)
