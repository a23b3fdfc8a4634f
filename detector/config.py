"""Detector parameters: one frozen, validated dataclass, units in the names."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

from .plm import PlmRules

__all__ = ["DetectorConfig"]


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Everything the detector can be told. Defaults are the product's defaults.

    Parameters
    ----------
    tick_s : float
        Envelope resolution (the short boxcar of the front end).
    baseline_window_s : float
        Long boxcar of the front end: content slower than about ``1 / (2 * baseline_window_s)``
        (breathing, drift) is removed.
    block_s : float
        Length of the blocks whose peak and median envelope feed the reference levels.
    level_window_s : float
        History behind the reference levels.
    warmup_s : float
        History needed before anything is detected (also after a posture reset).
    posture_reset_ratio, posture_reset_s : float
        A disturbance this many times the heartbeat level lasting this long (a gross movement)
        restarts the level history: the heartbeat looks different after a change of posture.
    on_ratio : float
        A movement starts where the envelope exceeds this multiple of the heartbeat peak level.
    off_ratio : float
        ... and lasts while it stays above this multiple (and above ``edge_fraction`` of its peak).
    edge_fraction : float
        Fraction of an event's own peak that delimits its onset and end (scale-aware duration).
    high_on_ratio, high_off_ratio : float
        Thresholds of the high band (about 14-41 Hz, peak near 27 Hz at 250 Hz sampling, where the
        heartbeat has little energy and a muscle twitch a lot), relative to its resting level.
    min_fast_ratio : float
        A movement must reach this ratio in the fast band, or the high band's opening threshold:
        slow-band activity alone is breathing (a sigh), not a movement.
    slow_amplitude_scale : float
        Converts a slow-band ratio to heartbeat units for the reported amplitude (the slow band's
        resting level is mostly breathing, about twice the heartbeat): a movement's amplitude is
        the larger of its fast-band ratio and this times its slow-band ratio.
    slow_short_s, slow_long_s, slow_hold_s : float
        Slow band (about 1-2.5 Hz): boxcars on per-tick sums and the hold of its envelope.
    slow_on_ratio, slow_off_ratio, slow_edge_fraction : float
        The slow band's thresholds, relative to its own resting level.
    end_edge_scale : float
        A movement's end is found at this share of the onset's edge fraction: movements fade out
        more slowly than they start.
    merge_gap_s : float
        Quiet gaps shorter than this inside a movement do not split it.
    beat_peak_radius_s, beat_refractory_s, beat_min_ratio, beat_high_ratio : float
        Heartbeat-aware twitch detection (:mod:`detector.beats`): a peak (the maximum within the
        radius) of at least ``beat_min_ratio`` heartbeat levels that comes early in the beat
        interval (after the refractory time of the last beat's complex) and reaches
        ``beat_high_ratio`` in the high band opens a movement.
    twitch_max_s : float
        Movements shorter than this are twitches (myoclonic jerks).
    gross_min_s : float
        Movements longer than this are gross body movements.
    gross_min_ratio : float
        Smallest peak (times the heartbeat level) of the sleeper's own gross movement; a longer
        but weaker movement is a partner's, carried through the mattress.
    hypnic_min_ratio : float
        Smallest peak (times the heartbeat level) of a hypnic jerk.
    hypnic_max_s : float
        Longest hypnic jerk.
    clipped_hypnic_fraction : float
        Share of ``hypnic_min_ratio`` a clipped jerk needs (its amplitude is a lower bound).
    hypnic_window_s : float
        A jerk counts as hypnic within this time after getting into bed (sleep latency).
    hypnic_wake_window_s : float
        ... or within this time after a gross movement in the night (a wake period).
    clip_level : int
        Raw value (absolute) treated as an ADC rail.
    sensor_highpass_hz : float
        Corner of the sensor's analogue high-pass; its time constant sets the blanking after
        clipping (three time constants).
    gap_reset_s : float
        Data gaps longer than this reset the filters; shorter gaps are bridged.
    presence_enter_s, presence_exit_s : float
        Evidence needed to switch the bed state in and out.
    plm : PlmRules
        Limb-movement and PLM series rules (WASM 2016 by default).
    """

    tick_s: float = 0.02
    baseline_window_s: float = 0.2
    block_s: float = 2.0
    level_window_s: float = 90.0
    warmup_s: float = 4.0
    posture_reset_ratio: float = 6.0
    posture_reset_s: float = 4.0
    on_ratio: float = 1.6
    off_ratio: float = 1.5
    edge_fraction: float = 0.2
    high_on_ratio: float = 1.7
    high_off_ratio: float = 1.3
    min_fast_ratio: float = 2.0
    slow_amplitude_scale: float = 0.5
    slow_short_s: float = 0.22
    slow_long_s: float = 0.5
    slow_hold_s: float = 0.1
    slow_on_ratio: float = 3.0
    slow_off_ratio: float = 1.8
    slow_edge_fraction: float = 0.5
    end_edge_scale: float = 0.5
    merge_gap_s: float = 0.8
    beat_peak_radius_s: float = 0.16
    beat_refractory_s: float = 0.2
    beat_min_ratio: float = 0.7
    beat_high_ratio: float = 1.4
    twitch_max_s: float = 0.5
    gross_min_s: float = 10.0
    gross_min_ratio: float = 20.0
    hypnic_min_ratio: float = 20.0
    hypnic_max_s: float = 0.8
    hypnic_window_s: float = 1800.0
    hypnic_wake_window_s: float = 900.0
    clipped_hypnic_fraction: float = 0.5
    clip_level: int = 32000
    sensor_highpass_hz: float = 0.5
    gap_reset_s: float = 0.5
    presence_enter_s: float = 20.0
    presence_exit_s: float = 30.0
    plm: PlmRules = field(default_factory=PlmRules.wasm)

    def __reduce__(self) -> tuple[Any, tuple[tuple[tuple[str, Any], ...]]]:
        """Pickle only the parameters that differ from the defaults (a bed's state stays small)."""
        default = _defaults()
        changed = tuple(
            (f.name, getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        )
        return _from_changes, (changed,)

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not (math.isfinite(value) and value > 0):
                raise ValueError(f"{f.name} must be a positive number, got {value}")
        if not self.off_ratio <= self.on_ratio:
            raise ValueError("off_ratio must not exceed on_ratio")
        if not 0 < self.edge_fraction < 1:
            raise ValueError("edge_fraction must be between 0 and 1")
        if not self.twitch_max_s < self.gross_min_s:
            raise ValueError("twitch_max_s must be shorter than gross_min_s")
        if self.level_window_s < 3 * self.block_s:
            raise ValueError("level_window_s must span at least three blocks")
        if not 0 < self.clip_level <= 32767:
            raise ValueError("clip_level must be 1-32767")

    @property
    def blanking_s(self) -> float:
        """Time after clipping during which the sensor recovers (three RC time constants)."""
        return 3.0 / (2.0 * math.pi * self.sensor_highpass_hz)


def _defaults() -> DetectorConfig:
    return DetectorConfig()


def _from_changes(changed: tuple[tuple[str, Any], ...]) -> DetectorConfig:
    """Rebuild a pickled configuration (see :meth:`DetectorConfig.__reduce__`)."""
    return DetectorConfig(**dict(changed))
