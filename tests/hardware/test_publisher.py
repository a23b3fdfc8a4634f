"""Virtual sensor, live side: :class:`Publisher` and its CLI against a real Mosquitto.

Mosquitto runs on a free 127.0.0.1 port; paho subscribers watch the topics; the CLI runs as a
subprocess (killed with SIGKILL for the last will, SIGINT for a clean stop).

Sockets: pytest-homeassistant-custom-component disables sockets for every test (pytest-socket);
the live tests request ``socket_enabled`` through the ``sockets`` fixture.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from detector.recording import Recording, save_recording
from hardware.mqtt import find_mosquitto, start_local_broker
from hardware.virtual_sensor.publish import Publisher, VirtualBed
from hardware.virtual_sensor.publish_cli import main as cli_main
from tests.hardware.publisher_support import (
    ROOT,
    TIMEOUT,
    Subscriber,
    free_port,
    make_recording,
    reassemble,
    run_mosquitto,
)


@pytest.fixture
def sockets(request: pytest.FixtureRequest) -> None:
    """Re-enable sockets when pytest-socket (pulled in by the HA test plugin) disabled them."""
    with contextlib.suppress(pytest.FixtureLookupError):  # else pytest-socket is not loaded
        request.getfixturevalue("socket_enabled")


@pytest.fixture
def broker(sockets: None) -> Iterator[tuple[str, int]]:
    """A real Mosquitto on a free loopback port (the project's helper; it stops it by PID)."""
    if find_mosquitto() is None:
        pytest.fail("mosquitto is not installed (scripts/setup.sh installs it)")
    with start_local_broker(prefer="mosquitto") as running:
        assert running.kind == "mosquitto"
        yield running.host, running.port


@pytest.fixture
def subscribe(broker: tuple[str, int]) -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def make(topic: str = "sleep_myoclonus/#") -> Subscriber:
        made.append(Subscriber(broker, topic))
        return made[-1]

    yield make
    for subscriber in made:
        subscriber.close()


def test_live_two_beds_reassemble_and_go_offline(
    broker: tuple[str, int], subscribe: Callable[..., Subscriber]
) -> None:
    rec = make_recording(30.0)
    sub = subscribe()
    beds = [VirtualBed(rec, name, seed=1) for name in ("bedroom", "guest")]
    publisher = Publisher(beds, host=broker[0], port=broker[1], speed=200.0)
    started = time.monotonic()
    publisher.start()
    try:
        assert publisher.wait(TIMEOUT)
        assert time.monotonic() - started >= 30.0 / 200.0  # paced, not dumped
        sub.wait_for(lambda msgs: sum(t.endswith("/raw") for t, *_ in msgs) >= 120)
        stats = publisher.stats()
    finally:
        publisher.stop()
    assert publisher.error is None
    boot_ids = set()
    for bed in beds:
        name = bed.bed
        samples, boots = reassemble(sub.on(f"sleep_myoclonus/{name}/raw"))
        assert np.array_equal(samples, rec.samples)
        boot_ids |= boots
        meta_bytes = len(json.dumps(bed.meta(), separators=(",", ":")))
        assert stats[name].frames == 60
        assert stats[name].messages == 62
        assert stats[name].bytes == 60 * (36 + 125 * 4) + len(b"online") + meta_bytes
        assert (stats[name].connects, stats[name].boots, stats[name].not_sent) == (1, 1, 0)
        assert json.loads(sub.on(f"sleep_myoclonus/{name}/meta")[0])["sensor_id"] == name
    assert len(boot_ids) == 2  # one boot per bed, different ids
    sub.wait_for(
        lambda _: all(
            sub.on(f"sleep_myoclonus/{n}/status")[-1:] == [b"offline"] for n in ("bedroom", "guest")
        )
    )
    # A late subscriber gets the retained state: offline, and meta.
    late = subscribe()
    late.wait_for(lambda msgs: len([m for m in msgs if m[2]]) >= 4)
    retained = {t: p for t, p, retain, _ in late.messages if retain}
    assert retained["sleep_myoclonus/bedroom/status"] == b"offline"
    assert retained["sleep_myoclonus/guest/status"] == b"offline"
    assert json.loads(retained["sleep_myoclonus/guest/meta"])["model"] == "SM-virtual"


def test_live_retained_online_and_pacing(
    broker: tuple[str, int], subscribe: Callable[..., Subscriber]
) -> None:
    rec = make_recording(10.0)
    sub = subscribe()
    publisher = Publisher([VirtualBed(rec, "bedroom")], host=broker[0], port=broker[1], speed=20.0)
    with publisher:
        sub.wait_for(lambda msgs: any(t.endswith("/meta") for t, *_ in msgs))
        late = subscribe()  # subscribes after meta and status were published: gets them retained
        late.wait_for(
            lambda msgs: (
                {t for t, _, retain, _ in msgs if retain}
                >= {"sleep_myoclonus/bedroom/status", "sleep_myoclonus/bedroom/meta"}
            )
        )
        assert late.on("sleep_myoclonus/bedroom/status") == [b"online"]
        assert publisher.wait(TIMEOUT)
        sub.wait_for(lambda msgs: sum(t.endswith("/raw") for t, *_ in msgs) >= 20)
    arrivals = [at for t, _, _, at in sub.messages if t.endswith("/raw")]
    span = arrivals[-1] - arrivals[0]  # frames 1..20 are due 0.025 s apart: 19 * 0.025 s
    assert 0.9 * 19 * 0.025 <= span <= 19 * 0.025 + 2.0


def test_live_last_will_when_the_connection_dies(
    broker: tuple[str, int], subscribe: Callable[..., Subscriber]
) -> None:
    sub = subscribe()
    publisher = Publisher(
        [VirtualBed(make_recording(5.0), "bedroom")],
        host=broker[0],
        port=broker[1],
        speed=50.0,
        loop=True,
    )
    publisher.start()
    try:
        sub.wait_for(lambda msgs: sum(t.endswith("/raw") for t, *_ in msgs) >= 30)  # looped
        first = publisher.stats()["bedroom"]  # counters are readable while running
        assert first.boots >= 2
        sub.wait_for(lambda msgs: sum(t.endswith("/raw") for t, *_ in msgs) >= first.frames + 5)
        assert publisher.stats()["bedroom"].frames > first.frames
        statuses = sub.on("sleep_myoclonus/bedroom/status")  # one "online" per boot
        assert set(statuses) == {b"online"}
        assert len(statuses) >= first.boots
        publisher.abort()  # never publishes "offline" itself
        sub.wait_for(lambda _: sub.on("sleep_myoclonus/bedroom/status")[-1:] == [b"offline"])
    finally:
        publisher.stop()  # idempotent after abort: nothing more is sent
    assert sub.on("sleep_myoclonus/bedroom/status").count(b"offline") == 1


def test_broker_refusing_the_client_is_reported(sockets: None) -> None:
    with run_mosquitto("allow_anonymous false") as (host, port):
        bed = VirtualBed(make_recording(1.0), "bedroom")
        publisher = Publisher([bed], host=host, port=port, connect_timeout_s=5.0)
        with pytest.raises(ConnectionError, match="as bedroom: connection refused"):
            publisher.start()
        assert not publisher.running
        assert not [t for t in threading.enumerate() if t.name.startswith("paho")]


def test_connection_refused_is_reported(sockets: None) -> None:
    publisher = Publisher([VirtualBed(make_recording(1.0), "bedroom")], port=free_port())
    with pytest.raises(ConnectionError, match="cannot connect"):
        publisher.start()
    assert not publisher.running
    assert not [t for t in threading.enumerate() if t.name.startswith("paho")]


# -- the command line ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        ([], "--recording --scenario is required"),
        (["--recording", "x.npz", "--speed", "0"], "--speed must be positive"),
        (["--recording", "x.npz", "--beds", "a b"], "--beds"),
        (["--recording", "x.npz", "--loss", "2"], "loss rate"),
        (["--recording", "/nonexistent/x.npz"], "/nonexistent/x.npz: "),
        (["--recording", "x.npz", "--port", "70000"], "--port"),
    ],
)
def test_cli_bad_arguments(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert reason in err


def test_cli_unreachable_broker(
    sockets: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = save_recording(make_recording(1.0), tmp_path / "night.npz")
    assert cli_main(["--recording", str(path), "--port", str(free_port())]) == 1
    assert "cannot connect" in capsys.readouterr().err


def start_cli(address: tuple[str, int], path: Path, *extra: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "hardware.virtual_sensor.publish", "--host", address[0]]
    argv += ["--port", str(address[1]), "--recording", str(path), "--status-interval", "0.2"]
    return subprocess.Popen(argv + list(extra), cwd=ROOT, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("how", ["sigkill", "sigint", "end"])
def test_cli_subprocess(
    how: str, broker: tuple[str, int], subscribe: Callable[..., Subscriber], tmp_path: Path
) -> None:
    rec = make_recording(10.0)
    path = save_recording(rec, tmp_path / "night.npz")
    sub = subscribe()
    extra = ["--speed", "40"] if how == "end" else ["--speed", "5", "--loop"]
    proc = start_cli(broker, path, "--beds", "bedroom,guest", *extra)
    try:
        sub.wait_for(lambda msgs: sum(t.endswith("/guest/raw") for t, *_ in msgs) >= 8)
        assert sub.on("sleep_myoclonus/bedroom/status")[0] == b"online"
        if how == "sigkill":
            proc.kill()  # the socket dies: only the broker can say "offline" now
        elif how == "sigint":
            proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for bed in ("bedroom", "guest"):
        sub.wait_for(
            lambda _, bed=bed: sub.on(f"sleep_myoclonus/{bed}/status")[-1:] == [b"offline"]
        )
    if how == "sigkill":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 0, stderr
        assert "stopped" in stderr.splitlines()[-1]
    assert "frames" in stderr
    if how == "end":
        samples, _ = reassemble(sub.on("sleep_myoclonus/guest/raw"))
        assert np.array_equal(samples, rec.samples)


def test_cli_scenario_calls_the_synthesis_engine(
    broker: tuple[str, int],
    subscribe: Callable[..., Subscriber],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The wiring, against a stand-in with the engine's API: generate(name, seed, minutes=)."""
    calls: list[tuple[str, int, float | None]] = []

    def generate(scenario: str, seed: int = 0, *, minutes: float | None = None) -> Recording:
        if scenario != "healthy":
            raise KeyError(f"unknown scenario {scenario!r}")
        calls.append((scenario, seed, minutes))
        return make_recording(60.0 * (minutes or 60.0), seed=seed)

    fake = ModuleType("synth")
    fake.generate = generate  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "hardware.virtual_sensor.synth", fake)

    assert cli_main(["--scenario", "nope", "--port", str(broker[1])]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err
    sub = subscribe()
    argv = ["--scenario", "healthy", "--minutes", "0.1", "--seed", "7", "--beds", "a,b"]
    assert cli_main([*argv, "--port", str(broker[1]), "--speed", "inf"]) == 0
    assert calls == [("healthy", 7, 0.1), ("healthy", 8, 0.1)]  # one night per bed
    sub.wait_for(lambda msgs: sum(t.endswith("/raw") for t, *_ in msgs) >= 24)
    for bed, seed in (("a", 7), ("b", 8)):
        samples, _ = reassemble(sub.on(f"sleep_myoclonus/{bed}/raw"))
        assert np.array_equal(samples, make_recording(6.0, seed=seed).samples)


def test_cli_scenario_with_the_real_engine(
    broker: tuple[str, int],
    subscribe: Callable[..., Subscriber],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hardware.virtual_sensor import synth  # noqa: PLC0415

    expected = synth.generate("healthy", 3, minutes=2.0)
    sub = subscribe()
    argv = ["--scenario", "healthy", "--minutes", "2", "--seed", "3", "--speed", "inf"]
    assert cli_main([*argv, "--port", str(broker[1])]) == 0
    sub.wait_for(lambda msgs: sum(t.endswith("/raw") for t, *_ in msgs) >= 240)
    samples, _ = reassemble(sub.on("sleep_myoclonus/bedroom/raw"))
    assert np.array_equal(samples, expected.samples)
    meta = json.loads(sub.on("sleep_myoclonus/bedroom/meta")[0])
    assert meta["filters"]["highpass_hz"] == expected.truth["scenario"]["highpass_hz"]
    assert cli_main(["--scenario", "healthy", "--minutes", "0.5", "--port", "1"]) == 2
    assert "at least 60 s in bed" in capsys.readouterr().err
