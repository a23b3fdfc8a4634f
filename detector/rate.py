"""The live twitch rate: twitches per hour in bed over the last hour.

A night's summary divides by the whole time in bed; a live display wants what is happening now.
:class:`RollingTwitchRate` follows a stream's output and answers "twitches per hour in bed, over
the last hour" at any moment. Twitches are counted in one-minute buckets, so its memory stays the
same however restless the night (the count is exact to the minute); time in bed is exact.
"""

from __future__ import annotations

import math
from typing import Any

from .events import Event, EventType
from .stream import BedChange, StreamOutput

__all__ = ["RollingTwitchRate"]


class RollingTwitchRate:
    """Twitches per hour in bed over a sliding window, fed in stream order.

    Parameters
    ----------
    window_s : float, optional
        Length of the window (one hour).
    bucket_s : float, optional
        Resolution of the twitch count.
    min_in_bed_s : float, optional
        Time in bed the window must hold before a rate is given (too little time in bed makes a
        rate of noise: one twitch in the first minute is not 60 per hour).

    Examples
    --------
    >>> rate = RollingTwitchRate()
    >>> rate.bed(True, 0.0)
    >>> for onset in (100.0, 700.0, 1300.0):
    ...     rate.twitch(onset)
    >>> rate.rate(1800.0)  # 3 twitches in half an hour in bed
    6.0
    >>> rate.rate(300.0) is None  # only 5 minutes in bed so far
    True
    """

    __slots__ = ("_buckets", "_spans", "bucket_s", "min_in_bed_s", "window_s")

    def __init__(
        self, window_s: float = 3600.0, bucket_s: float = 60.0, min_in_bed_s: float = 600.0
    ) -> None:
        if not 0 < bucket_s <= window_s:
            raise ValueError("bucket_s must be positive and at most window_s")
        self.window_s = window_s
        self.bucket_s = bucket_s
        self.min_in_bed_s = min_in_bed_s
        self._buckets: dict[int, int] = {}  # bucket index -> twitches
        self._spans: list[list[float]] = []  # [start, end] in bed; end is inf while in bed

    def twitch(self, onset_s: float) -> None:
        """Count a twitch (stream seconds)."""
        key = math.floor(onset_s / self.bucket_s)
        self._buckets[key] = self._buckets.get(key, 0) + 1

    def bed(self, in_bed: bool, at_s: float) -> None:
        """Note getting into (``True``) or out of bed at ``at_s``."""
        open_span = bool(self._spans) and math.isinf(self._spans[-1][1])
        if in_bed and not open_span:
            self._spans.append([at_s, math.inf])
        elif not in_bed and open_span:
            self._spans[-1][1] = at_s

    def consume(self, output: StreamOutput) -> None:
        """Take a stream output's twitches and bed changes."""
        for item in output.items:
            if isinstance(item, Event) and item.type is EventType.TWITCH:
                self.twitch(item.onset_s)
            elif isinstance(item, BedChange):
                self.bed(item.in_bed, item.time_s)

    def to_json(self) -> dict[str, Any]:
        """Return the state as JSON-safe data, to outlive a restart (see :meth:`from_json`).

        Examples
        --------
        >>> rate = RollingTwitchRate()
        >>> rate.bed(True, 0.0)
        >>> rate.twitch(100.0)
        >>> RollingTwitchRate.from_json(rate.to_json()).rate(900.0) == rate.rate(900.0)
        True
        """
        return {
            "buckets": [[key, count] for key, count in sorted(self._buckets.items())],
            "spans": [[begin, None if math.isinf(end) else end] for begin, end in self._spans],
        }

    @classmethod
    def from_json(
        cls,
        data: dict[str, Any],
        window_s: float = 3600.0,
        bucket_s: float = 60.0,
        min_in_bed_s: float = 600.0,
    ) -> RollingTwitchRate:
        """Rebuild from :meth:`to_json` (same ``bucket_s``); malformed parts are left out."""
        rate = cls(window_s, bucket_s, min_in_bed_s)
        for item in data.get("buckets") or []:
            if isinstance(item, list) and len(item) == 2 and all(isinstance(v, int) for v in item):
                rate._buckets[item[0]] = item[1]
        for item in data.get("spans") or []:
            if isinstance(item, list) and len(item) == 2 and isinstance(item[0], int | float):
                end = item[1]
                rate._spans.append([float(item[0]), math.inf if end is None else float(end)])
        return rate

    def rate(self, now_s: float) -> float | None:
        """Return twitches per hour in bed over the window ending at ``now_s``.

        None while the window holds less than ``min_in_bed_s`` in bed. Forgets what has left
        the window, so call it with a clock that does not go back.
        """
        start = now_s - self.window_s
        first_bucket = math.floor(start / self.bucket_s)
        for key in [k for k in self._buckets if k < first_bucket]:
            del self._buckets[key]
        self._spans = [span for span in self._spans if span[1] > start]
        in_bed_s = sum(max(0.0, min(end, now_s) - max(begin, start)) for begin, end in self._spans)
        if in_bed_s < self.min_in_bed_s:
            return None
        last_bucket = math.floor(now_s / self.bucket_s)
        count = sum(n for k, n in self._buckets.items() if k <= last_bucket)
        return count * 3600.0 / in_bed_s
