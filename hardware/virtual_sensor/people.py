"""Heartbeat and breathing of the people in bed, posture by posture.

A person's night is split into *postures* at every gross movement. Each posture has its own
heartbeat size (x0.6-1.5 of the previous one), breathing size (x0.6-1.5, kept at 4-7 heartbeats)
and BCG shape; the legs channel sees both at 0.3-0.5x. The heartbeat amplitude of each posture is
measured on the high-passed BCG alone (median of the per-beat peaks): it is the reference for every
movement amplitude in the truth.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from . import physiology, refs
from .frontend import drift, highpass
from .scenarios import Scenario
from .timeline import PlannedEvent, Timeline

__all__ = ["HR_RISE_BEATS", "Person", "partner", "posture_bounds", "render_person", "sleeper"]

FloatArray = npt.NDArray[np.float64]

#: Beats over which the heart rate rises after each kind of event.
HR_RISE_BEATS = {"hypnic_jerk": 12, "gross_movement": 15, "limb_movement": 8}


@dataclass(slots=True)
class Person:
    """Heartbeat and breathing force of one person, with per-posture heartbeat amplitudes.

    Attributes
    ----------
    bcg, resp : numpy.ndarray
        Heartbeat and breathing force, ``(n, channels)``, sensor units.
    bounds : list of (onset_s, end_s)
        Postures (in-bed time split at gross movements).
    hb_units : numpy.ndarray
        Heartbeat amplitude per posture and channel after the high-pass, sensor units.
    sources : dict
        Which real-data excerpts were used.
    """

    bcg: FloatArray
    resp: FloatArray
    bounds: list[tuple[float, float]]
    hb_units: FloatArray  # (segments, channels), after the high-pass
    sources: dict[str, Any] = field(default_factory=dict)

    def hb_at(self, t: float, later: float) -> FloatArray | None:
        """Return the heartbeat amplitudes of the posture at ``t`` (else at ``later``), or None."""
        for when in (t, later):
            for k, (a, b) in enumerate(self.bounds):
                if a <= when < b:
                    return np.asarray(self.hb_units[k])
        return None


def posture_bounds(
    in_bed: Sequence[tuple[float, float]], events: Sequence[PlannedEvent]
) -> list[tuple[float, float]]:
    """Split in-bed time into postures at the middle of every gross movement.

    Parameters
    ----------
    in_bed : sequence of (onset_s, end_s)
        In-bed intervals.
    events : sequence of PlannedEvent
        The person's movements; entry and exit movements move the first and last bound to their
        middle.

    Returns
    -------
    list of (onset_s, end_s)
        Postures in time order.
    """
    bounds = []
    for on, off in in_bed:
        cuts = [on, off]
        for e in events:
            if e.kind == "gross_movement" and on <= e.onset_s < off:
                mid = e.onset_s + 0.5 * e.duration_s
                if e.context == "entry":
                    cuts[0] = mid
                elif e.context == "exit":
                    cuts[1] = mid
                else:
                    cuts.append(mid)
        edges = sorted(set(cuts))
        bounds += [(a, b) for a, b in itertools.pairwise(edges) if b > a]
    return bounds


def render_person(
    subject: refs.Subject,
    bounds: list[tuple[float, float]],
    rises: Sequence[tuple[float, float, int]],
    sc: Scenario,
    rng: np.random.Generator,
) -> Person:
    """Render one person's heartbeat and breathing over the whole recording.

    Parameters
    ----------
    subject : refs.Subject
        Whose beat intervals and respiration to use (random offsets into the nights).
    bounds : list of (onset_s, end_s)
        Postures; outside them the person is not in bed (no signal).
    rises : sequence of (time_s, fraction, n_beats)
        Heart-rate rises (see :func:`.physiology.apply_hr_rises`).
    sc : Scenario
        Settings (fs, duration, channels, high-pass, breathing ratio).
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    Person
        Force signals and the per-posture heartbeat amplitudes.
    """
    fs, n, nch = sc.fs_hz, round(sc.duration_s * sc.fs_hz), sc.channels
    rr, rr_offset = refs.rr_excerpt(subject, sc.duration_s + 120.0, rng)
    resp10, resp_fs, resp_offset = refs.resp_excerpt(subject, sc.duration_s + 5.0, rng)
    t0 = -float(rng.uniform(0.0, rr[0]))
    times = physiology.beat_times(physiology.apply_hr_rises(rr, t0, rises), t0)
    edges = np.array([a for a, _ in bounds] + [bounds[-1][1]]) if bounds else np.zeros(1)
    seg = np.searchsorted(edges, times, side="right") - 1
    inside = (seg >= 0) & (seg < len(bounds)) & (times < edges[-1])
    times, seg = times[inside], seg[inside]
    # Per posture: heartbeat size per channel, breathing/heartbeat ratio, template shapes.
    base = physiology.subject_template(rng)
    size, legs_rel, resp_legs_rel = (
        rng.uniform(0.7, 1.4),
        rng.uniform(0.3, 0.5),
        rng.uniform(0.3, 0.5),
    )
    gain = np.zeros((len(bounds), nch))
    resp_gain = np.zeros((len(bounds), nch))
    templates: list[physiology.BcgTemplate] = []
    factor = 1.0
    for k in range(len(bounds)):
        if k:
            factor = float(np.clip(factor * rng.uniform(0.6, 1.5), 0.4, 2.5))
        torso = physiology.posture_variant(base, rng)
        templates += [torso, physiology.legs_variant(torso, rng)][:nch]
        gain[k, 0] = size * factor
        # Breathing changes by x0.6-1.5 too, staying 4-7 heartbeats (respiration_ratio).
        lo, hi = (r * gain[k, 0] for r in sc.respiration_ratio)
        drawn = resp_gain[k - 1, 0] * rng.uniform(0.6, 1.5) if k else rng.uniform(lo, hi)
        resp_gain[k, 0] = float(np.clip(drawn, lo, hi))
        if nch == 2:
            gain[k, 1] = gain[k, 0] * legs_rel * rng.uniform(0.85, 1.15)
            resp_gain[k, 1] = resp_gain[k, 0] * resp_legs_rel
    resp_at_beats = np.clip(np.interp(times * resp_fs, np.arange(resp10.size), resp10), -1.5, 1.5)
    per_beat = np.exp(rng.normal(0.0, rng.uniform(0.05, 0.1), times.size))
    per_beat *= 1.0 + rng.uniform(0.1, 0.2) * resp_at_beats
    # Slow wander of the coupling (minutes, ~5 %), as muscle tone and bedding settle.
    wander = drift(int(sc.duration_s) + 3, 1.0, 0.05, rng)
    per_beat *= 1.0 + np.clip(np.interp(times, np.arange(wander.size), wander), -0.15, 0.15)
    bcg = np.zeros((n, nch))
    hb = np.zeros((len(bounds), nch))
    for ch in range(nch):
        bcg[:, ch] = physiology.render_beats(
            n,
            fs,
            times_s=times,
            amplitudes=per_beat * gain[seg, ch],
            template_ids=seg * nch + ch,
            templates=templates,
        )
        peaks = physiology.beat_window_peaks(highpass(bcg[:, ch], fs, sc.highpass_hz), fs, times)
        for k in range(len(bounds)):
            ok = (seg == k) & np.isfinite(peaks)
            hb[k, ch] = float(np.median(peaks[ok])) if ok.any() else gain[k, ch]
    # Breathing, with the posture's amplitude, faded in and out over 1 s at posture changes.
    k_sample = np.searchsorted(edges, np.arange(n) / fs, side="right") - 1
    valid = (k_sample >= 0) & (k_sample < len(bounds))
    resp_wave = physiology.resample_resp(resp10, resp_fs, n, fs)
    resp = np.zeros((n, nch))
    for ch in range(nch):
        g = np.where(valid, resp_gain[np.clip(k_sample, 0, max(len(bounds) - 1, 0)), ch], 0.0)
        resp[:, ch] = resp_wave * ndimage.uniform_filter1d(g, max(int(fs), 1), mode="nearest")
    sources = {
        "subject": subject.subject,
        "rr_file": subject.rr_path.name,
        "rr_offset_beats": rr_offset,
        "resp_file": subject.resp_path.name,
        "resp_offset_samples": resp_offset,
    }
    return Person(bcg, resp, bounds, hb, sources)


def sleeper(
    plan: Timeline, sc: Scenario, subject: refs.Subject, rng: np.random.Generator
) -> Person:
    """Render the sleeper, with heart-rate rises after the planned events.

    Parameters
    ----------
    plan : Timeline
        The night.
    sc : Scenario
        Settings.
    subject : refs.Subject
        Whose physiology to use.
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    Person
        Heartbeat, breathing and per-posture heartbeat amplitudes.
    """
    rises = [(e.end_s, e.hr_rise, HR_RISE_BEATS[e.kind]) for e in plan.events if e.hr_rise > 0]
    return render_person(subject, posture_bounds(plan.in_bed, plan.events), rises, sc, rng)


def partner(
    plan: Timeline, sc: Scenario, subject: refs.Subject, rng: np.random.Generator
) -> tuple[FloatArray, dict[str, Any]]:
    """Render the partner's heartbeat and breathing as this sensor picks them up.

    Parameters
    ----------
    plan : Timeline
        The night (``partner_in_bed``, ``partner_events``).
    sc : Scenario
        Settings (``partner_coupling``).
    subject : refs.Subject
        Whose physiology to use (not the sleeper's).
    rng : numpy.random.Generator
        Random source.

    Returns
    -------
    force : numpy.ndarray
        ``(n, channels)``, already scaled by the coupling (0.1-0.4x per channel).
    sources : dict
        Provenance, including the coupling.
    """
    bounds = posture_bounds(plan.partner_in_bed, plan.partner_events)
    partner = render_person(subject, bounds, [], sc, rng)
    k = rng.uniform(*sc.partner_coupling, sc.channels)
    sources = partner.sources | {"coupling": [round(float(v), 4) for v in k]}
    return (partner.bcg + partner.resp) * k, sources
