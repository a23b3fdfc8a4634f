"""Logbook entries for the bed events: "Bedroom: limb movement detected (1.4 s, legs)".

The messages are plain English: Home Assistant does not translate the logbook descriptions of
custom integrations (they are built here, not looked up in ``translations/``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ENTITY_ID,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr

from .const import (
    ATTR_CHANNEL,
    ATTR_DEVICE_ID,
    ATTR_DURATION,
    ATTR_MOVEMENTS,
    ATTR_TYPE,
    BED_EVENT_KEY,
    DEFAULT_NAME,
    DOMAIN,
    EVENT_BED,
    BedEventType,
    BedNotice,
)
from .entity import async_bed_entity

# The event entity's description key.

MOVEMENT_WORDS: Final[dict[str, str]] = {
    BedEventType.TWITCH: "twitch",
    BedEventType.HYPNIC_JERK: "hypnic jerk",
    BedEventType.LIMB_MOVEMENT: "limb movement",
    BedEventType.GROSS_MOVEMENT: "gross movement",
}


def _seconds(value: Any) -> str | None:
    """Format a duration for reading: 0.24 -> "0.2 s", 1.44 -> "1.4 s", 12.3 -> "12 s"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        return None
    if value >= 10:
        return f"{value:.0f} s"
    return f"{value:.1f} s" if value >= 0.1 else f"{value:.2f} s"


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, (int, float)) else "?"


def _night_ended(data: Mapping[str, Any]) -> str:
    rate, plm = data.get("twitches_per_hour"), data.get("plm_index")
    parts = [f"{data.get('twitches')} twitches"]
    if isinstance(rate, (int, float)):
        parts.append(f"{rate:g}/h")
    if isinstance(plm, (int, float)):
        parts.append(f"PLM index {plm:g}/h")
    return f"night of {data.get('night')} ended: {', '.join(parts)}"


def describe(data: Mapping[str, Any]) -> str:
    """Return the logbook message of a bed event's data.

    Parameters
    ----------
    data : Mapping
        The bus event's data: ``type`` and the event's attributes.

    Returns
    -------
    str
        For example "twitch detected (0.2 s, legs)" or "got into bed".
    """
    kind = str(data.get(ATTR_TYPE))
    if kind in MOVEMENT_WORDS:
        details = [
            text
            for text in (_seconds(data.get(ATTR_DURATION)), data.get(ATTR_CHANNEL))
            if isinstance(text, str) and text
        ]
        suffix = f" ({', '.join(details)})" if details else ""
        return f"{MOVEMENT_WORDS[kind]} detected{suffix}"
    if kind == BedEventType.PLM_SERIES_STARTED:
        movements = data.get(ATTR_MOVEMENTS)
        if isinstance(movements, int) and not isinstance(movements, bool):
            return f"periodic limb movement series started ({movements} movements)"
        return "periodic limb movement series started"
    if kind == BedEventType.GOT_INTO_BED:
        return "got into bed"
    if kind == BedEventType.GOT_OUT_OF_BED:
        return "got out of bed"
    if kind == BedNotice.NIGHT_ENDED:
        return _night_ended(data)
    if kind == BedNotice.CAFFEINE_LOGGED:
        late = " (late)" if data.get("late") is True else ""
        return f"caffeine logged: {_number(data.get('mg'))} mg{late}"
    if kind == BedNotice.EXERCISE_LOGGED:
        return f"exercise logged: {_number(data.get('minutes'))} min, {data.get('intensity')}"
    return f"bed event {kind}"  # a type from a newer version, recorded before a downgrade


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the bed events to the logbook.

    Parameters
    ----------
    hass : HomeAssistant
        The running instance.
    async_describe_event : Callable
        Registers a describer for an event type.
    """

    @callback
    def async_describe_bed_event(event: Event) -> dict[str, str]:
        """Name the bed, say what happened, and link the bed's event entity."""
        data = event.data
        description = {LOGBOOK_ENTRY_NAME: DEFAULT_NAME, LOGBOOK_ENTRY_MESSAGE: describe(data)}
        device_id = data.get(ATTR_DEVICE_ID)
        device = dr.async_get(hass).async_get(device_id) if isinstance(device_id, str) else None
        if device is None:
            return description
        description[LOGBOOK_ENTRY_NAME] = device.name_by_user or device.name or DEFAULT_NAME
        if entity := async_bed_entity(hass, device.id, "event", BED_EVENT_KEY):
            description[LOGBOOK_ENTRY_ENTITY_ID] = entity.entity_id
        return description

    async_describe_event(DOMAIN, EVENT_BED, async_describe_bed_event)
