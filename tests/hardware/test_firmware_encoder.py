"""Firmware pure logic, host-compiled: C++ frame encoder and ring buffer against the Python codec.

The ESPHome component's ``frame_encoder.h`` and ``ring_buffer.h`` have no ESPHome/Arduino
dependency; here they are compiled with the host ``g++`` (C++17, warnings as errors) into a small
driver (``tests/hardware/cpp/firmware_driver.cpp``) that answers line commands on stdin. The
answers are checked byte-for-byte against the golden vectors and decoded and classified with
``detector.protocol`` and ``detector.sequence``, so the firmware and the receivers cannot drift.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from detector.protocol import (
    HEADER_LEN,
    MAX_FRAME_BYTES,
    Frame,
    FrameFlags,
    SampleFormat,
    decode_frame,
    encode_frame,
)
from detector.sequence import FrameClass, SequenceTracker

ROOT = Path(__file__).parents[2]
COMPONENT_DIR = ROOT / "hardware" / "esphome" / "components" / "sleep_myoclonus"
DRIVER_SRC = Path(__file__).parent / "cpp" / "firmware_driver.cpp"
GOLDEN: list[dict[str, Any]] = json.loads(
    (ROOT / "tests" / "detector" / "golden_frames.json").read_text()
)["frames"]
CXXFLAGS = ["-std=c++17", "-Wall", "-Wextra", "-Werror", "-Wpedantic", "-Wshadow"]
CXXFLAGS += ["-Wconversion", "-Wsign-conversion", "-O1", "-pthread"]
RING_CAPACITY = 64  # SampleRing<int16_t, 64, 2> in the driver
MOD = 2**32


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Compile the C++ driver once per module; fail loudly if the compiler is missing."""
    cxx = shutil.which("g++")
    if cxx is None:
        pytest.fail("g++ is required for the firmware tests (scripts/setup.sh installs it)")
    exe = tmp_path_factory.mktemp("firmware") / "firmware_driver"
    cmd = [cxx, *CXXFLAGS, f"-I{COMPONENT_DIR}", str(DRIVER_SRC), "-o", str(exe)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"compile failed:\n{result.stderr}"
    return exe


def run(exe: Path, lines: Sequence[str]) -> list[str]:
    """Feed ``lines`` to the driver; return one answer per line."""
    script = "\n".join(lines) + "\n"
    result = subprocess.run(
        [str(exe)], input=script, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    answers = result.stdout.splitlines()
    assert len(answers) == len(lines)
    assert "BADCMD" not in answers
    return answers


def gen(index: int, channel: int) -> int:
    """Test signal of the driver's ``rb_push`` (same arithmetic, uint32 wrap included)."""
    return (index * 31 + channel * 7919) % MOD % 20001 - 10000


def expected_block(sample0: int, n: int, channels: int) -> npt.NDArray[np.int16]:
    return np.array(
        [[gen((sample0 + k) % MOD, ch) for ch in range(channels)] for k in range(n)],
        dtype=np.int16,
    )


def value_text(value: float, fmt: str) -> str:
    # float32 values travel as exact C99 hex literals; integers as decimal.
    return float(np.float32(value)).hex() if fmt == "float32" else str(int(value))


def encode_cmd(
    fmt: str,
    samples: Sequence[Sequence[float]],
    *,
    channels: int | None = None,
    n: int | None = None,
    seq: int = 1,
    boot_id: int = 2,
    sample0: int = 3,
    fs_mhz: int = 250_000,
    t0_us: int = 0,
    flags: int = 0,
    capacity: int = MAX_FRAME_BYTES,
) -> str:
    flat = [value_text(v, fmt) for row in samples for v in row]
    ch = channels if channels is not None else (len(samples[0]) if samples else 1)
    count = n if n is not None else len(samples)
    head = f"encode {fmt} {ch} {count} {seq} {boot_id} {sample0} {fs_mhz} {t0_us} {flags}"
    return f"{head} {capacity} {' '.join(flat)}".rstrip()


# ---- (a) golden vectors ------------------------------------------------------------------


@pytest.mark.parametrize("vector", GOLDEN, ids=[v["name"] for v in GOLDEN])
def test_golden_vector_bytes_and_decode(driver: Path, vector: dict[str, Any]) -> None:
    fields = ("seq", "boot_id", "sample0", "fs_mhz", "t0_us", "flags")
    cmd = encode_cmd(vector["sample_format"], vector["samples"], **{k: vector[k] for k in fields})
    (answer,) = run(driver, [cmd])
    assert answer == vector["hex"]
    frame = decode_frame(bytes.fromhex(answer))
    fmt = SampleFormat[vector["sample_format"].upper()]
    assert frame.sample_format is fmt
    assert (frame.seq, frame.boot_id, frame.sample0) == (
        vector["seq"],
        vector["boot_id"],
        vector["sample0"],
    )
    assert (frame.fs_mhz, frame.t0_us, int(frame.flags)) == (
        vector["fs_mhz"],
        vector["t0_us"],
        vector["flags"],
    )
    assert frame.channels == vector["channels"]
    np.testing.assert_array_equal(frame.samples, np.asarray(vector["samples"], dtype=fmt.dtype))


def test_protocol_md_examples(driver: Path) -> None:
    one, two = run(
        driver,
        [
            encode_cmd(
                "int16",
                [[0], [1], [-1], [32767]],
                seq=7,
                boot_id=0xDEADBEEF,
                sample0=1000,
                t0_us=1_700_000_000_000_000,
                flags=1,
            ),
            encode_cmd(
                "int16",
                [[100, -200], [300, -400]],
                seq=1,
                boot_id=0x01020304,
                sample0=0,
                flags=int(FrameFlags.CLIPPED),
            ),
        ],
    )
    assert one == (
        "534d0124010101000400000007000000efbeaddee803000090d0030000401e18240a060000000100ffffff7f"
    )
    assert two == (
        "534d0124020102000200000001000000040302010000000090d003000000000000000000640038ff2c0170fe"
    )


@pytest.mark.parametrize("fmt", ["int16", "int32", "float32"])
def test_extremes_round_trip_through_python(driver: Path, fmt: str) -> None:
    if fmt == "float32":
        info = np.finfo(np.float32)
        rows: list[list[float]] = [[float(info.min), float(info.max)], [-0.0, float(info.tiny)]]
    else:
        iinfo = np.iinfo(np.int16 if fmt == "int16" else np.int32)
        rows = [[iinfo.min, iinfo.max], [-1, 0]]
    t0 = -(2**63) + 1
    top = MOD - 1
    cmd = encode_cmd(
        fmt, rows, seq=top, boot_id=top, sample0=top, fs_mhz=10_000_000, t0_us=t0, flags=15
    )
    (answer,) = run(driver, [cmd])
    payload = bytes.fromhex(answer)
    dtype = SampleFormat[fmt.upper()].dtype
    expected = encode_frame(
        np.asarray(rows, dtype), seq=top, boot_id=top, sample0=top, fs_hz=1e4, t0_us=t0, flags=15
    )
    assert payload == expected
    assert math.copysign(1.0, float(decode_frame(payload).samples[1, 0])) == -1.0


# ---- (c) encoder bounds checking -----------------------------------------------------------


def test_size_limits_match_python(driver: Path) -> None:
    queries = ["size int16 8 4093", "size int16 8 4094", "size int16 2 4096", "size int16 1 4097"]
    queries += ["size int32 8 4096", "size float32 8 2046", "size int16 9 1", "size int16 1 0"]
    sizes = [int(a) for a in run(driver, queries)]
    assert sizes == [65524, 0, 16420, 0, 0, 65508, 0, 0]
    with pytest.raises(ValueError, match="bytes"):
        encode_frame(np.zeros((4094, 8), np.int16), seq=0, boot_id=0, sample0=0, fs_hz=250.0)
    largest = encode_frame(np.zeros((4093, 8), np.int16), seq=0, boot_id=0, sample0=0, fs_hz=250)
    assert len(largest) == 65524


REFUSALS = {
    "n_above_4096": {"n": 4097},
    "zero_samples": {"n": 0},
    "zero_channels": {"channels": 0},
    "nine_channels": {"channels": 9},
    "fs_too_low": {"fs_mhz": 999},
    "fs_too_high": {"fs_mhz": 10_000_001},
    "reserved_flag_bit": {"flags": 0x10},
    "t0_without_time_synced": {"t0_us": 5},
    "time_synced_without_t0": {"flags": 1},
    "buffer_one_byte_short": {"capacity": HEADER_LEN + 8 - 1},
    "buffer_empty": {"capacity": 0},
}


@pytest.mark.parametrize("override", REFUSALS.values(), ids=REFUSALS.keys())
def test_encoder_refuses_invalid_arguments(driver: Path, override: dict[str, int]) -> None:
    rows = [[1], [2], [3], [4]]
    base = encode_cmd("int16", rows, capacity=HEADER_LEN + 8)
    bad = encode_cmd("int16", rows, **{"capacity": HEADER_LEN + 8, **override})
    reference = encode_frame(np.array(rows, np.int16), seq=1, boot_id=2, sample0=3, fs_hz=250.0)
    assert run(driver, [base, bad]) == [reference.hex(), "ERR"]


def test_encoder_refuses_count_mismatch_oversize_and_non_finite(driver: Path) -> None:
    big = [[0] * 8] * 4096  # 8 x 4096 int32 = 131 108 bytes > 64 KiB
    answers = run(
        driver,
        [
            encode_cmd("int16", [[1], [2], [3]], n=4),  # fewer values than n x channels
            encode_cmd("int16", [[1], [2], [3], [4], [5]], n=4),  # more values
            encode_cmd("int32", big, capacity=200_000),
            encode_cmd("float32", [[1.0], [math.inf]]),
            encode_cmd("float32", [[math.nan], [1.0]]),
            encode_cmd("float32", [[1.0], [2.0]]),
        ],
    )
    assert answers[:5] == ["ERR"] * 5
    assert decode_frame(bytes.fromhex(answers[5])).samples.tolist() == [[1.0], [2.0]]


# ---- (b) ring buffer ------------------------------------------------------------------------


def frames_of(answers: Sequence[str]) -> list[Frame]:
    assert "NONE" not in answers
    assert "ERR" not in answers
    return [decode_frame(bytes.fromhex(a)) for a in answers]


def test_ring_normal_operation(driver: Path) -> None:
    script = ["rb_reset 2 0", "rb_push 50"] + [f"rb_frame 16 {s} 9" for s in range(4)]
    answers = run(driver, [*script, "rb_stats"])
    assert answers[-2] == "NONE"  # 50 - 48 = 2 samples left: no partial frame
    assert answers[-1] == "available 2 dropped 0 clipped 0 next 48"
    tracker = SequenceTracker()
    for i, frame in enumerate(frames_of(answers[2:5])):
        assert frame.sample0 == 16 * i
        assert frame.flags == FrameFlags.NONE
        np.testing.assert_array_equal(frame.samples, expected_block(16 * i, 16, 2))
        assert tracker.classify(frame).kind is FrameClass.OK


@pytest.mark.parametrize(("start", "burst"), [(0, 100), (MOD - 30, 100), (5, 64 + 7), (9, 1000)])
def test_ring_overflow_sets_gap_before_with_exact_sample0(
    driver: Path, start: int, burst: int
) -> None:
    script = [f"rb_reset 1 {start}", "rb_push 16", "rb_frame 16 0 7", f"rb_push {burst}"]
    script += ["rb_frame 16 1 7", "rb_frame 16 2 7", "rb_stats"]
    answers = run(driver, script)
    first, gapped, after = frames_of(answers[2:3] + answers[4:6])
    missing = burst - RING_CAPACITY
    assert first.sample0 == start
    assert gapped.flags == FrameFlags.GAP_BEFORE
    assert gapped.sample0 == (start + 16 + missing) % MOD
    np.testing.assert_array_equal(gapped.samples, expected_block(gapped.sample0, 16, 1))
    assert after.flags == FrameFlags.NONE
    assert after.sample0 == (gapped.sample0 + 16) % MOD
    tracker = SequenceTracker()
    verdicts = [tracker.classify(f) for f in (first, gapped, after)]
    assert [v.kind for v in verdicts] == [FrameClass.OK, FrameClass.GAP, FrameClass.OK]
    assert verdicts[1].missing_samples == missing
    assert answers[-1].split()[3] == str(missing)  # dropped_total


@pytest.mark.parametrize(
    ("start", "filled", "injected", "missing"),
    [(0, 64, 10, 10), (MOD - 3, 64, 40, 40), (7, 60, 10, 6), (0, 20, 30, 0)],
)
def test_ring_discards_samples_overwritten_during_the_copy(
    driver: Path, start: int, filled: int, injected: int, missing: int
) -> None:
    # The producer pushes `injected` samples while the consumer copies the first frame.
    script = [f"rb_reset 1 {start}", f"rb_push {filled}", f"rb_inject {injected}"]
    script += ["rb_frame 16 0 1", "rb_frame 16 1 1", "rb_stats"]
    answers = run(driver, script)
    first, second = frames_of(answers[3:5])
    assert first.sample0 == (start + missing) % MOD
    assert bool(first.flags & FrameFlags.GAP_BEFORE) == (missing > 0)
    np.testing.assert_array_equal(first.samples, expected_block(first.sample0, 16, 1))
    assert second.flags == FrameFlags.NONE
    tracker = SequenceTracker()
    # A one-sample frame ending right before `start`, so the tracker expects `start` next.
    before = encode_frame(
        np.zeros(1, np.int16), seq=MOD - 1, boot_id=1, sample0=start - 1, fs_hz=250
    )
    tracker.classify(decode_frame(before))
    verdict = tracker.classify(first)
    assert verdict.kind is (FrameClass.GAP if missing else FrameClass.OK)
    assert verdict.missing_samples == missing
    assert tracker.classify(second).kind is FrameClass.OK
    assert answers[-1].split()[3] == str(missing)


@pytest.mark.parametrize(("start", "filled", "missing"), [(0, 64, 1), (MOD - 1, 64, 1), (0, 40, 0)])
def test_ring_read_during_a_push_skips_the_slot_being_overwritten(
    driver: Path, start: int, filled: int, missing: int
) -> None:
    # The consumer runs after the producer wrote a slot but before it published the sample.
    script = [f"rb_reset 1 {start}", f"rb_push {filled}", "rb_push_reading 16", "rb_stats"]
    answers = run(driver, script)
    (frame,) = frames_of(answers[2:3])
    assert frame.sample0 == (start + missing) % MOD
    assert bool(frame.flags & FrameFlags.GAP_BEFORE) == (missing > 0)
    np.testing.assert_array_equal(frame.samples, expected_block(frame.sample0, 16, 1))
    assert answers[-1] == f"available {filled + 1 - missing - 16} dropped {missing} clipped 0 " + (
        f"next {(start + missing + 16) % MOD}"
    )


def test_ring_clipping_flag_and_count(driver: Path) -> None:
    script = ["rb_reset 2 0 -2000 2000"]
    script += ["rb_pushv 0 0"] * 7 + ["rb_pushv 2000 -1999"] + ["rb_pushv 0 0"] * 8
    script += ["rb_pushv -2000 -2500"] + ["rb_pushv 1 1"] * 7
    script += ["rb_pushv 1999 -1999"] * 8
    script += ["rb_frame 8 0 1", "rb_frame 8 1 1", "rb_frame 8 2 1", "rb_frame 8 3 1", "rb_stats"]
    answers = run(driver, script)
    frames = frames_of(answers[-5:-1])
    clipped, clean = FrameFlags.CLIPPED, FrameFlags.NONE
    assert [f.flags for f in frames] == [clipped, clean, clipped, clean]
    assert frames[0].samples[7].tolist() == [2000, -1999]
    assert frames[2].samples[0].tolist() == [-2000, -2500]
    assert answers[-1] == "available 0 dropped 0 clipped 3 next 32"


def test_ring_index_wraps_at_2_32(driver: Path) -> None:
    start = MOD - 40
    script = [f"rb_reset 2 {start}", "rb_push 48"] + [f"rb_frame 16 {s} 3" for s in range(3)]
    answers = run(driver, script)
    frames = frames_of(answers[2:])
    assert [f.sample0 for f in frames] == [MOD - 40, MOD - 24, MOD - 8]
    assert frames[-1].flags == FrameFlags.NONE
    np.testing.assert_array_equal(frames[-1].samples, expected_block(MOD - 8, 16, 2))
    assert frames[-1].samples[8, 0] == gen(0, 0)  # the sample after 2^32 - 1 is index 0
    tracker = SequenceTracker()
    assert [tracker.classify(f).kind for f in frames] == [FrameClass.OK] * 3
    answers = run(driver, [*script, "rb_push 16", "rb_frame 16 3 3"])
    assert frames_of(answers[-1:])[0].sample0 == 8


def test_ring_refuses_bad_reads_and_channel_counts(driver: Path) -> None:
    answers = run(
        driver,
        [
            *("rb_reset 0 0", "rb_reset 3 0", "rb_reset 1 0", "rb_push 64", "rb_frame 0 0 1"),
            f"rb_frame {RING_CAPACITY // 2 + 1} 0 1",
            f"rb_frame {RING_CAPACITY // 2} 0 1",
        ],
    )
    assert answers[:2] == ["ERR", "ERR"]
    assert answers[4:6] == ["NONE", "NONE"]
    assert decode_frame(bytes.fromhex(answers[6])).n_samples == RING_CAPACITY // 2


STRESS = ["stress 1000000 32 0", "stress 400000 32 10", "stress 400000 5 30"]


@pytest.mark.parametrize("command", STRESS)
def test_ring_concurrent_producer_and_consumer(driver: Path, command: str) -> None:
    # Real threads: the producer overruns the consumer again and again, so reads race with
    # overwrites. Every delivered value must still be the one pushed at its index.
    total, frame_len = int(command.split()[1]), int(command.split()[2])
    (answer,) = run(driver, [command])
    stats = dict(zip(answer.split()[1::2], map(int, answer.split()[2::2]), strict=True))
    assert stats["bad"] == 0
    assert stats["frames"] > 0
    assert stats["missing"] == stats["dropped"]
    assert stats["delivered"] + stats["dropped"] + stats["leftover"] == total
    assert stats["leftover"] < frame_len
