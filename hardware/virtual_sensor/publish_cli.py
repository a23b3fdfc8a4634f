"""Command line of the live virtual sensor: ``python -m hardware.virtual_sensor.publish``.

Plays a recording (``--recording FILE.npz``) or a synthesized scenario (``--scenario NAME``) for one
or more beds into an MQTT broker, paced at ``--speed`` sensor seconds per wall second, with optional
fault injection. Prints a status line on stderr every few seconds. Exit status: 0 after the end of
the recordings or Ctrl-C / SIGTERM (both send a clean retained ``offline``), 1 when the broker is
unreachable or publishing fails, 2 for bad arguments (one line on stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from detector.recording import Recording, RecordingError, load_recording
from detector.topics import DEFAULT_PREFIX, is_valid_id, is_valid_prefix

from .network import Faults
from .publish import BedStats, Publisher, VirtualBed

__all__ = ["main"]

_PROG = "python -m hardware.virtual_sensor.publish"


class _UsageError(Exception):
    """Bad command-line arguments."""


class _SetupError(Exception):
    """Arguments fine, but something they need is unusable (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=_PROG, description="Publish virtual bed sensors to an MQTT broker.")
    p.add_argument("--host", default="127.0.0.1", help="broker host (default %(default)s)")
    p.add_argument("--port", type=int, default=1883, help="broker port (default %(default)s)")
    p.add_argument("--prefix", default=DEFAULT_PREFIX, help="topic prefix (default %(default)s)")
    p.add_argument("--beds", default="bedroom", help="comma-separated bed ids (default bedroom)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--recording", type=Path, help="recording NPZ to play on every bed")
    source.add_argument("--scenario", help="synthesize this scenario preset (one night per bed)")
    p.add_argument("--minutes", type=float, help="scenario length (default: the preset's)")
    p.add_argument("--seed", type=int, default=0, help="seed of scenario, boot ids and faults")
    p.add_argument("--speed", type=float, default=1.0, help="sensor s per wall s; inf = max")
    p.add_argument("--frame-ms", type=float, default=500.0, help="frame length (default 500 ms)")
    for name, what in (
        ("loss", "lost frames"),
        ("duplicate", "duplicated frames"),
        ("reorder", "frames swapped with the next"),
        ("garbage", "malformed payloads per frame"),
    ):
        p.add_argument(f"--{name}", type=float, default=0.0, help=f"rate of {what} (0..1)")
    p.add_argument(
        "--reboot-at",
        type=float,
        action="append",
        default=[],
        metavar="S",
        help="reboot the sensor at this sensor time in seconds (repeatable)",
    )
    p.add_argument("--loop", action="store_true", help="restart recordings (as reboots) forever")
    p.add_argument("--now", action="store_true", help="timestamp frames from now, not the file")
    p.add_argument("--username", help="broker user name")
    p.add_argument("--password", help="broker password")
    p.add_argument("--status-interval", type=float, default=5.0, help="seconds; 0 = quiet")
    return p


def _synthesize(name: str, minutes: float | None, seed: int) -> Recording:
    """Generate one night with the synthesis engine, imported lazily (it is optional here)."""
    try:
        synth = importlib.import_module("hardware.virtual_sensor.synth")
    except ImportError as err:
        raise _UsageError(
            f"--scenario needs the synthesis engine, which is not importable ({err}); "
            "use --recording FILE.npz"
        ) from None
    try:
        recording = synth.generate(name, seed, minutes=minutes)
    except (KeyError, ValueError) as err:  # unknown preset, or a length the preset cannot take
        raise _UsageError(f"--scenario {name}: {err.args[0] if err.args else err}") from None
    except RuntimeError as err:  # e.g. the physiology reference data is missing
        raise _SetupError(f"--scenario {name}: {err}") from None
    if not isinstance(recording, Recording):
        raise _SetupError(f"synth.generate returned {type(recording).__name__}, not a Recording")
    return recording


def _build(args: argparse.Namespace) -> Publisher:
    """Validate the arguments and assemble the publisher; raises _UsageError."""
    beds = [bed.strip() for bed in args.beds.split(",") if bed.strip()]
    if not beds or not all(is_valid_id(bed) for bed in beds) or len(set(beds)) != len(beds):
        raise _UsageError(f"--beds must be distinct ids of [A-Za-z0-9_-], got {args.beds!r}")
    if not is_valid_prefix(args.prefix):
        raise _UsageError(f"--prefix must be ids joined by '/', got {args.prefix!r}")
    if not 0 < args.port < 65536:
        raise _UsageError(f"--port must be 1..65535, got {args.port}")
    if not args.speed > 0:
        raise _UsageError(f"--speed must be positive, got {args.speed}")
    if args.minutes is not None and not 0 < args.minutes < 7 * 24 * 60:
        raise _UsageError(f"--minutes must be positive (under a week), got {args.minutes}")
    if not args.frame_ms > 0:
        raise _UsageError(f"--frame-ms must be positive, got {args.frame_ms}")
    try:
        faults = Faults(args.loss, args.duplicate, args.reorder, args.garbage, args.reboot_at)
    except ValueError as err:
        raise _UsageError(str(err)) from None
    if args.recording is not None:
        try:
            shared = load_recording(args.recording)
        except RecordingError as err:
            raise _UsageError(str(err)) from None
        recordings = [shared] * len(beds)
    else:
        recordings = [
            _synthesize(args.scenario, args.minutes, args.seed + i) for i in range(len(beds))
        ]
    start = time.time() if args.now else None
    virtual_beds = []
    for bed, recording in zip(beds, recordings, strict=True):
        frame_samples = round(recording.fs * args.frame_ms / 1000.0)
        try:
            virtual_beds.append(
                VirtualBed(
                    recording,
                    bed,
                    prefix=args.prefix,
                    seed=args.seed,
                    frame_samples=frame_samples,
                    faults=faults,
                    start=start,
                )
            )
        except ValueError as err:
            raise _UsageError(f"{bed}: {err}") from None
    return Publisher(
        virtual_beds,
        host=args.host,
        port=args.port,
        speed=args.speed,
        loop=args.loop,
        username=args.username,
        password=args.password,
    )


def _status_line(stats: BedStats, rate: float | None, speed: float, beds: str) -> str:
    seconds = int(stats.sensor_time_s)
    clock = f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    faults = " ".join(f"{key}={n}" for key, n in stats.faults.items() if n)
    parts = [
        f"publish [{beds}]: sensor {clock} (x{speed:g})",
        f"{stats.frames} frames" + ("" if rate is None else f" ({rate:.1f}/s)"),
        f"{stats.bytes / 1000:.1f} kB",
    ]
    if stats.not_sent:
        parts.append(f"{stats.not_sent} not sent (disconnected)")
    if faults:
        parts.append(f"faults {faults}")
    return " | ".join(parts)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str or None
        Arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        Exit status (0 done or interrupted, 1 connection or publishing failure, 2 bad arguments).
    """
    try:
        args = _parser().parse_args(argv)
        publisher = _build(args)
    except _UsageError as err:
        print(f"{_PROG}: error: {err}", file=sys.stderr)
        return 2
    except _SetupError as err:
        print(f"{_PROG}: error: {err}", file=sys.stderr)
        return 1
    with _signals_as_interrupt():
        return _run(publisher, args)


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt (main thread only), like Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stop_quietly(publisher: Publisher) -> None:
    """Stop cleanly even if Ctrl-C or SIGTERM arrives again meanwhile."""
    if threading.current_thread() is not threading.main_thread():
        publisher.stop()
        return
    handlers = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        publisher.stop()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _run(publisher: Publisher, args: argparse.Namespace) -> int:
    beds = ",".join(publisher.stats())
    try:
        publisher.start()
    except ConnectionError as err:
        print(f"{_PROG}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _stop_quietly(publisher)
        return 0
    interval = args.status_interval if args.status_interval > 0 else 1.0
    last_frames, last_time = 0, time.monotonic()
    try:
        while not publisher.wait(interval):
            if args.status_interval > 0:
                totals, now = publisher.totals(), time.monotonic()
                rate = (totals.frames - last_frames) / (now - last_time)
                last_frames, last_time = totals.frames, now
                print(_status_line(totals, rate, args.speed, beds), file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        _stop_quietly(publisher)
    if args.status_interval > 0:
        totals = publisher.totals()
        print(_status_line(totals, None, args.speed, beds) + " | stopped", file=sys.stderr)
    if publisher.error is not None:
        print(f"{_PROG}: error: publishing failed: {publisher.error}", file=sys.stderr)
        return 1
    return 0
