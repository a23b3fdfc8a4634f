"""Scenario parameters and the named presets.

A :class:`Scenario` fixes everything about a simulated recording except the random seed: sensor
(sample rate, channels, gain, high-pass, noise, hum, ADC), the night's structure (empty bed before
and after, sleep latency, evening restlessness, wake periods) and event rates. Amplitudes are in
*sensor units*: 1 unit is about the heartbeat (BCG) peak of a typical sleeper on the torso film.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

__all__ = ["PRESETS", "Scenario", "preset"]


@dataclass(frozen=True, slots=True)
class Scenario:
    """Everything that defines a simulated recording except the seed.

    Attributes are grouped as sensor, night structure, events and partner. Durations are in
    seconds, rates per hour of the relevant state, amplitudes in sensor units. Ranges are
    ``(low, high)`` tuples drawn uniformly per recording or per event.
    """

    name: str = "custom"
    description: str = ""
    duration_s: float = 3600.0
    # sensor
    fs_hz: float = 250.0
    channels: int = 2
    gain_counts_per_unit: float = 120.0
    adc_bits: int = 16
    adc_offset_counts: float = 200.0
    highpass_hz: float = 0.5
    hum_hz: int | None = None
    hum_amplitude_units: float = 0.0
    white_noise_units: float = 0.03
    pink_noise_units: float = 0.04
    drift_units: float = 0.3
    clamp: bool = True
    # night structure
    occupied: bool = True
    empty_lead_s: float = 0.0
    empty_tail_s: float = 0.0
    start_awake: bool = False
    sleep_latency_s: tuple[float, float] = (300.0, 1200.0)
    rls_evening_s: float = 0.0
    onset_attempts: tuple[int, int] = (1, 2)
    hypnic_jerk_probability: float = 0.4
    wake_periods_per_h: float = 0.5
    # events (rates per hour in bed, modulated by sleep state)
    twitches_per_h: float = 20.0
    twitch_clusters_per_h: float = 0.3
    twitch_band_weights: tuple[float, float, float] = (0.4, 0.4, 0.2)
    limb_movements_per_h: float = 4.0
    plm_episodes_per_h: float = 0.0
    plm_interval_s: tuple[float, float] = (20.0, 40.0)
    plm_episode_lms: tuple[int, int] = (4, 40)
    gross_movements_per_h: float = 3.0
    building_vibrations_per_h: float = 1.0
    # physiology
    respiration_ratio: tuple[float, float] = (4.0, 7.0)
    # partner
    partner: bool = False
    partner_coupling: tuple[float, float] = (0.1, 0.4)
    partner_movement_coupling: tuple[float, float] = (0.05, 0.2)

    def __post_init__(self) -> None:
        problems = list(self._problems())
        if problems:
            raise ValueError(f"scenario {self.name!r}: " + "; ".join(problems))

    def _problems(self) -> list[str]:
        out = []
        numbers = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), float | int)
            and not isinstance(getattr(self, f.name), bool)
        }
        out += [f"{k} must be finite" for k, v in numbers.items() if not math.isfinite(v)]
        if out:
            return out
        if not 100.0 <= self.fs_hz <= 500.0:
            out.append(f"fs_hz must be 100-500, got {self.fs_hz}")
        if self.channels not in (1, 2):
            out.append(f"channels must be 1 or 2, got {self.channels}")
        if not 10.0 <= self.duration_s <= 24 * 3600.0:
            out.append(f"duration_s must be 10 s to 24 h, got {self.duration_s}")
        if not 0.01 <= self.gain_counts_per_unit <= 1e5:
            out.append(f"gain_counts_per_unit must be 0.01-1e5, got {self.gain_counts_per_unit}")
        if not 8 <= self.adc_bits <= 16:
            out.append(f"adc_bits must be 8-16, got {self.adc_bits}")
        if not 0.05 <= self.highpass_hz <= 5.0:
            out.append(f"highpass_hz must be 0.05-5, got {self.highpass_hz}")
        if self.hum_hz not in (None, 50, 60):
            out.append(f"hum_hz must be None, 50 or 60, got {self.hum_hz}")
        out += [
            f"{k} must not be negative"
            for k in (
                "adc_offset_counts",
                "hum_amplitude_units",
                "white_noise_units",
                "pink_noise_units",
                "drift_units",
                "empty_lead_s",
                "empty_tail_s",
                "rls_evening_s",
                "wake_periods_per_h",
                "twitches_per_h",
                "twitch_clusters_per_h",
                "limb_movements_per_h",
                "plm_episodes_per_h",
                "gross_movements_per_h",
                "building_vibrations_per_h",
            )
            if numbers[k] < 0
        ]
        for k in (
            "sleep_latency_s",
            "onset_attempts",
            "plm_interval_s",
            "plm_episode_lms",
            "respiration_ratio",
            "partner_coupling",
            "partner_movement_coupling",
        ):
            lo, hi = getattr(self, k)
            if not 0 <= lo <= hi:
                out.append(f"{k} must be an ordered non-negative range, got {(lo, hi)}")
        if self.onset_attempts[0] < 1:
            out.append("onset_attempts must start at 1 or more")
        if self.plm_episode_lms[0] < 1:
            out.append("plm_episode_lms must start at 1 or more")
        if not 0.0 <= self.hypnic_jerk_probability <= 1.0:
            out.append("hypnic_jerk_probability must be 0-1")
        if sum(self.twitch_band_weights) <= 0 or min(self.twitch_band_weights) < 0:
            out.append("twitch_band_weights must be non-negative with a positive sum")
        if self.occupied and self.empty_lead_s + self.empty_tail_s > self.duration_s - 60.0:
            out.append("empty_lead_s + empty_tail_s must leave at least 60 s in bed")
        return out

    def with_duration(self, duration_s: float) -> Scenario:
        """Return a copy lasting ``duration_s``; a shorter night keeps its shape.

        When shortening, the empty-bed lead and tail, the sleep latency and the evening
        restlessness shrink in proportion, so a 10-minute ``full_night`` still goes empty ->
        entry -> sleep -> exit -> empty. When lengthening they stay as they are.

        Parameters
        ----------
        duration_s : float
            New length in seconds.

        Returns
        -------
        Scenario
            The adjusted scenario.
        """
        r = min(duration_s / self.duration_s, 1.0)
        return dataclasses.replace(
            self,
            duration_s=float(duration_s),
            empty_lead_s=self.empty_lead_s * r,
            empty_tail_s=self.empty_tail_s * r,
            sleep_latency_s=(self.sleep_latency_s[0] * r, self.sleep_latency_s[1] * r),
            rls_evening_s=self.rls_evening_s * r,
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the parameters as a JSON-ready dict (tuples become lists).

        Returns
        -------
        dict
            Field name to value.
        """
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
        }


PRESETS: dict[str, Scenario] = {
    s.name: s
    for s in (
        Scenario(
            name="healthy",
            description="a healthy sleeper, in bed and asleep throughout: twitches, a few LMs, "
            "now and then a short PLM series",
            duration_s=3600.0,
            plm_episodes_per_h=0.25,
            plm_episode_lms=(4, 20),
        ),
        Scenario(
            name="plmd",
            description="periodic limb movement disorder: long PLM series in NREM sleep",
            duration_s=3600.0,
            plm_episodes_per_h=2.5,
            plm_interval_s=(18.0, 38.0),
            plm_episode_lms=(8, 40),
            limb_movements_per_h=6.0,
            twitches_per_h=15.0,
        ),
        Scenario(
            name="rls_evening",
            description="restless legs: awake in bed with LMs every ~11-12 s and short gross "
            "movements, then sleep with PLMs",
            duration_s=2400.0,
            empty_lead_s=60.0,
            rls_evening_s=900.0,
            sleep_latency_s=(300.0, 600.0),
            plm_episodes_per_h=2.0,
            plm_episode_lms=(6, 30),
        ),
        Scenario(
            name="hypnic_onset",
            description="getting into bed and drifting off: repeated sleep onsets with hypnic "
            "jerks",
            duration_s=1500.0,
            empty_lead_s=60.0,
            sleep_latency_s=(90.0, 240.0),
            onset_attempts=(2, 5),
            hypnic_jerk_probability=1.0,
            wake_periods_per_h=0.0,
        ),
        Scenario(
            name="myoclonus_clusters",
            description="frequent small twitches, many in clusters (fragmentary myoclonus)",
            duration_s=2700.0,
            twitches_per_h=60.0,
            twitch_clusters_per_h=6.0,
            twitch_band_weights=(0.5, 0.35, 0.15),
        ),
        Scenario(
            name="noisy",
            description="a poor installation: mains hum, strong 1/f noise, drift and a gain so "
            "high that movements clip",
            duration_s=1800.0,
            gain_counts_per_unit=450.0,
            hum_hz=50,
            hum_amplitude_units=0.6,
            white_noise_units=0.08,
            pink_noise_units=0.35,
            drift_units=1.5,
            adc_offset_counts=1500.0,
            building_vibrations_per_h=4.0,
        ),
        Scenario(
            name="partner",
            description="a partner shares the bed: their heartbeat, breathing and movements "
            "leak into the sensor",
            duration_s=3600.0,
            partner=True,
        ),
        Scenario(
            name="empty_bed",
            description="nobody in bed: noise floor and rare building vibrations only",
            duration_s=1800.0,
            occupied=False,
            building_vibrations_per_h=4.0,
        ),
        Scenario(
            name="full_night",
            description="8 h: empty -> bed entry -> sleep onset with hypnic jerks -> sleep with "
            "twitches, LMs, PLM series, gross movements and wake periods -> exit -> empty",
            duration_s=8 * 3600.0,
            onset_attempts=(1, 3),
            hypnic_jerk_probability=0.7,
            wake_periods_per_h=0.5,
            plm_episodes_per_h=0.8,
            twitch_clusters_per_h=0.5,
            limb_movements_per_h=5.0,
            building_vibrations_per_h=2.0,
            empty_lead_s=1500.0,
            empty_tail_s=900.0,
            sleep_latency_s=(480.0, 1500.0),
        ),
    )
}


def preset(name: str) -> Scenario:
    """Return the named preset.

    Parameters
    ----------
    name : str
        One of :data:`PRESETS`.

    Returns
    -------
    Scenario
        The preset.

    Raises
    ------
    KeyError
        For an unknown name (the message lists the presets).
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; choose one of {', '.join(PRESETS)}") from None
