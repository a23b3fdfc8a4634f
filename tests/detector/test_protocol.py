"""Wire protocol v1: round trips, golden vectors, limits and every refusal reason."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from detector.protocol import (
    HEADER_LEN,
    MAX_CHANNELS,
    MAX_FRAME_BYTES,
    MAX_SAMPLES,
    Frame,
    FrameError,
    FrameErrorReason,
    FrameFlags,
    SampleFormat,
    decode_frame,
    encode_frame,
)

GOLDEN = json.loads((Path(__file__).parent / "golden_frames.json").read_text())["frames"]
PROTOCOL_MD = Path(__file__).parents[2] / "hardware" / "PROTOCOL.md"


def _samples(fmt: SampleFormat, n: int, channels: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if fmt is SampleFormat.FLOAT32:
        return rng.normal(0, 1e3, (n, channels)).astype(np.float32)
    info = np.iinfo(fmt.dtype)
    data = rng.integers(info.min, info.max, (n, channels), endpoint=True)
    data[0, 0], data[-1, -1] = info.min, info.max  # rails survive the trip
    return data.astype(fmt.dtype.newbyteorder("="))


@pytest.mark.parametrize("fmt", list(SampleFormat))
@pytest.mark.parametrize("channels", range(1, MAX_CHANNELS + 1))
def test_round_trip_every_format_and_channel_count(fmt: SampleFormat, channels: int) -> None:
    n = 1 + (channels * 37) % 500
    data = _samples(fmt, n, channels, seed=channels * 10 + fmt)
    payload = encode_frame(
        data,
        seq=2**32 - 1,
        boot_id=0x12345678,
        sample0=2**31 + channels,
        fs_hz=250.0,
        t0_us=1_764_200_000_123_456,
        flags=FrameFlags.CLIPPED | FrameFlags.BACKFILL,
    )
    assert len(payload) == HEADER_LEN + data.size * fmt.dtype.itemsize
    frame = decode_frame(payload)
    assert frame.sample_format is fmt
    assert frame.samples.dtype == fmt.dtype
    assert frame.samples.shape == (n, channels)
    np.testing.assert_array_equal(frame.samples, data)
    assert (frame.seq, frame.boot_id, frame.sample0) == (2**32 - 1, 0x12345678, 2**31 + channels)
    assert frame.fs_mhz == 250_000
    assert frame.fs_hz == 250.0
    assert frame.t0_us == 1_764_200_000_123_456
    assert frame.time_synced
    assert frame.flags == FrameFlags.TIME_SYNCED | FrameFlags.CLIPPED | FrameFlags.BACKFILL
    assert (frame.n_samples, frame.channels) == (n, channels)


def test_round_trip_size_limits() -> None:
    one = decode_frame(encode_frame(np.array([5], np.int16), seq=0, boot_id=0, sample0=0, fs_hz=1))
    assert one.samples.shape == (1, 1)
    assert not one.time_synced
    big = np.zeros((MAX_SAMPLES, 3), np.int32)
    assert decode_frame(encode_frame(big, seq=0, boot_id=0, sample0=0, fs_hz=10_000)).n_samples == (
        MAX_SAMPLES
    )


def test_decoded_samples_are_read_only() -> None:
    frame = decode_frame(
        encode_frame(np.arange(4, dtype=np.int16), seq=1, boot_id=1, sample0=0, fs_hz=250)
    )
    with pytest.raises(ValueError, match="read-only"):
        frame.samples[0, 0] = 1


def test_one_dimensional_input_is_one_channel() -> None:
    frame = decode_frame(
        encode_frame(np.arange(3, dtype=np.int16), seq=1, boot_id=1, sample0=0, fs_hz=250)
    )
    assert frame.samples.shape == (3, 1)


@pytest.mark.parametrize("vector", GOLDEN, ids=[v["name"] for v in GOLDEN])
def test_golden_vectors(vector: dict[str, object]) -> None:
    fmt = SampleFormat[str(vector["sample_format"]).upper()]
    samples = np.array(vector["samples"], dtype=fmt.dtype.newbyteorder("="))
    encoded = encode_frame(
        samples,
        seq=int(vector["seq"]),  # type: ignore[call-overload]
        boot_id=int(vector["boot_id"]),  # type: ignore[call-overload]
        sample0=int(vector["sample0"]),  # type: ignore[call-overload]
        fs_hz=int(vector["fs_mhz"]) / 1000,  # type: ignore[call-overload]
        t0_us=int(vector["t0_us"]),  # type: ignore[call-overload]
        flags=int(vector["flags"]),  # type: ignore[call-overload]
    )
    assert encoded.hex() == vector["hex"]
    frame = decode_frame(bytes.fromhex(str(vector["hex"])))
    np.testing.assert_array_equal(frame.samples, samples)
    assert int(frame.flags) == vector["flags"]


def _hex_blocks(markdown: str) -> list[bytes]:
    blocks, inside, current = [], False, []
    for line in markdown.splitlines():
        if line.startswith("```"):
            if inside and current:
                blocks.append(bytes.fromhex(" ".join(current)))
            inside, current = not inside, []
        elif inside and all(len(tok) == 2 for tok in line.split()):
            current.append(line)
    return blocks


def test_protocol_md_examples_match_the_codec() -> None:
    first, second = _hex_blocks(PROTOCOL_MD.read_text())[:2]
    assert first == encode_frame(
        np.array([0, 1, -1, 32767], np.int16),
        seq=7,
        boot_id=0xDEADBEEF,
        sample0=1000,
        fs_hz=250,
        t0_us=1_700_000_000_000_000,
    )
    assert second == encode_frame(
        np.array([[100, -200], [300, -400]], np.int16),
        seq=1,
        boot_id=0x01020304,
        sample0=0,
        fs_hz=250,
        flags=FrameFlags.CLIPPED,
    )


def _valid(channels: int = 2, n: int = 4, fmt: SampleFormat = SampleFormat.INT16) -> bytearray:
    data = np.ones((n, channels), dtype=fmt.dtype.newbyteorder("="))
    return bytearray(encode_frame(data, seq=1, boot_id=2, sample0=3, fs_hz=250))


def _with(payload: bytearray, fmt: str, offset: int, value: int) -> bytes:
    struct.pack_into(fmt, payload, offset, value)
    return bytes(payload)


REFUSALS: list[tuple[str, object, FrameErrorReason]] = [
    ("text", "SM\x01$", FrameErrorReason.NOT_BYTES),
    ("none", None, FrameErrorReason.NOT_BYTES),
    ("list", [83, 77], FrameErrorReason.NOT_BYTES),
    ("empty", b"", FrameErrorReason.TOO_SHORT),
    ("three bytes", b"SM\x01", FrameErrorReason.TOO_SHORT),
    ("json", b'{"samples": [1, 2, 3]}', FrameErrorReason.BAD_MAGIC),
    ("huge", b"SM" + bytes(MAX_FRAME_BYTES), FrameErrorReason.TOO_LARGE),
    ("version 2", _with(_valid(), "<B", 2, 2), FrameErrorReason.UNSUPPORTED_VERSION),
    ("version 0", _with(_valid(), "<B", 2, 0), FrameErrorReason.UNSUPPORTED_VERSION),
    ("header 35", _with(_valid(), "<B", 3, 35), FrameErrorReason.BAD_HEADER_LENGTH),
    ("header past end", _with(_valid(1, 1), "<B", 3, 255), FrameErrorReason.TOO_SHORT),
    ("header only part", _valid()[:20], FrameErrorReason.TOO_SHORT),
    ("format 0", _with(_valid(), "<B", 5, 0), FrameErrorReason.BAD_SAMPLE_FORMAT),
    ("format 4", _with(_valid(), "<B", 5, 4), FrameErrorReason.BAD_SAMPLE_FORMAT),
    ("0 channels", _with(_valid(), "<B", 6, 0), FrameErrorReason.BAD_CHANNEL_COUNT),
    ("9 channels", _with(_valid(), "<B", 6, 9), FrameErrorReason.BAD_CHANNEL_COUNT),
    ("0 samples", _with(_valid(), "<H", 8, 0), FrameErrorReason.BAD_SAMPLE_COUNT),
    ("4097 samples", _with(_valid(), "<H", 8, 4097), FrameErrorReason.BAD_SAMPLE_COUNT),
    ("fs 0", _with(_valid(), "<I", 24, 0), FrameErrorReason.BAD_SAMPLE_RATE),
    ("fs 999 mHz", _with(_valid(), "<I", 24, 999), FrameErrorReason.BAD_SAMPLE_RATE),
    ("fs 10 kHz + 1", _with(_valid(), "<I", 24, 10_000_001), FrameErrorReason.BAD_SAMPLE_RATE),
    ("one byte short", _valid()[:-1], FrameErrorReason.LENGTH_MISMATCH),
    ("one byte long", bytes(_valid()) + b"\x00", FrameErrorReason.LENGTH_MISMATCH),
    ("more samples claimed", _with(_valid(), "<H", 8, 5), FrameErrorReason.LENGTH_MISMATCH),
    ("format int32 claimed", _with(_valid(), "<B", 5, 2), FrameErrorReason.LENGTH_MISMATCH),
]


@pytest.mark.parametrize(
    ("payload", "reason"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_every_refusal_has_its_reason(payload: object, reason: FrameErrorReason) -> None:
    with pytest.raises(FrameError) as info:
        decode_frame(payload)  # type: ignore[arg-type]
    assert info.value.reason is reason
    assert str(info.value).startswith(reason.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_float_samples_are_refused(bad: float) -> None:
    payload = bytearray(
        encode_frame(np.zeros((3, 2), np.float32), seq=1, boot_id=1, sample0=0, fs_hz=250)
    )
    struct.pack_into("<f", payload, HEADER_LEN + 8, bad)
    with pytest.raises(FrameError) as info:
        decode_frame(bytes(payload))
    assert info.value.reason is FrameErrorReason.NON_FINITE_SAMPLES


def test_longer_header_is_skipped_and_reserved_bits_ignored() -> None:
    """A later minor revision may append header fields and set reserved flag bits."""
    base = encode_frame(
        np.array([[1, 2], [3, 4]], np.int16), seq=9, boot_id=1, sample0=0, fs_hz=250
    )
    grown = bytearray(base[:HEADER_LEN] + b"\xaa" * 8 + base[HEADER_LEN:])
    grown[3] = HEADER_LEN + 8
    grown[4] |= 0xF0 | FrameFlags.GAP_BEFORE
    frame = decode_frame(bytes(grown))
    np.testing.assert_array_equal(frame.samples, [[1, 2], [3, 4]])
    assert frame.flags == FrameFlags.GAP_BEFORE
    assert frame.seq == 9


def test_mutable_and_view_payloads_decode() -> None:
    payload = encode_frame(np.arange(6, dtype=np.int16), seq=1, boot_id=1, sample0=0, fs_hz=250)
    for variant in (bytearray(payload), memoryview(payload), memoryview(bytearray(payload))):
        assert isinstance(decode_frame(variant), Frame)
    strided = memoryview(payload)[::2]
    with pytest.raises(FrameError) as info:
        decode_frame(strided)
    assert info.value.reason in (FrameErrorReason.NOT_BYTES, FrameErrorReason.BAD_MAGIC)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"samples": np.zeros((0, 1), np.int16)}, "n_samples"),
        ({"samples": np.zeros((MAX_SAMPLES + 1, 1), np.int16)}, "n_samples"),
        ({"samples": np.zeros((2, 9), np.int16)}, "channels"),
        ({"samples": np.zeros((2, 2, 2), np.int16)}, "1-D or 2-D"),
        ({"samples": np.zeros(3, np.float64)}, "infer"),
        ({"samples": np.array([40000]), "sample_format": SampleFormat.INT16}, "do not fit"),
        ({"samples": np.array([1.5]), "sample_format": SampleFormat.INT16}, "do not fit"),
        ({"samples": np.array([np.nan], np.float32)}, "finite"),
        ({"fs_hz": 0.5}, "fs_hz"),
        ({"fs_hz": 20_000}, "fs_hz"),
        ({"t0_us": 2**63}, "int64"),
        ({"samples": np.zeros((4096, 8), np.float32)}, "bytes"),
    ],
)
def test_encoder_refuses_what_it_cannot_send(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {
        "samples": np.zeros(2, np.int16),
        "seq": 0,
        "boot_id": 0,
        "sample0": 0,
        "fs_hz": 250,
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        encode_frame(**args)  # type: ignore[arg-type]


def test_explicit_format_converts_wider_input() -> None:
    payload = encode_frame(
        np.array([1, -2, 3]),
        seq=0,
        boot_id=0,
        sample0=0,
        fs_hz=250,
        sample_format=SampleFormat.INT16,
    )
    assert decode_frame(payload).samples.dtype == np.dtype("<i2")
    as_float = encode_frame(
        np.array([0.25]), seq=0, boot_id=0, sample0=0, fs_hz=250, sample_format=SampleFormat.FLOAT32
    )
    assert decode_frame(as_float).samples[0, 0] == np.float32(0.25)
