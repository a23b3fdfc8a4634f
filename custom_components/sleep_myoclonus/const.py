"""Constants of the Sleep Myoclonus integration: config keys, defaults, event types, signals."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Final

DOMAIN: Final = "sleep_myoclonus"

# config entry data
CONF_TOPIC_PREFIX: Final = "topic_prefix"
CONF_SENSOR_ID: Final = "sensor_id"
DEFAULT_TOPIC_PREFIX: Final = "sleep_myoclonus"
DEFAULT_NAME: Final = "Bed"

# options
CONF_RULE_SET: Final = "rule_set"
CONF_SENSITIVITY: Final = "sensitivity"
CONF_NIGHT_START: Final = "night_start"
CONF_NIGHT_END: Final = "night_end"
CONF_QUIET_START: Final = "quiet_start"
CONF_QUIET_END: Final = "quiet_end"
CONF_CAFFEINE_CUTOFF: Final = "caffeine_cutoff"


class RuleSet(StrEnum):
    """Limb-movement scoring rules."""

    WASM = "wasm"  # WASM/IRLSSG 2016: PLM intervals 10-90 s
    AASM = "aasm"  # AASM: PLM intervals 5-90 s


class Sensitivity(StrEnum):
    """How readily a movement is detected (scales every detection threshold)."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


DEFAULT_OPTIONS: Final[dict[str, str]] = {
    CONF_RULE_SET: RuleSet.WASM.value,
    CONF_SENSITIVITY: Sensitivity.NORMAL.value,
    # A night is the bed time that starts inside this window (local time); it ends with the
    # final exit from bed before the window closes.
    CONF_NIGHT_START: "18:00:00",
    CONF_NIGHT_END: "12:00:00",
    CONF_QUIET_START: "22:00:00",
    CONF_QUIET_END: "07:00:00",
    # Caffeine at or after this local time counts as late (the lifestyle comparison, the
    # caffeine_logged event's "late").
    CONF_CAFFEINE_CUTOFF: "14:00:00",
}


class BedEventType(StrEnum):
    """Event types of the event entity, the bus event and the device triggers."""

    TWITCH = "twitch"
    HYPNIC_JERK = "hypnic_jerk"
    LIMB_MOVEMENT = "limb_movement"
    PLM_SERIES_STARTED = "plm_series_started"
    GROSS_MOVEMENT = "gross_movement"
    GOT_INTO_BED = "got_into_bed"
    GOT_OUT_OF_BED = "got_out_of_bed"


class BedNotice(StrEnum):
    """Bus event types that are not detections (device triggers, logbook; no event entity)."""

    NIGHT_ENDED = "night_ended"
    CAFFEINE_LOGGED = "caffeine_logged"
    EXERCISE_LOGGED = "exercise_logged"


# entity description keys other modules look up
TWITCH_RATE_KEY: Final = "twitch_rate"
BED_EVENT_KEY: Final = "bed_event"

# Fired on the bus for every bed event (device triggers and the logbook use it).
EVENT_BED: Final = f"{DOMAIN}_event"
ATTR_DEVICE_ID: Final = "device_id"
ATTR_TYPE: Final = "type"
ATTR_DURATION: Final = "duration"
ATTR_AMPLITUDE: Final = "amplitude"
ATTR_CHANNEL: Final = "channel"
ATTR_CLIPPED: Final = "clipped"
ATTR_EVENT_ID: Final = "event_id"
ATTR_MOVEMENTS: Final = "movements"

# runtime behaviour
STATE_WRITE_INTERVAL: Final = dt.timedelta(seconds=5)  # slow-moving sensors, at most this often
SILENCE_TIMEOUT: Final = dt.timedelta(seconds=15)  # no frames for this long: sensor offline
RESTLESS_HOLD_S: Final = 60.0  # "restless now" stays on this long after a movement
QUALITY_WINDOW_S: Final = 600.0  # signal quality covers the last ten minutes
STORE_VERSION: Final = 1
# Tonight's counters are written at most this often while they change (a delayed save would be
# postponed for as long as events keep coming), and this often anyway while frames arrive, so the
# saved "last seen" tells a short restart from a long outage.
STORE_SAVE_EVERY_S: Final = 60.0
STORE_REFRESH_S: Final = 600.0
