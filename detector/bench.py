"""Benchmark: whole-night analysis and per-frame streaming cost, as ratios taken in the same run.

The night is a virtual-sensor ``full_night`` (8 h, 250 Hz, torso + legs). Absolute times drift on
shared machines, so the headline figure is a ratio: whole-night :func:`~detector.analyze.analyze`
time over one 4th-order ``scipy.signal.sosfilt`` pass (a 0.5-40 Hz Butterworth band-pass, two
second-order sections) over the same samples, both the best of three runs. scipy and the virtual
sensor are development dependencies; the detector itself needs only numpy.
"""

from __future__ import annotations

import gc
import pickle
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .analyze import analyze
from .bench_skeleton import skeleton_costs
from .protocol import decode_frame, encode_frames
from .stream import Stream

__all__ = ["run_bench"]

FS_HZ = 250.0
CHANNELS = ("torso", "legs")


def _night(hours: float) -> npt.NDArray[np.int16]:
    from hardware.virtual_sensor.synth import generate  # noqa: PLC0415 - dev dependency

    recording = generate("full_night", seed=2026, minutes=hours * 60.0)
    return recording.samples


def _best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def run_bench(hours: float = 8.0, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the benchmark and return its figures.

    Returns
    -------
    dict
        ``night_ratio``, ``frame_p50_us``, ``frame_p99_us``, ``state_bytes``, ``peak_mb``, the
        absolute times behind the ratio, and the cost of a bare skeleton of the per-frame
        arithmetic per frame and per block (``skeleton_frame_us``, ``skeleton_block_us``; see
        :mod:`detector.bench_skeleton`).
    """
    from scipy import signal  # noqa: PLC0415 - bench-only dependency

    say = progress or (lambda _msg: None)
    say(f"synthesising a {hours:g} h two-channel night at {FS_HZ:g} Hz")
    samples = _night(hours)
    sos = signal.butter(2, [0.5, 40.0], btype="bandpass", fs=FS_HZ, output="sos")
    as_float = samples.astype(np.float64)
    say("timing scipy.signal.sosfilt (reference)")
    t_ref = _best_of(3, lambda: signal.sosfilt(sos, as_float, axis=0))
    say("timing analyze()")
    t_night = _best_of(3, lambda: analyze(samples, FS_HZ, CHANNELS))
    say("measuring peak memory of analyze()")
    gc.collect()
    tracemalloc.start()
    analyze(samples, FS_HZ, CHANNELS)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    say("timing Stream.step() on 1 s frames")
    stream = Stream(FS_HZ, CHANNELS, bed="bench")
    frame_n = int(FS_HZ)
    frames = [decode_frame(payload) for payload in encode_frames(samples, FS_HZ, frame_n)]
    step_ns = np.empty(len(frames), np.int64)
    state_bytes = 0
    for i, frame in enumerate(frames):
        start = time.perf_counter_ns()
        stream.step(frame)
        step_ns[i] = time.perf_counter_ns() - start
        if i % 60 == 30:  # the pickled state, once a minute of the night (outside the timing)
            state_bytes = max(
                state_bytes, len(pickle.dumps(stream, protocol=pickle.HIGHEST_PROTOCOL))
            )
    say("timing a bare skeleton of the per-frame arithmetic (a floor)")
    skeleton_frame, skeleton_block = skeleton_costs()
    return {
        "hours": hours,
        "sosfilt_s": round(t_ref, 4),
        "analyze_s": round(t_night, 4),
        "night_ratio": round(t_night / t_ref, 2),
        "frame_p50_us": round(float(np.percentile(step_ns, 50)) / 1000, 1),
        "frame_p99_us": round(float(np.percentile(step_ns, 99)) / 1000, 1),
        "state_bytes": state_bytes,
        "peak_mb": round(peak / 2**20, 1),
        "skeleton_frame_us": round(skeleton_frame, 1),
        "skeleton_block_us": round(skeleton_block, 1),
    }
