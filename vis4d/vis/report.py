"""``vis4d report RUN``: one picture and one page that summarise a run.

Reads every TensorBoard event file under ``RUN`` (training, validation and
test logs, including those of resumed runs) and ``RUN/test/metrics.json`` if
the run was tested, then writes

* ``RUN/report.png``: training losses over steps, the learning rate, and
  validation metrics over steps (those that are fractions in [0, 1], e.g. AP,
  MOTA, IDF1, HOTA; counts such as FP would flatten the curves), and
* ``RUN/report_classes.png``: per-class bars of the headline metrics of
  ``test/metrics.json`` (:mod:`vis4d.vis.class_bars`), if the run was tested,
* ``RUN/report.md``: the final test metrics, the last value of each loss,
  the last and best validation metrics, and where the run's files are.

Scalar tags are grouped by name as the trainer logs them: a tag containing
``loss`` is a loss, ``*/lr``, ``lr-*`` or ``*learning_rate*`` is a learning
rate, ``val/*`` a validation metric; ``epoch`` and everything else is left out
of the plots. The page and the plot follow the terminal tables'
convention and say so: metrics that are ratios (AP, MOTA, IDF1, HOTA, ...)
in percent with one decimal, counts (FP, IDSW, MT, PT, ML, ...) as integers,
whatever the metric's value (TensorBoard stores ``PT = 1`` as 1.0);
``metrics.json`` and the logs keep fractions. Losses and learning rates
print as logged. Both files are written atomically.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from vis4d.common.errors import DataError, Vis4DError, one_line
from vis4d.common.io import atomic_open, read_json
from vis4d.common.parser import ArgumentParser
from vis4d.eval.registry import count_names, headline_names, ratio_names
from vis4d.vis.class_bars import plot_class_bars

EVENT_FILE_GLOB = "**/events.out.tfevents.*"
MAX_METRIC_CURVES = 8


@dataclasses.dataclass
class Series:
    """One scalar tag over training: steps and values, sorted by step."""

    steps: np.ndarray  # (N,) int64
    values: np.ndarray  # (N,) float64

    @property
    def last(self) -> float:
        """The value at the latest step."""
        return float(self.values[-1])


def read_scalars(run_dir: Path) -> dict[str, Series]:
    """Every scalar tag of every event file under ``run_dir``, merged over files and sorted by step."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    directories = sorted({path.parent for path in run_dir.glob(EVENT_FILE_GLOB) if path.is_file()})
    collected: dict[str, list[tuple[float, int, float]]] = {}
    for directory in directories:
        accumulator = EventAccumulator(str(directory), size_guidance={"scalars": 0})  # 0: keep every point
        accumulator.Reload()
        for tag in accumulator.Tags().get("scalars", []):
            collected.setdefault(tag, []).extend((e.wall_time, e.step, e.value) for e in accumulator.Scalars(tag))
    series: dict[str, Series] = {}
    for tag, events in collected.items():
        table = np.array(events, dtype=np.float64).reshape(-1, 3)
        order = np.lexsort((table[:, 0], table[:, 1]))  # by step, then wall time (a resumed run comes later)
        series[tag] = Series(table[order, 1].astype(np.int64), table[order, 2])
    return series


def is_lr_tag(tag: str) -> bool:
    """Whether a tag holds a learning rate."""
    leaf = tag.rsplit("/", 1)[-1].lower()
    return leaf == "lr" or leaf.startswith("lr-") or "learning_rate" in tag.lower()


def is_loss_tag(tag: str) -> bool:
    """Whether a tag holds a training loss."""
    return "loss" in tag.lower() and not is_lr_tag(tag)


def is_val_tag(tag: str) -> bool:
    """Whether a tag holds a validation metric."""
    return tag.startswith("val/") and not is_loss_tag(tag)


def _plotted_metrics(series: dict[str, Series]) -> list[str]:
    """Pick the validation metrics that are fractions, primary names first, at most MAX_METRIC_CURVES.

    Counts never are, even when they happen to be 0 or 1 (MT, PT, ML of a small set).
    """
    fractions = [
        t
        for t, s in series.items()
        if is_val_tag(t) and len(s.values) and np.all(np.abs(s.values) <= 1.0) and not _is_count(t)
    ]

    primary = headline_names()  # plotted first when there are more than MAX_METRIC_CURVES

    def rank(tag: str) -> tuple[int, str]:
        leaf = tag.rsplit("/", 1)[-1]
        return (primary.index(leaf) if leaf in primary else len(primary), tag)

    return sorted(fractions, key=rank)[:MAX_METRIC_CURVES]


def _plot_panel(axis: Any, series: dict[str, Series], tags: Iterable[str], title: str, ylabel: str) -> None:
    tags = list(tags)
    for tag in tags:
        marker = "o" if len(series[tag].steps) < 30 else None
        values = series[tag].values * (100.0 if _is_ratio(tag) else 1.0)
        axis.plot(series[tag].steps, values, label=tag, marker=marker, markersize=3, linewidth=1.2)
    axis.set_title(title)
    axis.set_xlabel("step")
    axis.set_ylabel(ylabel)
    axis.grid(alpha=0.3)
    if tags:
        axis.legend(fontsize=7, loc="best")
    else:
        axis.text(0.5, 0.5, "not logged", ha="center", va="center", transform=axis.transAxes, color="grey")


def plot_report(series: dict[str, Series], path: Path) -> None:
    """Three panels (losses, learning rate, validation metrics) into a PNG at ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(15, 4.5), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    loss_axis, lr_axis, metric_axis = figure.subplots(1, 3)
    _plot_panel(loss_axis, series, sorted(t for t in series if is_loss_tag(t)), "training losses", "loss")
    _plot_panel(lr_axis, series, sorted(t for t in series if is_lr_tag(t)), "learning rate", "lr")
    _plot_panel(metric_axis, series, _plotted_metrics(series), "validation metrics", "%")
    with atomic_open(path, "wb") as handle:
        figure.savefig(handle, format="png")


def _format_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not np.isfinite(value):
            return str(value)
        # Counts logged as floats (TensorBoard stores floats) read better as integers.
        return str(int(value)) if value.is_integer() and abs(value) >= 2 else f"{value:.4f}"
    return str(value)


def _is_count(key: str) -> bool:
    """Whether a metric (``IDSW``, or a tag such as ``val/PT``) is a count, shown as an integer."""
    return key.rsplit("/", 1)[-1] in count_names()


def _is_ratio(key: str) -> bool:
    """Whether a metric (``AP``, or a tag such as ``val/MOTA``) is a ratio, shown in percent."""
    return key.rsplit("/", 1)[-1] in ratio_names()


def _metric_cell(key: str, value: Any) -> str:
    """A metric's value by its name: ratios in percent (one decimal), counts as integers, None as ``-``."""
    leaf = key.rsplit("/", 1)[-1]
    if value is None:
        return "-"
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        return _format_value(value)
    if _is_count(leaf):
        return str(round(value))
    if leaf in ratio_names():
        return f"{100.0 * value:.1f}"
    return _format_value(value)


def _is_flat(value: Any) -> bool:
    """Tell whether ``value`` is a dict of scalars (one row of a table)."""
    return isinstance(value, dict) and not any(isinstance(v, dict) for v in value.values())


def _markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _rows_table(title: str, first_column: str, rows: dict[str, dict[str, Any]], level: int) -> list[str]:
    """Build a table with one row per key of ``rows`` and one column per metric name."""
    columns = list(dict.fromkeys(k for row in rows.values() for k in row))
    body = [[name, *(_metric_cell(c, row[c]) if c in row else "" for c in columns)] for name, row in rows.items()]
    return [f"{'#' * level} {title}", "", *_markdown_table([first_column, *columns], body), ""]


def _metrics_markdown(metrics: dict[str, Any], title: str, level: int = 3) -> list[str]:
    """Render nested metrics as markdown tables.

    Scalars give a name/value table; two or more dicts of scalars side by side
    (e.g. ``mean`` and ``overall``) one table with a row each; a dict of dicts
    of scalars (``per_class``) a class x metric table; anything else recurses.
    """
    lines: list[str] = []
    scalars = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    if scalars:
        lines += [f"{'#' * level} {title}", ""]
        lines += _markdown_table(["metric", "value"], [[k, _metric_cell(k, v)] for k, v in scalars.items()])
        lines.append("")
    flat_children = {k: v for k, v in metrics.items() if isinstance(v, dict) and v and _is_flat(v)}
    if len(flat_children) >= 2:
        lines += _rows_table(title, "", flat_children, level)
    for key, value in metrics.items():
        if not isinstance(value, dict) or (key in flat_children and len(flat_children) >= 2):
            continue
        if value and not _is_flat(value) and all(_is_flat(row) for row in value.values()):
            lines += _rows_table(f"{title} / {key}", key, value, level)
        else:
            lines += _metrics_markdown(value, f"{title} / {key}", level)
    return lines


def _read_metrics(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    data = read_json(path, "a JSON object of metrics")
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object of metrics")
    dropped: list[str] = []
    data = _numbers_only(data, "", dropped)
    if dropped:
        shown = ", ".join(dropped[:5]) + (" ..." if len(dropped) > 5 else "")
        print(f"warning: {path}: {len(dropped)} metric value(s) are not finite numbers and are left out of the "
              f"report: {shown}", file=sys.stderr)  # fmt: skip
    return data


# Text values vis4d itself writes into metrics.json (what produced a number), which the report keeps.
TEXT_FIELDS = ("summary",)


def _numbers_only(value: dict[str, Any], where: str, dropped: list[str]) -> dict[str, Any]:
    """``value`` without the entries that are neither finite numbers, None (not computed), nor such tables.

    vis4d writes NaN as null and no text but descriptions under ``summary``; a
    NaN, an infinity or a string elsewhere comes from an edited or foreign
    file and is named in one warning rather than drawn as a number.
    """
    kept: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{where}.{key}" if where else str(key)
        if isinstance(item, dict):
            kept[key] = _numbers_only(item, name, dropped)
        elif item is None or (isinstance(item, int | float) and not isinstance(item, bool) and math.isfinite(item)):
            kept[key] = item
        elif isinstance(item, str) and name.split(".")[0] in TEXT_FIELDS:
            kept[key] = item
        else:
            dropped.append(f"{name} ({item!r})")
    return kept


def _files_section(run_dir: Path, png: Path, md: Path, metrics_path: Path | None) -> list[str]:
    lines = ["## Files", "", f"- report: `{md}`, curves: `{png}`"]
    event_dirs = sorted({p.parent for p in run_dir.glob(EVENT_FILE_GLOB)})
    if event_dirs:
        lines.append("- TensorBoard logs: " + ", ".join(f"`{d}`" for d in event_dirs))
    if metrics_path is not None:
        lines.append(f"- test metrics: `{metrics_path}`")
    checkpoints = sorted((run_dir / "checkpoints").glob("*.ckpt")) if (run_dir / "checkpoints").is_dir() else []
    if checkpoints:
        lines.append("- checkpoints: " + ", ".join(f"`{c}`" for c in checkpoints))
    prediction_dirs = sorted(p for p in run_dir.glob("*/predictions") if p.is_dir())
    if prediction_dirs:
        lines.append("- predictions: " + ", ".join(f"`{p}`" for p in prediction_dirs))
    vis_dirs = sorted(p for p in run_dir.glob("*/vis") if p.is_dir())
    if vis_dirs:
        lines.append("- visualizations: " + ", ".join(f"`{p}`" for p in vis_dirs))
    return lines + [""]


def write_report(run_dir: Path) -> tuple[Path, Path]:
    """Write ``RUN/report.png`` and ``RUN/report.md``; returns their paths."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        what = "is a file, expected a run directory" if run_dir.exists() else "not found"
        raise Vis4DError(f"run directory {what}: {run_dir}")
    series = read_scalars(run_dir)
    metrics_path = run_dir / "test" / "metrics.json"
    metrics = _read_metrics(metrics_path)
    if not series and metrics is None:
        raise Vis4DError(f"{run_dir}: no TensorBoard event files and no test/metrics.json; is this a vis4d run folder?")
    png, md = run_dir / "report.png", run_dir / "report.md"
    plot_report(series, png)

    lines = [f"# Run report: {run_dir.name}", "", f"Run directory: `{run_dir.resolve()}`", ""]
    lines += ["![curves](report.png)", ""]
    lines += ["## Final test metrics", ""]
    if metrics is not None:
        lines += [f"From `{metrics_path}`; ratios in %, counts as integers (the file holds fractions in [0, 1]).", ""]
        if plot_class_bars(metrics, run_dir / "report_classes.png"):
            lines += ["Headline metrics per class:", "", "![per-class metrics](report_classes.png)", ""]
        lines += _metrics_markdown(metrics, "test")
    else:
        test_tags = {t: s for t, s in series.items() if t.startswith("test/")}
        if test_tags:
            lines += ["From the test logs (no test/metrics.json); ratios in %, counts as integers.", ""]
            lines += _markdown_table(["metric", "value"], [[t, _metric_cell(t, s.last)] for t, s in test_tags.items()])
        else:
            lines.append("The run has not been tested (no test/metrics.json).")
        lines.append("")
    loss_tags = sorted(t for t in series if is_loss_tag(t))
    lines += ["## Last training losses", ""]
    if loss_tags:
        lines += _markdown_table(
            ["loss", "step", "value"], [[t, str(series[t].steps[-1]), _format_value(series[t].last)] for t in loss_tags]
        )
    else:
        lines.append("No losses logged.")
    lines.append("")
    val_tags = sorted(t for t in series if is_val_tag(t))
    if val_tags:
        lines += ["## Validation metrics", "", "Ratios in %, counts as integers.", ""]
        rows = []
        for tag in val_tags:
            values = series[tag].values
            best_at = int(np.argmax(values))
            last_step, best_step = str(series[tag].steps[-1]), str(series[tag].steps[best_at])
            best = _metric_cell(tag, float(values[best_at]))
            rows.append([tag, last_step, _metric_cell(tag, series[tag].last), best, best_step])
        lines += _markdown_table(["metric", "last step", "last", "max", "max at step"], rows)
        lines.append("")
    lines += _files_section(run_dir, png, md, metrics_path if metrics is not None else None)
    with atomic_open(md, "w") as handle:
        handle.write("\n".join(lines))
    return png, md


def main(argv: list[str] | None = None) -> int:
    """Run ``vis4d report RUN``; errors are one line on stderr and exit code 2."""
    parser = ArgumentParser(
        prog="vis4d report", description="Summarise a run: RUN/report.png (curves) and RUN/report.md (metrics)."
    )
    parser.add_argument("run", type=Path, help="Run folder, e.g. vis4d-workspace/QDTrack/2024-01-01_12-00-00.")
    try:
        png, md = write_report(parser.parse_args(argv).run)
    except Vis4DError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    print(f"wrote {md} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
