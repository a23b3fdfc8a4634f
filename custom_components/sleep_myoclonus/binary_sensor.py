"""Binary sensors: in bed, restless now, sensor online, quiet hours."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .bed import SleepBed, SleepMyoclonusConfigEntry
from .entity import BedDescriptionMixin, SleepBedEntity

PARALLEL_UPDATES = 0  # push updates only


@dataclass(frozen=True, kw_only=True)
class BedBinarySensorDescription(BinarySensorEntityDescription, BedDescriptionMixin):
    """A bed binary sensor: how to read it."""

    value: Callable[[SleepBed], bool | None]


BINARY_SENSORS: tuple[BedBinarySensorDescription, ...] = (
    BedBinarySensorDescription(
        key="in_bed",
        translation_key="in_bed",
        device_class=BinarySensorDeviceClass.OCCUPANCY,
        value=lambda bed: bed.in_bed,
    ),
    BedBinarySensorDescription(
        key="restless",
        translation_key="restless",
        device_class=BinarySensorDeviceClass.MOTION,
        value=lambda bed: bed.restless,
    ),
    BedBinarySensorDescription(
        key="online",
        translation_key="online",
        device_class=BinarySensorDeviceClass.CONNECTIVITY,
        entity_category=EntityCategory.DIAGNOSTIC,
        value=lambda bed: bed.available,
        always_available=True,
    ),
    BedBinarySensorDescription(
        key="quiet_hours",
        translation_key="quiet_hours",
        value=lambda bed: bed.quiet_hours,
        always_available=True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SleepMyoclonusConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add a bed's binary sensors."""
    bed = entry.runtime_data
    async_add_entities(BedBinarySensor(bed, d) for d in BINARY_SENSORS)


class BedBinarySensor(SleepBedEntity, BinarySensorEntity):
    """A binary sensor read from the bed's runtime."""

    entity_description: BedBinarySensorDescription

    def shown(self) -> object:
        """Return availability and state (a change of either is written)."""
        return (self.available, self.is_on)

    @property
    def is_on(self) -> bool | None:
        """The current state."""
        return self.entity_description.value(self.bed)
