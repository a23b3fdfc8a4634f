"""The asyncio service: many beds on one loop give each bed exactly the batch result."""

from __future__ import annotations

import asyncio
import json
import pickle

import numpy as np
import pytest

from detector.analyze import analyze
from detector.events import Event
from detector.protocol import FrameFlags, encode_frame, encode_frames
from detector.recording import Recording
from detector.service import BedDetector, BedOutput, DetectorService
from detector.stream import BedChange
from hardware.virtual_sensor.synth import generate

PREFIX = "sleep_myoclonus"
FRAME = 125


@pytest.fixture(scope="module")
def nights() -> dict[str, Recording]:
    return {
        "bedroom": generate("hypnic_onset", seed=21, minutes=6),
        "guest": generate("plmd", seed=22, minutes=6),
    }


def messages(nights: dict[str, Recording]) -> list[tuple[str, bytes]]:
    """Both beds' frames interleaved, with their meta and some garbage."""
    per_bed = []
    for bed, night in nights.items():
        payloads = encode_frames(night.samples, night.fs, FRAME, boot_id=7)
        frames = [(f"{PREFIX}/{bed}/raw", payload) for payload in payloads]
        meta = (f"{PREFIX}/{bed}/meta", json.dumps({"channels": list(night.channels)}).encode())
        per_bed.append([meta, *frames])
    out = []
    for i in range(max(map(len, per_bed))):
        for frames in per_bed:
            if i < len(frames):
                out.append(frames[i])
        if i % 97 == 5:
            out += [(f"{PREFIX}/bedroom/raw", b"\x00garbage"), ("elsewhere/bedroom/raw", b"x")]
    return out


def events_of(outputs: list[BedOutput], bed: str) -> list[dict[str, object]]:
    return [e.as_json() for o in outputs if o.bed == bed for e in o.output.events]


def batch(night: Recording) -> list[dict[str, object]]:
    n = len(night.samples) // FRAME * FRAME
    return [e.as_json() for e in analyze(night.samples[:n], night.fs, night.channels).events]


async def test_many_beds_on_one_loop_match_the_batch_result(nights: dict[str, Recording]) -> None:
    service = DetectorService(PREFIX, queue_size=100_000)
    outputs: list[BedOutput] = []

    async def sink(result: BedOutput) -> None:
        outputs.append(result)

    runner = asyncio.create_task(service.run(sink))
    for topic, payload in messages(nights):
        assert service.submit(topic, payload)
    service.stop()
    await runner
    outputs += service.finish()
    for bed, night in nights.items():
        assert events_of(outputs, bed) == batch(night)
        assert events_of(outputs, bed)
    assert service.beds["bedroom"].ingest.stats.error_count > 0
    assert set(service.beds) == {"bedroom", "guest"}  # other prefixes are ignored
    assert service.beds["guest"].stream is None  # finished


def test_checkpoint_on_one_worker_restore_on_another(nights: dict[str, Recording]) -> None:
    traffic = messages(nights)
    half = len(traffic) // 2
    first, second = DetectorService(PREFIX), DetectorService(PREFIX)
    outputs = [r for t, p in traffic[:half] if (r := first.handle(t, p)) is not None]
    for bed in first.beds:
        second.restore(bed, first.checkpoint(bed))
    outputs += [r for t, p in traffic[half:] if (r := second.handle(t, p)) is not None]
    outputs += second.finish()
    for bed, night in nights.items():
        assert events_of(outputs, bed) == batch(night)
    with pytest.raises(ValueError, match="not a checkpoint"):
        second.restore("guest", first.checkpoint("bedroom"))


async def test_a_full_queue_drops_and_counts_and_stop_still_arrives() -> None:
    service = DetectorService(PREFIX, queue_size=2)
    assert service.submit(f"{PREFIX}/a/raw", b"1")
    assert service.submit(f"{PREFIX}/a/raw", b"2")
    assert not service.submit(f"{PREFIX}/a/raw", b"3")
    assert service.dropped == 1
    seen: list[BedOutput] = []
    service.stop()  # queue full: the stop marker waits for room
    await asyncio.wait_for(service.run(seen.append), timeout=5)
    assert seen == []
    assert service.beds["a"].ingest.stats.error_count == 2


def test_a_sensor_that_changes_its_format_starts_a_new_stream() -> None:
    service = DetectorService(PREFIX)
    rng = np.random.default_rng(0)
    samples = rng.integers(-50, 50, (250, 2)).astype(np.int16)
    topic = f"{PREFIX}/a/raw"
    service.handle(topic, encode_frame(samples, seq=0, boot_id=1, sample0=0, fs_hz=250.0))
    service.handle(topic, encode_frame(samples[:, :1], seq=1, boot_id=1, sample0=250, fs_hz=250.0))
    stream = service.beds["a"].stream
    assert stream is not None
    assert stream.channels == ("torso",)
    service.handle(f"{PREFIX}/a/meta", b"not json")  # ignored
    service.handle(f"{PREFIX}/a/meta", json.dumps({"channels": ["left", "right"]}).encode())
    service.handle(topic, encode_frame(samples, seq=2, boot_id=1, sample0=500, fs_hz=250.0))
    stream = service.beds["a"].stream
    assert stream is not None
    assert stream.channels == ("left", "right")


def test_a_restarted_receiver_resumes_in_bed_without_reporting_an_entry(
    nights: dict[str, Recording],
) -> None:
    """Someone in bed when the receiver restarts: no bed entry, yet the exit still comes."""
    night = nights["guest"]  # in bed from the start
    empty_bed = np.zeros((int(night.fs) * 60, 2), np.int16)  # then a minute of nothing
    payloads = encode_frames(np.vstack([night.samples, empty_bed]), night.fs, FRAME, boot_id=7)
    in_bed = payloads[: len(night.samples) // FRAME]
    fresh, resumed = BedDetector("guest"), BedDetector("guest", resume_in_bed=True)
    fresh_out = [item for p in in_bed for item in fresh.raw(p).items]
    resumed_out = [item for p in in_bed for item in resumed.raw(p).items]
    assert any(isinstance(i, BedChange) and i.in_bed for i in fresh_out)
    assert not any(isinstance(i, BedChange) for i in resumed_out)
    assert [e.event_id for e in fresh_out if isinstance(e, Event)] == [
        e.event_id for e in resumed_out if isinstance(e, Event)
    ]
    later = [i for p in payloads[len(in_bed) :] for i in resumed.raw(p).items]
    assert [i.in_bed for i in later if isinstance(i, BedChange)] == [False]


def test_a_checkpoint_keeps_the_counters_and_no_samples(nights: dict[str, Recording]) -> None:
    bed = BedDetector("guest")
    for payload in encode_frames(nights["guest"].samples[:2500], 250.0, FRAME, boot_id=7):
        bed.raw(payload)
    checkpoint = pickle.dumps(bed)
    restored = pickle.loads(checkpoint)
    assert restored.ingest.stats.frames_accepted == bed.ingest.stats.frames_accepted
    assert len(checkpoint) < 6000  # the stream's compact state, not the last frame's samples


def test_a_step_says_whether_its_data_clipped() -> None:
    """Samples on a rail (int16 or a narrow ADC's) or the sensor's own CLIPPED flag; else not."""
    rng = np.random.default_rng(4)
    quiet = rng.integers(-300, 300, (FRAME, 2)).astype(np.int16)
    at_int16_rail = quiet.copy()
    at_int16_rail[40, 0] = -32768
    narrow = quiet.copy()
    narrow[60:64, 1] = 8188  # four summed 12-bit readings at the top, as the ESP32 firmware sends
    frames = [(quiet, 0), (at_int16_rail, 0), (quiet, 0), (narrow, 0), (quiet, FrameFlags.CLIPPED)]
    bed = BedDetector("a")
    clipped = [
        bed.raw(
            encode_frame(samples, seq=i, boot_id=1, sample0=i * FRAME, fs_hz=250.0, flags=flags)
        ).clipped
        for i, (samples, flags) in enumerate(frames)
    ]
    assert clipped == [False, True, False, True, True]
