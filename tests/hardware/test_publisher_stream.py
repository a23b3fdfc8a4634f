"""Virtual sensor, pure side: the message stream of :class:`VirtualBed`, without a broker.

Checks the stream against the recording and the protocol (decode, reassemble, counters, flags,
meta, diag) and every injected fault through the receivers' own
:class:`detector.sequence.SequenceTracker`.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np
import pytest

from detector.protocol import Frame, FrameError, FrameErrorReason, FrameFlags, decode_frame
from detector.recording import Recording
from detector.sequence import FrameClass, SequenceTracker
from hardware.virtual_sensor.network import Faults, Message
from hardware.virtual_sensor.publish import VirtualBed
from tests.hardware.publisher_support import (
    FS,
    START,
    by_topic,
    make_recording,
    raw_frames,
    valid_frames,
)

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
    assert meta["filters"] == {"highpass_hz": 0.22, "lowpass_hz": 40.0}


def test_meta_takes_the_high_pass_of_a_synthesized_recording() -> None:
    rec = make_recording(1.0)
    rec = Recording(
        rec.samples, rec.fs, rec.start, rec.channels, {"scenario": {"highpass_hz": 2.2}}
    )
    assert VirtualBed(rec, "b").meta()["filters"] == {"highpass_hz": 2.2, "lowpass_hz": 40.0}
    custom = VirtualBed(rec, "b", filters={"highpass_hz": 0.1}, volts_per_count=1e-4).meta()
    assert (custom["filters"], custom["volts_per_count"]) == ({"highpass_hz": 0.1}, 1e-4)


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
