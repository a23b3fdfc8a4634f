"""Class rules seen end to end, on a hand-made signal (not the virtual sensor).

A heartbeat of damped 8 Hz bursts once a second, then one movement: a long weak one is a
partner's (no event), a long strong one the sleeper's gross movement; a large jerk clipped by a
12-bit ADC right after getting into bed is a hypnic jerk even though clipping hides its size.
"""

from __future__ import annotations

import numpy as np
import pytest

from detector.analyze import analyze
from detector.events import EventType

FS = 250.0


def heartbeat(seconds: float, amplitude: float = 60.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    x = np.zeros(n)
    k = np.arange(int(0.3 * FS)) / FS
    beat = np.exp(-k / 0.06) * np.sin(2 * np.pi * 8 * k)
    t = 0.3
    while t < seconds - 0.4:
        i = int(t * FS)
        x[i : i + len(beat)] += amplitude * (1 + rng.normal(0, 0.05)) * beat / np.abs(beat).max()
        t += 1.0 + rng.normal(0, 0.03)
    return x + rng.normal(0, 1.0, n)


def burst(n: int, low: float, high: float, seed: int) -> np.ndarray:
    """Band-limited noise with a flat top and short ramps, peak 1."""
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.normal(0, 1, n))
    freqs = np.fft.rfftfreq(n, 1 / FS)
    spectrum[(freqs < low) | (freqs > high)] = 0
    wave = np.fft.irfft(spectrum, n)
    ramp = np.minimum(1.0, np.minimum(np.arange(n), np.arange(n)[::-1]) / (0.05 * n + 1))
    wave *= ramp
    return wave / np.abs(wave).max()


def record(
    movement_at: float, movement: np.ndarray, *, rail: int = 32767, beat: float = 60.0
) -> np.ndarray:
    x = heartbeat(240.0, beat)
    i = int(movement_at * FS)
    x[i : i + len(movement)] += movement
    return np.clip(np.round(x), -rail - 1, rail).astype(np.int16)[:, np.newaxis]


@pytest.mark.parametrize(("amplitude", "expected"), [(8.0, None), (400.0, "gross_movement")])
def test_a_weak_long_movement_is_a_partner_s(amplitude: float, expected: str | None) -> None:
    movement = 60.0 * amplitude * burst(int(15 * FS), 1.0, 15.0, seed=3)
    result = analyze(record(150.0, movement), FS, ("torso",))
    assert result.in_bed
    long_ones = [e.type.value for e in result.events if e.duration_s > 5.0]
    assert long_ones == ([expected] if expected else [])


def test_a_jerk_clipped_by_a_12_bit_adc_near_sleep_onset_is_hypnic() -> None:
    # A strong heartbeat on a 12-bit ADC: the rail is only ~10x the heartbeat, so the jerk
    # (120x) is measured far too small; only the clipping tells that it was large.
    jerk = 200.0 * 120.0 * burst(int(0.3 * FS), 4.0, 40.0, seed=5)
    samples = record(150.0, jerk, rail=2047, beat=200.0)
    result = analyze(samples, FS, ("torso",))
    near = [e for e in result.events if abs(e.onset_s - 150.0) < 1.0]
    assert len(near) == 1
    assert near[0].clipped
    assert near[0].amplitude < 20.0  # below the hypnic threshold as measured
    assert near[0].type is EventType.HYPNIC_JERK


def test_clipping_and_the_sensor_s_recovery_make_one_event() -> None:
    """A jerk that saturates the ADC, then the piezo's slow recovery: one movement, not several."""
    x = heartbeat(240.0, 60.0)
    start, n = int(150 * FS), int(0.3 * FS)
    x[start : start + n] += 60.0 * 2000.0 * burst(n, 4.0, 40.0, seed=8)
    tail = np.arange(int(3 * FS)) / FS
    x[start + n : start + n + len(tail)] += 20000.0 * np.exp(-tail / 0.32)  # RC recovery
    samples = np.clip(np.round(x), -32768, 32767).astype(np.int16)[:, np.newaxis]
    assert (np.abs(samples.astype(np.int32)) >= 32767).sum() > 10  # it did clip
    result = analyze(samples, FS, ("torso",))
    assert result.in_bed
    assert [round(e.onset_s) for e in result.events] == [150]
    assert result.events[0].clipped


def test_hum_and_pink_noise_in_bed_make_no_events() -> None:
    rng = np.random.default_rng(2)
    n = int(240 * FS)
    pink = np.cumsum(rng.normal(0, 1, n))
    pink -= np.convolve(pink, np.ones(250) / 250, mode="same")  # 1/f-like drift, no DC
    t = np.arange(n) / FS
    x = heartbeat(240.0, 60.0) + 150.0 * np.sin(2 * np.pi * 50 * t) + 6.0 * pink
    result = analyze(np.round(x).astype(np.int16)[:, np.newaxis], FS, ("torso",))
    assert result.in_bed
    assert result.events == []
