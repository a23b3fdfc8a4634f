"""From a config entry's options to the detector's parameters and the night and quiet windows."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

from .const import (
    CONF_CAFFEINE_CUTOFF,
    CONF_NIGHT_END,
    CONF_NIGHT_START,
    CONF_QUIET_END,
    CONF_QUIET_START,
    CONF_RULE_SET,
    CONF_SENSITIVITY,
    DEFAULT_OPTIONS,
    RuleSet,
    Sensitivity,
)
from .detector.config import DetectorConfig
from .detector.plm import PlmRules
from .night import ClockWindow

# Every detection threshold (ratios to the heartbeat or band resting level) is multiplied by this.
# Normal is what the published accuracy figures were measured at.
SENSITIVITY_SCALE: Final = {Sensitivity.LOW: 1.25, Sensitivity.NORMAL: 1.0, Sensitivity.HIGH: 0.85}
_THRESHOLDS: Final = (
    "on_ratio",
    "off_ratio",
    "high_on_ratio",
    "high_off_ratio",
    "min_fast_ratio",
    "slow_on_ratio",
    "slow_off_ratio",
    "beat_min_ratio",
    "beat_high_ratio",
)


def option(options: Mapping[str, Any], key: str) -> str:
    """Return an option, or its default when missing."""
    value = options.get(key, DEFAULT_OPTIONS[key])
    return str(value)


def detector_config(options: Mapping[str, Any]) -> DetectorConfig:
    """Build the detector's parameters for a bed's options (rule set, sensitivity)."""
    rules = PlmRules.aasm() if option(options, CONF_RULE_SET) == RuleSet.AASM else PlmRules.wasm()
    scale = SENSITIVITY_SCALE[Sensitivity(option(options, CONF_SENSITIVITY))]
    base = DetectorConfig(plm=rules)
    if scale == 1.0:
        return base
    changes = {name: getattr(base, name) * scale for name in _THRESHOLDS}
    return dataclasses.replace(base, **changes)


def night_window(options: Mapping[str, Any]) -> ClockWindow:
    """Return the night window of a bed's options."""
    return ClockWindow.parse(option(options, CONF_NIGHT_START), option(options, CONF_NIGHT_END))


def quiet_hours(options: Mapping[str, Any]) -> ClockWindow | None:
    """Return the quiet hours of a bed's options; None when they are empty (never quiet)."""
    start, end = option(options, CONF_QUIET_START), option(options, CONF_QUIET_END)
    return None if start == end else ClockWindow.parse(start, end)


def caffeine_cutoff(options: Mapping[str, Any]) -> dt.time:
    """Return the local time from which caffeine counts as late."""
    return dt.time.fromisoformat(option(options, CONF_CAFFEINE_CUTOFF))
