"""Tonight's counters: which night a moment belongs to, and what happened in it.

A night is the time in bed that starts inside the night window (local time, e.g. 18:00-12:00). It
is named after the date on which its window opened, so midnight changes nothing: an event at 23:59
and one at 00:01 belong to the same night. The counters reset only when a new night starts, i.e.
on getting into bed (or being in bed) inside the next night's window; an evening with no bed time
leaves last night's counters showing. Time in bed outside any night's window (a nap) is not
counted, and neither is what happens in it.

A night ends (its :class:`~.history.NightRecord` is handed out once, through
:meth:`NightTally.pop_finished`) when its window has closed with nobody counted in bed, when the
next night starts, or when :meth:`NightTally.close` is called (the ``end_night`` action). The
``start_night`` action starts a night at any time (:meth:`NightTally.start`); such a night ends
only by ``end_night`` or the next night.

The tally is plain data, saved to and restored from Home Assistant's storage, so a restart in the
middle of the night continues the same counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .const import BedEventType
from .history import NightRecord

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
    first_in_bed: dt.datetime | None = None  # tonight's first counted bed entry
    frames: int = 0  # frames received while counted in bed tonight
    clipped_frames: int = 0  # of those, frames that clipped
    ended: bool = False  # tonight is over (its record was handed out)
    forced: bool = False  # started by the start_night action: ends only by end_night or next night
    _series_counted: int = 0  # members of the running PLM series already counted
    _finished: list[NightRecord] = field(default_factory=list)  # handed out by pop_finished

    # -- bed state ---------------------------------------------------------------------------

    def got_into_bed(self, when: dt.datetime) -> bool:
        """Note a bed entry; return whether it started a new night (counters were reset)."""
        if self.in_bed_since is not None:
            return False
        started = self._maybe_new_night(when)
        self.in_bed_since = when
        self.counting = (
            self.night is not None
            and not self.ended
            and (self.forced or self.window.night_of(when) == self.night)
        )
        if self.counting and self.first_in_bed is None:
            self.first_in_bed = when
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
        """Let time pass; return whether a night started or ended.

        A night started when someone is in bed as the next window opens; a night ended when its
        window has closed and nobody is counted in bed.
        """
        if self._roll_over(now):
            return True
        if self.night is None or self.ended or self.forced or self.counting:
            return False
        if self.window.night_of(now) == self.night:
            return False
        self.close(now)
        return True

    def frame(self, clipped: bool) -> None:
        """Count a received frame (only while counted in bed tonight)."""
        if self.counting:
            self.frames += 1
            self.clipped_frames += clipped

    # -- overrides (actions) -----------------------------------------------------------------

    def start(self, now: dt.datetime) -> None:
        """Start a new night now, whatever the window says (the ``start_night`` action).

        A running night ends first. The new night is named after the window's night at ``now``,
        or after today outside the window; someone in bed is counted from ``now``.
        """
        self.close(now)
        self._reset(self.window.night_of(now) or now.date())
        self.forced = True
        if self.in_bed_since is not None:
            self.in_bed_since = now
            self.counting = True
            self.first_in_bed = now

    def close(self, now: dt.datetime) -> NightRecord | None:
        """End tonight now (the ``end_night`` action, or its window closed); return its record.

        The record is also queued for :meth:`pop_finished`. Someone still in bed stays in bed but
        is no longer counted. None when no night is running.
        """
        if self.night is None or self.ended:
            return None
        if self.counting and self.in_bed_since is not None:
            self.in_bed_s += max(0.0, (now - self.in_bed_since).total_seconds())
            self.in_bed_since = now
        self.counting = False
        self.ended = True
        record = NightRecord(
            night=self.night,
            first_in_bed=self.first_in_bed,
            ended=now,
            twitch_count=self.counts[BedEventType.TWITCH],
            hypnic_jerk_count=self.counts[BedEventType.HYPNIC_JERK],
            limb_movement_count=self.counts[BedEventType.LIMB_MOVEMENT],
            gross_movement_count=self.counts[BedEventType.GROSS_MOVEMENT],
            plm_movements=self.plm_movements,
            time_in_bed_s=self.in_bed_s,
            frames=self.frames,
            clipped_frames=self.clipped_frames,
        )
        self._finished.append(record)
        return record

    def pop_finished(self) -> list[NightRecord]:
        """Return the nights that ended since the last call (oldest first)."""
        finished, self._finished = self._finished, []
        return finished

    @property
    def running(self) -> bool:
        """Whether a night is running (started and not ended)."""
        return self.night is not None and not self.ended

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
            "first_in_bed": _iso(self.first_in_bed),
            "frames": self.frames,
            "clipped_frames": self.clipped_frames,
            "ended": self.ended,
            "forced": self.forced,
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
        tally.first_in_bed = _from_iso(data.get("first_in_bed"))
        tally.frames = int(data.get("frames", 0))
        tally.clipped_frames = int(data.get("clipped_frames", 0))
        tally.ended = bool(data.get("ended", False))
        tally.forced = bool(data.get("forced", False))
        return tally

    # -- internals ---------------------------------------------------------------------------

    def _maybe_new_night(self, when: dt.datetime) -> bool:
        night = self.window.night_of(when)
        if night is None or night == self.night:
            return False
        self.close(when)
        self._reset(night)
        return True

    def _reset(self, night: dt.date) -> None:
        self.night = night
        self.counts = dict.fromkeys(_COUNTED, 0)
        self.plm_movements = 0
        self.in_bed_s = 0.0
        self.last_twitch = None
        self.first_in_bed = None
        self.frames = self.clipped_frames = 0
        self.ended = self.forced = False
        self.counting = False

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
        self.first_in_bed = when
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
