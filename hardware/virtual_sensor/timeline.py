"""The night's timeline: who is in bed when, sleep states, and every movement with its target size.

Built from a :class:`~.scenarios.Scenario` by a seeded random generator, in this order: bed entry
and exit, sleep architecture (:mod:`.sleep`) with hypnic jerks at sleep onsets, gross movements,
evening restlessness, PLM episodes, isolated limb movements, twitches (single and in clusters),
then the partner and building vibrations. No two movements overlap: each keeps at least
1 s from the next, and after a large one (amplitude >= 50 or a gross movement) a further
``recovery_s`` (a few high-pass time constants, the time a detector must blank after clipping).
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass

import numpy as np

from .scenarios import Scenario
from .sleep import plan_sleep

__all__ = ["GAP_S", "PlannedEvent", "Timeline", "build_timeline"]

#: Minimum gap between movements (seconds), with a margin for rounding onsets to samples.
GAP_S = 1.05

_TWITCH_BANDS = ((1.0, 3.0), (3.0, 10.0), (10.0, 20.0))
_STATE_WEIGHTS = {
    "twitch": {"nrem": 0.7, "rem": 2.5, "wake": 0.4},
    "cluster": {"nrem": 1.0, "rem": 2.0, "wake": 0.3},
    "lm": {"nrem": 1.0, "rem": 0.3, "wake": 1.5},
    "gross": {"nrem": 0.9, "rem": 0.4, "wake": 2.0},
}


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    """A movement to synthesise.

    Attributes
    ----------
    kind : str
        ``twitch``, ``hypnic_jerk``, ``limb_movement`` or ``gross_movement``.
    onset_s, duration_s : float
        Timing in seconds from the recording start.
    home : str or None
        Channel the movement comes from (``torso``/``legs``), ``None`` for both.
    amplitude : float
        Target peak on the home channel relative to the heartbeat amplitude there.
    hr_rise : float
        Heart-rate rise afterwards as the fractional shortening of beat intervals (0 = none).
    context : str
        Why it is there (``entry``, ``exit``, ``onset``, ``plm``, ``rls``, ``cluster``, ...).
    """

    kind: str
    onset_s: float
    duration_s: float
    home: str | None
    amplitude: float
    hr_rise: float = 0.0
    context: str = ""

    @property
    def end_s(self) -> float:
        """End of the movement in seconds."""
        return self.onset_s + self.duration_s


@dataclass(frozen=True, slots=True)
class Timeline:
    """The plan of one recording (see the module docstring)."""

    duration_s: float
    in_bed: tuple[tuple[float, float], ...]
    states: tuple[tuple[float, float, str], ...]
    events: tuple[PlannedEvent, ...]
    partner_in_bed: tuple[tuple[float, float], ...]
    partner_events: tuple[PlannedEvent, ...]
    vibrations: tuple[tuple[float, float, float], ...]


class _Occupancy:
    """Reserved, non-overlapping intervals (padded by the gap and any recovery time)."""

    def __init__(self, duration_s: float) -> None:
        self.starts: list[float] = []
        self.ends: list[float] = []
        self.duration_s = duration_s

    def free(self, a: float, b: float) -> bool:
        if a < 0.5 or b > self.duration_s - 0.5:
            return False
        i = bisect.bisect_left(self.starts, b + GAP_S)
        return i == 0 or self.ends[i - 1] + GAP_S <= a

    def reserve(self, a: float, b: float, extra: float = 0.0) -> bool:
        if not self.free(a, b):
            return False
        i = bisect.bisect_left(self.starts, a)
        self.starts.insert(i, a)
        self.ends.insert(i, b + extra)
        return True


class _Planner:
    def __init__(self, sc: Scenario, rng: np.random.Generator, recovery_s: float) -> None:
        self.sc, self.rng, self.recovery_s = sc, rng, recovery_s
        self.occ = _Occupancy(sc.duration_s)
        self.events: list[PlannedEvent] = []
        self.partner_events: list[PlannedEvent] = []
        self.states: list[tuple[float, float, str]] = []
        self.in_bed: list[tuple[float, float]] = []
        self.partner_in_bed: list[tuple[float, float]] = []
        self.vibrations: list[tuple[float, float, float]] = []

    # -- drawing helpers ----------------------------------------------------------------------
    def on_grid(self, at: float, dur: float) -> tuple[float, float]:
        """Snap onset and duration to whole samples (at least 3), so truth matches the samples."""
        fs = self.sc.fs_hz
        return round(at * fs) / fs, max(round(dur * fs), 3) / fs

    def loguniform(self, lo: float, hi: float) -> float:
        return float(math.exp(self.rng.uniform(math.log(lo), math.log(hi))))

    def lm_duration(self, median_s: float, sigma: float, hi: float = 9.5) -> float:
        return float(np.clip(median_s * math.exp(self.rng.normal(0.0, sigma)), 0.52, hi))

    def twitch(self, at: float, context: str, partner: bool = False) -> bool:
        w = np.asarray(self.sc.twitch_band_weights, dtype=float)
        lo, hi = _TWITCH_BANDS[int(self.rng.choice(3, p=w / w.sum()))]
        if self.rng.random() < 0.7:
            dur = self.rng.uniform(0.075, 0.25)  # EMG-like burst
        else:
            dur = self.rng.uniform(0.25, 0.45)  # myoclonic jerk
        home = "legs" if self.rng.random() < 0.5 else "torso"
        return self.add(
            "twitch", at, dur, home, self.loguniform(lo, hi), context=context, partner=partner
        )

    def add(
        self,
        kind: str,
        at: float,
        dur: float,
        home: str | None,
        amplitude: float,
        *,
        context: str,
        hr_rise: float = 0.0,
        partner: bool = False,
    ) -> bool:
        big = kind == "gross_movement" or amplitude >= 50.0
        at, dur = self.on_grid(at, dur)
        beds = self.partner_in_bed if partner else self.in_bed
        if context not in ("entry", "exit") and not any(a <= at and at + dur <= b for a, b in beds):
            return False
        if not self.occ.reserve(at, at + dur, self.recovery_s if big else 0.0):
            return False
        event = PlannedEvent(kind, at, dur, home, amplitude, hr_rise, context)
        (self.partner_events if partner else self.events).append(event)
        return True

    def gross(
        self,
        at: float,
        context: str,
        short: bool = False,
        partner: bool = False,
        dur: float | None = None,
    ) -> bool:
        if context in ("entry", "exit"):
            amp = self.loguniform(200.0, 1000.0)
            dur = self.rng.uniform(12.0, 35.0) if dur is None else dur
        else:
            dur = self.rng.uniform(10.5, 16.0) if short else self.loguniform(10.5, 45.0)
            amp = self.loguniform(100.0, 1000.0)
        rise = 0.0 if context in ("entry", "exit") else self.rng.uniform(0.08, 0.2)
        return self.add(
            "gross_movement", at, dur, None, amp, context=context, hr_rise=rise, partner=partner
        )

    def poisson(self, key: str, rate_per_h: float) -> list[tuple[float, str]]:
        times: list[tuple[float, str]] = []
        for a, b, label in self.states:
            weight = _STATE_WEIGHTS[key].get(label, 0.0)
            k = int(self.rng.poisson(rate_per_h * weight * (b - a) / 3600.0))
            times += [(float(t), label) for t in self.rng.uniform(a, b, k)]
        return sorted(times)

    # -- the sleeper -------------------------------------------------------------------------
    def sleep(self, t: float, t_end: float, from_wake: bool) -> None:
        sc, rng = self.sc, self.rng
        lo, hi = sc.onset_attempts
        plan = plan_sleep(
            t,
            t_end,
            rng,
            from_wake=from_wake,
            attempts=int(rng.integers(lo, hi + 1)),
            p_hypnic=sc.hypnic_jerk_probability,
            wake_periods_per_h=sc.wake_periods_per_h,
        )
        self.states += plan.states
        for jerk in plan.jerks:
            home = "legs" if rng.random() < 0.4 else "torso"
            amp, rise = self.loguniform(20.0, 200.0), rng.uniform(0.15, 0.3)
            dur = self.loguniform(0.15, 1.0)
            self.add("hypnic_jerk", jerk, dur, home, amp, context="onset", hr_rise=rise)
        for w, back in plan.wakes:  # turning over when waking up and before falling asleep
            if rng.random() < 0.5:
                self.gross(w + rng.uniform(0.0, 20.0), "wake")
            if rng.random() < 0.4:
                self.gross(back - rng.uniform(12.0, 40.0), "wake")

    def plan_sleeper(self) -> None:
        sc, rng, d = self.sc, self.rng, self.sc.duration_s
        t, awake = 0.0, sc.start_awake
        bed_on, bed_off, sleep_end = 0.0, d, d
        # Entry and exit movements: 12-35 s, shorter when the stay in bed is short.
        longest = max(10.5, min(35.0, (d - sc.empty_lead_s - sc.empty_tail_s) / 3.0))
        if sc.empty_lead_s > 0:
            dur = rng.uniform(min(12.0, longest), longest)
            if self.gross(sc.empty_lead_s, "entry", dur=dur):
                entry = self.events[-1]
                bed_on, t, awake = entry.onset_s, entry.end_s + self.recovery_s, True
                self.states.append((0.0, bed_on, "empty"))
        if sc.empty_tail_s > 0:
            dur = rng.uniform(min(12.0, longest), longest)
            if self.gross(d - sc.empty_tail_s - dur, "exit", dur=dur):
                leave = self.events[-1]
                bed_off, sleep_end = leave.end_s, leave.onset_s - GAP_S
        self.in_bed.append((bed_on, bed_off))
        if bed_on > 0:
            self.states.append((bed_on, t, "wake"))
        if awake:
            rls_end = min(t + sc.rls_evening_s, sleep_end)
            wake_end = min(rls_end + rng.uniform(*sc.sleep_latency_s), sleep_end)
            self.states.append((t, wake_end, "wake"))
            if sc.rls_evening_s > 0:
                self.restless(t, rls_end)
            t = wake_end
        self.sleep(t, sleep_end, from_wake=awake)
        if bed_off < d:
            self.states.append((sleep_end, bed_off, "wake"))
            self.states.append((bed_off, d, "empty"))
        self.states = sorted(s for s in self.states if s[1] > s[0])

    def restless(self, t: float, t_end: float) -> None:
        rng = self.rng
        t += rng.uniform(5.0, 20.0)
        next_gross = t + rng.uniform(60.0, 240.0)
        while t < t_end:
            if t >= next_gross:
                if self.gross(t, "rls", short=True):
                    t = self.events[-1].end_s + self.recovery_s + rng.uniform(2.0, 8.0)
                next_gross = t + rng.uniform(60.0, 240.0)
                continue
            dur = self.lm_duration(2.2, 0.4, 6.0)
            home = "legs" if rng.random() < 0.85 else "torso"
            self.add("limb_movement", t, dur, home, self.loguniform(4.0, 40.0), context="rls")
            t += rng.uniform(20.0, 60.0) if rng.random() < 0.08 else rng.normal(11.5, 0.5)

    def plm_episodes(self) -> None:
        sc, rng = self.sc, self.rng
        for a, b, label in list(self.states):
            if label != "nrem":
                continue
            for start in sorted(
                rng.uniform(a, b, rng.poisson(sc.plm_episodes_per_h * (b - a) / 3600))
            ):
                count = int(rng.integers(sc.plm_episode_lms[0], sc.plm_episode_lms[1] + 1))
                base, level = rng.uniform(*sc.plm_interval_s), self.loguniform(3.0, 30.0)
                t = float(start)
                for _ in range(count):
                    if t >= b:
                        break
                    amp = float(np.clip(level * rng.uniform(0.6, 1.6), 3.0, 50.0))
                    home = "legs" if rng.random() < 0.9 else "torso"
                    rise = rng.uniform(0.04, 0.12) if rng.random() < 0.3 else 0.0
                    dur = self.lm_duration(1.8, 0.45)
                    self.add("limb_movement", t, dur, home, amp, context="plm", hr_rise=rise)
                    if rng.random() < 0.04:  # an odd interval that breaks the series
                        t += rng.uniform(4.0, 9.5) if rng.random() < 0.5 else rng.uniform(91, 130)
                    else:
                        t += base * rng.uniform(0.85, 1.15)

    def background(self, partner: bool = False) -> None:
        sc, rng = self.sc, self.rng
        for t, _ in self.poisson("gross", sc.gross_movements_per_h):
            self.gross(t, "sleep", partner=partner)
        for t, _ in self.poisson("lm", sc.limb_movements_per_h):
            home = "legs" if rng.random() < 0.85 else "torso"
            dur = self.lm_duration(2.5, 0.6)
            self.add(
                "limb_movement",
                t,
                dur,
                home,
                self.loguniform(3, 50),
                context="sleep",
                partner=partner,
            )
        for start, _ in self.poisson("cluster", sc.twitch_clusters_per_h):
            t = start
            for _ in range(int(rng.integers(4, 17))):
                if self.twitch(t, "cluster", partner):
                    t = (self.partner_events if partner else self.events)[-1].end_s
                t += rng.uniform(GAP_S + 0.05, 4.0)
        for t, _ in self.poisson("twitch", sc.twitches_per_h):
            self.twitch(t, "sleep", partner)

    # -- others in the room ------------------------------------------------------------------
    def plan_partner(self) -> None:
        rng, d = self.rng, self.sc.duration_s
        user_on, user_off = self.in_bed[0] if self.in_bed else (0.0, d)
        on = 0.0 if user_on <= 0 else max(user_on + rng.uniform(-0.8, 0.8) * user_on, 30.0)
        off = (
            d if user_off >= d else min(user_off + rng.uniform(-0.8, 0.8) * (d - user_off), d - 60)
        )
        if on > 0 and not self.gross(on, "entry", partner=True):
            on = 0.0
        if off < d and not self.gross(off - 30.0, "exit", partner=True):
            off = d
        elif off < d:
            off = self.partner_events[-1].end_s
        self.partner_in_bed.append((on, off))
        saved = self.states
        self.states = [(on, off, "nrem")]
        self.background(partner=True)
        self.states = saved

    def plan_vibrations(self) -> None:
        sc, rng, d = self.sc, self.rng, self.sc.duration_s
        for t in sorted(rng.uniform(0.0, d, rng.poisson(sc.building_vibrations_per_h * d / 3600))):
            occupied = any(a <= t <= b for a, b in self.in_bed)
            if occupied and rng.random() > 0.3:
                continue
            at, dur = self.on_grid(float(t), rng.uniform(0.3, 2.0))
            if self.occ.free(at, at + dur):
                self.vibrations.append((at, dur, self.loguniform(0.2, 2.0)))


def build_timeline(scenario: Scenario, rng: np.random.Generator, recovery_s: float) -> Timeline:
    """Plan a recording.

    Parameters
    ----------
    scenario : Scenario
        What to simulate.
    rng : numpy.random.Generator
        Random source (the plan is a pure function of the scenario and this generator).
    recovery_s : float
        Extra quiet time kept after large movements, in seconds.

    Returns
    -------
    Timeline
        Events sorted by onset.
    """
    p = _Planner(scenario, rng, recovery_s)
    if scenario.occupied:
        p.plan_sleeper()
        p.plm_episodes()
        p.background()
    else:
        p.states.append((0.0, scenario.duration_s, "empty"))
    if scenario.partner:
        p.plan_partner()
    p.plan_vibrations()
    return Timeline(
        duration_s=scenario.duration_s,
        in_bed=tuple(p.in_bed),
        states=tuple(sorted(p.states)),
        events=tuple(sorted(p.events, key=lambda e: e.onset_s)),
        partner_in_bed=tuple(p.partner_in_bed),
        partner_events=tuple(sorted(p.partner_events, key=lambda e: e.onset_s)),
        vibrations=tuple(sorted(p.vibrations)),
    )
