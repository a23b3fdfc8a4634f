"""The virtual sensor's live MQTT side: publish virtual beds to a broker like real ESP32 sensors.

Each bed gets its own paho-mqtt client (its own last will: retained ``status`` ``offline``). One
thread paces every bed's messages (:meth:`VirtualBed.iter_labelled`) against a monotonic clock:
message ``m`` is due at ``t_start + m.time_s / speed``, so there is no drift, the thread sleeps
between frames and publishes without sleeping while it is behind. A clean :meth:`Publisher.stop`
publishes ``offline`` (retained) and disconnects; :meth:`Publisher.abort` drops the connections
without a DISCONNECT, so the broker publishes the last will, like a sensor losing power.

Command line: ``python -m hardware.virtual_sensor.publish --help`` (see
:mod:`hardware.virtual_sensor.publish_cli`).
"""

from __future__ import annotations

import heapq
import logging
import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from detector.topics import TopicKind

from .frames import VirtualBed
from .network import FAULT_KEYS, FRAME_KINDS, GARBAGE_KINDS, Faults, Message, MessageKind

__all__ = ["BedStats", "Faults", "Message", "MessageKind", "Publisher", "VirtualBed"]

_LOGGER = logging.getLogger(__name__)
_OFFLINE = b"offline"


@dataclass(frozen=True, slots=True)
class BedStats:
    """What one bed has sent so far (a snapshot).

    Attributes
    ----------
    bed : str
        Bed id.
    sensor_time_s : float
        Sensor time of the last message published.
    messages : int
        Messages handed to the client (all topics).
    frames : int
        Valid frames published, duplicates and reordered frames included.
    bytes : int
        Payload bytes of all messages.
    by_kind : dict of str to int
        Messages per :class:`MessageKind` value.
    faults : dict of str to int
        Injected faults: ``loss``, ``duplicate``, ``reorder``, ``garbage_random``,
        ``garbage_truncated``, ``garbage_json``, ``reboot``.
    not_sent : int
        Messages the client refused because it was not connected.
    connects : int
        Successful MQTT connections (reconnects included).
    boots : int
        Device boots so far (the first one, scheduled reboots and loop restarts).
    """

    bed: str
    sensor_time_s: float
    messages: int
    frames: int
    bytes: int
    by_kind: dict[str, int]
    faults: dict[str, int]
    not_sent: int
    connects: int
    boots: int

    @property
    def garbage(self) -> int:
        """Malformed payloads published on the raw topic."""
        return sum(self.by_kind.get(kind.value, 0) for kind in GARBAGE_KINDS)


@dataclass(slots=True)
class _Bed:
    bed: VirtualBed
    client: Any  # paho.mqtt.client.Client (untyped)
    connected: threading.Event = field(default_factory=threading.Event)
    answered: threading.Event = field(default_factory=threading.Event)  # any CONNACK
    refused: str | None = None
    connects: int = 0
    sensor_time_s: float = 0.0
    messages: int = 0
    bytes: int = 0
    not_sent: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)


class Publisher:
    """Publish virtual beds live to an MQTT broker.

    Parameters
    ----------
    beds : sequence of VirtualBed
        The sensors; their topics must differ.
    host, port : str, int
        Broker address.
    speed : float
        Sensor seconds per wall second (1.0 real time, 60 one sensor hour per wall minute,
        ``math.inf`` as fast as possible).
    loop : bool
        Restart each recording (as a reboot) when it ends; otherwise a bed stops sending at the
        end of its recording and stays connected until :meth:`stop`.
    keepalive_s : int
        MQTT keepalive; the broker publishes the last will ~1.5 x this after a silent hang
        (at once when the socket closes).
    username, password : str or None
        Broker credentials, if it needs them.
    client_id_prefix : str
        Client ids are ``<prefix>-<bed>-<pid>-<random>``, unique per run.
    connect_timeout_s : float
        How long :meth:`start` waits for every CONNACK.

    Raises
    ------
    ValueError
        For no beds, duplicate topics or a speed that is not positive.
    """

    def __init__(
        self,
        beds: Sequence[VirtualBed],
        *,
        host: str = "127.0.0.1",
        port: int = 1883,
        speed: float = 1.0,
        loop: bool = False,
        keepalive_s: int = 15,
        username: str | None = None,
        password: str | None = None,
        client_id_prefix: str = "sm-virtual",
        connect_timeout_s: float = 10.0,
    ) -> None:
        if not beds:
            raise ValueError("no beds to publish")
        topics = [bed.topic(TopicKind.RAW) for bed in beds]
        if len(set(topics)) != len(topics):
            raise ValueError("two beds publish on the same topics; use distinct bed ids")
        if not speed > 0:  # also refuses NaN
            raise ValueError(f"speed must be positive, got {speed}")
        self.speed = float(speed)
        self.loop = loop
        self.host = host
        self.port = port
        self._keepalive_s = keepalive_s
        self._connect_timeout_s = connect_timeout_s
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.error: BaseException | None = None
        self._beds = []
        for bed in beds:
            client_id = f"{client_id_prefix}-{bed.bed}-{os.getpid()}-{secrets.token_hex(3)}"
            client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
            if username is not None:
                client.username_pw_set(username, password)
            client.will_set(bed.topic(TopicKind.STATUS), _OFFLINE, qos=1, retain=True)
            self._beds.append(_Bed(bed, client))
        for state in self._beds:
            state.client.on_connect = self._connect_callback(state)

    def start(self) -> None:
        """Connect every bed and start publishing in a background thread.

        Raises
        ------
        ConnectionError
            If the broker is unreachable or refuses a client (everything is cleaned up first).
        RuntimeError
            If called twice.
        """
        if self._thread is not None or self._closed:
            raise RuntimeError("a Publisher can be started once")
        where = f"{self.host}:{self.port}"
        try:
            for state in self._beds:
                state.client.connect(self.host, self.port, keepalive=self._keepalive_s)
                state.client.loop_start()
        except OSError as err:
            self._shutdown_clients(clean=False)
            raise ConnectionError(f"cannot connect to {where}: {err}") from err
        deadline = time.monotonic() + self._connect_timeout_s
        for state in self._beds:
            state.answered.wait(max(0.0, deadline - time.monotonic()))
            if not state.connected.is_set():
                self._shutdown_clients(clean=False)
                reason = state.refused or f"no CONNACK within {self._connect_timeout_s:g} s"
                raise ConnectionError(f"cannot connect to {where} as {state.bed.bed}: {reason}")
        self._thread = threading.Thread(target=self._run, name="sm-virtual-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop publishing, send retained ``offline`` for every bed and disconnect. Idempotent.

        Parameters
        ----------
        timeout : float
            Longest wait for the publishing thread and for each ``offline`` acknowledgement.
        """
        self._stop_thread(timeout)
        self._shutdown_clients(clean=True, timeout=timeout)

    def abort(self) -> None:
        """Drop every connection without a DISCONNECT, like a sensor losing power.

        The broker then publishes each bed's last will (retained ``offline``). Takes up to about
        a second per bed (the network threads notice the stop request on their next poll).
        """
        self._stop_thread(5.0)
        self._shutdown_clients(clean=False)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every recording has been sent (never, in loop mode) or publishing stopped.

        Returns
        -------
        bool
            True if publishing is over, False on timeout.
        """
        return self._done.wait(timeout)

    @property
    def running(self) -> bool:
        """Whether the publishing thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """Whether publishing is over (end of every recording, stop, or an error)."""
        return self._done.is_set()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, BedStats]:
        """Return a snapshot of the counters of every bed, by bed id; safe while running."""
        with self._lock:
            return {state.bed.bed: _snapshot(state) for state in self._beds}

    def totals(self) -> BedStats:
        """Return all beds' counters summed (``bed`` is ``"*"``, the time is the latest)."""
        beds = list(self.stats().values())
        by_kind: Counter[str] = Counter()
        faults: Counter[str] = Counter()
        for stats in beds:
            by_kind.update(stats.by_kind)
            faults.update(stats.faults)
        return BedStats(
            bed="*",
            sensor_time_s=max(s.sensor_time_s for s in beds),
            messages=sum(s.messages for s in beds),
            frames=sum(s.frames for s in beds),
            bytes=sum(s.bytes for s in beds),
            by_kind=dict(by_kind),
            faults={key: faults[key] for key in FAULT_KEYS},
            not_sent=sum(s.not_sent for s in beds),
            connects=sum(s.connects for s in beds),
            boots=sum(s.boots for s in beds),
        )

    def _connect_callback(self, state: _Bed) -> Callable[..., None]:
        def on_connect(client: Any, _userdata: Any, _flags: Any, reason: Any, *_: Any) -> None:
            if reason.is_failure:
                state.refused = f"connection refused: {reason}"
                _LOGGER.warning("%s: broker refused the connection: %s", state.bed.bed, reason)
                state.answered.set()
                return
            with self._lock:
                state.connects += 1
                reconnect = state.connected.is_set()
            state.connected.set()
            state.answered.set()
            if reconnect:  # like the firmware: status and meta again on every connect
                _LOGGER.info("%s: reconnected", state.bed.bed)
                for message in state.bed.connect_messages(state.sensor_time_s):
                    client.publish(message.topic, message.payload, message.qos, message.retain)

        return on_connect

    def _run(self) -> None:
        try:
            self._publish_all()
        except Exception as err:
            self.error = err
            _LOGGER.exception("publishing stopped by an error")
        finally:
            self._done.set()

    def _publish_all(self) -> None:
        streams: list[Iterator[tuple[MessageKind, Message]]] = []
        due: list[tuple[float, int, MessageKind, Message]] = []  # one entry per bed at most
        with self._lock:
            for index, state in enumerate(self._beds):
                streams.append(state.bed.iter_labelled(loop=self.loop))
                self._push(due, index, streams[index])
        t_start = time.monotonic()
        while due and not self._stop_event.is_set():
            delay = t_start + due[0][0] / self.speed - time.monotonic()
            if delay > 0:
                self._stop_event.wait(delay)
                continue
            _, index, kind, message = heapq.heappop(due)
            self._publish(self._beds[index], kind, message)
            with self._lock:
                self._push(due, index, streams[index])

    @staticmethod
    def _push(
        due: list[tuple[float, int, MessageKind, Message]],
        index: int,
        stream: Iterator[tuple[MessageKind, Message]],
    ) -> None:
        item = next(stream, None)
        if item is not None:
            heapq.heappush(due, (item[1].time_s, index, *item))

    def _publish(self, state: _Bed, kind: MessageKind, message: Message) -> None:
        info = state.client.publish(message.topic, message.payload, message.qos, message.retain)
        with self._lock:
            state.sensor_time_s = message.time_s
            state.messages += 1
            state.bytes += len(message.payload)
            state.by_kind[kind.value] += 1
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                state.not_sent += 1

    def _stop_thread(self, timeout: float) -> None:
        self._stop_event.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._done.set()

    def _shutdown_clients(self, *, clean: bool, timeout: float = 5.0) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for state in self._beds:
            client = state.client
            if clean:
                if client.is_connected():
                    info = client.publish(
                        state.bed.topic(TopicKind.STATUS), _OFFLINE, qos=1, retain=True
                    )
                    try:
                        info.wait_for_publish(timeout)
                    except (RuntimeError, ValueError) as err:
                        _LOGGER.warning("%s: offline status not sent: %s", state.bed.bed, err)
                client.disconnect()
                client.loop_stop()
            else:
                sock = client.socket()
                client.loop_stop()
                if sock is not None:
                    sock.close()  # no DISCONNECT: the broker publishes the last will


def _snapshot(state: _Bed) -> BedStats:
    counts = state.bed.counts
    return BedStats(
        bed=state.bed.bed,
        sensor_time_s=state.sensor_time_s,
        messages=state.messages,
        frames=sum(state.by_kind[kind.value] for kind in FRAME_KINDS),
        bytes=state.bytes,
        by_kind=dict(state.by_kind),
        faults={key: counts[key] for key in FAULT_KEYS},
        not_sent=state.not_sent,
        connects=state.connects,
        boots=counts["boots"],
    )


if __name__ == "__main__":
    from .publish_cli import main

    raise SystemExit(main())
