"""Sleep architecture of one night in bed: onset attempts, NREM/REM cycles and wake periods.

Cycles last 80-110 minutes and start with NREM; the REM share grows from 10 % in the first cycle to
at most 40 %. Wake periods (1-8 minutes) interrupt sleep at random and restart the cycle. Falling
asleep takes one or more *onset attempts*: each may bring a hypnic jerk, which wakes the sleeper for
a quiet 40-150 s before the next attempt; an attempt without a jerk ends in stable sleep.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SleepPlan", "plan_sleep"]


@dataclass(slots=True)
class SleepPlan:
    """States and the moments movement rules hang on.

    Attributes
    ----------
    states : list of (start_s, end_s, label)
        ``nrem``, ``rem`` or ``wake``, contiguous from the start of sleep to its end.
    jerks : list of float
        Times of hypnic jerks (each has at least 2 s of the same state after it).
    wakes : list of (start_s, end_s)
        Wake periods during the night (not the quiet wakes between onset attempts).
    """

    states: list[tuple[float, float, str]] = field(default_factory=list)
    jerks: list[float] = field(default_factory=list)
    wakes: list[tuple[float, float]] = field(default_factory=list)


def _fall_asleep(
    plan: SleepPlan,
    t: float,
    t_end: float,
    rng: np.random.Generator,
    *,
    attempts: int,
    p_hypnic: float,
) -> float:
    for k in range(attempts):
        if t >= t_end - 60.0 or rng.random() >= p_hypnic:
            break
        jerk = t + rng.uniform(3.0, 60.0)
        plan.jerks.append(jerk)
        if k == attempts - 1:
            break
        wake = jerk + rng.uniform(2.0, 9.0)
        back = min(wake + rng.uniform(40.0, 150.0), t_end)
        plan.states += [(t, wake, "nrem"), (wake, back, "wake")]
        t = back
    return t


def plan_sleep(
    t: float,
    t_end: float,
    rng: np.random.Generator,
    *,
    from_wake: bool,
    attempts: int,
    p_hypnic: float,
    wake_periods_per_h: float,
) -> SleepPlan:
    """Plan the sleep states between ``t`` and ``t_end``.

    Parameters
    ----------
    t, t_end : float
        Start and end of sleep (seconds).
    rng : numpy.random.Generator
        Random source.
    from_wake : bool
        The sleeper is awake at ``t`` (onset attempts first); otherwise already asleep at a random
        point of a cycle.
    attempts : int
        Most onset attempts at the first onset (after wake periods: 1 or 2).
    p_hypnic : float
        Probability of a hypnic jerk per attempt at the first onset (halved after wake periods).
    wake_periods_per_h : float
        Rate of wake periods during sleep.

    Returns
    -------
    SleepPlan
        The plan.
    """
    plan = SleepPlan()
    if from_wake:
        t = _fall_asleep(plan, t, t_end, rng, attempts=attempts, p_hypnic=p_hypnic)
    n_wake = int(rng.poisson(wake_periods_per_h * max(t_end - t, 0.0) / 3600.0))
    wakes = sorted(rng.uniform(t + 600.0, t_end - 300.0, n_wake)) if t_end - t > 1200 else []
    cycle, pos = 0, 0.0 if from_wake else rng.uniform(0.0, 5400.0)
    while t < t_end:
        length = rng.uniform(80.0, 110.0) * 60.0
        rem = length * min(0.1 + 0.07 * cycle, 0.4)
        for label, seg in (("nrem", length - rem), ("rem", rem)):
            if pos >= seg:
                pos -= seg
                continue
            stop = min(t + seg - pos, t_end)
            pos = 0.0
            if wakes and wakes[0] < stop:
                w = max(wakes.pop(0), t)
                back = min(w + rng.uniform(60.0, 480.0), t_end)
                plan.states += [(t, w, label), (w, back, "wake")]
                plan.wakes.append((w, back))
                again = 1 + int(rng.random() < 0.3)
                t = _fall_asleep(plan, back, t_end, rng, attempts=again, p_hypnic=p_hypnic / 2)
                break
            plan.states.append((t, stop, label))
            t = stop
            if t >= t_end:
                break
        cycle += 1
    plan.states = [s for s in plan.states if s[1] > s[0]]
    return plan
