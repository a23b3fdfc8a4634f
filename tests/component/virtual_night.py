"""A virtual sensor's messages for the component tests (synthesised once per test session)."""

from __future__ import annotations

from functools import cache

from hardware.virtual_sensor.frames import VirtualBed
from hardware.virtual_sensor.network import Message
from hardware.virtual_sensor.synth import generate

SENSOR_ID = "bedroom"


@cache
def night_messages(scenario: str = "plmd", minutes: float = 20.0, seed: int = 7) -> list[Message]:
    """Every message a virtual sensor sends for a short night (status, meta, frames, diag)."""
    recording = generate(scenario, seed=seed, minutes=minutes)
    return list(VirtualBed(recording, SENSOR_ID, seed=seed).iter_messages())
