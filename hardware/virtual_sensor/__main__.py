"""Command line of the virtual sensor's synthesis engine.

``python -m hardware.virtual_sensor write OUT.npz --scenario NAME [--minutes M] [--fs HZ]
[--channels 1|2] [--gain G] [--hum 50|60] [--highpass HZ] [--seed N]`` writes a recording and
``OUT.truth.json`` and prints a one-line summary; ``python -m hardware.virtual_sensor scenarios``
lists the presets; ``evalset DIR`` writes the fixed evaluation set and ``crosscheck DIR`` the
recordings of a second, independent crude simulator (:mod:`.crosscheck`).

Exit status: 0 on success, 2 for bad arguments, 1 when the data or the output cannot be used; the
reason is one line on stderr. Progress goes to stderr for recordings longer than 30 minutes.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from detector.recording import save_recording, truth_path

from .refs import RefsError
from .scenarios import PRESETS
from .synth import generate, resolve

__all__ = ["main"]

_PROG = "python -m hardware.virtual_sensor"


class _UsageError(Exception):
    """Bad command-line arguments."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=_PROG, description="Synthesize under-mattress piezo recordings.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    sub.add_parser("scenarios", help="list the scenario presets")
    w = sub.add_parser("write", help="write a recording (NPZ) and its ground truth (JSON)")
    w.add_argument("out", type=Path, help="output .npz path (truth goes to OUT.truth.json)")
    w.add_argument("--scenario", required=True, choices=sorted(PRESETS), help="preset name")
    w.add_argument("--minutes", type=float, help="duration in minutes (default: the preset's)")
    w.add_argument("--fs", type=float, help="sample rate in Hz, 100-500")
    w.add_argument("--channels", type=int, choices=(1, 2), help="1 (torso) or 2 (torso, legs)")
    w.add_argument("--gain", type=float, help="ADC counts per sensor unit (~1 heartbeat)")
    w.add_argument("--hum", type=int, choices=(50, 60), help="add mains hum at 50 or 60 Hz")
    w.add_argument("--highpass", type=float, help="piezo high-pass corner in Hz (e.g. 0.22, 2.2)")
    w.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    w.add_argument("--quiet", action="store_true", help="no progress on stderr")
    e = sub.add_parser("evalset", help="write the fixed evaluation set (24 recordings)")
    e.add_argument("out", type=Path, help="output directory")
    c = sub.add_parser("crosscheck", help="write 7 recordings of a second, crude simulator")
    c.add_argument("out", type=Path, help="output directory")
    return p


def _scenarios() -> None:
    width = max(len(n) for n in PRESETS)
    for name, sc in PRESETS.items():
        print(f"{name:<{width}}  {sc.duration_s / 60:6.0f} min  {sc.description}")


def _write(args: argparse.Namespace) -> int:
    if args.minutes is not None and not args.minutes > 0:
        raise _UsageError(f"--minutes must be positive, got {args.minutes}")
    if args.seed < 0:
        raise _UsageError(f"--seed must be non-negative, got {args.seed}")
    changes: dict[str, object] = {}
    for flag, key in (
        ("fs", "fs_hz"),
        ("channels", "channels"),
        ("gain", "gain_counts_per_unit"),
        ("highpass", "highpass_hz"),
    ):
        if getattr(args, flag) is not None:
            changes[key] = getattr(args, flag)
    try:
        sc = resolve(args.scenario, args.minutes)
        if args.hum is not None:
            changes["hum_hz"] = args.hum
            if sc.hum_amplitude_units <= 0:
                changes["hum_amplitude_units"] = 0.5
        sc = dataclasses.replace(sc, **changes)  # type: ignore[arg-type]
    except ValueError as err:
        raise _UsageError(str(err)) from None
    started = time.perf_counter()
    loud = not args.quiet and sc.duration_s > 1800

    def progress(msg: str) -> None:
        if loud:
            print(f"[{time.perf_counter() - started:6.1f} s] {msg}", file=sys.stderr, flush=True)

    recording = generate(sc, args.seed, progress=progress)
    path = save_recording(recording, args.out)
    truth = recording.truth or {}
    kinds = Counter(e["type"] for e in truth.get("events", []))
    summary = truth.get("summary", {})
    detail = ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"
    print(
        f"wrote {path} + {truth_path(path).name}: {sc.name} seed {args.seed}, "
        f"{recording.duration_s:.0f} s, {len(recording.channels)} ch at {recording.fs:g} Hz, "
        f"in bed {summary.get('time_in_bed_s', 0):.0f} s, {sum(kinds.values())} events ({detail}), "
        f"PLM index {summary.get('plm_index', 0):.1f}/h, "
        f"{len(truth.get('partner_events', []))} partner events"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 success, 1 data or output problem, 2 bad arguments.
    """
    try:
        args = _parser().parse_args(argv)
        if args.command == "scenarios":
            _scenarios()
            return 0
        if args.command == "evalset":
            from .evalset import write_evaluation_set  # noqa: PLC0415 - only this command needs it

            paths = write_evaluation_set(
                args.out, lambda msg: print(msg, file=sys.stderr, flush=True)
            )
            print(f"wrote {len(paths)} recordings with ground truth to {args.out}")
            return 0
        if args.command == "crosscheck":
            from .crosscheck import write_crosscheck_set  # noqa: PLC0415 - only this command

            paths = write_crosscheck_set(args.out)
            print(f"wrote {len(paths)} cross-check recordings with ground truth to {args.out}")
            return 0
        return _write(args)
    except _UsageError as err:
        print(f"{_PROG}: error: {err}", file=sys.stderr)
        return 2
    except (RefsError, OSError) as err:
        print(f"{_PROG}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
