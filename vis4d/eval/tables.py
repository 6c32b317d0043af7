"""Plain-text tables of evaluation results, for the terminal and logs.

One convention in every table, stated in its title: ratios print as percent
with one decimal, counts as integers, undefined values (None, e.g. AP of a
size range without ground truth) as ``-``. (``metrics.json`` holds the same
ratios as fractions in [0, 1].) The detection title says which boxes the AP
is of when ``metrics`` carries a ``summary`` (:mod:`vis4d.eval.summary`); the
tracking title says what its ``mean`` and ``overall`` rows are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from vis4d.common.errors import ConfigError
from vis4d.eval.registry import count_names, table_columns, track_headline
from vis4d.eval.summary import DET_BOXES_LABELS


def _cell(value: Any, is_count: bool) -> str:
    if value is None:
        return "-"
    if is_count:
        return str(int(value))
    return f"{100.0 * float(value):.1f}"


def _table(title: str, columns: Sequence[str], rows: Sequence[tuple[str, Mapping[str, Any]]],
           counts: frozenset[str] = frozenset(), first: str = "class") -> str:  # fmt: skip
    """Left-aligned name column, right-aligned value columns, a rule under the header and before summary rows."""
    body = [[name] + [_cell(values.get(col), col in counts) for col in columns] for name, values in rows]
    header = [first, *columns]
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
    titles, columns = table_columns("det", det)
    return _table(f"Detection ({', '.join(titles)}){of}; ratios in %", columns, rows)


def format_tracking_table(track: Mapping[str, Any]) -> str:
    """Per-class, super-category, mean and overall rows from :func:`vis4d.eval.track.evaluate_tracking`."""
    rows = [(name, values) for name, values in track.get("per_class", {}).items()]
    rows += [(f"{name} (super)", values) for name, values in track.get("super_categories", {}).items()]
    rows += [("mean", track["mean"]), ("overall", track["overall"])]
    titles, columns = table_columns("track", track["overall"])
    ratios, means, _ = track_headline(track)
    title = (
        f"Tracking ({', '.join(titles)}); ratios in %, counts as integers; "
        f"mean: over classes with ground truth ({', '.join(means)}), overall: all classes pooled"
    )
    return _table(title, columns, rows, count_names())


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


def per_video_rows(
    track: Mapping[str, Any], sort_by: str | None = None
) -> tuple[str, list[str], list[tuple[str, Any]]]:
    """The sort field, columns and rows of ``track["per_video"]``, worst first (lowest ``sort_by``; undefined last).

    ``sort_by`` defaults to the first headline ratio of the metrics computed
    (:mod:`vis4d.eval.registry`); counts sort highest first (more errors is worse).
    """
    per_video = track.get("per_video")
    if not per_video:
        raise ValueError("per-video table: the tracking result has no per_video section (evaluate with per_video)")
    _, columns = table_columns("track", track["overall"])
    key = sort_by if sort_by is not None else track_headline(track)[0][0]
    if key not in track["overall"]:
        raise ConfigError(f"--sort-by: {key!r} is not a computed field; expected one of {list(track['overall'])}")
    sign = -1.0 if key in count_names() else 1.0
    rows = sorted(per_video.items(), key=lambda item: (item[1][key] is None, sign * float(item[1][key] or 0.0)))
    return key, columns, rows


def format_per_video_table(track: Mapping[str, Any], sort_by: str | None = None) -> str:
    """Every computed metric per video (all classes of the video pooled), worst first, for finding failures."""
    key, columns, rows = per_video_rows(track, sort_by)
    title = f"Per video, worst {key} first (all classes of a video pooled); ratios in %, counts as integers"
    return _table(title, columns, rows, count_names(), first="video")


def per_video_csv(track: Mapping[str, Any], sort_by: str | None = None) -> str:
    """:func:`format_per_video_table` as CSV, ratios as fractions in [0, 1] (as in ``metrics.json``)."""
    _, columns, rows = per_video_rows(track, sort_by)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["video", *columns])
    writer.writerows([name, *("" if values.get(c) is None else values[c] for c in columns)] for name, values in rows)
    return buffer.getvalue()
