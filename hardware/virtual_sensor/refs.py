"""Real overnight physiology (bcg-refs): beat intervals and respiration per subject.

The data set (see ``<repo>/../shared/data/bcg-refs/README.md``) holds, per subject, one night of
ECG beat intervals (``rr_ms``) and another night of a 10 Hz respiration reference (``resp``). This
module finds the directory, pairs the two nights of each subject and cuts seeded excerpts from
them; :mod:`.physiology` turns those into ballistocardiogram and breathing signals.

Data: Li, Y.-X. et al., *A ballistocardiogram dataset with reference sensor signals in long-term
natural sleep environments*, figshare, doi:10.6084/m9.figshare.26013157, and Scientific Data 11,
1091 (2024), doi:10.1038/s41597-024-03950-5; CC BY 4.0.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import signal

__all__ = [
    "ENV_VAR",
    "RefsError",
    "Subject",
    "default_refs_dir",
    "find_subjects",
    "resp_excerpt",
    "rr_excerpt",
]

#: Environment variable that overrides the data directory.
ENV_VAR = "SLEEP_MYOCLONUS_BCG_REFS"

FloatArray = npt.NDArray[np.float64]

_RR_MIN_MS = 500.0
_RR_MAX_MS = 1714.0


class RefsError(RuntimeError):
    """The bcg-refs data directory is missing or unusable."""


@dataclass(frozen=True, slots=True)
class Subject:
    """One person of the data set: a night of beat intervals and a night of respiration.

    Attributes
    ----------
    subject : str
        Subject number as in the source (e.g. ``"07"``).
    rr_path : pathlib.Path
        NPZ with ``rr_ms``.
    resp_path : pathlib.Path
        NPZ with ``resp`` and ``resp_fs``.
    """

    subject: str
    rr_path: Path
    resp_path: Path


def default_refs_dir() -> Path:
    """Return the bcg-refs data directory.

    ``$SLEEP_MYOCLONUS_BCG_REFS`` when set, else ``<repo>/../shared/data/bcg-refs``.

    Returns
    -------
    pathlib.Path
        The directory (not checked for existence).
    """
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2]
    return repo.parent / "shared" / "data" / "bcg-refs"


def find_subjects(refs_dir: Path | str | None = None) -> tuple[Subject, ...]:
    """List the subjects that have both an RR night and a respiration night.

    Parameters
    ----------
    refs_dir : path-like, optional
        Data directory; :func:`default_refs_dir` when omitted.

    Returns
    -------
    tuple of Subject
        Sorted by subject number; at least two (the simulator needs a partner).

    Raises
    ------
    RefsError
        If the directory is missing or holds fewer than two complete subjects.
    """
    directory = Path(refs_dir) if refs_dir is not None else default_refs_dir()
    return _find_subjects(directory.resolve())


@functools.cache
def _find_subjects(directory: Path) -> tuple[Subject, ...]:
    hint = (
        f"set {ENV_VAR} or pass refs_dir; the files come with the shared data "
        "(see shared/data/bcg-refs/README.md)"
    )
    if not directory.is_dir():
        raise RefsError(f"bcg-refs data directory not found: {directory} ({hint})")
    rr: dict[str, Path] = {}
    resp: dict[str, Path] = {}
    for path in sorted(directory.glob("*_2023*.npz")):
        try:
            with np.load(path, allow_pickle=False) as data:
                keys = set(data.files)
                subject = str(data["subject"]) if "subject" in keys else path.name.split("_")[0]
        except (OSError, ValueError, KeyError, EOFError) as err:
            raise RefsError(f"unreadable bcg-refs file {path}: {err}") from None
        if "rr_ms" in keys:
            rr.setdefault(subject, path)
        elif "resp" in keys:
            resp.setdefault(subject, path)
    subjects = tuple(Subject(s, rr[s], resp[s]) for s in sorted(rr.keys() & resp.keys()))
    if len(subjects) < 2:
        raise RefsError(
            f"bcg-refs data directory {directory} holds {len(subjects)} subject(s) with both an "
            f"RR and a respiration night; need at least 2 ({hint})"
        )
    return subjects


@functools.cache
def _load_rr(path: Path) -> FloatArray:
    with np.load(path, allow_pickle=False) as data:
        rr = np.asarray(data["rr_ms"], dtype=np.float64)
    return np.asarray(np.clip(rr, _RR_MIN_MS, _RR_MAX_MS) / 1000.0, dtype=np.float64)


@functools.cache
def _load_resp(path: Path) -> tuple[FloatArray, float]:
    with np.load(path, allow_pickle=False) as data:
        resp = np.asarray(data["resp"], dtype=np.float64)
        fs = float(data["resp_fs"]) if "resp_fs" in data.files else 10.0
    return resp, fs


def rr_excerpt(
    subject: Subject, duration_s: float, rng: np.random.Generator
) -> tuple[FloatArray, int]:
    """Cut consecutive beat intervals covering ``duration_s`` from a random offset.

    When the offset leaves too few beats the series continues from the start of the night (the
    README notes that concatenated intervals form a plausible series).

    Parameters
    ----------
    subject : Subject
        Whose night to use.
    duration_s : float
        Time the intervals must cover, in seconds.
    rng : numpy.random.Generator
        Picks the offset.

    Returns
    -------
    rr_s : numpy.ndarray
        Beat intervals in seconds.
    offset : int
        Index of the first interval in the night.
    """
    rr = _load_rr(subject.rr_path)
    offset = int(rng.integers(0, rr.size))
    need = int(np.ceil(duration_s / _RR_MIN_MS * 1000.0)) + 2
    reps = need // rr.size + 2
    series = np.tile(rr, reps)[offset : offset + need]
    covered = np.cumsum(series)
    stop = int(np.searchsorted(covered, duration_s)) + 2
    return series[:stop].copy(), offset


def resp_excerpt(
    subject: Subject, duration_s: float, rng: np.random.Generator
) -> tuple[FloatArray, float, int]:
    """Cut a cleaned, normalised respiration trace covering ``duration_s`` from a random offset.

    The raw reference is band-passed (0.05-0.9 Hz), its loud stretches (the belt's movement
    artefacts) are compressed to the night's typical level with a 10 s envelope and a soft limit,
    and it is scaled so that a typical breath has a half peak-to-peak amplitude of about 1.

    Parameters
    ----------
    subject : Subject
        Whose night to use.
    duration_s : float
        Time to cover, in seconds.
    rng : numpy.random.Generator
        Picks the offset.

    Returns
    -------
    resp : numpy.ndarray
        The trace at the reference rate.
    fs : float
        Its sample rate in Hz (10).
    offset : int
        Index of its first sample in the night.
    """
    clean = _clean_resp(subject.resp_path)
    fs = _load_resp(subject.resp_path)[1]
    margin = int(60 * fs)
    need = int(np.ceil(duration_s * fs)) + 2
    if need + 2 * margin <= clean.size:
        offset = int(rng.integers(margin, clean.size - need - margin + 1))
        return clean[offset : offset + need].copy(), fs, offset
    # Longer than the night: loop it with 5 s cross-fades.
    fade = int(5 * fs)
    ramp = np.linspace(0.0, 1.0, fade)
    offset = int(rng.integers(0, clean.size - 2 * fade))
    out = clean[offset:]
    while out.size < need:
        joined = out[-fade:] * (1.0 - ramp) + clean[:fade] * ramp
        out = np.concatenate((out[:-fade], joined, clean[fade:]))
    return out[:need].copy(), fs, offset


@functools.cache
def _clean_resp(path: Path) -> FloatArray:
    raw, fs = _load_resp(path)
    sos = signal.butter(2, (0.05, 0.9), btype="bandpass", fs=fs, output="sos")
    x = signal.sosfiltfilt(sos, raw - np.median(raw))
    # Compress loud stretches (movement artefacts of the reference belt) to the typical level.
    win = int(10 * fs)
    env = np.sqrt(np.convolve(x * x, np.ones(win) / win, mode="same")) + 1e-12
    typical = float(np.median(env))
    x = x / np.maximum(env / typical, 1.0)
    x = x / (np.sqrt(2.0) * typical)  # a sinusoid with this RMS has amplitude 1
    # Soft limit what is left of spikes at about 2.5 breath amplitudes.
    return np.asarray(2.5 * np.tanh(x / 2.5), dtype=np.float64)
