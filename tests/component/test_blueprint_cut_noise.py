"""The cut_noise blueprint in Home Assistant's automation engine, driven by a virtual night."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.automation import EVENT_AUTOMATION_TRIGGERED
from homeassistant.components.media_player.const import MediaPlayerState
from homeassistant.const import EVENT_HOMEASSISTANT_START, EVENT_HOMEASSISTANT_STARTED
from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from .bed_player import EVENING, play, state
from .blueprint_helpers import (
    RecordingFan,
    RecordingPlayer,
    RecordingSwitch,
    bed_inputs,
    fire_bed_event,
    scene_ids,
    setup_blueprint_automation,
    setup_platforms,
    short_stay_messages,
    start_bed,
)
from .virtual_night import night_messages

pytestmark = pytest.mark.usefixtures("mqtt_mock", "detach_automations")

FIRST_PLM_S = 202  # the plmd night's first PLM series (22:03:22); in bed from 22:00:21
MORNING = EVENING + dt.timedelta(hours=8, minutes=30)  # 06:30 local


def until(seconds: float) -> int:
    """Index of the first message of the plmd night at or after ``seconds``."""
    return next(i for i, m in enumerate(night_messages()) if m.time_s >= seconds)


@pytest.fixture
def triggered(hass: HomeAssistant) -> list[Event[Any]]:
    """Every run of an automation (before its conditions)."""
    runs: list[Event[Any]] = []
    hass.bus.async_listen(EVENT_AUTOMATION_TRIGGERED, runs.append)
    return runs


class Room:
    """A radio and a speaker playing, a paused TV; a noise machine and a fan on, a heater off."""

    def __init__(self) -> None:
        self.radio = RecordingPlayer("radio", MediaPlayerState.PLAYING, 0.6)
        self.speaker = RecordingPlayer("speaker", MediaPlayerState.PLAYING, 0.05)
        self.tv = RecordingPlayer("tv", MediaPlayerState.PAUSED, 0.5)
        self.noise_machine = RecordingSwitch("noise_machine", is_on=True)
        self.heater = RecordingSwitch("heater", is_on=False)
        self.fan = RecordingFan("fan", 66)

    def now(self, hass: HomeAssistant) -> dict[str, Any]:
        """The state (and volume or speed) of everything in the room."""
        found: dict[str, Any] = {}
        for player in ("radio", "speaker", "tv"):
            current = hass.states.get(f"media_player.{player}")
            assert current is not None
            found[player] = (current.state, current.attributes.get("volume_level"))
        for switch in ("noise_machine", "heater"):
            found[switch] = state(hass, f"switch.{switch}")
        fan = hass.states.get("fan.fan")
        assert fan is not None
        found["fan"] = (fan.state, fan.attributes.get("percentage"))
        return found


BEFORE = {
    "radio": ("playing", 0.6),
    "speaker": ("playing", 0.05),
    "tv": ("paused", 0.5),
    "noise_machine": "on",
    "heater": "off",
    "fan": ("on", 66),
}
PAUSED = {
    **BEFORE,
    "radio": ("paused", 0.6),
    "speaker": ("paused", 0.05),
    "noise_machine": "off",
    "fan": ("off", 0),
}


async def start(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    room: Room,
    **inputs: Any,
) -> tuple[MockConfigEntry, str]:
    """Bed, room and the automation; return the bed's entry and its device id."""
    entry, device_id = await start_bed(hass, tmp_path, freezer, entry_data)
    await setup_platforms(
        hass,
        media_player=[room.radio, room.speaker, room.tv],
        switch=[room.noise_machine, room.heater],
        fan=[room.fan],
    )
    await setup_blueprint_automation(
        hass,
        "cut_noise.yaml",
        {
            **bed_inputs(device_id),
            "media_players": ["media_player.radio", "media_player.speaker", "media_player.tv"],
            "noisy_devices": ["switch.noise_machine", "switch.heater", "fan.fan"],
            **inputs,
        },
    )
    return entry, device_id


async def test_a_plm_series_pauses_the_players_and_switches_off_the_devices(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    room = Room()
    await start(hass, tmp_path, freezer, entry_data, room, on_twitch=False)
    messages = night_messages()
    await play(hass, freezer, messages[: until(FIRST_PLM_S - 5)])
    assert room.now(hass) == BEFORE
    await play(hass, freezer, messages[until(FIRST_PLM_S - 5) : until(FIRST_PLM_S + 5)])
    assert room.now(hass) == PAUSED
    assert room.radio.calls == ["pause"]
    assert room.tv.calls == []  # already paused
    assert scene_ids(hass) == []  # no restore asked for: nothing kept


async def test_turning_the_volume_down(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    room = Room()
    await start(hass, tmp_path, freezer, entry_data, room, on_twitch=False, media_action="lower")
    await play(hass, freezer, night_messages()[: until(FIRST_PLM_S + 5)])
    # louder than 10 %: turned down and still playing; the quiet speaker is left alone
    assert room.now(hass) == {
        **PAUSED,
        "radio": ("playing", 0.1),
        "speaker": ("playing", 0.05),
    }
    assert room.speaker.calls == []


async def test_restore_when_up_in_the_morning(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    """Only what is still as the automation left it comes back: the fan switched on by hand
    in the night keeps its speed, the speaker resumed by hand is not played again."""
    room = Room()
    _, device_id = await start(
        hass, tmp_path, freezer, entry_data, room, on_twitch=False, restore=True
    )
    await play(hass, freezer, night_messages()[: until(FIRST_PLM_S + 5)])
    assert room.now(hass) == PAUSED
    assert len(scene_ids(hass)) == 4
    await hass.services.async_call(
        "fan", "turn_on", {"entity_id": "fan.fan", "percentage": 30}, blocking=True
    )
    await hass.services.async_call(
        "media_player", "media_play", {"entity_id": "media_player.speaker"}, blocking=True
    )
    freezer.move_to(MORNING)
    async_fire_time_changed(hass)
    fire_bed_event(hass, device_id, "got_out_of_bed")
    await hass.async_block_till_done()
    assert room.now(hass) == {**BEFORE, "fan": ("on", 30)}
    assert room.radio.calls == ["pause", "volume 0.6", "play"]
    assert room.speaker.calls == ["pause", "play"]
    assert scene_ids(hass) == []


async def test_turned_down_volume_is_restored_at_the_latest_time(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    room = Room()
    await start(
        hass,
        tmp_path,
        freezer,
        entry_data,
        room,
        on_twitch=False,
        media_action="lower",
        restore=True,
        restore_at="09:00:00",
    )
    await play(hass, freezer, night_messages()[: until(FIRST_PLM_S + 5)])
    assert room.now(hass)["radio"] == ("playing", 0.1)
    freezer.move_to(EVENING + dt.timedelta(hours=11))  # 09:00
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert room.now(hass) == BEFORE
    assert scene_ids(hass) == []


async def test_nothing_changes_out_of_bed_or_on_restarts(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    triggered: list[Event[Any]],
) -> None:
    """Bed empty (after a short stay): detections do nothing. In bed: a reload of the bed
    and Home Assistant starting run nothing; the next detection does."""
    room = Room()
    entry, device_id = await start(
        hass, tmp_path, freezer, entry_data, room, on_rate=True, rate_threshold=1
    )
    await play(hass, freezer, short_stay_messages())
    assert state(hass, "binary_sensor.bedroom_in_bed") == "off"
    triggered.clear()
    fire_bed_event(hass, device_id, "twitch", duration=0.2, channel="legs")
    await hass.async_block_till_done()
    assert len(triggered) == 1
    assert room.now(hass) == BEFORE
    triggered.clear()
    freezer.move_to(EVENING + dt.timedelta(minutes=30))
    messages = night_messages()
    await play(hass, freezer, messages[: until(60)])
    assert state(hass, "binary_sensor.bedroom_in_bed") == "on"
    assert await hass.config_entries.async_reload(entry.entry_id)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_START)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STARTED)
    await hass.async_block_till_done()
    assert [event.data["source"] for event in triggered] == []
    assert room.now(hass) == BEFORE
    await play(hass, freezer, messages[until(60) : until(90)])
    assert state(hass, "binary_sensor.bedroom_in_bed") == "on"
    assert triggered == []
    fire_bed_event(hass, device_id, "twitch", duration=0.2, channel="legs")
    await hass.async_block_till_done()
    assert room.now(hass) == PAUSED
