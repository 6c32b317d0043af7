"""Per-class bars of the headline metrics in a ``metrics.json`` (``vis4d report``'s ``report_classes.png``).

Which metrics are headline metrics is the metrics' own declaration
(:mod:`vis4d.eval.registry`): detection's AP, and the headline ratios of the
tracking metrics the file holds (MOTA, IDF1, HOTA, TETA, ...). One panel per
metric and dataset, a bar per class, in percent, the class mean marked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vis4d.common.io import atomic_open
from vis4d.eval.registry import DETECTION, track_headline


def _datasets(metrics: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{dataset: {"det": ..., "track": ...}}`` whether the file holds one dataset or several."""
    if "det" in metrics or "track" in metrics:
        return {"": metrics}
    return {name: value for name, value in metrics.items() if isinstance(value, dict)}


def class_panels(metrics: dict[str, Any]) -> list[tuple[str, dict[str, float], float | None]]:
    """Per headline metric and dataset: (title, {class: value as a fraction}, class mean); no value, no bar."""
    panels = []
    for dataset, sections in _datasets(metrics).items():
        prefix = f"{dataset}: " if dataset else ""
        det = sections.get("det")
        if isinstance(det, dict) and det.get("per_class"):
            key = DETECTION.headline[0]
            values = {c: v[key] for c, v in det["per_class"].items() if v.get(key) is not None}
            panels.append((f"{prefix}{key}", values, det.get(key)))
        track = sections.get("track")
        if isinstance(track, dict) and track.get("per_class"):
            ratios, means, _ = track_headline(track)
            for key, mean_key in zip(ratios, means, strict=True):
                values = {c: v[key] for c, v in track["per_class"].items() if v.get(key) is not None}
                panels.append((f"{prefix}{key} ({mean_key} dashed)", values, track["mean"].get(key)))
    return [panel for panel in panels if panel[1]]


def plot_class_bars(metrics: dict[str, Any], path: Path) -> bool:
    """Draw :func:`class_panels` into a PNG at ``path``; returns False (and writes nothing) without per-class data."""
    panels = class_panels(metrics)
    if not panels:
        return False
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    num_classes = max(len(values) for _, values, _ in panels)
    figure = Figure(figsize=(4.2 * len(panels), 1.2 + 0.32 * num_classes), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for axis, (title, values, mean) in zip(axes, panels, strict=True):
        names = list(values)
        percent = [100.0 * float(values[n]) for n in names]
        axis.barh(range(len(names)), percent, color="#4c72b0")
        axis.set_yticks(range(len(names)), names, fontsize=8)
        axis.invert_yaxis()
        for y, value in enumerate(percent):
            axis.text(value, y, f" {value:.1f}", va="center", fontsize=7)
        if mean is not None:
            axis.axvline(100.0 * float(mean), color="#c44e52", linestyle="--", linewidth=1)
        axis.set_title(title, fontsize=9)
        axis.set_xlabel("%")
        axis.set_xlim(min(0.0, *percent), 100.0)
        axis.grid(axis="x", alpha=0.3)
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png")
    return True
