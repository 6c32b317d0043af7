"""Tracking metrics (CLEAR MOT, Identity, HOTA, TETA), vectorised over whole datasets, and their registry.

CLEAR, Identity and HOTA are TrackEval's (``trackeval.metrics``, fed by its
BDD100K or MOTChallenge dataset preprocessing), TETA is SysCV's ``teta``
package's; parity tests pin them to 1e-6.

The package follows TrackEval's plain layout: :mod:`.prepare` checks the
inputs and builds the flat arrays of a *view* (per class, with the
ignore-region rules of :mod:`.ignore`, or class-agnostic), :mod:`.matching`
solves per-frame assignments only where candidates conflict, and each metric
is one file on the protocol of :mod:`.base`, registered in :data:`METRICS`.
:func:`evaluate_tracking` runs the chosen metrics and combines sequences into
classes, classes into the mean, overall and super-category rows, and (if
asked) classes of a video into a per-video row.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common.errors import ConfigError, DataError
from vis4d.data.store import AnnotationStore
from vis4d.eval.parts import Part, part_count, run_threads, video_parts
from vis4d.eval.track.base import EvalOptions, Raw, TrackMetric, View
from vis4d.eval.track.clear import CLEAR
from vis4d.eval.track.count import Count
from vis4d.eval.track.hota import HOTA
from vis4d.eval.track.identity import Identity
from vis4d.eval.track.ignore import IGNORE_RULES, IgnoreRule
from vis4d.eval.track.prepare import FramePairs, prepare, prepare_agnostic, validate
from vis4d.eval.track.teta import TETA

__all__ = [
    "COUNT_FIELDS",
    "DEFAULT_METRICS",
    "IGNORE_RULES",
    "METRICS",
    "METRIC_NAMES",
    "RATIO_FIELDS",
    "EvalOptions",
    "IgnoreRule",
    "TrackMetric",
    "evaluate_tracking",
    "select_metrics",
]

# The registry: one line per metric. Order is the order of fields in metrics.json and of table columns.
METRICS: dict[str, TrackMetric] = {
    metric.name: metric
    for metric in (
        CLEAR(),
        Identity(),
        HOTA(),
        TETA(),
        Count(),
    )
}
DEFAULT_METRICS: tuple[str, ...] = tuple(name for name, metric in METRICS.items() if metric.default)
RATIO_FIELDS: tuple[str, ...] = tuple(field for metric in METRICS.values() for field in metric.ratio_fields)
COUNT_FIELDS: tuple[str, ...] = tuple(field for metric in METRICS.values() for field in metric.count_fields)
METRIC_NAMES: tuple[str, ...] = RATIO_FIELDS + COUNT_FIELDS
_ALWAYS = "count"  # which classes are listed and averaged follows from its ground-truth counts

GroupRaw = list[Raw]  # raw statistics of one group (a class, a video, all classes): one dict per metric


def select_metrics(names: Sequence[str] | None, option: str = "metrics") -> list[TrackMetric]:
    """The registered metrics named (default: every metric with ``default``), in registry order, counts included."""
    wanted = {name for name, metric in METRICS.items() if metric.default} if names is None else set(names)
    unknown = sorted(wanted - set(METRICS))
    if unknown:
        raise ConfigError(f"{option}: unknown tracking metric(s) {unknown}; expected some of {list(METRICS)}")
    return [metric for name, metric in METRICS.items() if name in wanted or name == _ALWAYS]


def _finalize(metrics: Sequence[TrackMetric], raws: GroupRaw) -> dict[str, float | int]:
    """Every metric's ratios, then every metric's counts (the order of ``metrics.json``)."""
    out: dict[str, float | int] = {}
    for metric, raw in zip(metrics, raws, strict=True):
        out.update(metric.finalize(raw))
    for metric, raw in zip(metrics, raws, strict=True):
        out.update(metric.counts(raw))
    return out


def _pool(metrics: Sequence[TrackMetric], groups: Sequence[GroupRaw]) -> GroupRaw:
    """Combine groups (e.g. classes) into one, as TrackEval's detection-averaged combination does."""
    return [
        metric.combine({key: np.stack([group[i][key] for group in groups]) for key in groups[0][i]})
        for i, metric in enumerate(metrics)
    ]


def _class_mean(metrics: Sequence[TrackMetric], finals: Sequence[Mapping[str, float | int]],
                all_finals: Sequence[Mapping[str, float | int]]) -> dict[str, float | int | None]:  # fmt: skip
    """Ratios averaged over classes with ground truth (mMOTA, mIDF1, mHOTA, mTETA); counts summed over all classes."""
    ratios = [f for metric in metrics for f in metric.ratio_fields]
    out: dict[str, float | int | None] = {
        key: (float(np.mean([f[key] for f in finals])) if finals else None) for key in ratios
    }
    for key in (f for metric in metrics for f in metric.count_fields):
        out[key] = int(sum(int(f[key]) for f in all_finals))
    return out


def _group(metrics: Sequence[TrackMetric], per_seq: GroupRaw, seqs: Any) -> GroupRaw:
    return [metric.combine({key: v[seqs] for key, v in raw.items()}) for metric, raw in zip(metrics, per_seq)]


def _compute(chosen: Sequence[TrackMetric], part: Part, ignore_rule: IgnoreRule, options: EvalOptions) -> GroupRaw:
    """Every chosen metric's raw statistics on one part of the dataset (whole videos), each view built once."""
    gt, pred, frame_rows = part.gt, part.pred, part.frame_rows
    needed = list(dict.fromkeys(metric.view for metric in chosen if metric.view is not None)) or ["per_class"]
    pairs = FramePairs(gt, pred, frame_rows) if len(needed) > 1 else None  # one interval join for both views
    builders: dict[View, Callable[[], Any]] = {
        "per_class": lambda: prepare(gt, pred, frame_rows, ignore_rule, pairs),
        "class_agnostic": lambda: prepare_agnostic(gt, pred, frame_rows, options.skip_frames_without_gt, pairs),
    }
    results: dict[int, Raw] = {}
    for view in needed:
        data = builders[view]()
        results.update({i: metric.compute(data, options) for i, metric in enumerate(chosen)
                        if metric.view == view or (metric.view is None and view == needed[0])})  # fmt: skip
    return [results[i] for i in range(len(chosen))]


def _compute_all(
    chosen: Sequence[TrackMetric],
    gt: AnnotationStore,
    pred: AnnotationStore,
    frame_rows: npt.NDArray[np.int64],
    ignore_rule: IgnoreRule,
    options: EvalOptions,
) -> GroupRaw:
    """Raw statistics per sequence of the whole dataset: its parts of whole videos scored in threads, concatenated.

    Sequences are (video, class), numbered video by video, so the parts'
    results concatenate in order (:mod:`vis4d.eval.parts`).
    """
    parts = video_parts(gt, pred, frame_rows, part_count(gt.num_boxes + pred.num_boxes))
    results = run_threads(lambda part: _compute(chosen, part, ignore_rule, options), parts)
    return [{key: np.concatenate([r[i][key] for r in results]) for key in results[0][i]} for i in range(len(chosen))]


def evaluate_tracking(
    gt: AnnotationStore,
    pred: AnnotationStore,
    iou_threshold: float = 0.5,
    super_categories: Mapping[str, Sequence[str]] | None = None,
    ignore_rule: IgnoreRule = "bdd100k",
    source: str = "predictions",
    gt_source: str = "ground truth",
    metrics: Sequence[str] | None = None,
    exhaustive_labels: bool = True,
    skip_frames_without_gt: bool = False,
    per_video: bool = False,
) -> dict[str, Any]:
    """Tracking metrics of ``pred`` (with track ids) against ``gt``: CLEAR MOT, Identity, HOTA, and TETA if asked.

    Returns ``{"per_class": {name: metrics}, "mean": metrics, "overall":
    metrics}``; ``"super_categories": {name: metrics}`` when
    ``super_categories`` ({"human": ["pedestrian", "rider"], ...}) is given;
    ``"per_video": {video: metrics}`` (all classes of the video pooled) with
    ``per_video``. ``metrics`` holds ratios as fractions and integer counts of
    the metrics named in ``metrics`` (keys of :data:`METRICS`; default
    :data:`DEFAULT_METRICS`). ``per_class`` lists classes with ground truth
    or predictions; "mean" averages ratios over classes with ground truth
    (counts summed), "overall" and super-categories pool the counts of their
    classes first (TrackEval's detection-averaged combination).
    ``iou_threshold`` is the CLEAR/Identity match threshold; ``ignore_rule``
    the benchmark's treatment of predictions on ignore regions
    (:mod:`vis4d.eval.track.ignore`); ``exhaustive_labels`` and
    ``skip_frames_without_gt`` its labelling conventions
    (:class:`~vis4d.eval.track.base.EvalOptions`). ``source``/``gt_source``
    name the inputs in error messages.
    """
    if ignore_rule not in IGNORE_RULES:
        raise ConfigError(f"ignore_rule: expected one of {list(IGNORE_RULES)}, got {ignore_rule!r}")
    if not 0.0 < iou_threshold <= 1.0:
        raise ConfigError(f"iou_threshold: expected a value in (0, 1], got {iou_threshold}")
    chosen = select_metrics(metrics)
    frame_rows = validate(gt, pred, source, gt_source)
    options = EvalOptions(iou_threshold, exhaustive_labels, skip_frames_without_gt)
    per_seq = _compute_all(chosen, gt, pred, frame_rows, ignore_rule, options)
    categories = list(gt.categories)
    k = len(categories)
    if k == 0:
        raise DataError("tracking evaluation: the ground truth names no category (no boxes, no label config); "
                        "nothing to evaluate")  # fmt: skip
    num_seq = gt.num_videos * k
    per_class = [_group(chosen, per_seq, np.arange(c, num_seq, k)) for c in range(k)]
    finals = [_finalize(chosen, raws) for raws in per_class]
    present = [c for c in range(k) if finals[c]["num_gt_dets"] > 0 or finals[c]["num_pred_dets"] > 0]
    with_gt = [c for c in range(k) if finals[c]["num_gt_dets"] > 0]
    result: dict[str, Any] = {
        "per_class": {categories[c]: finals[c] for c in present},
        "mean": _class_mean(chosen, [finals[c] for c in with_gt], finals),
        "overall": _finalize(chosen, _pool(chosen, per_class)),
    }
    if super_categories is not None:
        supers: dict[str, Any] = {}
        for name, members in super_categories.items():
            idx = [categories.index(m) for m in members if m in categories]
            if idx:
                supers[name] = _finalize(chosen, _pool(chosen, [per_class[c] for c in idx]))
        result["super_categories"] = supers
    if per_video:
        result["per_video"] = {
            str(gt.video_names[v]): _finalize(chosen, _group(chosen, per_seq, np.arange(v * k, (v + 1) * k)))
            for v in range(gt.num_videos)
        }
    return result
