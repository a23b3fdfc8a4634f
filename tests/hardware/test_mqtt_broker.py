"""Local MQTT brokers: the embedded broker must behave like Mosquitto for what the project uses.

Behavioural tests run against both brokers through real paho-mqtt clients (and raw sockets for
what paho cannot do: abrupt closes, malformed packets, bad protocol levels). Negative checks
("nothing arrives") publish a sentinel afterwards and require the sentinel to be the next
message, so they need no sleeps. Sockets: pytest-homeassistant-custom-component disables them
for every test; ``socket_enabled`` turns them back on (connections stay limited to 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import hardware.mqtt.local_broker as local_broker_module
from hardware.mqtt import (
    BrokerStartError,
    EmbeddedBroker,
    LocalBroker,
    find_mosquitto,
    run_in_thread,
    start_local_broker,
)

TIMEOUT = 5.0
KINDS = ["embedded", "mosquitto"]
PAYLOAD = bytes(range(256)) * 3 + b"\x00\xff\x00SM\x01\x24"  # every byte value, NULs, a frame head


def _require_mosquitto(kind: str) -> None:
    if kind == "mosquitto" and find_mosquitto() is None:
        pytest.fail("mosquitto is not installed (scripts/setup.sh installs it)")


@pytest.fixture(params=KINDS)
def broker(request: pytest.FixtureRequest, socket_enabled: None) -> Iterator[LocalBroker]:
    _require_mosquitto(request.param)
    with start_local_broker(prefer=request.param) as running:
        assert running.kind == request.param
        assert running.host == "127.0.0.1"
        yield running


class Probe:
    """A paho client with a queue of received messages."""

    def __init__(self, broker: LocalBroker, client_id: str, will: tuple[Any, ...] | None) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._acks: queue.Queue[list[int]] = queue.Queue()
        connected: queue.Queue[bool] = queue.Queue()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
        )
        self.client.on_connect = lambda _c, _u, _f, code, _p: connected.put(not code.is_failure)
        self.client.on_message = lambda _c, _u, message: self.messages.put(message)
        self.client.on_subscribe = lambda _c, _u, _mid, codes, _p: self._acks.put(
            [code.value for code in codes]
        )
        self.client.on_unsubscribe = lambda *args: self._acks.put([])
        if will is not None:
            self.client.will_set(*will)
        self.client.connect(broker.host, broker.port, keepalive=30)
        self.client.loop_start()
        try:
            assert connected.get(timeout=TIMEOUT), "connection refused"
        except BaseException:
            self.client.loop_stop()
            raise

    def subscribe(self, *filters: str, qos: int = 1) -> list[int]:
        self.client.subscribe([(topic_filter, qos) for topic_filter in filters])
        return self._acks.get(timeout=TIMEOUT)

    def unsubscribe(self, topic_filter: str) -> None:
        self.client.unsubscribe(topic_filter)
        self._acks.get(timeout=TIMEOUT)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(TIMEOUT)  # QoS 1/2: returns only once the handshake completed
        assert info.is_published()

    def get(self) -> mqtt.MQTTMessage:
        return self.messages.get(timeout=TIMEOUT)

    def topics_until(self, sentinel: str) -> list[str]:
        """Topics received up to and including ``sentinel``."""
        topics: list[str] = []
        while not topics or topics[-1] != sentinel:
            topics.append(self.get().topic)
        return topics

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def connect(broker: LocalBroker) -> Iterator[Callable[..., Probe]]:
    probes: list[Probe] = []

    def make(client_id: str = "", will: tuple[Any, ...] | None = None) -> Probe:
        probes.append(Probe(broker, client_id, will))
        return probes[-1]

    yield make
    for probe in probes:
        probe.close()


# -- raw MQTT over a socket (independent of the broker's own encoder) -----------------------------


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _str(raw: bytes) -> bytes:
    return len(raw).to_bytes(2, "big") + raw


def packet(first_byte: int, body: bytes) -> bytes:
    return bytes([first_byte]) + _remaining_length(len(body)) + body


def connect_packet(
    client_id: str = "raw",
    *,
    keepalive: int = 30,
    will: tuple[str, bytes, int, bool] | None = None,
    level: int = 4,
    clean: bool = True,
) -> bytes:
    flags = 0x02 if clean else 0
    payload = _str(client_id.encode())
    if will is not None:
        topic, message, qos, retain = will
        flags |= 0x04 | qos << 3 | (0x20 if retain else 0)
        payload += _str(topic.encode()) + _str(message)
    body = _str(b"MQTT") + bytes([level, flags]) + keepalive.to_bytes(2, "big") + payload
    return packet(0x10, body)


def raw_connect(broker: LocalBroker, packet: bytes) -> tuple[socket.socket, bytes]:
    """Open a socket, send ``packet`` and return it with the 4-byte reply (CONNACK)."""
    sock = socket.create_connection((broker.host, broker.port), timeout=TIMEOUT)
    sock.sendall(packet)
    return sock, recv_exact(sock, 4)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def closed_by_peer(sock: socket.socket, timeout: float = TIMEOUT) -> bool:
    """Whether the broker closes ``sock`` within ``timeout`` (any bytes before EOF are skipped)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


# -- behaviour, both brokers ----------------------------------------------------------------------


@pytest.mark.parametrize(("pub_qos", "sub_qos"), [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_publish_subscribe_binary_payload(
    connect: Callable[..., Probe], pub_qos: int, sub_qos: int
) -> None:
    subscriber, publisher = connect("sub"), connect("pub")
    assert subscriber.subscribe("sm/bed1/raw", qos=sub_qos) == [sub_qos]
    for i in range(3):
        publisher.publish("sm/bed1/raw", PAYLOAD + bytes([i]), qos=pub_qos)
    for i in range(3):
        message = subscriber.get()
        assert message.topic == "sm/bed1/raw"
        assert message.payload == PAYLOAD + bytes([i])  # intact and in order
        assert message.qos == min(pub_qos, sub_qos)
        assert not message.retain


def test_qos2_is_completed_and_delivered_once(broker: LocalBroker, connect: Callable[..., Probe]):
    subscriber, publisher = connect("sub"), connect("pub")
    granted = subscriber.subscribe("q2/#", qos=2)
    # Documented difference: the embedded broker grants and delivers at most QoS 1.
    expected_qos = 1 if broker.kind == "embedded" else 2
    assert granted == [expected_qos]
    publisher.publish("q2/x", b"\x02\x00", qos=2)  # must not hang the publisher
    publisher.publish("q2/end", b"", qos=1)
    # Messages of different QoS may overtake each other: collect both, then check nothing else.
    received = {m.topic: (m.payload, m.qos) for m in (subscriber.get(), subscriber.get())}
    assert received == {"q2/x": (b"\x02\x00", expected_qos), "q2/end": (b"", 1)}
    publisher.publish("q2/end", b"", qos=1)
    assert subscriber.get().topic == "q2/end"  # exactly one copy of q2/x


def test_wildcards(connect: Callable[..., Probe]) -> None:
    plus, hash_, root, publisher = connect("plus"), connect("hash"), connect("root"), connect("p")
    assert plus.subscribe("sm/+/raw", "end") == [1, 1]
    assert hash_.subscribe("sm/bed1/#", "end") == [1, 1]
    assert root.subscribe("#") == [1]
    for topic in ["sm/bed1/raw", "sm/bed1/status", "sm/bed1", "sm/a/b/raw", "sm/bed2/raw", "x"]:
        publisher.publish(topic, topic.encode(), qos=1)
    publisher.publish("end", b"", qos=1)
    assert plus.topics_until("end") == ["sm/bed1/raw", "sm/bed2/raw", "end"]
    # "#" also matches the parent level.
    assert hash_.topics_until("end") == ["sm/bed1/raw", "sm/bed1/status", "sm/bed1", "end"]
    expected_all = ["sm/bed1/raw", "sm/bed1/status", "sm/bed1", "sm/a/b/raw", "sm/bed2/raw", "x"]
    assert root.topics_until("end") == [*expected_all, "end"]


def test_dollar_topics_not_matched_by_leading_wildcards(connect: Callable[..., Probe]) -> None:
    hash_, plus, dollar, publisher = connect("h"), connect("p"), connect("d"), connect("pub")
    hash_.subscribe("#")
    plus.subscribe("+/info")
    dollar.subscribe("$app/#")
    publisher.publish("$app/info", b"dollar", qos=1)
    publisher.publish("app/info", b"plain", qos=1)
    assert hash_.get().topic == "app/info"  # the $ topic was skipped
    assert plus.get().topic == "app/info"
    message = dollar.get()
    assert (message.topic, message.payload) == ("$app/info", b"dollar")


def test_retained_message_and_clearing(connect: Callable[..., Probe]) -> None:
    publisher, live = connect("pub"), connect("live")
    live.subscribe("sm/bed1/status")
    publisher.publish("sm/bed1/status", b"online\x00", qos=1, retain=True)
    publisher.publish("sm/bed1/meta", b'{"protocol": 1}', qos=1, retain=True)
    message = live.get()  # live delivery: the retain flag is cleared (MQTT 3.1.1, 3.3.1.3)
    assert (message.payload, message.retain) == (b"online\x00", False)

    late = connect("late")
    late.subscribe("sm/bed1/status")
    message = late.get()
    assert (message.topic, message.payload) == ("sm/bed1/status", b"online\x00")
    assert (message.qos, message.retain) == (1, True)

    publisher.publish("sm/bed1/status", b"", qos=1, retain=True)  # clears the retained message
    cleared = live.get()
    assert (cleared.payload, cleared.retain) == (b"", False)  # still forwarded to subscribers
    later = connect("later")
    later.subscribe("sm/bed1/#")
    message = later.get()
    assert (message.topic, message.retain) == ("sm/bed1/meta", True)  # status is gone
    publisher.publish("sm/bed1/end", b"", qos=1)
    assert later.get().topic == "sm/bed1/end"


def test_last_will_on_abrupt_close(broker: LocalBroker, connect: Callable[..., Probe]) -> None:
    watcher = connect("watcher")
    watcher.subscribe("sm/bed1/status")
    will = ("sm/bed1/status", b"offline", 1, True)
    sock, connack = raw_connect(broker, connect_packet("bed1", will=will))
    assert connack == b"\x20\x02\x00\x00"
    sock.close()  # no DISCONNECT
    message = watcher.get()
    assert (message.payload, message.qos, message.retain) == (b"offline", 1, False)
    late = connect("late")
    late.subscribe("sm/bed1/status")
    message = late.get()
    assert (message.payload, message.retain) == (b"offline", True)  # the will was retained


def test_no_will_after_clean_disconnect(connect: Callable[..., Probe]) -> None:
    watcher = connect("watcher")
    watcher.subscribe("sm/bed1/#")
    device = connect("bed1", will=("sm/bed1/status", b"offline", 1, False))
    device.client.disconnect()
    device.client.loop_stop()
    connect("other").publish("sm/bed1/end", b"", qos=1)
    assert watcher.topics_until("sm/bed1/end") == ["sm/bed1/end"]


def test_client_id_takeover_closes_old_connection_and_sends_its_will(
    broker: LocalBroker, connect: Callable[..., Probe]
) -> None:
    watcher = connect("watcher")
    watcher.subscribe("sm/#")
    old, connack_old = raw_connect(broker, connect_packet("bed1", will=("sm/old", b"x", 0, False)))
    new, connack_new = raw_connect(broker, connect_packet("bed1"))
    with old, new:
        assert connack_old == connack_new == b"\x20\x02\x00\x00"
        assert closed_by_peer(old)
        assert watcher.get().topic == "sm/old"
        new.sendall(packet(0x30, _str(b"sm/new") + b"still here"))  # the new one works
        message = watcher.get()
        assert (message.topic, message.payload) == ("sm/new", b"still here")


def test_unsubscribe(connect: Callable[..., Probe]) -> None:
    subscriber, publisher = connect("sub"), connect("pub")
    subscriber.subscribe("a/raw", "a/end")
    publisher.publish("a/raw", b"1", qos=1)
    assert subscriber.get().payload == b"1"
    subscriber.unsubscribe("a/raw")
    publisher.publish("a/raw", b"2", qos=1)
    publisher.publish("a/end", b"", qos=1)
    assert subscriber.topics_until("a/end") == ["a/end"]


def test_many_clients_fan_out(connect: Callable[..., Probe]) -> None:
    beds = [f"bed{i}" for i in range(4)]
    subscribers = {bed: connect(f"sub-{bed}") for bed in beds}
    for bed, probe in subscribers.items():
        probe.subscribe(f"sm/{bed}/raw")
    everything = connect("all")
    everything.subscribe("sm/+/raw")
    publishers = [connect(f"dev-{bed}") for bed in beds]
    for round_ in range(5):
        for bed, publisher in zip(beds, publishers, strict=True):
            publisher.publish(f"sm/{bed}/raw", f"{bed}:{round_}".encode(), qos=1)
    for bed, probe in subscribers.items():
        assert [probe.get().payload for _ in range(5)] == [f"{bed}:{r}".encode() for r in range(5)]
        assert probe.messages.empty()
    seen = sorted(everything.get().payload for _ in range(20))
    assert seen == sorted(f"{bed}:{r}".encode() for bed in beds for r in range(5))


MALFORMED = {
    "reserved_type": b"\xf0\x00",
    "remaining_length_5_bytes": b"\x30\xff\xff\xff\xff\x7f",
    "publish_qos3": b"\x36\x05\x00\x01a\x00\x01",
    "subscribe_bad_flags": packet(0x80, b"\x00\x01\x00\x01a\x00"),
    "subscribe_no_filters": packet(0x82, b"\x00\x01"),
    "unsubscribe_no_filters": packet(0xA2, b"\x00\x01"),
}


@pytest.mark.parametrize("garbage", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_packet_closes_only_that_connection(
    broker: LocalBroker, connect: Callable[..., Probe], garbage: bytes
) -> None:
    good = connect("good")
    good.subscribe("sm/#")
    will = ("sm/bad/status", b"offline", 0, False)
    sock, connack = raw_connect(broker, connect_packet("bad", will=will))
    assert connack == b"\x20\x02\x00\x00"
    sock.sendall(garbage)
    assert closed_by_peer(sock)
    sock.close()
    message = good.get()  # a protocol error is an abnormal disconnect: the will goes out
    assert (message.topic, message.payload) == ("sm/bad/status", b"offline")
    good.publish("sm/ok", PAYLOAD, qos=1)
    assert good.get().payload == PAYLOAD


@pytest.mark.parametrize(
    "opening",
    [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",  # not MQTT at all
        packet(0x30, _str(b"t") + b"x"),  # PUBLISH before CONNECT
        connect_packet("twice") + connect_packet("twice"),  # a second CONNECT
    ],
    ids=["http", "publish_first", "second_connect"],
)
def test_protocol_violation_closes_connection(
    broker: LocalBroker, connect: Callable[..., Probe], opening: bytes
) -> None:
    good = connect("good")
    sock = socket.create_connection((broker.host, broker.port), timeout=TIMEOUT)
    sock.sendall(opening)
    assert closed_by_peer(sock)
    sock.close()
    good.subscribe("t")
    good.publish("t", b"x", qos=1)
    assert good.get().payload == b"x"


@pytest.mark.parametrize(
    ("packet", "return_code"),
    [
        (connect_packet(level=6), 1),  # unacceptable protocol level
        (connect_packet(level=3), 1),  # "MQTT" is 3.1.1 or 5; 3.1 used "MQIsdp"
        (connect_packet(client_id="", clean=False), 2),  # identifier rejected
    ],
    ids=["level6", "level3", "empty_id_persistent"],
)
def test_connect_refused(broker: LocalBroker, packet: bytes, return_code: int) -> None:
    sock, connack = raw_connect(broker, packet)
    with sock:
        assert connack == bytes([0x20, 0x02, 0x00, return_code])
        assert closed_by_peer(sock)


def test_keepalive_enforced_and_reset_by_pingreq(
    broker: LocalBroker, connect: Callable[..., Probe]
) -> None:
    watcher = connect("watcher")
    watcher.subscribe("ka/status")
    will = ("ka/status", b"lost", 0, False)
    silent, connack_silent = raw_connect(broker, connect_packet("silent", keepalive=1, will=will))
    pinging, connack_pinging = raw_connect(broker, connect_packet("pinging", keepalive=1))
    started = time.monotonic()
    with silent, pinging:
        assert connack_silent == connack_pinging == b"\x20\x02\x00\x00"
        # Ping one connection every 0.4 s until the silent one is dropped and 2 s (> 1.5 x
        # keepalive) have passed: the pings must keep it open all along.
        silent_open = True
        while silent_open or time.monotonic() - started < 2.0:
            pinging.sendall(b"\xc0\x00")
            assert recv_exact(pinging, 2) == b"\xd0\x00"
            if silent_open:
                silent_open = not closed_by_peer(silent, timeout=0.4)
                elapsed = time.monotonic() - started
                assert elapsed < 8.0, "silent connection never dropped"
            else:
                time.sleep(0.4)
    # The embedded broker enforces exactly 1.5 x keepalive; Mosquitto 2.0 checks keepalives on a
    # coarse periodic timer (observed: 5-6 s for keepalive=1), so it only gets an upper bound.
    low, high = (1.4, 2.5) if broker.kind == "embedded" else (1.0, 8.0)
    assert low <= elapsed <= high, elapsed
    assert watcher.get().payload == b"lost"  # a keepalive timeout is an abnormal disconnect


# -- broker lifecycle -----------------------------------------------------------------------------


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except OSError:
        return False
    return True


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is fine
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.mark.usefixtures("socket_enabled")
def test_mosquitto_stop_ends_process_and_frees_port() -> None:
    _require_mosquitto("mosquitto")
    broker = start_local_broker(prefer="mosquitto")
    pid, port, log_path = broker.pid, broker.port, broker.log_path
    assert pid is not None
    assert log_path is not None
    assert Path(f"/proc/{pid}").exists()
    assert _listening(port)
    assert "mosquitto" in Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    broker.stop()
    broker.stop()  # idempotent
    assert not broker.running
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # gone and reaped
    assert not _listening(port)
    assert _bindable(port)
    assert not log_path.parent.exists()  # temporary directory removed


@pytest.mark.usefixtures("socket_enabled")
def test_embedded_stop_frees_port_and_thread() -> None:
    before = set(threading.enumerate())
    with start_local_broker(prefer="embedded") as broker:
        assert broker.pid is None
        port = broker.port
        assert port > 0
        assert _listening(port)
    assert not _listening(port)
    assert _bindable(port)
    assert set(threading.enumerate()) <= before


@pytest.mark.usefixtures("socket_enabled")
def test_auto_falls_back_to_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_broker_module, "find_mosquitto", lambda: None)
    with pytest.raises(BrokerStartError, match="mosquitto not found"):
        start_local_broker(prefer="mosquitto")
    with start_local_broker() as broker:
        assert (broker.kind, broker.pid) == ("embedded", None)
        assert _listening(broker.port)


def test_stop_kills_a_process_that_ignores_sigterm() -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(30)"  # noqa: E501
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"1\n"  # the SIGTERM handler is installed
    started = time.monotonic()
    local_broker_module._stop_process(proc, timeout=0.3)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5.0


def test_find_mosquitto_outside_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    candidates = ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"]
    expected = next((path for path in candidates if os.access(path, os.X_OK)), None)
    assert find_mosquitto() == expected


def test_prefer_is_validated() -> None:
    with pytest.raises(ValueError, match="prefer"):
        start_local_broker(prefer="rabbitmq")


@pytest.mark.usefixtures("socket_enabled")
def test_mosquitto_start_failure_reports_log(monkeypatch: pytest.MonkeyPatch) -> None:
    _require_mosquitto("mosquitto")
    real_config = local_broker_module._mosquitto_config
    monkeypatch.setattr(
        local_broker_module,
        "_mosquitto_config",
        lambda port, workdir: real_config(port, workdir) + "no_such_option 1\n",
    )
    with pytest.raises(BrokerStartError, match="no_such_option") as excinfo:
        start_local_broker(prefer="mosquitto", timeout_s=5.0)
    assert "exited with code" in str(excinfo.value)


# -- embedded broker specifics --------------------------------------------------------------------


async def _read_packet(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(2)
    assert head[1] < 128  # short packets only in these tests
    return head + await reader.readexactly(head[1])


@pytest.mark.usefixtures("socket_enabled")
async def test_embedded_broker_async_api_and_qos2_downgrade() -> None:
    broker = EmbeddedBroker()
    with pytest.raises(RuntimeError):
        _ = broker.port
    async with broker:
        assert broker.port > 0
        reader, writer = await asyncio.open_connection("127.0.0.1", broker.port)
        writer.write(connect_packet("async"))
        assert await _read_packet(reader) == b"\x20\x02\x00\x00"
        # SUBSCRIBE id 7: "t" at QoS 2 (granted 1) and an invalid filter (refused with 0x80).
        writer.write(packet(0x82, b"\x00\x07" + _str(b"t") + b"\x02" + _str(b"a/#/b") + b"\x00"))
        assert await _read_packet(reader) == b"\x90\x04\x00\x07\x01\x80"
        # PUBLISH QoS 2 id 9 -> PUBREC; the message is forwarded at QoS 1; PUBREL -> PUBCOMP.
        writer.write(packet(0x34, _str(b"t") + b"\x00\x09" + b"\xff"))
        packets = {await _read_packet(reader) for _ in range(2)}
        assert packets == {b"\x50\x02\x00\x09", b"\x32\x06" + _str(b"t") + b"\x00\x01\xff"}
        writer.write(b"\x40\x02\x00\x01")  # PUBACK for the delivery
        writer.write(b"\x62\x02\x00\x09")  # PUBREL
        assert await _read_packet(reader) == b"\x70\x02\x00\x09"
        writer.write(b"\xe0\x00")  # DISCONNECT
        assert await reader.read() == b""
        writer.close()
        await writer.wait_closed()
    with pytest.raises(RuntimeError):
        _ = broker.port


@pytest.mark.usefixtures("socket_enabled")
def test_run_in_thread_handle() -> None:
    handle = run_in_thread()
    try:
        assert handle.host == "127.0.0.1"
        assert _listening(handle.port)
    finally:
        handle.stop()
    handle.stop()  # idempotent
    assert not _listening(handle.port)
