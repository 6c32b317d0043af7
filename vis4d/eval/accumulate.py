"""COCOeval.accumulate on flat arrays: precision at the 101 recall points for every column of a class at once.

``COCOeval.accumulate`` walks, for each class, IoU threshold, area range and
max-dets, the class's detections by descending score, with cumulative true
and false positive counts, and reads the interpolated precision where recall
first reaches each of the 101 recall points. The *columns* here are the
(threshold, area) combinations of one class and max-dets: the detections'
outcomes are gathered once per class into one 2-D array (columns x
detections, each column contiguous), so that each column's scan reads
consecutive memory and nothing is re-sorted per column.

The numbers are COCOeval's, with the same float operations: precision at
the m-th true positive is ``m / (fp + m + eps)`` with ``fp`` the false
positives ranked before it (recall only grows at true positives, and between
two of them precision only falls, so the envelope is the running maximum
over the true positives alone), and recall is ``m / npig``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.eval.parts import part_count, run_threads

RECALL_THRESHOLDS = np.linspace(0.0, 1.00, int(np.round((1.00 - 0.0) / 0.01)) + 1, endpoint=True)


def precision_at_recalls(tp: npt.NDArray[np.bool_], fp: npt.NDArray[np.bool_], npig: float) -> tuple[float, Any]:
    """COCOeval's final recall and interpolated precision at the 101 recall points of one ranked list.

    COCOeval computes recall and precision at every detection, takes the
    running maximum of precision from the end, and reads it where recall
    first reaches each point. Recall only grows at true positives, and
    between two of them precision only falls, so the same numbers come from
    the true positives alone: the m-th has recall m / npig and precision
    m / (fp + m + eps) with fp the false positives ranked before it (the same
    float operations as COCOeval's).
    """
    tp_rows = np.flatnonzero(tp)
    if len(tp_rows) == 0:
        return 0.0, np.zeros(len(RECALL_THRESHOLDS))
    count = np.arange(1, len(tp_rows) + 1, dtype=np.float64)
    fp_before = np.searchsorted(np.flatnonzero(fp), tp_rows).astype(np.float64)
    envelope = np.maximum.accumulate((count / (fp_before + count + np.spacing(1)))[::-1])[::-1]
    rc = count / npig
    idx = np.searchsorted(rc, RECALL_THRESHOLDS, side="left")
    return float(rc[-1]), np.where(idx < len(rc), envelope[np.minimum(idx, len(rc) - 1)], 0.0)


def precision_recall_curves(
    tp: npt.NDArray[np.bool_], fp: npt.NDArray[np.bool_], npig: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Final recall (C,) and interpolated precision (C, 101) of each row of ``tp``/``fp`` (columns x ranked detections).

    Each row is contiguous, so finding its true and false positives is one
    vectorised scan; the per-row work is proportional to the detections.
    """
    curves = [precision_at_recalls(tp[c], fp[c], float(npig[c])) for c in range(len(tp))]
    return np.array([c[0] for c in curves]), np.stack([c[1] for c in curves]).reshape(len(tp), -1)


def accumulate(
    true_pos: npt.NDArray[np.bool_],
    false_pos: npt.NDArray[np.bool_],
    det_class: npt.NDArray[np.int64],
    det_rank: npt.NDArray[np.int64],
    num_positive: npt.NDArray[np.int64],
    max_dets: tuple[int, ...],
    all_precisions: bool = True,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """COCOeval's ``precision`` (T, R, K, A, M) and ``recall`` (T, K, A, M), -1 where a class has no ground truth.

    ``true_pos``/``false_pos`` are (D, T, A) with the detections in
    COCOeval's accumulation order (class, then descending score, then image,
    then rank in its image); ``det_rank`` is a detection's rank by score in
    its (image, class); ``num_positive`` (K, A) the ground truths that count.
    Without ``all_precisions`` only the largest max-dets gets precisions
    (the others stay -1): COCOeval's summary reads no other, and a smaller
    max-dets' recall is its true positive count over npig, no curve needed.
    """
    num_det, num_thr, num_area = true_pos.shape
    num_classes, num_maxdet = len(num_positive), len(max_dets)
    precision = -np.ones((num_thr, len(RECALL_THRESHOLDS), num_classes, num_area, num_maxdet))
    recall = -np.ones((num_thr, num_classes, num_area, num_maxdet))
    class_bounds = np.searchsorted(det_class, np.arange(num_classes + 1)).tolist()
    flat_tp, flat_fp = true_pos.reshape(num_det, num_thr * num_area), false_pos.reshape(num_det, num_thr * num_area)

    def one_class(k: int) -> None:  # writes only class k's entries: classes run in threads
        areas = np.flatnonzero(num_positive[k] > 0)
        if len(areas) == 0:
            return
        lo, hi = class_bounds[k], class_bounds[k + 1]
        columns = (np.arange(num_thr)[:, None] * num_area + areas[None, :]).ravel()  # (threshold, area) pairs
        npig = np.tile(num_positive[k, areas].astype(np.float64), num_thr)
        block_tp, block_fp = flat_tp[lo:hi][:, columns].T, flat_fp[lo:hi][:, columns].T  # (columns, detections)
        rank = det_rank[lo:hi]
        # Largest maxDets first: a smaller one that cuts no detection of this class has the same results.
        for m in range(num_maxdet - 1, -1, -1):
            cut = rank >= max_dets[m]
            if m < num_maxdet - 1 and not cut.any():
                recall[:, k, areas, m] = recall[:, k, areas, m + 1]
                precision[:, :, k, areas, m] = precision[:, :, k, areas, m + 1]
                continue
            sel: Any = slice(None) if not cut.any() else ~cut
            if not all_precisions and m < num_maxdet - 1:
                num_tp = block_tp[:, sel].sum(axis=1)
                recall[:, k, areas, m] = np.where(num_tp > 0, num_tp / npig, 0.0).reshape(num_thr, len(areas))
                continue
            final, curve = precision_recall_curves(
                np.ascontiguousarray(block_tp[:, sel]), np.ascontiguousarray(block_fp[:, sel]), npig
            )
            recall[:, k, areas, m] = final.reshape(num_thr, len(areas))
            precision[:, :, k, areas, m] = curve.reshape(num_thr, len(areas), -1).transpose(0, 2, 1)

    largest_first = sorted(range(num_classes), key=lambda k: class_bounds[k] - class_bounds[k + 1])
    run_threads(one_class, largest_first, part_count(num_det))
    return precision, recall
