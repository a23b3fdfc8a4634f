"""Movement classes from duration, amplitude and sleep-onset context."""

from __future__ import annotations

from .config import DetectorConfig
from .events import EventType

__all__ = ["classify"]


def classify(
    duration_s: float,
    amplitude: float,
    since_wake_s: float | None,
    config: DetectorConfig,
    *,
    clipped: bool = False,
) -> EventType:
    """Class of one movement.

    Parameters
    ----------
    duration_s : float
        Movement duration.
    amplitude : float
        Peak relative to the heartbeat level.
    since_wake_s : float or None
        Time since the end of the last gross movement (getting into bed or a wake period), or None
        when there was none.
    config : DetectorConfig
        Thresholds.
    clipped : bool, optional
        Whether the sensor clipped during the movement. Clipping flattens the peak, so the
        amplitude is only a lower bound: a clipped jerk needs ``clipped_hypnic_fraction`` of the
        hypnic threshold.

    Returns
    -------
    EventType
        ``gross_movement`` above ``gross_min_s``; ``hypnic_jerk`` for a large short jerk within
        ``hypnic_window_s`` of a wake period; ``twitch`` below ``twitch_max_s``; else
        ``limb_movement``.

    Examples
    --------
    >>> cfg = DetectorConfig()
    >>> classify(0.2, 3.0, None, cfg).value
    'twitch'
    >>> classify(0.4, 60.0, 120.0, cfg).value
    'hypnic_jerk'
    >>> classify(0.4, 60.0, None, cfg).value
    'twitch'
    >>> classify(0.4, 12.0, 120.0, cfg).value, classify(0.4, 12.0, 120.0, cfg, clipped=True).value
    ('twitch', 'hypnic_jerk')
    """
    if duration_s > config.gross_min_s:
        return EventType.GROSS_MOVEMENT
    hypnic_min = config.hypnic_min_ratio * (config.clipped_hypnic_fraction if clipped else 1.0)
    if (
        amplitude >= hypnic_min
        and duration_s <= config.hypnic_max_s
        and since_wake_s is not None
        and since_wake_s <= config.hypnic_window_s
    ):
        return EventType.HYPNIC_JERK
    if duration_s < config.twitch_max_s:
        return EventType.TWITCH
    return EventType.LIMB_MOVEMENT
