"""The demo: a local broker, a virtual bed sensor playing a night, and a live receiver.

Run through ``./scripts/demo.sh`` (which sets everything up first). The receiver subscribes the way
Home Assistant's component does, decodes and classifies every frame, feeds the detector and prints
frame statistics every second and each detected event as it happens. Ctrl-C stops everything.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from detector.events import Event
from detector.recording import Recording
from detector.sequence import FrameClass
from detector.service import BedDetector
from detector.stream import BedChange, PlmStarted
from detector.topics import DEFAULT_PREFIX, TopicError, TopicKind, parse_topic, subscription
from hardware.mqtt import start_local_broker
from hardware.virtual_sensor.publish import Faults, Publisher, VirtualBed
from hardware.virtual_sensor.synth import generate

LEAD_IN_S = 60.0  # empty bed played before the sleeper gets in


@dataclass
class BedState:
    """What the receiver knows of one bed."""

    detector: BedDetector
    status: str = "?"
    start: float = 0.0
    events: int = 0


class Receiver:
    """Subscribe to every bed under a prefix; decode, classify, detect; queue lines to print."""

    def __init__(self, host: str, port: int, prefix: str, starts: dict[str, float]) -> None:
        self.beds: dict[str, BedState] = {}
        self.lines: queue.Queue[str] = queue.Queue()
        self.lock = threading.Lock()
        self.starts = starts
        self.prefix = prefix
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="sm-demo-receiver")
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client: Any, _u: Any, _f: Any, _rc: Any, _p: Any = None) -> None:
        for kind in (TopicKind.RAW, TopicKind.STATUS, TopicKind.META):
            client.subscribe(subscription(self.prefix, kind), qos=1 if kind != TopicKind.RAW else 0)

    def _on_message(self, _client: Any, _u: Any, message: Any) -> None:
        try:
            parts = parse_topic(message.topic)
        except TopicError:
            return
        with self.lock:
            bed = self.beds.get(parts.bed)
            if bed is None:
                start = self.starts.get(parts.bed, 0.0)
                bed = self.beds[parts.bed] = BedState(BedDetector(parts.bed), start=start)
            if parts.kind is TopicKind.STATUS:
                bed.status = message.payload.decode(errors="replace")
                self.lines.put(f"  {parts.bed}: sensor {bed.status}")
            elif parts.kind is TopicKind.META:
                bed.detector.meta(message.payload)
            elif parts.kind is TopicKind.RAW:
                self._raw(parts.bed, bed, message.payload)

    def _raw(self, name: str, bed: BedState, payload: bytes) -> None:
        for item in bed.detector.raw(payload).items:
            line = self._describe(name, bed, item)
            if line is not None:
                bed.events += 1
                self.lines.put(line)

    @staticmethod
    def _clock(bed: BedState, seconds: float) -> str:
        return dt.datetime.fromtimestamp(bed.start + seconds, dt.UTC).strftime("%H:%M:%S")

    def _describe(self, name: str, bed: BedState, item: object) -> str | None:
        """One line for an event, a bed change or a PLM series start; None for the rest."""
        if isinstance(item, BedChange):
            what = "got into bed" if item.in_bed else "got out of bed"
            return f"  {name} {self._clock(bed, item.time_s)}  {what}"
        if isinstance(item, PlmStarted):
            when = self._clock(bed, item.series.onset)
            return f"  {name} {when}  PLM series started (4 limb movements)"
        if not isinstance(item, Event):
            return None  # a finished PLM series or in-bed interval: already told when it began
        return (
            f"  {name} {self._clock(bed, item.onset_s)}  {item.type.value:<15}"
            f"{item.duration_s:6.2f} s {item.amplitude:7.1f}x heartbeat  {item.channel}"
        )

    def stats_line(self, elapsed: float) -> str:
        with self.lock:
            parts = []
            for name, bed in sorted(self.beds.items()):
                ingest, stream = bed.detector.ingest, bed.detector.stream
                s, c = ingest.stats, ingest.classes
                errors = ", ".join(f"{r.value} {n}" for r, n in s.errors.items() if n) or "none"
                in_bed = "in bed" if stream is not None and stream.engine.in_bed else "empty"
                parts.append(
                    f"{name}: {s.frames_accepted / max(elapsed, 1e-9):5.1f} frames/s, "
                    f"{s.samples_accepted} samples, lost {ingest.missing_samples} samples, "
                    f"dup {c[FrameClass.DUPLICATE]}, late {c[FrameClass.LATE]}, "
                    f"reboots {c[FrameClass.REBOOT]}, bad payloads {s.error_count} ({errors}); "
                    f"{in_bed}"
                )
        return " | ".join(parts) or "waiting for frames..."

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


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
    p.add_argument("--bed", default="bedroom")
    p.add_argument("--prefix", default=DEFAULT_PREFIX)
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


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"[demo] synthesising the virtual night ({args.scenario})...", flush=True)
    recording = generate(args.scenario, seed=args.seed, minutes=args.minutes)
    if not args.from_start:
        recording = _lead_in(recording)
    faults = Faults(
        loss=args.loss, duplicate=args.duplicate, reorder=args.reorder, garbage=args.garbage
    )
    bed = VirtualBed(recording, args.bed, prefix=args.prefix, seed=args.seed, faults=faults)
    with start_local_broker(args.broker) as broker:
        print(
            f"[demo] broker: {broker.kind} on {broker.host}:{broker.port}"
            + (f" (pid {broker.pid})" if broker.pid else "")
        )
        watch = f"mosquitto_sub -h {broker.host} -p {broker.port} -t '{args.prefix}/#' -v"
        print(f"[demo] watch it yourself: {watch}")
        receiver = Receiver(broker.host, broker.port, args.prefix, {args.bed: recording.start})
        publisher = Publisher([bed], host=broker.host, port=broker.port, speed=args.speed)
        hours = recording.duration_s / 3600
        print(
            f"[demo] virtual sensor '{args.bed}': {hours:.1f} h night, {recording.fs:g} Hz, "
            f"{len(recording.channels)} channels, x{args.speed:g} speed; Ctrl-C stops"
        )
        started = time.monotonic()
        publisher.start()
        try:
            while not stop.is_set():
                stop.wait(1.0)
                while not receiver.lines.empty():
                    print(receiver.lines.get())
                elapsed = time.monotonic() - started
                print(f"[{elapsed:6.0f} s] {receiver.stats_line(elapsed)}", flush=True)
                if publisher.finished or (args.duration and elapsed >= args.duration):
                    break
        except KeyboardInterrupt:
            print("\n[demo] stopping...")
        finally:
            publisher.stop()
            time.sleep(0.3)
            while not receiver.lines.empty():
                print(receiver.lines.get())
            receiver.stop()
    print("[demo] stopped cleanly")
    return 0


if __name__ == "__main__":
    sys.exit(main())
