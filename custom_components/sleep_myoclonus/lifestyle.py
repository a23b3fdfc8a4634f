"""Lifestyle tracking: caffeine and exercise logs, bedtime regularity, and how nights compare.

Everything here is plain data and arithmetic, with no Home Assistant imports. All datetimes are
timezone-aware and are read in the time zone they carry: "the local date" of an intake is
``when.date()``, its clock time ``when.time()``. Callers pass local times (Home Assistant's
``dt_util.as_local``), so a coffee at 23:30 counts on the evening it was drunk.

A night is named after the evening its window opened (:attr:`.history.NightRecord.night`), so the
caffeine and exercise of that date are the ones compared with the night that followed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from .history import NightRecord, last_nights, shown

MAX_CAFFEINE_MG: Final = 1000.0
MAX_EXERCISE_MINUTES: Final = 1440.0
KEEP_DAYS: Final = 90
MIN_BEDTIME_NIGHTS: Final = 3  # bedtime regularity needs at least this many bed entries
MIN_COMPARISON_NIGHTS: Final = 2  # each group of a comparison needs this many nights
COMPARISON_NIGHTS: Final = 30  # comparisons look at this many nights, up to the newest


class Intensity(StrEnum):
    """How hard an exercise session was."""

    LIGHT = "light"
    MODERATE = "moderate"
    VIGOROUS = "vigorous"


def _aware(when: dt.datetime) -> dt.datetime:
    if when.utcoffset() is None:
        raise ValueError(f"time {when.isoformat()} must be timezone-aware")
    return when


def _within(value: float, upper: float, what: str, unit: str) -> float:
    number = float(value)
    if not 0.0 < number <= upper:  # also refuses NaN and infinity
        raise ValueError(f"{what} must be more than 0 and at most {upper:g} {unit}, got {value!r}")
    return number


@dataclass(frozen=True, slots=True)
class CaffeineIntake:
    """One logged caffeine intake.

    Attributes
    ----------
    when : datetime.datetime
        When it was taken (timezone-aware, local).
    mg : float
        Caffeine in milligrams, in (0, 1000].
    """

    when: dt.datetime
    mg: float

    def __post_init__(self) -> None:
        _aware(self.when)
        object.__setattr__(self, "mg", _within(self.mg, MAX_CAFFEINE_MG, "caffeine", "mg"))


@dataclass(frozen=True, slots=True)
class ExerciseSession:
    """One logged exercise session.

    Attributes
    ----------
    when : datetime.datetime
        When it took place (timezone-aware, local).
    minutes : float
        Its duration in minutes, in (0, 1440].
    intensity : Intensity
        How hard it was.
    """

    when: dt.datetime
    minutes: float
    intensity: Intensity

    def __post_init__(self) -> None:
        _aware(self.when)
        minutes = _within(self.minutes, MAX_EXERCISE_MINUTES, "exercise duration", "minutes")
        object.__setattr__(self, "minutes", minutes)
        object.__setattr__(self, "intensity", _intensity(self.intensity))


def _intensity(value: object) -> Intensity:
    if isinstance(value, str) and value in Intensity:
        return Intensity(value)
    choices = ", ".join(member.value for member in Intensity)
    raise ValueError(f"exercise intensity must be one of {choices}, got {value!r}")


@dataclass(slots=True)
class LifestyleLog:
    """The logged caffeine intakes and exercise sessions of one person.

    Entries are kept in the order they were logged; every read-out goes by time, so late entries
    (logging yesterday's run today) are fine.
    """

    _caffeine: list[CaffeineIntake] = field(default_factory=list, init=False)
    _exercise: list[ExerciseSession] = field(default_factory=list, init=False)

    # -- logging -----------------------------------------------------------------------------

    def log_caffeine(self, when: dt.datetime, mg: float) -> CaffeineIntake:
        """Log ``mg`` (in (0, 1000]) milligrams of caffeine taken at aware local time ``when``.

        Raises
        ------
        ValueError
            If ``when`` is naive or ``mg`` is out of range (or not finite).
        """
        intake = CaffeineIntake(when, mg)
        self._caffeine.append(intake)
        return intake

    def log_exercise(
        self, when: dt.datetime, minutes: float, intensity: Intensity | str
    ) -> ExerciseSession:
        """Log ``minutes`` (in (0, 1440]) of exercise at aware local time ``when``.

        ``intensity`` is an :class:`Intensity` or its value (``light``, ``moderate``,
        ``vigorous``).

        Raises
        ------
        ValueError
            If ``when`` is naive, ``minutes`` is out of range or ``intensity`` is unknown.
        """
        session = ExerciseSession(when, minutes, _intensity(intensity))
        self._exercise.append(session)
        return session

    # -- read-outs ---------------------------------------------------------------------------

    @property
    def caffeine(self) -> tuple[CaffeineIntake, ...]:
        """All caffeine intakes, oldest first."""
        return tuple(sorted(self._caffeine, key=lambda intake: intake.when))

    @property
    def exercise(self) -> tuple[ExerciseSession, ...]:
        """All exercise sessions, oldest first."""
        return tuple(sorted(self._exercise, key=lambda session: session.when))

    def caffeine_on(self, day: dt.date) -> float:
        """Return the milligrams of caffeine taken on local date ``day``."""
        return math.fsum(intake.mg for intake in self._caffeine if intake.when.date() == day)

    def last_caffeine(self) -> CaffeineIntake | None:
        """Return the latest intake by time (not the last logged); None if there is none."""
        return max(self._caffeine, key=lambda intake: intake.when, default=None)

    def exercise_on(self, day: dt.date) -> float:
        """Return the minutes of exercise on local date ``day``."""
        return math.fsum(s.minutes for s in self._exercise if s.when.date() == day)

    def late_caffeine_on(self, day: dt.date, cutoff: dt.time) -> bool:
        """Whether any caffeine was taken on local date ``day`` at or after clock time ``cutoff``.

        Intakes after midnight belong to the next date, so they do not count for ``day``.
        """
        cutoff = cutoff.replace(tzinfo=None)
        return any(
            intake.when.date() == day and intake.when.time() >= cutoff for intake in self._caffeine
        )

    # -- upkeep ------------------------------------------------------------------------------

    def prune(self, now: dt.datetime, keep_days: int = KEEP_DAYS) -> int:
        """Drop entries older than ``keep_days`` days before ``now``; return how many went."""
        if keep_days <= 0:
            raise ValueError(f"keep_days must be positive, got {keep_days}")
        oldest = _aware(now) - dt.timedelta(days=keep_days)
        before = len(self._caffeine) + len(self._exercise)
        self._caffeine = [intake for intake in self._caffeine if intake.when >= oldest]
        self._exercise = [session for session in self._exercise if session.when >= oldest]
        return before - len(self._caffeine) - len(self._exercise)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-safe form for Home Assistant's storage."""
        return {
            "caffeine": [
                {"when": intake.when.isoformat(), "mg": intake.mg} for intake in self.caffeine
            ],
            "exercise": [
                {
                    "when": session.when.isoformat(),
                    "minutes": session.minutes,
                    "intensity": session.intensity.value,
                }
                for session in self.exercise
            ],
        }

    @classmethod
    def from_dict(cls, data: object) -> LifestyleLog:
        """Rebuild from :meth:`as_dict`; broken entries are skipped, never raises."""
        log = cls()
        if not isinstance(data, Mapping):
            return log
        for item in _items(data.get("caffeine")):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                log.log_caffeine(_stored_time(item["when"]), _stored_number(item["mg"]))
        for item in _items(data.get("exercise")):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                when, minutes = _stored_time(item["when"]), _stored_number(item["minutes"])
                log.log_exercise(when, minutes, item["intensity"])
        return log


def _items(value: object) -> Iterable[Mapping[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, Mapping))


def _stored_time(value: object) -> dt.datetime:
    if not isinstance(value, str):
        raise TypeError("a stored time must be an ISO string")
    return dt.datetime.fromisoformat(value)


def _stored_number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError("a stored amount must be a number")
    return float(value)


# -- bedtime regularity ----------------------------------------------------------------------


def _minutes_after_evening(record: NightRecord) -> float | None:
    """Local clock time of the first bed entry in minutes after the start of the night's date.

    Unwrapped relative to the night's evening: 23:50 on the night's date is 1430 and 00:10 the
    morning after is 1450 (not 10), so midnight does not split a cluster of bedtimes.
    """
    entry = record.first_in_bed
    if entry is None:
        return None
    clock = entry.time()
    days = (entry.date() - record.night).days
    seconds = clock.hour * 3600 + clock.minute * 60 + clock.second + clock.microsecond / 1e6
    return days * 1440.0 + seconds / 60.0


def bedtime_regularity(
    records: Sequence[NightRecord], night: dt.date, nights: int = 7
) -> float | None:
    """Spread of bedtimes: the population standard deviation of the first bed entries, in minutes.

    Parameters
    ----------
    records : Sequence[NightRecord]
        Finished nights, in any order.
    night : datetime.date
        The newest night of the window (named after its evening).
    nights : int
        Length of the window in nights, ending at ``night``.

    Returns
    -------
    float or None
        The population standard deviation (divide by n, not n - 1) of the local clock times of
        ``first_in_bed`` over the window's nights, each clock time unwrapped relative to its
        night's evening so 23:50 and 00:10 are 20 minutes apart. None when fewer than
        :data:`MIN_BEDTIME_NIGHTS` nights in the window have a bed entry.
    """
    times = [
        minutes
        for record in last_nights(records, night, nights)
        if (minutes := _minutes_after_evening(record)) is not None
    ]
    if len(times) < MIN_BEDTIME_NIGHTS:
        return None
    return statistics.pstdev(times)


# -- comparisons -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """Twitches per hour in bed on nights after a habit versus the other nights.

    Attributes
    ----------
    mean_with, mean_without : float or None
        Mean twitches per hour of the nights after the habit / of the other nights; None when
        the group is empty.
    nights_with, nights_without : int
        How many nights each group has.
    """

    mean_with: float | None
    nights_with: int
    mean_without: float | None
    nights_without: int

    @property
    def difference(self) -> float | None:
        """``mean_with - mean_without``; None unless both groups have at least 2 nights."""
        if self.mean_with is None or self.mean_without is None:
            return None
        if min(self.nights_with, self.nights_without) < MIN_COMPARISON_NIGHTS:
            return None
        return self.mean_with - self.mean_without

    def as_attributes(self) -> dict[str, float | int | None]:
        """Return the figures for a sensor's attributes, rates rounded to 0.1."""
        return {
            "mean_with": shown(self.mean_with),
            "nights_with": self.nights_with,
            "mean_without": shown(self.mean_without),
            "nights_without": self.nights_without,
            "difference": shown(self.difference),
        }


def _compare(
    records: Sequence[NightRecord],
    had_habit: Callable[[dt.date], bool],
    nights: int,
    until: dt.date | None,
) -> Comparison:
    until = until or max((record.night for record in records), default=None)
    window = last_nights(records, until, nights) if until is not None else []
    with_habit: list[float] = []
    without: list[float] = []
    for record in window:
        if (rate := record.twitches_per_hour) is not None:
            (with_habit if had_habit(record.night) else without).append(rate)
    return Comparison(
        mean_with=statistics.fmean(with_habit) if with_habit else None,
        nights_with=len(with_habit),
        mean_without=statistics.fmean(without) if without else None,
        nights_without=len(without),
    )


def caffeine_comparison(
    records: Sequence[NightRecord],
    log: LifestyleLog,
    cutoff: dt.time,
    nights: int = COMPARISON_NIGHTS,
    until: dt.date | None = None,
) -> Comparison:
    """Compare nights whose evening had late caffeine with the other nights.

    Parameters
    ----------
    records : Sequence[NightRecord]
        Finished nights, in any order; nights without time in bed are left out.
    log : LifestyleLog
        The caffeine log.
    cutoff : datetime.time
        Caffeine on the night's date at or after this clock time is late.
    nights : int
        How many nights to look at, ending at ``until``.
    until : datetime.date or None
        The newest night to look at; None for the newest record's night.

    Returns
    -------
    Comparison
        ``with``: nights after late caffeine; ``without``: all other nights.
    """
    return _compare(records, lambda day: log.late_caffeine_on(day, cutoff), nights, until)


def exercise_comparison(
    records: Sequence[NightRecord],
    log: LifestyleLog,
    nights: int = COMPARISON_NIGHTS,
    until: dt.date | None = None,
) -> Comparison:
    """Compare nights after a day with any exercise (``with``) with nights after rest days.

    Parameters are as for :func:`caffeine_comparison`, without the cutoff.
    """
    return _compare(records, lambda day: log.exercise_on(day) > 0, nights, until)
