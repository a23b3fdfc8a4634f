"""Per-bed receiving side of the raw topic: decode, classify, count, and pass on what is new.

Every receiver (the Home Assistant component, the detector service, the demo) handles raw payloads
the same way, so it lives here once: malformed payloads are counted by reason and dropped,
duplicates and late frames are counted and dropped, gaps and reboots are counted and passed on with
their verdict.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .protocol import Frame, FrameError, FrameErrorReason, decode_frame
from .sequence import FrameClass, SequenceTracker, SequenceVerdict

__all__ = ["Accepted", "BedIngest", "IngestStats"]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A frame that carries new samples, with how it relates to the previous one."""

    frame: Frame
    verdict: SequenceVerdict


@dataclass(slots=True)
class IngestStats:
    """Counters of one bed's raw stream.

    Attributes
    ----------
    payloads : int
        Raw payloads received, valid or not.
    frames_accepted : int
        Frames passed on (``ok``, ``gap``, ``reboot``).
    samples_accepted : int
        Samples per channel in accepted frames.
    errors : dict
        Malformed payloads by :class:`~detector.protocol.FrameErrorReason`.
    """

    payloads: int = 0
    frames_accepted: int = 0
    samples_accepted: int = 0
    errors: dict[FrameErrorReason, int] = field(
        default_factory=lambda: dict.fromkeys(FrameErrorReason, 0)
    )

    @property
    def error_count(self) -> int:
        """Malformed payloads of any reason."""
        return sum(self.errors.values())


class BedIngest:
    """Receive one bed's raw payloads in arrival order.

    Examples
    --------
    >>> ingest = BedIngest()
    >>> ingest.feed(b"not a frame") is None
    True
    >>> ingest.stats.errors[FrameErrorReason.BAD_MAGIC]
    1
    """

    __slots__ = ("stats", "tracker")

    def __init__(self) -> None:
        self.tracker = SequenceTracker()
        self.stats = IngestStats()

    def feed(self, payload: bytes) -> Accepted | None:
        """Handle one payload.

        Parameters
        ----------
        payload : bytes
            The raw MQTT payload.

        Returns
        -------
        Accepted or None
            The frame and its verdict when it carries new samples; None when it was malformed,
            a duplicate or late (each counted).
        """
        self.stats.payloads += 1
        try:
            frame = decode_frame(payload)
        except FrameError as err:
            self.stats.errors[err.reason] += 1
            return None
        verdict = self.tracker.classify(frame)
        if not verdict.accepted:
            return None
        self.stats.frames_accepted += 1
        self.stats.samples_accepted += frame.n_samples
        return Accepted(frame, verdict)

    @property
    def classes(self) -> dict[FrameClass, int]:
        """Frames by sequence class (valid frames only)."""
        return self.tracker.counts

    @property
    def missing_samples(self) -> int:
        """Samples per channel lost in gaps."""
        return self.tracker.missing_samples

    @property
    def missing_frames(self) -> int:
        """Frames that never arrived (or arrived too late to use)."""
        return self.tracker.missing_frames
