"""Tonight's detections as a night report: the same JSON the detector's command line prints.

The log keeps what the detector reported during a night (movements, finished PLM series, in-bed
intervals) in seconds from one origin: the first sample of the detector stream that first
contributed to the night. Items from that stream keep the stream's exact sample times, so a night
played from the start of a recording gives the report ``python -m detector analyze --json`` gives
for the recording; items from a later stream (a sensor reboot, a Home Assistant restart) are placed
by the wall clock. The report adds ``bed``, ``night`` and ``start`` (the origin's time) to the
command line's keys (``events``, ``plm_series``, ``in_bed``, ``summary``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .detector.events import BedInterval, Event, EventType
from .detector.night import NightSummary
from .detector.plm import PlmSeries


@dataclass(slots=True)
class NightLog:
    """The detections of one night, in seconds from the night's origin.

    Parameters
    ----------
    origin : datetime.datetime or None
        UTC time of the origin (set by the first item).
    """

    origin: dt.datetime | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    plm_series: list[tuple[float, float, int]] = field(default_factory=list)
    in_bed: list[tuple[float, float]] = field(default_factory=list)
    open_since: float | None = None  # the in-bed interval that has started and not ended
    _origin_stream: object = None  # the stream whose sample 0 is the origin (not saved)

    def anchor(self, stream: object, sample0_at: dt.datetime) -> None:
        """Note a stream and the UTC time of its sample 0; the first one noted is the origin."""
        if self.origin is None:
            self.origin, self._origin_stream = sample0_at, stream

    def event(self, event: Event, stream: object, at: dt.datetime) -> None:
        """Log a movement the night counted; ``at`` is its wall-clock onset (UTC)."""
        entry = event.as_json()
        entry["onset"] = round(self._seconds(event.onset_s, stream, at), 3)
        self.events.append(entry)

    def series(self, series: PlmSeries, stream: object, onset_at: dt.datetime) -> None:
        """Log a finished PLM series; ``onset_at`` is the wall-clock time of its first onset."""
        onset = self._seconds(series.onset, stream, onset_at)
        self.plm_series.append((onset, onset + series.duration_s, series.count))

    def interval(self, interval: BedInterval, stream: object, end_at: dt.datetime) -> None:
        """Log the end of the open in-bed interval; ``end_at`` is its wall-clock end (UTC).

        Ignored when no interval is open (its entry belongs to no night).
        """
        if self.open_since is not None:
            self.in_bed.append((self.open_since, self._seconds(interval.end_s, stream, end_at)))
            self.open_since = None

    def entered(self, stream_s: float, stream: object, at: dt.datetime) -> None:
        """Note a bed entry (its interval is logged when it ends, or by :meth:`cut`)."""
        self.open_since = self._seconds(stream_s, stream, at)

    def cut(self, stream_s: float, stream: object, at: dt.datetime) -> None:
        """End the open in-bed interval here (the night ends with someone in bed)."""
        if self.open_since is not None:
            self.in_bed.append((self.open_since, self._seconds(stream_s, stream, at)))
            self.open_since = None

    def report(self, bed: str, night: dt.date) -> dict[str, Any]:
        """Return the night report (the command line's JSON plus ``bed``, ``night``, ``start``)."""
        in_bed = self.in_bed
        counts = Counter(EventType(event["type"]) for event in self.events)
        summary = NightSummary.from_counts(
            counts,
            sum(count for _, _, count in self.plm_series),
            float(sum(end - onset for onset, end in in_bed)),
        )
        return {
            "bed": bed,
            "night": night.isoformat(),
            "start": self.origin.isoformat() if self.origin else None,
            "events": sorted(self.events, key=lambda e: float(e["onset"])),
            "plm_series": [
                {"onset": round(onset, 3), "end": round(end, 3), "count": count}
                for onset, end, count in sorted(self.plm_series)
            ],
            "in_bed": [
                {"onset": round(onset, 3), "end": round(end, 3)} for onset, end in sorted(in_bed)
            ],
            "summary": summary.as_json(),
        }

    def _seconds(self, stream_s: float, stream: object, at: dt.datetime) -> float:
        if self.origin is None:
            return 0.0
        if stream is self._origin_stream:
            return stream_s
        return (at - self.origin).total_seconds()

    # -- persistence -------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-safe form."""
        return {
            "origin": self.origin.isoformat() if self.origin else None,
            "events": self.events,
            "plm_series": [list(s) for s in self.plm_series],
            "in_bed": [list(i) for i in self.in_bed],
            "open_since": self.open_since,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NightLog:
        """Rebuild from :meth:`as_dict`, skipping broken items."""
        log = cls()
        origin = data.get("origin")
        if isinstance(origin, str):
            try:
                log.origin = dt.datetime.fromisoformat(origin)
            except ValueError:
                return cls()
        for event in data.get("events") or []:
            if isinstance(event, dict) and event.get("type") in set(EventType):
                log.events.append(event)
        for item in data.get("plm_series") or []:
            if isinstance(item, list) and len(item) == 3:
                log.plm_series.append((float(item[0]), float(item[1]), int(item[2])))
        for item in data.get("in_bed") or []:
            if isinstance(item, list) and len(item) == 2:
                log.in_bed.append((float(item[0]), float(item[1])))
        open_since = data.get("open_since")
        log.open_since = float(open_since) if isinstance(open_since, (int, float)) else None
        return log
