"""Plain-text tables of evaluation results, for the terminal and logs.

One convention in every table, stated in its title: ratios print as percent
with one decimal, counts as integers, undefined values (None, e.g. AP of a
size range without ground truth) as ``-``. (``metrics.json`` holds the same
ratios as fractions in [0, 1].) The detection title says which boxes the AP
is of when ``metrics`` carries a ``summary`` (:mod:`vis4d.eval.summary`); the
tracking title says what its ``mean`` and ``overall`` rows are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vis4d.eval.summary import DET_BOXES_LABELS

DET_COLUMNS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100")
TRACK_COLUMNS = (
    "HOTA", "MOTA", "IDF1", "MOTP", "DetA", "AssA", "IDP", "IDR", "FP", "FN", "IDSW", "MT", "PT", "ML", "Frag",
)  # fmt: skip
TRACK_COUNTS = frozenset({"TP", "FP", "FN", "IDSW", "Frag", "MT", "PT", "ML", "IDTP", "IDFP", "IDFN"})


def _cell(value: Any, is_count: bool) -> str:
    if value is None:
        return "-"
    if is_count:
        return str(int(value))
    return f"{100.0 * float(value):.1f}"


def _table(title: str, columns: Sequence[str], rows: Sequence[tuple[str, Mapping[str, Any]]],
           counts: frozenset[str] = frozenset()) -> str:  # fmt: skip
    """Left-aligned name column, right-aligned value columns, a rule under the header and before summary rows."""
    body = [[name] + [_cell(values.get(col), col in counts) for col in columns] for name, values in rows]
    header = ["class", *columns]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(cells))

    out = [title, line(header), "-" * len(line(header))]
    out += [line(r) for r in body]
    return "\n".join(out)


def format_detection_table(det: Mapping[str, Any], det_boxes: str | None = None) -> str:
    """Per-class AP/AR rows and an ``all`` row from :func:`vis4d.eval.detect.evaluate_detection`'s result.

    ``det_boxes`` (a :data:`~vis4d.eval.summary.DET_BOXES_LABELS` key) names the boxes scored in the title.
    """
    rows = [(name, values) for name, values in det.get("per_class", {}).items()]
    rows.append(("all", det))
    of = f" of {DET_BOXES_LABELS[det_boxes]}" if det_boxes in DET_BOXES_LABELS else ""
    return _table(f"Detection (COCO AP){of}; ratios in %", DET_COLUMNS, rows)


def format_tracking_table(track: Mapping[str, Any]) -> str:
    """Per-class, super-category, mean and overall rows from :func:`vis4d.eval.track.evaluate_tracking`."""
    rows = [(name, values) for name, values in track.get("per_class", {}).items()]
    rows += [(f"{name} (super)", values) for name, values in track.get("super_categories", {}).items()]
    rows += [("mean", track["mean"]), ("overall", track["overall"])]
    title = (
        "Tracking (CLEAR MOT, IDF1, HOTA); ratios in %, counts as integers; "
        "mean: over classes with ground truth (mMOTA, mIDF1, mHOTA), overall: all classes pooled"
    )
    return _table(title, TRACK_COLUMNS, rows, TRACK_COUNTS)


def format_metrics_table(metrics: Mapping[str, Any]) -> str:
    """Tables for ``{"det": ..., "track": ..., "summary": ...}`` (each key optional), or a bare det / track result."""
    if "det" in metrics or "track" in metrics:
        parts = []
        if metrics.get("det") is not None:
            parts.append(format_detection_table(metrics["det"], (metrics.get("summary") or {}).get("det_boxes")))
        if metrics.get("track") is not None:
            parts.append(format_tracking_table(metrics["track"]))
        return "\n\n".join(parts)
    if "overall" in metrics:
        return format_tracking_table(metrics)
    if "AP" in metrics:
        return format_detection_table(metrics)
    raise ValueError("format_metrics_table: expected detection or tracking metrics")
