"""A small MQTT 3.1.1 broker on asyncio, for machines without Mosquitto.

Anonymous, in memory, one process. Supported: CONNECT/CONNACK (protocol level other than 4 refused
with return code 1), keepalive (dropped after 1.5 x keepalive of silence), PINGREQ, SUBSCRIBE and
UNSUBSCRIBE with ``+``/``#`` (``$`` topics are not matched by a leading wildcard), PUBLISH at QoS
0 and 1 both ways, retained messages (an empty retained payload clears the topic), last will (on
any disconnect without DISCONNECT, incl. protocol errors and keepalive timeouts; retain flag
honoured), client-id take-over (the old connection is closed and its will published, as Mosquitto
does) and binary payloads. A malformed packet closes only its own connection.

Deliberate limits:

- QoS 2 is downgraded: subscriptions are granted QoS 1 at most; an inbound QoS 2 PUBLISH gets the
  full PUBREC/PUBREL/PUBCOMP handshake (the client never hangs), is delivered once, at QoS <= 1.
- ``clean_session=0`` is accepted but treated as clean (session-present is always 0); outgoing
  QoS 1 messages are therefore never retransmitted.
- A client whose unsent output exceeds ``max_buffer_bytes`` is disconnected.
- Needs an event loop with ``add_reader()`` (the default on Linux and macOS; :func:`run_in_thread`
  uses a selector loop everywhere).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import threading
from dataclasses import dataclass, field
from typing import Self

from . import mqtt_packets as mp

__all__ = ["BrokerThread", "EmbeddedBroker", "run_in_thread"]

_LOGGER = logging.getLogger(__name__)
_client_numbers = itertools.count(1)


@dataclass(eq=False)
class _Session:
    """One connected client."""

    client_id: str
    writer: asyncio.StreamWriter
    will: mp.Publish | None
    keepalive_s: int
    subscriptions: dict[str, int] = field(default_factory=dict)
    awaiting_rel: set[int] = field(default_factory=set)  # inbound QoS 2 ids (delivered once)
    next_id: int = 0

    def packet_id(self) -> int:
        self.next_id = self.next_id % 65535 + 1
        return self.next_id


class EmbeddedBroker:
    """An in-process MQTT 3.1.1 broker (see the module docstring for scope).

    Parameters
    ----------
    host : str, optional
        Address to listen on; loopback by default.
    port : int, optional
        TCP port; 0 (default) lets the OS pick a free one, readable from :attr:`port`.
    max_packet_bytes : int, optional
        Largest accepted packet body; larger packets close the connection.
    max_buffer_bytes : int, optional
        Disconnect a client whose unsent outgoing data exceeds this.
    connect_timeout_s : float, optional
        Close connections that send no CONNECT within this time.

    Examples
    --------
    >>> async with EmbeddedBroker() as broker:  # doctest: +SKIP
    ...     print(broker.port)  # connect MQTT clients to 127.0.0.1:<port>
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        max_packet_bytes: int = 8 * 1024 * 1024,
        max_buffer_bytes: int = 64 * 1024 * 1024,
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.max_packet_bytes = max_packet_bytes
        self.max_buffer_bytes = max_buffer_bytes
        self.connect_timeout_s = connect_timeout_s
        self._listener: socket.socket | None = None
        self._sessions: dict[str, _Session] = {}
        self._retained: dict[str, mp.Publish] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._accepted: set[socket.socket] = set()

    @property
    def port(self) -> int:
        """The bound TCP port; RuntimeError unless started (and not stopped)."""
        if self._listener is None:
            raise RuntimeError("broker is not running")
        port: int = self._listener.getsockname()[1]
        return port

    async def start(self) -> None:
        """Start listening.

        Raises
        ------
        RuntimeError
            If already started.
        OSError
            If the address cannot be bound.
        """
        if self._listener is not None:
            raise RuntimeError("broker already started")
        # Accepting in a reader callback instead of asyncio.start_server: every accepted socket is
        # tracked from the start, so stop() closes all of them, even mid-accept, with no leaks.
        listener = socket.create_server((self.host, self._requested_port), backlog=128)
        listener.setblocking(False)
        asyncio.get_running_loop().add_reader(listener, self._accept, listener)
        self._listener = listener
        _LOGGER.debug("embedded MQTT broker listening on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        """Stop listening and close every connection (no wills are published). Idempotent."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        asyncio.get_running_loop().remove_reader(listener)
        listener.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for conn in self._accepted:  # only those whose handler never started
            conn.close()
        self._accepted.clear()
        self._sessions.clear()
        self._retained.clear()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- connection handling ------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(64):
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # e.g. EMFILE: keep serving the connected clients
                _LOGGER.warning("embedded MQTT broker accept failed: %s", err)
                return
            conn.setblocking(False)
            self._accepted.add(conn)
            task = asyncio.get_running_loop().create_task(self._on_connection(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _on_connection(self, conn: socket.socket) -> None:
        self._accepted.discard(conn)
        try:
            reader, w = await asyncio.open_connection(sock=conn, limit=64 * 1024)
        except BaseException:
            conn.close()
            raise
        session: _Session | None = None
        clean = False
        try:
            session = await self._handshake(reader, w)
            if session is not None:
                clean = await self._serve(session, reader)
        except asyncio.CancelledError:
            clean = True  # broker shutdown: no wills
            raise
        except (mp.MalformedPacketError, EOFError, ConnectionError, TimeoutError) as err:
            _LOGGER.debug("closing %s: %r", session.client_id if session else "client", err)
        finally:
            if session is not None and self._sessions.get(session.client_id) is session:
                del self._sessions[session.client_id]
                if not clean and session.will is not None:
                    self._route(session.will)
            w.close()
            with contextlib.suppress(Exception):
                await w.wait_closed()

    async def _handshake(
        self, reader: asyncio.StreamReader, w: asyncio.StreamWriter
    ) -> _Session | None:
        packet = mp.read_packet(reader, self.max_packet_bytes, expect_type=mp.CONNECT)
        _, _, body = await asyncio.wait_for(packet, self.connect_timeout_s)
        connect = mp.parse_connect(body)
        if connect.protocol_level != 4:
            w.write(mp.encode_connack(1))  # unacceptable protocol level
            return None
        client_id = connect.client_id
        if not client_id:
            if not connect.clean_session:
                w.write(mp.encode_connack(2))  # identifier rejected
                return None
            client_id = f"auto-{next(_client_numbers)}"
        session = _Session(client_id, w, connect.will, connect.keepalive_s)
        old = self._sessions.get(client_id)
        if old is not None:  # take-over: the old connection ends abnormally
            del self._sessions[client_id]
            old.writer.close()
            if old.will is not None:
                self._route(old.will)
        self._sessions[client_id] = session
        w.write(mp.encode_connack(0))
        return session

    async def _serve(self, session: _Session, reader: asyncio.StreamReader) -> bool:
        """Handle packets until the connection ends; True when it ended with DISCONNECT."""
        timeout = 1.5 * session.keepalive_s if session.keepalive_s else None
        while self._sessions.get(session.client_id) is session:
            packet = mp.read_packet(reader, self.max_packet_bytes)
            ptype, flags, body = await asyncio.wait_for(packet, timeout)
            if self._dispatch(session, ptype, flags, body):
                return True
        return False  # taken over by a newer connection

    def _dispatch(self, session: _Session, ptype: int, flags: int, body: bytes) -> bool:
        """Handle one packet; True when it was DISCONNECT."""
        if ptype == mp.PUBLISH:
            self._on_publish(session, mp.parse_publish(flags, body))
        elif ptype == mp.PUBACK:
            mp.parse_packet_id(body)  # no retransmission state to clear
        elif ptype == mp.PUBREL:
            packet_id = mp.parse_packet_id(body)
            session.awaiting_rel.discard(packet_id)
            self._send(session, mp.encode_ack(mp.PUBCOMP, packet_id))
        elif ptype == mp.SUBSCRIBE:
            self._on_subscribe(session, body)
        elif ptype == mp.UNSUBSCRIBE:
            packet_id, filters = mp.parse_unsubscribe(body)
            for topic_filter in filters:
                session.subscriptions.pop(topic_filter, None)
            self._send(session, mp.encode_ack(mp.UNSUBACK, packet_id))
        elif ptype == mp.PINGREQ:
            self._send(session, mp.encode_packet(mp.PINGRESP, 0))
        elif ptype == mp.DISCONNECT:
            return True
        else:  # CONNECT again, or a packet only a server sends
            raise mp.MalformedPacketError(f"unexpected packet type {ptype} from client")
        return False

    def _on_publish(self, session: _Session, message: mp.Publish) -> None:
        packet_id = message.packet_id or 0
        if message.qos == 1:
            self._send(session, mp.encode_ack(mp.PUBACK, packet_id))
        elif message.qos == 2:
            duplicate = packet_id in session.awaiting_rel
            session.awaiting_rel.add(packet_id)
            self._send(session, mp.encode_ack(mp.PUBREC, packet_id))
            if duplicate:  # a re-sent QoS 2 message before PUBREL: already delivered once
                return
        self._route(message)

    def _on_subscribe(self, session: _Session, body: bytes) -> None:
        packet_id, pairs = mp.parse_subscribe(body)
        codes = bytearray()
        granted: list[tuple[str, int]] = []
        for topic_filter, requested in pairs:
            if not mp.valid_filter(topic_filter):
                codes.append(0x80)
                continue
            qos = min(requested, 1)
            session.subscriptions[topic_filter] = qos
            granted.append((topic_filter, qos))
            codes.append(qos)
        self._send(session, mp.encode_packet(mp.SUBACK, 0, packet_id.to_bytes(2, "big") + codes))
        for topic_filter, qos in granted:
            for message in list(self._retained.values()):
                if mp.topic_matches(topic_filter, message.topic):
                    self._deliver(session, message, min(qos, message.qos), retain=True)

    # -- routing ------------------------------------------------------------------------------

    def _route(self, message: mp.Publish) -> None:
        """Store a retained message and forward a message to every matching subscriber."""
        if message.retain:
            if message.payload:
                self._retained[message.topic] = message
            else:
                self._retained.pop(message.topic, None)
        for session in list(self._sessions.values()):
            matching = [
                qos
                for topic_filter, qos in session.subscriptions.items()
                if mp.topic_matches(topic_filter, message.topic)
            ]
            if matching:  # one copy per client, at the highest matching subscription QoS
                self._deliver(session, message, min(max(matching), message.qos), retain=False)

    def _deliver(self, session: _Session, message: mp.Publish, qos: int, *, retain: bool) -> None:
        qos = min(qos, 1)
        packet_id = session.packet_id() if qos else None
        outgoing = mp.Publish(message.topic, message.payload, qos, retain, packet_id)
        self._send(session, mp.encode_publish(outgoing))

    def _send(self, session: _Session, data: bytes) -> None:
        writer = session.writer
        if writer.is_closing():
            return
        if writer.transport.get_write_buffer_size() > self.max_buffer_bytes:
            _LOGGER.warning("disconnecting slow MQTT client %s", session.client_id)
            writer.transport.abort()
            return
        writer.write(data)


class BrokerThread:
    """An :class:`EmbeddedBroker` running on its own event loop in a daemon thread.

    Create it with :func:`run_in_thread`; ``host`` and ``port`` say where to connect.
    """

    def __init__(
        self, broker: EmbeddedBroker, loop: asyncio.AbstractEventLoop, thread: threading.Thread
    ) -> None:
        self.broker = broker
        self.host = broker.host
        self.port = broker.port
        self._loop = loop
        self._thread = thread

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the broker, its event loop and its thread. Idempotent.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait for the broker to shut down.
        """
        if not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self.broker.stop(), self._loop).result(timeout)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_in_thread(host: str = "127.0.0.1", port: int = 0, timeout: float = 5.0) -> BrokerThread:
    """Start an :class:`EmbeddedBroker` in a background thread, for synchronous callers.

    Parameters
    ----------
    host : str, optional
        Address to listen on; loopback by default.
    port : int, optional
        TCP port; 0 (default) picks a free one.
    timeout : float, optional
        Seconds to wait for the broker to start.

    Returns
    -------
    BrokerThread
        Handle with ``host``, ``port`` and ``stop()``; also a context manager.

    Examples
    --------
    >>> with run_in_thread() as broker:
    ...     print(broker.port)  # connect MQTT clients to 127.0.0.1:<port>
    """
    loop = asyncio.SelectorEventLoop()  # has add_reader(), also on Windows
    thread = threading.Thread(target=loop.run_forever, name="embedded-mqtt-broker", daemon=True)
    thread.start()
    broker = EmbeddedBroker(host, port)
    try:
        asyncio.run_coroutine_threadsafe(broker.start(), loop).result(timeout)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout)
        loop.close()
        raise
    return BrokerThread(broker, loop, thread)
