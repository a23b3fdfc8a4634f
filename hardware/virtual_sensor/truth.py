"""Ground truth of a synthesized recording, in the JSON schema of :mod:`.recording`.

Top-level keys:

``events``
    The sleeper's movements, sorted by onset: ``type`` (``twitch``, ``hypnic_jerk``,
    ``limb_movement``, ``gross_movement``), ``onset`` and ``duration`` (seconds from the recording
    start, on the sample grid), ``channel`` (the channel it is strongest on, ``null`` for a gross
    movement that is strong on both) and ``amplitude``.
``plm_series``
    ``onset``, ``end`` (end of the last LM), ``count``: the limb movements grouped by
    :func:`detector.plm.find_plm_series` (WASM rules) with gross movements as breakers.
``in_bed``
    ``onset``/``end`` intervals; bed entry starts with the entry movement, exit ends with the exit
    movement.
``summary``
    Counts and rates per hour *in bed* (see :func:`summarise`).
``partner_events``
    The bed partner's movements as they reach this sensor (same fields plus ``coupling``); they are
    not the sleeper's events.
``heartbeat``
    Per posture: ``onset``, ``end`` and the heartbeat amplitude per channel in ADC counts.
``disturbances``
    Building vibrations (``type``, ``onset``, ``duration``): not events.
``scenario``
    The scenario parameters, the seed and the data sources used (provenance).

``amplitude`` is the peak absolute value of the movement's own component on that channel (after
the piezo high-pass, before noise, clamp and clipping) divided by the *heartbeat amplitude* on that
channel: the median over the beats of the current posture of each beat's peak absolute
ballistocardiogram value (the BCG component alone, after the high-pass). It does not depend on the
gain. For a gross movement (``channel`` null) it is the larger of the two channels' ratios; a
movement at bed entry uses the posture that follows it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from detector.plm import PlmRules, find_plm_series

__all__ = ["EVENT_TYPES", "TRUTH_VERSION", "build_truth", "summarise"]

#: Version of the truth layout written by this package.
TRUTH_VERSION = 1

EVENT_TYPES = ("twitch", "hypnic_jerk", "limb_movement", "gross_movement")


def _hours_in_bed(in_bed: Iterable[Mapping[str, float]]) -> float:
    return sum(max(iv["end"] - iv["onset"], 0.0) for iv in in_bed) / 3600.0


def summarise(
    events: Sequence[Mapping[str, Any]],
    plm_series: Sequence[Mapping[str, Any]],
    in_bed: Sequence[Mapping[str, float]],
) -> dict[str, Any]:
    """Summarise a night's truth.

    Parameters
    ----------
    events : sequence of dict
        Truth events.
    plm_series : sequence of dict
        Truth PLM series (``count`` is used).
    in_bed : sequence of dict
        In-bed intervals.

    Returns
    -------
    dict
        ``time_in_bed_s``, ``twitch_count``, ``twitches_per_hour``, ``limb_movement_count``,
        ``plm_count`` (LMs in PLM series), ``plm_series_count``, ``plm_index`` (LMs in PLM series
        per hour in bed), ``hypnic_jerk_count``, ``gross_movement_count``. Rates are 0 when the bed
        was never occupied.
    """
    hours = _hours_in_bed(in_bed)
    counts = {t: sum(1 for e in events if e["type"] == t) for t in EVENT_TYPES}
    plm_count = sum(int(s["count"]) for s in plm_series)

    def rate(k: int) -> float:
        return round(k / hours, 3) if hours > 0 else 0.0

    return {
        "time_in_bed_s": round(hours * 3600.0, 3),
        "twitch_count": counts["twitch"],
        "twitches_per_hour": rate(counts["twitch"]),
        "limb_movement_count": counts["limb_movement"],
        "plm_count": plm_count,
        "plm_series_count": len(plm_series),
        "plm_index": rate(plm_count),
        "hypnic_jerk_count": counts["hypnic_jerk"],
        "gross_movement_count": counts["gross_movement"],
        "plm_rules": "wasm",
    }


def build_truth(
    *,
    events: Sequence[Mapping[str, Any]],
    in_bed: Sequence[tuple[float, float]],
    partner_events: Sequence[Mapping[str, Any]] = (),
    heartbeat: Sequence[Mapping[str, Any]] = (),
    disturbances: Sequence[Mapping[str, Any]] = (),
    scenario: Mapping[str, Any] | None = None,
    rules: PlmRules | None = None,
) -> dict[str, Any]:
    """Assemble the truth document.

    Parameters
    ----------
    events : sequence of dict
        Sleeper's events with ``type``, ``onset``, ``duration``, ``channel``, ``amplitude``.
    in_bed : sequence of (onset, end)
        In-bed intervals in seconds.
    partner_events : sequence of dict, optional
        The partner's movements.
    heartbeat : sequence of dict, optional
        Heartbeat amplitude per posture.
    disturbances : sequence of dict, optional
        Non-event disturbances.
    scenario : dict, optional
        Provenance.
    rules : PlmRules, optional
        PLM rules; WASM when omitted.

    Returns
    -------
    dict
        JSON-ready truth (see the module docstring).

    Raises
    ------
    ValueError
        If an event has an unknown type or events overlap.
    """
    ordered = sorted((dict(e) for e in events), key=lambda e: e["onset"])
    for e in ordered:
        if e["type"] not in EVENT_TYPES:
            raise ValueError(f"unknown event type {e['type']!r}")
    for a, b in itertools.pairwise(ordered):
        if b["onset"] < a["onset"] + a["duration"]:
            raise ValueError(f"events overlap at {a['onset']} and {b['onset']}")
    movements = [e for e in ordered if e["type"] in ("limb_movement", "gross_movement")]
    series = find_plm_series(
        [e["onset"] for e in movements], [e["duration"] for e in movements], rules
    )
    plm = [{"onset": s.onset, "end": round(s.end, 6), "count": s.count} for s in series]
    bed = [{"onset": round(a, 6), "end": round(b, 6)} for a, b in in_bed]
    return {
        "version": TRUTH_VERSION,
        "events": ordered,
        "plm_series": plm,
        "in_bed": bed,
        "summary": summarise(ordered, plm, bed),
        "partner_events": sorted((dict(e) for e in partner_events), key=lambda e: e["onset"]),
        "heartbeat": [dict(h) for h in heartbeat],
        "disturbances": [dict(d) for d in disturbances],
        "scenario": dict(scenario or {}),
    }
