"""Batch face of the detector: a whole recording in, events, series, bed intervals and summary out.

It feeds the recording through the same :class:`~detector.stream.Stream` the live path uses, in
fixed chunks, so batch and streaming results are the same by construction (and tested to be).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .config import DetectorConfig
from .events import BedInterval, Event
from .night import NightSummary, summarize
from .plm import PlmSeries
from .stream import Stream, StreamOutput

__all__ = ["AnalysisResult", "analyze"]

CHUNK_SAMPLES = 1 << 16


@dataclass(frozen=True, slots=True)
class AnalysisResult:
    """Everything found in one recording (times in seconds from its start)."""

    events: list[Event]
    plm_series: list[PlmSeries]
    in_bed: list[BedInterval]
    summary: NightSummary

    def as_json(self) -> dict[str, Any]:
        """Return the CLI's JSON object."""
        return {
            "events": [e.as_json() for e in self.events],
            "plm_series": [
                {"onset": round(s.onset, 3), "end": round(s.end, 3), "count": s.count}
                for s in self.plm_series
            ],
            "in_bed": [i.as_json() for i in self.in_bed],
            "summary": self.summary.as_json(),
        }


def analyze(
    samples: npt.NDArray[np.integer],
    fs_hz: float,
    channels: tuple[str, ...] | list[str],
    config: DetectorConfig | None = None,
    *,
    chunk_samples: int = CHUNK_SAMPLES,
    progress: Callable[[float], None] | None = None,
) -> AnalysisResult:
    """Analyse a whole recording.

    Parameters
    ----------
    samples : numpy.ndarray
        int16 raw samples, shape ``(n, channels)``.
    fs_hz : float
        Sample rate.
    channels : sequence of str
        Channel names.
    config : DetectorConfig, optional
        Parameters.
    chunk_samples : int, optional
        Samples per internal step (any value gives the same result; it only bounds memory).
    progress : callable, optional
        Called with the fraction done after each chunk.

    Returns
    -------
    AnalysisResult
        Events, PLM series, in-bed intervals and the night summary.
    """
    data = np.asarray(samples)
    if data.ndim == 1:
        data = data[:, np.newaxis]
    if data.ndim != 2 or data.shape[1] != len(channels):
        raise ValueError(f"samples of shape {data.shape} do not match {len(channels)} channels")
    stream = Stream(fs_hz, tuple(channels), config=config)
    events: list[Event] = []
    series: list[PlmSeries] = []
    in_bed: list[BedInterval] = []

    def keep(out: StreamOutput) -> None:
        events.extend(out.events)
        series.extend(out.series)
        in_bed.extend(out.bed_intervals)

    n = len(data)
    for start in range(0, n, chunk_samples):
        keep(stream.feed(data[start : start + chunk_samples]))
        if progress is not None:
            progress(min(1.0, (start + chunk_samples) / n))
    keep(stream.finish())
    return AnalysisResult(events, series, in_bed, summarize(events, series, in_bed))
