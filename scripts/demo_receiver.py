"""The demo's ``--no-ha`` mode: a receiver that stands in for Home Assistant.

It subscribes the way Home Assistant's component does, decodes and classifies every frame, feeds
the detector and queues a line for each detected event and a line of frame statistics on demand.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from detector.events import Event
from detector.sequence import FrameClass
from detector.service import BedDetector
from detector.stream import BedChange, PlmStarted
from detector.topics import TopicError, TopicKind, parse_topic, subscription
from hardware.virtual_sensor.publish import Publisher

__all__ = ["Receiver", "run_receiver"]


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


async def run_receiver(receiver: Receiver, publisher: Publisher, duration: float | None) -> None:
    """Print the receiver's lines and its statistics every second until the night is sent.

    Parameters
    ----------
    receiver
        The connected receiver.
    publisher
        The virtual sensor, started.
    duration
        Stop after this many seconds (None: when the sensor is done).
    """
    started = time.monotonic()
    try:
        while True:
            await asyncio.sleep(1.0)
            while not receiver.lines.empty():
                print(receiver.lines.get())
            elapsed = time.monotonic() - started
            print(f"[{elapsed:6.0f} s] {receiver.stats_line(elapsed)}", flush=True)
            if publisher.finished or (duration and elapsed >= duration):
                break
    finally:
        await asyncio.to_thread(publisher.stop)
        await asyncio.sleep(0.3)
        while not receiver.lines.empty():
            print(receiver.lines.get())
        receiver.stop()
