"""Device triggers: one per bed event type, and the twitch rate rising above a threshold.

The event types ride on the bus event :data:`~.const.EVENT_BED` through Home Assistant's event
trigger. ``twitch_rate_above`` watches the bed's twitch rate sensor like a numeric-state trigger,
except that a gap in the readings (the sensor offline, Home Assistant restarting) is only a gap:
a rate still above the threshold when the readings come back does not fire a second time.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

import voluptuous as vol
from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_ABOVE,
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_ENTITY_ID,
    CONF_EVENT_DATA,
    CONF_FOR,
    CONF_PLATFORM,
    CONF_TYPE,
    STATE_UNAVAILABLE,
)
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HassJob,
    HomeAssistant,
    State,
    callback,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_call_later, async_track_state_change_event
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType

from .const import (
    ATTR_DEVICE_ID,
    ATTR_TYPE,
    DOMAIN,
    EVENT_BED,
    TWITCH_RATE_KEY,
    BedEventType,
    BedNotice,
)
from .entity import async_bed_entity
from .sensor import UNIT_TWITCHES_PER_HOUR

TWITCH_RATE_ABOVE: Final = "twitch_rate_above"
# detections and bed changes, the notices (night ended, caffeine or exercise logged), the rate
BUS_TYPES: Final[tuple[str, ...]] = (
    *(kind.value for kind in BedEventType),
    *(kind.value for kind in BedNotice),
)
TRIGGER_TYPES: Final[tuple[str, ...]] = (*BUS_TYPES, TWITCH_RATE_ABOVE)

# The twitch rate sensor's entity description key.


def _positive_rate(value: Any) -> float:
    """Validate a threshold in twitches per hour: a finite number above zero."""
    rate = vol.Coerce(float)(value)
    if not math.isfinite(rate) or rate <= 0:
        raise vol.Invalid("the threshold must be a number of twitches per hour above 0")
    return float(rate)


def _rate_fields(config: ConfigType) -> ConfigType:
    """``above`` (and ``entity_id``) belong to ``twitch_rate_above`` only, which needs them."""
    if config[CONF_TYPE] == TWITCH_RATE_ABOVE:
        for key in (CONF_ENTITY_ID, CONF_ABOVE):
            if key not in config:
                raise vol.Invalid(f"required key not provided for {TWITCH_RATE_ABOVE}", [key])
        return config
    for key in (CONF_ENTITY_ID, CONF_ABOVE, CONF_FOR):
        if key in config:
            raise vol.Invalid(f"only {TWITCH_RATE_ABOVE} takes {key}", [key])
    return config


TRIGGER_SCHEMA: Final = vol.All(
    DEVICE_TRIGGER_BASE_SCHEMA.extend(
        {
            vol.Required(CONF_TYPE): vol.In(TRIGGER_TYPES),
            # the twitch rate sensor, by entity registry id as the UI stores it (an entity id
            # also works)
            vol.Optional(CONF_ENTITY_ID): cv.entity_id_or_uuid,
            vol.Optional(CONF_ABOVE): _positive_rate,
            vol.Optional(CONF_FOR): cv.positive_time_period,
        }
    ),
    _rate_fields,
)


def _is_bed(hass: HomeAssistant, device_id: str) -> bool:
    """Return whether the device is one of this integration's beds."""
    device = dr.async_get(hass).async_get(device_id)
    return device is not None and any(domain == DOMAIN for domain, _ in device.identifiers)


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """List the triggers of a bed: every event type, and the twitch rate if it has the sensor.

    Parameters
    ----------
    hass : HomeAssistant
        The running instance.
    device_id : str
        A device registry id.

    Returns
    -------
    list of dict
        One trigger configuration per type; none for a device of another integration.
    """
    if not _is_bed(hass, device_id):
        return []
    base = {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id}
    triggers: list[dict[str, Any]] = [{**base, CONF_TYPE: kind} for kind in BUS_TYPES]
    rate = async_bed_entity(hass, device_id, "sensor", TWITCH_RATE_KEY)
    if rate is not None and not rate.disabled:
        triggers.append({**base, CONF_TYPE: TWITCH_RATE_ABOVE, CONF_ENTITY_ID: rate.id})
    return triggers


async def async_get_trigger_capabilities(
    hass: HomeAssistant, config: ConfigType
) -> dict[str, vol.Schema]:
    """Return the extra fields of a trigger: the threshold and duration of ``twitch_rate_above``.

    Parameters
    ----------
    hass : HomeAssistant
        The running instance.
    config : ConfigType
        The trigger, as listed by :func:`async_get_triggers`.

    Returns
    -------
    dict
        ``{"extra_fields": schema}`` for ``twitch_rate_above``; empty for the event types.
    """
    if config.get(CONF_TYPE) != TWITCH_RATE_ABOVE:
        return {}
    return {
        "extra_fields": vol.Schema(
            {
                vol.Required(
                    CONF_ABOVE, description={"suffix": UNIT_TWITCHES_PER_HOUR}
                ): vol.Coerce(float),
                vol.Optional(CONF_FOR): cv.positive_time_period_dict,
            }
        )
    }


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Attach a trigger validated by :data:`TRIGGER_SCHEMA`.

    Parameters
    ----------
    hass : HomeAssistant
        The running instance.
    config : ConfigType
        The validated trigger.
    action : TriggerActionType
        What the automation runs.
    trigger_info : TriggerInfo
        The automation's trigger data and variables.

    Returns
    -------
    CALLBACK_TYPE
        Detaches the trigger.
    """
    if config[CONF_TYPE] == TWITCH_RATE_ABOVE:
        return _attach_rate_trigger(hass, config, action, trigger_info)
    # The bus event is fired only for a detection the moment the detector makes it: never for
    # an entity's state being written, restored after a restart or going unavailable. So an
    # event-type trigger cannot fire on a restart or a reload.
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            event_trigger.CONF_EVENT_TYPE: EVENT_BED,
            CONF_EVENT_DATA: {
                ATTR_DEVICE_ID: config[CONF_DEVICE_ID],
                ATTR_TYPE: config[CONF_TYPE],
            },
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )


def _reading(state: State) -> float | None:
    """Return the rate a state shows; None for unknown (too little time in bed) or junk."""
    try:
        value = float(state.state)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@callback
def _attach_rate_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Fire when the twitch rate rises above ``above`` (and stays there ``for`` a while).

    Like Home Assistant's numeric-state trigger, it fires when a reading above the threshold
    follows one at or below it, or ``unknown`` (no rate: too little time in bed, a new night).
    Unlike it, ``unavailable`` (the sensor offline, the integration reloading, Home Assistant
    starting) and a missing state are a gap that neither arms nor fires: a rate that is still
    above the threshold after the gap does not fire again. A trigger attached while the rate is
    above the threshold, or unavailable, waits for a reading at or below it first.

    The bed starts its rate afresh after a restart (``unknown`` until ten minutes in bed), and
    that ``unknown`` arms the trigger like a new night's does.
    """
    entity_id = er.async_validate_entity_id(er.async_get(hass), config[CONF_ENTITY_ID])
    above: float = config[CONF_ABOVE]
    period: dt.timedelta | None = config.get(CONF_FOR)
    trigger_data = trigger_info["trigger_data"]
    job = HassJob(action, f"twitch rate trigger {trigger_info}")
    armed = False
    pending: CALLBACK_TYPE | None = None

    @callback
    def fire(from_state: State | None, to_state: State) -> None:
        nonlocal pending
        pending = None
        hass.async_run_hass_job(
            job,
            {
                "trigger": {
                    **trigger_data,
                    CONF_PLATFORM: "device",
                    CONF_DOMAIN: DOMAIN,
                    CONF_DEVICE_ID: config[CONF_DEVICE_ID],
                    CONF_TYPE: TWITCH_RATE_ABOVE,
                    CONF_ENTITY_ID: entity_id,
                    "below": None,
                    CONF_ABOVE: above,
                    "from_state": from_state,
                    "to_state": to_state,
                    CONF_FOR: period,
                    "description": f"twitch rate of {entity_id} above {above:g}",
                }
            },
            to_state.context,
        )

    @callback
    def cancel_pending() -> None:
        nonlocal pending
        if pending is not None:
            pending()
            pending = None

    @callback
    def observe(from_state: State | None, to_state: State | None) -> None:
        nonlocal armed, pending
        if to_state is None or to_state.state == STATE_UNAVAILABLE:
            if pending is not None:  # not seen above for the whole period: start it over
                cancel_pending()
                armed = True
            return
        value = _reading(to_state)
        if value is None or value <= above:
            armed = True
            cancel_pending()
            return
        if not armed:
            return
        armed = False
        if not period:
            fire(from_state, to_state)
            return

        @callback
        def fire_now(_now: dt.datetime) -> None:
            fire(from_state, to_state)

        pending = async_call_later(hass, period, fire_now)

    @callback
    def state_changed(event: Event[EventStateChangedData]) -> None:
        observe(event.data["old_state"], event.data["new_state"])

    initial = hass.states.get(entity_id)
    if initial is not None and initial.state != STATE_UNAVAILABLE:
        value = _reading(initial)
        armed = value is None or value <= above
    unsubscribe = async_track_state_change_event(hass, [entity_id], state_changed)

    @callback
    def detach() -> None:
        unsubscribe()
        cancel_pending()

    return detach
