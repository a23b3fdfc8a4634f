"""The demo: a local MQTT broker, a real Home Assistant with Sleep Myoclonus, a virtual bed sensor.

Run through ``./scripts/demo.sh`` (which sets everything up first). It starts a broker (Mosquitto
when installed, else the embedded one), starts Home Assistant in a fresh configuration directory
with the integration unpacked from the release zip, creates the owner account (``demo`` /
``demo-password``), adds the MQTT integration, lets the virtual sensor announce itself and
accepts the discovered bed, then plays a synthesized night at 30x speed. It prints where to look
(Home Assistant's URL, the device page, the entity ids, a ``mosquitto_sub`` command), every bed
event as Home Assistant fires it on its event bus, and a line of entity states every 10 s.
Ctrl-C (or ``--duration``) stops sensor, Home Assistant and broker. ``--no-ha`` runs a plain
receiver instead of Home Assistant.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import signal
import sys
import time
import zoneinfo
from pathlib import Path
from typing import Any, Final

import paho.mqtt.publish as mqtt_publish

from detector.recording import Recording
from detector.topics import DEFAULT_PREFIX, TopicKind
from hardware.mqtt import LocalBroker, start_local_broker
from hardware.virtual_sensor.publish import Faults, Publisher, VirtualBed
from hardware.virtual_sensor.synth import generate
from scripts.demo_receiver import Receiver, run_receiver
from scripts.ha_dashboard import add_dashboard
from scripts.ha_instance import DEMO_USER, Bed, HaInstance

LEAD_IN_S: Final = 60.0  # empty bed played before the sleeper gets in
STATES_EVERY_S: Final = 10.0
EVENT_TYPE: Final = "sleep_myoclonus_event"
# entity description key -> label, for the where-to-look block and the state lines
MAIN_ENTITIES: Final = {
    "twitch_rate": "twitch rate",
    "twitches_tonight": "twitches",
    "limb_movements_tonight": "limb movements",
    "plm_index_tonight": "PLM index",
    "in_bed": "in bed",
    "bed_event": "last event",
}
STATE_LINE: Final = (
    "in_bed",
    "twitches_tonight",
    "limb_movements_tonight",
    "plm_index_tonight",
    "twitch_rate",
    "signal_quality",
)


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scripts/demo.sh", description=__doc__.split("\n")[0])
    p.add_argument(
        "--scenario", default="full_night", help="virtual sensor preset (default full_night)"
    )
    p.add_argument("--minutes", type=float, default=None, help="length of the simulated night")
    p.add_argument(
        "--speed", type=float, default=30.0, help="sensor seconds per wall second (default 30)"
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--bed", default="bedroom", help="the sensor's id (default bedroom)")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help="MQTT topic prefix")
    p.add_argument("--broker", choices=("auto", "mosquitto", "embedded"), default="auto")
    p.add_argument("--loss", type=float, default=0.005, help="injected frame loss rate")
    p.add_argument("--duplicate", type=float, default=0.005)
    p.add_argument("--reorder", type=float, default=0.005)
    p.add_argument("--garbage", type=float, default=0.002)
    p.add_argument("--duration", type=float, default=None, help="stop after this many wall seconds")
    p.add_argument(
        "--from-start",
        action="store_true",
        help="play the empty bed before the sleeper gets in too (default: start "
        f"{LEAD_IN_S:g} s before)",
    )
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="Home Assistant configuration directory to use and keep (default: a temporary one)",
    )
    p.add_argument("--port", type=int, default=0, help="Home Assistant's HTTP port (default: free)")
    p.add_argument(
        "--no-ha", action="store_true", help="a plain receiver instead of Home Assistant"
    )
    return p.parse_args(argv)


def _lead_in(recording: Recording) -> Recording:
    """The recording from shortly before the sleeper first gets into bed (the empty bed before
    that can last half an hour of a night, which is a long wait in a demo)."""
    entries = [i["onset"] for i in (recording.truth or {}).get("in_bed", [])]
    first = int(max(0.0, min(entries, default=0.0) - LEAD_IN_S) * recording.fs)
    if first == 0:
        return recording
    return dataclasses.replace(
        recording,
        samples=recording.samples[first:],
        start=recording.start + first / recording.fs,
        # the truth's times no longer match; its scenario still describes the sensor
        truth={"scenario": (recording.truth or {}).get("scenario", {})},
    )


def _night(args: argparse.Namespace) -> tuple[Recording, VirtualBed]:
    recording = generate(args.scenario, seed=args.seed, minutes=args.minutes)
    if not args.from_start:
        recording = _lead_in(recording)
    faults = Faults(
        loss=args.loss, duplicate=args.duplicate, reorder=args.reorder, garbage=args.garbage
    )
    return recording, VirtualBed(
        recording, args.bed, prefix=args.prefix, seed=args.seed, faults=faults
    )


def _say(line: str) -> None:
    print(f"[demo] {line}", flush=True)


def _clock(seconds: float) -> str:
    return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}"


def _night_window(time_zone: str) -> dict[str, str]:
    """Options whose night window runs from an hour ago to 12 h from now (Home Assistant's time),
    so the virtual night counts as tonight whatever the time of day."""
    now = dt.datetime.now(zoneinfo.ZoneInfo(time_zone))
    return {
        "night_start": (now - dt.timedelta(hours=1)).strftime("%H:%M:00"),
        "night_end": (now + dt.timedelta(hours=12)).strftime("%H:%M:00"),
    }


def _event_line(event: dict[str, Any], bed: Bed, tz: zoneinfo.ZoneInfo, elapsed: float) -> str:
    """One line for a ``sleep_myoclonus_event`` as Home Assistant sent it."""
    data = event.get("data", {})
    fired = dt.datetime.fromisoformat(event["time_fired"]).astimezone(tz).strftime("%H:%M:%S")
    name = bed.title if data.get("device_id") == bed.device_id else data.get("device_id")
    kind = str(data.get("type"))
    if kind == "plm_series_started":
        what = f"PLM series started ({data.get('movements')} limb movements)"
    elif "amplitude" in data:
        what = (
            f"{kind:<15}{data.get('duration', 0):6.2f} s {data['amplitude']:7.1f}x heartbeat  "
            f"{data.get('channel')}"
        )
    else:
        what = kind.replace("_", " ")
    return f"[{elapsed:6.0f} s] HA event  {fired} {name}: {what}"


async def _state_line(ha: HaInstance, bed: Bed, played: str, elapsed: float) -> str:
    """One line of entity states read from Home Assistant's REST API."""
    parts = [played]
    for key in STATE_LINE:
        entity_id = bed.entities.get(key)
        state = await ha.state(entity_id) if entity_id else None
        if state is None:
            continue
        unit = state["attributes"].get("unit_of_measurement")
        if state["state"] in ("unknown", "unavailable"):
            unit = None
        label = MAIN_ENTITIES.get(key, key.replace("_", " "))
        parts.append(f"{label} {state['state']}" + (f" {unit}" if unit else ""))
    return f"[{elapsed:6.0f} s] HA states: " + " | ".join(parts)


def _where_to_look(
    ha: HaInstance, bed: Bed, broker: LocalBroker, prefix: str, dashboard: str
) -> None:
    rule = "-" * 78
    main = ", ".join(bed.entities[key] for key in MAIN_ENTITIES if key in bed.entities)
    kept = "deleted at exit; --config DIR keeps it" if ha.temporary else "kept"
    watch = f"mosquitto_sub -h {broker.host} -p {broker.port} -t '{prefix}/#' -v"
    for line in (
        rule,
        f"Home Assistant: {ha.url}  (log in as {DEMO_USER.username} / {DEMO_USER.password})",
        f"the bed:        {ha.url}/config/devices/device/{bed.device_id}",
        f"entities:       {main}",
        f"dashboard:      {dashboard} (tonight live; History: a bar per finished night)",
        "actions:        Developer tools > Actions > sleep_myoclonus.log_caffeine, end_night, "
        "export_night, ...",
        f"bus events:     {EVENT_TYPE} (Developer tools > Events), logbook: {ha.url}/logbook",
        f"raw MQTT:       {watch}",
        f"configuration:  {ha.config_dir} ({kept})",
        rule,
    ):
        _say(line)


async def _live(
    ha: HaInstance,
    bed: Bed,
    publisher: Publisher,
    events: asyncio.Queue[dict[str, Any]],
    *,
    night_s: float,
    duration: float | None,
) -> None:
    """Print Home Assistant's bed events as they come and entity states every 10 s."""
    tz = zoneinfo.ZoneInfo((await ha.rest.get("/api/config"))["time_zone"])
    started = time.monotonic()
    next_states = started + STATES_EVERY_S
    stop_at = started + duration if duration else float("inf")

    async def states() -> None:
        played = f"played {_clock(publisher.totals().sensor_time_s)} of {_clock(night_s)}"
        print(await _state_line(ha, bed, played, time.monotonic() - started), flush=True)

    while (now := time.monotonic()) < stop_at:
        if publisher.finished and stop_at > now + 3.0:
            _say("the virtual night is over")
            stop_at = now + 3.0  # its last events are still on the way
        try:
            async with asyncio.timeout(max(0.0, min(next_states, stop_at) - now)):
                event = await events.get()
            print(_event_line(event, bed, tz, time.monotonic() - started), flush=True)
        except TimeoutError:
            pass
        if time.monotonic() >= next_states:
            await states()
            next_states += STATES_EVERY_S
    if time.monotonic() > next_states - STATES_EVERY_S + 1.0:  # not just printed
        await states()


async def announce_sensor(vbed: VirtualBed, broker: LocalBroker) -> None:
    """Publish the sensor's retained ``meta``: it announces itself (MQTT discovery) first."""
    meta = next(m for m in vbed.connect_messages() if m.topic == vbed.topic(TopicKind.META))
    await asyncio.to_thread(
        mqtt_publish.single,
        meta.topic,
        meta.payload,
        qos=1,
        retain=True,
        hostname=broker.host,
        port=broker.port,
    )


async def _with_ha(args: argparse.Namespace, broker: LocalBroker) -> None:
    ha = HaInstance(args.config, port=args.port)
    started = time.monotonic()
    _say(f"starting Home Assistant on {ha.url} (about 5 s), synthesising the night meanwhile...")
    night: asyncio.Task[tuple[Recording, VirtualBed]] | None = None
    try:
        ha.launch((broker.host, broker.port))
        night = asyncio.create_task(asyncio.to_thread(_night, args))
        await ha.wait_ready()
        core = await ha.rest.get("/api/config")
        _say(
            f"Home Assistant {core['version']} running (pid {ha.pid}) after "
            f"{time.monotonic() - started:.1f} s, Sleep Myoclonus {ha.version} installed from the "
            "release zip"
        )
        recording, vbed = await night
        added = await ha.add_mqtt(broker.host, broker.port)
        _say("MQTT integration " + ("added" if added else "kept, pointed at this broker"))
        await announce_sensor(vbed, broker)
        _say("virtual sensor announced; adding the bed...")
        bed = await ha.add_bed(
            args.prefix,
            args.bed,
            args.bed.replace("_", " ").title(),
            # the integration's manifest asks for discovery under the default prefix only
            discovery_timeout_s=15.0 if args.prefix == DEFAULT_PREFIX else 0.0,
        )
        window = _night_window(core["time_zone"])
        await ha.set_options(bed.entry_id, window)
        _say(
            f"bed '{bed.title}' {bed.how}; night window set to {window['night_start'][:5]}-"
            f"{window['night_end'][:5]} ({core['time_zone']}) so tonight's counters count now"
        )
        dashboard = await add_dashboard(ha, args.bed)
        _where_to_look(ha, bed, broker, args.prefix, dashboard)
        events = await ha.ws.subscribe_events(EVENT_TYPE)
        publisher = Publisher([vbed], host=broker.host, port=broker.port, speed=args.speed)
        _say(
            f"virtual sensor '{args.bed}': {recording.duration_s / 3600:.1f} h night at "
            f"x{args.speed:g} (rates and time in bed run on Home Assistant's clock); set up in "
            f"{time.monotonic() - started:.0f} s; Ctrl-C stops"
        )
        publisher.start()
        try:
            await _live(
                ha, bed, publisher, events, night_s=recording.duration_s, duration=args.duration
            )
        finally:
            await asyncio.to_thread(publisher.stop)
    finally:
        if night is not None:
            night.cancel()  # if Home Assistant failed first (the synthesis itself runs to its end)
        if ha.pid is None:  # never started
            await ha.stop()
        else:
            _say("stopping Home Assistant...")
            _say(f"Home Assistant stopped (exit code {await ha.stop()})")


async def _without_ha(args: argparse.Namespace, broker: LocalBroker) -> None:
    _say(f"synthesising the virtual night ({args.scenario})...")
    recording, vbed = await asyncio.to_thread(_night, args)
    watch = f"mosquitto_sub -h {broker.host} -p {broker.port} -t '{args.prefix}/#' -v"
    _say(f"watch it yourself: {watch}")
    receiver = Receiver(broker.host, broker.port, args.prefix, {args.bed: recording.start})
    publisher = Publisher([vbed], host=broker.host, port=broker.port, speed=args.speed)
    _say(
        f"virtual sensor '{args.bed}': {recording.duration_s / 3600:.1f} h night, "
        f"{recording.fs:g} Hz, {len(recording.channels)} channels, x{args.speed:g} speed; "
        "Ctrl-C stops"
    )
    publisher.start()
    await run_receiver(receiver, publisher, args.duration)


async def _run(args: argparse.Namespace) -> None:
    task = asyncio.current_task()
    assert task is not None

    def _interrupted() -> None:
        if not task.cancelling():
            print("\n[demo] stopping...", flush=True)
            task.cancel()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _interrupted)
    with start_local_broker(args.broker) as broker:
        pid = f" (pid {broker.pid})" if broker.pid else ""
        _say(f"broker: {broker.kind} on {broker.host}:{broker.port}{pid}")
        try:
            await (_without_ha if args.no_ha else _with_ha)(args, broker)
        except asyncio.CancelledError:
            if not task.cancelling():
                raise
            task.uncancel()


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit status."""
    args = _args(argv)
    try:
        asyncio.run(_run(args))
    except Exception as err:
        print(f"[demo] failed: {err}", file=sys.stderr)
        return 1
    print("[demo] stopped cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
