"""Tonight's counters: which night a moment belongs to, and what happened in it.

A night is the time in bed that starts inside the night window (local time, e.g. 18:00-12:00). It
is named after the date on which its window opened, so midnight changes nothing: an event at 23:59
and one at 00:01 belong to the same night. The counters reset only when a new night starts, i.e.
on getting into bed (or being in bed) inside the next night's window; an evening with no bed time
leaves last night's counters showing. Time in bed outside any night's window (a nap) is not
counted, and neither is what happens in it.

The tally is plain data, saved to and restored from Home Assistant's storage, so a restart in the
middle of the night continues the same counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .const import BedEventType

_COUNTED = (
    BedEventType.TWITCH,
    BedEventType.HYPNIC_JERK,
    BedEventType.LIMB_MOVEMENT,
    BedEventType.GROSS_MOVEMENT,
)


@dataclass(frozen=True, slots=True)
class ClockWindow:
    """A daily window of local clock times; ``start`` may be after ``end`` (overnight).

    The night window (nights start inside it) and the quiet hours are both such windows.
    """

    start: dt.time
    end: dt.time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("a clock window must not start and end at the same time")

    @classmethod
    def parse(cls, start: str, end: str) -> ClockWindow:
        """Build from ``HH:MM[:SS]`` strings."""
        return cls(dt.time.fromisoformat(start), dt.time.fromisoformat(end))

    def night_of(self, when: dt.datetime) -> dt.date | None:
        """Return the night (the date its window opened) that local time ``when`` falls in.

        None outside the window (daytime).
        """
        clock, day = when.timetz().replace(tzinfo=None), when.date()
        if self.start < self.end:
            return day if self.start <= clock < self.end else None
        if clock >= self.start:
            return day
        if clock < self.end:
            return day - dt.timedelta(days=1)
        return None

    def contains(self, when: dt.datetime) -> bool:
        """Whether local time ``when`` is inside the window."""
        return self.night_of(when) is not None


@dataclass(slots=True)
class NightTally:
    """The counters of the current (or most recent) night.

    Times are timezone-aware; the window is applied in the time zone each time carries, so pass
    local times (Home Assistant's ``dt_util.as_local``).
    """

    window: ClockWindow
    night: dt.date | None = None
    counts: dict[BedEventType, int] = field(default_factory=lambda: dict.fromkeys(_COUNTED, 0))
    plm_movements: int = 0  # limb movements that are part of a PLM series
    in_bed_s: float = 0.0  # closed intervals of tonight
    in_bed_since: dt.datetime | None = None  # open interval (counted towards tonight or not)
    counting: bool = False  # whether the open interval belongs to tonight
    last_twitch: dt.datetime | None = None
    _series_counted: int = 0  # members of the running PLM series already counted

    # -- bed state ---------------------------------------------------------------------------

    def got_into_bed(self, when: dt.datetime) -> bool:
        """Note a bed entry; return whether it started a new night (counters were reset)."""
        if self.in_bed_since is not None:
            return False
        started = self._maybe_new_night(when)
        self.in_bed_since = when
        self.counting = self.night is not None and self.window.night_of(when) == self.night
        return started

    def got_out_of_bed(self, when: dt.datetime) -> None:
        """Note a bed exit."""
        if self.in_bed_since is None:
            return
        if self.counting:
            self.in_bed_s += max(0.0, (when - self.in_bed_since).total_seconds())
        self.in_bed_since = None
        self.counting = False

    def tick(self, now: dt.datetime) -> bool:
        """Let time pass; return whether a new night started (in bed as its window opened)."""
        return self._roll_over(now)

    # -- events ------------------------------------------------------------------------------

    def movement(self, kind: BedEventType, when: dt.datetime) -> bool:
        """Count a movement at ``when`` if it belongs to tonight; return whether it was counted."""
        self._roll_over(when)
        if not self.counting:
            return False
        self.counts[kind] += 1
        if kind is BedEventType.TWITCH and (self.last_twitch is None or when > self.last_twitch):
            self.last_twitch = when
        return True

    def plm_progress(self, members: int, when: dt.datetime) -> None:
        """Note that the running PLM series has ``members`` limb movements (0: none running)."""
        self._roll_over(when)
        if members == 0:
            self._series_counted = 0
            return
        if self.counting and members > self._series_counted:
            self.plm_movements += members - self._series_counted
        self._series_counted = max(self._series_counted, members)

    # -- read-outs ---------------------------------------------------------------------------

    def time_in_bed_s(self, now: dt.datetime) -> float:
        """Seconds in bed tonight up to ``now``."""
        open_s = 0.0
        if self.counting and self.in_bed_since is not None:
            open_s = max(0.0, (now - self.in_bed_since).total_seconds())
        return self.in_bed_s + open_s

    def plm_index(self, now: dt.datetime) -> float | None:
        """Limb movements in PLM series per hour in bed tonight; None before 30 min in bed."""
        hours = self.time_in_bed_s(now) / 3600.0
        if hours < 0.5:
            return None
        return self.plm_movements / hours

    # -- persistence -------------------------------------------------------------------------

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-safe form for Home Assistant's storage."""
        return {
            "night": self.night.isoformat() if self.night else None,
            "counts": {kind.value: n for kind, n in self.counts.items()},
            "plm_movements": self.plm_movements,
            "series_counted": self._series_counted,
            "in_bed_s": self.in_bed_s,
            "in_bed_since": _iso(self.in_bed_since),
            "counting": self.counting,
            "last_twitch": _iso(self.last_twitch),
        }

    @classmethod
    def from_dict(cls, window: ClockWindow, data: dict[str, Any]) -> NightTally:
        """Rebuild from :meth:`as_dict` (unknown or missing fields fall back to empty)."""
        tally = cls(window)
        night = data.get("night")
        tally.night = dt.date.fromisoformat(night) if isinstance(night, str) else None
        counts = data.get("counts")
        if isinstance(counts, dict):
            for kind in _COUNTED:
                value = counts.get(kind.value, 0)
                tally.counts[kind] = value if isinstance(value, int) else 0
        tally.plm_movements = int(data.get("plm_movements", 0))
        tally._series_counted = int(data.get("series_counted", 0))
        tally.in_bed_s = float(data.get("in_bed_s", 0.0))
        tally.in_bed_since = _from_iso(data.get("in_bed_since"))
        tally.counting = bool(data.get("counting", False)) and tally.in_bed_since is not None
        tally.last_twitch = _from_iso(data.get("last_twitch"))
        return tally

    # -- internals ---------------------------------------------------------------------------

    def _maybe_new_night(self, when: dt.datetime) -> bool:
        night = self.window.night_of(when)
        if night is None or night == self.night:
            return False
        self.night = night
        self.counts = dict.fromkeys(_COUNTED, 0)
        self.plm_movements = 0
        self.in_bed_s = 0.0
        self.last_twitch = None
        return True

    def _roll_over(self, when: dt.datetime) -> bool:
        """Someone in bed when a new night's window opens: tonight starts now."""
        if self.in_bed_since is None:
            return False
        night = self.window.night_of(when)
        if night is None or night == self.night:
            return False
        self._maybe_new_night(when)
        self.in_bed_since = when
        self.counting = True
        return True


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _from_iso(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None
