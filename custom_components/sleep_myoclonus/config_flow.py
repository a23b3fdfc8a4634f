"""Config flow of the Sleep Myoclonus integration: add a bed sensor by hand or by MQTT discovery.

A bed sensor publishes under ``<topic prefix>/<sensor id>/`` (see :mod:`.detector.topics`). The
config entry stores the prefix and the id; its unique id is ``<topic prefix>/<sensor id>``. A
sensor announces itself with its retained ``meta`` message, which starts a discovery flow. A
sensor added by hand must be heard on the broker before its entry is created.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, Final

import voluptuous as vol
from homeassistant.components import mqtt
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import AbortFlow
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TimeSelector,
)
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo, ReceivePayloadType

from .const import (
    CONF_CAFFEINE_CUTOFF,
    CONF_NIGHT_END,
    CONF_NIGHT_START,
    CONF_QUIET_END,
    CONF_QUIET_START,
    CONF_RULE_SET,
    CONF_SENSITIVITY,
    CONF_SENSOR_ID,
    CONF_TOPIC_PREFIX,
    DEFAULT_NAME,
    DEFAULT_OPTIONS,
    DEFAULT_TOPIC_PREFIX,
    DOMAIN,
    RuleSet,
    Sensitivity,
)
from .detector.topics import TopicError, TopicKind, is_valid_id, is_valid_prefix, parse_topic

__all__ = [
    "DISCOVERY_TIMEOUT_S",
    "SleepMyoclonusConfigFlow",
    "SleepMyoclonusOptionsFlow",
    "unique_id_of",
]

# How long a sensor added by hand may stay silent before the flow reports ``no_data``. Its
# retained status and meta messages arrive at once, raw frames every 0.5 s.
DISCOVERY_TIMEOUT_S: Final = 5.0

_TIME_KEYS: Final = (
    CONF_NIGHT_START,
    CONF_NIGHT_END,
    CONF_QUIET_START,
    CONF_QUIET_END,
    CONF_CAFFEINE_CUTOFF,
)


def unique_id_of(topic_prefix: str, sensor_id: str) -> str:
    """Return the unique id of a bed sensor's config entry.

    Parameters
    ----------
    topic_prefix
        The MQTT topic prefix the sensor publishes under.
    sensor_id
        The sensor's id (the topic level after the prefix).

    Returns
    -------
    str
        ``<topic_prefix>/<sensor_id>``.
    """
    return f"{topic_prefix}/{sensor_id}"


def _validate_topics(topic_prefix: str, sensor_id: str) -> dict[str, str]:
    """Return the form errors of a topic prefix and a sensor id (empty when both are valid)."""
    errors: dict[str, str] = {}
    if not is_valid_prefix(topic_prefix):
        errors[CONF_TOPIC_PREFIX] = "invalid_topic_prefix"
    if not is_valid_id(sensor_id):
        errors[CONF_SENSOR_ID] = "invalid_sensor_id"
    return errors


def _meta_name(payload: ReceivePayloadType) -> str | None:
    """Return the optional ``name`` of a sensor's meta JSON, or None if it has none."""
    try:
        meta = json.loads(payload)
    except ValueError:  # not JSON, or not UTF-8
        return None
    if isinstance(meta, dict):
        name = meta.get("name")
        if isinstance(name, str) and name.strip():
            return name.strip()
    return None


async def _async_mqtt_abort_reason(hass: HomeAssistant) -> str | None:
    """Return why MQTT cannot be used, or None when its client is connected to the broker."""
    if not mqtt.mqtt_config_entry_enabled(hass):
        return "mqtt_not_configured"
    if not await mqtt.async_wait_for_mqtt_client(hass) or not mqtt.is_connected(hass):
        return "mqtt_not_connected"
    return None


async def _async_sensor_heard(hass: HomeAssistant, topic_prefix: str, sensor_id: str) -> bool:
    """Listen to everything a sensor publishes; return whether a message came within the timeout.

    Raises
    ------
    HomeAssistantError
        If MQTT cannot subscribe.
    """
    heard = asyncio.Event()

    @callback
    def _message_received(_msg: mqtt.ReceiveMessage) -> None:
        heard.set()

    # Raw frames are binary: no decoding.
    unsubscribe = await mqtt.async_subscribe(
        hass, f"{topic_prefix}/{sensor_id}/+", _message_received, encoding=None
    )
    try:
        async with asyncio.timeout(DISCOVERY_TIMEOUT_S):
            await heard.wait()
    except TimeoutError:
        return False
    finally:
        unsubscribe()
    return True


def _topics_schema(values: Mapping[str, Any]) -> dict[vol.Marker, Any]:
    """Return the form fields of the topic prefix and the sensor id, defaulting to ``values``."""
    return {
        vol.Required(CONF_TOPIC_PREFIX, default=values[CONF_TOPIC_PREFIX]): str,
        vol.Required(CONF_SENSOR_ID, default=values[CONF_SENSOR_ID]): str,
    }


class SleepMyoclonusConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a bed sensor by hand or from its MQTT announcement, or change its topics.

    Attributes
    ----------
    VERSION
        Version of the config entry data.
    """

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        self._topic_prefix = DEFAULT_TOPIC_PREFIX
        self._sensor_id = ""
        self._name = DEFAULT_NAME

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SleepMyoclonusOptionsFlow:
        """Return the options flow of a bed sensor entry.

        Parameters
        ----------
        config_entry
            The entry whose options are edited.

        Returns
        -------
        SleepMyoclonusOptionsFlow
            A new options flow.
        """
        return SleepMyoclonusOptionsFlow()

    async def _async_listen_errors(self, topic_prefix: str, sensor_id: str) -> dict[str, str]:
        """Listen for a sensor; return ``no_data`` as the form error if it stays silent.

        Raises
        ------
        homeassistant.data_entry_flow.AbortFlow
            ``mqtt_not_connected`` if MQTT cannot subscribe.
        """
        try:
            heard = await _async_sensor_heard(self.hass, topic_prefix, sensor_id)
        except HomeAssistantError as err:
            raise AbortFlow("mqtt_not_connected") from err
        return {} if heard else {"base": "no_data"}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add a bed sensor by its topic prefix and sensor id.

        Parameters
        ----------
        user_input
            The submitted form, or None to show it.

        Returns
        -------
        ConfigFlowResult
            The form (again, with errors), the new entry, or an abort.
        """
        if reason := await _async_mqtt_abort_reason(self.hass):
            return self.async_abort(reason=reason)

        errors: dict[str, str] = {}
        values: dict[str, Any] = {
            CONF_NAME: DEFAULT_NAME,
            CONF_TOPIC_PREFIX: DEFAULT_TOPIC_PREFIX,
            CONF_SENSOR_ID: "",
        }
        if user_input is not None:
            values = {key: str(user_input[key]).strip() for key in values}
            errors = _validate_topics(values[CONF_TOPIC_PREFIX], values[CONF_SENSOR_ID])
            if not errors:
                await self.async_set_unique_id(
                    unique_id_of(values[CONF_TOPIC_PREFIX], values[CONF_SENSOR_ID]),
                    raise_on_progress=False,
                )
                self._abort_if_unique_id_configured()
                errors = await self._async_listen_errors(
                    values[CONF_TOPIC_PREFIX], values[CONF_SENSOR_ID]
                )
            if not errors:
                return self._async_create_bed(
                    values[CONF_NAME] or DEFAULT_NAME,
                    values[CONF_TOPIC_PREFIX],
                    values[CONF_SENSOR_ID],
                )

        schema = vol.Schema(
            {
                vol.Required(CONF_NAME, default=values[CONF_NAME]): str,
                **_topics_schema(values),
            }
        )
        return self.async_show_form(step_id="user", data_schema=schema, errors=errors)

    async def async_step_mqtt(self, discovery_info: MqttServiceInfo) -> ConfigFlowResult:
        """Start adding a sensor that announced itself with its retained meta message.

        Parameters
        ----------
        discovery_info
            The meta message (topic ``<prefix>/<sensor id>/meta``).

        Returns
        -------
        ConfigFlowResult
            The confirmation form, or an abort.
        """
        try:
            parts = parse_topic(discovery_info.topic)
        except TopicError:
            return self.async_abort(reason="invalid_discovery_info")
        # An empty payload clears the retained meta: the sensor is gone.
        if parts.kind is not TopicKind.META or not discovery_info.payload:
            return self.async_abort(reason="invalid_discovery_info")

        await self.async_set_unique_id(unique_id_of(parts.prefix, parts.bed))
        self._abort_if_unique_id_configured()

        self._topic_prefix = parts.prefix
        self._sensor_id = parts.bed
        self._name = _meta_name(discovery_info.payload) or parts.bed
        self.context["title_placeholders"] = {"name": self._name}
        return await self.async_step_discovery_confirm()

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Confirm adding a discovered sensor and name its bed.

        Parameters
        ----------
        user_input
            The submitted form, or None to show it.

        Returns
        -------
        ConfigFlowResult
            The form or the new entry.
        """
        if user_input is not None:
            name = str(user_input[CONF_NAME]).strip() or self._name
            return self._async_create_bed(name, self._topic_prefix, self._sensor_id)

        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=vol.Schema({vol.Required(CONF_NAME, default=self._name): str}),
            description_placeholders={"topic": f"{self._topic_prefix}/{self._sensor_id}/"},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Point an existing bed at another topic prefix or sensor id.

        Parameters
        ----------
        user_input
            The submitted form, or None to show it.

        Returns
        -------
        ConfigFlowResult
            The form (again, with errors) or an abort (``reconfigure_successful`` on success).
        """
        entry = self._get_reconfigure_entry()
        if reason := await _async_mqtt_abort_reason(self.hass):
            return self.async_abort(reason=reason)

        errors: dict[str, str] = {}
        values: dict[str, Any] = {
            CONF_TOPIC_PREFIX: entry.data[CONF_TOPIC_PREFIX],
            CONF_SENSOR_ID: entry.data[CONF_SENSOR_ID],
        }
        if user_input is not None:
            values = {key: str(user_input[key]).strip() for key in values}
            errors = _validate_topics(values[CONF_TOPIC_PREFIX], values[CONF_SENSOR_ID])
            unique_id = unique_id_of(values[CONF_TOPIC_PREFIX], values[CONF_SENSOR_ID])
            if not errors:
                other = self.hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, unique_id)
                if other is not None and other.entry_id != entry.entry_id:
                    return self.async_abort(reason="already_configured")
                errors = await self._async_listen_errors(
                    values[CONF_TOPIC_PREFIX], values[CONF_SENSOR_ID]
                )
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, unique_id=unique_id, data_updates=values
                )

        return self.async_show_form(
            step_id="reconfigure", data_schema=vol.Schema(_topics_schema(values)), errors=errors
        )

    @callback
    def _async_create_bed(self, name: str, topic_prefix: str, sensor_id: str) -> ConfigFlowResult:
        """Create the entry of a bed sensor with the default options."""
        return self.async_create_entry(
            title=name,
            data={CONF_TOPIC_PREFIX: topic_prefix, CONF_SENSOR_ID: sensor_id},
            options=dict(DEFAULT_OPTIONS),
        )


def _time_string(value: str) -> str:
    """Normalize a time of day to ``HH:MM:SS``."""
    return cv.time(value).strftime("%H:%M:%S")


class SleepMyoclonusOptionsFlow(OptionsFlow):
    """Edit a bed's detection rules, sensitivity, night window and quiet hours."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and validate the options form.

        Parameters
        ----------
        user_input
            The submitted form, or None to show it.

        Returns
        -------
        ConfigFlowResult
            The form (again, with errors) or the new options.
        """
        errors: dict[str, str] = {}
        values: dict[str, Any] = {**DEFAULT_OPTIONS, **self.config_entry.options}
        if user_input is not None:
            values.update(user_input)
            for key in _TIME_KEYS:
                values[key] = _time_string(values[key])
            if values[CONF_NIGHT_START] == values[CONF_NIGHT_END]:
                errors["base"] = "empty_night_window"
            elif values[CONF_QUIET_START] == values[CONF_QUIET_END]:
                errors["base"] = "empty_quiet_hours"
            else:
                return self.async_create_entry(data=values)

        schema = vol.Schema(
            {
                vol.Required(CONF_RULE_SET, default=values[CONF_RULE_SET]): SelectSelector(
                    SelectSelectorConfig(
                        options=[rule_set.value for rule_set in RuleSet],
                        translation_key=CONF_RULE_SET,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                vol.Required(CONF_SENSITIVITY, default=values[CONF_SENSITIVITY]): SelectSelector(
                    SelectSelectorConfig(
                        options=[sensitivity.value for sensitivity in Sensitivity],
                        translation_key=CONF_SENSITIVITY,
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                ),
                **{vol.Required(key, default=values[key]): TimeSelector() for key in _TIME_KEYS},
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema, errors=errors)
