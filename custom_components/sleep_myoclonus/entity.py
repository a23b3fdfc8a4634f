"""Base entity: one bed's device, state written when the bed says so and something changed."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription

from .bed import SleepBed
from .const import DOMAIN


def entity_unique_id(entry_id: str, key: str) -> str:
    """Return the unique id of a bed's entity.

    Built on the config entry, not on the sensor's topics: pointing a bed at a new sensor
    (reconfigure) keeps its entities and their history.
    """
    return f"{entry_id}-{key}"


@dataclass(frozen=True, kw_only=True)
class BedDescriptionMixin:
    """What every bed entity description adds: whether it stays readable while offline."""

    always_available: bool = False  # link diagnostics: they explain why the rest is unavailable


class SleepBedEntity(Entity):
    """An entity of one bed sensor; unavailable while the sensor is offline.

    The bed asks its entities to update after every event and every few seconds; an entity
    writes its state only when what it shows changed (a write costs tens of microseconds on the
    event loop, and a frame with an event must stay within its budget).
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    _shown_last: object = None

    def __init__(self, bed: SleepBed, description: EntityDescription) -> None:
        self.bed = bed
        self.entity_description = description
        self._attr_unique_id = entity_unique_id(bed.entry.entry_id, description.key)
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, bed.entry.entry_id)})

    @property
    def available(self) -> bool:
        """Whether the sensor is online (link diagnostics are always available)."""
        description = self.entity_description
        always = isinstance(description, BedDescriptionMixin) and description.always_available
        return always or self.bed.available

    def shown(self) -> object:
        """Return what the entity shows; subclasses add their value and attributes."""
        return self.available

    @callback
    def _async_bed_updated(self) -> None:
        shown = self.shown()
        if shown != self._shown_last:
            self._shown_last = shown
            self.async_write_ha_state()

    async def async_added_to_hass(self) -> None:
        """Write state whenever the bed has news that changes it."""
        await super().async_added_to_hass()
        self._shown_last = self.shown()
        self.async_on_remove(self.bed.async_add_listener(self._async_bed_updated))


@callback
def async_bed_entity(
    hass: HomeAssistant, device_id: str, platform: str, key: str
) -> er.RegistryEntry | None:
    """Return the registry entry of a bed's entity, disabled or not.

    Parameters
    ----------
    hass : HomeAssistant
        The running instance.
    device_id : str
        The bed's device registry id.
    platform : str
        The entity's domain, e.g. ``"sensor"``.
    key : str
        The entity description's key, e.g. ``"twitch_rate"``.

    Returns
    -------
    RegistryEntry or None
        The entry, or None if the bed has no such entity.
    """
    registry = er.async_get(hass)
    for entry in er.async_entries_for_device(registry, device_id, include_disabled_entities=True):
        if (
            entry.platform == DOMAIN
            and entry.domain == platform
            and entry.config_entry_id is not None
            and entry.unique_id == entity_unique_id(entry.config_entry_id, key)
        ):
            return entry
    return None
