"""Shared helpers of the virtual sensor publisher tests: recordings, decoding, a real Mosquitto."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from detector.protocol import Frame, FrameError, decode_frame
from detector.recording import Recording
from hardware.virtual_sensor.network import Message

ROOT = Path(__file__).resolve().parents[2]
FS = 250.0
START = 1_700_000_000.25
TIMEOUT = 10.0


def make_recording(seconds: float, *, seed: int = 0, channels: int = 2) -> Recording:
    """Noise with a few samples on the rails, in known places."""
    rng = np.random.default_rng(seed)
    n = round(seconds * FS)
    samples = rng.integers(-3000, 3000, size=(n, channels)).astype(np.int16)
    for index in rng.choice(n, size=max(1, n // 1000), replace=False):
        samples[index, rng.integers(channels)] = rng.choice([-32768, 32767])
    names = ("torso", "legs", "c2", "c3")[:channels]
    return Recording(samples=samples, fs=FS, start=START, channels=names)


def raw_frames(messages: list[Message]) -> list[Frame]:
    return [decode_frame(m.payload) for m in messages if m.topic.endswith("/raw")]


def valid_frames(messages: list[Message]) -> list[Frame]:
    frames = []
    for message in messages:
        with contextlib.suppress(FrameError):
            frames.append(decode_frame(message.payload))
    return frames


def by_topic(messages: list[Message], suffix: str) -> list[Message]:
    return [m for m in messages if m.topic.endswith("/" + suffix)]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def run_mosquitto(*config_lines: str) -> Iterator[tuple[str, int]]:
    """A real Mosquitto with extra config lines on a free loopback port, stopped by PID.

    For configurations :func:`hardware.mqtt.start_local_broker` does not offer (e.g. no anonymous
    access).
    """
    executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.access(executable, os.X_OK):
        pytest.fail("mosquitto is not installed (scripts/setup.sh installs it)")
    workdir = Path(tempfile.mkdtemp(prefix="test-publisher-mosquitto-"))
    port = free_port()
    config = workdir / "mosquitto.conf"
    lines = [f"listener {port} 127.0.0.1", "persistence false", *config_lines]
    config.write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen(
        [executable, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + TIMEOUT
        while True:
            assert proc.poll() is None, "mosquitto exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "mosquitto is not listening"
                time.sleep(0.02)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


class Subscriber:
    """A paho client that records every message under a topic filter."""

    def __init__(self, address: tuple[str, int], topic: str = "sleep_myoclonus/#") -> None:
        self.messages: list[tuple[str, bytes, bool, float]] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"sub-{os.urandom(4).hex()}"
        )
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(*address)
        self.client.loop_start()
        assert self._subscribed.wait(TIMEOUT)

    def _on_message(self, _client: Any, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(
                (msg.topic, bytes(msg.payload), bool(msg.retain), time.monotonic())
            )
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[tuple[str, bytes, bool, float]]], bool]) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: predicate(self.messages), TIMEOUT), self.summary()

    def on(self, topic: str) -> list[bytes]:
        with self._cond:
            return [payload for t, payload, _, _ in self.messages if t == topic]

    def summary(self) -> str:
        return f"{len(self.messages)} messages: {Counter(t for t, *_ in self.messages)}"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def reassemble(payloads: list[bytes]) -> tuple[np.ndarray, set[int]]:
    frames = [decode_frame(p) for p in payloads]
    assert [f.seq for f in frames] == list(range(len(frames)))
    return np.concatenate([f.samples for f in frames]), {f.boot_id for f in frames}
