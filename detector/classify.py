"""Movement classes from duration, amplitude and sleep-onset context."""

from __future__ import annotations

from .config import DetectorConfig
from .events import EventType

__all__ = ["classify", "in_sleep_onset_window", "is_foreign"]


def classify(
    duration_s: float,
    amplitude: float,
    config: DetectorConfig,
    *,
    sleep_onset: bool = False,
    clipped: bool = False,
) -> EventType:
    """Class of one movement.

    Parameters
    ----------
    duration_s : float
        Movement duration.
    amplitude : float
        Peak relative to the heartbeat level.
    config : DetectorConfig
        Thresholds.
    sleep_onset : bool, optional
        Whether the movement falls in a sleep-onset window (see :func:`in_sleep_onset_window`).
    clipped : bool, optional
        Whether the sensor clipped during the movement. Clipping flattens the peak, so the
        amplitude is only a lower bound: a clipped jerk needs ``clipped_hypnic_fraction`` of the
        hypnic threshold.

    Returns
    -------
    EventType
        ``gross_movement`` above ``gross_min_s``; ``hypnic_jerk`` for a large short jerk at
        sleep onset; ``twitch`` below ``twitch_max_s``; else
        ``limb_movement``.

    Examples
    --------
    >>> cfg = DetectorConfig()
    >>> classify(0.2, 3.0, cfg).value
    'twitch'
    >>> classify(0.4, 60.0, cfg, sleep_onset=True).value
    'hypnic_jerk'
    >>> classify(0.4, 60.0, cfg).value
    'twitch'
    >>> classify(0.4, 12.0, cfg, sleep_onset=True).value
    'twitch'
    >>> classify(0.4, 12.0, cfg, sleep_onset=True, clipped=True).value
    'hypnic_jerk'
    """
    if duration_s > config.gross_min_s:
        return EventType.GROSS_MOVEMENT
    hypnic_min = config.hypnic_min_ratio * (config.clipped_hypnic_fraction if clipped else 1.0)
    if amplitude >= hypnic_min and duration_s <= config.hypnic_max_s and sleep_onset:
        return EventType.HYPNIC_JERK
    if duration_s < config.twitch_max_s:
        return EventType.TWITCH
    return EventType.LIMB_MOVEMENT


def in_sleep_onset_window(
    since_bed_s: float | None, since_gross_s: float | None, config: DetectorConfig
) -> bool:
    """Whether a movement may be a hypnic jerk by its timing: falling asleep.

    Sleep onset follows getting into bed (within ``hypnic_window_s``, a slow sleeper's latency)
    and, in the night, a wake period; a gross movement (turning over, getting up) stands for the
    wake, and only its first ``hypnic_wake_window_s`` count, so that a night of frequent turning
    over is not one long sleep onset.

    Parameters
    ----------
    since_bed_s, since_gross_s : float or None
        Time since getting into bed and since the end of the last gross movement (None: none).
    config : DetectorConfig
        Windows.

    Examples
    --------
    >>> cfg = DetectorConfig()
    >>> in_sleep_onset_window(600.0, None, cfg), in_sleep_onset_window(7200.0, 300.0, cfg)
    (True, True)
    >>> in_sleep_onset_window(7200.0, 1200.0, cfg), in_sleep_onset_window(None, None, cfg)
    (False, False)
    """
    after_bed = since_bed_s is not None and 0.0 <= since_bed_s <= config.hypnic_window_s
    after_wake = since_gross_s is not None and 0.0 <= since_gross_s <= config.hypnic_wake_window_s
    return after_bed or after_wake


def is_foreign(
    duration_s: float, amplitude: float, config: DetectorConfig, *, clipped: bool = False
) -> bool:
    """Whether a movement is someone else's: long like a gross movement, but weak.

    A sleeper turning over right on the sensor moves it by a hundred to a thousand times the
    heartbeat; a partner's turn reaches it through the mattress, much weaker. A clipped movement
    is never foreign (its amplitude is only a lower bound).

    Examples
    --------
    >>> cfg = DetectorConfig()
    >>> is_foreign(25.0, 8.0, cfg), is_foreign(25.0, 300.0, cfg), is_foreign(2.0, 8.0, cfg)
    (True, False, False)
    """
    return duration_s > config.gross_min_s and amplitude < config.gross_min_ratio and not clipped
