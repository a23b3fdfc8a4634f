"""Put a recording together: timeline, physiology, movements, front end, truth.

:func:`generate` is the entry point. Everything is driven by ``numpy.random.SeedSequence`` streams
derived from the seed, one per part (timeline, sleeper, partner, movements, vibrations, front end),
so the same scenario and seed give bit-identical samples and truth.

All mechanical signals are summed as *force* in sensor units; the front end high-passes, clamps,
adds noise and quantises. The truth amplitudes are exact because the high-pass is linear: each
movement's waveform is high-passed on its own (from rest) and scaled so that its high-passed peak
equals the target amplitude times the heartbeat amplitude of the current posture.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from detector.recording import Recording

from . import movements, people, refs
from .frontend import FrontEnd, apply_front_end, highpass
from .scenarios import Scenario, preset
from .timeline import PlannedEvent, Timeline, build_timeline
from .truth import build_truth

__all__ = ["CHANNEL_NAMES", "START_UNIX", "Synthesis", "generate", "resolve", "synthesize"]

FloatArray = npt.NDArray[np.float64]
Progress = Callable[[str], None]

CHANNEL_NAMES = ("torso", "legs")
#: UNIX time of sample 0 of every synthesized recording (2025-01-06 21:00 UTC).
START_UNIX = 1_736_197_200.0
_SALT = 0x51EE_9A7
#: Heartbeat amplitude (sensor units) used when nobody's heartbeat is there to compare with.
_NOMINAL_HB = (1.0, 0.4)


@dataclass(frozen=True, slots=True)
class Synthesis:
    """A synthesized recording plus its parts.

    Attributes
    ----------
    recording : Recording
        Samples and truth.
    timeline : Timeline
        The plan it was made from.
    components : dict of str to numpy.ndarray
        When requested: ``heartbeat``, ``respiration``, ``movements`` (the sleeper's),
        ``partner`` (all of the partner) and ``vibrations``, each ``(n, channels)`` in ADC counts
        after the linear high-pass, without noise, clamp or quantisation.
    """

    recording: Recording
    timeline: Timeline
    components: dict[str, FloatArray]


def resolve(scenario: Scenario | str, minutes: float | None = None) -> Scenario:
    """Return a :class:`Scenario` from a preset name or scenario, optionally with a new length.

    Parameters
    ----------
    scenario : Scenario or str
        A scenario or the name of a preset.
    minutes : float, optional
        New duration in minutes (see :meth:`Scenario.with_duration`).

    Returns
    -------
    Scenario
        The scenario to run.
    """
    sc = preset(scenario) if isinstance(scenario, str) else scenario
    return sc.with_duration(minutes * 60.0) if minutes is not None else sc


def _place(
    out: FloatArray, i0: int, wave: FloatArray, ch: int, target: float, *, sc: Scenario
) -> None:
    """Add ``wave`` at ``i0`` scaled so that its high-passed peak is ``target``.

    The last value is held to the end (a posture's new static load; zero for other movements).
    After the wave the force is constant, so the high-passed output only decays: the peak over
    the wave is the component's peak.
    """
    scale = target / float(np.max(np.abs(highpass(wave, sc.fs_hz, sc.highpass_hz))))
    out[i0 : i0 + wave.size, ch] += wave * scale
    if wave[-1] != 0.0:
        out[i0 + wave.size :, ch] += wave[-1] * scale


def _movement(
    out: FloatArray,
    ev: PlannedEvent,
    hb: FloatArray,
    sc: Scenario,
    rng: np.random.Generator,
    *,
    coupling: tuple[float, float],
) -> dict[str, Any]:
    """Synthesise one movement into ``out``; return its truth entry."""
    fs, nch = sc.fs_hz, sc.channels
    m = max(3, round(ev.duration_s * fs))
    i0 = min(round(ev.onset_s * fs), out.shape[0] - m)
    posture = ev.kind == "gross_movement"

    def shape() -> FloatArray:
        w = movements.waveform(ev.kind, m, fs, rng)
        return movements.settle(w, fs, rng) if posture else w

    wave = shape()
    ratios = np.zeros(nch)
    channel: str | None
    if nch == 1:
        ratios[0] = ev.amplitude
        _place(out, i0, wave, 0, ev.amplitude * hb[0], sc=sc)
        channel = CHANNEL_NAMES[0]
    elif ev.home is None:  # strong on both films: one gets the amplitude, the other 50-100 %
        ratios[:] = ev.amplitude
        ratios[int(rng.integers(0, 2))] *= rng.uniform(0.5, 1.0)
        for ch in range(nch):
            w = wave if ch == 0 else shape()
            _place(out, i0, w, ch, ratios[ch] * hb[ch], sc=sc)
        channel = None
    else:
        h = CHANNEL_NAMES.index(ev.home)
        o = 1 - h
        c = coupling[h] * rng.uniform(0.75, 1.0)
        c = min(c, 0.8 * hb[o] / hb[h])  # the home channel stays the strongest (relative)
        ratios[h], ratios[o] = ev.amplitude, c * ev.amplitude * hb[h] / hb[o]
        _place(out, i0, wave, h, ev.amplitude * hb[h], sc=sc)
        _place(out, i0, movements.crosstalk(wave, fs, rng), o, ratios[o] * hb[o], sc=sc)
        channel = ev.home
    return {
        "type": ev.kind,
        "onset": round(i0 / fs, 6),
        "duration": round(m / fs, 6),
        "channel": channel,
        "amplitude": round(float(ratios.max()), 4),
    }


def _front_end(sc: Scenario) -> FrontEnd:
    return FrontEnd(
        fs_hz=sc.fs_hz,
        highpass_hz=sc.highpass_hz,
        gain_counts_per_unit=sc.gain_counts_per_unit,
        adc_bits=sc.adc_bits,
        adc_offset_counts=sc.adc_offset_counts,
        white_noise_units=sc.white_noise_units,
        pink_noise_units=sc.pink_noise_units,
        drift_units=sc.drift_units,
        hum_hz=sc.hum_hz,
        hum_amplitude_units=sc.hum_amplitude_units,
        clamp=sc.clamp,
    )


def _events(
    plan: Timeline, sc: Scenario, user: people.Person | None, rng: np.random.Generator
) -> tuple[FloatArray, list[dict[str, Any]], FloatArray, list[dict[str, Any]]]:
    """Render the sleeper's and the partner's movements; return both signals and truths."""
    n, nch = round(sc.duration_s * sc.fs_hz), sc.channels
    reference = np.array(_NOMINAL_HB[:nch])
    if user is not None and user.hb_units.size:
        reference = np.median(user.hb_units, axis=0)

    def hb_at(t: float, later: float) -> FloatArray:
        hb = user.hb_at(t, later) if user is not None else None
        return reference if hb is None else hb

    coupling = (rng.uniform(0.2, 0.4), rng.uniform(0.2, 0.4))
    own = np.zeros((n, nch))
    truth = [
        _movement(own, e, hb_at(e.onset_s, e.end_s), sc, rng, coupling=coupling)
        for e in plan.events
    ]
    theirs = np.zeros((n, nch))
    partner_truth = []
    for ev in plan.partner_events:
        k = rng.uniform(*sc.partner_movement_coupling)
        seen = PlannedEvent(ev.kind, ev.onset_s, ev.duration_s, ev.home, ev.amplitude * k)
        entry = _movement(theirs, seen, hb_at(ev.onset_s, ev.onset_s), sc, rng, coupling=(0.9, 0.9))
        partner_truth.append(entry | {"coupling": round(float(k), 4)})
    return own, truth, theirs, partner_truth


def _vibrations(
    plan: Timeline, sc: Scenario, rng: np.random.Generator
) -> tuple[FloatArray, list[dict[str, Any]]]:
    fs, n, nch = sc.fs_hz, round(sc.duration_s * sc.fs_hz), sc.channels
    out = np.zeros((n, nch))
    truth = []
    for onset, dur, amp in plan.vibrations:
        m = max(3, round(dur * fs))
        i0 = min(round(onset * fs), n - m)
        wave = movements.waveform("vibration", m, fs, rng)
        for ch in range(nch):
            w = wave if ch == 0 else movements.crosstalk(wave, fs, rng)
            _place(out, i0, w, ch, amp * (1.0 if ch == 0 else rng.uniform(0.5, 1.0)), sc=sc)
        truth.append({"type": "vibration", "onset": round(i0 / fs, 6), "duration": m / fs})
    return out, truth


def synthesize(
    scenario: Scenario | str,
    seed: int = 0,
    *,
    minutes: float | None = None,
    refs_dir: Path | str | None = None,
    components: bool = False,
    progress: Progress | None = None,
) -> Synthesis:
    """Synthesise a recording and keep its parts (see :func:`generate`).

    Parameters
    ----------
    scenario : Scenario or str
        Scenario or preset name.
    seed : int
        Seed; the same seed gives bit-identical output.
    minutes : float, optional
        Override the duration.
    refs_dir : path-like, optional
        bcg-refs directory (default: ``$SLEEP_MYOCLONUS_BCG_REFS`` or
        ``<repo>/../shared/data/bcg-refs``).
    components : bool
        Also return the high-passed parts (costs memory on long nights).
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    Synthesis
        Recording (with truth), timeline and, if asked, components.

    Raises
    ------
    ValueError
        Invalid scenario or seed.
    refs.RefsError
        Data directory missing (only needed when someone is in bed).
    """
    say = progress or (lambda _msg: None)
    sc = resolve(scenario, minutes)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    fs, nch, n = sc.fs_hz, sc.channels, round(sc.duration_s * sc.fs_hz)
    names = CHANNEL_NAMES[:nch]
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([_SALT, seed]).spawn(6)]
    rng_plan, rng_user, rng_partner, rng_move, rng_vib, rng_fe = streams
    front = _front_end(sc)
    say(f"planning {sc.name}: {sc.duration_s / 3600:.2f} h, {nch} ch at {fs:g} Hz")
    # After large movements: quiet until a full-scale transient has decayed (8 tau ~ 1/3000).
    plan = build_timeline(sc, rng_plan, max(2.0, 8.0 * front.tau_s))
    subjects = refs.find_subjects(refs_dir) if sc.occupied or sc.partner else ()
    pick = rng_user.permutation(len(subjects))
    parts: dict[str, FloatArray] = {}
    sources: dict[str, Any] = {}
    user = None
    if sc.occupied:
        say("heartbeat and breathing")
        user = people.sleeper(plan, sc, subjects[pick[0]], rng_user)
        parts["heartbeat"], parts["respiration"] = user.bcg, user.resp
        sources["sleeper"] = user.sources
    if sc.partner:
        say("partner")
        parts["partner"], sources["partner"] = people.partner(
            plan, sc, subjects[pick[1]], rng_partner
        )
    say(f"{len(plan.events)} events, {len(plan.partner_events)} partner events")
    parts["movements"], events, partner_moves, partner_truth = _events(plan, sc, user, rng_move)
    if partner_truth:
        parts["partner"] = parts.get("partner", np.zeros((n, nch))) + partner_moves
    parts["vibrations"], disturbances = _vibrations(plan, sc, rng_vib)
    force = np.zeros((n, nch))
    for part in parts.values():
        force += part
    say("front end")
    samples = apply_front_end(force, front, rng_fe)
    heartbeat = []
    if user is not None:
        for (a, b), hb_k in zip(user.bounds, user.hb_units, strict=True):
            amp = {
                nm: round(float(v) * sc.gain_counts_per_unit, 3)
                for nm, v in zip(names, hb_k, strict=True)
            }
            heartbeat.append({"onset": round(a, 6), "end": round(b, 6), "amplitude": amp})
    truth = build_truth(
        events=events,
        in_bed=plan.in_bed,
        partner_events=partner_truth,
        heartbeat=heartbeat,
        disturbances=disturbances,
        scenario=sc.as_dict() | {"seed": seed, "sources": sources},
    )
    recording = Recording(samples=samples, fs=fs, start=START_UNIX, channels=names, truth=truth)
    kept: dict[str, FloatArray] = {}
    if components:
        for key in ("heartbeat", "respiration", "movements", "partner", "vibrations"):
            part = parts.get(key, np.zeros((n, nch)))
            kept[key] = highpass(part, fs, sc.highpass_hz) * sc.gain_counts_per_unit
    say("done")
    return Synthesis(recording=recording, timeline=plan, components=kept)


def generate(
    scenario: Scenario | str,
    seed: int = 0,
    *,
    minutes: float | None = None,
    refs_dir: Path | str | None = None,
    progress: Progress | None = None,
) -> Recording:
    """Synthesise an under-mattress piezo recording with exact ground truth.

    Parameters
    ----------
    scenario : Scenario or str
        A scenario or the name of a preset (:data:`~.scenarios.PRESETS`).
    seed : int
        Seed (non-negative); the same scenario and seed give bit-identical output.
    minutes : float, optional
        Override the duration (the night keeps its shape, see
        :meth:`~.scenarios.Scenario.with_duration`).
    refs_dir : path-like, optional
        bcg-refs data directory.
    progress : callable, optional
        Called with a short message at each stage (e.g. to print on stderr).

    Returns
    -------
    Recording
        int16 samples ``(n, channels)`` with ``truth`` filled (schema in :mod:`.truth`).

    Raises
    ------
    ValueError
        Invalid scenario or seed.
    KeyError
        Unknown preset name.
    refs.RefsError
        The bcg-refs data directory is missing.
    """
    return synthesize(
        scenario, seed, minutes=minutes, refs_dir=refs_dir, progress=progress
    ).recording
