"""What a bed remembers across restarts: tonight, the finished nights, the lifestyle log.

Three stores per bed in Home Assistant's ``.storage``, each written at its own pace:

- ``sleep_myoclonus.<entry id>``: tonight's counters and detections and the twitch rate's last
  hour (at most every minute while they change, see the bed's periodic update);
- ``....nights``: the records of finished nights and the lifestyle log (when either changes);
- ``....reports``: the full reports of the last nights for ``export_night`` (when a night ends).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN, STORE_VERSION
from .detector.rate import RollingTwitchRate
from .history import KEEP_NIGHTS, NightRecord, records_from_json, shown
from .lifestyle import (
    Comparison,
    LifestyleLog,
    bedtime_regularity,
    caffeine_comparison,
    exercise_comparison,
)
from .night import ClockWindow, NightTally
from .nightlog import NightLog

KEEP_REPORTS: Final = 7  # nights whose full report export_night can write
CHANGE_SAVE_DELAY_S: Final = 1.0  # nights and reports: written a moment after they change


def journal_stores(hass: HomeAssistant, entry_id: str) -> tuple[Store[Any], Store[Any], Store[Any]]:
    """Return a bed's three stores: tonight, finished nights and lifestyle, night reports."""
    key = f"{DOMAIN}.{entry_id}"
    return (
        Store(hass, STORE_VERSION, key),
        Store(hass, STORE_VERSION, f"{key}.nights"),
        Store(hass, STORE_VERSION, f"{key}.reports"),
    )


class BedJournal:
    """A bed's remembered state and its storage.

    Parameters
    ----------
    hass : HomeAssistant
        The instance whose storage is used.
    entry_id : str
        The bed's config entry.
    window : ClockWindow
        The night window.
    """

    def __init__(self, hass: HomeAssistant, entry_id: str, window: ClockWindow) -> None:
        self.store, self.nights_store, self.report_store = journal_stores(hass, entry_id)
        self.tally = NightTally(window)
        self.rate = RollingTwitchRate()
        self.log = NightLog()
        self.history: list[NightRecord] = []
        self.reports: dict[str, dict[str, Any]] = {}  # night (ISO date) -> report
        self.lifestyle = LifestyleLog()
        self.revision = 0  # counts changes of history and lifestyle log (views are cached on it)
        self._views: tuple[int, dt.time, LifestyleViews] | None = None

    def changed(self) -> None:
        """Note a change of the history or the lifestyle log (and save them shortly)."""
        self.revision += 1
        self.nights_store.async_delay_save(self._nights_stored, CHANGE_SAVE_DELAY_S)

    def views(self, cutoff: dt.time) -> LifestyleViews:
        """Return the lifestyle read-outs (recomputed only after a change)."""
        if self._views is None or self._views[:2] != (self.revision, cutoff):
            self._views = (self.revision, cutoff, LifestyleViews.compute(self, cutoff))
        return self._views[2]

    async def async_load(self) -> dt.datetime | None:
        """Restore everything saved; return when the bed was last running (None: never)."""
        reports = await self.report_store.async_load()
        if isinstance(reports, dict):
            self.reports = {
                night: report for night, report in reports.items() if isinstance(report, dict)
            }
        nights = await self.nights_store.async_load()
        if isinstance(nights, dict):
            self.history = records_from_json(nights.get("history") or [])
            lifestyle = nights.get("lifestyle")
            if isinstance(lifestyle, dict):
                self.lifestyle = LifestyleLog.from_dict(lifestyle)
        stored = await self.store.async_load()
        if not isinstance(stored, dict):
            return None
        tally = stored.get("tally")
        if isinstance(tally, dict):
            self.tally = NightTally.from_dict(self.tally.window, tally)
        rate = stored.get("rate")
        if isinstance(rate, dict):  # the last hour's twitches: no "unknown" rate after a restart
            self.rate = RollingTwitchRate.from_json(rate)
        log = stored.get("log")
        if isinstance(log, dict):
            self.log = NightLog.from_dict(log)
        # saved by every write; a store without it (hand-edited) counts as saved just now
        return dt_util.parse_datetime(str(stored.get("last_seen", ""))) or dt_util.utcnow()

    def finish(self, record: NightRecord, bed: str) -> dict[str, Any]:
        """File a finished night: its record, its report; tonight's log starts over.

        Returns
        -------
        dict
            The night's report (see :meth:`~.nightlog.NightLog.report`).
        """
        report = self.log.report(bed, record.night)
        self.log = NightLog()
        self.history = [r for r in self.history if r.night != record.night] + [record]
        self.history = sorted(self.history, key=lambda r: r.night)[-KEEP_NIGHTS:]
        self.reports[record.night.isoformat()] = report
        for night in sorted(self.reports)[:-KEEP_REPORTS]:
            del self.reports[night]
        self.report_store.async_delay_save(lambda: self.reports, CHANGE_SAVE_DELAY_S)
        self.changed()
        return report

    def report(self, night: dt.date | None, bed: str) -> dict[str, Any] | None:
        """Return a night's report: a kept finished night, or tonight's so far.

        Without ``night``: tonight's while a night runs, else the last finished night's.
        """
        tally = self.tally
        if night is None:
            if tally.running and tally.night is not None:
                return self.log.report(bed, tally.night)
            return self.reports[max(self.reports)] if self.reports else None
        if tally.running and tally.night == night:
            return self.log.report(bed, night)
        return self.reports.get(night.isoformat())

    def nights_available(self) -> list[str]:
        """Return the nights a report can be written for (ISO dates)."""
        nights = set(self.reports)
        if self.tally.running and self.tally.night is not None:
            nights.add(self.tally.night.isoformat())
        return sorted(nights)

    def save(self) -> None:
        """Schedule a write of tonight's counters and detections."""
        self.store.async_delay_save(self.stored, 0)

    def stored(self) -> dict[str, Any]:
        """Return what is saved in the main store (tonight)."""
        return {
            "tally": self.tally.as_dict(),
            "rate": self.rate.to_json(),
            "log": self.log.as_dict(),
            "last_seen": dt_util.utcnow().isoformat(),
        }

    def _nights_stored(self) -> dict[str, Any]:
        return {
            "history": [record.as_dict() for record in self.history],
            "lifestyle": self.lifestyle.as_dict(),
        }

    async def async_save_now(self) -> None:
        """Write all three stores now (unload): what changed a moment ago is not lost."""
        await self.store.async_save(self.stored())
        await self.nights_store.async_save(self._nights_stored())
        await self.report_store.async_save(self.reports)


@dataclass(frozen=True, slots=True)
class LifestyleViews:
    """What the lifestyle sensors show, computed from the history and the lifestyle log."""

    bedtime_spread_min: float | None
    late_caffeine: Comparison
    exercise: Comparison

    @classmethod
    def compute(cls, journal: BedJournal, cutoff: dt.time) -> LifestyleViews:
        """Compute from a journal (bedtimes over the 7 nights up to the last finished one)."""
        history = journal.history
        spread = bedtime_regularity(history, history[-1].night) if history else None
        return cls(
            bedtime_spread_min=shown(spread),
            late_caffeine=caffeine_comparison(history, journal.lifestyle, cutoff),
            exercise=exercise_comparison(history, journal.lifestyle),
        )
