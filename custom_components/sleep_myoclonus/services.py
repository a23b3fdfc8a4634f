"""Actions: log caffeine and exercise, start or end a night by hand, export a night's report.

Registered once for the integration (``async_setup``); each call names its bed by
``config_entry_id``. Bad input is refused with a translated :class:`ServiceValidationError`:
an unknown or unloaded bed, a time in the future, a night without a report, a directory outside
Home Assistant's configuration directory.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Final

import voluptuous as vol
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify

from .bed import SleepBed
from .const import DOMAIN
from .detector.night_files import write_night_files
from .lifestyle import MAX_CAFFEINE_MG, MAX_EXERCISE_MINUTES, Intensity

SERVICE_LOG_CAFFEINE: Final = "log_caffeine"
SERVICE_LOG_EXERCISE: Final = "log_exercise"
SERVICE_START_NIGHT: Final = "start_night"
SERVICE_END_NIGHT: Final = "end_night"
SERVICE_EXPORT_NIGHT: Final = "export_night"

ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_MG: Final = "mg"
ATTR_TIME: Final = "time"
ATTR_MINUTES: Final = "minutes"
ATTR_INTENSITY: Final = "intensity"
ATTR_NIGHT: Final = "night"
ATTR_DIRECTORY: Final = "directory"
DEFAULT_EXPORT_DIRECTORY: Final = "sleep_myoclonus/exports"
FUTURE_TOLERANCE: Final = dt.timedelta(minutes=5)  # clocks of phones and servers differ a little

_ENTRY: Final[dict[vol.Marker, Any]] = {vol.Required(ATTR_CONFIG_ENTRY_ID): cv.string}
LOG_CAFFEINE_SCHEMA: Final = vol.Schema(
    {
        **_ENTRY,
        vol.Required(ATTR_MG): vol.All(vol.Coerce(float), vol.Range(min=1, max=MAX_CAFFEINE_MG)),
        vol.Optional(ATTR_TIME): cv.datetime,
    }
)
LOG_EXERCISE_SCHEMA: Final = vol.Schema(
    {
        **_ENTRY,
        vol.Required(ATTR_MINUTES): vol.All(
            vol.Coerce(float), vol.Range(min=1, max=MAX_EXERCISE_MINUTES)
        ),
        vol.Optional(ATTR_INTENSITY, default=Intensity.MODERATE.value): vol.In(
            [i.value for i in Intensity]
        ),
        vol.Optional(ATTR_TIME): cv.datetime,
    }
)
NIGHT_SCHEMA: Final = vol.Schema(_ENTRY)
EXPORT_NIGHT_SCHEMA: Final = vol.Schema(
    {
        **_ENTRY,
        vol.Optional(ATTR_NIGHT): cv.date,
        vol.Optional(ATTR_DIRECTORY, default=DEFAULT_EXPORT_DIRECTORY): cv.string,
    }
)


def _error(key: str, **placeholders: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=placeholders
    )


def _bed(hass: HomeAssistant, call: ServiceCall) -> SleepBed:
    entry_id = call.data[ATTR_CONFIG_ENTRY_ID]
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise _error("bed_not_found", entry_id=entry_id)
    if entry.state is not ConfigEntryState.LOADED:
        raise _error("bed_not_loaded", bed=entry.title)
    bed: SleepBed = entry.runtime_data
    return bed


def _when(call: ServiceCall) -> dt.datetime:
    """Return the call's ``time`` (local if it has no zone) or now; refuse the future."""
    now = dt_util.now()
    value: dt.datetime | None = call.data.get(ATTR_TIME)
    if value is None:
        return now
    when = value if value.tzinfo else value.replace(tzinfo=dt_util.get_default_time_zone())
    if when - now > FUTURE_TOLERANCE:
        raise _error("time_in_future", time=when.isoformat(timespec="minutes"))
    return dt_util.as_local(when)


def export_directory(hass: HomeAssistant, directory: str) -> Path:
    """Resolve an export directory inside the configuration directory, or refuse it.

    Relative paths are taken from the configuration directory; absolute ones must lie inside it.
    Links and ``..`` are resolved before the check, so neither leads out.
    """
    config_dir = Path(hass.config.config_dir).resolve()
    target = (config_dir / directory).resolve()
    if target != config_dir and config_dir not in target.parents:
        raise _error("directory_not_allowed", directory=directory, config_dir=str(config_dir))
    return target


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""

    async def log_caffeine(call: ServiceCall) -> None:
        bed = _bed(hass, call)
        bed.log_caffeine(_when(call), call.data[ATTR_MG])

    async def log_exercise(call: ServiceCall) -> None:
        bed = _bed(hass, call)
        bed.log_exercise(_when(call), call.data[ATTR_MINUTES], Intensity(call.data[ATTR_INTENSITY]))

    async def start_night(call: ServiceCall) -> None:
        _bed(hass, call).start_night()

    async def end_night(call: ServiceCall) -> None:
        bed = _bed(hass, call)
        if not bed.end_night():
            raise _error("no_night_running", bed=bed.entry.title)

    async def export_night(call: ServiceCall) -> ServiceResponse:
        bed = _bed(hass, call)
        night: dt.date | None = call.data.get(ATTR_NIGHT)
        directory = export_directory(hass, call.data[ATTR_DIRECTORY])
        report = bed.journal.report(night, bed.sensor_id)
        if report is None:
            available = ", ".join(bed.journal.nights_available()) or "-"
            raise _error(
                "night_not_found",
                night=night.isoformat() if night else "-",
                available=available,
            )
        start = dt_util.parse_datetime(report["start"] or "") or dt_util.utcnow()
        stem = f"{slugify(bed.sensor_id)}_{report['night']}"
        try:
            paths = await hass.async_add_executor_job(
                write_night_files, report, dt_util.as_local(start), directory, stem
            )
        except OSError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="export_failed",
                translation_placeholders={"directory": str(directory), "error": str(err)},
            ) from err
        return {
            "night": report["night"],
            "files": [str(path) for path in paths],
            "summary": report["summary"],
        }

    hass.services.async_register(DOMAIN, SERVICE_LOG_CAFFEINE, log_caffeine, LOG_CAFFEINE_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_LOG_EXERCISE, log_exercise, LOG_EXERCISE_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_START_NIGHT, start_night, NIGHT_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_END_NIGHT, end_night, NIGHT_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_EXPORT_NIGHT,
        export_night,
        EXPORT_NIGHT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
