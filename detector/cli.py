"""Command line: ``python -m detector analyze|evaluate|bench``.

Errors the user can fix (a missing or malformed file, bad arguments) end the program with a
one-line reason on stderr and a non-zero exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from .analyze import AnalysisResult, analyze
from .config import DetectorConfig
from .plm import PlmRules
from .recording import Recording, RecordingError, load_recording

__all__ = ["main"]

EXIT_USAGE = 2
EXIT_INPUT = 1


class _Progress:
    """A one-line progress indicator on stderr (only when stderr is a terminal or forced)."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label = label
        self.enabled = enabled
        self._last = -1

    def __call__(self, fraction: float) -> None:
        percent = int(fraction * 100)
        if self.enabled and percent != self._last:
            self._last = percent
            print(f"\r{self.label}: {percent:3d} %", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled and self._last >= 0:
            print(file=sys.stderr)


def _load(path: Path) -> Recording:
    if path.suffix.lower() in (".edf", ".bdf"):
        from .edf import load_edf  # noqa: PLC0415 - optional dependency, loaded on demand

        return load_edf(path)
    return load_recording(path)


def _config(args: argparse.Namespace) -> DetectorConfig:
    rules = PlmRules.aasm() if args.rules == "aasm" else PlmRules.wasm()
    return DetectorConfig(plm=rules)


def _report(result: AnalysisResult, recording: Recording, path: Path) -> str:
    s = result.summary
    hours = s.time_in_bed_s / 3600
    lines = [
        f"Night report: {path.name}",
        f"  recording      {recording.duration_s / 3600:.2f} h at {recording.fs:g} Hz, "
        f"channels {', '.join(recording.channels)}",
        f"  time in bed    {hours:.2f} h in {len(result.in_bed)} interval(s)",
        f"  twitches       {s.twitch_count} ({s.twitches_per_hour:.1f} per hour in bed)",
        f"  limb movements {s.limb_movement_count}, in {len(result.plm_series)} PLM series",
        f"  PLM index      {s.plm_index:.1f} per hour"
        + ("  (above 15/h: clinically significant in adults)" if s.plm_index > 15 else ""),
        f"  hypnic jerks   {s.hypnic_jerk_count}",
        f"  gross moves    {s.gross_movement_count}",
    ]
    if result.events:
        lines.append("  events:")
        for e in result.events[:200]:
            lines.append(
                f"    {e.onset_s:9.2f} s  {e.type.value:<15} {e.duration_s:6.2f} s  "
                f"{e.amplitude:7.1f}x  {e.channel}"
            )
        if len(result.events) > 200:
            lines.append(f"    ... {len(result.events) - 200} more (use --json)")
    return "\n".join(lines)


def _cmd_analyze(args: argparse.Namespace) -> int:
    recording = _load(Path(args.file))
    progress = _Progress(
        "analyzing", args.progress or (sys.stderr.isatty() and recording.duration_s > 600)
    )
    result = analyze(
        recording.samples, recording.fs, recording.channels, _config(args), progress=progress
    )
    progress.done()
    if args.json:
        print(json.dumps(result.as_json()))
    else:
        print(_report(result, recording, Path(args.file)))
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from .baseline import baseline_analyze  # noqa: PLC0415
    from .evaluate import engine_analyzer, evaluate_directory  # noqa: PLC0415
    from .evaluate_report import format_evaluation  # noqa: PLC0415

    def show(name: str, i: int, n: int) -> None:
        print(f"[{i + 1}/{n}] {name}", file=sys.stderr, flush=True)

    config = _config(args)
    analyzers = {"engine": engine_analyzer(config)}
    if args.baseline:
        analyzers["baseline"] = lambda r: baseline_analyze(r.samples, r.fs, r.channels, config)
    evaluations = evaluate_directory(Path(args.directory), analyzers, progress=show)
    result = {name: evaluation.as_json() for name, evaluation in evaluations.items()}
    titles = {"engine": "engine", "baseline": "baseline (windowed std > k MAD)"}
    print("\n\n".join(format_evaluation(titles[n], e) for n, e in evaluations.items()))
    print(json.dumps(result))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from .bench import run_bench  # noqa: PLC0415

    print(json.dumps(run_bench(hours=args.hours, progress=lambda m: print(m, file=sys.stderr))))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m detector", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("analyze", help="analyse one recording (NPZ contract, EDF or EDF+)")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--rules", choices=("wasm", "aasm"), default="wasm", help="PLM rule set")
    p.add_argument("--progress", action="store_true", help="always show progress on stderr")
    p.set_defaults(func=_cmd_analyze)
    p = sub.add_parser("evaluate", help="score against recordings with ground truth")
    p.add_argument("directory")
    p.add_argument("--rules", choices=("wasm", "aasm"), default="wasm")
    p.add_argument("--no-baseline", dest="baseline", action="store_false", help="skip the baseline")
    p.set_defaults(func=_cmd_evaluate)
    p = sub.add_parser("bench", help="time a synthetic night against scipy's sosfilt")
    p.add_argument("--hours", type=float, default=8.0)
    p.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except RecordingError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
