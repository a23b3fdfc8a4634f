"""The bed's event entity: every twitch, jerk, limb movement, PLM series and bed change."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .bed import SleepBed, SleepMyoclonusConfigEntry
from .const import BED_EVENT_KEY, BedEventType
from .entity import SleepBedEntity

PARALLEL_UPDATES = 0  # push updates only

DESCRIPTION = EventEntityDescription(
    key=BED_EVENT_KEY,
    translation_key="bed_event",
    event_types=[kind.value for kind in BedEventType],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SleepMyoclonusConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add a bed's event entity."""
    async_add_entities([BedEvent(entry.runtime_data)])


class BedEvent(SleepBedEntity, EventEntity):
    """Fires as the detector reports; attributes: duration, amplitude, channel."""

    def __init__(self, bed: SleepBed) -> None:
        super().__init__(bed, DESCRIPTION)

    async def async_added_to_hass(self) -> None:
        """Listen to the bed's events."""
        await super().async_added_to_hass()
        self.async_on_remove(self.bed.async_add_event_listener(self._on_event))
        # the bus event names this entity, so the entity's logbook shows what happened
        self.bed.event_entity_id = self.entity_id
        self.async_on_remove(self._forget)

    @callback
    def _forget(self) -> None:
        self.bed.event_entity_id = None

    @callback
    def _on_event(self, kind: BedEventType, attributes: dict[str, Any]) -> None:
        self._trigger_event(kind.value, attributes)
        self.async_write_ha_state()
