"""Heartbeat (ballistocardiogram) and breathing signals of a person lying on the sensor.

The heartbeat is rendered as one ballistocardiogram (BCG) complex per beat: an H-I-J-K-L-M-N damped
wave of alternating Gaussian lobes, about 0.5 s long, with the J peak 0.2-0.25 s after the R peak
and most energy at 4-10 Hz. Beats are placed at the R times of real beat intervals
(:mod:`.refs`); the per-beat amplitude varies from beat to beat (log-normal, 5-10 %) and with
breathing (10-20 %). The template differs slightly between subjects, postures and channels.

Signals here are in *sensor units* before the piezo high-pass: a nominal torso heartbeat has a peak
of about 1 unit (the scenario's gain turns units into ADC counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt
from scipy import interpolate

__all__ = [
    "BcgTemplate",
    "apply_hr_rises",
    "beat_times",
    "beat_window_peaks",
    "legs_variant",
    "posture_variant",
    "render_beats",
    "resample_resp",
    "subject_template",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: Lobes H, I, J, K, L, M, N: latency after the R peak (s), relative amplitude, width (s).
_LOBES_T = np.array([0.125, 0.172, 0.228, 0.292, 0.358, 0.425, 0.49])
_LOBES_A = np.array([0.22, -0.5, 1.0, -0.78, 0.42, -0.2, 0.08])
_LOBES_W = np.array([0.017, 0.02, 0.022, 0.025, 0.028, 0.032, 0.036])
#: Template support after the R peak, in seconds.
TEMPLATE_S = 0.62
_OVERSAMPLE = 16


@dataclass(frozen=True, slots=True)
class BcgTemplate:
    """Shape of one BCG complex: a sum of Gaussian lobes, scaled to a peak of 1.

    Attributes
    ----------
    latency_s : numpy.ndarray
        Lobe centres after the R peak, in seconds.
    amplitude : numpy.ndarray
        Lobe amplitudes (signed).
    width_s : numpy.ndarray
        Lobe standard deviations, in seconds.
    """

    latency_s: FloatArray
    amplitude: FloatArray
    width_s: FloatArray

    def evaluate(self, t_s: FloatArray) -> FloatArray:
        """Return the template at times ``t_s`` after the R peak, scaled to a peak of 1.

        Parameters
        ----------
        t_s : numpy.ndarray
            Times after the R peak, in seconds.

        Returns
        -------
        numpy.ndarray
            Template values, zero outside ``[0, TEMPLATE_S)``.
        """
        t = np.asarray(t_s, dtype=np.float64)
        grid = np.linspace(0.0, TEMPLATE_S, 8000, dtype=np.float64)
        out = np.asarray(self._raw(t) / np.max(np.abs(self._raw(grid))), dtype=np.float64)
        out[(t < 0.0) | (t >= TEMPLATE_S)] = 0.0
        return out

    def _raw(self, t: FloatArray) -> FloatArray:
        z = (t[..., None] - self.latency_s) / self.width_s
        lobes = np.exp(-0.5 * z * z) * self.amplitude
        # Fade the last lobe out so the complex ends at zero.
        fade = np.clip((TEMPLATE_S - t) / 0.06, 0.0, 1.0)
        return np.asarray(lobes.sum(axis=-1) * fade, dtype=np.float64)

    @property
    def j_latency_s(self) -> float:
        """Time of the largest lobe after the R peak, in seconds."""
        return float(self.latency_s[int(np.argmax(np.abs(self.amplitude)))])


def subject_template(rng: np.random.Generator) -> BcgTemplate:
    """Draw the BCG shape of one person.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    BcgTemplate
        Nominal shape with a time scale of 0.88-1.08 (J at 0.2-0.246 s) and lobe amplitudes and
        widths varied by about 15 %.
    """
    scale = rng.uniform(0.88, 1.08)
    amplitude = _LOBES_A * rng.uniform(0.82, 1.18, _LOBES_A.size)
    amplitude[2] = 1.0  # J stays the dominant lobe
    return BcgTemplate(
        latency_s=_LOBES_T * scale,
        amplitude=amplitude,
        width_s=_LOBES_W * scale * rng.uniform(0.88, 1.15, _LOBES_W.size),
    )


def posture_variant(base: BcgTemplate, rng: np.random.Generator) -> BcgTemplate:
    """Shift a person's BCG shape slightly, as a change of posture does.

    Parameters
    ----------
    base : BcgTemplate
        The person's shape.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    BcgTemplate
        Lobe latencies moved by up to 8 ms (J by up to 4 ms), amplitudes by up to 20 %, and in 15 %
        of postures the polarity inverted (the film is bent the other way).
    """
    shift = rng.uniform(-0.008, 0.008, base.latency_s.size)
    shift[2] = rng.uniform(-0.004, 0.004)
    amplitude = base.amplitude * rng.uniform(0.8, 1.2, base.amplitude.size)
    amplitude[2] = base.amplitude[2]
    if rng.random() < 0.15:
        amplitude = -amplitude
    return replace(
        base,
        latency_s=np.maximum(base.latency_s + shift, 0.06),
        amplitude=amplitude,
    )


def legs_variant(base: BcgTemplate, rng: np.random.Generator) -> BcgTemplate:
    """Derive the shape seen by the legs channel: later, smoother, higher lobes damped.

    Parameters
    ----------
    base : BcgTemplate
        The torso shape.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    BcgTemplate
        Delayed by 10-30 ms with lobes 15-40 % wider.
    """
    delay = rng.uniform(0.010, 0.030)
    latency = np.minimum(base.latency_s + delay, TEMPLATE_S - 0.07)
    return replace(base, latency_s=latency, width_s=base.width_s * rng.uniform(1.15, 1.4))


def apply_hr_rises(
    rr_s: FloatArray, t0_s: float, rises: Sequence[tuple[float, float, int]]
) -> FloatArray:
    """Shorten beat intervals after events (a heart-rate rise).

    Parameters
    ----------
    rr_s : numpy.ndarray
        Beat intervals in seconds; the first beat falls at ``t0_s + rr_s[0]``.
    t0_s : float
        Time before the first beat.
    rises : sequence of (time_s, fraction, n_beats)
        From the first beat after ``time_s`` the next ``n_beats`` intervals are shortened along a
        half-sine profile peaking at ``fraction`` (0.2 shortens by 20 %, i.e. +25 % heart rate).

    Returns
    -------
    numpy.ndarray
        New intervals (same length).
    """
    rr = np.array(rr_s, dtype=np.float64)
    for time_s, fraction, n_beats in sorted(rises):
        times = t0_s + np.cumsum(rr)
        k = int(np.searchsorted(times, time_s))
        stop = min(k + n_beats, rr.size)
        j = np.arange(stop - k)
        rr[k:stop] *= 1.0 - fraction * np.sin(np.pi * (j + 1) / (n_beats + 1))
    return np.asarray(np.clip(rr, 0.33, 2.0), dtype=np.float64)


def beat_times(rr_s: FloatArray, t0_s: float) -> FloatArray:
    """Return R-peak times from beat intervals.

    Parameters
    ----------
    rr_s : numpy.ndarray
        Beat intervals in seconds.
    t0_s : float
        Time before the first beat (the first R peak is at ``t0_s + rr_s[0]``).

    Returns
    -------
    numpy.ndarray
        R-peak times in seconds.
    """
    return np.asarray(t0_s + np.cumsum(rr_s), dtype=np.float64)


def render_beats(
    n_samples: int,
    fs: float,
    *,
    times_s: FloatArray,
    amplitudes: FloatArray,
    template_ids: IntArray,
    templates: Sequence[BcgTemplate],
) -> FloatArray:
    """Render a BCG trace: one scaled template per beat.

    Parameters
    ----------
    n_samples : int
        Length of the output.
    fs : float
        Sample rate in Hz.
    times_s : numpy.ndarray
        R-peak times in seconds.
    amplitudes : numpy.ndarray
        Peak amplitude of each beat (sensor units).
    template_ids : numpy.ndarray of int
        Index into ``templates`` for each beat.
    templates : sequence of BcgTemplate
        Shapes.

    Returns
    -------
    numpy.ndarray
        The trace; templates are evaluated at sub-sample resolution (1/16 sample).
    """
    out = np.zeros(n_samples, dtype=np.float64)
    if times_s.size == 0:
        return out
    length = int(np.ceil(TEMPLATE_S * fs)) + 1
    grid = np.arange((length + 1) * _OVERSAMPLE) / (fs * _OVERSAMPLE)
    tables = np.stack([tpl.evaluate(grid) for tpl in templates])
    first = np.ceil(times_s * fs).astype(np.intp)
    phase = np.rint((first / fs - times_s) * fs * _OVERSAMPLE).astype(np.intp)
    m = np.arange(length, dtype=np.intp)
    idx = first[:, None] + m
    values = tables[template_ids[:, None], m * _OVERSAMPLE + phase[:, None]]
    values *= amplitudes[:, None]
    keep = (idx >= 0) & (idx < n_samples)
    out += np.bincount(idx[keep], weights=values[keep], minlength=n_samples)
    return out


def beat_window_peaks(trace: FloatArray, fs: float, times_s: FloatArray) -> FloatArray:
    """Return each beat's peak absolute value in ``[R + 0.08 s, R + 0.48 s]`` of ``trace``.

    Parameters
    ----------
    trace : numpy.ndarray
        A BCG-only trace (e.g. after the piezo high-pass).
    fs : float
        Sample rate in Hz.
    times_s : numpy.ndarray
        R-peak times in seconds.

    Returns
    -------
    numpy.ndarray
        One peak per beat; NaN where the window leaves the trace.
    """
    lo = np.ceil((times_s + 0.08) * fs).astype(np.intp)
    width = round(0.40 * fs)
    ok = (lo >= 0) & (lo + width <= trace.size)
    out = np.full(times_s.size, np.nan)
    out[ok] = np.abs(trace[lo[ok, None] + np.arange(width)]).max(axis=1)
    return out


def resample_resp(resp: FloatArray, fs_in: float, n_samples: int, fs: float) -> FloatArray:
    """Resample a slow respiration trace to ``fs`` with a cubic spline (no kinks at 10 Hz).

    Parameters
    ----------
    resp : numpy.ndarray
        Trace at ``fs_in``, covering at least ``n_samples / fs`` seconds.
    fs_in : float
        Its rate in Hz.
    n_samples : int
        Output length.
    fs : float
        Output rate in Hz.

    Returns
    -------
    numpy.ndarray
        The resampled trace.
    """
    spline = interpolate.CubicSpline(np.arange(resp.size) / fs_in, resp, extrapolate=True)
    return np.asarray(spline(np.arange(n_samples) / fs), dtype=np.float64)
