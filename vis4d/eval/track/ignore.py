"""The two reference conventions for predictions on ignore regions, applied before any metric.

Ignore regions are ground-truth boxes flagged ``ignore`` or ``crowd``: crowd
regions, ignored classes such as BDD100K's "other vehicle", MOT17's
distractors. They never count as ground truth, and predictions on them are
removed before matching:

* ``"bdd100k"`` (BDD100K toolkit, TrackEval ``BDD100K``): a prediction not
  matched (Hungarian, IoU >= 0.5) to a ground-truth box of its class is
  removed if more than half of it lies inside an ignore region.
* ``"motchallenge"`` (TrackEval ``MotChallenge2DBox``): predictions are
  matched (Hungarian, IoU >= 0.5) jointly against the class's ground truth and
  all ignore regions of the frame; those matched to an ignore region are
  removed.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import numpy.typing as npt

from vis4d.eval.common import EPS, pairs_within_groups
from vis4d.eval.track.matching import CandidatePairs, Cells, box_iou_pairs

IgnoreRule = Literal["bdd100k", "motchallenge"]
IGNORE_RULES: tuple[str, ...] = ("bdd100k", "motchallenge")
# IoU a prediction needs with a ground-truth box to be "matched" here (fixed, as in TrackEval, independent of the
# metric threshold).
PREPROCESS_IOU = 0.5


@dataclasses.dataclass
class IgnoreProblem:
    """The whole dataset as the rules see it: counted ground truth and predictions sorted by cell, ignore regions.

    ``g_order`` / ``ign_order`` are the boxes' rows in the ground-truth store
    (their input order, which the MOTChallenge rule's matrices follow).
    """

    num_classes: int
    g_cell: npt.NDArray[np.int64]
    g_order: npt.NDArray[np.int64]
    p_cell: npt.NDArray[np.int64]
    p_frame: npt.NDArray[np.int64]
    p_boxes: npt.NDArray[np.float64]
    pair_g: npt.NDArray[np.int64]  # every (ground truth, prediction) pair of a cell, sorted by (g, p)
    pair_p: npt.NDArray[np.int64]
    pair_iou: npt.NDArray[np.float64]
    ign_frame: npt.NDArray[np.int64]
    ign_boxes: npt.NDArray[np.float64]
    ign_order: npt.NDArray[np.int64]


def keep_off_ignore_regions(rule: IgnoreRule, problem: IgnoreProblem) -> npt.NDArray[np.bool_]:
    """Mask of predictions that survive ``rule`` (see the module docstring)."""
    if len(problem.ign_frame) == 0 or len(problem.p_cell) == 0:
        return np.ones(len(problem.p_cell), dtype=bool)
    if rule == "bdd100k":
        return _bdd100k_rule(problem)
    return _motchallenge_rule(problem)


def _bdd100k_rule(pb: IgnoreProblem) -> npt.NDArray[np.bool_]:
    """Only predictions in frames with an ignore region can be removed: only their cells are matched."""
    keep = np.ones(len(pb.p_cell), dtype=bool)
    frames_with_region = np.zeros(max(int(pb.p_frame.max()), int(pb.ign_frame.max())) + 1, dtype=bool)
    frames_with_region[pb.ign_frame] = True
    near_region = frames_with_region[pb.p_frame]
    cand = (pb.pair_iou >= PREPROCESS_IOU - EPS) & near_region[pb.pair_p]
    cg, cp = pb.pair_g[cand], pb.pair_p[cand]
    chosen = CandidatePairs(pb.g_cell[cg], cg, cp, pb.pair_iou[cand], Cells(pb.g_cell), Cells(pb.p_cell)).assign()
    matched = np.zeros(len(pb.p_cell), dtype=bool)
    matched[cp[chosen]] = True
    unmatched = np.flatnonzero(~matched & near_region)
    ip, ii = pairs_within_groups(pb.p_frame[unmatched], pb.ign_frame)
    ioa = box_iou_pairs(pb.p_boxes[unmatched[ip]], pb.ign_boxes[ii], ioa=True)
    inside = np.zeros(len(unmatched), dtype=bool)
    inside[ip[ioa > 0.5 + EPS]] = True
    keep[unmatched[inside]] = False
    return keep


def _motchallenge_rule(pb: IgnoreProblem) -> npt.NDArray[np.bool_]:
    """Rows of a cell: its class's ground truth and every ignore region of the frame, in input order."""
    keep = np.ones(len(pb.p_cell), dtype=bool)
    k = pb.num_classes
    rows_frame_cls = np.concatenate([pb.g_cell, (pb.ign_frame[:, None] * k + np.arange(k)[None, :]).reshape(-1)])
    rows_is_ignore = np.concatenate([np.zeros(len(pb.g_cell), bool), np.ones(len(pb.ign_frame) * k, bool)])
    rows_input_order = np.concatenate([pb.g_order, np.repeat(pb.ign_order, k)])
    row_sort = np.lexsort((rows_input_order, rows_frame_cls))
    row_cell = rows_frame_cls[row_sort]
    new_row_of_old = np.empty(len(row_sort), dtype=np.int64)
    new_row_of_old[row_sort] = np.arange(len(row_sort))
    # Candidate pairs with the class's ground truth (known) and with ignore regions (computed here).
    ign_row_old = len(pb.g_cell) + np.arange(len(pb.ign_frame) * k)
    ir, ip = pairs_within_groups(row_cell[new_row_of_old[ign_row_old]], pb.p_cell)
    ign_iou = box_iou_pairs(pb.ign_boxes[ir // k], pb.p_boxes[ip])
    all_row = np.concatenate([new_row_of_old[pb.pair_g], new_row_of_old[ign_row_old[ir]]])
    all_col = np.concatenate([pb.pair_p, ip])
    all_iou = np.concatenate([pb.pair_iou, ign_iou])
    cand = all_iou >= PREPROCESS_IOU - EPS
    all_row, all_col, all_iou = all_row[cand], all_col[cand], all_iou[cand]
    order = np.lexsort((all_col, all_row))
    all_row, all_col, all_iou = all_row[order], all_col[order], all_iou[order]
    pairs = CandidatePairs(row_cell[all_row], all_row, all_col, all_iou, Cells(row_cell), Cells(pb.p_cell))
    chosen = pairs.assign()
    on_ignore = rows_is_ignore[row_sort][all_row[chosen]]
    keep[all_col[chosen][on_ignore]] = False
    return keep
