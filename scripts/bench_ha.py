"""Benchmark of the Home Assistant side: one 1 s frame through the bed's MQTT callback.

Usage::

    .venv/bin/python scripts/bench_ha.py [--minutes 90] [--scenario full_night] [--seed 2026]
                                         [--broker auto|mosquitto|embedded]

Runs a real Home Assistant core in this process (a temporary configuration directory, the real
registries, the real MQTT integration connected to a local Mosquitto, or the embedded broker when
Mosquitto is missing), sets up one bed of the integration with all its entities, and hands it a
synthesized night as 1 s frames (250 samples x 2 channels at 250 Hz), on the event loop. Each
call of :meth:`SleepBed._on_raw` (the exact MQTT callback: decode, sequence check, detector step,
night bookkeeping and the entity state writes when something happened) is timed with
``time.perf_counter_ns``. As same-run references, each frame also goes through a bare
:meth:`detector.stream.Stream.step` (the detector alone, on the decoded frame) and a
:meth:`detector.service.BedDetector.raw` (decode + ingest + step), in rotating order, so the
difference is what Home Assistant and the integration add (the references run the component's
own copy of the detector, the very modules the bed runs). Progress goes to stderr, the result as
one JSON object to stdout.

Frames are handed over back to back (90 minutes of night take a few seconds), so the periodic 5 s
state write runs far less often per frame than in a real night; it is not part of the callback, so
it is timed separately afterwards (``tick_us``). The night window is set around the current time
so that the night's counters do count.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

import numpy as np
from homeassistant import bootstrap, core_config, loader
from homeassistant.components import mqtt
from homeassistant.config_entries import SOURCE_USER, ConfigEntries, ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_PORT
from homeassistant.core import CoreState, HomeAssistant
from homeassistant.util import dt as dt_util

from custom_components.sleep_myoclonus.bed import SleepBed
from custom_components.sleep_myoclonus.const import (
    CONF_NIGHT_END,
    CONF_NIGHT_START,
    CONF_SENSOR_ID,
    CONF_TOPIC_PREFIX,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.sleep_myoclonus.detector.topics import DEFAULT_PREFIX, TopicKind, bed_topic
from hardware.mqtt import LocalBroker, start_local_broker
from hardware.virtual_sensor.frames import VirtualBed
from hardware.virtual_sensor.network import Message
from scripts.bench_ha_timing import (
    FS_HZ,
    FrameTimer,
    StateWrites,
    async_time_ticks,
    received_message,
)

__all__ = ["async_bench_bed", "night_messages", "run_bench"]

SENSOR_ID: Final = "bedroom"

Progress = Callable[[str], None]


def night_messages(minutes: float, scenario: str = "full_night", seed: int = 2026) -> list[Message]:
    """Every message of a synthesized night, sent by a virtual sensor as 1 s frames."""
    from hardware.virtual_sensor.synth import generate  # noqa: PLC0415 - slow import

    recording = generate(scenario, seed=seed, minutes=minutes)
    bed = VirtualBed(recording, SENSOR_ID, seed=seed, frame_samples=FS_HZ)
    return list(bed.iter_messages())


async def async_bench_bed(
    hass: HomeAssistant,
    bed: SleepBed,
    messages: Sequence[Message],
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Time the bed's MQTT callback on every frame of ``messages``, on the event loop.

    Parameters
    ----------
    hass
        The running Home Assistant the bed belongs to.
    bed
        The bed's runtime (``entry.runtime_data``), set up with its entities.
    messages
        A virtual sensor's messages; ``raw`` frames are timed, ``status`` and ``meta`` delivered
        untimed first, the rest ignored.
    progress
        Called with a line of progress now and then.

    Returns
    -------
    dict
        Timings in µs (``on_raw_us``, ``detector_raw_us``, ``stream_step_us``, ``tick_us``: p50,
        p90, p99, p999, mean, max), the overhead over the bare step, state writes and events.
    """
    say = progress or (lambda _line: None)
    frames = [m for m in messages if m.topic == bed_topic(bed.prefix, bed.sensor_id, TopicKind.RAW)]
    if not frames:
        raise ValueError("no raw frames among the messages")
    for message in messages:  # what the sensor sends on connect (retained)
        if message.topic == bed_topic(bed.prefix, bed.sensor_id, TopicKind.STATUS):
            bed._on_status(received_message(message))
        elif message.topic == bed_topic(bed.prefix, bed.sensor_id, TopicKind.META):
            bed._on_meta(received_message(message))
    writes = StateWrites(hass)
    timer = FrameTimer(bed, writes, len(frames))
    started = time.monotonic()
    try:
        for i, message in enumerate(frames):
            timer.time(i, message)
            await asyncio.sleep(0)  # let the loop run what the frame scheduled, as between frames
            if i % 600 == 599:
                say(f"{i + 1}/{len(frames)} frames ({time.monotonic() - started:.0f} s)")
        await hass.async_block_till_done()
        wall_s = time.monotonic() - started
        during_frames = writes.snapshot()  # in the callback, or scheduled by it
        ticks = await async_time_ticks(bed, writes)
        await hass.async_block_till_done()
    finally:
        writes.remove()
    movement_ids = [e["event_id"] for e in writes.bed_events if "event_id" in e]
    return {
        "frames": len(frames),
        "frame_samples": FS_HZ,
        "channels": 2,
        "fs_hz": FS_HZ,
        "wall_s": round(wall_s, 1),
        **timer.summary(),
        "frames_accepted": bed.detector.ingest.stats.frames_accepted,
        **during_frames,
        "state_changed_per_frame": round(
            during_frames["state_changed_in_callback"] / len(frames), 4
        ),
        **ticks,
        "bed_events": len(writes.bed_events),
        "movement_events": len(movement_ids),
        "events_match_detector": movement_ids == timer.reference_ids,
    }


def _night_options() -> dict[str, str]:
    """Default options with a night window around now, so the night's counters count."""
    now = dt_util.now()
    return {
        **DEFAULT_OPTIONS,
        CONF_NIGHT_START: (now - dt.timedelta(hours=1)).strftime("%H:%M:00"),
        CONF_NIGHT_END: (now + dt.timedelta(hours=6)).strftime("%H:%M:00"),
    }


def _config_entry(
    domain: str,
    title: str,
    *,
    data: dict[str, Any],
    options: dict[str, Any] | None = None,
    unique_id: str | None = None,
    minor_version: int = 1,
) -> ConfigEntry:
    return ConfigEntry(
        data=data,
        discovery_keys=MappingProxyType({}),
        domain=domain,
        minor_version=minor_version,
        options=options,
        source=SOURCE_USER,
        subentries_data=None,
        title=title,
        unique_id=unique_id,
        version=1,
    )


async def _async_start_core(config_dir: Path) -> HomeAssistant:
    """A Home Assistant core as bootstrap builds it, in ``config_dir``, running, no HTTP server."""
    (config_dir / "configuration.yaml").write_text("")
    hass = HomeAssistant(str(config_dir))
    # nothing installed at run time: the auth manager's default TOTP module would pip-install
    # pyotp and PyQRCode (a network fetch on every fresh machine)
    hass.config.skip_pip = True
    loader.async_setup(hass)
    hass.config_entries = ConfigEntries(hass, {})
    await loader.async_get_custom_components(hass)
    await bootstrap.async_load_base_functionality(hass)
    await core_config.async_process_ha_core_config(hass, {})  # defaults, the auth manager
    # Running without the start event: the HTTP server (an MQTT dependency) never listens.
    hass.set_state(CoreState.running)
    return hass


async def _async_setup(hass: HomeAssistant, broker: LocalBroker) -> tuple[ConfigEntry, SleepBed]:
    mqtt_entry = _config_entry(
        mqtt.DOMAIN,
        "MQTT",
        data={mqtt.CONF_BROKER: broker.host, CONF_PORT: broker.port},
        minor_version=2,
    )
    await hass.config_entries.async_add(mqtt_entry)
    if mqtt_entry.state is not ConfigEntryState.LOADED:
        raise RuntimeError(f"Home Assistant's MQTT integration did not set up: {mqtt_entry.state}")
    if not await mqtt.async_wait_for_mqtt_client(hass):
        raise RuntimeError(f"Home Assistant's MQTT client did not connect to {broker}")
    entry = _config_entry(
        DOMAIN,
        "Bedroom",
        data={CONF_TOPIC_PREFIX: DEFAULT_PREFIX, CONF_SENSOR_ID: SENSOR_ID},
        options=_night_options(),
        unique_id=f"{DEFAULT_PREFIX}/{SENSOR_ID}",
    )
    await hass.config_entries.async_add(entry)
    await hass.async_block_till_done()
    bed = entry.runtime_data
    if not isinstance(bed, SleepBed):
        raise RuntimeError(f"the bed entry did not set up: {entry.state}")
    return mqtt_entry, bed


async def _async_run(
    messages: Sequence[Message], broker: LocalBroker, progress: Progress
) -> dict[str, Any]:
    config_dir = Path(tempfile.mkdtemp(prefix="sleep-myoclonus-bench-ha-"))
    time_zone = dt_util.get_default_time_zone()
    try:
        progress(f"starting Home Assistant in {config_dir}")
        hass = await _async_start_core(config_dir)
        try:
            mqtt_entry, bed = await _async_setup(hass, broker)
            entities = len(hass.states.async_entity_ids())
            progress(f"bed set up with {entities} entities; timing the MQTT callback")
            result = await async_bench_bed(hass, bed, messages, progress)
            result["entities"] = entities
            bed_entry = bed.entry
            result["reloaded"] = bed_entry.runtime_data is not bed
            await hass.config_entries.async_unload(bed_entry.entry_id)
            await hass.config_entries.async_unload(mqtt_entry.entry_id)
        finally:
            await hass.async_stop()
    finally:
        shutil.rmtree(config_dir, ignore_errors=True)
        dt_util.set_default_time_zone(time_zone)  # the core sets its own
    return result


def run_bench(
    minutes: float = 90.0,
    *,
    scenario: str = "full_night",
    seed: int = 2026,
    broker: str = "auto",
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the benchmark in a new event loop and return its figures (see :func:`async_bench_bed`).

    Parameters
    ----------
    minutes
        Length of the synthesized night.
    scenario, seed
        Virtual sensor scenario preset and seed.
    broker
        ``"auto"`` (Mosquitto when installed, else embedded), ``"mosquitto"`` or ``"embedded"``.
    progress
        Called with progress lines.
    """
    say = progress or (lambda _line: None)
    say(f"synthesizing a {minutes:g} min {scenario!r} night (seed {seed}) as 1 s frames")
    messages = night_messages(minutes, scenario, seed)
    local = start_local_broker(prefer=broker)
    say(f"broker: {local.kind} on {local.host}:{local.port}")
    try:
        result = asyncio.run(_async_run(messages, local, say))
    finally:
        local.stop()
    return {
        "minutes": minutes,
        "scenario": scenario,
        "seed": seed,
        "broker": local.kind,
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        **result,
    }


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the result as JSON."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench_ha.py",
        description="Time one 1 s frame through the integration's MQTT callback in a real core.",
    )
    parser.add_argument("--minutes", type=float, default=90.0, help="night length (default 90)")
    parser.add_argument("--scenario", default="full_night", help="scenario (default full_night)")
    parser.add_argument("--seed", type=int, default=2026, help="scenario seed (default 2026)")
    parser.add_argument(
        "--broker", choices=("auto", "mosquitto", "embedded"), default="auto", help="MQTT broker"
    )
    args = parser.parse_args(argv)
    if not args.minutes > 0:
        parser.error("--minutes must be positive")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = run_bench(
        args.minutes,
        scenario=args.scenario,
        seed=args.seed,
        broker=args.broker,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
