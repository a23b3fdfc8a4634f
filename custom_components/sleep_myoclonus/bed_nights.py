"""A bed's nights and lifestyle log: filing finished nights, the night and logging actions.

Mixed into :class:`~.bed.SleepBed`: what happens when a night ends (its record, report,
statistics, ``night_ended`` event and repairs), the ``start_night``/``end_night`` overrides, and
logging caffeine and exercise (each also a bus event for device triggers).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify

from .const import ATTR_DEVICE_ID, ATTR_TYPE, EVENT_BED, BedNotice
from .detector.service import BedDetector
from .history import NightRecord, shown
from .journal import BedJournal
from .lifestyle import Intensity
from .repairs import async_update_night_issues
from .settings import caffeine_cutoff
from .statistics import async_add_night_statistics


class BedNights:
    """Night filing, night overrides and lifestyle logging of a bed (a mixin of ``SleepBed``)."""

    hass: HomeAssistant
    entry: ConfigEntry[Any]
    journal: BedJournal
    detector: BedDetector
    sensor_id: str
    device_id: str | None
    event_entity_id: str | None
    options: dict[str, Any]
    _unsaved: bool

    def _save(self) -> None:
        raise NotImplementedError

    def _notify(self) -> None:
        raise NotImplementedError

    # -- actions -----------------------------------------------------------------------------

    def start_night(self) -> None:
        """Start a new night now (a running night ends first)."""
        self.journal.tally.start(dt_util.now())
        self._finish_nights()
        self._began_in_bed()
        self._save()
        self._notify()

    def end_night(self) -> bool:
        """End the running night now; return False when none is running."""
        if self.journal.tally.close(dt_util.now()) is None:
            return False
        self._finish_nights()
        self._save()
        self._notify()
        return True

    def log_caffeine(self, when: dt.datetime, mg: float) -> None:
        """Log a caffeine intake (``when`` is local time) and announce it."""
        intake = self.journal.lifestyle.log_caffeine(when, mg)
        late = intake.when.timetz().replace(tzinfo=None) >= caffeine_cutoff(self.options)
        self._lifestyle_logged(
            BedNotice.CAFFEINE_LOGGED,
            {"mg": intake.mg, "time": intake.when.isoformat(), "late": late},
        )

    def log_exercise(self, when: dt.datetime, minutes: float, intensity: Intensity) -> None:
        """Log an exercise session (``when`` is local time) and announce it."""
        session = self.journal.lifestyle.log_exercise(when, minutes, intensity)
        self._lifestyle_logged(
            BedNotice.EXERCISE_LOGGED,
            {
                "minutes": session.minutes,
                "intensity": session.intensity.value,
                "time": session.when.isoformat(),
            },
        )

    def _lifestyle_logged(self, kind: BedNotice, data: dict[str, Any]) -> None:
        self.journal.lifestyle.prune(dt_util.now())
        self.journal.changed()  # saves the lifestyle log shortly
        self._announce(kind.value, data)
        self._notify()

    # -- nights ------------------------------------------------------------------------------

    def _finish_nights(self) -> None:
        """File the nights the tally closed: record, report, statistics, event, repairs."""
        for record in self.journal.tally.pop_finished():
            self._file_night(record)

    def _file_night(self, record: NightRecord) -> None:
        journal = self.journal
        if journal.log.open_since is not None:  # the night ended with someone in bed
            journal.log.cut(self._stream_s(record.ended), self.detector.stream, record.ended)
        journal.finish(record, self.sensor_id)
        self._began_in_bed()
        tally = journal.tally
        self._unsaved = True
        self.hass.async_create_task(
            async_add_night_statistics(
                self.hass,
                slugify(self.sensor_id),
                self.entry.title,
                record,
                tally.window.start,
            ),
            eager_start=False,
        )
        async_update_night_issues(self.hass, self.entry, journal.history)
        self._announce(
            BedNotice.NIGHT_ENDED.value,
            {
                "night": record.night.isoformat(),
                "twitches": record.twitch_count,
                "twitches_per_hour": shown(record.twitches_per_hour),
                "plm_index": shown(record.plm_index),
                "time_in_bed": round(record.hours_in_bed, 2),
            },
        )

    def _stream_end_s(self) -> float:
        """Return the current stream's time (seconds) of its latest sample: now."""
        stream = self.detector.stream
        return (stream.segment_start + stream.samples_seen) / stream.fs_hz if stream else 0.0

    def _stream_s(self, when: dt.datetime) -> float:
        """Return the current stream's time (seconds) of wall-clock time ``when``."""
        return self._stream_end_s() - (dt_util.utcnow() - when).total_seconds()

    def _wall_time(self, stream_s: float) -> dt.datetime:
        """Return the wall-clock time (UTC) of the current stream's time ``stream_s``."""
        return dt_util.utcnow() - dt.timedelta(seconds=self._stream_end_s() - stream_s)

    def _announce(self, kind: str, data: dict[str, Any]) -> None:
        """Fire the bus event of a detection, a bed change or a notice.

        It names the bed's device (device triggers) and its event entity (so that entity's
        logbook shows the detailed line).
        """
        names = {ATTR_DEVICE_ID: self.device_id, ATTR_TYPE: kind}
        if self.event_entity_id is not None:
            names[ATTR_ENTITY_ID] = self.event_entity_id
        self.hass.bus.async_fire(EVENT_BED, {**names, **data})

    def _began_in_bed(self) -> None:
        """Open an in-bed interval in tonight's log when the night began with someone in bed."""
        tally, log = self.journal.tally, self.journal.log
        if not tally.counting or tally.in_bed_since is None:
            return
        stream = self.detector.stream
        if stream is not None:
            log.anchor(stream, self._wall_time(0.0))
        log.entered(self._stream_s(tally.in_bed_since), stream, tally.in_bed_since)
