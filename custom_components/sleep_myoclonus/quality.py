"""Signal quality: the share of the last minutes' samples that arrived and were not clipped.

A sample counts as good when it arrived (not lost in a gap) in a frame that did not clip (neither
the frame's ``clipped`` flag nor a sample at the ADC rails). Counts are kept per minute, so the
memory stays the same however long the sensor runs.
"""

from __future__ import annotations

import math


class SignalQuality:
    """Good samples over expected samples in a sliding window, fed in time order.

    Parameters
    ----------
    window_s : float
        Length of the window.
    bucket_s : float
        Resolution of the counts.
    """

    __slots__ = ("_buckets", "bucket_s", "window_s")

    def __init__(self, window_s: float = 600.0, bucket_s: float = 60.0) -> None:
        self.window_s = window_s
        self.bucket_s = bucket_s
        self._buckets: dict[int, list[int]] = {}  # bucket -> [expected, good]

    def frame(self, now_s: float, received: int, missing: int, clipped: bool) -> None:
        """Note a frame of ``received`` samples after ``missing`` lost ones, at ``now_s``."""
        key = math.floor(now_s / self.bucket_s)
        counts = self._buckets.get(key)
        if counts is None:
            counts = self._buckets[key] = [0, 0]
            oldest = key - math.ceil(self.window_s / self.bucket_s)
            for old in [k for k in self._buckets if k <= oldest]:
                del self._buckets[old]
        counts[0] += received + missing
        if not clipped:
            counts[1] += received

    def percent(self, now_s: float) -> float | None:
        """Return good samples in percent of expected ones over the window; None without data."""
        first = math.floor((now_s - self.window_s) / self.bucket_s)
        expected = good = 0
        for key, (n_expected, n_good) in self._buckets.items():
            if key > first:
                expected += n_expected
                good += n_good
        if expected == 0:
            return None
        return round(100.0 * good / expected, 1)
