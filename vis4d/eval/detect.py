"""COCO box AP/AR, computed with numpy arrays instead of per-box Python objects.

The numbers are those of pycocotools' ``COCOeval`` (``iouType="bbox"``, default
parameters) on the same boxes; the parity tests pin this to 1e-6. The
algorithm is COCOeval's, reorganised so that nothing loops over boxes or
images in Python:

* IoUs are computed for the intersecting (detection, ground truth) pairs of
  the same image and class, found by one sweep; crowd/ignore boxes use
  intersection over the detection's area, exactly as ``maskUtils.iou`` does
  for ``iscrowd``.
* COCOeval's greedy matching (detections by descending score, each taking the
  best still-free ground truth, non-ignored ones first, ties to the later one)
  is sequential only *within* one image and class. We run it in rounds: round
  ``r`` matches the ``r``-th detection of every image/class cell at once, for
  all 10 IoU thresholds and 4 area ranges together. A detection whose only
  candidate no other detection can take needs no round (closed form).
  Images are independent: ranges of whole images are matched in threads.
* Accumulation (:mod:`vis4d.eval.accumulate`) takes the detections in
  COCOeval's order (radix sorts of the scores' float32 bits) and reads
  precision at the 101 recall points like ``COCOeval.accumulate``, classes in
  threads.

Why not call pycocotools / faster-coco-eval: both take one Python dict per
box and loop over (image, class) in Python; on BDD100K-val sized input that
costs more than the whole evaluation here (see ``benchmarks/bench_eval.py``).

Ground-truth boxes flagged ``ignore`` (crowd regions and ignored classes) are
COCO ``iscrowd`` boxes: never counted as positives, and detections on them are
neither true nor false positives. Box area (for the small/medium/large ranges)
is the box's width times height.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common.arrays import stable_argsort
from vis4d.data.store import AnnotationStore
from vis4d.eval.accumulate import accumulate
from vis4d.eval.common import (
    align_frames,
    check_categories,
    check_finite,
    ordered_float_bits,
    overlapping_pairs,
    segment_starts,
)
from vis4d.eval.parts import part_count, run_threads

IOU_THRESHOLDS = np.linspace(0.5, 0.95, int(np.round((0.95 - 0.5) / 0.05)) + 1, endpoint=True)
AREA_RANGES = np.array([[0.0, 1e5**2], [0.0, 32.0**2], [32.0**2, 96.0**2], [96.0**2, 1e5**2]])
AREA_NAMES = ("all", "small", "medium", "large")
MAX_DETS = (1, 10, 100)

# (key, is_ap, IoU-threshold index or None, area index, max-dets index): COCOeval.summarize's 12 stats.
_SUMMARY = (
    ("AP", True, None, 0, 2),
    ("AP50", True, 0, 0, 2),
    ("AP75", True, 5, 0, 2),
    ("APs", True, None, 1, 2),
    ("APm", True, None, 2, 2),
    ("APl", True, None, 3, 2),
    ("AR1", False, None, 0, 0),
    ("AR10", False, None, 0, 1),
    ("AR100", False, None, 0, 2),
    ("ARs", False, None, 1, 2),
    ("ARm", False, None, 2, 2),
    ("ARl", False, None, 3, 2),
)
METRIC_NAMES = tuple(s[0] for s in _SUMMARY)


def xyxy_to_xywh(boxes: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """COCO ``[x, y, w, h]`` in float64 from ``xyxy`` (the form the IoU below is defined on)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    out = np.empty_like(b)
    out[:, :2] = b[:, :2]
    np.subtract(b[:, 2:], b[:, :2], out=out[:, 2:])
    return out


def coco_box_iou(
    dt_xywh: npt.NDArray[np.float64], gt_xywh: npt.NDArray[np.float64], gt_crowd: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """IoU of aligned (detection, ground truth) pairs, the same float operations as ``maskUtils.iou``.

    For a crowd ground truth the denominator is the detection's area (IoF).
    """
    dx, dy, dw, dh = dt_xywh.T
    gx, gy, gw, gh = gt_xywh.T
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    inter = w * h
    d_area = dw * dh
    union = np.where(gt_crowd, d_area, d_area + gw * gh - inter)
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = inter / union
    return np.where((w > 0) & (h > 0), iou, 0.0)


@dataclasses.dataclass
class _Candidates:
    """(detection, ground truth) pairs of the same image and class that can match, with their IoU."""

    dt: npt.NDArray[np.int64]
    gt: npt.NDArray[np.int64]
    iou: npt.NDArray[np.float64]


def _greedy_match(
    pairs: _Candidates, dt_rank: npt.NDArray[np.int64], gt_ignore: Any, gt_crowd: npt.NDArray[np.bool_], dt_outside: Any
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """COCOeval's greedy matching for every IoU threshold and area range at once: (true, false) positives (D, T, A).

    ``gt_ignore`` is (G, A): crowd or outside the area range; ``dt_outside``
    (D, A): the detection is outside the area range. A detection matched to
    an ignored ground truth, or unmatched and outside the range, is neither.
    """
    num_thr, num_area = len(IOU_THRESHOLDS), gt_ignore.shape[1]
    thresholds = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)[None, :, None]
    false_pos = np.repeat(~dt_outside[:, None, :], num_thr, axis=1)  # unmatched until matched
    true_pos = np.zeros(false_pos.shape, dtype=bool)
    # A detection whose only candidate is a (non-crowd) ground truth no other detection can take matches it at every
    # threshold its IoU reaches, whatever the order: only the other pairs need the greedy rounds.
    pair_dt, pair_gt, pair_iou = pairs.dt, pairs.gt, pairs.iou
    alone = (np.bincount(pair_dt)[pair_dt] == 1) & (np.bincount(pair_gt)[pair_gt] == 1) & ~gt_crowd[pair_gt]
    reached = (pair_iou[alone][:, None] >= thresholds[0, :, 0][None, :])[:, :, None]  # (pairs, T, 1)
    true_pos[pair_dt[alone]] = reached & ~gt_ignore[pair_gt[alone]][:, None, :]
    false_pos[pair_dt[alone]] &= ~reached
    pair_dt, pair_gt, pair_iou = pair_dt[~alone], pair_gt[~alone], pair_iou[~alone]
    if len(pair_dt) == 0:
        return true_pos, false_pos
    dets, local = np.unique(pair_dt, return_inverse=True)  # the detections of the greedy rounds
    matched_gt = np.full((len(dets), num_thr, num_area), -1, dtype=np.int32 if len(gt_ignore) < 2**31 else np.int64)
    gt_taken = np.zeros((len(gt_ignore), num_thr, num_area), dtype=bool)
    # Pairs grouped by the detection's rank within its cell; inside a round, by detection then ground truth.
    order = np.argsort(dt_rank[pair_dt], kind="stable")
    pair_dt, pair_gt, pair_iou, local = pair_dt[order], pair_gt[order], pair_iou[order], local.reshape(-1)[order]
    round_starts = segment_starts(dt_rank[pair_dt])
    round_ends = np.append(round_starts[1:], len(pair_dt))
    gt_regular = ~gt_ignore
    for lo, hi in zip(round_starts.tolist(), round_ends.tolist(), strict=True):
        dts, gts, ious = pair_dt[lo:hi], pair_gt[lo:hi], pair_iou[lo:hi]
        starts = segment_starts(dts)
        seg = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, len(dts))))
        eligible = (ious[:, None, None] >= thresholds) & (~gt_taken[gts] | gt_crowd[gts][:, None, None])
        # Non-ignored ground truths win over ignored ones, then the highest IoU, then the later box.
        regular = np.broadcast_to(gt_regular[gts][:, None, :], eligible.shape)
        best_regular = np.maximum.reduceat(eligible & regular, starts, axis=0)
        eligible &= regular == best_regular[seg]
        key = np.where(eligible, ious[:, None, None], -1.0)
        best_key = np.maximum.reduceat(key, starts, axis=0)
        winner = np.where(eligible & (key == best_key[seg]), gts[:, None, None], -1)
        best_gt = np.maximum.reduceat(winner, starts, axis=0)
        matched_gt[local[lo:hi][starts]] = best_gt
        d_idx, t_idx, a_idx = np.nonzero(best_gt >= 0)
        gt_taken[best_gt[d_idx, t_idx, a_idx], t_idx, a_idx] = True
    matched = matched_gt >= 0
    ignored = gt_ignore[np.maximum(matched_gt, 0), np.arange(num_area)]
    true_pos[dets] = matched & ~ignored
    false_pos[dets] &= ~matched
    return true_pos, false_pos


def coco_precision_recall(
    num_classes: int,
    gt_image: npt.NDArray[np.int64],
    gt_class: npt.NDArray[np.int64],
    gt_xywh: npt.NDArray[np.float64],
    gt_crowd: npt.NDArray[np.bool_],
    dt_image: npt.NDArray[np.int64],
    dt_class: npt.NDArray[np.int64],
    dt_xywh: npt.NDArray[np.float64],
    dt_score: npt.NDArray[np.floating],
    all_precisions: bool = True,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """COCOeval's ``precision`` (T, R, K, A, M) and ``recall`` (T, K, A, M) arrays, -1 where undefined.

    Images are ordered by their integer id (``gt_image``/``dt_image``), boxes
    within an image and class by their row order, as COCOeval orders
    annotations by id. ``all_precisions=False`` leaves the precisions of
    max-dets 1 and 10 at -1 (the summary does not read them).
    """
    # Ground truth sorted by (image, class), stable: within a cell the input order is kept.
    gt_cell = gt_image.astype(np.int64) * num_classes + gt_class
    gt_order = np.argsort(gt_cell, kind="stable")
    gt_cell, gt_class = gt_cell[gt_order], gt_class[gt_order]
    gt_xywh, gt_crowd = gt_xywh[gt_order], gt_crowd[gt_order].astype(bool)
    gt_area = gt_xywh[:, 2] * gt_xywh[:, 3]
    outside = (gt_area[:, None] < AREA_RANGES[None, :, 0]) | (gt_area[:, None] > AREA_RANGES[None, :, 1])
    gt_ignore = gt_crowd[:, None] | outside  # (G, A)

    # Detections sorted by (image, class, -score), stable; only the best MAX_DETS[-1] per cell take part.
    score = np.asarray(dt_score, dtype=np.float64)
    dt_cell = dt_image.astype(np.int64) * num_classes + dt_class
    descending = _descending_score_key(score)
    dt_order = _lexsort_by(dt_cell, descending, score)
    dt_cell, score, dt_xywh = dt_cell[dt_order], score[dt_order], dt_xywh[dt_order]
    dt_class_sorted = dt_class[dt_order]
    starts = segment_starts(dt_cell)
    dt_rank = np.arange(len(dt_cell)) - np.repeat(starts, np.diff(np.append(starts, len(dt_cell))))
    keep = dt_rank < MAX_DETS[-1]
    dt_cell, score, dt_xywh = dt_cell[keep], score[keep], dt_xywh[keep]

    # Images are independent until accumulation: ranges of whole images are matched in threads, in image order.
    dt_rank = dt_rank[keep]
    ranges = _image_ranges(dt_cell, gt_cell, num_classes, part_count(len(dt_cell) + len(gt_cell)))
    outcomes = run_threads(
        lambda r: _match_images(dt_cell[r[0]:r[1]], dt_xywh[r[0]:r[1]], dt_rank[r[0]:r[1]], gt_cell[r[2]:r[3]],
                                gt_xywh[r[2]:r[3]], gt_crowd[r[2]:r[3]], gt_ignore[r[2]:r[3]]), ranges,
    )  # fmt: skip
    true_pos, false_pos = (np.concatenate([o[i] for o in outcomes]) for i in (0, 1))
    num_positive = np.stack(
        [np.bincount(gt_class[~gt_ignore[:, a]], minlength=num_classes) for a in range(len(AREA_RANGES))], axis=1
    ).astype(np.int64)
    # COCOeval.accumulate's order: class, descending score, image, rank. The kept detections are sorted by (image,
    # class, rank), so a stable sort by (class, descending score) gives it.
    acc_order = _lexsort_by(dt_class_sorted[keep], None if descending is None else descending[dt_order][keep],
                            score)  # fmt: skip
    return accumulate(
        true_pos[acc_order], false_pos[acc_order], dt_class_sorted[keep][acc_order],
        dt_rank[acc_order], num_positive, MAX_DETS, all_precisions,
    )  # fmt: skip


def _image_ranges(
    dt_cell: npt.NDArray[np.int64], gt_cell: npt.NDArray[np.int64], num_classes: int, parts: int
) -> list[tuple[int, int, int, int]]:
    """(first, end) detection and ground-truth rows of ``parts`` ranges of whole images (rows sorted by cell)."""
    cut_cells = sorted({int(dt_cell[len(dt_cell) * i // parts]) // num_classes * num_classes
                        for i in range(1, parts if len(dt_cell) else 1)})  # fmt: skip
    dt_cuts = [0, *np.searchsorted(dt_cell, cut_cells).tolist(), len(dt_cell)]
    gt_cuts = [0, *np.searchsorted(gt_cell, cut_cells).tolist(), len(gt_cell)]
    return list(zip(dt_cuts[:-1], dt_cuts[1:], gt_cuts[:-1], gt_cuts[1:], strict=True))


def _match_images(
    dt_cell: npt.NDArray[np.int64], dt_xywh: npt.NDArray[np.float64], dt_rank: npt.NDArray[np.int64],
    gt_cell: npt.NDArray[np.int64], gt_xywh: npt.NDArray[np.float64], gt_crowd: npt.NDArray[np.bool_],
    gt_ignore: npt.NDArray[np.bool_],
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:  # fmt: skip
    """True and false positives (D, T, A) of the detections of some images, matched to those images' ground truth."""
    # Only intersecting boxes can reach IoU 0.5: the candidates come from an interval join, not all pairs of a cell.
    dt_xyxy, gt_xyxy = (np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1) for b in (dt_xywh, gt_xywh))
    pair_dt, pair_gt = overlapping_pairs(dt_cell, dt_xyxy, gt_cell, gt_xyxy)
    pair_iou = coco_box_iou(dt_xywh[pair_dt], gt_xywh[pair_gt], gt_crowd[pair_gt])
    candidate = pair_iou >= IOU_THRESHOLDS[0]
    pairs = _Candidates(pair_dt[candidate], pair_gt[candidate], pair_iou[candidate])
    dt_area = dt_xywh[:, 2] * dt_xywh[:, 3]
    dt_outside = (dt_area[:, None] < AREA_RANGES[None, :, 0]) | (dt_area[:, None] > AREA_RANGES[None, :, 1])
    return _greedy_match(pairs, dt_rank, gt_ignore, gt_crowd, dt_outside)


def _descending_score_key(score: npt.NDArray[np.float64]) -> npt.NDArray[np.int64] | None:
    """A 32-bit integer per score, smaller for higher scores, equal for equal ones; None unless scores are float32.

    Scores come from float32 stores, so their float32 bit patterns order them
    exactly; integer keys radix-sort (:func:`~vis4d.eval.common.stable_argsort`).
    """
    as32 = score.astype(np.float32)
    if not np.array_equal(as32.astype(np.float64), score):
        return None
    return (1 << 32) - 1 - ordered_float_bits(as32)


def _lexsort_by(
    major: npt.NDArray[np.int64], descending: npt.NDArray[np.int64] | None, score: npt.NDArray[np.float64]
) -> npt.NDArray[np.int64]:
    """``np.lexsort((-score, major))``: by ``major``, then descending score, ties in input order."""
    if descending is None:
        return np.lexsort((-score, major)).astype(np.int64)
    by_score = stable_argsort(descending, 1 << 32)
    return by_score[stable_argsort(major[by_score])]


def _mean_defined(values: npt.NDArray[np.float64]) -> float | None:
    defined = values[values > -1]
    return float(np.mean(defined)) if len(defined) else None


def summarize(
    precision: npt.NDArray[np.float64], recall: npt.NDArray[np.float64], categories: tuple[str, ...] | list[str]
) -> dict[str, Any]:
    """COCOeval.summarize's numbers as a dict (None where undefined), plus the same per class with ground truth."""

    def stats(k: slice | int) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for key, is_ap, thr, area, maxdet in _SUMMARY:
            if is_ap:
                values = precision if thr is None else precision[thr : thr + 1]
                out[key] = _mean_defined(values[:, :, k, area, maxdet])
            else:
                values = recall if thr is None else recall[thr : thr + 1]
                out[key] = _mean_defined(values[:, k, area, maxdet])
        return out

    result: dict[str, Any] = stats(slice(None))
    per_class: dict[str, dict[str, float | None]] = {}
    for k, name in enumerate(categories):
        if (precision[:, :, k, 0, 2] > -1).any():
            per_class[name] = stats(slice(k, k + 1))
    result["per_class"] = per_class
    return result


def evaluate_detection(
    gt: AnnotationStore,
    pred: AnnotationStore,
    source: str = "predictions",
    gt_source: str = "ground truth",
) -> dict[str, Any]:
    """COCO box AP/AR of ``pred`` against ``gt`` (fractions in [0, 1]; None where COCO reports -1).

    Returns ``{"AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10",
    "AR100", "ARs", "ARm", "ARl", "per_class": {name: {same keys}}}``; classes
    without ground truth are absent from ``per_class`` and from the means.
    ``source``/``gt_source`` name the inputs in error messages.
    """
    check_categories(gt, pred, source)
    check_finite(pred, source, check_scores=True)
    check_finite(gt, gt_source, check_scores=False)
    frame_rows = align_frames(gt, pred, source, gt_source)
    pred_image = frame_rows[pred.box_frame_ids()]
    precision, recall = coco_precision_recall(
        num_classes=len(gt.categories),
        gt_image=gt.box_frame_ids(),
        gt_class=gt.class_ids,
        gt_xywh=xyxy_to_xywh(gt.boxes),
        gt_crowd=gt.ignore | gt.crowd,
        dt_image=pred_image,
        dt_class=pred.class_ids,
        dt_xywh=xyxy_to_xywh(pred.boxes),
        dt_score=pred.scores,
        all_precisions=False,  # summarize reads precision at 100 detections only
    )
    return summarize(precision, recall, gt.categories)
