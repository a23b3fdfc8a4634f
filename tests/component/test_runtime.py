"""The bed runtime in Home Assistant: restart, restore, midnight, offline and online, bad frames."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from typing import Any

import numpy as np
import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_mqtt_message

from custom_components.sleep_myoclonus.const import (
    CONF_NIGHT_END,
    CONF_NIGHT_START,
    CONF_RULE_SET,
    DEFAULT_OPTIONS,
    BedEventType,
)
from custom_components.sleep_myoclonus.detector.events import Event as BedMovement
from custom_components.sleep_myoclonus.detector.events import EventType
from detector.events import Event as Movement
from detector.protocol import encode_frame
from detector.service import BedDetector

from .bed_player import (
    EVENING,
    advance,
    bed_entry,
    bus_events,
    play,
    setup_bed,
    state,
    stored_night,
)
from .virtual_night import night_messages

RAW = "sleep_myoclonus/bedroom/raw"
STATUS = "sleep_myoclonus/bedroom/status"


@pytest.mark.usefixtures("mqtt_mock")
async def test_a_restart_in_the_night_keeps_the_counts_and_reports_no_second_bed_entry(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(EVENING)
    events = bus_events(hass)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    messages = night_messages()
    half = len(messages) // 2
    await play(hass, freezer, messages[:half])
    before = int(state(hass, "sensor.bedroom_limb_movements_tonight"))
    assert before > 5
    # Home Assistant goes away for two minutes and comes back (unload saves, setup restores)
    assert await hass.config_entries.async_unload(entry.entry_id)
    freezer.tick(120)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert state(hass, "binary_sensor.bedroom_sensor_online") == "off"
    await play(hass, freezer, messages[half : half + 20])
    assert state(hass, "sensor.bedroom_twitch_rate") not in ("unknown", STATE_UNAVAILABLE)
    await play(hass, freezer, messages[half + 20 :])
    kinds = Counter(e["type"] for e in events)
    assert kinds["got_into_bed"] == 1  # not again after the restart
    assert kinds["got_out_of_bed"] == 0
    assert state(hass, "binary_sensor.bedroom_in_bed") == "on"
    after = int(state(hass, "sensor.bedroom_limb_movements_tonight"))
    assert after == kinds["limb_movement"]  # nothing counted twice, nothing lost in the count
    assert after > before
    assert state(hass, "sensor.bedroom_twitches_tonight") == str(kinds["twitch"])
    # the downtime counts as time in bed (nobody got up): 20 min of data + 2 min away
    assert 0.34 < float(state(hass, "sensor.bedroom_time_in_bed_tonight")) <= 0.38


async def test_counters_come_back_from_storage_after_a_restart(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
    mqtt_mock: Any,
) -> None:
    """What a previous Home Assistant run saved shows before the sensor sends anything."""
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    stored_night(
        hass_storage,
        entry,
        {
            "night": "2026-11-26",
            "counts": {"twitch": 12, "limb_movement": 30, "hypnic_jerk": 2},
            "plm_movements": 24,
            "in_bed_s": 3600.0,
            "in_bed_since": None,
            "counting": False,
            "last_twitch": "2026-11-27T05:30:00+00:00",
        },
        "2026-11-27T05:55:00+00:00",
    )
    await setup_bed(hass, entry)
    async_fire_mqtt_message(
        hass,
        RAW,
        encode_frame(np.zeros((125, 2), np.int16), seq=0, boot_id=1, sample0=0, fs_hz=250),
    )
    await advance(hass, freezer, 5)
    assert state(hass, "sensor.bedroom_twitches_tonight") == "12"
    assert state(hass, "sensor.bedroom_limb_movements_tonight") == "30"
    assert state(hass, "sensor.bedroom_hypnic_jerks_tonight") == "2"
    assert state(hass, "sensor.bedroom_gross_movements_tonight") == "0"
    assert state(hass, "sensor.bedroom_plm_index_tonight") == "24.0"
    assert state(hass, "sensor.bedroom_time_in_bed_tonight") == "1.0"
    assert state(hass, "sensor.bedroom_last_twitch") == "2026-11-27T05:30:00+00:00"
    assert state(hass, "binary_sensor.bedroom_in_bed") == "unknown"


@pytest.mark.usefixtures("mqtt_mock")
async def test_a_long_outage_closes_the_time_in_bed_where_data_stopped(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
) -> None:
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    stored_night(
        hass_storage,
        entry,
        {
            "night": "2026-11-26",
            "counts": {},
            "in_bed_since": "2026-11-27T04:00:00+00:00",
            "counting": True,
        },
        "2026-11-27T05:00:00+00:00",
    )
    await setup_bed(hass, entry)
    bed = entry.runtime_data
    assert bed.in_bed is None
    assert not bed.detector.resume_in_bed
    assert bed.tally.time_in_bed_s(dt.datetime.now(dt.UTC)) == 3600.0


@pytest.mark.usefixtures("mqtt_mock")
async def test_midnight_does_not_reset_and_the_next_evening_does(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(EVENING + dt.timedelta(hours=1, minutes=50))  # 23:50 local
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    await play(hass, freezer, night_messages())  # until 00:10
    counts = state(hass, "sensor.bedroom_limb_movements_tonight")
    assert int(counts) > 10
    twitches = hass.states.get("sensor.bedroom_twitches_tonight")
    assert twitches is not None
    assert twitches.attributes["night"] == "2026-11-26"
    # the next day: the counts stay (the sensor is silent: the entities show unavailable)
    await advance(hass, freezer, 12 * 3600, step=600)
    assert str(entry.runtime_data.tally.counts[BedEventType.LIMB_MOVEMENT]) == counts
    freezer.move_to(EVENING + dt.timedelta(days=1))  # 22:00 the next evening
    await play(hass, freezer, night_messages(seed=8))
    tonight = hass.states.get("sensor.bedroom_limb_movements_tonight")
    assert tonight is not None
    assert tonight.attributes["night"] == "2026-11-27"
    assert 0 < int(tonight.state) < int(counts) * 2


@pytest.mark.usefixtures("mqtt_mock")
async def test_offline_makes_entities_unavailable_logged_once_each_way(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="custom_components.sleep_myoclonus")
    freezer.move_to(EVENING)
    await setup_bed(hass, bed_entry(entry_data))
    messages = night_messages()
    await play(hass, freezer, messages[:200])
    assert state(hass, "binary_sensor.bedroom_sensor_online") == "on"
    assert state(hass, "sensor.bedroom_twitches_tonight") != STATE_UNAVAILABLE
    async_fire_mqtt_message(hass, STATUS, "offline")  # the sensor's last will
    await advance(hass, freezer, 60)
    assert state(hass, "binary_sensor.bedroom_sensor_online") == "off"
    for entity_id in (
        "sensor.bedroom_twitches_tonight",
        "sensor.bedroom_twitch_rate",
        "binary_sensor.bedroom_in_bed",
        "event.bedroom_movement",
    ):
        assert state(hass, entity_id) == STATE_UNAVAILABLE, entity_id
    assert state(hass, "binary_sensor.bedroom_quiet_hours") == "on"
    async_fire_mqtt_message(hass, STATUS, "online")
    await play(hass, freezer, messages[260:300])
    assert state(hass, "binary_sensor.bedroom_sensor_online") == "on"
    assert state(hass, "sensor.bedroom_twitches_tonight") != STATE_UNAVAILABLE
    # silence without a last will (power cut): unavailable after the silence timeout
    await advance(hass, freezer, 30)
    assert state(hass, "binary_sensor.bedroom_sensor_online") == "off"
    logged = [r.getMessage() for r in caplog.records if "bedroom is" in r.getMessage()]
    assert logged == [
        "Bed sensor bedroom is online",
        "Bed sensor bedroom is unavailable (announced offline)",
        "Bed sensor bedroom is online again",
        "Bed sensor bedroom is unavailable (sent no data)",
    ]
    frames_lost = hass.states.get("sensor.bedroom_frames_lost")
    assert frames_lost is None or frames_lost.state != STATE_UNAVAILABLE


@pytest.mark.usefixtures("mqtt_mock")
async def test_malformed_frames_are_counted_by_reason_logged_rarely_and_lose_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry_data: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    events = bus_events(hass)
    messages = night_messages()
    garbage = [b"", b"{}", b'{"samples": [1, 2, 3]}', b"SM\x01", b"\x00" * 70000]
    mixed = []
    for i, message in enumerate(messages):
        mixed.append(message)
        if i % 100 == 50:
            mixed.append(message._replace(payload=garbage[(i // 100) % len(garbage)]))
    await play(hass, freezer, mixed)
    bed = entry.runtime_data
    errors = {reason.value: n for reason, n in bed.frame_errors.items() if n}
    assert sum(errors.values()) == sum(1 for m in mixed if m.payload in garbage)
    assert len(errors) >= 3
    warnings = [
        r
        for r in caplog.records
        if r.name.startswith("custom_components.sleep_myoclonus") and "malformed" in r.getMessage()
    ]
    assert 1 <= len(warnings) <= 3  # at most once per ten minutes of the 20-minute night
    # exactly the detections the detector makes on the clean stream
    reference = BedDetector("bedroom")
    expected = [
        item.event_id
        for m in messages
        if m.topic == RAW
        for item in reference.raw(m.payload).items
        if isinstance(item, Movement)
    ]
    assert [e["event_id"] for e in events if "event_id" in e] == expected
    assert len(expected) > 10
    assert bed.internal_errors == 0


async def test_setup_waits_for_mqtt_with_a_translated_reason(
    hass: HomeAssistant, entry_data: dict[str, Any]
) -> None:
    entry = bed_entry(entry_data)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.reason is not None
    assert entry.reason.startswith("The MQTT integration is not available")


@pytest.mark.usefixtures("mqtt_mock")
async def test_new_options_restart_the_bed_with_them(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry_data: dict[str, Any]
) -> None:
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    assert entry.runtime_data.config.plm.min_interval_s == 10.0
    hass.config_entries.async_update_entry(
        entry,
        options={
            **DEFAULT_OPTIONS,
            CONF_RULE_SET: "aasm",
            CONF_NIGHT_START: "20:00:00",
            CONF_NIGHT_END: "09:00:00",
        },
    )
    await hass.async_block_till_done()
    bed = entry.runtime_data
    assert bed.config.plm.min_interval_s == 5.0
    assert bed.tally.window.start == dt.time(20)
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


@pytest.mark.usefixtures("mqtt_mock")
async def test_removing_a_bed_deletes_its_stored_counters(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
) -> None:
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    await play(hass, freezer, night_messages()[:400])
    assert await hass.config_entries.async_unload(entry.entry_id)
    key = f"sleep_myoclonus.{entry.entry_id}"
    assert hass_storage[key]["data"]["tally"]["night"] == "2026-11-26"
    await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    assert key not in hass_storage


@pytest.mark.usefixtures("mqtt_mock")
async def test_an_entry_with_broken_topics_fails_with_a_translated_reason(
    hass: HomeAssistant,
) -> None:
    entry = bed_entry({"topic_prefix": "sleep_myoclonus", "sensor_id": "bed/room"})
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.reason is not None
    assert "bed/room" in entry.reason


@pytest.mark.usefixtures("mqtt_mock")
async def test_counters_are_saved_while_the_night_goes_on(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
) -> None:
    """Events every few seconds must not postpone the save for the whole night (a crash then
    loses little): tonight's counters reach storage within a minute of changing."""
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    messages = night_messages()
    await play(hass, freezer, messages[: len(messages) * 3 // 4])
    key = f"sleep_myoclonus.{entry.entry_id}"
    saved = hass_storage[key]["data"]["tally"]["counts"]["limb_movement"]
    shown = int(state(hass, "sensor.bedroom_limb_movements_tonight"))
    assert shown > 10
    assert shown - 5 <= saved <= shown  # at most the last minute's movements not yet written


@pytest.mark.usefixtures("mqtt_mock")
async def test_a_movement_every_ten_seconds_does_not_postpone_the_save(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    hass_storage: dict[str, Any],
    entry_data: dict[str, Any],
) -> None:
    """A restless spell (a change every 10 s for 3 minutes) is written while it lasts."""
    freezer.move_to(EVENING)
    entry = bed_entry(entry_data)
    await setup_bed(hass, entry)
    bed = entry.runtime_data
    bed.tally.got_into_bed(dt_util.now())
    key = f"sleep_myoclonus.{entry.entry_id}"
    for n in range(1, 19):
        twitch = BedMovement(EventType.TWITCH, 0, 25, 250.0, "legs", 3.0, False, f"bedroom:1:{n}")
        bed._consume([twitch])
        await advance(hass, freezer, 10)
        if n == 12:  # two minutes in
            assert hass_storage[key]["data"]["tally"]["counts"]["twitch"] >= 6
