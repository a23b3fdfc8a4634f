"""Live face of the detector: frames in, classified events out, per bed.

:class:`Stream` wraps the :class:`~detector.engine.Engine` with what a live feed needs: frame
sequence handling (duplicates and late frames dropped, short gaps bridged, long gaps and reboots
reset the filters), event classification, bed-presence gating, PLM series tracking and stable event
ids. The batch :func:`detector.analyze.analyze` runs the very same object over a whole recording.
"""

from __future__ import annotations

import pickle
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .classify import classify, in_sleep_onset_window, is_foreign
from .config import DetectorConfig
from .engine import Engine
from .events import BedInterval, Event, EventType
from .plm import PlmSeries
from .plm_tracker import PlmTracker
from .presence import PresenceChange
from .protocol import Frame, FrameFlags
from .segmenter import Movement
from .sequence import FrameClass, SequenceTracker, SequenceVerdict

__all__ = ["BedChange", "PlmEnded", "PlmStarted", "Stream", "StreamOutput", "as_int16"]

_MAX_PENDING = 16  # movements held while the bed state is still "out"


def as_int16(samples: npt.ArrayLike) -> npt.NDArray[np.int16]:
    """Return samples as int16, saturating at the rails (the wire also allows int32 and float32).

    Examples
    --------
    >>> as_int16(np.array([40000, -40000, 12], np.int32)).tolist()
    [32767, -32768, 12]
    """
    data = np.asarray(samples)
    if data.dtype == np.int16:
        return data
    if not np.issubdtype(data.dtype, np.number):
        raise ValueError(f"samples must be numbers, got {data.dtype}")
    return np.clip(np.round(data) if data.dtype.kind == "f" else data, -32768, 32767).astype(
        np.int16
    )


@dataclass(frozen=True, slots=True)
class BedChange:
    """Got into bed (``in_bed``) or out of it, at ``sample`` (stream samples)."""

    in_bed: bool
    sample: int
    fs_hz: float

    @property
    def time_s(self) -> float:
        """Seconds from the start of the stream."""
        return self.sample / self.fs_hz


@dataclass(frozen=True, slots=True)
class PlmStarted:
    """A PLM series reached its fourth limb movement."""

    series: PlmSeries


@dataclass(frozen=True, slots=True)
class PlmEnded:
    """A PLM series is over (it ended with its last limb movement)."""

    series: PlmSeries


OutputItem = Event | BedChange | BedInterval | PlmStarted | PlmEnded


@dataclass(slots=True)
class StreamOutput:
    """Everything one step made known, in order.

    The stream keeps no record of the night: finished PLM series (:class:`PlmEnded`) and finished
    in-bed intervals (:class:`~detector.events.BedInterval`) are handed out here, for the caller
    to keep, so the per-bed state stays the same size all night.
    """

    items: list[OutputItem] = field(default_factory=list)
    #: Whether the data this step fed clipped: the sensor flagged a frame ``CLIPPED``, or samples
    #: sat on an ADC rail (the front end's rail test, narrow ADCs included).
    clipped: bool = False

    @property
    def events(self) -> list[Event]:
        """Movement events only."""
        return [i for i in self.items if isinstance(i, Event)]

    @property
    def series(self) -> list[PlmSeries]:
        """PLM series that ended."""
        return [i.series for i in self.items if isinstance(i, PlmEnded)]

    @property
    def bed_intervals(self) -> list[BedInterval]:
        """In-bed intervals that ended."""
        return [i for i in self.items if isinstance(i, BedInterval)]


class Stream:
    """Streaming detector for one bed.

    Parameters
    ----------
    fs_hz : float
        Sample rate.
    channels : sequence of str
        Channel names (``torso``, ``legs``).
    bed : str
        Bed id, used in event ids.
    config : DetectorConfig, optional
        Parameters; defaults when omitted.
    """

    def __init__(
        self,
        fs_hz: float,
        channels: tuple[str, ...] | list[str],
        bed: str = "bed",
        config: DetectorConfig | None = None,
    ) -> None:
        self.config = config or DetectorConfig()
        self.fs_hz = float(fs_hz)
        self.channels = tuple(channels)
        self.bed = bed
        self.engine = Engine(self.fs_hz, len(self.channels), self.config)
        self.sequence = SequenceTracker()
        self.boot_id = 0
        self.samples_seen = 0  # stream samples fed to the current engine, gaps bridged
        self.segment_start = 0  # stream sample where the current engine started
        self.plm = PlmTracker(self.config.plm)
        self._in_bed_since: int | None = None
        self._pending: list[Movement] = []
        self._last_wake_end: int | None = None  # stream sample
        self._device_offset = 0  # device sample index minus stream sample index, this boot
        self._clock_end_us: int | None = None  # clock time at the end of the last frame, if synced

    # -- pickling ----------------------------------------------------------------------------

    def __getstate__(self) -> tuple[Engine, bytes]:
        """Pickle compactly: the engine packs itself; the bookkeeping around it is compressed."""
        rest = {name: value for name, value in vars(self).items() if name != "engine"}
        return self.engine, zlib.compress(pickle.dumps(rest, pickle.HIGHEST_PROTOCOL))

    def __setstate__(self, state: tuple[Engine, bytes]) -> None:
        engine, packed = state
        rest: dict[str, Any] = pickle.loads(zlib.decompress(packed))  # noqa: S301 - our own
        vars(self).update(rest)
        self.engine = engine

    # -- feeding -----------------------------------------------------------------------------

    def step(self, frame: Frame, verdict: SequenceVerdict | None = None) -> StreamOutput:
        """Feed one decoded frame (in arrival order).

        Parameters
        ----------
        frame : Frame
            The frame.
        verdict : SequenceVerdict, optional
            Its sequence class when the caller already tracks the sequence (e.g. with
            :class:`~detector.ingest.BedIngest`); otherwise the stream classifies it itself.
        """
        if not self.fits(frame):
            # Checked before the sequence is touched, so a refused frame changes nothing.
            raise ValueError(
                f"frame has {frame.channels} channels at {frame.fs_hz} Hz; stream expects "
                f"{len(self.channels)} at {self.fs_hz} Hz"
            )
        if verdict is None:
            verdict = self.sequence.classify(frame)
        out = StreamOutput(clipped=bool(frame.flags & FrameFlags.CLIPPED))
        if not verdict.accepted:
            return StreamOutput()
        if verdict.kind is FrameClass.REBOOT:
            self._restart(out, skip=self._downtime(frame))
        if verdict.kind is FrameClass.REBOOT or (
            self.samples_seen == 0 and self.segment_start == 0
        ):
            # Event ids count samples the way the device does, so another receiver (or this one
            # after a restart) gives the same event the same id.
            self.boot_id = frame.boot_id
            self._device_offset = frame.sample0 - (self.segment_start + self.samples_seen)
        if verdict.kind is FrameClass.GAP:
            missing = verdict.missing_samples
            if missing > self.config.gap_reset_s * self.fs_hz:
                self._restart(out, skip=missing)
            else:
                self.feed(self._bridge(frame.samples[0], missing), out)
        self.feed(frame.samples, out)
        # where the clock says this frame ends (time-synced sensors), to measure a reboot's gap
        self._clock_end_us = (
            frame.t0_us + round(frame.n_samples * 1e6 / self.fs_hz) if frame.time_synced else None
        )
        return out

    def resume_in_bed(self) -> None:
        """Continue a bed state known from before this stream started (e.g. an app restart).

        The stream starts in bed without reporting a bed entry: whoever restarted the receiver
        did not get into bed again. If the bed is in fact empty, the exit follows as usual.
        """
        self._in_bed_since = self.segment_start + self.samples_seen
        self.engine.resume_in_bed()

    def fits(self, frame: Frame) -> bool:
        """Whether ``frame`` has this stream's sample rate and channel count."""
        return frame.channels == len(self.channels) and frame.fs_hz == self.fs_hz

    def feed(self, samples: npt.ArrayLike, out: StreamOutput | None = None) -> StreamOutput:
        """Feed raw samples ``(n, channels)`` that follow the previous ones without a gap."""
        out = out if out is not None else StreamOutput()
        samples = as_int16(samples)
        frontend = self.engine.frontend
        rails_before = frontend.rail_samples
        result = self.engine.process(samples)
        out.clipped |= frontend.rail_samples != rails_before
        self.samples_seen += len(samples)
        self._consume(result.items, out)
        return out

    def finish(self) -> StreamOutput:
        """End of data: close open movements, series and bed intervals."""
        out = StreamOutput()
        self._consume(self.engine.finish().items, out)
        end = self.segment_start + self.samples_seen
        if self._in_bed_since is not None:
            out.items.append(BedInterval(self._in_bed_since, end, self.fs_hz))
            self._in_bed_since = None
        closed = self.plm.close()
        if closed is not None:
            out.items.append(PlmEnded(closed))
        return out

    # -- internals ---------------------------------------------------------------------------

    def _restart(self, out: StreamOutput, skip: int = 0) -> None:
        """Close what is open and start a fresh engine (reboot or long gap).

        A person in bed stays in bed across a restart unless the data gap is longer than the
        presence exit time: a sensor reboot or a Wi-Fi hiccup is not getting up.
        """
        self._consume(self.engine.finish().items, out)
        end = self.segment_start + self.samples_seen
        carry = self._in_bed_since is not None and skip <= self.config.presence_exit_s * self.fs_hz
        if self._in_bed_since is not None and not carry:
            out.items.append(BedInterval(self._in_bed_since, end, self.fs_hz))
            self._in_bed_since = None
            out.items.append(BedChange(False, end, self.fs_hz))
        self.segment_start = end + skip
        self.samples_seen = 0
        self.engine = Engine(self.fs_hz, len(self.channels), self.config)
        if carry:
            self.engine.resume_in_bed()
        self._pending = []

    def _downtime(self, frame: Frame) -> int:
        """Count the samples a reboot left out (known when both sides carry clock time; else 0)."""
        if self._clock_end_us is None or not frame.time_synced:
            return 0
        return max(0, round((frame.t0_us - self._clock_end_us) * self.fs_hz / 1e6))

    def _bridge(self, next_sample: npt.NDArray[np.generic], missing: int) -> npt.NDArray[np.int16]:
        """Return samples for a short gap: a straight line from the last sample to the next."""
        last = self.engine.frontend.last_sample
        start = last if last is not None else next_sample
        weights = (np.arange(1, missing + 1) / (missing + 1))[:, np.newaxis]
        a = np.asarray(start, np.float64)
        b = np.asarray(next_sample, np.float64)
        return np.round(a + (b - a) * weights).astype(np.int16)

    def _tick_to_sample(self, tick: int) -> int:
        design = self.engine.design
        return self.segment_start + tick * design.tick_samples + design.delay_samples

    def _consume(self, items: list[Movement | PresenceChange], out: StreamOutput) -> None:
        for item in items:
            if isinstance(item, PresenceChange):
                self._bed_change(item, out)
            elif self._in_bed_since is not None:
                self._emit(item, out)
            else:
                self._pending = [*self._pending[-(_MAX_PENDING - 1) :], item]

    def _bed_change(self, change: PresenceChange, out: StreamOutput) -> None:
        sample = max(self.segment_start, self._tick_to_sample(change.tick))
        if change.tick == 0:
            sample = self.segment_start
        if change.in_bed:
            self._in_bed_since = sample
            out.items.append(BedChange(True, sample, self.fs_hz))
            for movement in self._pending:
                if movement.last_tick >= change.tick:
                    self._emit(movement, out)
            self._pending = []
        elif self._in_bed_since is not None:
            out.items.append(BedInterval(self._in_bed_since, sample, self.fs_hz))
            self._in_bed_since = None
            out.items.append(BedChange(False, sample, self.fs_hz))

    def _emit(self, movement: Movement, out: StreamOutput) -> None:
        design = self.engine.design
        onset = self._tick_to_sample(movement.first_tick)
        duration = (movement.last_tick - movement.first_tick + 1) * design.tick_samples
        if (
            movement.peaks[0] < self.config.min_fast_ratio
            and movement.peaks[1] < self.config.high_on_ratio
            and not movement.clipped_ticks
            and not movement.flagged_ticks
        ):
            return  # slow-band activity only: a sigh or a deep breath, not a movement
        since_bed = since_gross = None
        if self._in_bed_since is not None:
            since_bed = (onset - self._in_bed_since) / self.fs_hz
        if self._last_wake_end is not None:
            since_gross = (onset - self._last_wake_end) / self.fs_hz
        amplitude = max(movement.peaks[0], self.config.slow_amplitude_scale * movement.peaks[2])
        clipped = movement.clipped_ticks > 0
        if is_foreign(duration / self.fs_hz, amplitude, self.config, clipped=clipped):
            return  # a partner turning over, carried through the mattress: not the sleeper's
        kind = classify(
            duration / self.fs_hz,
            amplitude,
            self.config,
            sleep_onset=in_sleep_onset_window(since_bed, since_gross, self.config),
            clipped=clipped,
        )
        if kind is EventType.GROSS_MOVEMENT:
            self._last_wake_end = onset + duration
        event = Event(
            type=kind,
            onset_sample=onset,
            duration_samples=duration,
            fs_hz=self.fs_hz,
            channel=self.channels[movement.channel],
            amplitude=round(amplitude, 2),
            clipped=movement.clipped_ticks > 0,
            event_id=f"{self.bed}:{self.boot_id:08x}:{(onset + self._device_offset) % 2**32}",
        )
        out.items.append(event)
        update = self.plm.add(event.onset_s, event.duration_s)
        if update.closed is not None:
            out.items.append(PlmEnded(update.closed))
        if update.started is not None:
            out.items.append(PlmStarted(update.started))
