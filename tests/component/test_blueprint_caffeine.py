"""The caffeine_reminder blueprint: a real night ended by the bed, real caffeine logs, real
notify, persistent notifications and logbook."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import persistent_notification
from homeassistant.const import (
    EVENT_HOMEASSISTANT_START,
    EVENT_HOMEASSISTANT_STARTED,
    EVENT_LOGBOOK_ENTRY,
)
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    mock_component,
)

from custom_components.sleep_myoclonus.const import DOMAIN

from .bed_player import play, state
from .blueprint_helpers import setup_blueprint_automation, start_bed
from .virtual_night import night_messages

# the logbook needs the recorder (started before Home Assistant by the conftest)
pytestmark = pytest.mark.usefixtures("recorder_mock", "mqtt_mock", "detach_automations")

LAST_NIGHT = "sensor.bedroom_last_night_twitch_rate"
NEXT_DAY = dt.datetime(2026, 11, 27, tzinfo=dt.UTC) + dt.timedelta(hours=8)  # 00:00 local


@pytest.fixture
def notifications(hass: HomeAssistant) -> dict[str, Any]:
    """The persistent notifications shown, by id (kept after they are dismissed)."""
    shown: dict[str, Any] = {}

    @callback
    def updated(_kind: Any, changed: dict[str, Any]) -> None:
        shown.update(changed)

    persistent_notification.async_register_callback(hass, updated)
    return shown


async def start(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    **inputs: Any,
) -> tuple[MockConfigEntry, list[Event[Any]]]:
    """Bed, notify, logbook and the automation; return the bed's entry and the logbook."""
    entry, device_id = await start_bed(hass, tmp_path, freezer, entry_data)
    mock_component(hass, "frontend")  # the logbook's panel; no frontend server in the tests
    assert await async_setup_component(hass, "notify", {})
    assert await async_setup_component(hass, "logbook", {})
    logbook = async_capture_events(hass, EVENT_LOGBOOK_ENTRY)
    await setup_blueprint_automation(
        hass,
        "caffeine_reminder.yaml",
        {"bed": device_id, "last_night_sensor": LAST_NIGHT, **inputs},
    )
    return entry, logbook


async def night_then(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> float:
    """Play the plmd night (the night of 26 November) and end it; return its twitch rate."""
    await play(hass, freezer, night_messages())
    await hass.services.async_call(
        DOMAIN, "end_night", {"config_entry_id": entry.entry_id}, blocking=True
    )
    await hass.async_block_till_done()
    assert hass.states.get(LAST_NIGHT).attributes["night"] == "2026-11-26"  # type: ignore[union-attr]
    return float(state(hass, LAST_NIGHT))


async def at(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: dt.datetime) -> None:
    """Move the clock to ``when`` (one second before, then to it) and let timers fire."""
    freezer.move_to(when - dt.timedelta(seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    freezer.move_to(when)
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


def texts(notifications: dict[str, Any]) -> list[tuple[str, str]]:
    return [(n["title"], n["message"]) for n in notifications.values()]


async def test_a_reminder_after_a_night_above_the_threshold_only(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    notifications: dict[str, Any],
) -> None:
    """Reminded on the afternoon after a restless night, once; not for the same old night the
    day after; not for a restart."""
    entry, logbook = await start(hass, tmp_path, freezer, entry_data, rate_threshold=10)
    rate = await night_then(hass, freezer, entry)
    assert rate > 10
    await at(hass, freezer, NEXT_DAY + dt.timedelta(hours=13, minutes=59))
    assert notifications == {}
    await at(hass, freezer, NEXT_DAY + dt.timedelta(hours=14))
    ((title, message),) = texts(notifications)
    assert title == "Bedroom: a restless night"
    assert f"twitched {rate:g} times an hour (more than 10)" in message
    (entry_logged,) = logbook
    assert entry_logged.data["name"] == "Bedroom"
    assert entry_logged.data["entity_id"] == LAST_NIGHT
    assert entry_logged.data["message"].startswith("caffeine reminder sent: Last night")
    # a reload of the bed and Home Assistant starting do not remind again
    assert await hass.config_entries.async_reload(entry.entry_id)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_START)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done()
    # the next afternoon the last night is still the 26th: too old to remind about
    await at(hass, freezer, NEXT_DAY + dt.timedelta(days=1, hours=14))
    assert hass.states.get(LAST_NIGHT).attributes["night"] == "2026-11-26"  # type: ignore[union-attr]
    assert len(notifications) == 1
    assert len(logbook) == 1


async def test_no_reminder_after_a_calmer_night(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    notifications: dict[str, Any],
) -> None:
    entry, logbook = await start(
        hass, tmp_path, freezer, entry_data, rate_threshold=40, reminder_time="15:30:00"
    )
    assert await night_then(hass, freezer, entry) < 40
    await at(hass, freezer, NEXT_DAY + dt.timedelta(hours=15, minutes=30))
    assert notifications == {}
    assert logbook == []


@pytest.mark.parametrize(
    ("cutoff", "warned_for"),
    [
        ("", ["14:00", "15:00", "16:30"]),  # the bed's cutoff: 14:00 (the event's "late")
        ("16:00:00", ["16:30"]),
    ],
)
async def test_late_caffeine_is_warned_about_after_the_cutoff(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    notifications: dict[str, Any],
    cutoff: str,
    warned_for: list[str],
) -> None:
    entry, logbook = await start(hass, tmp_path, freezer, entry_data, caffeine_cutoff=cutoff)
    freezer.move_to(NEXT_DAY + dt.timedelta(hours=17))
    for taken in ("09:00", "13:59", "14:00", "15:00", "16:30"):
        await hass.services.async_call(
            DOMAIN,
            "log_caffeine",
            {"config_entry_id": entry.entry_id, "mg": 95, "time": f"2026-11-27 {taken}"},
            blocking=True,
        )
    await hass.async_block_till_done()
    warned = [message.split(" at ")[1][:5] for _, message in texts(notifications)]
    assert warned == warned_for
    assert all(title == "Bedroom: late caffeine" for title, _ in texts(notifications))
    assert [e.data["message"].startswith("late caffeine warning sent: 95 mg") for e in logbook] == [
        True
    ] * len(warned_for)
