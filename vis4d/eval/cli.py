"""``vis4d eval``: evaluate prediction files against ground-truth files, without a model.

    vis4d eval --task det|track --gt GT --pred PRED [--config CFG] [--output FILE.json]
               [--metrics clear,identity,hota,teta] [--per-video [CSV]] [--sort-by FIELD]

Formats (``--format``, detected when left at ``auto``):

* ``scalabel`` / ``bdd100k``: GT and PRED are Scalabel JSON files or folders of
  per-video files; predictions carry ``score`` (and ``id`` for tracking).
  ``bdd100k`` applies BDD100K's default label config (name mappings, ignored
  classes, super-categories).
* ``coco`` (det): GT is a COCO instances file, PRED a COCO results file.
* ``motchallenge`` (track): GT is a MOTChallenge root (``SEQ/gt/gt.txt``), PRED a folder
  of ``SEQ.txt`` tracker outputs (sequences without one are left out, with a
  warning); or GT one sequence's ``gt.txt`` and PRED its ``SEQ.txt``.

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

``--metrics`` picks the tracking metrics by their registry names
(:data:`vis4d.eval.track.METRICS`; default: CLEAR, Identity, HOTA; ``teta``
adds TETA). ``--per-video`` also prints every metric per video (all classes of
a video pooled), sorted worst first by ``--sort-by`` (default: the first
headline metric, e.g. MOTA), and writes the same table as CSV (fractions) to
the path given, else beside ``--output`` (``<output>.per_video.csv``), else
to ``per_video.csv``.

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

from vis4d.common.errors import ConfigError, MissingScoreError
from vis4d.common.io import atomic_open, atomic_write_json
from vis4d.common.parser import ArgumentParser, run_command
from vis4d.common.paths import check_output_file
from vis4d.data.formats import DataFormat
from vis4d.data.pairs import FORMAT_CHOICES, LabelOptions, load_gt_and_predictions, load_label_options, resolve_format
from vis4d.data.store import AnnotationStore
from vis4d.eval.conventions import format_conventions
from vis4d.eval.detect import evaluate_detection
from vis4d.eval.summary import summarize_metrics
from vis4d.eval.tables import format_metrics_table, format_per_video_table, per_video_csv
from vis4d.eval.track import DEFAULT_METRICS, IGNORE_RULES, METRICS, evaluate_tracking, select_metrics


def build_parser() -> argparse.ArgumentParser:
    """Arguments of ``vis4d eval``."""
    parser = ArgumentParser(
        prog="vis4d eval",
        description="Evaluate detection (COCO AP) or tracking (CLEAR MOT, IDF1, HOTA, TETA) files.",
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
    parser.add_argument("--metrics", help=f"Tracking metrics, a comma list of {', '.join(METRICS)} (track; "
                        f"default: {','.join(DEFAULT_METRICS)}).")  # fmt: skip
    parser.add_argument("--per-video", nargs="?", const="", metavar="CSV",
                        help="Also show every metric per video, worst first, and write it as CSV to CSV (default: "
                        "beside --output, else per_video.csv) (track).")  # fmt: skip
    parser.add_argument("--sort-by", help="Field that orders --per-video, lowest first (default: the first "
                        "headline metric, e.g. MOTA).")  # fmt: skip
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


def metric_names(args: argparse.Namespace) -> list[str] | None:
    """``--metrics`` as registry names (None: the defaults), checked."""
    if args.metrics is None:
        return None
    names = [name.strip().lower() for name in args.metrics.split(",") if name.strip()]
    select_metrics(names, "--metrics")
    return names


def per_video_path(args: argparse.Namespace) -> Path | None:
    """Where ``--per-video`` writes its CSV (None: not asked)."""
    if args.per_video is None:
        return None
    if args.per_video:
        return Path(args.per_video)
    return Path(f"{args.output}.per_video.csv" if args.output else "per_video.csv")


def check_options(args: argparse.Namespace) -> None:
    """What can be checked before loading anything: the IoU threshold, the metrics and where results go."""
    if not 0 < args.iou_threshold <= 1:
        raise ConfigError(f"--iou-threshold: expected an IoU in (0, 1], got {args.iou_threshold:g}")
    for option in ("metrics", "per_video", "sort_by"):
        if args.task == "det" and getattr(args, option) is not None:
            raise ConfigError(f"--{option.replace('_', '-')}: only for --task track")
    chosen = select_metrics(metric_names(args), "--metrics")
    fields = [f for metric in chosen for f in (*metric.ratio_fields, *metric.count_fields)]
    if args.sort_by is not None and args.sort_by not in fields:
        raise ConfigError(
            f"--sort-by: {args.sort_by!r} is not a field of the metrics computed; expected one of {fields}"
        )
    if args.output:
        check_output_file(args.output, "--output")
    csv_path = per_video_path(args)
    if csv_path is not None:
        check_output_file(str(csv_path), "--per-video")


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
                metrics=metric_names(args),
                per_video=args.per_video is not None,
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
    csv_path = per_video_path(args)
    if csv_path is not None:
        print(f"\n{format_per_video_table(metrics['track'], args.sort_by)}")
        with atomic_open(csv_path, "w") as handle:
            handle.write(per_video_csv(metrics["track"], args.sort_by))
        print(f"per-video metrics: {csv_path}")
    if args.output:
        atomic_write_json(args.output, metrics, indent=2)
        print(f"metrics: {args.output}")
    return metrics


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vis4d eval``; returns the exit code (2 for bad input)."""
    return run_command(build_parser(), run, argv)


if __name__ == "__main__":
    sys.exit(main())
