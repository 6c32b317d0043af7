"""Dataset statistics and ``vis4d data stats``.

``vis4d data stats --format scalabel|bdd100k|coco|motchallenge|image_folder --path P
[--config CFG] [--json]`` loads a dataset exactly as training would (same
mapping, same checks) and prints how many videos, frames, boxes and tracks it
has, overall and per category: a quick way to check a dataset and a config
agree before spending hours on training.

Counting rules (:func:`dataset_stats`): ``boxes`` and ``per_category`` count
boxes that are evaluated, i.e. neither crowd nor ignored-class regions;
``ignored`` counts those regions. ``tracks`` counts distinct non-negative track
ids per video (of evaluated boxes), summed over videos.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vis4d.common.errors import ConfigError, Vis4DError, one_line
from vis4d.common.parser import ArgumentParser
from vis4d.data.formats import LabelOptions, ReadRequest, format_names, get_format
from vis4d.data.store import AnnotationStore


def _count_distinct_rows(columns: Sequence[np.ndarray]) -> np.ndarray:
    """Distinct rows of the stacked int64 columns."""
    if len(columns[0]) == 0:
        return np.zeros((0, len(columns)), dtype=np.int64)
    return np.unique(np.stack([np.asarray(c, dtype=np.int64) for c in columns], axis=1), axis=0)


def dataset_stats(store: AnnotationStore) -> dict[str, Any]:
    """Count videos, frames, evaluated boxes, tracks and ignored boxes, overall and per category."""
    ignored = store.ignore | store.crowd
    evaluated = ~ignored
    num_categories = len(store.categories)
    box_videos = store.frame_video_ids()[store.box_frame_ids()]
    tracked = evaluated & (store.track_ids >= 0)
    tracks = _count_distinct_rows([box_videos[tracked], store.track_ids[tracked]])
    class_tracks = _count_distinct_rows([store.class_ids[tracked], box_videos[tracked], store.track_ids[tracked]])
    boxes_per_class = np.bincount(store.class_ids[evaluated], minlength=num_categories)
    tracks_per_class = np.bincount(class_tracks[:, 0], minlength=num_categories)
    return {
        "videos": int(store.num_videos),
        "frames": int(store.num_frames),
        "boxes": int(evaluated.sum()),
        "tracks": int(len(tracks)),
        "ignored": int(ignored.sum()),
        "per_category": {
            name: {"boxes": int(boxes_per_class[i]), "tracks": int(tracks_per_class[i])}
            for i, name in enumerate(store.categories)
        },
    }


def format_stats_table(stats: dict[str, Any], title: str = "") -> str:
    """Render the statistics as a text table (rich, without colour codes)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title or None)
    table.add_column("category")
    table.add_column("boxes", justify="right")
    table.add_column("tracks", justify="right")
    for name, counts in stats["per_category"].items():
        table.add_row(name, str(counts["boxes"]), str(counts["tracks"]))
    table.add_section()
    table.add_row("all", str(stats["boxes"]), str(stats["tracks"]))
    console = Console(width=100, color_system=None, force_terminal=False, record=True, file=io.StringIO())
    console.print(table)
    console.print(
        f"videos: {stats['videos']}  frames: {stats['frames']}  boxes: {stats['boxes']}  "
        f"tracks: {stats['tracks']}  ignored (crowd / ignored classes): {stats['ignored']}"
    )
    return console.export_text()


def box_sizes_against_anchors(store: AnnotationStore, config: Any) -> dict[str, Any] | None:
    """Box sizes (square root of the area) at the training input scale, against the RPN's smallest anchor.

    The RPN labels an anchor foreground at IoU >= ``fg_iou_thresh`` (0.7):
    a box of half the smallest anchor's side has IoU 0.25 with it, so boxes
    that small get no matching anchor and are rarely proposed. Sizes follow
    the first ``resize`` of ``train_handler`` (its first scale if several);
    frames whose image size the labels do not give are left out. None when
    the config has no RPN (no anchors) or no frame has a known size.
    """
    from vis4d.data.transforms import Resize

    rpn = getattr(config.model.detector, "rpn", None)
    known = (store.widths > 0) & (store.heights > 0)
    if rpn is None or not known.any():
        return None
    frames = store.box_frame_ids()
    hw = np.stack([store.heights[frames], store.widths[frames]], axis=1).astype(np.float64)
    scale = np.ones(len(frames))
    for transform in config.train_handler.transforms:
        if transform.type == "resize":
            resize = Resize(transform)
            shape = tuple(transform.scales[0]) if transform.scales else tuple(transform.shape)
            out = np.array([resize.output_hw((int(h), int(w)), shape) if h > 0 else (h, w) for h, w in hw])
            scale = np.sqrt(np.divide(out[:, 0] * out[:, 1], hw[:, 0] * hw[:, 1], where=hw[:, 0] > 0, out=scale))
            break
    keep = known[frames] & ~(store.ignore | store.crowd)
    boxes = np.asarray(store.boxes, dtype=np.float64)[keep]
    sizes = np.sqrt(np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(boxes[:, 3] - boxes[:, 1], 0, None))
    sizes = sizes * scale[keep]
    smallest = float(min(rpn.anchor_sizes))
    too_small = int((sizes < smallest / 2).sum())
    return {
        "boxes": int(len(sizes)),
        "smallest_anchor": smallest,
        "percentiles": {str(q): round(float(np.percentile(sizes, q)), 1) for q in (5, 25, 50, 75, 95)}
        if len(sizes)
        else {},
        "below_half_smallest_anchor": too_small,
    }


def format_box_sizes(report: dict[str, Any]) -> str:
    """The box-size report as lines, with advice when many boxes are too small for the anchors."""
    sizes = ", ".join(f"p{q} {v:g}" for q, v in report["percentiles"].items())
    lines = [f"box sizes at the training input scale (sqrt of area, px): {sizes}"]
    share = report["below_half_smallest_anchor"] / max(1, report["boxes"])
    half = report["smallest_anchor"] / 2
    lines.append(
        f"{report['below_half_smallest_anchor']} of {report['boxes']} boxes ({share:.0%}) are under {half:g} px, half "
        f"the smallest anchor ({report['smallest_anchor']:g} px): no anchor reaches IoU 0.25 with them"
    )
    if share > 0.1:
        lines.append(
            "warning: consider smaller anchors, e.g. model.detector.rpn.anchor_sizes starting at "
            f"{max(4, int(half)):d}, or a larger input (train_handler resize)"
        )
    return "\n".join(lines) + "\n"


def _categories_from_config(path: str) -> LabelOptions:
    """Categories of a vis4d config (validated) or a Scalabel/BDD100K label config, with the label config if any."""
    from vis4d.data.mapping import is_label_config, label_config_from_dict, read_config_file

    raw = read_config_file(path)
    if is_label_config(raw):
        label_config = label_config_from_dict(raw, path)
        return LabelOptions(categories=list(label_config.categories), label_config=label_config)
    from vis4d.config.load import load_config

    return LabelOptions(categories=list(load_config(path).categories))


def load_for_stats(
    data_format: str, path: str, config: str | None = None, drop_unknown: bool = False
) -> AnnotationStore:
    """Load a dataset for statistics: categories from ``config``, else from the data itself."""
    fmt = get_format(data_format)
    if fmt.read is None:
        raise ConfigError(f"--format {data_format}: not a format of files on disk")
    labels = _categories_from_config(config) if config is not None else LabelOptions()
    labels.drop_unknown = drop_unknown
    return fmt.read(ReadRequest(Path(path), labels, progress=True))


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``vis4d data stats``."""
    parser = ArgumentParser(prog="vis4d data stats", description="Count videos, frames, boxes and tracks of a dataset.")
    parser.add_argument("--format", required=True, choices=format_names(lambda fmt: fmt.read))
    parser.add_argument(
        "--path",
        required=True,
        help="Label file or folder (scalabel/bdd100k), instances JSON (coco), root (motchallenge), image folder.",
    )
    parser.add_argument(
        "--config", default=None, help="A vis4d config or a BDD100K label config; its categories are used."
    )
    parser.add_argument("--drop-unknown", action="store_true", help="Drop categories the config does not know.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object instead of a table.")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``vis4d data stats``; exit code 0, or 2 on bad input (one-line message)."""
    try:
        args = build_parser().parse_args(argv)
        store = load_for_stats(args.format, args.path, args.config, args.drop_unknown)
    except Vis4DError as error:
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    stats = dataset_stats(store)
    sizes = _anchor_report(store, args.config)
    if sizes is not None:
        stats["box_sizes"] = sizes
    if args.json:
        print(json.dumps(stats))
    else:
        print(format_stats_table(stats, title=f"{Path(args.path).name} ({args.format})"), end="")
        if sizes is not None:
            print(format_box_sizes(sizes), end="")
    return 0


def _anchor_report(store: AnnotationStore, config_path: str | None) -> dict[str, Any] | None:
    """Box sizes against the anchors of a vis4d config (None for a label config or no config)."""
    from vis4d.data.mapping import is_label_config, read_config_file

    if config_path is None or is_label_config(read_config_file(config_path)):
        return None
    from vis4d.config.load import load_config

    return box_sizes_against_anchors(store, load_config(config_path))
