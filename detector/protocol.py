"""Wire protocol v1: the binary frame a bed sensor publishes on ``<prefix>/<bed>/raw``.

A frame is a 36-byte little-endian header followed by interleaved samples. The byte table, limits
and examples are in ``hardware/PROTOCOL.md``; this module implements both sides.

Decoding is defensive: :func:`decode_frame` accepts any object and either returns a :class:`Frame`
or raises :class:`FrameError` with a machine-readable :attr:`FrameError.reason`. No other exception
escapes, so a receiver can count and drop malformed payloads with one ``except`` clause.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "HEADER_LEN",
    "MAGIC",
    "MAX_CHANNELS",
    "MAX_FRAME_BYTES",
    "MAX_SAMPLES",
    "VERSION",
    "Frame",
    "FrameError",
    "FrameErrorReason",
    "FrameFlags",
    "SampleFormat",
    "decode_frame",
    "encode_frame",
    "encode_frames",
]

MAGIC: Final = b"SM"
VERSION: Final = 1
HEADER_LEN: Final = 36
MAX_CHANNELS: Final = 8
MAX_SAMPLES: Final = 4096
#: Hard receiver cap on a whole payload; devices keep frames at or below 4 KiB.
MAX_FRAME_BYTES: Final = 65536
#: Accepted nominal sample rates, in millihertz (1 Hz .. 10 kHz).
MIN_FS_MHZ: Final = 1_000
MAX_FS_MHZ: Final = 10_000_000

# magic, version, header_len, flags, format, channels, reserved, n_samples, reserved,
# seq, boot_id, sample0, fs_mhz, t0_us
_HEADER: Final = struct.Struct("<2sBBBBBBHHIIIIq")
assert _HEADER.size == HEADER_LEN


class FrameFlags(enum.IntFlag):
    """Per-frame flags (header byte 4). Bits 4-7 are reserved: sent as 0, ignored on receipt."""

    NONE = 0
    #: ``t0_us`` holds the SNTP time of ``sample0``.
    TIME_SYNCED = 0x01
    #: At least one sample of this frame sits on an ADC rail.
    CLIPPED = 0x02
    #: The device lost samples before this frame (ring buffer overflow); ``sample0`` says how many.
    GAP_BEFORE = 0x04
    #: Re-sent from the device's buffer after a reconnect; older than frames already sent.
    BACKFILL = 0x08


KNOWN_FLAGS: Final = 0x0F


class SampleFormat(enum.IntEnum):
    """Sample encoding (header byte 5)."""

    INT16 = 1
    INT32 = 2
    FLOAT32 = 3

    @property
    def dtype(self) -> np.dtype[np.int16 | np.int32 | np.float32]:
        """Little-endian numpy dtype of one sample."""
        return _DTYPES[self]


_DTYPES: Final[dict[SampleFormat, np.dtype[np.int16 | np.int32 | np.float32]]] = {
    SampleFormat.INT16: np.dtype("<i2"),
    SampleFormat.INT32: np.dtype("<i4"),
    SampleFormat.FLOAT32: np.dtype("<f4"),
}
_INT_RANGE: Final = {
    SampleFormat.INT16: (-(2**15), 2**15 - 1),
    SampleFormat.INT32: (-(2**31), 2**31 - 1),
}
_FORMAT_BY_KIND: Final = {
    np.dtype(np.int16): SampleFormat.INT16,
    np.dtype(np.int32): SampleFormat.INT32,
    np.dtype(np.float32): SampleFormat.FLOAT32,
}


class FrameErrorReason(enum.StrEnum):
    """Why a payload was refused. Values are stable strings, used as counter keys downstream."""

    NOT_BYTES = "not_bytes"
    TOO_LARGE = "too_large"
    TOO_SHORT = "too_short"
    BAD_MAGIC = "bad_magic"
    UNSUPPORTED_VERSION = "unsupported_version"
    BAD_HEADER_LENGTH = "bad_header_length"
    BAD_SAMPLE_FORMAT = "bad_sample_format"
    BAD_CHANNEL_COUNT = "bad_channel_count"
    BAD_SAMPLE_COUNT = "bad_sample_count"
    BAD_SAMPLE_RATE = "bad_sample_rate"
    LENGTH_MISMATCH = "length_mismatch"
    NON_FINITE_SAMPLES = "non_finite_samples"


class FrameError(ValueError):
    """A payload that is not a valid v1 frame.

    Parameters
    ----------
    reason : FrameErrorReason
        Machine-readable cause, suitable as a counter key.
    detail : str
        Human-readable explanation.
    """

    def __init__(self, reason: FrameErrorReason, detail: str) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame.

    Attributes
    ----------
    seq : int
        Frame counter since boot (wraps at 2**32).
    boot_id : int
        Random per device boot; a change means the device restarted.
    sample0 : int
        Index of the first sample since boot (wraps at 2**32).
    fs_mhz : int
        Nominal sample rate in millihertz.
    t0_us : int
        UNIX time of ``sample0`` in microseconds when ``TIME_SYNCED`` is set, else 0.
    flags : FrameFlags
        Known flags; reserved bits are dropped.
    sample_format : SampleFormat
        Encoding the samples arrived in.
    samples : numpy.ndarray
        Read-only array of shape ``(n_samples, channels)`` in the wire dtype.
    version : int
        Protocol version of the frame.
    """

    seq: int
    boot_id: int
    sample0: int
    fs_mhz: int
    t0_us: int
    flags: FrameFlags
    sample_format: SampleFormat
    samples: npt.NDArray[np.int16 | np.int32 | np.float32]
    version: int = VERSION

    @property
    def fs_hz(self) -> float:
        """Nominal sample rate in hertz."""
        return self.fs_mhz / 1000.0

    @property
    def n_samples(self) -> int:
        """Samples per channel."""
        return int(self.samples.shape[0])

    @property
    def channels(self) -> int:
        """Number of interleaved channels."""
        return int(self.samples.shape[1])

    @property
    def time_synced(self) -> bool:
        """Whether ``t0_us`` carries a real clock time."""
        return bool(self.flags & FrameFlags.TIME_SYNCED)


def decode_frame(payload: bytes) -> Frame:
    """Decode one v1 frame.

    Parameters
    ----------
    payload : bytes
        The raw MQTT payload (``bytes``, ``bytearray`` or ``memoryview``).

    Returns
    -------
    Frame
        The decoded frame; ``samples`` is a read-only view when the payload is immutable.

    Raises
    ------
    FrameError
        For every malformed payload, and for nothing else.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise FrameError(FrameErrorReason.NOT_BYTES, f"payload is {type(payload).__name__}")
    try:
        buf = memoryview(payload).cast("B")
    except TypeError as err:  # non-contiguous or exotic memoryview
        raise FrameError(FrameErrorReason.NOT_BYTES, str(err)) from None
    size = buf.nbytes
    if size > MAX_FRAME_BYTES:
        raise FrameError(FrameErrorReason.TOO_LARGE, f"{size} bytes > {MAX_FRAME_BYTES}")
    if size < 4:
        raise FrameError(FrameErrorReason.TOO_SHORT, f"{size} bytes")
    if bytes(buf[0:2]) != MAGIC:
        raise FrameError(FrameErrorReason.BAD_MAGIC, f"starts with {bytes(buf[0:2])!r}")
    if buf[2] != VERSION:
        raise FrameError(FrameErrorReason.UNSUPPORTED_VERSION, f"version {buf[2]}")
    header_len = buf[3]
    if header_len < HEADER_LEN:
        raise FrameError(FrameErrorReason.BAD_HEADER_LENGTH, f"header length {header_len}")
    if size < header_len:
        raise FrameError(FrameErrorReason.TOO_SHORT, f"{size} bytes < header length {header_len}")
    (_, version, _, flags, fmt, channels, _, n_samples, _, seq, boot_id, sample0, fs_mhz, t0_us) = (
        _HEADER.unpack_from(buf)
    )
    try:
        sample_format = SampleFormat(fmt)
    except ValueError:
        raise FrameError(FrameErrorReason.BAD_SAMPLE_FORMAT, f"sample format {fmt}") from None
    if not 1 <= channels <= MAX_CHANNELS:
        raise FrameError(FrameErrorReason.BAD_CHANNEL_COUNT, f"{channels} channels")
    if not 1 <= n_samples <= MAX_SAMPLES:
        raise FrameError(FrameErrorReason.BAD_SAMPLE_COUNT, f"{n_samples} samples")
    if not MIN_FS_MHZ <= fs_mhz <= MAX_FS_MHZ:
        raise FrameError(FrameErrorReason.BAD_SAMPLE_RATE, f"{fs_mhz} mHz")
    dtype = _DTYPES[sample_format]
    expected = header_len + n_samples * channels * dtype.itemsize
    if size != expected:
        raise FrameError(
            FrameErrorReason.LENGTH_MISMATCH, f"{size} bytes, header promises {expected}"
        )
    samples = np.frombuffer(buf, dtype=dtype, offset=header_len).reshape(n_samples, channels)
    if sample_format is SampleFormat.FLOAT32 and not np.isfinite(samples).all():
        raise FrameError(FrameErrorReason.NON_FINITE_SAMPLES, "NaN or infinity in samples")
    return Frame(
        seq=seq,
        boot_id=boot_id,
        sample0=sample0,
        fs_mhz=fs_mhz,
        t0_us=t0_us,
        flags=FrameFlags(flags & KNOWN_FLAGS),
        sample_format=sample_format,
        samples=samples,
        version=version,
    )


def encode_frame(
    samples: npt.ArrayLike,
    *,
    seq: int,
    boot_id: int,
    sample0: int,
    fs_hz: float,
    t0_us: int = 0,
    flags: FrameFlags | int = FrameFlags.NONE,
    sample_format: SampleFormat | None = None,
) -> bytes:
    """Encode samples as one v1 frame.

    Parameters
    ----------
    samples : array_like
        Shape ``(n_samples,)`` for one channel or ``(n_samples, channels)``.
    seq, boot_id, sample0 : int
        Frame counter, boot identifier and first-sample index; taken modulo 2**32.
    fs_hz : float
        Nominal sample rate in hertz (sent in millihertz, rounded).
    t0_us : int, optional
        UNIX time of ``sample0`` in microseconds; a non-zero value sets ``TIME_SYNCED``.
    flags : FrameFlags or int, optional
        Extra flags (``CLIPPED``, ``GAP_BEFORE``, ``BACKFILL``).
    sample_format : SampleFormat, optional
        Wire encoding; inferred from the dtype of ``samples`` when omitted (int16, int32 or
        float32; other dtypes must be given a format explicitly and must fit it).

    Returns
    -------
    bytes
        The payload to publish.

    Raises
    ------
    ValueError
        If the arguments cannot form a valid frame (the encoder never emits an invalid one).
    """
    arr = np.asarray(samples)
    if arr.ndim == 1:
        arr = arr[:, np.newaxis]
    if arr.ndim != 2:
        raise ValueError(f"samples must be 1-D or 2-D, got shape {arr.shape}")
    n_samples, channels = arr.shape
    if not 1 <= n_samples <= MAX_SAMPLES:
        raise ValueError(f"n_samples must be 1..{MAX_SAMPLES}, got {n_samples}")
    if not 1 <= channels <= MAX_CHANNELS:
        raise ValueError(f"channels must be 1..{MAX_CHANNELS}, got {channels}")
    if sample_format is None:
        try:
            sample_format = _FORMAT_BY_KIND[arr.dtype]
        except KeyError:
            raise ValueError(
                f"cannot infer a wire format from dtype {arr.dtype}; pass sample_format"
            ) from None
    dtype = _DTYPES[sample_format]
    if sample_format is SampleFormat.FLOAT32:
        if not np.isfinite(arr).all():
            raise ValueError("float32 samples must be finite")
    elif arr.dtype.kind not in "iu" or (
        arr.size
        and (arr.min() < _INT_RANGE[sample_format][0] or arr.max() > _INT_RANGE[sample_format][1])
    ):
        raise ValueError(f"samples do not fit {sample_format.name.lower()}")
    fs_mhz = round(fs_hz * 1000.0)
    if not MIN_FS_MHZ <= fs_mhz <= MAX_FS_MHZ:
        raise ValueError(f"fs_hz must be {MIN_FS_MHZ / 1000}..{MAX_FS_MHZ / 1000} Hz, got {fs_hz}")
    if not -(2**63) <= int(t0_us) < 2**63:
        raise ValueError(f"t0_us out of int64 range: {t0_us}")
    flag_bits = int(flags) & KNOWN_FLAGS
    if t0_us:
        flag_bits |= FrameFlags.TIME_SYNCED
    body = np.ascontiguousarray(arr, dtype=dtype).tobytes()
    if HEADER_LEN + len(body) > MAX_FRAME_BYTES:
        raise ValueError(f"frame would be {HEADER_LEN + len(body)} bytes > {MAX_FRAME_BYTES}")
    header = _HEADER.pack(
        MAGIC,
        VERSION,
        HEADER_LEN,
        flag_bits,
        sample_format,
        channels,
        0,
        n_samples,
        0,
        seq & 0xFFFFFFFF,
        boot_id & 0xFFFFFFFF,
        sample0 & 0xFFFFFFFF,
        fs_mhz,
        int(t0_us),
    )
    return header + body


def encode_frames(
    samples: npt.ArrayLike, fs_hz: float, frame_samples: int, *, boot_id: int = 1
) -> list[bytes]:
    """Encode a recording as the consecutive frames of one boot, as a sensor would send it.

    A trailing partial frame is left out.

    Examples
    --------
    >>> frames = encode_frames(np.zeros((1000, 2), np.int16), 250.0, 250, boot_id=7)
    >>> [decode_frame(f).sample0 for f in frames], decode_frame(frames[-1]).seq
    ([0, 250, 500, 750], 3)
    """
    data = np.asarray(samples)
    return [
        encode_frame(
            data[i * frame_samples : (i + 1) * frame_samples],
            seq=i,
            boot_id=boot_id,
            sample0=i * frame_samples,
            fs_hz=fs_hz,
        )
        for i in range(len(data) // frame_samples)
    ]
