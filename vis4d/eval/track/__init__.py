"""CLEAR MOT, Identity (IDF1) and HOTA metrics, vectorised over whole datasets.

The numbers are TrackEval's (``trackeval.metrics.CLEAR``, ``Identity``,
``HOTA`` and ``Count`` with IoU similarity, fed by its BDD100K or
MOTChallenge dataset preprocessing); the parity tests pin them to 1e-6. Each
class is evaluated on its own, as BDD100K and TrackEval do.

The package follows TrackEval's plain layout: :mod:`.prepare` checks the
inputs and builds flat arrays (with the ignore-region rules of
:mod:`.ignore`), :mod:`.matching` solves per-frame assignments only where
candidates conflict, and each metric is one file on the protocol of
:mod:`.base` (:mod:`.clear`, :mod:`.identity`, :mod:`.hota`, :mod:`.count`).
:func:`evaluate_tracking` runs them all and combines sequences into classes,
classes into the mean, overall and super-category rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from vis4d.common.errors import ConfigError
from vis4d.data.store import AnnotationStore
from vis4d.eval.track.base import Raw, TrackMetric
from vis4d.eval.track.clear import CLEAR
from vis4d.eval.track.count import Count
from vis4d.eval.track.hota import HOTA
from vis4d.eval.track.identity import Identity
from vis4d.eval.track.ignore import IGNORE_RULES, IgnoreRule
from vis4d.eval.track.prepare import prepare, validate

__all__ = [
    "COUNT_FIELDS",
    "IGNORE_RULES",
    "METRICS",
    "METRIC_NAMES",
    "RATIO_FIELDS",
    "IgnoreRule",
    "TrackMetric",
    "evaluate_tracking",
]

METRICS: tuple[TrackMetric, ...] = (CLEAR(), Identity(), HOTA(), Count())
RATIO_FIELDS: tuple[str, ...] = tuple(field for metric in METRICS for field in metric.ratio_fields)
COUNT_FIELDS: tuple[str, ...] = tuple(field for metric in METRICS for field in metric.count_fields)
METRIC_NAMES: tuple[str, ...] = RATIO_FIELDS + COUNT_FIELDS

# Raw statistics of one group (a class, all classes, a super-category): one dict per metric, in METRICS order.
GroupRaw = list[Raw]


def _finalize(raws: GroupRaw) -> dict[str, float | int]:
    """Every metric's ratios, then every metric's counts (the order of ``metrics.json``)."""
    out: dict[str, float | int] = {}
    for metric, raw in zip(METRICS, raws, strict=True):
        out.update(metric.finalize(raw))
    for metric, raw in zip(METRICS, raws, strict=True):
        out.update(metric.counts(raw))
    return out


def _pool(groups: Sequence[GroupRaw]) -> GroupRaw:
    """Combine groups (e.g. classes) into one, as TrackEval's detection-averaged combination does."""
    return [
        metric.combine({key: np.stack([group[i][key] for group in groups]) for key in groups[0][i]})
        for i, metric in enumerate(METRICS)
    ]


def _class_mean(
    finals: Sequence[Mapping[str, float | int]], all_finals: Sequence[Mapping[str, float | int]]
) -> dict[str, float | int | None]:
    """Ratios averaged over classes with ground truth (mMOTA, mIDF1, mHOTA); counts summed over all classes."""
    out: dict[str, float | int | None] = {
        key: (float(np.mean([f[key] for f in finals])) if finals else None) for key in RATIO_FIELDS
    }
    for key in COUNT_FIELDS:
        out[key] = int(sum(int(f[key]) for f in all_finals))
    return out


def evaluate_tracking(
    gt: AnnotationStore,
    pred: AnnotationStore,
    iou_threshold: float = 0.5,
    super_categories: Mapping[str, Sequence[str]] | None = None,
    ignore_rule: IgnoreRule = "bdd100k",
    source: str = "predictions",
    gt_source: str = "ground truth",
) -> dict[str, Any]:
    """CLEAR MOT, Identity and HOTA metrics of ``pred`` (with track ids) against ``gt``.

    Returns ``{"per_class": {name: metrics}, "mean": metrics, "overall":
    metrics}`` and, when ``super_categories`` ({"human": ["pedestrian",
    "rider"], ...}) is given, ``"super_categories": {name: metrics}``.
    ``metrics`` holds ratios as fractions (:data:`RATIO_FIELDS`) and integer
    counts (:data:`COUNT_FIELDS`). ``per_class`` lists classes with ground
    truth or predictions; "mean" averages ratios over classes with ground
    truth (counts summed), "overall" and super-categories pool the counts of
    their classes first (TrackEval's detection-averaged combination).
    ``iou_threshold`` is the CLEAR/Identity match threshold; ``ignore_rule``
    the benchmark's treatment of predictions on ignore regions
    (:mod:`vis4d.eval.track.ignore`). ``source``/``gt_source`` name the
    inputs in error messages.
    """
    if ignore_rule not in IGNORE_RULES:
        raise ConfigError(f"ignore_rule: expected one of {list(IGNORE_RULES)}, got {ignore_rule!r}")
    if not 0.0 < iou_threshold <= 1.0:
        raise ConfigError(f"iou_threshold: expected a value in (0, 1], got {iou_threshold}")
    data = prepare(gt, pred, validate(gt, pred, source, gt_source), ignore_rule)
    per_seq = [metric.compute(data, iou_threshold) for metric in METRICS]
    categories = list(gt.categories)
    num_classes = len(categories)
    per_class: list[GroupRaw] = []
    for k in range(num_classes):
        seqs = np.arange(k, data.num_seq, num_classes)
        per_class.append(
            [metric.combine({key: v[seqs] for key, v in raw.items()}) for metric, raw in zip(METRICS, per_seq)]
        )
    finals = [_finalize(raws) for raws in per_class]
    present = [k for k in range(num_classes) if finals[k]["num_gt_dets"] > 0 or finals[k]["num_pred_dets"] > 0]
    with_gt = [k for k in range(num_classes) if finals[k]["num_gt_dets"] > 0]
    result: dict[str, Any] = {
        "per_class": {categories[k]: finals[k] for k in present},
        "mean": _class_mean([finals[k] for k in with_gt], finals),
        "overall": _finalize(_pool(per_class)),
    }
    if super_categories is not None:
        supers: dict[str, Any] = {}
        for name, members in super_categories.items():
            idx = [categories.index(m) for m in members if m in categories]
            if idx:
                supers[name] = _finalize(_pool([per_class[k] for k in idx]))
        result["super_categories"] = supers
    return result
