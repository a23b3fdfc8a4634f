"""Per-bed frame sequence tracking: new, duplicate, late, after a gap, or after a reboot.

The tracker reads only the header counters (``boot_id``, ``seq``, ``sample0``, ``n_samples``), so it
can run before the detector and decide what the detector sees. Counters wrap at 2**32; comparisons
use serial-number arithmetic (RFC 1982), so a wrap is not mistaken for a reboot.

Classification rules, in order:

``reboot``
    First frame after a ``boot_id`` change, or a newer ``seq`` whose samples go backwards (the
    device restarted its counters without a new boot id). Per-bed state must be reset.
``duplicate``
    A ``seq`` already seen (the last 64 are remembered).
``late``
    An older ``seq`` not seen before: it arrived after a newer frame, its samples were already
    accounted as a gap, and it must not be fed to the detector.
``gap``
    A newer frame whose ``sample0`` is past the expected next sample; ``missing_samples`` is exact.
``ok``
    The next frame, contiguous with the previous one (also the very first frame seen).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from .protocol import Frame

__all__ = ["FrameClass", "SequenceTracker", "SequenceVerdict"]

_MOD: Final = 1 << 32
_HALF: Final = 1 << 31
_WINDOW: Final = 64


class FrameClass(enum.StrEnum):
    """How a frame relates to the frames before it."""

    OK = "ok"
    DUPLICATE = "duplicate"
    LATE = "late"
    GAP = "gap"
    REBOOT = "reboot"


@dataclass(frozen=True, slots=True)
class SequenceVerdict:
    """Result of :meth:`SequenceTracker.classify`.

    Attributes
    ----------
    kind : FrameClass
        The classification.
    missing_samples : int
        Samples lost between the previous frame and this one (``gap`` only, else 0).
    """

    kind: FrameClass
    missing_samples: int = 0

    @property
    def accepted(self) -> bool:
        """Whether the frame carries new samples that should reach the detector."""
        return self.kind in (FrameClass.OK, FrameClass.GAP, FrameClass.REBOOT)


def _serial_diff(a: int, b: int) -> int:
    """Signed distance ``a - b`` of two wrapping 32-bit counters."""
    d = (a - b) % _MOD
    return d - _MOD if d >= _HALF else d


class SequenceTracker:
    """Classify the frames of one bed in arrival order.

    The state is a handful of integers, small and picklable. Counters for every class are kept in
    :attr:`counts`; :attr:`missing_samples` totals the samples lost in gaps and
    :attr:`missing_frames` the frames whose sequence numbers were skipped.
    """

    __slots__ = (
        "_boot_id",
        "_last_seq",
        "_next_sample",
        "_seen",
        "counts",
        "missing_frames",
        "missing_samples",
    )

    def __init__(self) -> None:
        self._boot_id: int | None = None
        self._last_seq = 0
        self._next_sample = 0
        self._seen = 0  # bit i set: seq (last_seq - i) was received
        self.counts: dict[FrameClass, int] = dict.fromkeys(FrameClass, 0)
        self.missing_samples = 0
        self.missing_frames = 0

    def classify(self, frame: Frame) -> SequenceVerdict:
        """Classify ``frame`` and update the state.

        Parameters
        ----------
        frame : Frame
            The next frame of this bed, in arrival order.

        Returns
        -------
        SequenceVerdict
            The class, and the exact number of missing samples for a gap.
        """
        verdict = self._classify(frame.boot_id, frame.seq, frame.sample0, frame.n_samples)
        self.counts[verdict.kind] += 1
        self.missing_samples += verdict.missing_samples
        return verdict

    def _restart(self, boot_id: int, seq: int, sample0: int, n_samples: int) -> None:
        self._boot_id = boot_id
        self._last_seq = seq
        self._next_sample = (sample0 + n_samples) % _MOD
        self._seen = 1

    def _classify(self, boot_id: int, seq: int, sample0: int, n_samples: int) -> SequenceVerdict:
        if self._boot_id is None:
            self._restart(boot_id, seq, sample0, n_samples)
            return SequenceVerdict(FrameClass.OK)
        if boot_id != self._boot_id:
            self._restart(boot_id, seq, sample0, n_samples)
            return SequenceVerdict(FrameClass.REBOOT)
        ahead = _serial_diff(seq, self._last_seq)
        if ahead <= 0:
            back = -ahead
            if back < _WINDOW and self._seen >> back & 1:
                return SequenceVerdict(FrameClass.DUPLICATE)
            if back < _WINDOW:
                self._seen |= 1 << back
            return SequenceVerdict(FrameClass.LATE)
        missing = _serial_diff(sample0, self._next_sample)
        if missing < 0:
            self._restart(boot_id, seq, sample0, n_samples)
            return SequenceVerdict(FrameClass.REBOOT)
        self._seen = ((self._seen << ahead) | 1) & ((1 << _WINDOW) - 1) if ahead < _WINDOW else 1
        self.missing_frames += ahead - 1  # sequence numbers skipped (a late one is still lost)
        self._last_seq = seq
        self._next_sample = (sample0 + n_samples) % _MOD
        if missing:
            return SequenceVerdict(FrameClass.GAP, missing)
        return SequenceVerdict(FrameClass.OK)
