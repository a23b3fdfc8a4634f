"""Diagnostics of a bed sensor: its configuration, link health, tonight's tally and the detector.

The topic prefix and sensor id stay in: support needs them to tell which messages belong to the
bed. What could identify a network or a person, should a sensor's ``meta`` carry it (addresses,
wifi names, serial numbers, a bed's name), is redacted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

import numpy as np
from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant

from .bed import SleepBed, SleepMyoclonusConfigEntry
from .detector.config import DetectorConfig

# Redacted wherever they occur, at any depth (meta is free-form JSON from the sensor).
TO_REDACT: Final = frozenset(
    {
        "bssid",
        "host",
        "hostname",
        "ip",
        "ip_address",
        "ipv4",
        "ipv6",
        "mac",
        "mac_address",
        "name",
        "password",
        "serial",
        "serial_number",
        "ssid",
        "username",
        "wifi",
    }
)


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SleepMyoclonusConfigEntry
) -> dict[str, Any]:
    """Return the diagnostics of one bed sensor's config entry.

    Parameters
    ----------
    hass
        The Home Assistant instance.
    entry
        The bed sensor's config entry.

    Returns
    -------
    dict
        JSON-safe facts: the entry's data and options, and, while the entry is loaded, the
        sensor's meta and status, tonight's tally and log sizes, the last finished night, how
        much lifestyle data is kept (counts only), the protocol statistics, the detector's stream
        and its non-default parameters, and the last event.
    """
    result: dict[str, Any] = {
        "entry": {
            "state": entry.state.value,
            "data": async_redact_data(entry.data, TO_REDACT),
            "options": async_redact_data(entry.options, TO_REDACT),
        }
    }
    if entry.state is not ConfigEntryState.LOADED:
        return result
    bed = entry.runtime_data
    last_event = bed.last_event
    result |= {
        "sensor": {
            "meta": async_redact_data(bed.meta, TO_REDACT),
            "status": bed.status,
            "available": bed.available,
            "in_bed": bed.in_bed,
            "restless": bed.restless,
            "quiet_hours": bed.quiet_hours,
        },
        "tonight": bed.tally.as_dict(),
        "tonight_logged": {
            "events": len(bed.journal.log.events),
            "plm_series": len(bed.journal.log.plm_series),
            "in_bed": len(bed.journal.log.in_bed),
        },
        "nights": {
            "kept": len(bed.journal.history),
            "last": bed.journal.history[-1].as_dict() if bed.journal.history else None,
            "reports": sorted(bed.journal.reports),
        },
        "lifestyle_logged": {
            "caffeine": len(bed.journal.lifestyle.caffeine),
            "exercise": len(bed.journal.lifestyle.exercise),
        },
        "twitch_rate": bed.twitch_rate(),
        "signal_quality": bed.signal_quality(),
        "protocol": _protocol(bed),
        "internal_errors": bed.internal_errors,
        "stream": _stream(bed),
        "detector_config": non_default_parameters(bed.config),
        "last_event": (
            None
            if last_event is None
            else {"type": last_event[0].value, "attributes": _json_safe(last_event[1])}
        ),
    }
    return result


def non_default_parameters(config: DetectorConfig) -> dict[str, Any]:
    """Return the detector parameters that differ from the product's defaults.

    Parameters
    ----------
    config
        The parameters a bed's detector runs with.

    Returns
    -------
    dict
        Parameter name to value (nested parameter sets as dicts), in declaration order; empty
        when the detector runs on its defaults.
    """
    default = DetectorConfig()
    return {
        field.name: _json_safe(getattr(config, field.name))
        for field in dataclasses.fields(config)
        if getattr(config, field.name) != getattr(default, field.name)
    }


def _protocol(bed: SleepBed) -> dict[str, Any]:
    """Return the raw topic's counters: payloads, acceptance, refusals and sequence classes."""
    ingest = bed.detector.ingest
    stats = ingest.stats
    return {
        "payloads": stats.payloads,
        "frames_accepted": stats.frames_accepted,
        "samples_accepted": stats.samples_accepted,
        "errors": {reason.value: count for reason, count in stats.errors.items()},
        "sequence": {kind.value: count for kind, count in ingest.classes.items()},
        "missing_frames": ingest.missing_frames,
        "missing_samples": ingest.missing_samples,
    }


def _stream(bed: SleepBed) -> dict[str, Any] | None:
    """Return the facts of the detector's current stream (None before the first valid frame)."""
    stream = bed.detector.stream
    if stream is None:
        return None
    return {
        "fs_hz": stream.fs_hz,
        "channels": list(stream.channels),
        "boot_id": stream.boot_id,
        "samples_seen": stream.segment_start + stream.samples_seen,
    }


def _json_safe(value: Any) -> Any:
    """Return ``value`` with dataclasses, mappings, sequences and numpy scalars as plain JSON."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: _json_safe(getattr(value, field.name))
            for field in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, np.generic):  # numpy scalars, also those subclassing float
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
