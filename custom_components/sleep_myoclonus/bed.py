"""One bed's runtime: MQTT in, detector on the event loop, night counters, entity updates out.

Every raw frame is decoded, sequence-checked and stepped through the detector right in the MQTT
callback, on the event loop: a step costs a few hundred microseconds, less than an executor hop
would add. Events (movements, bed changes) go to the bus and the event entity at once, and so do
availability changes; the other entities are updated every 5 s, each written only when what it
shows changed, so the state machine and the recorder see a handful of writes a minute, not one
per frame, and a frame with an event costs little more than one without.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable
from typing import Any, Final

from homeassistant.components import mqtt
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from .bed_nights import BedNights
from .const import (
    ATTR_AMPLITUDE,
    ATTR_CHANNEL,
    ATTR_CLIPPED,
    ATTR_DURATION,
    ATTR_EVENT_ID,
    ATTR_MOVEMENTS,
    CONF_SENSOR_ID,
    CONF_TOPIC_PREFIX,
    DOMAIN,
    QUALITY_WINDOW_S,
    RESTLESS_HOLD_S,
    SILENCE_TIMEOUT,
    STATE_WRITE_INTERVAL,
    STORE_REFRESH_S,
    STORE_SAVE_EVERY_S,
    BedEventType,
)
from .detector.events import BedInterval
from .detector.events import Event as Movement
from .detector.protocol import FrameErrorReason
from .detector.rate import RollingTwitchRate
from .detector.service import BedDetector
from .detector.stream import BedChange, OutputItem, PlmEnded, PlmStarted
from .detector.topics import TopicKind, bed_topic
from .history import shown
from .journal import BedJournal
from .night import NightTally
from .quality import SignalQuality
from .repairs import NoDataWatch
from .settings import detector_config, night_window, quiet_hours

_LOGGER = logging.getLogger(__name__)

# After a restart, someone in bed stays in bed if Home Assistant was away no longer than this.
RESUME_IN_BED_WITHIN: Final = dt.timedelta(minutes=30)
ERROR_LOG_INTERVAL_S: Final = 600.0  # malformed frames are logged at most this often

type SleepMyoclonusConfigEntry = ConfigEntry[SleepBed]
type EventListener = Callable[[BedEventType, dict[str, Any]], None]


class SleepBed(BedNights):
    """The runtime of one configured bed sensor (``entry.runtime_data``)."""

    def __init__(self, hass: HomeAssistant, entry: SleepMyoclonusConfigEntry) -> None:
        self.hass = hass
        self.entry = entry
        self.prefix: str = entry.data[CONF_TOPIC_PREFIX]
        self.sensor_id: str = entry.data[CONF_SENSOR_ID]
        self.options = dict(entry.options)
        self.config = detector_config(self.options)
        self.journal = BedJournal(hass, entry.entry_id, night_window(self.options))
        self._quiet = quiet_hours(self.options)
        self.detector = BedDetector(self.sensor_id, self.config)
        self.quality = SignalQuality(QUALITY_WINDOW_S)
        self.no_data = NoDataWatch(hass, entry, self.journal.tally.window, dt_util.now())
        self.device_id: str | None = None
        self.meta: dict[str, Any] = {}
        self.status: str | None = None  # the sensor's own online/offline (retained, last will)
        self.in_bed: bool | None = None  # None until the detector has decided
        self.last_event: tuple[BedEventType, dict[str, Any]] | None = None
        self.event_entity_id: str | None = None  # set by the event entity while it exists
        self.internal_errors = 0
        self._last_frame_at: float | None = None  # monotonic
        self._restless_until = 0.0  # monotonic
        self._available = False
        self._was_available = False
        self._listeners: list[CALLBACK_TYPE] = []
        self._event_listeners: list[EventListener] = []
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._errors_logged_at = -ERROR_LOG_INTERVAL_S
        self._saved_at = time.monotonic()
        self._unsaved = False
        self._errors_at_log = 0

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def tally(self) -> NightTally:
        """Tonight's counters."""
        return self.journal.tally

    @property
    def rate(self) -> RollingTwitchRate:
        """The twitch rate over the last hour in bed."""
        return self.journal.rate

    async def async_load(self) -> None:
        """Restore what the bed remembers; keep someone in bed if the restart was short."""
        last_seen = await self.journal.async_load()
        if last_seen is None:
            return
        now = dt_util.utcnow()
        if self.tally.in_bed_since is not None and now - last_seen <= RESUME_IN_BED_WITHIN:
            self.detector.resume_in_bed = True  # no second "got into bed" after a restart
            self.in_bed = True
            self.rate.bed(True, last_seen.timestamp())
            return
        # away too long (or out of bed): the bed time ends where the data did
        self.tally.got_out_of_bed(dt_util.as_local(last_seen))
        self.rate.bed(False, last_seen.timestamp())

    async def async_start(self) -> None:
        """Subscribe to the sensor's topics and start the periodic update."""
        topic = self._topic
        self._unsubscribe += [
            await mqtt.async_subscribe(
                self.hass, topic(TopicKind.RAW), self._on_raw, qos=0, encoding=None
            ),
            await mqtt.async_subscribe(self.hass, topic(TopicKind.STATUS), self._on_status, qos=1),
            await mqtt.async_subscribe(self.hass, topic(TopicKind.META), self._on_meta, qos=1),
            async_track_time_interval(
                self.hass, self._on_tick, STATE_WRITE_INTERVAL, name=f"{DOMAIN} {self.sensor_id}"
            ),
            # saved with the time it was last running, to tell a short restart from a long outage
            self.hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, self._on_hass_stop),
        ]

    @callback
    def _on_hass_stop(self, _event: Event[Any]) -> None:
        self._save()

    async def async_stop(self) -> None:
        """Unsubscribe and save tonight's counters."""
        while self._unsubscribe:
            self._unsubscribe.pop()()
        await self.journal.async_save_now()

    def _topic(self, kind: TopicKind) -> str:
        return bed_topic(self.prefix, self.sensor_id, kind)

    # -- entity hooks ------------------------------------------------------------------------

    @callback
    def async_add_listener(self, update: CALLBACK_TYPE) -> CALLBACK_TYPE:
        """Call ``update`` whenever the entities should write their state; return a remover."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    @callback
    def async_add_event_listener(self, listener: EventListener) -> CALLBACK_TYPE:
        """Call ``listener(type, attributes)`` for every bed event; return a remover."""
        self._event_listeners.append(listener)
        return lambda: self._event_listeners.remove(listener)

    @property
    def available(self) -> bool:
        """Whether the sensor is online: not announced offline, and frames keep coming."""
        return self._available

    @property
    def restless(self) -> bool:
        """Whether a movement was detected within the last minute."""
        return time.monotonic() < self._restless_until

    @property
    def quiet_hours(self) -> bool:
        """Whether it is now inside the configured quiet hours."""
        return self._quiet is not None and self._quiet.contains(dt_util.now())

    def twitch_rate(self) -> float | None:
        """Twitches per hour in bed over the last hour (None before ten minutes in bed)."""
        value = self.rate.rate(dt_util.utcnow().timestamp())
        return shown(value)

    def signal_quality(self) -> float | None:
        """Percent of the last ten minutes' samples that arrived unclipped."""
        return self.quality.percent(time.monotonic())

    @property
    def frames_lost(self) -> int:
        """Frames the sensor sent that never arrived (or too late to use)."""
        return self.detector.ingest.missing_frames

    @property
    def frame_errors(self) -> dict[FrameErrorReason, int]:
        """Malformed payloads by reason."""
        return self.detector.ingest.stats.errors

    # -- MQTT callbacks ----------------------------------------------------------------------

    @callback
    def _on_raw(self, msg: mqtt.ReceiveMessage) -> None:
        ingest = self.detector.ingest
        stats = ingest.stats
        accepted, samples, missing = (
            stats.frames_accepted,
            stats.samples_accepted,
            ingest.missing_samples,
        )
        try:
            out = self.detector.raw(_as_bytes(msg.payload))
        except Exception:  # a detector bug must not take the MQTT callback down, nor flood the log
            self.internal_errors += 1
            if self.internal_errors == 1:
                _LOGGER.exception(
                    "Detector failed on a frame from %s; frame skipped", self.sensor_id
                )
            return
        if stats.frames_accepted == accepted:  # malformed (counted by reason), duplicate or late
            self._log_frame_errors()
            return
        now = time.monotonic()
        self.quality.frame(
            now, stats.samples_accepted - samples, ingest.missing_samples - missing, out.clipped
        )
        self._last_frame_at = now
        self.tally.frame(out.clipped)
        if not self._available and self.status != "offline":
            self._set_available(True)
            self._notify()
        if out.items:
            # the bus and the event entity get events now; counters follow with the next
            # periodic update (at most 5 s later, several events written once)
            self._consume(out.items)

    @callback
    def _on_status(self, msg: mqtt.ReceiveMessage) -> None:
        self.status = _as_bytes(msg.payload).decode(errors="replace").strip().lower()
        if self.status == "offline" and self._available:
            self._set_available(False)
            self._notify()

    @callback
    def _on_meta(self, msg: mqtt.ReceiveMessage) -> None:
        raw = _as_bytes(msg.payload)
        try:
            meta = json.loads(raw)
        except ValueError:
            _LOGGER.warning("Ignoring meta of %s that is not JSON", self.sensor_id)
            return
        if not isinstance(meta, dict):
            _LOGGER.warning("Ignoring meta of %s that is not a JSON object", self.sensor_id)
            return
        self.meta = meta
        self.detector.meta(raw)
        self._update_device()

    @callback
    def _on_tick(self, _now: dt.datetime) -> None:
        if self._available and (
            self._last_frame_at is None
            or time.monotonic() - self._last_frame_at > SILENCE_TIMEOUT.total_seconds()
        ):
            self._set_available(False)
        now = dt_util.now()
        self.no_data.tick(now, self._last_frame_at)
        if self.tally.tick(now):
            self._unsaved = True
            self._finish_nights()
        since_save = time.monotonic() - self._saved_at
        if (self._unsaved and since_save >= STORE_SAVE_EVERY_S) or (
            self._available and since_save >= STORE_REFRESH_S
        ):
            self._save()
        self._notify()

    # -- internals ---------------------------------------------------------------------------

    def _set_available(self, available: bool) -> None:
        self._available = available
        if available:
            again = " again" if self._was_available else ""
            self._was_available = True
            _LOGGER.info("Bed sensor %s is online%s", self.sensor_id, again)
        else:
            reason = "announced offline" if self.status == "offline" else "sent no data"
            _LOGGER.info("Bed sensor %s is unavailable (%s)", self.sensor_id, reason)

    def _log_frame_errors(self) -> None:
        """Report new malformed frames, at most every ERROR_LOG_INTERVAL_S."""
        now = time.monotonic()
        if now - self._errors_logged_at < ERROR_LOG_INTERVAL_S:
            return
        total = self.detector.ingest.stats.error_count
        if total == self._errors_at_log:
            return  # only duplicates or late frames since the last report
        new = total - self._errors_at_log
        self._errors_logged_at, self._errors_at_log = now, total
        counts = {reason.value: n for reason, n in self.frame_errors.items() if n}
        _LOGGER.warning(
            "Dropped %d malformed frame(s) from %s since the last report; totals by reason: %s",
            new,
            self.sensor_id,
            counts,
        )

    def _consume(self, items: list[OutputItem]) -> None:
        """Turn detector output into counters, tonight's log, events and bed state."""
        stream = self.detector.stream
        now = dt_util.utcnow()
        end_sample = stream.segment_start + stream.samples_seen if stream else 0

        def at(sample: int | float, fs_hz: float) -> dt.datetime:
            return now - dt.timedelta(seconds=max(0.0, end_sample - sample) / fs_hz)

        tally, log = self.tally, self.journal.log
        if stream is not None:
            log.anchor(stream, at(0, stream.fs_hz))
        for item in items:
            if isinstance(item, Movement):
                kind = BedEventType(item.type.value)
                when = at(item.onset_sample, item.fs_hz)
                counted = tally.movement(kind, dt_util.as_local(when))
                self._finish_nights()
                if counted:
                    self.journal.log.event(item, stream, when)
                if kind is BedEventType.TWITCH:
                    self.rate.twitch(when.timestamp())
                self._restless_until = time.monotonic() + RESTLESS_HOLD_S
                self._fire(
                    kind,
                    {
                        ATTR_DURATION: round(item.duration_s, 2),
                        ATTR_AMPLITUDE: item.amplitude,
                        ATTR_CHANNEL: item.channel,
                        ATTR_CLIPPED: item.clipped,
                        ATTR_EVENT_ID: item.event_id,
                    },
                )
            elif isinstance(item, BedChange):
                when = at(item.sample, item.fs_hz)
                self.in_bed = item.in_bed
                self.rate.bed(item.in_bed, when.timestamp())
                if item.in_bed:
                    tally.got_into_bed(dt_util.as_local(when))
                    self._finish_nights()
                    if tally.counting:
                        self.journal.log.entered(item.time_s, stream, when)
                    self._fire(BedEventType.GOT_INTO_BED, {})
                else:
                    tally.got_out_of_bed(dt_util.as_local(when))
                    self._fire(BedEventType.GOT_OUT_OF_BED, {})
            elif isinstance(item, PlmStarted):
                series = item.series
                self._fire(
                    BedEventType.PLM_SERIES_STARTED,
                    {ATTR_MOVEMENTS: series.count, ATTR_DURATION: round(series.duration_s, 1)},
                )
            elif isinstance(item, PlmEnded):
                if tally.running and stream is not None:
                    onset_at = at(item.series.onset * stream.fs_hz, stream.fs_hz)
                    self.journal.log.series(item.series, stream, onset_at)
            elif isinstance(item, BedInterval):
                if tally.running:
                    self.journal.log.interval(item, stream, at(item.end_sample, item.fs_hz))
            else:  # pragma: no cover - exhaustive
                raise TypeError(f"unexpected detector output {item!r}")
        running = stream.plm.current if stream else None
        tally.plm_progress(running.count if running else 0, dt_util.now())
        self._finish_nights()
        self._unsaved = True  # written by the next periodic update that is due

    def _fire(self, kind: BedEventType, attributes: dict[str, Any]) -> None:
        self.last_event = (kind, attributes)
        self._announce(kind.value, attributes)
        for listener in list(self._event_listeners):
            listener(kind, attributes)

    def _notify(self) -> None:
        for update in list(self._listeners):
            update()

    def _save(self) -> None:
        self.journal.save()
        self._saved_at, self._unsaved = time.monotonic(), False

    def _update_device(self) -> None:
        if self.device_id is None:
            return
        meta = self.meta
        channels = meta.get("channels")
        fs_hz = meta.get("fs_hz")
        hw: list[str] = []
        if isinstance(fs_hz, (int, float)):
            hw.append(f"{fs_hz:g} Hz")
        if isinstance(channels, list):
            hw.append(", ".join(str(c) for c in channels))
        found = {
            "manufacturer": _text(meta.get("manufacturer")),
            "model": _text(meta.get("model")),
            "sw_version": _text(meta.get("firmware")),
            "hw_version": " · ".join(hw) or None,
        }
        # only what the sensor told: a field it left out keeps its value
        changes: dict[str, Any] = {key: value for key, value in found.items() if value}
        dr.async_get(self.hass).async_update_device(self.device_id, **changes)


def _as_bytes(payload: str | bytes | bytearray) -> bytes:
    return payload.encode() if isinstance(payload, str) else bytes(payload)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
