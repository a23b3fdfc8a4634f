"""Plain-text tables of an :class:`~detector.evaluate.Evaluation`."""

from __future__ import annotations

from .evaluate import Evaluation
from .scoring import TOLERANCE_S

__all__ = ["format_evaluation"]


def format_evaluation(title: str, evaluation: Evaluation) -> str:
    """Return a readable table: per-class counts and ratios, twitch recall by band, PLM, in-bed."""
    data = evaluation.as_json()
    lines = [
        f"{title}: {data['files']} recordings",
        "  class            TP    FP    FN  precision  recall     F1",
    ]
    for kind in TOLERANCE_S:
        c = data["classes"][kind]
        lines.append(
            f"  {kind:<15}{c['tp']:5d} {c['fp']:5d} {c['fn']:5d}     {c['precision']:.3f}   "
            f"{c['recall']:.3f}  {c['f1']:.3f}"
        )
    bands = ", ".join(
        f"{k}: {v['recall']:.3f} (n={v['n']})"
        for k, v in data["twitch_recall_by_amplitude"].items()
    )
    lines.append(f"  twitch recall by amplitude: {bands}")
    plm = data["plm_index_abs_error"]
    lines.append(f"  PLM index abs error: mean {plm['mean']:.2f}/h, max {plm['max']:.2f}/h")
    iou = data["in_bed_iou"]
    lines.append(f"  in-bed IoU: mean {iou['mean']:.4f}, min {iou['min']:.4f}")
    return "\n".join(lines)
