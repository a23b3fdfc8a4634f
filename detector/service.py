"""The detector for many beds on one asyncio event loop: raw MQTT messages in, outputs out.

Stepping a frame costs a few hundred microseconds, well under a millisecond, so it runs on the
event loop itself: an executor hop per frame (about 100 µs each way) would add cost and thread
hand-offs while freeing the loop for no time worth having. :class:`BedDetector` is one bed's
receiving side and stream; :class:`DetectorService` routes messages by topic, owns a bounded queue
between the network and the detector, and checkpoints beds so another worker can take them over.

Examples
--------
>>> service = DetectorService("sleep_myoclonus")
>>> service.handle("sleep_myoclonus/bedroom/raw", b"garbage") is None
True
>>> service.beds["bedroom"].ingest.stats.error_count
1
"""

from __future__ import annotations

import asyncio
import json
import pickle
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from .config import DetectorConfig
from .ingest import BedIngest
from .protocol import Frame
from .stream import Stream, StreamOutput
from .topics import TopicError, TopicKind, parse_topic

__all__ = ["BedDetector", "BedOutput", "DetectorService"]

DEFAULT_CHANNELS = ("torso", "legs")


@dataclass(frozen=True, slots=True)
class BedOutput:
    """What one message made known for one bed."""

    bed: str
    output: StreamOutput


class BedDetector:
    """One bed: sequence-checked ingest of raw payloads, and the stream they feed.

    The stream starts with the first valid frame (its rate and channel count); channel names come
    from the sensor's ``meta`` message when one was seen, else ``torso``, ``legs``. A sensor that
    changes its rate or channel count ends the old stream and starts a new one. With
    ``resume_in_bed`` the first stream starts in bed without reporting an entry (a receiver that
    restarted while someone was in bed).
    """

    __slots__ = ("channel_names", "config", "ingest", "name", "resume_in_bed", "stream")

    def __init__(
        self, name: str, config: DetectorConfig | None = None, *, resume_in_bed: bool = False
    ) -> None:
        self.name = name
        self.config = config
        self.ingest = BedIngest()
        self.stream: Stream | None = None
        self.channel_names: tuple[str, ...] | None = None
        # The first stream starts in bed (a receiver restarted while someone was in bed).
        self.resume_in_bed = resume_in_bed

    def raw(self, payload: bytes) -> StreamOutput:
        """Handle one raw payload (malformed, duplicate and late ones are counted and dropped)."""
        accepted = self.ingest.feed(payload)
        if accepted is None:
            return StreamOutput()
        frame = accepted.frame
        ended = StreamOutput()
        if self.stream is not None and not self.stream.fits(frame):
            ended = self.stream.finish()
            self.stream = None
        if self.stream is None:
            self.stream = Stream(frame.fs_hz, self._names(frame), bed=self.name, config=self.config)
            if self.resume_in_bed:
                self.stream.resume_in_bed()
                self.resume_in_bed = False
        out = self.stream.step(frame, accepted.verdict)
        out.items[:0] = ended.items
        return out

    def meta(self, payload: bytes) -> None:
        """Take channel names from the sensor's retained ``meta`` JSON (ignored if unusable)."""
        try:
            names = json.loads(payload).get("channels")
        except (ValueError, AttributeError):
            return
        if isinstance(names, list) and names and all(isinstance(n, str) for n in names):
            self.channel_names = tuple(names)

    def finish(self) -> StreamOutput:
        """End of data: close what is open (the bed can go on receiving afterwards)."""
        if self.stream is None:
            return StreamOutput()
        out = self.stream.finish()
        self.stream = None
        return out

    def _names(self, frame: Frame) -> tuple[str, ...]:
        names = self.channel_names
        if names is not None and len(names) == frame.channels:
            return names
        if frame.channels <= len(DEFAULT_CHANNELS):
            return DEFAULT_CHANNELS[: frame.channels]
        return tuple(f"channel_{i + 1}" for i in range(frame.channels))


class DetectorService:
    """Detector for every bed under one topic prefix, on one asyncio event loop.

    Parameters
    ----------
    prefix : str
        Topic prefix (messages under other prefixes are ignored).
    config : DetectorConfig, optional
        Parameters for every bed.
    queue_size : int, optional
        Messages buffered between :meth:`submit` and :meth:`run`; beyond it messages are dropped
        and counted in :attr:`dropped` (a slow consumer must not grow memory without bound).
    """

    def __init__(
        self, prefix: str, config: DetectorConfig | None = None, *, queue_size: int = 4096
    ) -> None:
        self.prefix = prefix
        self.config = config
        self.beds: dict[str, BedDetector] = {}
        self.dropped = 0
        self._queue: asyncio.Queue[tuple[str, bytes] | None] = asyncio.Queue(queue_size)
        self._stopping: asyncio.Task[None] | None = None

    def handle(self, topic: str, payload: bytes) -> BedOutput | None:
        """Handle one message now; return the bed's output if it made anything known."""
        try:
            parts = parse_topic(topic)
        except TopicError:
            return None
        if parts.prefix != self.prefix or parts.kind not in (TopicKind.RAW, TopicKind.META):
            return None
        bed = self.beds.get(parts.bed)
        if bed is None:
            bed = self.beds[parts.bed] = BedDetector(parts.bed, self.config)
        if parts.kind is TopicKind.META:
            bed.meta(payload)
            return None
        out = bed.raw(payload)
        return BedOutput(parts.bed, out) if out.items else None

    def submit(self, topic: str, payload: bytes) -> bool:
        """Queue a message for :meth:`run` without waiting; False (and counted) when full."""
        try:
            self._queue.put_nowait((topic, payload))
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    async def run(self, sink: Callable[[BedOutput], Awaitable[None] | None]) -> None:
        """Handle queued messages until :meth:`stop`; hand every output to ``sink``.

        ``sink`` may be a plain function or a coroutine function (awaited in order).
        """
        while (message := await self._queue.get()) is not None:
            result = self.handle(*message)
            if result is not None:
                pending = sink(result)
                if pending is not None:
                    await pending

    def stop(self) -> None:
        """Let :meth:`run` return after the messages queued so far."""
        try:
            self._queue.put_nowait(None)
        except asyncio.QueueFull:  # the marker goes in as soon as there is room
            self._stopping = asyncio.get_running_loop().create_task(self._queue.put(None))

    def finish(self) -> list[BedOutput]:
        """Close every bed's open movements, series and bed intervals (end of data)."""
        outputs = [BedOutput(name, bed.finish()) for name, bed in self.beds.items()]
        return [o for o in outputs if o.output.items]

    def checkpoint(self, bed: str) -> bytes:
        """Return a bed's whole state, to resume it here or on another worker."""
        return pickle.dumps(self.beds[bed], pickle.HIGHEST_PROTOCOL)

    def restore(self, bed: str, state: bytes) -> None:
        """Resume a bed from :meth:`checkpoint` (only from a trusted store: this unpickles)."""
        restored = pickle.loads(state)  # noqa: S301 - documented: the caller's own checkpoints
        if not isinstance(restored, BedDetector) or restored.name != bed:
            raise ValueError(f"not a checkpoint of bed {bed!r}")
        self.beds[bed] = restored
