"""Between the virtual device and the broker: the message model and seeded fault injection.

:func:`inject_faults` turns the device's frames into what a receiver gets, under :class:`Faults`:

* ``loss`` - a frame never arrives;
* ``duplicate`` - a frame arrives twice in a row;
* ``reorder`` - a frame is swapped with the next one of the same boot (the receiver sees a gap, then
  a late frame);
* ``garbage`` - an extra payload on the raw topic after a frame: random bytes, a truncated frame or
  JSON, chosen uniformly; :func:`detector.protocol.decode_frame` refuses every one;
* ``reboot_at_s`` - handled by the device (:class:`hardware.virtual_sensor.frames.VirtualBed`).

Loss, duplicate and reorder exclude each other per frame; the frame that overtakes a reordered frame
gets no fault of its own. A reordered frame is never swapped across a reboot or past the end.
"""

from __future__ import annotations

import enum
import json
import math
import random
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from detector.protocol import MAGIC

__all__ = [
    "FAULT_KEYS",
    "FRAME_KINDS",
    "GARBAGE_KINDS",
    "DeviceFrame",
    "Faults",
    "Message",
    "MessageKind",
    "inject_faults",
]


class Message(NamedTuple):
    """One MQTT message as the device would send it.

    Attributes
    ----------
    time_s : float
        Sensor time in seconds since the stream started (non-decreasing along a stream).
    topic : str
        Full topic, ``<prefix>/<bed>/<kind>``.
    payload : bytes
        Message body.
    qos : int
        MQTT quality of service (0 or 1).
    retain : bool
        MQTT retain flag.
    """

    time_s: float
    topic: str
    payload: bytes
    qos: int
    retain: bool


class MessageKind(enum.StrEnum):
    """What a message is, for counting; the receiver cannot tell the frame kinds apart."""

    STATUS = "status"
    META = "meta"
    DIAG = "diag"
    #: A valid frame, in order.
    FRAME = "frame"
    #: The second copy of a duplicated frame.
    DUPLICATE = "duplicate"
    #: A frame that was overtaken by the next one.
    REORDERED = "reordered"
    GARBAGE_RANDOM = "garbage_random"
    GARBAGE_TRUNCATED = "garbage_truncated"
    GARBAGE_JSON = "garbage_json"


#: Keys of the injected-fault counters (``reboot`` is counted by the device).
FAULT_KEYS: Final = (
    "loss",
    "duplicate",
    "reorder",
    "garbage_random",
    "garbage_truncated",
    "garbage_json",
    "reboot",
)
#: Message kinds that are valid v1 frames on the raw topic.
FRAME_KINDS: Final = frozenset({MessageKind.FRAME, MessageKind.DUPLICATE, MessageKind.REORDERED})
#: Message kinds that are garbage on the raw topic.
GARBAGE_KINDS: Final = frozenset(
    {MessageKind.GARBAGE_RANDOM, MessageKind.GARBAGE_TRUNCATED, MessageKind.GARBAGE_JSON}
)


@dataclass(frozen=True, slots=True)
class Faults:
    """Fault injection settings; all zero by default (a perfect sensor on a perfect network).

    Parameters
    ----------
    loss : float
        Probability that a frame is lost.
    duplicate : float
        Probability that a frame arrives twice.
    reorder : float
        Probability that a frame is swapped with the next one.
    garbage : float
        Probability, per frame, of an extra malformed payload on the raw topic.
    reboot_at_s : tuple of float
        Sensor times (seconds since the stream started) of scheduled reboots.

    Raises
    ------
    ValueError
        If a rate is outside [0, 1], ``loss + duplicate + reorder`` exceeds 1, or a reboot time is
        not a finite positive number.
    """

    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    garbage: float = 0.0
    reboot_at_s: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name in ("loss", "duplicate", "reorder", "garbage"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} rate must be within 0..1, got {value!r}")
        if self.loss + self.duplicate + self.reorder > 1.0:
            raise ValueError("loss + duplicate + reorder rates must not exceed 1")
        object.__setattr__(self, "reboot_at_s", tuple(sorted(float(t) for t in self.reboot_at_s)))
        for t in self.reboot_at_s:
            if not (math.isfinite(t) and t > 0):
                raise ValueError(f"reboot times must be finite and positive, got {t}")


@dataclass(frozen=True, slots=True)
class DeviceFrame:
    """A frame as the device sends it, before the network.

    Attributes
    ----------
    time_s : float
        Sensor time at which it is sent.
    payload : bytes
        The encoded v1 frame.
    """

    time_s: float
    payload: bytes


def inject_faults(
    device: Iterator[DeviceFrame | tuple[MessageKind, Message]],
    faults: Faults,
    rng: random.Random,
    raw_topic: str,
    counts: Counter[str],
) -> Iterator[tuple[MessageKind, Message]]:
    """Pass the device's messages through a faulty network.

    Parameters
    ----------
    device : iterator
        The device's frames (:class:`DeviceFrame`) and its other messages, labelled, in order.
        A ``status`` message marks a (re)boot.
    faults : Faults
        Fault rates.
    rng : random.Random
        Source of every random decision (one draw per frame, more for garbage).
    raw_topic : str
        Topic of the frames.
    counts : collections.Counter
        Incremented per injected fault: ``loss``, ``duplicate``, ``reorder``, ``garbage_random``,
        ``garbage_truncated``, ``garbage_json``.

    Yields
    ------
    tuple of (MessageKind, Message)
        What arrives, in arrival order.
    """
    held: DeviceFrame | None = None  # a frame waiting to be overtaken
    p_dup = faults.loss + faults.duplicate
    p_reorder = p_dup + faults.reorder

    def raw(kind: MessageKind, time_s: float, payload: bytes) -> tuple[MessageKind, Message]:
        return kind, Message(time_s, raw_topic, payload, 0, False)

    for item in device:
        if not isinstance(item, DeviceFrame):
            if held is not None and item[0] is MessageKind.STATUS:
                # A reboot: nothing of the new boot may overtake the held frame.
                yield raw(MessageKind.FRAME, held.time_s, held.payload)
                held = None
            yield item
            continue
        if held is not None:
            yield raw(MessageKind.FRAME, item.time_s, item.payload)
            yield raw(MessageKind.REORDERED, item.time_s, held.payload)
            counts["reorder"] += 1
            held = None
        else:
            u = rng.random()
            if u < faults.loss:
                counts["loss"] += 1
            elif u < p_dup:
                counts["duplicate"] += 1
                yield raw(MessageKind.FRAME, item.time_s, item.payload)
                yield raw(MessageKind.DUPLICATE, item.time_s, item.payload)
            elif u < p_reorder:
                held = item
            else:
                yield raw(MessageKind.FRAME, item.time_s, item.payload)
        if faults.garbage and rng.random() < faults.garbage:
            kind, payload = _garbage(rng, item.payload)
            counts[kind.value] += 1
            yield raw(kind, item.time_s, payload)
    if held is not None:  # the stream ended: nothing left to overtake it
        yield raw(MessageKind.FRAME, held.time_s, held.payload)


def to_json(document: Mapping[str, Any]) -> bytes:
    """Serialize a JSON message body compactly."""
    return json.dumps(document, separators=(",", ":")).encode()


def _garbage(rng: random.Random, frame: bytes) -> tuple[MessageKind, bytes]:
    """Make a payload that :func:`detector.protocol.decode_frame` must refuse."""
    choice = rng.randrange(3)
    if choice == 0:
        data = bytearray(rng.randbytes(rng.randint(1, 2 * len(frame))))
        if data[:2] == MAGIC:  # never a valid-looking start
            data[0] ^= 0xFF
        return MessageKind.GARBAGE_RANDOM, bytes(data)
    if choice == 1:
        return MessageKind.GARBAGE_TRUNCATED, frame[: rng.randrange(len(frame))]
    return MessageKind.GARBAGE_JSON, to_json({"error": "not a frame", "value": rng.randint(0, 999)})
