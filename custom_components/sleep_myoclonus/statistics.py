"""Nightly history as long-term statistics, for Home Assistant's statistics-graph card.

When a night ends, :func:`async_add_night_statistics` adds one hourly row per figure to the
recorder as an external statistic (source ``sleep_myoclonus``, id
``sleep_myoclonus:<slug>_<metric>``, see :data:`METRICS`). The row starts at the hour the night's
window opened on the night's date, and its mean, min and max are the night's figure, so a
statistics-graph card with ``period: day`` and ``stat_types: [mean]`` draws one bar per night and
``period: week`` the mean of the week's nights. Writing a night again replaces its row.

The metadata is built for the Home Assistant that runs: ``mean_type`` (which replaced
``has_mean``) always, ``unit_class`` where the recorder's metadata has it (current versions;
they warn without it and stop accepting that in 2026.11).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, cast

from homeassistant.components.recorder.models import (
    StatisticData,
    StatisticMeanType,
    StatisticMetaData,
)
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    valid_statistic_id,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import DurationConverter

from .const import DOMAIN
from .history import NightRecord

_LOGGER = logging.getLogger(__name__)

SOURCE: Final = DOMAIN
UNIT_TWITCHES_PER_HOUR: Final = "twitches/h"
UNIT_PER_HOUR: Final = "/h"
UNIT_HOURS: Final = "h"
# the metadata keys this Home Assistant's recorder knows (2025.4 has no ``unit_class``)
_METADATA_KEYS: Final = StatisticMetaData.__required_keys__ | StatisticMetaData.__optional_keys__


@dataclass(frozen=True, slots=True)
class NightMetric:
    """One figure of a night kept as a statistic.

    Attributes
    ----------
    key : str
        The statistic id's suffix (``sleep_myoclonus:<slug>_<key>``).
    name : str
        The statistic's name after the bed's name.
    unit : str or None
        Unit of measurement; None for counts.
    unit_class : str or None
        The recorder's unit conversion class (only the time in bed has one).
    value : Callable
        The figure of a night; None when the night has none (a rate without time in bed).
    """

    key: str
    name: str
    unit: str | None
    unit_class: str | None
    value: Callable[[NightRecord], float | None]


METRICS: Final[tuple[NightMetric, ...]] = (
    NightMetric("twitches", "twitches per night", None, None, lambda r: r.twitch_count),
    NightMetric(
        "twitches_per_hour",
        "twitches per hour in bed",
        UNIT_TWITCHES_PER_HOUR,
        None,
        lambda r: r.twitches_per_hour,
    ),
    NightMetric("plm_index", "PLM index", UNIT_PER_HOUR, None, lambda r: r.plm_index),
    NightMetric(
        "hypnic_jerks", "hypnic jerks per night", None, None, lambda r: r.hypnic_jerk_count
    ),
    NightMetric(
        "limb_movements", "limb movements per night", None, None, lambda r: r.limb_movement_count
    ),
    NightMetric(
        "gross_movements",
        "gross movements per night",
        None,
        None,
        lambda r: r.gross_movement_count,
    ),
    NightMetric(
        "time_in_bed",
        "time in bed per night",
        UNIT_HOURS,
        DurationConverter.UNIT_CLASS,
        lambda r: r.hours_in_bed,
    ),
)


def statistic_id(slug: str, metric: NightMetric) -> str:
    """Return the statistic id of a bed's figure, ``sleep_myoclonus:<slug>_<key>``.

    Parameters
    ----------
    slug : str
        The bed's slug (``homeassistant.util.slugify`` of its sensor id).
    metric : NightMetric
        The figure.

    Returns
    -------
    str
        The id.
    """
    return f"{SOURCE}:{slug}_{metric.key}"


def statistic_ids(slug: str) -> list[str]:
    """Return the ids of every statistic kept for a bed, in the order of :data:`METRICS`.

    Parameters
    ----------
    slug : str
        The bed's slug.

    Returns
    -------
    list of str
        The ids.
    """
    return [statistic_id(slug, metric) for metric in METRICS]


def statistic_metadata(slug: str, bed_name: str, metric: NightMetric) -> StatisticMetaData:
    """Return the recorder metadata of a bed's figure, for the Home Assistant that runs.

    ``mean_type`` is arithmetic and there is no sum; ``has_mean`` (deprecated) is left out, and
    ``unit_class`` is added where this Home Assistant's ``StatisticMetaData`` has it.

    Parameters
    ----------
    slug : str
        The bed's slug.
    bed_name : str
        The bed's name (its config entry's title), the start of the statistic's name.
    metric : NightMetric
        The figure.

    Returns
    -------
    StatisticMetaData
        The metadata.
    """
    metadata: dict[str, Any] = {
        "mean_type": StatisticMeanType.ARITHMETIC,
        "has_sum": False,
        "name": f"{bed_name} {metric.name}",
        "source": SOURCE,
        "statistic_id": statistic_id(slug, metric),
        "unit_of_measurement": metric.unit,
    }
    if "unit_class" in _METADATA_KEYS:
        metadata["unit_class"] = metric.unit_class
    return cast(StatisticMetaData, metadata)


def night_row_start(night: dt.date, window_start: dt.time) -> dt.datetime:
    """Return when a night's row starts: ``window_start`` on the night's date, local time.

    The time is floored to the hour; in a time zone whose offset is not whole hours, the row
    starts at the next top of a UTC hour (the recorder's hours), still on the same local date.

    Parameters
    ----------
    night : datetime.date
        The night's date (the date its window opened).
    window_start : datetime.time
        When the night window opens.

    Returns
    -------
    datetime.datetime
        The start, in UTC.
    """
    local = dt.datetime.combine(
        night, dt.time(window_start.hour), tzinfo=dt_util.get_default_time_zone()
    )
    utc = dt_util.as_utc(local)
    floored = utc.replace(minute=0, second=0, microsecond=0)
    return floored if floored == utc else floored + dt.timedelta(hours=1)


def night_rows(record: NightRecord, window_start: dt.time) -> dict[str, StatisticData]:
    """Return a night's row for each figure it has, by metric key.

    Parameters
    ----------
    record : NightRecord
        The finished night.
    window_start : datetime.time
        When the night window opens.

    Returns
    -------
    dict
        ``{key: row}``; rates are missing when the night had no time in bed.
    """
    start = night_row_start(record.night, window_start)
    rows: dict[str, StatisticData] = {}
    for metric in METRICS:
        value = metric.value(record)
        if value is None:
            continue
        figure = float(value)
        rows[metric.key] = {"start": start, "mean": figure, "min": figure, "max": figure}
    return rows


async def async_add_night_statistics(
    hass: HomeAssistant,
    slug: str,
    bed_name: str,
    record: NightRecord,
    window_start: dt.time,
) -> None:
    """Write a finished night's figures to the recorder's long-term statistics.

    One hourly row per figure at :func:`night_row_start`; a night written again replaces its
    rows. Does nothing (logged at debug level) when the recorder is not loaded.

    Parameters
    ----------
    hass : HomeAssistant
        Home Assistant.
    slug : str
        The bed's slug (``slugify`` of its sensor id).
    bed_name : str
        The bed's name.
    record : NightRecord
        The finished night.
    window_start : datetime.time
        When the bed's night window opens.
    """
    if "recorder" not in hass.config.components:
        _LOGGER.debug(
            "Recorder not loaded: night %s of %s kept without statistics", record.night, slug
        )
        return
    if not all(valid_statistic_id(sid) for sid in statistic_ids(slug)):
        _LOGGER.warning("Bed %r has no valid statistic id (slug %r): no statistics", bed_name, slug)
        return
    rows = night_rows(record, window_start)
    for metric in METRICS:
        if (row := rows.get(metric.key)) is not None:
            async_add_external_statistics(hass, statistic_metadata(slug, bed_name, metric), [row])
