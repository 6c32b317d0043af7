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
    if args.json:
        print(json.dumps(stats))
    else:
        print(format_stats_table(stats, title=f"{Path(args.path).name} ({args.format})"), end="")
    return 0
