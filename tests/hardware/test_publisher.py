"""Virtual sensor, live side: pure message generation, fault injection, and a real Mosquitto.

The pure tests check the message stream of :class:`VirtualBed` against the recording and the
protocol (decode, reassemble, counters, flags, meta, diag) and check every injected fault through
the receivers' own :class:`detector.sequence.SequenceTracker`. The live tests run a real Mosquitto
on a free 127.0.0.1 port, paho subscribers, the in-process :class:`Publisher` and the CLI as a
subprocess (killed with SIGKILL for the last will, SIGINT for a clean stop).

Sockets: pytest-homeassistant-custom-component disables sockets for every test (pytest-socket);
live tests request ``socket_enabled`` through the ``sockets`` fixture.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from detector.protocol import Frame, FrameError, FrameErrorReason, FrameFlags, decode_frame
from detector.sequence import FrameClass, SequenceTracker
from hardware.virtual_sensor.network import Faults, Message
from hardware.virtual_sensor.publish import Publisher, VirtualBed
from hardware.virtual_sensor.publish_cli import main as cli_main
from hardware.virtual_sensor.recording import Recording, save_recording

ROOT = Path(__file__).resolve().parents[2]
FS = 250.0
START = 1_700_000_000.25
TIMEOUT = 10.0
META_KEYS = [
    "protocol",
    "sensor_id",
    "model",
    "manufacturer",
    "firmware",
    "channels",
    "fs_hz",
    "frame_samples",
    "sample_format",
    "units",
    "volts_per_count",
    "filters",
]
DIAG_KEYS = [
    "uptime_s",
    "frames_sent",
    "samples_dropped",
    "clipped_samples",
    "rssi_dbm",
    "free_heap",
]


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


# -- pure message generation -------------------------------------------------------------------


def test_clean_stream_is_the_recording_exactly() -> None:
    rec = make_recording(30.3)  # 60 full frames and a partial one
    bed = VirtualBed(rec, "bedroom", seed=3)
    messages = list(bed.iter_messages())

    status, meta = messages[:2]
    assert status == Message(0.0, "sleep_myoclonus/bedroom/status", b"online", 1, True)
    assert (meta.topic, meta.qos, meta.retain, meta.time_s) == (
        "sleep_myoclonus/bedroom/meta",
        1,
        True,
        0.0,
    )
    raws = by_topic(messages, "raw")
    assert len(messages) == 2 + len(raws)  # no diag before 60 s
    assert all((m.qos, m.retain) == (0, False) for m in raws)
    times = [m.time_s for m in messages]
    assert times == sorted(times)

    frames = raw_frames(messages)
    assert len(frames) == 61
    assert [f.n_samples for f in frames] == [125] * 60 + [75]
    assert np.array_equal(np.concatenate([f.samples for f in frames]), rec.samples)
    assert [f.seq for f in frames] == list(range(61))
    assert [f.sample0 for f in frames] == [125 * i for i in range(61)]
    assert len({f.boot_id for f in frames}) == 1
    assert all(f.fs_mhz == 250_000 for f in frames)
    for frame, message in zip(frames, raws, strict=True):
        assert frame.flags & FrameFlags.TIME_SYNCED
        assert frame.t0_us == round(START * 1e6) + frame.sample0 * 4000
        assert message.time_s == pytest.approx((frame.sample0 + frame.n_samples) / FS)
        on_rail = bool(np.isin(frame.samples, [-32768, 32767]).any())
        assert bool(frame.flags & FrameFlags.CLIPPED) == on_rail
    assert any(f.flags & FrameFlags.CLIPPED for f in frames)
    assert not all(f.flags & FrameFlags.CLIPPED for f in frames)

    tracker = SequenceTracker()
    assert {tracker.classify(f).kind for f in frames} == {FrameClass.OK}
    assert bed.counts == Counter({"frames": 61, "boots": 1})


def test_meta_document_follows_the_protocol() -> None:
    bed = VirtualBed(make_recording(2.0), "guest_2", prefix="home/beds", frame_samples=50)
    meta_message = next(m for m in bed.iter_messages() if m.topic.endswith("/meta"))
    assert meta_message.topic == "home/beds/guest_2/meta"
    meta = json.loads(meta_message.payload)
    assert list(meta) == META_KEYS
    assert meta["protocol"] == 1
    assert meta["sensor_id"] == "guest_2"
    assert meta["model"] == "SM-virtual"
    assert meta["manufacturer"] == "Sleep Myoclonus"
    assert isinstance(meta["firmware"], str)
    assert meta["firmware"]
    assert meta["channels"] == ["torso", "legs"]
    assert meta["fs_hz"] == 250.0
    assert meta["frame_samples"] == 50
    assert (meta["sample_format"], meta["units"]) == ("int16", "counts")
    assert meta["volts_per_count"] > 0
    assert set(meta["filters"]) == {"highpass_hz", "lowpass_hz"}


def test_diag_every_60_s_of_uptime() -> None:
    rec = make_recording(150.0)
    messages = list(VirtualBed(rec, "bedroom").iter_messages())
    diags = by_topic(messages, "diag")
    assert [m.time_s for m in diags] == [60.0, 120.0]
    assert all((m.qos, m.retain) == (0, False) for m in diags)
    for message, uptime in zip(diags, (60, 120), strict=True):
        diag = json.loads(message.payload)
        assert list(diag) == DIAG_KEYS
        n = round(uptime * FS)
        assert diag["uptime_s"] == uptime
        assert diag["frames_sent"] == uptime * 2
        assert diag["samples_dropped"] == 0
        assert diag["clipped_samples"] == int(np.isin(rec.samples[:n], [-32768, 32767]).sum())
        assert diag["rssi_dbm"] is None
        assert diag["free_heap"] is None
        # The diag follows the frame that completes its minute.
        before = messages[messages.index(message) - 1]
        assert decode_frame(before.payload).sample0 + 125 == n


def test_unsynced_frames_have_no_time() -> None:
    frames = raw_frames(
        list(VirtualBed(make_recording(3.0), "b", time_synced=False).iter_messages())
    )
    assert all(f.t0_us == 0 and not f.flags & FrameFlags.TIME_SYNCED for f in frames)


def test_one_channel_and_start_override() -> None:
    rec = make_recording(2.0, channels=1)
    frames = raw_frames(list(VirtualBed(rec, "b", start=100.0, frame_samples=100).iter_messages()))
    assert [f.channels for f in frames] == [1] * 5
    assert [f.t0_us for f in frames] == [100_000_000 + 400_000 * i for i in range(5)]


def test_stream_is_deterministic_per_seed_and_bed() -> None:
    rec = make_recording(20.0)
    faults = Faults(loss=0.1, duplicate=0.1, reorder=0.1, garbage=0.1)
    first = list(VirtualBed(rec, "a", seed=1, faults=faults).iter_messages())
    bed = VirtualBed(rec, "a", seed=1, faults=faults)
    assert list(bed.iter_messages()) == first
    assert list(bed.iter_messages()) == first  # every call replays from the start
    boot = {f.boot_id for f in valid_frames(first)}
    assert boot != {
        f.boot_id for f in raw_frames(list(VirtualBed(rec, "a", seed=2).iter_messages()))
    }
    assert boot != {
        f.boot_id for f in raw_frames(list(VirtualBed(rec, "b", seed=1).iter_messages()))
    }


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bed": "bad bed"}, "bed id"),
        ({"prefix": "a//b"}, "prefix"),
        ({"frame_samples": 0}, "frame_samples"),
        ({"frame_samples": 1100}, "4096 bytes"),  # 36 + 1100 * 2 * 2 bytes
    ],
)
def test_bed_rejects_bad_settings(kwargs: dict[str, Any], match: str) -> None:
    args: dict[str, Any] = {"bed": "bedroom"} | kwargs
    with pytest.raises(ValueError, match=match):
        VirtualBed(make_recording(1.0), args.pop("bed"), **args)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"loss": -0.1},
        {"garbage": 1.5},
        {"loss": 0.5, "duplicate": 0.3, "reorder": 0.3},
        {"reboot_at_s": (0.0,)},
        {"reboot_at_s": (float("nan"),)},
    ],
)
def test_faults_reject_bad_settings(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"rate|reboot"):
        Faults(**kwargs)


def expected_classes(arrivals: list[Frame]) -> tuple[Counter[str], int]:
    """Oracle for one boot: classes from the arrival order of seq numbers (125-sample frames)."""
    classes: Counter[str] = Counter()
    seen: set[int] = set()
    newest = -1
    missing = 0
    for frame in arrivals:
        if frame.seq in seen:
            classes["duplicate"] += 1
        elif frame.seq < newest:
            classes["late"] += 1
        elif newest >= 0 and frame.seq > newest + 1:
            classes["gap"] += 1
            missing += (frame.seq - newest - 1) * 125
        else:
            classes["ok"] += 1
        seen.add(frame.seq)
        newest = max(newest, frame.seq)
    return classes, missing


def test_faults_as_the_receiver_sees_them() -> None:
    rec = make_recording(600.0)  # 1200 frames of 125 samples
    faults = Faults(loss=0.04, duplicate=0.04, reorder=0.04, garbage=0.03)
    bed = VirtualBed(rec, "bedroom", seed=11, faults=faults)
    labelled = list(bed.iter_labelled())
    counts = bed.counts
    for key in ("loss", "duplicate", "reorder"):
        assert 25 <= counts[key] <= 75, (key, counts)
    garbage_total = counts["garbage_random"] + counts["garbage_truncated"] + counts["garbage_json"]
    assert 15 <= garbage_total <= 60
    assert min(counts["garbage_random"], counts["garbage_truncated"], counts["garbage_json"]) > 0

    tracker = SequenceTracker()
    reasons: Counter[FrameErrorReason] = Counter()
    arrivals: list[Frame] = []
    accepted = np.zeros(rec.samples.shape[0], dtype=bool)
    for kind, message in labelled:
        if not message.topic.endswith("/raw"):
            continue
        try:
            frame = decode_frame(message.payload)
        except FrameError as err:
            assert kind.value.startswith("garbage_")
            reasons[err.reason] += 1
            continue
        assert not kind.value.startswith("garbage_")
        arrivals.append(frame)
        if tracker.classify(frame).accepted:
            assert np.array_equal(frame.samples, rec.samples[frame.sample0 : frame.sample0 + 125])
            accepted[frame.sample0 : frame.sample0 + 125] = True

    assert reasons.total() == garbage_total
    assert reasons[FrameErrorReason.BAD_MAGIC] >= counts["garbage_json"]
    assert set(reasons) <= {
        FrameErrorReason.BAD_MAGIC,
        FrameErrorReason.TOO_SHORT,
        FrameErrorReason.LENGTH_MISMATCH,
    }
    assert tracker.counts[FrameClass.DUPLICATE] == counts["duplicate"]
    assert tracker.counts[FrameClass.LATE] == counts["reorder"]
    assert tracker.counts[FrameClass.REBOOT] == 0
    # Lost and overtaken frames are exactly the samples the detector never gets; the receiver
    # counts them as missing, except lost frames at the very end (no later frame reveals them).
    assert int((~accepted).sum()) == 125 * (counts["loss"] + counts["reorder"])
    trailing = 1199 - max(f.seq for f in arrivals)
    assert tracker.missing_samples == 125 * (counts["loss"] + counts["reorder"] - trailing)
    oracle, missing = expected_classes(arrivals)
    assert missing == tracker.missing_samples
    assert {k.value: v for k, v in tracker.counts.items() if v} == dict(oracle)
    assert len(arrivals) == 1200 - counts["loss"] + counts["duplicate"]


def test_scheduled_reboot_restarts_the_counters() -> None:
    rec = make_recording(30.0)
    bed = VirtualBed(rec, "bedroom", seed=5, faults=Faults(reboot_at_s=(10.2,)))
    messages = list(bed.iter_messages())
    frames = raw_frames(messages)
    assert np.array_equal(np.concatenate([f.samples for f in frames]), rec.samples)
    first, second = frames[:21], frames[21:]  # the reboot waits for the frame boundary at 10.5 s
    assert len({f.boot_id for f in first}) == 1
    assert len({f.boot_id for f in second}) == 1
    assert first[0].boot_id != second[0].boot_id
    assert [f.seq for f in second] == list(range(len(second)))
    assert [f.sample0 for f in second] == [125 * i for i in range(len(second))]
    assert second[0].t0_us == round(START * 1e6) + round(10.5e6)  # the clock runs on
    # status and meta again, right before the first frame of the new boot
    index = messages.index(next(m for m in messages if m.payload == raw_payload(second[0])))
    assert [m.topic.rsplit("/", 1)[1] for m in messages[index - 2 : index]] == ["status", "meta"]
    assert messages[index - 2].time_s == 10.5
    tracker = SequenceTracker()
    classes = [tracker.classify(f).kind for f in frames]
    assert classes.count(FrameClass.REBOOT) == 1
    assert classes[21] is FrameClass.REBOOT
    assert bed.counts["reboot"] == 1
    assert bed.counts["boots"] == 2


def raw_payload(frame: Frame) -> bytes:
    from detector.protocol import encode_frame  # noqa: PLC0415

    return encode_frame(
        frame.samples,
        seq=frame.seq,
        boot_id=frame.boot_id,
        sample0=frame.sample0,
        fs_hz=frame.fs_hz,
        t0_us=frame.t0_us,
        flags=frame.flags,
    )


def test_loop_mode_replays_as_reboots() -> None:
    rec = make_recording(5.0)  # 10 frames per pass
    bed = VirtualBed(rec, "bedroom", seed=9)
    stream = bed.iter_messages(loop=True)
    messages = [next(stream) for _ in range(3 * 12)]  # status + meta + 10 frames per pass
    frames = raw_frames(messages)
    assert len(frames) == 30
    passes = [frames[0:10], frames[10:20], frames[20:30]]
    assert len({p[0].boot_id for p in passes}) == 3
    for number, frames_of_pass in enumerate(passes):
        assert np.array_equal(np.concatenate([f.samples for f in frames_of_pass]), rec.samples)
        assert [f.seq for f in frames_of_pass] == list(range(10))
        assert frames_of_pass[0].t0_us == round(START * 1e6) + number * 5_000_000
    assert bed.counts["boots"] == 3


def test_reorder_never_crosses_a_reboot_or_the_end() -> None:
    rec = make_recording(10.0)
    bed = VirtualBed(rec, "bedroom", faults=Faults(reorder=1.0, reboot_at_s=(2.5,)))
    frames = raw_frames(list(bed.iter_messages()))
    assert len(frames) == 20  # nothing lost: held frames are flushed
    boots = [f.boot_id for f in frames]
    assert boots == sorted(boots, key=boots.index)  # each boot's frames arrive together
    # boot 1: frames 0-4, swapped in pairs, the odd one out flushed before the reboot
    assert [f.seq for f in frames[:5]] == [1, 0, 3, 2, 4]
    assert [f.seq for f in frames[5:]][-1] == 14  # 15 frames in boot 2: the last one flushed
    assert bed.counts["reorder"] == 2 + 7


def test_garbage_is_always_refused() -> None:
    bed = VirtualBed(make_recording(60.0), "bedroom", seed=4, faults=Faults(garbage=1.0))
    kinds: Counter[str] = Counter()
    for kind, message in bed.iter_labelled():
        if kind.value.startswith("garbage_"):
            kinds[kind.value] += 1
            with pytest.raises(FrameError):
                decode_frame(message.payload)
    assert sum(kinds.values()) == 120
    assert set(kinds) == {"garbage_random", "garbage_truncated", "garbage_json"}


# -- live: a real Mosquitto ----------------------------------------------------------------------


@pytest.fixture
def sockets(request: pytest.FixtureRequest) -> None:
    """Re-enable sockets when pytest-socket (pulled in by the HA test plugin) disabled them."""
    with contextlib.suppress(pytest.FixtureLookupError):  # else pytest-socket is not loaded
        request.getfixturevalue("socket_enabled")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def run_mosquitto(*config_lines: str) -> Iterator[tuple[str, int]]:
    """A real Mosquitto on a free loopback port, stopped by PID."""
    executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.access(executable, os.X_OK):
        pytest.skip("mosquitto is not installed")
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


@pytest.fixture
def broker(sockets: None) -> Iterator[tuple[str, int]]:
    with run_mosquitto("allow_anonymous true") as address:
        yield address


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


@pytest.fixture
def subscribe(broker: tuple[str, int]) -> Iterator[Callable[..., Subscriber]]:
    made: list[Subscriber] = []

    def make(topic: str = "sleep_myoclonus/#") -> Subscriber:
        made.append(Subscriber(broker, topic))
        return made[-1]

    yield make
    for subscriber in made:
        subscriber.close()


def reassemble(payloads: list[bytes]) -> tuple[np.ndarray, set[int]]:
    frames = [decode_frame(p) for p in payloads]
    assert [f.seq for f in frames] == list(range(len(frames)))
    return np.concatenate([f.samples for f in frames]), {f.boot_id for f in frames}


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
        (["--recording", "/nonexistent/x.npz"], "not a readable recording"),
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


class FakeScenario:
    def __init__(self, duration_s: float) -> None:
        self.duration_s = duration_s

    def with_duration(self, duration_s: float) -> FakeScenario:
        return FakeScenario(duration_s)


def test_cli_scenario_calls_the_synthesis_engine(
    broker: tuple[str, int],
    subscribe: Callable[..., Subscriber],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The wiring, against stand-ins with the engine's API: preset(name), generate(sc, seed=)."""
    calls: list[tuple[float, int]] = []

    def preset(name: str) -> FakeScenario:
        if name != "healthy":
            raise KeyError(f"unknown scenario {name!r}")
        return FakeScenario(3600.0)

    def generate(scenario: FakeScenario, seed: int) -> Recording:
        calls.append((scenario.duration_s, seed))
        return make_recording(scenario.duration_s, seed=seed)

    monkeypatch.setitem(sys.modules, "hardware.virtual_sensor.scenarios", ModuleType("scenarios"))
    monkeypatch.setitem(sys.modules, "hardware.virtual_sensor.synth", ModuleType("synth"))
    monkeypatch.setattr(sys.modules["hardware.virtual_sensor.scenarios"], "preset", preset, False)
    monkeypatch.setattr(sys.modules["hardware.virtual_sensor.synth"], "generate", generate, False)

    assert cli_main(["--scenario", "nope", "--port", str(broker[1])]) == 2
    assert "unknown scenario 'nope'" in capsys.readouterr().err
    sub = subscribe()
    argv = ["--scenario", "healthy", "--minutes", "0.1", "--seed", "7", "--beds", "a,b"]
    assert cli_main([*argv, "--port", str(broker[1]), "--speed", "inf"]) == 0
    assert calls == [(6.0, 7), (6.0, 8)]  # one night per bed
    sub.wait_for(lambda msgs: sum(t.endswith("/raw") for t, *_ in msgs) >= 24)
    for bed, seed in (("a", 7), ("b", 8)):
        samples, _ = reassemble(sub.on(f"sleep_myoclonus/{bed}/raw"))
        assert np.array_equal(samples, make_recording(6.0, seed=seed).samples)


def test_scenario_with_the_real_engine() -> None:
    pytest.importorskip("hardware.virtual_sensor.synth")
    from hardware.virtual_sensor.publish_cli import _synthesize  # noqa: PLC0415

    recording = _synthesize("healthy", 0.5, 3)
    assert recording.samples.shape[0] == round(30 * recording.fs)
    frames = raw_frames(list(VirtualBed(recording, "bedroom").iter_messages()))
    assert np.array_equal(np.concatenate([f.samples for f in frames]), recording.samples)
