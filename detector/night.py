"""Night aggregation: counts, rates and the PLM index over the time in bed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from .events import BedInterval, Event, EventType
from .plm import PlmSeries

__all__ = ["NightSummary", "summarize"]


@dataclass(frozen=True, slots=True)
class NightSummary:
    """Figures of one night (or one recording).

    Attributes
    ----------
    twitch_count : int
        Twitches in bed.
    twitches_per_hour : float
        Twitches per hour in bed.
    plm_index : float
        Limb movements that belong to a PLM series, per hour in bed.
    hypnic_jerk_count : int
        Hypnic jerks.
    limb_movement_count : int
        Limb movements (in a series or not).
    gross_movement_count : int
        Gross body movements.
    time_in_bed_s : float
        Total time in bed.
    """

    twitch_count: int
    twitches_per_hour: float
    plm_index: float
    hypnic_jerk_count: int
    limb_movement_count: int
    gross_movement_count: int
    time_in_bed_s: float

    @classmethod
    def from_counts(
        cls, counts: Mapping[EventType, int], plm_movements: int, time_in_bed_s: float
    ) -> NightSummary:
        """Build from movement counts by type, movements in PLM series and time in bed.

        Parameters
        ----------
        counts : Mapping of EventType to int
            Movements by type (missing types count 0).
        plm_movements : int
            Limb movements that belong to a PLM series.
        time_in_bed_s : float
            Total time in bed.

        Returns
        -------
        NightSummary
            Rates are per hour in bed; 0 when there was no time in bed.
        """
        hours = time_in_bed_s / 3600.0
        twitches = counts.get(EventType.TWITCH, 0)
        return cls(
            twitch_count=twitches,
            twitches_per_hour=twitches / hours if hours > 0 else 0.0,
            plm_index=plm_movements / hours if hours > 0 else 0.0,
            hypnic_jerk_count=counts.get(EventType.HYPNIC_JERK, 0),
            limb_movement_count=counts.get(EventType.LIMB_MOVEMENT, 0),
            gross_movement_count=counts.get(EventType.GROSS_MOVEMENT, 0),
            time_in_bed_s=time_in_bed_s,
        )

    def as_json(self) -> dict[str, Any]:
        """Return the JSON form, rates rounded to 0.01."""
        data = asdict(self)
        for key in ("twitches_per_hour", "plm_index", "time_in_bed_s"):
            data[key] = round(data[key], 2)
        return data


def summarize(
    events: Sequence[Event], series: Sequence[PlmSeries], in_bed: Sequence[BedInterval]
) -> NightSummary:
    """Aggregate one night.

    Parameters
    ----------
    events : sequence of Event
        Movement events (the detector only reports movements in bed).
    series : sequence of PlmSeries
        PLM series found among them.
    in_bed : sequence of BedInterval
        Times in bed.

    Returns
    -------
    NightSummary
        Rates are per hour in bed; 0 when there was no time in bed.
    """
    counts = Counter(event.type for event in events)
    time_in_bed = float(sum(interval.duration_s for interval in in_bed))
    return NightSummary.from_counts(counts, sum(s.count for s in series), time_in_bed)
