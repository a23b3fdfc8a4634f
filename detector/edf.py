"""Read EDF/EDF+ recordings (from other tools) into the recording contract.

Uses the optional ``edfio`` package (outside Home Assistant only). The digital values of all
ordinary signals that share the first signal's sample rate become int16 columns; annotation
signals are skipped.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

from .recording import Recording, RecordingError

__all__ = ["load_edf"]


def load_edf(path: Path) -> Recording:
    """Load an EDF/EDF+ file.

    Raises
    ------
    RecordingError
        If ``edfio`` is missing, the file is unreadable, or it holds no usable signal.
    """
    try:
        import edfio  # noqa: PLC0415 - optional dependency
    except ImportError:
        raise RecordingError("reading EDF needs the optional package edfio") from None
    try:
        edf = edfio.read_edf(Path(path))
        signals = list(edf.signals)
    except Exception as err:  # edfio raises many kinds on malformed files
        raise RecordingError(f"{path}: not a readable EDF file ({err})") from None
    if not signals:
        raise RecordingError(f"{path}: no signals")
    fs = float(signals[0].sampling_frequency)
    chosen = [s for s in signals if float(s.sampling_frequency) == fs]
    length = min(len(s.digital) for s in chosen)
    columns = []
    for s in chosen:
        digital = np.asarray(s.digital[:length], np.int64)
        columns.append(np.clip(digital, -32768, 32767).astype(np.int16))
    try:
        start = dt.datetime.combine(edf.startdate, edf.starttime, tzinfo=dt.UTC).timestamp()
    except Exception:  # anonymised start date
        start = 0.0
    names = tuple(s.label.strip().lower() or f"ch{i}" for i, s in enumerate(chosen))
    return Recording(np.stack(columns, axis=1), fs, start, names)
