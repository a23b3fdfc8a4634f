"""Force waveforms of body movements as an under-mattress film sees them.

Each generator returns the movement's force trace over exactly its duration (zero before and after),
scaled to a peak of 1, *before* the piezo high-pass. The synthesiser high-passes it and rescales it
so the high-passed peak matches the event's amplitude.

Shapes (all with random variation):

* **twitch** (75-450 ms): a muscle burst (band-limited 5-45 Hz noise under a fast-attack envelope)
  plus the body's biphasic push, rung through the mattress (5-12 Hz damped resonance). Short ones
  are burst-like (EMG bursts of 75-250 ms), longer ones myoclonic jerks with a stronger push.
* **hypnic_jerk** (0.15-1 s): one large biphasic whole-body jerk with a rebound, burst and ringing.
* **limb_movement** (0.5-10 s): slow leg motion (0.4-4 Hz) under a plateau envelope, with
  tremor-like 4-30 Hz content and often an onset jerk.
* **gross_movement** (10-45 s): several sub-movements over a continuous level of activity (turning
  over), slow and fast content.
* **vibration**: a damped 8-30 Hz oscillation from the building (a door, a lorry) -- not an event.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["KINDS", "crosstalk", "settle", "waveform"]

FloatArray = npt.NDArray[np.float64]


def _scaled(x: FloatArray, factor: float) -> FloatArray:
    return np.asarray(x * factor, dtype=np.float64)


def _band_noise(
    n: int, fs: float, lo_hz: float, hi_hz: float, rng: np.random.Generator
) -> FloatArray:
    """Gaussian noise band-limited to about ``[lo_hz, hi_hz]``, unit RMS."""
    size = max(4 * n, 512)
    spec = rng.standard_normal(size // 2 + 1) + 1j * rng.standard_normal(size // 2 + 1)
    f = np.fft.rfftfreq(size, 1.0 / fs)
    f[0] = 1e-9
    hi_hz = min(hi_hz, 0.45 * fs)
    gain = 1.0 / (1.0 + (lo_hz / f) ** 4) / (1.0 + (f / hi_hz) ** 4)
    start = (size - n) // 2
    x = np.asarray(np.fft.irfft(spec * gain, size)[start : start + n], dtype=np.float64)
    rms = float(np.sqrt(np.mean(x * x))) if n else 0.0
    return _scaled(x, 1.0 / rms if rms > 0 else 1.0)


def _burst_envelope(n: int, attack: float, power: float) -> FloatArray:
    """Rise as sin^2 to 1 at ``attack`` (fraction of the length), then fall to 0 at the end."""
    t = (np.arange(n) + 0.5) / n
    rise = np.sin(0.5 * np.pi * np.clip(t / attack, 0.0, 1.0)) ** 2
    fall = np.clip((1.0 - t) / (1.0 - attack), 0.0, 1.0) ** power
    return np.asarray(np.where(t < attack, rise, fall), dtype=np.float64)


def _plateau_envelope(n: int, fs: float, rise_s: float, fall_s: float) -> FloatArray:
    """Raised-cosine ramps up over ``rise_s`` and down over ``fall_s``, 1 in between."""
    t = (np.arange(n) + 0.5) / fs
    dur = n / fs
    up = 0.5 - 0.5 * np.cos(np.pi * np.clip(t / rise_s, 0.0, 1.0))
    down = 0.5 - 0.5 * np.cos(np.pi * np.clip((dur - t) / fall_s, 0.0, 1.0))
    return np.asarray(up * down, dtype=np.float64)


def _biphasic(n: int, fs: float, centre_s: float, sigma_s: float) -> FloatArray:
    """Derivative-of-Gaussian pulse (a push and its rebound), peak 1."""
    z = ((np.arange(n) + 0.5) / fs - centre_s) / sigma_s
    x = -z * np.exp(0.5 - 0.5 * z * z)
    return np.asarray(x, dtype=np.float64)


def _ring(x: FloatArray, fs: float, rng: np.random.Generator, mix: float) -> FloatArray:
    """Add the mattress/body resonance: convolve with a damped 5-12 Hz oscillation."""
    f0 = rng.uniform(5.0, 12.0)
    tau = rng.uniform(0.03, 0.09)
    t = np.arange(int(5 * tau * fs) + 1) / fs
    h = np.exp(-t / tau) * np.sin(2 * np.pi * f0 * t)
    h /= np.abs(h).sum()
    rung = np.convolve(x, h)[: x.size]
    peak = float(np.max(np.abs(rung))) or 1.0
    return np.asarray(x + mix * rung * float(np.max(np.abs(x))) / peak, dtype=np.float64)


def _rest_to_rest(x: FloatArray) -> FloatArray:
    """Remove the net impulse and net displacement (zeroth and first moments).

    The dynamic force of a body part that starts and ends at rest in the same place integrates to
    zero (no net momentum) and so does its first moment (no net displacement). Without this the
    piezo high-pass would leave a slow tail after the movement.
    """
    t = (np.arange(x.size) + 0.5) / x.size
    w0 = np.sin(np.pi * t) ** 2
    w1 = w0 * (t - 0.5)
    a = x.sum() / w0.sum()
    b = ((t - 0.5) * x).sum() / ((t - 0.5) * w1).sum()
    return np.asarray(x - a * w0 - b * w1, dtype=np.float64)


def _finish(x: FloatArray, fs: float) -> FloatArray:
    """Taper the last 30 ms, make it rest-to-rest, zero both ends and scale to a peak of 1."""
    k = min(max(int(0.03 * fs), 1), max(x.size // 4, 1))
    x = np.array(x, dtype=np.float64)
    x[-k:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(k) + 1) / k)
    x = _rest_to_rest(x)
    x[0] = x[-1] = 0.0
    peak = float(np.max(np.abs(x)))
    return _scaled(x, 1.0 / peak if peak > 0 else 1.0)


def _twitch(n: int, fs: float, rng: np.random.Generator) -> FloatArray:
    dur = n / fs
    jerky = dur > 0.25 or rng.random() < 0.3
    env = _burst_envelope(n, rng.uniform(0.12, 0.35), rng.uniform(1.0, 2.2))
    burst = _band_noise(n, fs, rng.uniform(5.0, 10.0), rng.uniform(18.0, 45.0), rng) * env
    push = _biphasic(n, fs, rng.uniform(0.3, 0.5) * dur, dur * rng.uniform(0.12, 0.2))
    weight = rng.uniform(0.8, 1.6) if jerky else rng.uniform(0.1, 0.6)
    x = burst / (np.max(np.abs(burst)) or 1.0) + weight * rng.choice((-1.0, 1.0)) * push
    return _finish(_ring(x, fs, rng, rng.uniform(0.2, 0.8)), fs)


def _hypnic(n: int, fs: float, rng: np.random.Generator) -> FloatArray:
    dur = n / fs
    centre = rng.uniform(0.2, 0.35) * dur
    push = _biphasic(n, fs, centre, dur * rng.uniform(0.08, 0.14))
    rebound = _biphasic(n, fs, centre + rng.uniform(0.25, 0.4) * dur, dur * 0.12)
    env = _burst_envelope(n, rng.uniform(0.15, 0.3), rng.uniform(0.8, 1.5))
    burst = _band_noise(n, fs, 4.0, rng.uniform(20.0, 40.0), rng) * env
    x = (
        push
        - rng.uniform(0.3, 0.6) * rebound
        + rng.uniform(0.2, 0.5) * burst / (np.max(np.abs(burst)) or 1.0)
    )
    return _finish(_ring(x * rng.choice((-1.0, 1.0)), fs, rng, rng.uniform(0.4, 1.0)), fs)


def _limb(n: int, fs: float, rng: np.random.Generator) -> FloatArray:
    dur = n / fs
    edge = min(rng.uniform(0.1, 0.35), 0.3 * dur)
    env = _plateau_envelope(n, fs, edge, min(rng.uniform(0.15, 0.5), 0.4 * dur))
    slow = _band_noise(n, fs, 0.4, rng.uniform(2.0, 4.0), rng)
    wobble = 0.6 + 0.4 * _band_noise(n, fs, 0.2, 1.0, rng)
    fast = _band_noise(n, fs, rng.uniform(4.0, 8.0), rng.uniform(15.0, 30.0), rng) * wobble
    x = (slow + rng.uniform(0.3, 0.7) * fast) * env
    if rng.random() < 0.6:  # onset jerk as the leg starts to move
        m = max(int(min(0.3, dur / 3) * fs), 4)
        jerk = _biphasic(m, fs, 0.4 * m / fs, 0.15 * m / fs) * rng.uniform(1.0, 2.0)
        x[:m] += jerk * float(np.max(np.abs(x))) * rng.choice((-1.0, 1.0))
    return _finish(_ring(x, fs, rng, rng.uniform(0.1, 0.4)), fs)


def _gross(n: int, fs: float, rng: np.random.Generator) -> FloatArray:
    dur = n / fs
    t = (np.arange(n) + 0.5) / fs
    env = np.full(n, rng.uniform(0.2, 0.4))
    k = 2 + int(rng.integers(0, 2 + int(dur // 8)))
    centres = np.sort(rng.uniform(0.5, dur - 0.5, k))
    centres[0], centres[-1] = rng.uniform(0.3, 1.5), dur - rng.uniform(0.3, 1.5)
    for c in centres:
        width = rng.uniform(0.5, 2.5)
        env += rng.uniform(0.5, 1.0) * np.exp(-0.5 * ((t - c) / width) ** 2)
    env *= _plateau_envelope(n, fs, rng.uniform(0.2, 0.6), rng.uniform(0.3, 1.0))
    slow = _band_noise(n, fs, 0.3, rng.uniform(2.0, 4.0), rng)
    fast = _band_noise(n, fs, 3.0, rng.uniform(15.0, 35.0), rng)
    x = (slow + rng.uniform(0.3, 0.7) * fast) * env
    return _finish(_ring(x, fs, rng, rng.uniform(0.1, 0.3)), fs)


def _vibration(n: int, fs: float, rng: np.random.Generator) -> FloatArray:
    t = (np.arange(n) + 0.5) / fs
    f0 = rng.uniform(8.0, min(30.0, 0.4 * fs))
    tau = rng.uniform(0.15, 0.5) * n / fs
    x = np.exp(-t / tau) * np.sin(2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi))
    x += 0.3 * np.exp(-t / tau) * _band_noise(n, fs, 5.0, 40.0, rng) / 3.0
    x *= np.clip(t / 0.02, 0.0, 1.0)
    return _finish(x, fs)


_GENERATORS: dict[str, Callable[[int, float, np.random.Generator], FloatArray]] = {
    "twitch": _twitch,
    "hypnic_jerk": _hypnic,
    "limb_movement": _limb,
    "gross_movement": _gross,
    "vibration": _vibration,
}

#: Waveform kinds: the four event types plus ``vibration`` (building vibration, not an event).
KINDS = tuple(_GENERATORS)


def waveform(kind: str, n_samples: int, fs: float, rng: np.random.Generator) -> FloatArray:
    """Generate the force waveform of one movement.

    Parameters
    ----------
    kind : str
        One of :data:`KINDS`.
    n_samples : int
        Length in samples (the movement's duration times ``fs``); at least 3.
    fs : float
        Sample rate in Hz.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    numpy.ndarray
        ``n_samples`` values, zero at the first and last sample, peak absolute value 1, with no
        net impulse or displacement (the body part ends where it started, at rest).

    Raises
    ------
    ValueError
        For an unknown kind or fewer than 3 samples.
    """
    if kind not in _GENERATORS:
        raise ValueError(f"unknown movement kind {kind!r}; expected one of {KINDS}")
    if n_samples < 3:
        raise ValueError(f"a movement needs at least 3 samples, got {n_samples}")
    return _GENERATORS[kind](n_samples, fs, rng)


def settle(wave: FloatArray, fs: float, rng: np.random.Generator) -> FloatArray:
    """Add the change of static load at the end of a posture change.

    After turning over, the body rests on the film differently: the force steps by 20-100 % of the
    movement's peak over its last 0.15-0.4 s and *stays* there (the caller holds the last value).
    The piezo high-pass turns the step into a transient that decays with tau = RC after the
    movement (and may clamp first): the saturation recovery a detector has to blank.

    Parameters
    ----------
    wave : numpy.ndarray
        A gross movement's waveform (peak 1, ends at zero).
    fs : float
        Sample rate in Hz.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    numpy.ndarray
        The waveform plus a smooth step ending at the new level (its last sample).
    """
    k = min(max(round(rng.uniform(0.15, 0.4) * fs), 2), max(wave.size // 4, 2))
    step = rng.uniform(0.2, 1.0) * rng.choice((-1.0, 1.0))
    ramp = np.zeros(wave.size)
    ramp[-k:] = step * (0.5 - 0.5 * np.cos(np.pi * (np.arange(k) + 1) / k))
    return np.asarray(wave + ramp, dtype=np.float64)


def crosstalk(wave: FloatArray, fs: float, rng: np.random.Generator) -> FloatArray:
    """Return what the *other* channel picks up of a movement, before scaling.

    The mattress low-passes (6-15 Hz) and delays (0-15 ms) what it carries to the other film, and
    that film also picks up some motion of its own (20-40 % independent content under the same
    envelope).

    Parameters
    ----------
    wave : numpy.ndarray
        The movement's waveform on its own channel.
    fs : float
        Sample rate in Hz.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    numpy.ndarray
        Same length as ``wave``, peak 1, zero at both ends, rest-to-rest.
    """
    n = wave.size
    size = max(2 * n, 64)
    f = np.fft.rfftfreq(size, 1.0 / fs)
    spec = np.fft.rfft(wave, size) / (1.0 + (f / rng.uniform(6.0, 15.0)) ** 2)
    spec *= np.exp(-2j * np.pi * f * rng.uniform(0.0, 0.015))
    carried = np.fft.irfft(spec, size)[:n]
    carried /= float(np.max(np.abs(carried))) or 1.0
    k = max(int(0.05 * fs), 1)
    envelope = np.convolve(np.abs(wave), np.ones(k) / k, mode="same")
    own = _band_noise(n, fs, 2.0, 25.0, rng) * envelope
    own /= float(np.max(np.abs(own))) or 1.0
    return _finish(carried + rng.uniform(0.2, 0.4) * own, fs)
