"""A second, deliberately crude simulator: a check that the detector is not tuned to the first.

It shares no signal code with the virtual sensor and makes different choices on purpose: no real
heart or breathing data (a damped 7 Hz heartbeat burst at a random-walk rate, a sine breath),
movements as band-limited noise under a sin² window (slow fade in and out), a leg film that sees
the heart at 45 %, abrupt bed entry and exit. Its truth follows the recording contract, with
amplitudes relative to the heartbeat on the channel where the movement is strongest.

``python -m hardware.virtual_sensor crosscheck DIR`` writes :data:`CROSSCHECK_SET`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from detector.plm import find_plm_series
from detector.recording import Recording, save_recording

__all__ = ["CROSSCHECK_SET", "Recipe", "make", "write_crosscheck_set"]

_ENTRY_S, _EXIT_S = 12.0, 14.0  # the movements of getting into and out of bed
_HEART_ON = np.array([1.0, 0.45])  # heartbeat seen by the torso and the leg film
# how strongly each film sees a movement (torso, legs), and the movements' frequency bands (Hz)
_TORSO, _LEGS, _BOTH, _EVEN, _LEG_MOVE = (1.0, 0.3), (0.15, 1.0), (1.0, 0.8), (1.0, 1.0), (0.3, 1.0)
_SLOW, _LIMB, _JERK, _TWITCH = (0.5, 15.0), (1.0, 12.0), (4.0, 40.0), (12.0, 40.0)


@dataclass(frozen=True)
class Recipe:
    """One cross-check recording."""

    seed: int
    fs_hz: float = 200.0
    minutes: float = 40.0
    channels: tuple[str, ...] = ("torso", "legs")
    gain: float = 120.0
    plm: bool = False
    hum: float = 0.0


CROSSCHECK_SET: tuple[Recipe, ...] = (
    Recipe(1),
    Recipe(2, plm=True),
    Recipe(3, fs_hz=250.0, gain=40.0),
    Recipe(4, channels=("torso",)),
    Recipe(5, hum=0.5, plm=True),
    Recipe(6, gain=600.0),
    Recipe(7, fs_hz=500.0, plm=True),
)


@dataclass
class _Night:
    recipe: Recipe
    rng: np.random.Generator
    x: npt.NDArray[np.float64]
    enter: float
    leave: float
    events: list[dict[str, Any]] = field(default_factory=list)
    busy: list[tuple[float, float]] = field(default_factory=list)

    def burst(
        self,
        kind: str,
        onset: float,
        duration: float,
        amplitude: float,
        *,
        band: tuple[float, float],
        weights: tuple[float, float],
    ) -> None:
        """Add a movement unless it would overlap another (2 s apart) or leave the bed time."""
        if any(not (onset + duration + 2 < a or onset > a + d + 2) for a, d in self.busy):
            return
        fs, nch = self.recipe.fs_hz, self.x.shape[1]
        start, n = int(onset * fs), max(2, int(duration * fs))
        if start + n >= len(self.x):
            return
        noise = np.fft.rfft(self.rng.normal(0.0, 1.0, n + 200))
        freqs = np.fft.rfftfreq(n + 200, 1 / fs)
        noise[(freqs < band[0]) | (freqs > band[1])] = 0
        wave = np.fft.irfft(noise, n + 200)[100 : 100 + n] * np.sin(np.pi * np.arange(n) / n) ** 2
        wave /= np.abs(wave).max()
        gains = np.array(weights[:nch])
        self.x[start : start + n] += amplitude * wave[:, np.newaxis] * gains
        self.busy.append((onset, duration))
        ratio = float(np.max(amplitude * gains / _HEART_ON[:nch]))
        self.events.append(
            {
                "type": kind,
                "onset": round(onset, 3),
                "duration": round(duration, 3),
                "channel": "torso" if gains.argmax() == 0 else "legs",
                "amplitude": round(ratio, 3),
            }
        )

    def inside(self, low: float, high: float) -> float:
        return float(self.rng.uniform(self.enter + low, self.leave - high))


def make(recipe: Recipe) -> Recording:
    """Synthesise one recording with its truth."""
    rng = np.random.default_rng(recipe.seed)
    fs, nch = recipe.fs_hz, len(recipe.channels)
    n = int(recipe.minutes * 60 * fs)
    t = np.arange(n) / fs
    night = _Night(recipe, rng, np.zeros((n, nch)), 60.0, recipe.minutes * 60 - 60.0)
    _heart_and_breath(night, t)
    gross = {"band": _SLOW, "weights": _EVEN}
    night.burst("gross_movement", night.enter - _ENTRY_S, _ENTRY_S, 150.0, **gross)  # getting in
    night.burst("gross_movement", night.leave, _EXIT_S, 150.0, **gross)  # and out
    for _ in range(int(rng.integers(1, 3))):  # falling asleep
        onset, length = night.enter + rng.uniform(90, 500), rng.uniform(0.2, 0.6)
        night.burst("hypnic_jerk", onset, length, rng.uniform(30, 90), band=_JERK, weights=_BOTH)
    for _ in range(int(recipe.minutes / 15)):
        onset, length = night.inside(600, 60), rng.uniform(12, 35)
        night.burst("gross_movement", onset, length, rng.uniform(80, 300), **gross)
    limb = {"band": _LIMB, "weights": _LEG_MOVE}
    if recipe.plm:
        onset = night.enter + 900
        while onset < night.leave - 300:
            for _ in range(int(rng.integers(4, 12))):
                length, size = rng.uniform(0.8, 3.5), rng.uniform(6, 25)
                night.burst("limb_movement", onset, length, size, **limb)
                onset += rng.uniform(15, 40)
            onset += rng.uniform(200, 500)
    for _ in range(int(recipe.minutes)):  # twitches, 1.5-20x the heartbeat where strongest
        weights = _TORSO if rng.random() < 0.5 else _LEGS
        scale = float(np.max(np.array(weights[:nch]) / _HEART_ON[:nch]))
        onset, length = night.inside(120, 30), rng.uniform(0.08, 0.35)
        size = rng.uniform(1.5, 20) / scale
        night.burst("twitch", onset, length, size, band=_TWITCH, weights=weights)
    for _ in range(int(recipe.minutes / 4)):
        onset, length = night.inside(120, 30), rng.uniform(0.6, 5)
        night.burst("limb_movement", onset, length, rng.uniform(5, 30), **limb)
    night.x += rng.normal(0, 0.04, night.x.shape)
    if recipe.hum:
        night.x += recipe.hum * np.sin(2 * np.pi * 50 * t)[:, np.newaxis]
    samples = np.clip(np.round(night.x * recipe.gain), -32768, 32767).astype(np.int16)
    return Recording(samples, fs, 0.0, recipe.channels, _truth(night))


def _heart_and_breath(night: _Night, t: npt.NDArray[np.float64]) -> None:
    fs, nch, rng = night.recipe.fs_hz, night.x.shape[1], night.rng
    k = np.arange(int(0.35 * fs)) / fs
    beat = np.exp(-k / 0.07) * np.sin(2 * np.pi * 7 * k)
    beat /= np.abs(beat).max()
    when, interval = night.enter + 0.5, 1.0
    while when < night.leave:
        i = int(when * fs)
        piece = beat[: max(0, min(len(beat), len(night.x) - i))]
        night.x[i : i + len(piece)] += (
            (1 + rng.normal(0, 0.08)) * piece[:, np.newaxis] * _HEART_ON[:nch]
        )
        interval = float(np.clip(interval + rng.normal(0, 0.01), 0.85, 1.2))
        when += interval * (1 + 0.03 * np.sin(2 * np.pi * when / 4.0))
    in_bed = (t >= night.enter) & (t < night.leave)
    breath = 4.0 * np.sin(2 * np.pi * 0.23 * t + 0.4) * in_bed
    night.x += breath[:, np.newaxis] * _HEART_ON[:nch]


def _truth(night: _Night) -> dict[str, Any]:
    events = sorted(night.events, key=lambda e: float(e["onset"]))
    series = find_plm_series([e["onset"] for e in events], [e["duration"] for e in events])
    hours = (night.leave + _EXIT_S - night.enter + _ENTRY_S) / 3600
    return {
        "events": events,
        # on the bed from the first touch of getting in to the last of getting out
        "in_bed": [{"onset": night.enter - _ENTRY_S, "end": night.leave + _EXIT_S}],
        "plm_series": [{"onset": s.onset, "end": s.end, "count": s.count} for s in series],
        "summary": {"plm_index": sum(s.count for s in series) / hours},
    }


def write_crosscheck_set(out_dir: Path) -> list[Path]:
    """Write every recording of :data:`CROSSCHECK_SET` (NPZ + truth JSON) into ``out_dir``."""
    out_dir = Path(out_dir)
    return [
        save_recording(make(r), out_dir / f"crosscheck{i}.npz")
        for i, r in enumerate(CROSSCHECK_SET)
    ]
