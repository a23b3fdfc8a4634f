"""MQTT 3.1.1 packet encoding and decoding for the embedded broker.

Only what a broker needs: read one control packet from a stream, parse the packets a client sends
(CONNECT, PUBLISH, SUBSCRIBE, UNSUBSCRIBE, and the packet-identifier-only acknowledgements) and
build the packets a broker sends. Every parser raises :class:`MalformedPacketError` on input that
breaks the specification; the broker then closes that one connection.
"""

from __future__ import annotations

import asyncio
import struct
from dataclasses import dataclass

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 10, 11, 12, 13, 14

_MAX_REMAINING_LENGTH = 268_435_455  # four remaining-length bytes


class MalformedPacketError(ValueError):
    """A packet breaks the MQTT 3.1.1 specification; the connection must be closed."""


@dataclass(frozen=True, slots=True)
class Publish:
    """An application message as carried by a PUBLISH packet."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    packet_id: int | None = None
    dup: bool = False


@dataclass(frozen=True, slots=True)
class Connect:
    """The fields of a CONNECT packet that a broker acts on."""

    protocol_level: int
    clean_session: bool
    keepalive_s: int
    client_id: str
    will: Publish | None


async def read_packet(
    reader: asyncio.StreamReader, max_size: int, expect_type: int | None = None
) -> tuple[int, int, bytes]:
    """Read one control packet, checking its type and fixed-header flags first.

    Parameters
    ----------
    reader : asyncio.StreamReader
        The connection's byte stream.
    max_size : int
        Largest remaining length accepted, in bytes.
    expect_type : int, optional
        Refuse any other packet type (checked before the rest of the packet is read).

    Returns
    -------
    tuple of (int, int, bytes)
        Packet type (1-14), the four flag bits of the fixed header, and the packet body.

    Raises
    ------
    MalformedPacketError
        On a reserved or unexpected packet type, wrong fixed-header flags, a remaining length
        longer than four bytes, or a packet over ``max_size``.
    asyncio.IncompleteReadError
        When the peer closes the connection mid-packet (or before one).
    """
    first = (await reader.readexactly(1))[0]
    packet_type, flags = first >> 4, first & 0x0F
    if packet_type in (0, 15) or expect_type not in (None, packet_type):
        raise MalformedPacketError(f"unexpected packet type {packet_type}")
    required_flags = 0x02 if packet_type in (PUBREL, SUBSCRIBE, UNSUBSCRIBE) else 0
    if packet_type != PUBLISH and flags != required_flags:
        raise MalformedPacketError(f"bad flags {flags:#x} for packet type {packet_type}")
    length, multiplier = 0, 1
    for _ in range(4):
        byte = (await reader.readexactly(1))[0]
        length += (byte & 0x7F) * multiplier
        if not byte & 0x80:
            break
        multiplier *= 128
    else:
        raise MalformedPacketError("remaining length longer than four bytes")
    if length > max_size:
        raise MalformedPacketError(f"packet of {length} bytes exceeds the {max_size}-byte limit")
    if length and packet_type in (PINGREQ, PINGRESP, DISCONNECT):
        raise MalformedPacketError(f"packet type {packet_type} must have no body")
    return packet_type, flags, await reader.readexactly(length)


def encode_packet(packet_type: int, flags: int, body: bytes = b"") -> bytes:
    """Prefix ``body`` with a fixed header (type, flags, variable-length remaining length).

    Parameters
    ----------
    packet_type : int
        Control packet type, 1-14.
    flags : int
        The four low bits of the first byte.
    body : bytes, optional
        Variable header and payload.

    Returns
    -------
    bytes
        The complete packet.
    """
    length = len(body)
    if length > _MAX_REMAINING_LENGTH:
        raise ValueError("packet too large for MQTT")
    header = bytearray([(packet_type << 4) | flags])
    while True:
        length, digit = divmod(length, 128)
        header.append(digit | (0x80 if length else 0))
        if not length:
            return bytes(header) + body


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack("!H", len(raw)) + raw


class _Cursor:
    """Bounds-checked reader over a packet body."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if n > self.remaining():
            raise MalformedPacketError("packet shorter than its fields")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = struct.unpack("!H", self.take(2))[0]
        return value

    def binary(self) -> bytes:
        return self.take(self.u16())

    def string(self) -> str:
        raw = self.binary()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise MalformedPacketError("string is not valid UTF-8") from err
        if "\x00" in text:
            raise MalformedPacketError("string contains U+0000")
        return text


def parse_connect(body: bytes) -> Connect:
    """Parse a CONNECT body.

    The protocol level is returned, not checked, so that the broker can refuse it with CONNACK
    return code 1. Username and password are read and ignored (anonymous access).

    Parameters
    ----------
    body : bytes
        Packet body after the fixed header.

    Returns
    -------
    Connect
        The parsed fields.
    """
    cur = _Cursor(body)
    name = cur.string()
    level = cur.u8()
    flags = cur.u8()
    keepalive = cur.u16()
    if name not in ("MQTT", "MQIsdp"):
        raise MalformedPacketError(f"unknown protocol name {name!r}")
    if level != 4:  # refuse with return code 1 before looking at the rest
        return Connect(level, True, keepalive, "", None)
    if flags & 0x01:
        raise MalformedPacketError("reserved CONNECT flag set")
    will_flag, will_qos, will_retain = bool(flags & 0x04), (flags >> 3) & 0x03, bool(flags & 0x20)
    if will_qos == 3 or (not will_flag and (will_qos or will_retain)):
        raise MalformedPacketError("inconsistent will flags")
    if flags & 0x40 and not flags & 0x80:
        raise MalformedPacketError("password without user name")
    client_id = cur.string()
    will = None
    if will_flag:
        will = Publish(cur.string(), cur.binary(), will_qos, will_retain)
        if not valid_topic_name(will.topic):
            raise MalformedPacketError("invalid will topic")
    if flags & 0x80:
        cur.string()
    if flags & 0x40:
        cur.binary()
    if cur.remaining():
        raise MalformedPacketError("trailing bytes after CONNECT payload")
    return Connect(level, bool(flags & 0x02), keepalive, client_id, will)


def parse_publish(flags: int, body: bytes) -> Publish:
    """Parse a PUBLISH packet.

    Parameters
    ----------
    flags : int
        Fixed-header flags (DUP, QoS, RETAIN).
    body : bytes
        Packet body.

    Returns
    -------
    Publish
        The message; ``packet_id`` is set for QoS 1 and 2.
    """
    qos = (flags >> 1) & 0x03
    if qos == 3:
        raise MalformedPacketError("PUBLISH with QoS 3")
    if qos == 0 and flags & 0x08:
        raise MalformedPacketError("DUP flag on a QoS 0 PUBLISH")
    cur = _Cursor(body)
    topic = cur.string()
    if not valid_topic_name(topic):
        raise MalformedPacketError(f"invalid topic name {topic!r}")
    packet_id = None
    if qos:
        packet_id = cur.u16()
        if packet_id == 0:
            raise MalformedPacketError("packet identifier 0")
    payload = cur.take(cur.remaining())
    return Publish(topic, payload, qos, bool(flags & 0x01), packet_id, bool(flags & 0x08))


def parse_packet_id(body: bytes) -> int:
    """Parse a body holding only a packet identifier (PUBACK, PUBREC, PUBREL, PUBCOMP)."""
    if len(body) != 2:
        raise MalformedPacketError("acknowledgement must be exactly 2 bytes")
    return _Cursor(body).u16()


def parse_subscribe(body: bytes) -> tuple[int, list[tuple[str, int]]]:
    """Parse a SUBSCRIBE body.

    Parameters
    ----------
    body : bytes
        Packet body.

    Returns
    -------
    tuple of (int, list of (str, int))
        Packet identifier and the (topic filter, requested QoS) pairs. Filters are not validated
        here; an invalid filter is refused per filter in the SUBACK.
    """
    cur = _Cursor(body)
    packet_id = cur.u16()
    pairs: list[tuple[str, int]] = []
    while cur.remaining():
        topic_filter = cur.string()
        qos = cur.u8()
        if qos > 2:
            raise MalformedPacketError("SUBSCRIBE requested QoS byte > 2")
        pairs.append((topic_filter, qos))
    if not pairs:
        raise MalformedPacketError("SUBSCRIBE without topic filters")
    return packet_id, pairs


def parse_unsubscribe(body: bytes) -> tuple[int, list[str]]:
    """Parse an UNSUBSCRIBE body into (packet identifier, topic filters)."""
    cur = _Cursor(body)
    packet_id = cur.u16()
    filters: list[str] = []
    while cur.remaining():
        filters.append(cur.string())
    if not filters:
        raise MalformedPacketError("UNSUBSCRIBE without topic filters")
    return packet_id, filters


def encode_ack(packet_type: int, packet_id: int) -> bytes:
    """Build a packet whose body is only a packet identifier (e.g. PUBACK, UNSUBACK)."""
    return encode_packet(packet_type, 0, struct.pack("!H", packet_id))


def encode_connack(return_code: int, session_present: bool = False) -> bytes:
    """Build a CONNACK (0 accepted, 1 bad protocol level, 2 identifier rejected)."""
    return encode_packet(CONNACK, 0, bytes([int(session_present), return_code]))


def encode_publish(message: Publish) -> bytes:
    """Build a PUBLISH packet; ``message.packet_id`` is required for QoS > 0."""
    flags = (message.qos << 1) | int(message.retain) | (0x08 if message.dup else 0)
    body = _string(message.topic)
    if message.qos:
        if not message.packet_id:
            raise ValueError("QoS > 0 needs a packet identifier")
        body += struct.pack("!H", message.packet_id)
    return encode_packet(PUBLISH, flags, body + message.payload)


def valid_topic_name(topic: str) -> bool:
    """Return whether ``topic`` may be published to (non-empty, no wildcards)."""
    return bool(topic) and "+" not in topic and "#" not in topic


def valid_filter(topic_filter: str) -> bool:
    """Return whether ``topic_filter`` is a valid subscription filter.

    ``+`` must fill a whole level; ``#`` must fill the last level.
    """
    if not topic_filter:
        return False
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return False
        if "+" in level and level != "+":
            return False
    return True


def topic_matches(topic_filter: str, topic: str) -> bool:
    """Return whether a topic name matches a (valid) topic filter.

    Topics starting with ``$`` are not matched by a filter starting with a wildcard.

    Parameters
    ----------
    topic_filter : str
        Subscription filter, possibly with ``+`` and ``#``.
    topic : str
        Topic name of a published message.

    Returns
    -------
    bool
        True when the message is delivered on this subscription.
    """
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    filter_levels = topic_filter.split("/")
    topic_levels = topic.split("/")
    for i, level in enumerate(filter_levels):
        if level == "#":
            return True  # also matches the parent level ("a/#" matches "a")
        if i >= len(topic_levels) or (level != "+" and level != topic_levels[i]):
            return False
    return len(filter_levels) == len(topic_levels)
