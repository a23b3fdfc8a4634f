"""The integration over a real broker: Home Assistant's MQTT client, Mosquitto, a virtual sensor.

Nothing is mocked here: Mosquitto runs on a free loopback port, Home Assistant's MQTT integration
connects to it with its real paho client, and the virtual sensor's :class:`Publisher` plays a PLM
night into it from its own connection (with a last will), 100 times faster than real time. The
events the component fires must be exactly those the detector finds on the same payloads, and the
sensor's last will must make the entities unavailable until it is back.

The clock is real (a live broker and its threads cannot run on a frozen clock), so the night
window is set around the current time; everything else is the default options.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace

import pytest
from homeassistant.components import mqtt
from homeassistant.const import CONF_PORT, STATE_OFF, STATE_ON, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.sleep_myoclonus.bed import SleepBed
from custom_components.sleep_myoclonus.const import (
    CONF_NIGHT_END,
    CONF_NIGHT_START,
    DEFAULT_OPTIONS,
    DOMAIN,
    BedEventType,
)
from custom_components.sleep_myoclonus.settings import detector_config
from detector.events import Event as Movement
from detector.recording import Recording
from detector.service import BedDetector
from detector.stream import BedChange, PlmStarted
from hardware.mqtt import LocalBroker, start_local_broker
from hardware.virtual_sensor.publish import Publisher, VirtualBed
from hardware.virtual_sensor.synth import generate

from .bed_player import bus_events, state

SENSOR_ID = "bedroom"
PREFIX = "sleep_myoclonus"
FS_HZ = 250
NIGHT_MINUTES = 12.0  # in bed after ~20 s; limb movements, PLM series, twitches, a hypnic jerk
TAIL_S = 60  # the last minute comes after the sensor's power cut, as a new boot
SPEED = 100.0  # sensor seconds per wall second
TIMEOUT_S = 20.0
MOVEMENTS = frozenset(
    {
        BedEventType.TWITCH,
        BedEventType.HYPNIC_JERK,
        BedEventType.LIMB_MOVEMENT,
        BedEventType.GROSS_MOVEMENT,
    }
)

ONLINE = "binary_sensor.bedroom_sensor_online"
IN_BED = "binary_sensor.bedroom_in_bed"
LIMB_MOVEMENTS = "sensor.bedroom_limb_movements_tonight"
TWITCHES = "sensor.bedroom_twitches_tonight"
MOVEMENT = "event.bedroom_movement"

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
def broker(socket_enabled: None) -> Iterator[LocalBroker]:
    """A real Mosquitto on a free 127.0.0.1 port, stopped by its PID at teardown."""
    local = start_local_broker(prefer="mosquitto")
    try:
        yield local
    finally:
        local.stop()


@pytest.fixture
async def mqtt_entry(
    hass: HomeAssistant, mock_hass_config: None, broker: LocalBroker
) -> AsyncIterator[MockConfigEntry]:
    """Home Assistant's real MQTT integration connected to the broker (no YAML configuration).

    Teardown unloads the bed entries first, then MQTT, which disconnects the paho client and
    closes its socket (so its once-a-second housekeeping timer stops).
    """
    entry = MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={mqtt.CONF_BROKER: broker.host, CONF_PORT: broker.port},
        title="MQTT",
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await mqtt.async_wait_for_mqtt_client(hass)
    yield entry
    for bed_entry in hass.config_entries.async_entries(DOMAIN):
        await hass.config_entries.async_unload(bed_entry.entry_id)
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


def night_options() -> dict[str, str]:
    """The default options, with a night window that contains the current (real) time."""
    now = dt_util.now()
    start = (now - dt.timedelta(hours=1)).strftime("%H:%M:00")
    end = (now + dt.timedelta(hours=3)).strftime("%H:%M:00")
    return {**DEFAULT_OPTIONS, CONF_NIGHT_START: start, CONF_NIGHT_END: end}


def split_night() -> tuple[VirtualBed, VirtualBed]:
    """The night up to its last minute, and that minute played by the sensor after a reboot."""
    recording = generate("plmd", seed=7, minutes=NIGHT_MINUTES)
    cut = recording.samples.shape[0] - TAIL_S * FS_HZ
    head = replace(recording, samples=recording.samples[:cut])
    tail = Recording(
        samples=recording.samples[cut:],
        fs=recording.fs,
        start=recording.start + cut / recording.fs,
        channels=recording.channels,
    )
    return (
        VirtualBed(head, SENSOR_ID, prefix=PREFIX, seed=7, frame_samples=FS_HZ),
        VirtualBed(tail, SENSOR_ID, prefix=PREFIX, seed=8, frame_samples=FS_HZ),
    )


def reference_events(beds: tuple[VirtualBed, ...]) -> tuple[list[str], Counter[str]]:
    """What the detector alone finds in the beds' raw payloads: movement ids, other outputs."""
    detector = BedDetector(SENSOR_ID, detector_config(DEFAULT_OPTIONS))
    ids: list[str] = []
    other: Counter[str] = Counter()
    for bed in beds:
        for message in bed.iter_messages():
            if not message.topic.endswith("/raw"):
                continue
            for item in detector.raw(message.payload).items:
                if isinstance(item, Movement):
                    ids.append(item.event_id)
                elif isinstance(item, BedChange):
                    other["got_into_bed" if item.in_bed else "got_out_of_bed"] += 1
                elif isinstance(item, PlmStarted):
                    other["plm_series_started"] += 1
    return ids, other


def frame_count(bed: VirtualBed) -> int:
    return sum(message.topic.endswith("/raw") for message in bed.iter_messages())


async def wait_until(
    hass: HomeAssistant, condition: Callable[[], bool], what: str, timeout: float = TIMEOUT_S
) -> None:
    """Let the event loop run until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)
    await hass.async_block_till_done()


async def play(hass: HomeAssistant, broker: LocalBroker, bed: VirtualBed) -> Publisher:
    """Start publishing ``bed`` (connecting blocks, so it runs in the executor)."""
    publisher = Publisher([bed], host=broker.host, port=broker.port, speed=SPEED)
    await hass.async_add_executor_job(publisher.start)
    return publisher


async def test_a_night_over_a_real_broker(
    hass: HomeAssistant, broker: LocalBroker, mqtt_entry: MockConfigEntry
) -> None:
    """Every event, counted and shown, survives Mosquitto; a last will makes the bed unavailable."""
    fired = bus_events(hass)
    entry = MockConfigEntry(
        domain=DOMAIN,
        data={"topic_prefix": PREFIX, "sensor_id": SENSOR_ID},
        options=night_options(),
        unique_id=f"{PREFIX}/{SENSOR_ID}",
        title="Bedroom",
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    bed: SleepBed = entry.runtime_data
    head, tail = split_night()

    # The sensor's retained "online" reaches the bed once its subscriptions (one SUBSCRIBE for
    # raw, status and meta) are in place at the broker.
    await mqtt.async_publish(hass, f"{PREFIX}/{SENSOR_ID}/status", "online", qos=1, retain=True)
    await wait_until(hass, lambda: bed.status == "online", "the subscriptions")
    assert state(hass, ONLINE) == STATE_OFF  # no frames yet

    publisher = await play(hass, broker, head)
    try:
        await wait_until(hass, lambda: publisher.finished, "the night to be sent", 60.0)
        assert publisher.error is None
        sent = publisher.stats()[SENSOR_ID].frames
        assert sent == frame_count(head)
        stats = bed.detector.ingest.stats
        await wait_until(hass, lambda: stats.frames_accepted == sent, "every frame to arrive")
        assert bed.frames_lost == 0

        # MQTT discovery saw the sensor's retained meta and recorded it on the (already
        # configured) entry: that must not restart the bed and its detector in the middle of the
        # night
        assert entry.discovery_keys
        assert entry.runtime_data is bed, "reloaded by an update of its discovery keys"
        kinds = Counter(e["type"] for e in fired)
        assert kinds["got_into_bed"] == 1
        assert kinds["limb_movement"] > 10
        assert kinds["plm_series_started"] >= 1
        # counters follow with the periodic update
        async_fire_time_changed(hass, dt_util.utcnow() + dt.timedelta(seconds=5))
        await hass.async_block_till_done()
        assert state(hass, LIMB_MOVEMENTS) == str(kinds["limb_movement"])
        assert state(hass, TWITCHES) == str(kinds["twitch"])
        assert state(hass, IN_BED) == STATE_ON
        assert state(hass, ONLINE) == STATE_ON
        last = hass.states.get(MOVEMENT)
        assert last is not None
        assert last.attributes["event_type"] == fired[-1]["type"]
        for key, value in fired[-1].items():
            if key not in ("type", "device_id", "entity_id"):
                assert last.attributes[key] == value, key
        assert dt_util.parse_datetime(last.state) is not None

        # Power cut: the connection drops without a DISCONNECT, the broker publishes the will.
        await hass.async_add_executor_job(publisher.abort)
        await wait_until(hass, lambda: state(hass, ONLINE) == STATE_OFF, "the last will")
        assert bed.status == "offline"  # the will itself, not the silence timeout
        for entity_id in (LIMB_MOVEMENTS, TWITCHES, IN_BED, MOVEMENT):
            assert state(hass, entity_id) == STATE_UNAVAILABLE, entity_id
    finally:
        await hass.async_add_executor_job(publisher.abort)  # idempotent

    # The sensor boots again: retained "online", meta, frames of a new boot.
    publisher = await play(hass, broker, tail)
    try:
        await wait_until(hass, lambda: state(hass, ONLINE) == STATE_ON, "the sensor to return")
        assert state(hass, LIMB_MOVEMENTS) != STATE_UNAVAILABLE
        await wait_until(hass, lambda: publisher.finished, "the last minute to be sent")
        total = sent + frame_count(tail)
        await wait_until(hass, lambda: stats.frames_accepted == total, "every frame to arrive")
    finally:
        await hass.async_add_executor_job(publisher.stop)
    await hass.async_block_till_done()

    # Nothing lost on the way: the same movements, in the same order, as the detector alone.
    expected_ids, expected_other = reference_events((head, tail))
    got_ids = [e["event_id"] for e in fired if BedEventType(e["type"]) in MOVEMENTS]
    assert got_ids == expected_ids
    kinds = Counter(e["type"] for e in fired)
    for kind in ("got_into_bed", "got_out_of_bed", "plm_series_started"):
        assert kinds[kind] == expected_other[kind], kind
    assert bed.frames_lost == 0
    assert entry.runtime_data is bed
    assert bed.detector.ingest.stats.error_count == 0
    # the clean stop published a retained "offline" again
    await wait_until(hass, lambda: state(hass, ONLINE) == STATE_OFF, "the clean offline")
