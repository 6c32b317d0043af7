"""``vis4d eval``: evaluate prediction files against ground-truth files, without a model.

    vis4d eval --task det|track --gt GT --pred PRED [--config CFG] [--output FILE.json]

Formats (``--format``, detected when left at ``auto``):

* ``scalabel`` / ``bdd100k``: GT and PRED are Scalabel JSON files or folders of
  per-video files; predictions carry ``score`` (and ``id`` for tracking).
  ``bdd100k`` applies BDD100K's default label config (name mappings, ignored
  classes, super-categories).
* ``coco`` (det): GT is a COCO instances file, PRED a COCO results file.
* ``motchallenge`` (track): GT is a MOTChallenge root (``SEQ/gt/gt.txt``), PRED a folder
  of ``SEQ.txt`` tracker outputs.

Categories come from ``--config`` (a vis4d config, or a Scalabel/BDD100K label
config which also gives the super-categories) or from the ground truth. The
metrics table is printed (ratios in percent); ``--output`` writes ``{"det":
{...}}`` or ``{"track": {...}}`` (fractions in [0, 1], counts as integers)
and ``"summary"``, the headline numbers (:mod:`vis4d.eval.summary`), atomically.

Predictions of a category the ground truth does not have (a detector trained
on more classes) are an error naming each category with its box count;
``--drop-unknown`` (as in ``vis4d data stats``) leaves them out with one
warning line giving the same counts, and drops ground-truth boxes of
categories ``--config`` does not list.

A prediction without a score is an error (it would be scored 1.0 and change
every AP); ``--assume-score-1`` scores such predictions 1.0. Errors print one
line ``error: ...`` and exit with code 2; options are checked before anything
is loaded.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vis4d.common.errors import ConfigError, MissingScoreError, Vis4DError, one_line
from vis4d.common.io import atomic_write_json
from vis4d.common.parser import ArgumentParser
from vis4d.common.paths import check_output_file
from vis4d.data.formats import DataFormat
from vis4d.data.pairs import FORMAT_CHOICES, LabelOptions, load_gt_and_predictions, load_label_options, resolve_format
from vis4d.data.store import AnnotationStore
from vis4d.eval.conventions import format_conventions
from vis4d.eval.detect import evaluate_detection
from vis4d.eval.summary import summarize_metrics
from vis4d.eval.tables import format_metrics_table
from vis4d.eval.track import IGNORE_RULES, evaluate_tracking


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``vis4d eval``."""
    parser = ArgumentParser(
        prog="vis4d eval", description="Evaluate detection (COCO AP) or tracking (CLEAR MOT, IDF1, HOTA) files."
    )
    parser.add_argument("--task", required=True, choices=("det", "track"), help="What to evaluate.")
    parser.add_argument("--gt", required=True, help="Ground truth: Scalabel JSON file/folder, COCO JSON, MOT root.")
    parser.add_argument("--pred", required=True, help="Predictions: Scalabel JSON file/folder, COCO results JSON, "
                        "or a folder of MOTChallenge SEQ.txt files.")  # fmt: skip
    parser.add_argument("--format", default="auto", choices=FORMAT_CHOICES, help="Input format (default: detect).")
    parser.add_argument("--config", help="A vis4d config or a Scalabel/BDD100K label config (categories, mappings).")
    parser.add_argument("--output", help="Write the metrics as JSON to this file.")
    parser.add_argument("--iou-threshold", type=float, default=0.5, help="CLEAR/IDF1 match IoU in (0, 1] (track; "
                        "default 0.5).")  # fmt: skip
    parser.add_argument("--assume-score-1", dest="assume_score", action="store_true",
                        help="Score predictions that have no score 1.0 (default: they are an error).")  # fmt: skip
    parser.add_argument("--drop-unknown", action="store_true",
                        help="Leave out predictions of categories the ground truth does not have (counted, "
                        "one warning) and ground truth of categories --config does not list (default: an "
                        "error).")  # fmt: skip
    parser.add_argument("--ignore-rule", default="auto", choices=("auto", *IGNORE_RULES),
                        help="How predictions on ignore regions are removed (track; default: the format's rule, "
                        "motchallenge for MOTChallenge input, else bdd100k).")  # fmt: skip
    parser.add_argument("--debug", action="store_true", help="Show tracebacks instead of one-line errors.")
    return parser


def load_inputs(task: str, fmt: DataFormat, gt_path: Path, pred_path: Path, labels: LabelOptions,
                assume_score: bool = False) -> tuple[AnnotationStore, AnnotationStore]:  # fmt: skip
    """Ground truth and predictions as stores with the same categories."""
    if task == "track" and not fmt.track_ids:
        raise ConfigError(f"--format {fmt.name}: {fmt.name.upper()} files have no track ids; use --task det")
    try:
        return load_gt_and_predictions(fmt, gt_path, pred_path, labels, assume_missing_scores=assume_score)
    except MissingScoreError as error:
        raise MissingScoreError(f"{error}; --assume-score-1 scores such predictions 1.0") from None


def check_options(args: argparse.Namespace) -> None:
    """What can be checked before loading anything: the IoU threshold and where the metrics go."""
    if not 0 < args.iou_threshold <= 1:
        raise ConfigError(f"--iou-threshold: expected an IoU in (0, 1], got {args.iou_threshold:g}")
    if args.output:
        check_output_file(args.output, "--output")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Load, evaluate, print; returns ``{"det": ...}`` or ``{"track": ...}``, and ``"summary"``."""
    check_options(args)
    gt_path, pred_path = Path(args.gt), Path(args.pred)
    labels = load_label_options(args.config)
    labels.drop_unknown = args.drop_unknown
    fmt = resolve_format(args.format, gt_path, labels)
    start = time.perf_counter()
    gt, pred = load_inputs(args.task, fmt, gt_path, pred_path, labels, args.assume_score)
    loaded = time.perf_counter()
    if args.task == "det":
        metrics: dict[str, Any] = {"det": evaluate_detection(gt, pred, source=str(pred_path), gt_source=str(gt_path))}
    else:
        conventions = format_conventions(fmt, labels.label_config)
        if args.ignore_rule != "auto":
            conventions = dataclasses.replace(conventions, ignore_rule=args.ignore_rule)
        metrics = {
            "track": evaluate_tracking(
                gt,
                pred,
                iou_threshold=args.iou_threshold,
                source=str(pred_path),
                gt_source=str(gt_path),
                **conventions.as_kwargs(),
            )
        }
    done = time.perf_counter()
    metrics["summary"] = summarize_metrics(metrics)
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
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        run(build_parser().parse_args(words))
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    except Vis4DError as error:
        if "--debug" in words:
            raise
        print(f"error: {one_line(error)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
