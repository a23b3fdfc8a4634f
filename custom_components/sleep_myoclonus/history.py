"""Finished nights: one record per night, kept for the history, the lifestyle view and repairs.

A record is written once, when its night ends (the night window closed with nobody in bed, the
next night started, or the ``end_night`` action). The last :data:`KEEP_NIGHTS` records are saved
with the bed's counters in Home Assistant's storage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

KEEP_NIGHTS: Final = 90


@dataclass(frozen=True, slots=True)
class NightRecord:
    """The figures of one finished night.

    Attributes
    ----------
    night : datetime.date
        The night's name: the date on which its window opened (local time).
    first_in_bed : datetime.datetime or None
        The night's first bed entry (timezone-aware); None when nobody was in bed.
    ended : datetime.datetime
        When the night was closed (timezone-aware).
    twitch_count, hypnic_jerk_count, limb_movement_count, gross_movement_count : int
        Movements counted in the night.
    plm_movements : int
        Limb movements that belong to a PLM series.
    time_in_bed_s : float
        Time in bed counted for the night.
    frames : int
        Frames received while the night was running.
    clipped_frames : int
        Of those, frames in which the signal clipped.
    """

    night: dt.date
    first_in_bed: dt.datetime | None
    ended: dt.datetime
    twitch_count: int
    hypnic_jerk_count: int
    limb_movement_count: int
    gross_movement_count: int
    plm_movements: int
    time_in_bed_s: float
    frames: int
    clipped_frames: int

    @property
    def hours_in_bed(self) -> float:
        """Time in bed in hours."""
        return self.time_in_bed_s / 3600.0

    @property
    def twitches_per_hour(self) -> float | None:
        """Twitches per hour in bed; None without time in bed."""
        hours = self.hours_in_bed
        return self.twitch_count / hours if hours > 0 else None

    @property
    def plm_index(self) -> float | None:
        """Limb movements in PLM series per hour in bed; None without time in bed."""
        hours = self.hours_in_bed
        return self.plm_movements / hours if hours > 0 else None

    @property
    def clipped_fraction(self) -> float | None:
        """Share of the night's frames that clipped; None without frames."""
        return self.clipped_frames / self.frames if self.frames else None

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-safe form."""
        data = asdict(self)
        data["night"] = self.night.isoformat()
        data["first_in_bed"] = self.first_in_bed.isoformat() if self.first_in_bed else None
        data["ended"] = self.ended.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NightRecord:
        """Rebuild from :meth:`as_dict` (KeyError, TypeError or ValueError if broken)."""
        first = data.get("first_in_bed")
        return cls(
            night=dt.date.fromisoformat(str(data["night"])),
            first_in_bed=dt.datetime.fromisoformat(first) if isinstance(first, str) else None,
            ended=dt.datetime.fromisoformat(str(data["ended"])),
            twitch_count=int(data["twitch_count"]),
            hypnic_jerk_count=int(data["hypnic_jerk_count"]),
            limb_movement_count=int(data["limb_movement_count"]),
            gross_movement_count=int(data["gross_movement_count"]),
            plm_movements=int(data["plm_movements"]),
            time_in_bed_s=float(data["time_in_bed_s"]),
            frames=int(data["frames"]),
            clipped_frames=int(data["clipped_frames"]),
        )


def shown(value: float | None) -> float | None:
    """Return a figure as the entities and events show it: to 0.1, None (unknown) as is."""
    return None if value is None else round(value, 1)


def records_from_json(items: Iterable[Any]) -> list[NightRecord]:
    """Rebuild stored records, skipping any that are broken; oldest first, one per night."""
    by_night: dict[dt.date, NightRecord] = {}
    for item in items:
        if not isinstance(item, Mapping):
            continue
        try:
            record = NightRecord.from_dict(item)
        except (KeyError, TypeError, ValueError):
            continue
        by_night[record.night] = record
    return [by_night[night] for night in sorted(by_night)][-KEEP_NIGHTS:]


def last_nights(records: Iterable[NightRecord], night: dt.date, count: int) -> list[NightRecord]:
    """Return the records among the ``count`` nights up to and including ``night``."""
    first = night - dt.timedelta(days=count - 1)
    return [r for r in records if first <= r.night <= night]
