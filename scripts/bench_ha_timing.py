"""Timing pieces of ``scripts/bench_ha.py``: a frame through the bed's callback and references.

Each frame goes through the integration's MQTT callback and, as same-run references, through a
bare :meth:`detector.stream.Stream.step` and a :meth:`detector.service.BedDetector.raw`, in
rotating order; state writes on the bus are counted, those made inside a callback apart.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from homeassistant.components import mqtt
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util

from custom_components.sleep_myoclonus.bed import SleepBed
from custom_components.sleep_myoclonus.const import EVENT_BED
from custom_components.sleep_myoclonus.detector.events import Event as Movement
from custom_components.sleep_myoclonus.detector.protocol import decode_frame
from custom_components.sleep_myoclonus.detector.service import BedDetector
from custom_components.sleep_myoclonus.detector.stream import Stream
from hardware.virtual_sensor.network import Message

__all__ = ["FrameTimer", "StateWrites", "async_time_ticks", "received_message", "stats_us"]

FS_HZ: Final = 250
TARGET_P99_US: Final = 500.0
TICKS: Final = 50  # periodic state writes timed after the night
_PERCENTILES: Final = {"p50": 50.0, "p90": 90.0, "p99": 99.0, "p999": 99.9}


def stats_us(ns: npt.NDArray[np.int64]) -> dict[str, float]:
    result = {name: float(np.percentile(ns, q)) / 1000.0 for name, q in _PERCENTILES.items()}
    result["mean"] = float(ns.mean()) / 1000.0
    result["max"] = float(ns.max()) / 1000.0
    return {name: round(value, 1) for name, value in result.items()}


@callback
def every_event(_data: Any) -> bool:
    return True


def received_message(message: Message) -> mqtt.ReceiveMessage:
    return mqtt.ReceiveMessage(
        topic=message.topic,
        payload=message.payload,
        qos=message.qos,
        retain=message.retain,
        subscribed_topic=message.topic,
        timestamp=time.monotonic(),
    )


class StateWrites:
    """Counts state writes on the bus, and those made while a frame's callback runs."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.changed = self.reported = 0
        self.changed_in_frame = self.reported_in_frame = 0
        self.in_frame = False
        self.bed_events: list[dict[str, Any]] = []
        self._removers = [
            hass.bus.async_listen(EVENT_STATE_CHANGED, self._on_changed),
            hass.bus.async_listen(
                EVENT_STATE_REPORTED, self._on_reported, event_filter=every_event
            ),
            hass.bus.async_listen(EVENT_BED, self._on_bed_event),
        ]

    @callback
    def _on_changed(self, _event: Event[Any]) -> None:
        self.changed += 1
        self.changed_in_frame += self.in_frame

    @callback
    def _on_reported(self, _event: Event[Any]) -> None:
        self.reported += 1
        self.reported_in_frame += self.in_frame

    @callback
    def _on_bed_event(self, event: Event[Any]) -> None:
        self.bed_events.append(dict(event.data))

    def snapshot(self) -> dict[str, int]:
        return {
            "state_changed": self.changed,
            "state_changed_in_callback": self.changed_in_frame,
            "state_reported": self.reported,
            "state_reported_in_callback": self.reported_in_frame,
        }

    def remove(self) -> None:
        while self._removers:
            self._removers.pop()()


class FrameTimer:
    """Times one frame through the bed's callback and through the two detector references."""

    def __init__(self, bed: SleepBed, writes: StateWrites, frames: int) -> None:
        self.bed = bed
        self.writes = writes
        self.step_ref = Stream(float(FS_HZ), ("torso", "legs"), bed="reference", config=bed.config)
        self.raw_ref = BedDetector(bed.sensor_id, bed.config)  # event ids name the bed
        self.reference_ids: list[str] = []
        self.on_raw = np.empty(frames, np.int64)
        self.detector_raw = np.empty(frames, np.int64)
        self.stream_step = np.empty(frames, np.int64)
        self.state_changes = np.zeros(frames, np.int64)

    def time(self, i: int, message: Message) -> None:
        """Time frame ``i`` three ways, in rotating order (none always runs first, cold)."""
        received = received_message(message)
        decoded = decode_frame(message.payload)
        clock = time.perf_counter_ns
        before = self.writes.changed_in_frame
        for turn in range(3):
            which = (i + turn) % 3
            if which == 0:
                self.writes.in_frame = True
                start = clock()
                self.bed._on_raw(received)
                self.on_raw[i] = clock() - start
                self.writes.in_frame = False
            elif which == 1:
                start = clock()
                out = self.raw_ref.raw(message.payload)
                self.detector_raw[i] = clock() - start
                self.reference_ids += [e.event_id for e in out.items if isinstance(e, Movement)]
            else:
                start = clock()
                self.step_ref.step(decoded)
                self.stream_step[i] = clock() - start
        self.state_changes[i] = self.writes.changed_in_frame - before

    def summary(self) -> dict[str, Any]:
        on_raw = stats_us(self.on_raw)
        step = stats_us(self.stream_step)
        notified = self.state_changes > 0
        quiet = self.on_raw[~notified]
        return {
            "on_raw_us": on_raw,
            "detector_raw_us": stats_us(self.detector_raw),
            "stream_step_us": step,
            "overhead_p50_us": round(on_raw["p50"] - step["p50"], 1),
            "overhead_p99_us": round(on_raw["p99"] - step["p99"], 1),
            "ratio_p50": round(on_raw["p50"] / step["p50"], 2),
            "ratio_p99": round(on_raw["p99"] / step["p99"], 2),
            "target_p99_us": TARGET_P99_US,
            "meets_target": on_raw["p99"] <= TARGET_P99_US,
            "frames_with_state_writes": int(notified.sum()),
            "on_raw_us_with_state_writes": (
                stats_us(self.on_raw[notified]) if notified.any() else None
            ),
            # the same frames through the bare step: how much of their cost is the detector's
            "stream_step_us_with_state_writes": (
                stats_us(self.stream_step[notified]) if notified.any() else None
            ),
            "on_raw_us_without_state_writes": stats_us(quiet) if quiet.size else None,
        }


async def async_time_ticks(bed: SleepBed, writes: StateWrites) -> dict[str, Any]:
    """Time the periodic state write (every 5 s in a night; not part of any frame)."""
    ticks = np.empty(TICKS, np.int64)
    changed, reported = writes.changed, writes.reported
    for i in range(TICKS):
        start = time.perf_counter_ns()
        bed._on_tick(dt_util.utcnow())
        ticks[i] = time.perf_counter_ns() - start
        await asyncio.sleep(0)
    return {
        "tick_us": stats_us(ticks),
        "tick_state_changed_per_tick": round((writes.changed - changed) / TICKS, 2),
        "tick_state_reported_per_tick": round((writes.reported - reported) / TICKS, 2),
    }
