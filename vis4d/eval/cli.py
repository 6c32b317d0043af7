"""``vis4d eval``: evaluate prediction files against ground-truth files, without a model.

    vis4d eval --task det|track --gt GT --pred PRED [--config CFG] [--output FILE.json]

Formats (``--format``, detected when left at ``auto``):

* ``scalabel`` / ``bdd100k``: GT and PRED are Scalabel JSON files or folders of
  per-video files; predictions carry ``score`` (and ``id`` for tracking).
  ``bdd100k`` applies BDD100K's default label config (name mappings, ignored
  classes, super-categories).
* ``coco`` (det): GT is a COCO instances file, PRED a COCO results file.
* ``mot`` (track): GT is a MOTChallenge root (``SEQ/gt/gt.txt``), PRED a folder
  of ``SEQ.txt`` tracker outputs.

Categories come from ``--config`` (a vis4d config, or a Scalabel/BDD100K label
config which also gives the super-categories) or from the ground truth. The
metrics table is printed; ``--output`` writes ``{"det": {...}}`` or
``{"track": {...}}`` (fractions in [0, 1], counts as integers) atomically.
Errors print one line and exit with code 2.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vis4d.common.errors import ConfigError, DataError, Vis4DError
from vis4d.common.io import atomic_write_json
from vis4d.data.store import AnnotationStore
from vis4d.eval.detect import evaluate_detection
from vis4d.eval.report import format_metrics_table
from vis4d.eval.track import IgnoreRule, evaluate_tracking

FORMATS = ("auto", "scalabel", "bdd100k", "coco", "mot")
_SNIFF_BYTES = 1 << 20


@dataclass
class _Labels:
    """What ``--config`` contributes: categories, label config (mappings, super-categories)."""

    categories: list[str] | None = None
    label_config: Any = None
    name_mapping: dict[str, str] = field(default_factory=dict)
    ignored_mapping: dict[str, str] = field(default_factory=dict)
    dataset_type: str | None = None


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``vis4d eval``."""
    parser = argparse.ArgumentParser(
        prog="vis4d eval", description="Evaluate detection (COCO AP) or tracking (CLEAR MOT, IDF1, HOTA) files."
    )
    parser.add_argument("--task", required=True, choices=("det", "track"), help="What to evaluate.")
    parser.add_argument("--gt", required=True, help="Ground truth: Scalabel JSON file/folder, COCO JSON, MOT root.")
    parser.add_argument("--pred", required=True, help="Predictions: Scalabel JSON file/folder, COCO results JSON, "
                        "or a folder of MOTChallenge SEQ.txt files.")  # fmt: skip
    parser.add_argument("--format", default="auto", choices=FORMATS, help="Input format (default: detect).")
    parser.add_argument("--config", help="A vis4d config or a Scalabel/BDD100K label config (categories, mappings).")
    parser.add_argument("--output", help="Write the metrics as JSON to this file.")
    parser.add_argument("--iou-threshold", type=float, default=0.5, help="CLEAR/IDF1 match IoU (track; default 0.5).")
    parser.add_argument("--ignore-rule", default="auto", choices=("auto", "bdd100k", "mot"),
                        help="How predictions on ignore regions are removed (track; default: mot for MOTChallenge "
                        "input, else bdd100k).")  # fmt: skip
    parser.add_argument("--debug", action="store_true", help="Show tracebacks instead of one-line errors.")
    return parser


def detect_format(gt: Path) -> str:
    """Guess the ground truth's format from the path (and the first bytes of a JSON file)."""
    if not gt.exists():
        raise DataError(f"--gt: {gt} does not exist")
    if gt.is_dir():
        if any((seq / "gt" / "gt.txt").is_file() for seq in gt.iterdir() if seq.is_dir()):
            return "mot"
        return "scalabel"
    with open(gt, "rb") as handle:
        head = handle.read(_SNIFF_BYTES).decode("utf-8", errors="ignore").lstrip()
    if head.startswith("{") and ('"images"' in head or '"annotations"' in head) and '"frames"' not in head:
        return "coco"
    return "scalabel"


def _load_labels(path: str | None) -> _Labels:
    """Categories and mappings from a vis4d config or a Scalabel/BDD100K label config."""
    if path is None:
        return _Labels()
    from vis4d.data.mapping import is_label_config, label_config_from_dict, load_label_config, read_config_file

    if not Path(path).is_file():
        raise ConfigError(f"--config: {path} does not exist")
    raw = read_config_file(path)
    if is_label_config(raw):
        label_config = label_config_from_dict(raw, path)
        return _Labels(categories=list(label_config.categories), label_config=label_config)
    from vis4d.config.load import load_raw_config

    merged = load_raw_config(path)
    categories = merged.get("categories")
    if not isinstance(categories, list) or not all(isinstance(c, str) for c in categories) or not categories:
        raise ConfigError(f"{path}: categories: expected a list of category names")
    labels = _Labels(categories=categories)
    tests = merged.get("test") or []
    first = tests[0] if isinstance(tests, list) and tests and isinstance(tests[0], dict) else {}
    labels.dataset_type = first.get("type")
    labels.name_mapping = dict(first.get("name_mapping") or {})
    labels.ignored_mapping = dict(first.get("ignored_mapping") or {})
    if first.get("label_config"):
        labels.label_config = load_label_config(first["label_config"])
    return labels


def _super_categories(fmt: str, labels: _Labels) -> dict[str, list[str]] | None:
    if labels.label_config is not None and labels.label_config.super_categories:
        return dict(labels.label_config.super_categories)
    if fmt == "bdd100k" or labels.dataset_type == "bdd100k":
        from vis4d.data.datasets.bdd100k import bdd100k_track_label_config

        return dict(bdd100k_track_label_config().super_categories)
    return None


def load_inputs(task: str, fmt: str, gt_path: Path, pred_path: Path,
                labels: _Labels) -> tuple[AnnotationStore, AnnotationStore]:  # fmt: skip
    """Ground truth and predictions as stores with the same categories."""
    if not pred_path.exists():
        raise DataError(f"--pred: {pred_path} does not exist")
    mappings: dict[str, Any] = {
        "name_mapping": labels.name_mapping or None,
        "ignored_mapping": labels.ignored_mapping or None,
    }
    if fmt in ("scalabel", "bdd100k"):
        from vis4d.data.datasets.bdd100k import load_bdd100k
        from vis4d.data.datasets.scalabel import load_scalabel

        loader = load_bdd100k if fmt == "bdd100k" else load_scalabel
        categories = labels.categories
        if categories is None and fmt == "bdd100k":  # BDD100K's classes, not only those present in the ground truth
            from vis4d.data.datasets.bdd100k import bdd100k_track_label_config

            categories = list((labels.label_config or bdd100k_track_label_config()).categories)
        gt = loader(gt_path, categories, label_config=labels.label_config, progress=False, **mappings)
        pred = loader(pred_path, gt.categories, label_config=labels.label_config, progress=False, **mappings)
        return gt, pred
    if fmt == "coco":
        if task == "track":
            raise ConfigError("--format coco: COCO files have no track ids; use --task det")
        from vis4d.data.datasets.coco import load_coco

        gt = load_coco(gt_path, labels.categories, **mappings)
        return gt, load_coco(gt_path, gt.categories, results=pred_path, **mappings)
    if fmt == "mot":
        from vis4d.data.datasets.motchallenge import load_motchallenge

        gt = load_motchallenge(gt_path, labels.categories, **mappings)
        return gt, load_motchallenge(gt_path, gt.categories, results_dir=pred_path, **mappings)
    raise ConfigError(f"--format: expected one of {list(FORMATS)}, got {fmt!r}")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load, evaluate, print; returns ``{"det": ...}`` or ``{"track": ...}``."""
    gt_path, pred_path = Path(args.gt), Path(args.pred)
    labels = _load_labels(args.config)
    fmt = detect_format(gt_path) if args.format == "auto" else args.format
    if fmt == "scalabel" and labels.dataset_type == "bdd100k" and labels.label_config is None:
        fmt = "bdd100k"
    start = time.perf_counter()
    gt, pred = load_inputs(args.task, fmt, gt_path, pred_path, labels)
    loaded = time.perf_counter()
    if args.task == "det":
        metrics: dict[str, Any] = {"det": evaluate_detection(gt, pred, source=str(pred_path), gt_source=str(gt_path))}
    else:
        ignore_rule: IgnoreRule = "mot" if fmt == "mot" else "bdd100k"
        if args.ignore_rule != "auto":
            ignore_rule = args.ignore_rule
        metrics = {
            "track": evaluate_tracking(
                gt, pred, iou_threshold=args.iou_threshold, super_categories=_super_categories(fmt, labels),
                ignore_rule=ignore_rule, source=str(pred_path), gt_source=str(gt_path),
            )
        }  # fmt: skip
    done = time.perf_counter()
    print(format_metrics_table(metrics))
    print(
        f"\n{gt.num_frames} frames, {gt.num_boxes} ground-truth and {pred.num_boxes} predicted boxes; "
        f"loading {loaded - start:.2f}s, evaluation {done - loaded:.2f}s"
    )
    if args.output:
        atomic_write_json(args.output, metrics, indent=2)
        print(f"metrics: {args.output}")
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vis4d eval``; returns the exit code (2 for bad input)."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exit_:  # argparse: usage errors exit 2, --help exits 0
        return int(exit_.code or 0)
    try:
        run(args)
    except Vis4DError as error:
        if args.debug:
            raise
        print(f"vis4d eval: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
