"""Fuzzing ``decode_frame``: random and mutated payloads give a Frame or a FrameError only."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detector.protocol import (
    HEADER_LEN,
    MAX_FRAME_BYTES,
    Frame,
    FrameError,
    SampleFormat,
    decode_frame,
    encode_frame,
)

FUZZ_PAYLOADS = 120_000


def _seed_frames(rng: np.random.Generator) -> list[bytes]:
    frames = []
    for fmt in SampleFormat:
        for channels in (1, 2, 3, 8):
            n = int(rng.integers(1, 130))
            if fmt is SampleFormat.FLOAT32:
                data = rng.normal(0, 100, (n, channels)).astype(np.float32)
            else:
                data = rng.integers(-1000, 1000, (n, channels)).astype(fmt.dtype.newbyteorder("="))
            frames.append(
                encode_frame(
                    data,
                    seq=int(rng.integers(0, 2**32)),
                    boot_id=int(rng.integers(0, 2**32)),
                    sample0=int(rng.integers(0, 2**32)),
                    fs_hz=250,
                    t0_us=int(rng.integers(0, 2**62)),
                )
            )
    return frames


def _mutate(payload: bytes, rng: np.random.Generator) -> bytes:
    buf = bytearray(payload)
    kind = int(rng.integers(0, 8))
    if kind == 0:  # flip random bits
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(0, len(buf)))
            buf[i] ^= 1 << int(rng.integers(0, 8))
    elif kind == 1:  # overwrite a header byte with an extreme value
        buf[int(rng.integers(0, HEADER_LEN))] = int(rng.choice([0, 1, 2, 3, 4, 8, 9, 0x7F, 0xFF]))
    elif kind == 2:  # truncate
        del buf[int(rng.integers(0, len(buf))) :]
    elif kind == 3:  # extend
        buf += rng.bytes(int(rng.integers(1, 64)))
    elif kind == 4:  # rewrite a length-bearing field
        field = [(3, "<B"), (6, "<B"), (8, "<H"), (24, "<I")][int(rng.integers(0, 4))]
        limit = 256 if field[1] == "<B" else 2 ** (8 * struct.calcsize(field[1]))
        struct.pack_into(field[1], buf, field[0], int(rng.integers(0, limit)))
    elif kind == 5:  # splice two frames
        cut = int(rng.integers(0, len(buf)))
        buf = buf[:cut] + buf[int(rng.integers(0, len(buf))) :]
    elif kind == 6:  # float format with raw (possibly NaN) bytes
        buf[5] = SampleFormat.FLOAT32
    else:  # random tail after a plausible header
        buf = buf[:HEADER_LEN] + bytearray(rng.bytes(int(rng.integers(0, 200))))
    return bytes(buf)


def _decode_only_frame_or_frame_error(payload: bytes) -> bool:
    try:
        frame = decode_frame(payload)
    except FrameError:
        return False
    assert isinstance(frame, Frame)
    assert frame.samples.shape == (frame.n_samples, frame.channels)
    return True


def test_decoder_survives_random_and_mutated_payloads() -> None:
    rng = np.random.default_rng(20261127)
    seeds = _seed_frames(rng)
    accepted = refused = 0
    for i in range(FUZZ_PAYLOADS):
        if i % 4 == 0:
            size = int(rng.choice([0, 1, 3, 4, 35, 36, 37, 64, 300, 5000]))
            payload = rng.bytes(size)
            if i % 8 == 0 and size >= 2:
                payload = b"SM" + payload[2:]  # get past the magic check
        else:
            payload = _mutate(seeds[i % len(seeds)], rng)
        if _decode_only_frame_or_frame_error(payload):
            accepted += 1
        else:
            refused += 1
    assert accepted + refused == FUZZ_PAYLOADS
    # The mix must exercise both outcomes heavily, or the fuzzer tests nothing.
    assert accepted > FUZZ_PAYLOADS // 20
    assert refused > FUZZ_PAYLOADS // 2


def test_oversized_payload_is_refused_before_parsing() -> None:
    assert not _decode_only_frame_or_frame_error(b"SM" + bytes(MAX_FRAME_BYTES))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_hypothesis_arbitrary_bytes(payload: bytes) -> None:
    _decode_only_frame_or_frame_error(payload)


@settings(max_examples=1500, deadline=None)
@given(
    header=st.tuples(
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 255),
        st.integers(0, 65535),
        st.integers(0, 2**32 - 1),
    ),
    body=st.binary(max_size=400),
)
def test_hypothesis_structured_headers(header: tuple[int, ...], body: bytes) -> None:
    version, header_len, flags, fmt, channels, n_samples, fs_mhz = header
    raw = struct.pack(
        "<2sBBBBBBHHIIIIq",
        b"SM",
        version,
        header_len,
        flags,
        fmt,
        channels,
        0,
        n_samples,
        0,
        1,
        2,
        3,
        fs_mhz,
        0,
    )
    _decode_only_frame_or_frame_error(raw + body)
