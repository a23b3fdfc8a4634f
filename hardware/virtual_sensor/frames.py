"""What a bed sensor would publish, message by message, without any MQTT: the virtual firmware.

:class:`VirtualBed` turns one :class:`~detector.recording.Recording` into the exact
message sequence of the ESP32 firmware (wire protocol v1, ``hardware/PROTOCOL.md``): on every boot a
retained ``status`` ``online`` and the retained ``meta`` JSON, then raw frames of ``frame_samples``
samples, and a ``diag`` JSON every 60 s of uptime. Each message carries its *sensor time*: seconds
since the stream started, at which the device would send it (a frame is sent once its last sample
has been acquired). :mod:`hardware.virtual_sensor.publish` paces these times against a clock.

Faults (:class:`~hardware.virtual_sensor.network.Faults`) are seeded and deterministic. A scheduled
reboot happens at the first frame boundary at or after its sensor time: new ``boot_id``, ``seq``
and ``sample0`` restart from 0, ``status`` and ``meta`` are sent again, and the recording plays on
without a hole. In loop mode every restart of the recording is a reboot as well.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from detector.protocol import HEADER_LEN, MAX_SAMPLES, FrameFlags, encode_frame
from detector.recording import Recording
from detector.topics import DEFAULT_PREFIX, TopicKind, bed_topic, is_valid_id, is_valid_prefix

from .network import DeviceFrame, Faults, Message, MessageKind, inject_faults, to_json

__all__ = [
    "DEVICE_MAX_FRAME_BYTES",
    "DIAG_INTERVAL_S",
    "FIRMWARE_VERSION",
    "MODEL",
    "VirtualBed",
]

MODEL: Final = "SM-virtual"
MANUFACTURER: Final = "Sleep Myoclonus"
FIRMWARE_VERSION: Final = "0.1.0-virtual"
#: Seconds of uptime between two ``diag`` messages.
DIAG_INTERVAL_S: Final = 60.0
#: The firmware keeps every frame at or below this many bytes (``hardware/PROTOCOL.md``).
DEVICE_MAX_FRAME_BYTES: Final = 4096
_INT16_MIN: Final = -(2**15)
_INT16_MAX: Final = 2**15 - 1
_ONLINE: Final = b"online"


@dataclass(slots=True)
class _Boot:
    """Counters of one device boot."""

    boot_id: int
    first_sample: int  # stream sample index at which the boot started
    seq: int = 0  # also the frames sent in this boot
    sample0: int = 0
    clipped_samples: int = 0
    next_diag: int = 1  # in units of DIAG_INTERVAL_S of uptime


class VirtualBed:
    """One virtual bed sensor playing a recording.

    Parameters
    ----------
    recording : Recording
        The samples to play (int16, ``(n, channels)``).
    bed : str
        Bed / sensor id (``[A-Za-z0-9_-]+``); also the ``sensor_id`` in ``meta``.
    prefix : str
        Topic prefix.
    seed : int
        Seeds boot ids and faults (together with ``bed``, so beds sharing a seed still differ).
    frame_samples : int or None
        Samples per frame; default ``round(fs / 2)`` (0.5 s).
    faults : Faults or None
        Fault injection; none by default.
    start : float or None
        UNIX time of the stream's first sample; default ``recording.start``.
    time_synced : bool
        Whether frames carry ``t0_us`` and the ``TIME_SYNCED`` flag (the device has SNTP time).
    volts_per_count : float
        ADC scale reported in ``meta``.
    filters : mapping or None
        Analog filter corners reported in ``meta``; default 40 Hz low-pass and the high-pass of
        the recording's scenario (ground truth ``scenario.highpass_hz``), else 0.22 Hz.

    Raises
    ------
    ValueError
        If an id is invalid, the recording is empty or a frame would exceed the device limits
        (4096 samples, 4 KiB).
    """

    def __init__(
        self,
        recording: Recording,
        bed: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        seed: int = 0,
        frame_samples: int | None = None,
        faults: Faults | None = None,
        start: float | None = None,
        time_synced: bool = True,
        volts_per_count: float = 0.000125,
        filters: Mapping[str, float] | None = None,
    ) -> None:
        if not is_valid_id(bed):
            raise ValueError(f"invalid bed id {bed!r}: use letters, digits, '_' and '-'")
        if not is_valid_prefix(prefix):
            raise ValueError(f"invalid topic prefix {prefix!r}")
        n, channels = recording.samples.shape
        if n == 0:
            raise ValueError("the recording has no samples")
        if frame_samples is None:
            frame_samples = max(1, round(recording.fs / 2))
        if not 1 <= frame_samples <= MAX_SAMPLES:
            raise ValueError(f"frame_samples must be 1..{MAX_SAMPLES}, got {frame_samples}")
        frame_bytes = HEADER_LEN + frame_samples * channels * 2
        if frame_bytes > DEVICE_MAX_FRAME_BYTES:
            raise ValueError(
                f"frames of {frame_samples} samples x {channels} channels are {frame_bytes} bytes; "
                f"the device keeps frames <= {DEVICE_MAX_FRAME_BYTES} bytes"
            )
        if not 1.0 <= recording.fs <= 10_000.0:
            raise ValueError(f"sample rate must be 1..10000 Hz, got {recording.fs}")
        self.recording = recording
        self.bed = bed
        self.prefix = prefix
        self.seed = seed
        self.frame_samples = frame_samples
        self.faults = faults or Faults()
        self.start = recording.start if start is None else float(start)
        self.time_synced = time_synced
        self.volts_per_count = volts_per_count
        if filters is None:
            scenario = (recording.truth or {}).get("scenario") or {}
            highpass = scenario.get("highpass_hz")  # synthesized recordings know their corner
            highpass = float(highpass) if isinstance(highpass, int | float) else 0.22
            filters = {"highpass_hz": highpass, "lowpass_hz": 40.0}
        self.filters = dict(filters)
        #: Counters of the latest :meth:`iter_labelled` run: ``frames`` (made by the device),
        #: ``boots``, and injected faults ``loss``, ``duplicate``, ``reorder``, ``reboot``,
        #: ``garbage_random``, ``garbage_truncated``, ``garbage_json``.
        self.counts: Counter[str] = Counter()

    def topic(self, kind: TopicKind) -> str:
        """Full topic of this bed for one message kind."""
        return bed_topic(self.prefix, self.bed, kind)

    @property
    def frame_duration_s(self) -> float:
        """Nominal length of one frame in seconds."""
        return self.frame_samples / self.recording.fs

    def meta(self) -> dict[str, Any]:
        """Return the ``meta`` document (fields and order as in ``hardware/PROTOCOL.md``)."""
        return {
            "protocol": 1,
            "sensor_id": self.bed,
            "model": MODEL,
            "manufacturer": MANUFACTURER,
            "firmware": FIRMWARE_VERSION,
            "channels": list(self.recording.channels),
            "fs_hz": float(self.recording.fs),
            "frame_samples": self.frame_samples,
            "sample_format": "int16",
            "units": "counts",
            "volts_per_count": self.volts_per_count,
            "filters": dict(self.filters),
        }

    def connect_messages(self, time_s: float = 0.0) -> list[Message]:
        """Return the retained ``status`` ``online`` and ``meta`` the device sends on connect."""
        return [
            Message(time_s, self.topic(TopicKind.STATUS), _ONLINE, 1, True),
            Message(time_s, self.topic(TopicKind.META), to_json(self.meta()), 1, True),
        ]

    def iter_messages(self, *, loop: bool = False) -> Iterator[Message]:
        """Yield every message of the stream in sending order.

        Parameters
        ----------
        loop : bool
            Restart the recording, as a reboot, whenever it ends (the iterator never ends).

        Yields
        ------
        Message
            ``(time_s, topic, payload, qos, retain)``.
        """
        for _, message in self.iter_labelled(loop=loop):
            yield message

    def iter_labelled(self, *, loop: bool = False) -> Iterator[tuple[MessageKind, Message]]:
        """Like :meth:`iter_messages`, with what each message is.

        Every call replays the stream from the start with the same seed, so the same messages come
        out, and resets :attr:`counts`.
        """
        self.counts = Counter()
        boot_rng = random.Random(f"{self.seed}/{self.bed}/boot")
        fault_rng = random.Random(f"{self.seed}/{self.bed}/faults")
        return inject_faults(
            self._device(loop, boot_rng),
            self.faults,
            fault_rng,
            self.topic(TopicKind.RAW),
            self.counts,
        )

    # -- the device ---------------------------------------------------------------------------

    def _device(
        self, loop: bool, boot_rng: random.Random
    ) -> Iterator[DeviceFrame | tuple[MessageKind, Message]]:
        samples = self.recording.samples
        n = samples.shape[0]
        fs = float(self.recording.fs)
        reboots = [t * fs for t in self.faults.reboot_at_s]  # as stream sample positions
        total = 0  # samples sent since the stream started (all boots, all passes)
        boot: _Boot | None = None
        boot_id = 0
        while True:
            pos = 0
            boot = None  # every pass of the recording starts with a boot
            while pos < n:
                if reboots and total >= reboots[0]:
                    while reboots and total >= reboots[0]:
                        reboots.pop(0)
                    self.counts["reboot"] += 1
                    boot = None
                if boot is None:
                    boot_id = _new_boot_id(boot_rng, boot_id)
                    boot = _Boot(boot_id, first_sample=total)
                    self.counts["boots"] += 1
                    status, meta = self.connect_messages(total / fs)
                    yield MessageKind.STATUS, status
                    yield MessageKind.META, meta
                chunk = samples[pos : pos + self.frame_samples]
                payload = self._encode(chunk, boot, total)
                pos += chunk.shape[0]
                total += chunk.shape[0]
                yield DeviceFrame(total / fs, payload)
                diag = self._diag(boot, total)
                if diag is not None:
                    yield MessageKind.DIAG, diag
            if not loop:
                return

    def _encode(self, chunk: npt.NDArray[np.int16], boot: _Boot, total: int) -> bytes:
        """Encode the next frame of ``boot``; its first sample is sample ``total`` of the stream."""
        n_clipped = int(np.count_nonzero((chunk == _INT16_MIN) | (chunk == _INT16_MAX)))
        flags = FrameFlags.CLIPPED if n_clipped else FrameFlags.NONE
        t0_us = 0
        if self.time_synced:
            flags |= FrameFlags.TIME_SYNCED
            t0_us = round(self.start * 1e6) + round(total * 1e6 / self.recording.fs)
        payload = encode_frame(
            chunk,
            seq=boot.seq,
            boot_id=boot.boot_id,
            sample0=boot.sample0,
            fs_hz=float(self.recording.fs),
            t0_us=t0_us,
            flags=flags,
        )
        boot.seq += 1
        boot.sample0 += chunk.shape[0]
        boot.clipped_samples += n_clipped
        self.counts["frames"] += 1
        return payload

    def _diag(self, boot: _Boot, total: int) -> Message | None:
        """Return the ``diag`` message due once the stream has reached sample ``total``, if any."""
        uptime_s = (total - boot.first_sample) / self.recording.fs
        if uptime_s < boot.next_diag * DIAG_INTERVAL_S:
            return None
        while uptime_s >= boot.next_diag * DIAG_INTERVAL_S:
            boot.next_diag += 1
        diag = {
            "uptime_s": int(uptime_s),
            "frames_sent": boot.seq,
            "samples_dropped": 0,
            "clipped_samples": boot.clipped_samples,
            "rssi_dbm": None,
            "free_heap": None,
        }
        return Message(
            total / self.recording.fs, self.topic(TopicKind.DIAG), to_json(diag), 0, False
        )


def _new_boot_id(rng: random.Random, previous: int) -> int:
    while True:
        boot_id = rng.getrandbits(32)
        if boot_id not in (0, previous):
            return boot_id
