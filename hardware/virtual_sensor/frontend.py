"""The sensor front end: piezo high-pass, input clamp, noise, mains hum, drift, gain and the ADC.

The film is a ~7 nF source loaded by the input resistance R, so what reaches the amplifier is a
first-order high-pass of the force (10 MOhm -> 2.2 Hz, 100 MOhm -> 0.22 Hz). Large movements drive
the input into its protection clamp; the clamped charge is lost, so afterwards the signal comes back
from the rail with the time constant tau = RC of the high-pass (saturation recovery). The amplifier
adds white and 1/f noise and a slowly wandering offset, the high-impedance input picks up mains hum,
and the ADC scales by the gain (counts per sensor unit), rounds and clips at its rails.

Mains hum is evaluated at the sample instants (no anti-alias filter in front of the ADC), so it
aliases as it would on the device: 60 Hz at 100 Hz sampling appears at 40 Hz, 50 Hz at 100 Hz sits
at Nyquist.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import signal

__all__ = [
    "FrontEnd",
    "apply_front_end",
    "drift",
    "highpass",
    "highpass_clamped",
    "hum",
    "pink_noise",
    "quantise",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FrontEnd:
    """Front-end settings of one sensor.

    Attributes
    ----------
    fs_hz : float
        Sample rate.
    highpass_hz : float
        Corner of the piezo high-pass.
    gain_counts_per_unit : float
        ADC counts per sensor unit (1 unit is about a nominal torso heartbeat).
    adc_bits : int
        ADC resolution; samples clip at ``-2**(bits-1)`` and ``2**(bits-1) - 1`` (int16 for 16).
    adc_offset_counts : float
        Largest DC offset per channel, in counts (drawn in ``+-adc_offset_counts``).
    white_noise_units : float
        RMS of white noise, sensor units.
    pink_noise_units : float
        RMS of 1/f noise (0.05 Hz to Nyquist), sensor units.
    drift_units : float
        RMS of the slow offset wander (time scale of minutes), sensor units.
    hum_hz : float or None
        Mains frequency (50 or 60) or ``None``.
    hum_amplitude_units : float
        Amplitude of the hum's fundamental, sensor units.
    clamp : bool
        Model the input clamp and its saturation recovery.
    """

    fs_hz: float
    highpass_hz: float = 0.5
    gain_counts_per_unit: float = 120.0
    adc_bits: int = 16
    adc_offset_counts: float = 200.0
    white_noise_units: float = 0.04
    pink_noise_units: float = 0.05
    drift_units: float = 0.3
    hum_hz: float | None = None
    hum_amplitude_units: float = 0.0
    clamp: bool = True

    @property
    def tau_s(self) -> float:
        """Time constant RC of the high-pass, in seconds."""
        return 1.0 / (2.0 * math.pi * self.highpass_hz)

    @property
    def rails(self) -> tuple[int, int]:
        """Lowest and highest ADC code."""
        half = 1 << (self.adc_bits - 1)
        return -half, half - 1


def _hp_coefficients(fs: float, corner_hz: float) -> tuple[float, float]:
    """Bilinear first-order high-pass ``y[n] = b0 (x[n] - x[n-1]) + alpha y[n-1]``."""
    b, a = signal.butter(1, corner_hz, btype="highpass", fs=fs)
    return float(b[0]), float(-a[1])


def highpass(x: FloatArray, fs: float, corner_hz: float) -> FloatArray:
    """First-order piezo high-pass along axis 0, starting at rest (zero output for the first value).

    Parameters
    ----------
    x : numpy.ndarray
        Force, shape ``(n,)`` or ``(n, channels)``.
    fs : float
        Sample rate in Hz.
    corner_hz : float
        Corner frequency in Hz.

    Returns
    -------
    numpy.ndarray
        The filtered signal, same shape.
    """
    b0, alpha = _hp_coefficients(fs, corner_hz)
    dx = np.diff(x, axis=0, prepend=x[:1])
    return np.asarray(signal.lfilter([b0], [1.0, -alpha], dx, axis=0), dtype=np.float64)


def highpass_clamped(x: FloatArray, fs: float, corner_hz: float, clamp: float) -> FloatArray:
    """First-order high-pass whose output node is clamped at ``+-clamp`` (one channel).

    While clamped the excess charge is dumped, so after a large excursion the output starts from
    the rail and relaxes with tau = RC instead of following the linear response. Linear stretches
    are filtered in blocks with :func:`scipy.signal.lfilter`; clamped runs are found with vectorised
    searches, so the cost grows with the number of clamp episodes, not with the samples.

    Parameters
    ----------
    x : numpy.ndarray
        Force, shape ``(n,)``.
    fs : float
        Sample rate in Hz.
    corner_hz : float
        Corner frequency in Hz.
    clamp : float
        Clamp level (same units as the output).

    Returns
    -------
    numpy.ndarray
        The filtered, clamped signal.
    """
    b0, alpha = _hp_coefficients(fs, corner_hz)
    dx = np.diff(x, prepend=x[:1])
    n = dx.size
    y = np.empty(n)
    stay = clamp * (1.0 - alpha) / b0  # a clamped run continues while s * dx > stay
    pos, prev, block = 0, 0.0, 4096
    while pos < n:
        end = min(n, pos + block)
        seg, _ = signal.lfilter([b0], [1.0, -alpha], dx[pos:end], zi=[alpha * prev])
        over = np.flatnonzero(np.abs(seg) > clamp)
        if over.size == 0:
            y[pos:end] = seg
            prev, pos, block = float(seg[-1]), end, min(block * 4, 1 << 22)
            continue
        k = pos + int(over[0])
        y[pos:k] = seg[: k - pos]
        sign = 1.0 if seg[k - pos] > 0 else -1.0
        stop, look = k + 1, 256
        while stop < n:
            window = sign * dx[stop : stop + look] <= stay
            if window.any():
                stop += int(np.argmax(window))
                break
            stop, look = stop + window.size, look * 4
        stop = min(stop, n)
        y[k:stop] = sign * clamp
        prev, pos, block = sign * clamp, stop, 4096
    return y


def pink_noise(n: int, fs: float, rms: float, rng: np.random.Generator) -> FloatArray:
    """Return 1/f noise (power density ~ 1/f from 0.05 Hz to Nyquist, flat below).

    Parameters
    ----------
    n : int
        Number of samples.
    fs : float
        Sample rate in Hz.
    rms : float
        RMS of the result.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    numpy.ndarray
        The noise.
    """
    if n == 0 or rms == 0.0:
        return np.zeros(n)
    f = np.fft.rfftfreq(n, 1.0 / fs)
    spec = rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)
    spec /= np.sqrt(np.maximum(f, 0.05))
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return np.asarray(x * (rms / (float(np.std(x)) or 1.0)), dtype=np.float64)


def drift(n: int, fs: float, rms: float, rng: np.random.Generator) -> FloatArray:
    """Return a slow offset wander: an Ornstein-Uhlenbeck process with a 3-10 minute time scale.

    Parameters
    ----------
    n : int
        Number of samples.
    fs : float
        Sample rate in Hz.
    rms : float
        Typical size of the wander.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    numpy.ndarray
        The wander, smooth at 1 s resolution.
    """
    m = int(n / fs) + 3
    tau = rng.uniform(180.0, 600.0)
    a = math.exp(-1.0 / tau)
    steps = rng.standard_normal(m) * math.sqrt(1.0 - a * a)
    steps[0] = rng.standard_normal()
    walk = signal.lfilter([1.0], [1.0, -a], steps)
    return np.asarray(rms * np.interp(np.arange(n) / fs, np.arange(m), walk), dtype=np.float64)


def hum(
    n: int, fs: float, mains_hz: float, amplitude: float, rng: np.random.Generator
) -> FloatArray:
    """Return mains hum sampled at ``fs`` (it aliases as on a real ADC without anti-alias filter).

    The fundamental wanders by up to 0.03 Hz and its level by about 10 % over minutes; a third
    harmonic at 5-20 % of the fundamental (also aliased) is added.

    Parameters
    ----------
    n : int
        Number of samples.
    fs : float
        Sample rate in Hz.
    mains_hz : float
        Mains frequency (50 or 60).
    amplitude : float
        Amplitude of the fundamental.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    numpy.ndarray
        The hum.
    """
    t = np.arange(n, dtype=np.float64) / fs
    # Frequency wander integrated on a 1 s grid; the nominal cycle count mains * t stays exact to
    # ~1e-9 cycles over a night in float64, so the tone aliases exactly.
    grid = np.arange(int(n / fs) + 3, dtype=np.float64)
    wander_hz = 0.03 * np.tanh(drift(grid.size, 1.0, 1.0, rng))
    extra_cycles = np.interp(t, grid, np.concatenate(([0.0], np.cumsum(wander_hz)[:-1])))
    phase = 2 * np.pi * (mains_hz * t + extra_cycles) + rng.uniform(0, 2 * np.pi)
    level = amplitude * (1.0 + 0.1 * np.tanh(drift(n, fs, 1.0, rng)))
    third = rng.uniform(0.05, 0.2)
    return np.asarray(level * (np.sin(phase) + third * np.sin(3 * phase + 1.0)), dtype=np.float64)


def quantise(counts: FloatArray, adc_bits: int) -> npt.NDArray[np.int16]:
    """Round to integers and clip at the ADC rails.

    Parameters
    ----------
    counts : numpy.ndarray
        Values in ADC counts.
    adc_bits : int
        Resolution, 2-16 bits.

    Returns
    -------
    numpy.ndarray of int16
        Codes in ``[-2**(bits-1), 2**(bits-1) - 1]``.
    """
    half = 1 << (adc_bits - 1)
    return np.clip(np.rint(counts), -half, half - 1).astype(np.int16)


def apply_front_end(
    force: FloatArray, front_end: FrontEnd, rng: np.random.Generator
) -> npt.NDArray[np.int16]:
    """Turn force (sensor units, shape ``(n, channels)``) into ADC codes.

    Parameters
    ----------
    force : numpy.ndarray
        Everything the films feel, before the high-pass.
    front_end : FrontEnd
        Settings.
    rng : numpy.random.Generator
        Random source for noise, drift, hum and offsets.

    Returns
    -------
    numpy.ndarray of int16
        Samples, shape ``(n, channels)``.
    """
    fs = front_end.fs_hz
    n, n_channels = force.shape
    out = np.empty((n, n_channels), dtype=np.int16)
    lo, hi = front_end.rails
    clamp_units = 1.05 * max(-lo, hi) / front_end.gain_counts_per_unit
    hum_rng = np.random.default_rng(rng.integers(1 << 63))
    mains = (
        hum(n, fs, front_end.hum_hz, front_end.hum_amplitude_units, hum_rng)
        if front_end.hum_hz and front_end.hum_amplitude_units > 0
        else None
    )
    for ch in range(n_channels):
        if front_end.clamp:
            y = highpass_clamped(force[:, ch], fs, front_end.highpass_hz, clamp_units)
        else:
            y = highpass(force[:, ch], fs, front_end.highpass_hz)
        y += rng.normal(0.0, front_end.white_noise_units, n)
        y += pink_noise(n, fs, front_end.pink_noise_units, rng)
        y += drift(n, fs, front_end.drift_units, rng)
        if mains is not None:
            y += mains * rng.uniform(0.5, 1.5)
        y *= front_end.gain_counts_per_unit
        y += rng.uniform(-1.0, 1.0) * front_end.adc_offset_counts
        out[:, ch] = quantise(y, front_end.adc_bits)
    return out
