"""Set up a bed entry and play a virtual sensor into it with the clock following the sensor."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant, callback
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_mqtt_message,
    async_fire_time_changed,
)

from custom_components.sleep_myoclonus.const import (
    DEFAULT_OPTIONS,
    DOMAIN,
    EVENT_BED,
    STORE_VERSION,
)
from hardware.virtual_sensor.network import Message

# 22:00 in the test instance's time zone (US/Pacific): inside the default night window
EVENING = dt.datetime(2026, 11, 27, 6, 0, tzinfo=dt.UTC)
TICK_S = 5.0  # the integration's state write interval


def bed_entry(data: dict[str, Any], options: dict[str, Any] | None = None) -> MockConfigEntry:
    """A config entry for the virtual sensor ``bedroom``."""
    return MockConfigEntry(
        domain=DOMAIN,
        data=data,
        options=dict(options or DEFAULT_OPTIONS),
        unique_id=f"{data['topic_prefix']}/{data['sensor_id']}",
        title="Bedroom",
        entry_id="01JBEDROOMENTRY00000000000",  # fixed, for snapshots
    )


async def setup_bed(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Add and set up the entry."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def play(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, messages: Iterable[Message]
) -> None:
    """Deliver messages at the sensor's pace: the clock advances with the sensor's time.

    Timers (the periodic state write, the silence check) fire as they fall due.
    """
    last_time: float | None = None
    next_tick: float | None = None
    for message in messages:
        if last_time is not None and message.time_s > last_time:
            freezer.tick(message.time_s - last_time)
        last_time = message.time_s
        if next_tick is None:
            next_tick = message.time_s + TICK_S
        elif message.time_s >= next_tick:
            async_fire_time_changed(hass)
            next_tick = message.time_s + TICK_S
        # live delivery: a broker flags messages retained only when replaying them to a new
        # subscription
        async_fire_mqtt_message(hass, message.topic, message.payload)
    freezer.tick(TICK_S)  # the periodic update after the last message
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


async def advance(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float, step: float = TICK_S
) -> None:
    """Let time pass without data, firing the timers every ``step`` seconds on the way."""
    remaining = seconds
    while remaining > 0:
        dt_s = min(step, remaining)
        freezer.tick(dt_s)
        remaining -= dt_s
        async_fire_time_changed(hass)
    await hass.async_block_till_done()


def bus_events(hass: HomeAssistant) -> list[dict[str, Any]]:
    """Collect the data of every ``sleep_myoclonus_event`` fired from now on."""
    seen: list[dict[str, Any]] = []

    @callback
    def record(event: Event[Any]) -> None:
        seen.append(dict(event.data))

    hass.bus.async_listen(EVENT_BED, record)
    return seen


def stored_night(
    hass_storage: dict[str, Any], entry: MockConfigEntry, tally: dict[str, Any], last_seen: str
) -> None:
    """Put what a previous Home Assistant run saved for ``entry`` into the test storage."""
    key = f"{DOMAIN}.{entry.entry_id}"
    hass_storage[key] = {
        "version": STORE_VERSION,
        "minor_version": 1,
        "key": key,
        "data": {"tally": tally, "last_seen": last_seen},
    }


def state(hass: HomeAssistant, entity_id: str) -> str:
    """Return an entity's state (the entity must exist)."""
    current = hass.states.get(entity_id)
    assert current is not None, entity_id
    return current.state


async def act(hass: HomeAssistant, action: str, **data: Any) -> Any:
    """Call one of the integration's actions and wait for it; return the response of those
    that have one (``export_night``)."""
    return await hass.services.async_call(
        DOMAIN, action, data, blocking=True, return_response=action == "export_night"
    )
