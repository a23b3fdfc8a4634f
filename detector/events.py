"""Detector output types: movement events, bed intervals, and their JSON form."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["BedInterval", "Event", "EventType"]


class EventType(enum.StrEnum):
    """Classes of movement the detector reports."""

    TWITCH = "twitch"
    HYPNIC_JERK = "hypnic_jerk"
    LIMB_MOVEMENT = "limb_movement"
    GROSS_MOVEMENT = "gross_movement"


@dataclass(frozen=True, slots=True)
class Event:
    """One detected movement.

    Attributes
    ----------
    type : EventType
        Movement class.
    onset_sample : int
        Sample index of the onset, counted from the start of the stream (gaps included).
    duration_samples : int
        Length in samples.
    fs_hz : float
        Sample rate the indices refer to.
    channel : str or None
        Channel where the movement was strongest.
    amplitude : float
        Peak amplitude relative to the heartbeat (ballistocardiogram) peak level on that channel.
    clipped : bool
        Whether the sensor clipped during the movement (the amplitude is then a lower bound).
    event_id : str
        Stable id: ``<bed>:<boot_id hex>:<onset sample>``, so a replay or a takeover by another
        worker reports the same event under the same id.
    """

    type: EventType
    onset_sample: int
    duration_samples: int
    fs_hz: float
    channel: str | None
    amplitude: float
    clipped: bool
    event_id: str

    @property
    def onset_s(self) -> float:
        """Onset in seconds from the start of the stream."""
        return self.onset_sample / self.fs_hz

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.duration_samples / self.fs_hz

    @property
    def end_s(self) -> float:
        """End in seconds from the start of the stream."""
        return (self.onset_sample + self.duration_samples) / self.fs_hz

    def as_json(self) -> dict[str, Any]:
        """Return the CLI's JSON form (times in seconds, rounded to milliseconds)."""
        return {
            "type": self.type.value,
            "onset": round(self.onset_s, 3),
            "duration": round(self.duration_s, 3),
            "channel": self.channel,
            "amplitude": round(self.amplitude, 2),
        }


@dataclass(frozen=True, slots=True)
class BedInterval:
    """A time in bed, in samples from the start of the stream (``end_sample`` exclusive)."""

    onset_sample: int
    end_sample: int
    fs_hz: float

    @property
    def onset_s(self) -> float:
        """Onset in seconds."""
        return self.onset_sample / self.fs_hz

    @property
    def end_s(self) -> float:
        """End in seconds."""
        return self.end_sample / self.fs_hz

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return (self.end_sample - self.onset_sample) / self.fs_hz

    def as_json(self) -> dict[str, Any]:
        """Return the CLI's JSON form."""
        return {"onset": round(self.onset_s, 3), "end": round(self.end_s, 3)}
