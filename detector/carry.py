"""Compact storage of a bed's carried state: exact array packing, and bfloat16 codes.

A pickled numpy array costs about 130 bytes of framing (reconstructor, dtype, shape) on top of
its data, and a bed carries about twenty small arrays. :func:`pack_arrays` writes them as one
bytes object instead: per array a dtype code, the number of dimensions and the shape, then the
raw little-endian data. The round trip is exact. :func:`pack_carried` packs what several stages
carry (their arrays this way, their scalars beside them) into one compressed blob.
"""

from __future__ import annotations

import pickle
import struct
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "NAN_CODE",
    "Carried",
    "from_bfloat16",
    "pack_arrays",
    "pack_carried",
    "to_bfloat16",
    "unpack_arrays",
    "unpack_carried",
]

_CODES = {
    np.dtype(np.bool_): 0,
    np.dtype(np.int16): 1,
    np.dtype(np.int32): 2,
    np.dtype(np.int64): 3,
    np.dtype(np.float32): 4,
    np.dtype(np.float64): 5,
    np.dtype(np.uint16): 6,
}
_DTYPES = {code: dtype.newbyteorder("<") for dtype, code in _CODES.items()}

NAN_CODE = 0x7FC0  # bfloat16 quiet NaN


def to_bfloat16(values: npt.NDArray[np.float32]) -> npt.NDArray[np.uint16]:
    """Round float32 values to bfloat16 (the upper 16 bits; nearest, ties to even; NaN kept).

    Envelope statistics need about two significant digits; 16 bits halve what a bed carries.
    For non-negative values the codes sort like the values, so maxima can be taken on codes.
    Integer arithmetic only, so the rounding is the same on every machine and path.

    Examples
    --------
    >>> from_bfloat16(to_bfloat16(np.array([1.0, 1000.0, 123456.0, np.nan], np.float32))).tolist()
    [1.0, 1000.0, 123392.0, nan]
    """
    bits = np.ascontiguousarray(values, np.float32).view(np.uint32).astype(np.uint64)
    rounded = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
    return np.where(np.isnan(values), NAN_CODE, rounded).astype(np.uint16)


def from_bfloat16(codes: npt.NDArray[np.uint16]) -> npt.NDArray[np.float32]:
    """Return the float32 values that bfloat16 codes stand for (exactly)."""
    return (codes.astype(np.uint32) << 16).view(np.float32)


def pack_arrays(arrays: Sequence[npt.NDArray[np.generic]]) -> bytes:
    """Pack arrays (bool, int16/32/64, uint16, float32/64; up to 255 dimensions) into bytes.

    Examples
    --------
    >>> a, b = np.arange(6, dtype=np.int16).reshape(3, 2), np.zeros((0, 4), np.float32)
    >>> c, d = unpack_arrays(pack_arrays([a, b]))
    >>> bool((c == a).all()), c.dtype.name, d.shape
    (True, 'int16', (0, 4))
    """
    parts = [struct.pack("<H", len(arrays))]
    for array in arrays:
        code = _CODES[array.dtype.newbyteorder("=")]
        parts.append(struct.pack(f"<BB{array.ndim}I", code, array.ndim, *array.shape))
        parts.append(np.ascontiguousarray(array, _DTYPES[code]).tobytes())
    return b"".join(parts)


def unpack_arrays(data: bytes) -> list[npt.NDArray[np.generic]]:
    """Inverse of :func:`pack_arrays` (each array owns writable memory)."""
    (count,) = struct.unpack_from("<H", data)
    offset, out = 2, []
    for _ in range(count):
        code, ndim = struct.unpack_from("<BB", data, offset)
        shape = struct.unpack_from(f"<{ndim}I", data, offset + 2)
        offset += 2 + 4 * ndim
        dtype = _DTYPES[code]
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        array = np.frombuffer(data, dtype, size // dtype.itemsize, offset).reshape(shape)
        out.append(array.astype(dtype.newbyteorder("="), copy=True))
        offset += size
    return out


Carried = tuple[list[npt.NDArray[Any]], tuple[Any, ...]]
"""What a stateful stage hands over: its changing arrays, and its changing scalars."""


def pack_carried(parts: Sequence[Carried]) -> bytes:
    """Pack what several stages carry into one compressed blob (see :func:`unpack_carried`).

    The arrays go through :func:`pack_arrays`; the whole is compressed, since the buffers are
    mostly small integers and repeated float32 values.
    """
    arrays = pack_arrays([a for part_arrays, _ in parts for a in part_arrays])
    counts = tuple(len(part_arrays) for part_arrays, _ in parts)
    scalars = tuple(part_scalars for _, part_scalars in parts)
    return zlib.compress(pickle.dumps((counts, scalars, arrays), pickle.HIGHEST_PROTOCOL))


def unpack_carried(blob: bytes) -> list[Carried]:
    """Inverse of :func:`pack_carried` (only for blobs of our own: this unpickles).

    Examples
    --------
    >>> parts = [([np.arange(3, dtype=np.int16)], (1, None)), ([], ("x",))]
    >>> [(len(a), s) for a, s in unpack_carried(pack_carried(parts))]
    [(1, (1, None)), (0, ('x',))]
    """
    counts, scalars, packed = pickle.loads(zlib.decompress(blob))  # noqa: S301 - our own
    arrays = unpack_arrays(packed)
    out: list[Carried] = []
    start = 0
    for count, part_scalars in zip(counts, scalars, strict=True):
        out.append((arrays[start : start + count], part_scalars))
        start += count
    return out
