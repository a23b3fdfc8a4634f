"""Sensors: live twitch rate, tonight's counts, PLM index, time in bed, signal and link health."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfMass, UnitOfTime
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .bed import SleepBed, SleepMyoclonusConfigEntry
from .const import TWITCH_RATE_KEY, BedEventType
from .entity import BedDescriptionMixin, SleepBedEntity
from .history import shown
from .journal import LifestyleViews
from .settings import caffeine_cutoff

PARALLEL_UPDATES = 0  # push updates only

# Tonight's counts only grow during a night and drop to zero when the next night starts, which
# is what TOTAL_INCREASING means to long-term statistics (a drop is a new cycle, not a loss).

UNIT_PER_HOUR = "/h"
UNIT_TWITCHES_PER_HOUR = "twitches/h"


@dataclass(frozen=True, kw_only=True)
class BedSensorDescription(SensorEntityDescription, BedDescriptionMixin):
    """A bed sensor: how to read its value from the bed."""

    value: Callable[[SleepBed], StateType | dt.datetime]
    attributes: Callable[[SleepBed], dict[str, Any]] | None = None


def _count(kind: BedEventType) -> Callable[[SleepBed], int]:
    return lambda bed: bed.tally.counts[kind]


def _tonight(bed: SleepBed) -> dict[str, Any]:
    night = bed.tally.night
    return {"night": night.isoformat() if night else None}


def _plm_index(bed: SleepBed) -> float | None:
    return shown(bed.tally.plm_index(dt_util.utcnow()))


def _time_in_bed_h(bed: SleepBed) -> float:
    return round(bed.tally.time_in_bed_s(dt_util.utcnow()) / 3600.0, 2)


def _errors_by_reason(bed: SleepBed) -> dict[str, Any]:
    return {reason.value: n for reason, n in bed.frame_errors.items()}


def _last_night_rate(bed: SleepBed) -> float | None:
    history = bed.journal.history
    return shown(history[-1].twitches_per_hour) if history else None


def _last_night(bed: SleepBed) -> dict[str, Any]:
    if not bed.journal.history:
        return {}
    record = bed.journal.history[-1]
    return {
        "night": record.night.isoformat(),
        "twitches": record.twitch_count,
        "plm_index": shown(record.plm_index),
        "hypnic_jerks": record.hypnic_jerk_count,
        "limb_movements": record.limb_movement_count,
        "gross_movements": record.gross_movement_count,
        "time_in_bed": round(record.hours_in_bed, 2),
    }


def _views(bed: SleepBed) -> LifestyleViews:
    return bed.journal.views(caffeine_cutoff(bed.options))


def _last_caffeine(bed: SleepBed) -> dt.datetime | None:
    intake = bed.journal.lifestyle.last_caffeine()
    return intake.when if intake else None


def _last_caffeine_mg(bed: SleepBed) -> dict[str, Any]:
    intake = bed.journal.lifestyle.last_caffeine()
    return {"mg": intake.mg} if intake else {}


def _today(bed: SleepBed) -> dt.date:
    return dt_util.now().date()


SENSORS: tuple[BedSensorDescription, ...] = (
    BedSensorDescription(
        key=TWITCH_RATE_KEY,
        translation_key="twitch_rate",
        native_unit_of_measurement=UNIT_TWITCHES_PER_HOUR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value=lambda bed: bed.twitch_rate(),
    ),
    BedSensorDescription(
        key="twitches_tonight",
        translation_key="twitches_tonight",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value=_count(BedEventType.TWITCH),
        attributes=_tonight,
    ),
    BedSensorDescription(
        key="limb_movements_tonight",
        translation_key="limb_movements_tonight",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value=_count(BedEventType.LIMB_MOVEMENT),
        attributes=_tonight,
    ),
    BedSensorDescription(
        key="plm_index_tonight",
        translation_key="plm_index_tonight",
        native_unit_of_measurement=UNIT_PER_HOUR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value=_plm_index,
        attributes=lambda bed: {**_tonight(bed), "movements_in_series": bed.tally.plm_movements},
    ),
    BedSensorDescription(
        key="hypnic_jerks_tonight",
        translation_key="hypnic_jerks_tonight",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value=_count(BedEventType.HYPNIC_JERK),
        attributes=_tonight,
    ),
    BedSensorDescription(
        key="gross_movements_tonight",
        translation_key="gross_movements_tonight",
        state_class=SensorStateClass.TOTAL_INCREASING,
        value=_count(BedEventType.GROSS_MOVEMENT),
        attributes=_tonight,
    ),
    BedSensorDescription(
        key="time_in_bed_tonight",
        translation_key="time_in_bed_tonight",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.HOURS,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        value=_time_in_bed_h,
        attributes=_tonight,
    ),
    BedSensorDescription(
        key="last_twitch",
        translation_key="last_twitch",
        device_class=SensorDeviceClass.TIMESTAMP,
        value=lambda bed: bed.tally.last_twitch,
    ),
    BedSensorDescription(
        key="last_night_twitch_rate",
        translation_key="last_night_twitch_rate",
        native_unit_of_measurement=UNIT_TWITCHES_PER_HOUR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value=_last_night_rate,
        attributes=_last_night,
        always_available=True,
    ),
    BedSensorDescription(
        key="caffeine_today",
        translation_key="caffeine_today",
        native_unit_of_measurement=UnitOfMass.MILLIGRAMS,
        device_class=SensorDeviceClass.WEIGHT,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
        value=lambda bed: bed.journal.lifestyle.caffeine_on(_today(bed)),
        always_available=True,
    ),
    BedSensorDescription(
        key="last_caffeine",
        translation_key="last_caffeine",
        device_class=SensorDeviceClass.TIMESTAMP,
        value=_last_caffeine,
        attributes=_last_caffeine_mg,
        always_available=True,
    ),
    BedSensorDescription(
        key="exercise_today",
        translation_key="exercise_today",
        native_unit_of_measurement=UnitOfTime.MINUTES,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=0,
        value=lambda bed: bed.journal.lifestyle.exercise_on(_today(bed)),
        always_available=True,
    ),
    BedSensorDescription(
        key="bedtime_regularity",
        translation_key="bedtime_regularity",
        native_unit_of_measurement=UnitOfTime.MINUTES,
        device_class=SensorDeviceClass.DURATION,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value=lambda bed: _views(bed).bedtime_spread_min,
        always_available=True,
    ),
    BedSensorDescription(
        key="late_caffeine_effect",
        translation_key="late_caffeine_effect",
        native_unit_of_measurement=UNIT_TWITCHES_PER_HOUR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value=lambda bed: shown(_views(bed).late_caffeine.difference),
        attributes=lambda bed: {
            **_views(bed).late_caffeine.as_attributes(),
            "cutoff": caffeine_cutoff(bed.options).isoformat(),
        },
        always_available=True,
    ),
    BedSensorDescription(
        key="exercise_effect",
        translation_key="exercise_effect",
        native_unit_of_measurement=UNIT_TWITCHES_PER_HOUR,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value=lambda bed: shown(_views(bed).exercise.difference),
        attributes=lambda bed: _views(bed).exercise.as_attributes(),
        always_available=True,
    ),
    BedSensorDescription(
        key="signal_quality",
        translation_key="signal_quality",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value=lambda bed: bed.signal_quality(),
    ),
    BedSensorDescription(
        key="frames_lost",
        translation_key="frames_lost",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value=lambda bed: bed.frames_lost,
        always_available=True,
    ),
    BedSensorDescription(
        key="frame_errors",
        translation_key="frame_errors",
        state_class=SensorStateClass.TOTAL_INCREASING,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value=lambda bed: bed.detector.ingest.stats.error_count,
        attributes=_errors_by_reason,
        always_available=True,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SleepMyoclonusConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Add a bed's sensors."""
    bed = entry.runtime_data
    async_add_entities(BedSensor(bed, description) for description in SENSORS)


class BedSensor(SleepBedEntity, SensorEntity):
    """A sensor read from the bed's runtime."""

    entity_description: BedSensorDescription

    def shown(self) -> object:
        """Return availability, value and attributes (a change of any is written)."""
        return (self.available, self.native_value, self.extra_state_attributes)

    @property
    def native_value(self) -> StateType | dt.datetime:
        """The current value."""
        return self.entity_description.value(self.bed)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Extra attributes (the night the counts belong to; errors by reason)."""
        attributes = self.entity_description.attributes
        return attributes(self.bed) if attributes else None
