"""The simple detector open bed-sensor projects use: windowed std above ``k`` MADs.

It exists to show what the engine adds. Per channel: first difference (drops breathing and drift),
standard deviation in 0.25 s windows, threshold ``median + k * MAD`` of those values over the whole
recording, active windows merged across channels and gaps under 0.5 s, then classified by duration
with the same rules as the engine. No heartbeat model, no adaptive floor, no presence model: the
whole recording counts as in bed.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .analyze import AnalysisResult
from .classify import classify
from .config import DetectorConfig
from .events import BedInterval, Event
from .night import summarize
from .plm import find_plm_series

__all__ = ["baseline_analyze"]

WINDOW_S = 0.25
K_MAD = 6.0
MERGE_S = 0.5


def baseline_analyze(
    samples: npt.NDArray[np.integer],
    fs_hz: float,
    channels: tuple[str, ...] | list[str],
    config: DetectorConfig | None = None,
) -> AnalysisResult:
    """Run the windowed-std baseline over a whole recording.

    Parameters
    ----------
    samples : numpy.ndarray
        int16 raw samples ``(n, channels)``.
    fs_hz : float
        Sample rate.
    channels : sequence of str
        Channel names.
    config : DetectorConfig, optional
        Only the classification rules are used.

    Returns
    -------
    AnalysisResult
        Same shape as the engine's result.
    """
    config = config or DetectorConfig()
    data = np.asarray(samples, np.float64)
    if data.ndim == 1:
        data = data[:, np.newaxis]
    win = max(2, round(WINDOW_S * fs_hz))
    n_win = (len(data) - 1) // win
    diff = np.diff(data, axis=0)[: n_win * win].reshape(n_win, win, -1)
    std = diff.std(axis=1)
    med = np.median(std, axis=0)
    mad = np.median(np.abs(std - med), axis=0)
    active = (std > med + K_MAD * np.maximum(mad, 1e-9)).any(axis=1)
    peak_ratio = (std / np.maximum(med, 1e-9)).max(axis=1)
    events: list[Event] = []
    merge = max(1, round(MERGE_S / WINDOW_S))
    idx = np.flatnonzero(active)
    runs: list[list[int]] = []
    for i in idx:
        if runs and i - runs[-1][-1] <= merge:
            runs[-1].append(int(i))
        else:
            runs.append([int(i)])
    for run in runs:
        onset = run[0] * win
        duration = (run[-1] - run[0] + 1) * win
        amplitude = float(peak_ratio[run[0] : run[-1] + 1].max())
        kind = classify(duration / fs_hz, amplitude, config)
        channel = int(np.argmax(std[run[0] : run[-1] + 1].max(axis=0)))
        events.append(
            Event(
                kind,
                onset,
                duration,
                fs_hz,
                channels[channel],
                round(amplitude, 2),
                False,
                f"baseline:{onset}",
            )
        )
    series = find_plm_series(
        [e.onset_s for e in events], [e.duration_s for e in events], config.plm
    )
    in_bed = [BedInterval(0, len(data), fs_hz)]
    return AnalysisResult(events, series, in_bed, summarize(events, series, in_bed))
