"""MQTT topic scheme shared by the sensor, the Home Assistant component and the detector service.

Every bed publishes under ``<prefix>/<bed>/``:

============  =====  ========  ============================================================
suffix        QoS    retained  payload
============  =====  ========  ============================================================
``raw``       0      no        binary v1 frames (:mod:`detector.protocol`)
``status``    1      yes       ``online`` / ``offline`` (``offline`` is the last will)
``meta``      1      yes       JSON: firmware, channels, units, volts per count, filters
``diag``      0      no        JSON: periodic device diagnostics
``events``    1      no        JSON events published by the detector service
``state``     1      yes       JSON night state published by the detector service
============  =====  ========  ============================================================

``prefix`` is one or more ``/``-separated ids; ``bed`` is one id. Ids match ``[A-Za-z0-9_-]+``.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DEFAULT_PREFIX",
    "TopicError",
    "TopicKind",
    "TopicParts",
    "bed_topic",
    "is_valid_id",
    "is_valid_prefix",
    "parse_topic",
    "subscription",
]

DEFAULT_PREFIX: Final = "sleep_myoclonus"
_ID: Final = re.compile(r"[A-Za-z0-9_-]+")


class TopicKind(enum.StrEnum):
    """The last topic level: what a message is."""

    RAW = "raw"
    STATUS = "status"
    META = "meta"
    DIAG = "diag"
    EVENTS = "events"
    STATE = "state"


class TopicError(ValueError):
    """A topic, prefix or id that does not follow the scheme."""


@dataclass(frozen=True, slots=True)
class TopicParts:
    """A parsed bed topic."""

    prefix: str
    bed: str
    kind: TopicKind


def is_valid_id(value: str) -> bool:
    """Return whether ``value`` is a valid bed/sensor id (``[A-Za-z0-9_-]+``)."""
    return _ID.fullmatch(value) is not None


def is_valid_prefix(value: str) -> bool:
    """Return whether ``value`` is one or more ``/``-separated valid ids."""
    return all(is_valid_id(level) for level in value.split("/"))


def bed_topic(prefix: str, bed: str, kind: TopicKind) -> str:
    """Build ``<prefix>/<bed>/<kind>``.

    Raises
    ------
    TopicError
        If ``prefix`` or ``bed`` breaks the id rules.
    """
    if not is_valid_prefix(prefix):
        raise TopicError(f"invalid topic prefix {prefix!r}")
    if not is_valid_id(bed):
        raise TopicError(f"invalid bed id {bed!r}")
    return f"{prefix}/{bed}/{kind.value}"


def subscription(prefix: str, kind: TopicKind, bed: str | None = None) -> str:
    """Topic filter for one kind of message from one bed, or from all beds when ``bed`` is None."""
    if bed is not None:
        return bed_topic(prefix, bed, kind)
    if not is_valid_prefix(prefix):
        raise TopicError(f"invalid topic prefix {prefix!r}")
    return f"{prefix}/+/{kind.value}"


def parse_topic(topic: str) -> TopicParts:
    """Split a bed topic into prefix, bed and kind.

    Raises
    ------
    TopicError
        If the topic does not follow the scheme.
    """
    levels = topic.split("/")
    if len(levels) < 3:
        raise TopicError(f"topic {topic!r} has fewer than 3 levels")
    *prefix_levels, bed, kind = levels
    try:
        topic_kind = TopicKind(kind)
    except ValueError:
        raise TopicError(f"unknown message kind {kind!r} in {topic!r}") from None
    prefix = "/".join(prefix_levels)
    if not is_valid_prefix(prefix) or not is_valid_id(bed):
        raise TopicError(f"invalid prefix or bed id in {topic!r}")
    return TopicParts(prefix, bed, topic_kind)
