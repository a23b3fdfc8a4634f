"""The recording contract: raw sensor samples in an NPZ file, ground truth as JSON next to it.

NPZ keys (read without pickling):

``samples``
    int16, shape ``(n, channels)``: raw ADC counts.
``fs``
    float, sample rate in Hz.
``start``
    float, UNIX time in seconds of sample 0.
``channels``
    array of str, one name per column (``torso``, ``legs``).

Ground truth lives in ``<name>.truth.json`` beside ``<name>.npz`` and uses the event schema of the
detector CLI's JSON output (onsets and ends in seconds from the recording start)::

    {"events": [{"type", "onset", "duration", "channel", "amplitude"}],
     "plm_series": [{"onset", "end", "count"}],
     "in_bed": [{"onset", "end"}],
     "summary": {...},
     "partner_events": [...], "scenario": {...}}

``amplitude`` is the movement's peak amplitude relative to the heartbeat (ballistocardiogram)
amplitude, so it does not depend on sensor gain.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Recording", "RecordingError", "load_recording", "save_recording", "truth_path"]


class RecordingError(ValueError):
    """A file that does not follow the recording contract."""


@dataclass(frozen=True, slots=True)
class Recording:
    """Samples of one bed sensor plus their timing.

    Attributes
    ----------
    samples : numpy.ndarray
        int16 array of shape ``(n, channels)``.
    fs : float
        Sample rate in Hz.
    start : float
        UNIX time in seconds of sample 0.
    channels : tuple of str
        Channel names, one per column.
    truth : dict or None
        Ground truth (the JSON described in the module docstring), when known.
    """

    samples: npt.NDArray[np.int16]
    fs: float
    start: float
    channels: tuple[str, ...]
    truth: dict[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.samples.dtype != np.int16 or self.samples.ndim != 2:
            raise RecordingError(
                f"samples must be int16 of shape (n, channels), got {self.samples.dtype} "
                f"{self.samples.shape}"
            )
        if self.samples.shape[1] != len(self.channels):
            raise RecordingError(
                f"{self.samples.shape[1]} sample columns but {len(self.channels)} channel names"
            )
        if not (np.isfinite(self.fs) and self.fs > 0):
            raise RecordingError(f"fs must be a positive number, got {self.fs}")
        if not np.isfinite(self.start):
            raise RecordingError(f"start must be finite, got {self.start}")

    @property
    def duration_s(self) -> float:
        """Length of the recording in seconds."""
        return self.samples.shape[0] / self.fs


def truth_path(npz_path: Path) -> Path:
    """Path of the ground-truth JSON that belongs to ``npz_path``."""
    return npz_path.with_suffix(".truth.json")


def save_recording(recording: Recording, path: Path) -> Path:
    """Write ``recording`` to ``path`` (NPZ) and its truth, if any, beside it.

    Returns
    -------
    pathlib.Path
        The NPZ path written.
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_suffix(".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        samples=recording.samples,
        fs=np.float64(recording.fs),
        start=np.float64(recording.start),
        channels=np.array(recording.channels, dtype=np.str_),
    )
    if recording.truth is not None:
        truth_path(path).write_text(json.dumps(recording.truth, indent=1) + "\n", encoding="utf-8")
    return path


def load_recording(path: Path) -> Recording:
    """Read a recording (and its truth JSON when present).

    Raises
    ------
    RecordingError
        If the file is missing, unreadable or breaks the contract.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such file")
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise RecordingError(f"{path}: not an NPZ archive (a single array)")
        with loaded as data:
            missing = {"samples", "fs", "start", "channels"} - set(data.files)
            if missing:
                raise RecordingError(f"{path}: missing keys {sorted(missing)}")
            samples = np.asarray(data["samples"])
            fs = float(data["fs"])
            start = float(data["start"])
            channels = tuple(str(c) for c in np.atleast_1d(data["channels"]))
    except RecordingError:
        raise
    except (OSError, ValueError, TypeError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise RecordingError(f"{path}: not a readable recording ({err})") from None
    if samples.ndim == 1:
        samples = samples[:, np.newaxis]
    truth = None
    tpath = truth_path(path)
    if tpath.exists():
        try:
            truth = json.loads(tpath.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise RecordingError(f"{tpath}: unreadable ground truth ({err})") from None
    return Recording(samples=samples, fs=fs, start=start, channels=channels, truth=truth)
