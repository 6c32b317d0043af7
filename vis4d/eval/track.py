"""CLEAR MOT, Identity (IDF1) and HOTA metrics, vectorised over whole datasets.

The numbers are TrackEval's (``trackeval.metrics.CLEAR``, ``Identity`` and
``HOTA`` with IoU similarity, fed by its BDD100K or MOTChallenge dataset
preprocessing); the parity tests pin them to 1e-6. Each class is evaluated on
its own, as BDD100K and TrackEval do.

TrackEval walks every (video, class, frame) in Python and solves one
assignment problem per frame. Here boxes of the same frame and class form a
*cell*; all cells are handled with flat numpy arrays, and an assignment
problem is only solved (``scipy.optimize.linear_sum_assignment`` on the same
matrix TrackEval builds) in the cells where candidate matches conflict (a box
with two or more candidates). Where no box has more than one candidate, any
optimal assignment takes every candidate, so the solution is known without
solving. Per-track statistics (ID switches, fragmentations, mostly tracked,
HOTA's association scores) are then counted with sorts and ``bincount``.

Ignore regions (ground-truth boxes flagged ``ignore`` or ``crowd``: crowd
regions, ignored classes such as BDD100K's "other vehicle", MOT17's
distractors) are never counted as ground truth. Predictions on them are
removed before matching, by one of the two reference conventions:

* ``ignore_rule="bdd100k"`` (BDD100K toolkit, TrackEval ``BDD100K``): a
  prediction not matched (Hungarian, IoU >= 0.5) to a ground-truth box of its
  class is removed if more than half of it lies inside an ignore region.
* ``ignore_rule="mot"`` (TrackEval ``MotChallenge2DBox``): predictions are
  matched (Hungarian, IoU >= 0.5) jointly against the class's ground truth and
  all ignore regions of the frame; those matched to an ignore region are
  removed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from vis4d.common.errors import ConfigError, DataError
from vis4d.data.store import AnnotationStore
from vis4d.eval.common import (
    EPS,
    align_frames,
    check_categories,
    check_finite,
    check_unique_track_ids,
    group_index,
    pairs_within_groups,
    segment_starts,
)

IgnoreRule = Literal["bdd100k", "mot"]
IGNORE_RULES: tuple[str, ...] = ("bdd100k", "mot")
# HOTA's localisation thresholds, the same float values as TrackEval's.
ALPHAS = np.arange(0.05, 0.99, 0.05)
# IoU a prediction needs with a ground-truth box to be "matched" during ignore-region preprocessing (fixed, as
# in TrackEval, independent of the metric threshold).
PREPROCESS_IOU = 0.5

RATIO_FIELDS = (
    "MOTA",
    "MOTP",
    "MODA",
    "sMOTA",
    "Recall",
    "Precision",
    "IDF1",
    "IDP",
    "IDR",
    "HOTA",
    "DetA",
    "AssA",
    "DetRe",
    "DetPr",
    "AssRe",
    "AssPr",
    "LocA",
)
COUNT_FIELDS = (
    "TP",
    "FP",
    "FN",
    "IDSW",
    "Frag",
    "MT",
    "PT",
    "ML",
    "IDTP",
    "IDFP",
    "IDFN",
    "num_gt_dets",
    "num_pred_dets",
    "num_gt_tracks",
    "num_pred_tracks",
)


def box_iou_pairs(a: npt.NDArray[np.float64], b: npt.NDArray[np.float64], ioa: bool = False) -> npt.NDArray[np.float64]:
    """IoU (or intersection over ``a``'s area) of aligned xyxy box pairs, TrackEval's float operations."""
    min_ = np.minimum(a, b)
    max_ = np.maximum(a, b)
    inter = np.maximum(min_[:, 2] - max_[:, 0], 0) * np.maximum(min_[:, 3] - max_[:, 1], 0)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    if ioa:
        valid = area_a > 0 + EPS
        return np.where(valid, inter / np.where(valid, area_a, 1.0), 0.0)
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a + area_b - inter
    inter = np.where((area_a <= 0 + EPS) | (area_b <= 0 + EPS) | (union <= 0 + EPS), 0.0, inter)
    union = np.where(union <= 0 + EPS, 1.0, union)
    return inter / union


@dataclasses.dataclass
class _Cells:
    """Rows (one side of a bipartite matching) sorted by cell; a cell's rows are contiguous, in input order."""

    cell: npt.NDArray[np.int64]  # cell id per row (sorted ascending)

    def start_of(self, cells: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.searchsorted(self.cell, cells, side="left").astype(np.int64)

    def count_of(self, cells: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return (np.searchsorted(self.cell, cells, side="right") - self.start_of(cells)).astype(np.int64)


def _dense_cell(
    lo: int,
    hi: int,
    pair_row: npt.NDArray[np.int64],
    pair_col: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    row0: int,
    n_rows: int,
    col0: int,
    n_cols: int,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    """Build one cell's full (rows x cols) matrix as TrackEval does, and the pair index of each entry."""
    matrix = np.zeros((n_rows, n_cols))
    index = np.full((n_rows, n_cols), -1, dtype=np.int64)
    r, c = pair_row[lo:hi] - row0, pair_col[lo:hi] - col0
    matrix[r, c] = values[lo:hi]
    index[r, c] = np.arange(lo, hi)
    return matrix, index


def _conflict_cells(
    pair_cell: npt.NDArray[np.int64],
    pair_row: npt.NDArray[np.int64],
    pair_col: npt.NDArray[np.int64],
    n_rows: int,
    n_cols: int,
) -> npt.NDArray[np.bool_]:
    """Flag pairs whose cell contains a row or column with more than one candidate."""
    if len(pair_cell) == 0:
        return np.zeros(0, dtype=bool)
    shared = (np.bincount(pair_row, minlength=n_rows)[pair_row] > 1) | (
        np.bincount(pair_col, minlength=n_cols)[pair_col] > 1
    )
    return np.isin(pair_cell, np.unique(pair_cell[shared]))


def _assign(
    pair_cell: npt.NDArray[np.int64],
    pair_row: npt.NDArray[np.int64],
    pair_col: npt.NDArray[np.int64],
    score: npt.NDArray[np.float64],
    rows: _Cells,
    cols: _Cells,
) -> npt.NDArray[np.bool_]:
    """Which candidate pairs (``score > 0``, sorted by cell) a per-cell max-score assignment keeps.

    Conflict-free cells keep all their candidates. Conflict cells are solved
    with ``linear_sum_assignment(-matrix)`` on the cell's full matrix, rows and
    columns in input order, keeping entries ``> eps`` (TrackEval's rule).
    """
    keep = np.ones(len(pair_cell), dtype=bool)
    conflict = _conflict_cells(pair_cell, pair_row, pair_col, len(rows.cell), len(cols.cell))
    if not conflict.any():
        return keep
    keep[conflict] = False
    cells = np.unique(pair_cell[conflict])
    lo_of = np.searchsorted(pair_cell, cells, side="left")
    hi_of = np.searchsorted(pair_cell, cells, side="right")
    row0, n_rows = rows.start_of(cells), rows.count_of(cells)
    col0, n_cols = cols.start_of(cells), cols.count_of(cells)
    for i in range(len(cells)):
        matrix, index = _dense_cell(
            int(lo_of[i]),
            int(hi_of[i]),
            pair_row,
            pair_col,
            score,
            int(row0[i]),
            int(n_rows[i]),
            int(col0[i]),
            int(n_cols[i]),
        )
        r, c = linear_sum_assignment(-matrix)
        chosen = index[r, c][matrix[r, c] > 0 + EPS]
        keep[chosen[chosen >= 0]] = True
    return keep


@dataclasses.dataclass
class _TrackingData:
    """Preprocessed boxes of the whole dataset, sorted by cell (frame * K + class)."""

    num_classes: int
    num_seq: int  # sequences = videos x classes; seq id = video * K + class
    g_cell: npt.NDArray[np.int64]
    g_seq: npt.NDArray[np.int64]
    g_frame: npt.NDArray[np.int64]
    g_track: npt.NDArray[np.int64]  # dense id of (seq, track id)
    num_g_tracks: int
    p_cell: npt.NDArray[np.int64]
    p_seq: npt.NDArray[np.int64]
    p_track: npt.NDArray[np.int64]
    num_p_tracks: int
    pair_g: npt.NDArray[np.int64]  # pairs with IoU > 0, sorted by (g, p)
    pair_p: npt.NDArray[np.int64]
    pair_iou: npt.NDArray[np.float64]
    frame_video: npt.NDArray[np.int64]

    @property
    def g_rows(self) -> _Cells:
        return _Cells(self.g_cell)

    @property
    def p_rows(self) -> _Cells:
        return _Cells(self.p_cell)

    def seq_sum(self, seq: npt.NDArray[np.int64], weights: npt.NDArray[Any] | None = None) -> npt.NDArray[Any]:
        return np.bincount(seq, weights=weights, minlength=self.num_seq)


def _validate(gt: AnnotationStore, pred: AnnotationStore, source: str, gt_source: str) -> npt.NDArray[np.int64]:
    check_categories(gt, pred, source)
    check_finite(pred, source, check_scores=True)
    check_finite(gt, gt_source, check_scores=False)
    frame_rows = align_frames(gt, pred, source, gt_source)
    pred_frames = pred.box_frame_ids()
    if pred.num_boxes and (pred.track_ids < 0).any():
        row = int(np.argmax(pred.track_ids < 0))
        raise DataError(
            f"{source}: a box in frame {str(pred.frame_names[pred_frames[row]])!r} has no track id; "
            "tracking evaluation needs a track id on every prediction"
        )
    check_unique_track_ids(pred_frames, pred.track_ids, pred.frame_names, source)
    counted = ~(gt.ignore | gt.crowd)
    gt_frames = gt.box_frame_ids()
    if (gt.track_ids[counted] < 0).any():
        row = int(np.flatnonzero(counted)[np.argmax(gt.track_ids[counted] < 0)])
        raise DataError(f"{gt_source}: a box in frame {str(gt.frame_names[gt_frames[row]])!r} has no track id")
    check_unique_track_ids(gt_frames[counted], gt.track_ids[counted], gt.frame_names, gt_source)
    return frame_rows


def _remove_ignored(
    ignore_rule: str,
    num_classes: int,
    pair_g: npt.NDArray[np.int64],
    pair_p: npt.NDArray[np.int64],
    pair_iou: npt.NDArray[np.float64],
    g_cell: npt.NDArray[np.int64],
    p_cell: npt.NDArray[np.int64],
    p_frame: npt.NDArray[np.int64],
    p_boxes: npt.NDArray[np.float64],
    ign_frame: npt.NDArray[np.int64],
    ign_boxes: npt.NDArray[np.float64],
    ign_order: npt.NDArray[np.int64],
    g_order: npt.NDArray[np.int64],
) -> npt.NDArray[np.bool_]:
    """Mask of predictions to keep after removing those on ignore regions (see the module docstring)."""
    num_p = len(p_cell)
    keep = np.ones(num_p, dtype=bool)
    if len(ign_frame) == 0 or num_p == 0:
        return keep
    threshold = PREPROCESS_IOU - EPS
    if ignore_rule == "bdd100k":
        cand = pair_iou >= threshold
        cg, cp = pair_g[cand], pair_p[cand]
        chosen = _assign(g_cell[cg], cg, cp, pair_iou[cand], _Cells(g_cell), _Cells(p_cell))
        matched = np.zeros(num_p, dtype=bool)
        matched[cp[chosen]] = True
        unmatched = np.flatnonzero(~matched)
        ip, ii = pairs_within_groups(p_frame[unmatched], ign_frame)
        ioa = box_iou_pairs(p_boxes[unmatched[ip]], ign_boxes[ii], ioa=True)
        inside = np.zeros(len(unmatched), dtype=bool)
        inside[ip[ioa > 0.5 + EPS]] = True
        keep[unmatched[inside]] = False
        return keep
    # "mot": rows of a cell are its class's ground truth and every ignore region of the frame, in input order.
    rows_frame_cls = np.concatenate(
        [g_cell, (ign_frame[:, None] * num_classes + np.arange(num_classes)[None, :]).reshape(-1)]
    )
    rows_is_ignore = np.concatenate([np.zeros(len(g_cell), bool), np.ones(len(ign_frame) * num_classes, bool)])
    rows_input_order = np.concatenate([g_order, np.repeat(ign_order, num_classes)])
    row_sort = np.lexsort((rows_input_order, rows_frame_cls))
    row_cell = rows_frame_cls[row_sort]
    new_row_of_old = np.empty(len(row_sort), dtype=np.int64)
    new_row_of_old[row_sort] = np.arange(len(row_sort))
    # Candidate pairs with the class's ground truth (known) and with ignore regions (computed here).
    ign_row_old = len(g_cell) + np.arange(len(ign_frame) * num_classes)
    ir, ip = pairs_within_groups(row_cell[new_row_of_old[ign_row_old]], p_cell)
    ign_idx = ir // num_classes
    ign_iou = box_iou_pairs(ign_boxes[ign_idx], p_boxes[ip])
    all_row = np.concatenate([new_row_of_old[pair_g], new_row_of_old[ign_row_old[ir]]])
    all_col = np.concatenate([pair_p, ip])
    all_iou = np.concatenate([pair_iou, ign_iou])
    cand = all_iou >= threshold
    all_row, all_col, all_iou = all_row[cand], all_col[cand], all_iou[cand]
    order = np.lexsort((all_col, all_row))
    all_row, all_col, all_iou = all_row[order], all_col[order], all_iou[order]
    chosen = _assign(row_cell[all_row], all_row, all_col, all_iou, _Cells(row_cell), _Cells(p_cell))
    on_ignore = rows_is_ignore[row_sort][all_row[chosen]]
    keep[all_col[chosen][on_ignore]] = False
    return keep


def _prepare(
    gt: AnnotationStore, pred: AnnotationStore, frame_rows: npt.NDArray[np.int64], ignore_rule: str
) -> _TrackingData:
    """Split boxes into counted ground truth, ignore regions and predictions; drop predictions on ignore regions."""
    num_classes = len(gt.categories)
    frame_video = gt.frame_video_ids()
    gt_frame_all = gt.box_frame_ids()
    ignored = gt.ignore | gt.crowd
    counted = np.flatnonzero(~ignored)
    g_cell_unsorted = gt_frame_all[counted] * num_classes + gt.class_ids[counted]
    g_sort = np.argsort(g_cell_unsorted, kind="stable")
    g_rows = counted[g_sort]
    g_cell = g_cell_unsorted[g_sort]
    g_boxes = gt.boxes[g_rows].astype(np.float64)

    p_frame_unsorted = frame_rows[pred.box_frame_ids()]
    p_cell_unsorted = p_frame_unsorted * num_classes + pred.class_ids
    p_sort = np.argsort(p_cell_unsorted, kind="stable")
    p_cell = p_cell_unsorted[p_sort]
    p_frame = p_frame_unsorted[p_sort]
    p_boxes = pred.boxes[p_sort].astype(np.float64)
    p_tid = pred.track_ids[p_sort]

    pair_g, pair_p = pairs_within_groups(g_cell, p_cell)
    pair_iou = box_iou_pairs(g_boxes[pair_g], p_boxes[pair_p])

    ign_rows = np.flatnonzero(ignored)
    keep = _remove_ignored(
        ignore_rule,
        num_classes,
        pair_g,
        pair_p,
        pair_iou,
        g_cell,
        p_cell,
        p_frame,
        p_boxes,
        gt_frame_all[ign_rows],
        gt.boxes[ign_rows].astype(np.float64),
        ign_rows,
        g_rows,
    )
    if not keep.all():
        new_index = np.cumsum(keep) - 1
        pair_keep = keep[pair_p]
        pair_g, pair_p, pair_iou = pair_g[pair_keep], new_index[pair_p[pair_keep]], pair_iou[pair_keep]
        p_cell, p_frame, p_tid = p_cell[keep], p_frame[keep], p_tid[keep]
    positive = pair_iou > 0
    pair_g, pair_p, pair_iou = pair_g[positive], pair_p[positive], pair_iou[positive]

    g_frame = g_cell // num_classes
    g_seq = frame_video[g_frame] * num_classes + g_cell % num_classes
    p_seq = frame_video[p_frame] * num_classes + p_cell % num_classes
    g_track, num_g_tracks = group_index(g_seq, gt.track_ids[g_rows])
    p_track, num_p_tracks = group_index(p_seq, p_tid)
    return _TrackingData(
        num_classes=num_classes,
        num_seq=gt.num_videos * num_classes,
        g_cell=g_cell,
        g_seq=g_seq,
        g_frame=g_frame,
        g_track=g_track,
        num_g_tracks=num_g_tracks,
        p_cell=p_cell,
        p_seq=p_seq,
        p_track=p_track,
        num_p_tracks=num_p_tracks,
        pair_g=pair_g,
        pair_p=pair_p,
        pair_iou=pair_iou,
        frame_video=frame_video,
    )


def _track_seq(
    data: _TrackingData, track: npt.NDArray[np.int64], num_tracks: int, seq: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    out = np.zeros(num_tracks, dtype=np.int64)
    out[track] = seq
    return out


def _clear(data: _TrackingData, threshold: float) -> dict[str, npt.NDArray[Any]]:
    """TrackEval CLEAR per sequence: counts (TP, FN, FP, IDSW, MT, PT, ML, Frag) and MOTP_sum."""
    num_classes = data.num_classes
    cand = data.pair_iou >= threshold - EPS
    cg, cp, sim = data.pair_g[cand], data.pair_p[cand], data.pair_iou[cand]
    cell = data.g_cell[cg]
    # Active cells (ground truth and predictions present) in (sequence, frame) order: TrackEval only updates its
    # "previous timestep" state in such frames.
    g_cells, p_cells = np.unique(data.g_cell), np.unique(data.p_cell)
    active = np.intersect1d(g_cells, p_cells, assume_unique=True)
    active_frame = active // num_classes
    active_seq = data.frame_video[active_frame] * num_classes + active % num_classes
    order = np.lexsort((active_frame, active_seq))
    active, active_seq = active[order], active_seq[order]
    same_seq = np.zeros(len(active), dtype=bool)
    same_seq[1:] = active_seq[1:] == active_seq[:-1]
    prev_active = np.full(len(active), -1, dtype=np.int64)
    prev_active[1:][same_seq[1:]] = active[:-1][same_seq[1:]]
    prev_of_cell = dict(zip(active.tolist(), prev_active.tolist(), strict=True))
    g_rows, p_rows = data.g_rows, data.p_rows

    match_of_g = np.full(len(data.g_cell), -1, dtype=np.int64)

    def continuation_bonus(cell_id: int, index: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        # 1000 where the prediction continues the track its ground truth was matched to in the previous active frame.
        prev = prev_of_cell[cell_id]
        n_rows, n_cols = index.shape
        if prev < 0:
            return np.zeros((n_rows, n_cols))
        g0 = int(g_rows.start_of(np.array([cell_id]))[0])
        p0 = int(p_rows.start_of(np.array([cell_id]))[0])
        pg0 = int(g_rows.start_of(np.array([prev]))[0])
        pg_n = int(g_rows.count_of(np.array([prev]))[0])
        prev_matches = match_of_g[pg0 : pg0 + pg_n]
        matched = prev_matches >= 0
        prev_partner = dict(
            zip(
                data.g_track[pg0 : pg0 + pg_n][matched].tolist(),
                data.p_track[prev_matches[matched]].tolist(),
                strict=True,
            )
        )
        partner = np.array([prev_partner.get(t, -1) for t in data.g_track[g0 : g0 + n_rows].tolist()])
        p_tracks = data.p_track[p0 : p0 + n_cols]
        return 1000.0 * ((p_tracks[None, :] == partner[:, None]) & (partner[:, None] >= 0))

    # Conflict-free cells first (their matches feed the bonus of later conflict cells), then conflict cells in
    # temporal order, each seeing the final matches of its previous active frame.
    conflict = _conflict_cells(cell, cg, cp, len(data.g_cell), len(data.p_cell))
    match_of_g[cg[~conflict]] = cp[~conflict]

    keep = np.ones(len(cg), dtype=bool)
    if conflict.any():
        cells = active[np.isin(active, np.unique(cell[conflict]))]
        lo_of = np.searchsorted(cell, cells, side="left")
        hi_of = np.searchsorted(cell, cells, side="right")
        row0, n_rows = g_rows.start_of(cells), g_rows.count_of(cells)
        col0, n_cols = p_rows.start_of(cells), p_rows.count_of(cells)
        keep[conflict] = False
        for i, cell_id in enumerate(cells.tolist()):
            matrix, index = _dense_cell(
                int(lo_of[i]), int(hi_of[i]), cg, cp, sim, int(row0[i]), int(n_rows[i]), int(col0[i]), int(n_cols[i])
            )
            score = continuation_bonus(cell_id, index) + matrix
            score[index < 0] = 0.0
            r, c = linear_sum_assignment(-score)
            chosen = index[r, c][score[r, c] > 0 + EPS]
            chosen = chosen[chosen >= 0]
            keep[chosen] = True
            match_of_g[cg[chosen]] = cp[chosen]
    mg, mp, msim = cg[keep], cp[keep], sim[keep]

    seq_of_match = data.g_seq[mg]
    num_gt = data.seq_sum(data.g_seq)
    num_pred = data.seq_sum(data.p_seq)
    tp = data.seq_sum(seq_of_match)
    # ID switches: a ground-truth track matched to a different prediction track than at its previous match.
    g_track_m, p_track_m = data.g_track[mg], data.p_track[mp]
    by_track = np.lexsort((data.g_frame[mg], g_track_m))
    gt_sorted, pt_sorted = g_track_m[by_track], p_track_m[by_track]
    switch = (gt_sorted[1:] == gt_sorted[:-1]) & (pt_sorted[1:] != pt_sorted[:-1])
    idsw = data.seq_sum(data.g_seq[mg][by_track][1:][switch])
    # Mostly / partly tracked, mostly lost: fraction of a track's frames in which it is matched.
    track_len = np.bincount(data.g_track, minlength=data.num_g_tracks)
    track_hits = np.bincount(g_track_m, minlength=data.num_g_tracks)
    track_seq = _track_seq(data, data.g_track, data.num_g_tracks, data.g_seq)
    ratio = track_hits / np.maximum(track_len, 1)
    mostly = ratio > 0.8
    partly = (ratio >= 0.2) & ~mostly
    mt = data.seq_sum(track_seq[mostly])
    pt = data.seq_sum(track_seq[partly])
    ml = data.seq_sum(track_seq) - mt - pt
    # Fragmentations: a track's matched runs over consecutive *active* frames of its sequence, minus one.
    active_rank = np.arange(len(active)) - np.maximum.accumulate(np.where(~same_seq, np.arange(len(active)), 0))
    by_cell = np.argsort(active)
    rank_of_match = active_rank[by_cell][np.searchsorted(active[by_cell], data.g_cell[mg])]
    by_track_rank = np.lexsort((rank_of_match, g_track_m))
    tr, rk = g_track_m[by_track_rank], rank_of_match[by_track_rank]
    run_start = np.concatenate([[True], (tr[1:] != tr[:-1]) | (rk[1:] != rk[:-1] + 1)]) if len(tr) else tr > 0
    runs = np.bincount(tr[run_start], minlength=data.num_g_tracks)
    frag = data.seq_sum(track_seq, weights=np.maximum(runs - 1, 0)).astype(np.int64)
    return {
        "TP": tp,
        "FN": num_gt - tp,
        "FP": num_pred - tp,
        "IDSW": idsw,
        "MT": mt,
        "PT": pt,
        "ML": ml,
        "Frag": frag,
        "MOTP_sum": data.seq_sum(seq_of_match, weights=msim),
    }


def _max_weight_matching_value(
    u: npt.NDArray[np.int64], v: npt.NDArray[np.int64], w: npt.NDArray[np.float64], num_u: int, num_v: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Maximum total weight of a bipartite matching, per connected component; returns (component of u, value)."""
    if len(w) == 0:
        return u, w.astype(np.float64)
    graph = coo_matrix((np.ones(len(u)), (u, v + num_u)), shape=(num_u + num_v, num_u + num_v))
    _, labels = connected_components(graph, directed=False)
    comp = labels[u]
    order = np.lexsort((v, u, comp))
    u, v, w, comp = u[order], v[order], w[order], comp[order]
    starts = segment_starts(comp)
    ends = np.append(starts[1:], len(comp))
    value = np.maximum.reduceat(w, starts).astype(np.float64)
    # A component whose edges share one endpoint (one edge, or a star) can match only one edge: the heaviest.
    single_u = np.minimum.reduceat(u, starts) == np.maximum.reduceat(u, starts)
    single_v = np.minimum.reduceat(v, starts) == np.maximum.reduceat(v, starts)
    for i in np.flatnonzero(~(single_u | single_v)).tolist():
        lo, hi = int(starts[i]), int(ends[i])
        ru, cu = np.unique(u[lo:hi], return_inverse=True)
        rv, cv = np.unique(v[lo:hi], return_inverse=True)
        matrix = np.zeros((len(ru), len(rv)))
        matrix[cu, cv] = w[lo:hi]
        r, c = linear_sum_assignment(matrix, maximize=True)
        value[i] = matrix[r, c].sum()
    return u[starts], value


def _identity(data: _TrackingData, threshold: float) -> dict[str, npt.NDArray[Any]]:
    """TrackEval Identity per sequence: IDTP, IDFN, IDFP from the best global track-to-track assignment.

    TrackEval's (G+T)x(G+T) assignment minimises IDFN + IDFP = (#gt + #pred) -
    2 * sum of matched co-occurrence counts, i.e. it is a maximum-weight
    matching between tracks whose value (IDTP) is unique; it is solved per
    connected component of the track co-occurrence graph.
    """
    cand = data.pair_iou >= threshold
    edge, num_edges = group_index(data.g_track[data.pair_g[cand]], data.p_track[data.pair_p[cand]])
    counts = np.bincount(edge, minlength=num_edges).astype(np.float64)
    edge_u = np.zeros(num_edges, dtype=np.int64)
    edge_v = np.zeros(num_edges, dtype=np.int64)
    edge_u[edge] = data.g_track[data.pair_g[cand]]
    edge_v[edge] = data.p_track[data.pair_p[cand]]
    comp_u, value = _max_weight_matching_value(edge_u, edge_v, counts, data.num_g_tracks, data.num_p_tracks)
    track_seq = _track_seq(data, data.g_track, data.num_g_tracks, data.g_seq)
    idtp = np.rint(data.seq_sum(track_seq[comp_u], weights=value)).astype(np.int64)
    return {
        "IDTP": idtp,
        "IDFN": data.seq_sum(data.g_seq) - idtp,
        "IDFP": data.seq_sum(data.p_seq) - idtp,
    }


def _hota(data: _TrackingData) -> dict[str, npt.NDArray[Any]]:
    """TrackEval HOTA per sequence and alpha: HOTA_TP/FN/FP, AssA/AssRe/AssPr and LocA, shape (S, 19)."""
    num_alpha = len(ALPHAS)
    pg, pp, sim = data.pair_g, data.pair_p, data.pair_iou
    # Global alignment score between track pairs from per-frame "soft IoU" of the similarity matrix.
    row_sum = np.bincount(pg, weights=sim, minlength=len(data.g_cell))
    col_sum = np.bincount(pp, weights=sim, minlength=len(data.p_cell))
    denom = col_sum[pp] + row_sum[pg] - sim
    sim_iou = np.where(denom > 0 + EPS, sim / np.where(denom > 0 + EPS, denom, 1.0), 0.0)
    g_track, p_track = data.g_track[pg], data.p_track[pp]
    edge, num_edges = group_index(g_track, p_track)
    potential = np.bincount(edge, weights=sim_iou, minlength=num_edges)
    gt_len = np.bincount(data.g_track, minlength=data.num_g_tracks).astype(np.float64)
    pr_len = np.bincount(data.p_track, minlength=data.num_p_tracks).astype(np.float64)
    edge_u = np.zeros(num_edges, dtype=np.int64)
    edge_v = np.zeros(num_edges, dtype=np.int64)
    edge_u[edge], edge_v[edge] = g_track, p_track
    alignment = potential / (gt_len[edge_u] + pr_len[edge_v] - potential)
    score = alignment[edge] * sim
    chosen = _assign(data.g_cell[pg], pg, pp, score, data.g_rows, data.p_rows)
    chosen &= score > 0
    m_sim, m_edge, m_seq = sim[chosen], edge[chosen], data.g_seq[pg[chosen]]
    # Number of alphas each match passes (similarity >= alpha - eps); counts per alpha via reverse cumsum.
    passes = np.searchsorted(ALPHAS - EPS, m_sim, side="right")

    def per_alpha(index: npt.NDArray[np.int64], size: int, weights: npt.NDArray[np.float64] | None = None) -> Any:
        hist = np.bincount(index * (num_alpha + 1) + passes, weights=weights, minlength=size * (num_alpha + 1))
        hist = hist.reshape(size, num_alpha + 1)
        return np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]

    tp = per_alpha(m_seq, data.num_seq)
    loc_sum = per_alpha(m_seq, data.num_seq, weights=m_sim)
    num_gt = data.seq_sum(data.g_seq)[:, None]
    num_pred = data.seq_sum(data.p_seq)[:, None]
    match_count = per_alpha(m_edge, num_edges)  # (E, 19)
    gl, pl = gt_len[edge_u][:, None], pr_len[edge_v][:, None]
    track_seq = _track_seq(data, data.g_track, data.num_g_tracks, data.g_seq)
    edge_seq = track_seq[edge_u]

    def seq_alpha_sum(values: npt.NDArray[np.float64]) -> Any:
        flat = (edge_seq[:, None] * num_alpha + np.arange(num_alpha)[None, :]).ravel()
        return np.bincount(flat, weights=values.ravel(), minlength=data.num_seq * num_alpha).reshape(-1, num_alpha)

    tp_den = np.maximum(1, tp)
    ass_a = seq_alpha_sum(match_count * (match_count / np.maximum(1, gl + pl - match_count))) / tp_den
    ass_re = seq_alpha_sum(match_count * (match_count / np.maximum(1, gl))) / tp_den
    ass_pr = seq_alpha_sum(match_count * (match_count / np.maximum(1, pl))) / tp_den
    loc_a = np.maximum(1e-10, loc_sum) / np.maximum(1e-10, tp)
    return {
        "HOTA_TP": tp,
        "HOTA_FN": num_gt - tp,
        "HOTA_FP": num_pred - tp,
        "AssA": ass_a,
        "AssRe": ass_re,
        "AssPr": ass_pr,
        "LocA": loc_a,
    }


_SUMMED = (
    "TP",
    "FN",
    "FP",
    "IDSW",
    "MT",
    "PT",
    "ML",
    "Frag",
    "MOTP_sum",
    "IDTP",
    "IDFN",
    "IDFP",
    "HOTA_TP",
    "HOTA_FN",
    "HOTA_FP",
    "num_gt_dets",
    "num_pred_dets",
    "num_gt_tracks",
    "num_pred_tracks",
)
_ASSOCIATION = ("AssA", "AssRe", "AssPr")


def _pool(groups: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Combine raw statistics of sequences or classes as TrackEval's det-averaged combination does."""
    out: dict[str, Any] = {key: sum(g[key] for g in groups) for key in _SUMMED}
    tp = out["HOTA_TP"]
    for key in _ASSOCIATION:
        out[key] = sum(g[key] * g["HOTA_TP"] for g in groups) / np.maximum(1.0, tp)
    out["LocA"] = np.maximum(1e-10, sum(g["LocA"] * g["HOTA_TP"] for g in groups)) / np.maximum(1e-10, tp)
    return out


def _finalize(raw: Mapping[str, Any]) -> dict[str, float | int]:
    """TrackEval's final fields from combined raw statistics (HOTA family: mean over alphas)."""
    tp, fn, fp, idsw = (int(raw[k]) for k in ("TP", "FN", "FP", "IDSW"))
    gt_dets = max(1.0, tp + fn)
    idtp, idfn, idfp = (int(raw[k]) for k in ("IDTP", "IDFN", "IDFP"))
    h_tp, h_fn, h_fp = (np.asarray(raw[k], dtype=np.float64) for k in ("HOTA_TP", "HOTA_FN", "HOTA_FP"))
    det_a = h_tp / np.maximum(1, h_tp + h_fn + h_fp)
    ass_a = np.asarray(raw["AssA"], dtype=np.float64)
    out: dict[str, float | int] = {
        "MOTA": (tp - fp - idsw) / gt_dets,
        "MOTP": float(raw["MOTP_sum"]) / max(1.0, tp),
        "MODA": (tp - fp) / gt_dets,
        "sMOTA": (float(raw["MOTP_sum"]) - fp - idsw) / gt_dets,
        "Recall": tp / gt_dets,
        "Precision": tp / max(1.0, tp + fp),
        "IDF1": idtp / max(1.0, idtp + 0.5 * idfp + 0.5 * idfn),
        "IDP": idtp / max(1.0, idtp + idfp),
        "IDR": idtp / max(1.0, idtp + idfn),
        "HOTA": float(np.mean(np.sqrt(det_a * ass_a))),
        "DetA": float(np.mean(det_a)),
        "AssA": float(np.mean(ass_a)),
        "DetRe": float(np.mean(h_tp / np.maximum(1, h_tp + h_fn))),
        "DetPr": float(np.mean(h_tp / np.maximum(1, h_tp + h_fp))),
        "AssRe": float(np.mean(raw["AssRe"])),
        "AssPr": float(np.mean(raw["AssPr"])),
        "LocA": float(np.mean(raw["LocA"])),
    }
    for key in COUNT_FIELDS:
        out[key] = int(raw[key])
    return out


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
    ``metrics`` holds ratios as fractions (MOTA, MOTP, IDF1, IDP, IDR, HOTA,
    DetA, AssA, LocA, ...) and integer counts (TP, FP, FN, IDSW, Frag, MT, PT,
    ML, IDTP, IDFP, IDFN, num_gt_dets, ...). ``per_class`` lists classes with
    ground truth or predictions; "mean" averages ratios over classes with
    ground truth (counts summed), "overall" and super-categories pool the
    counts of their classes first (TrackEval's detection-averaged
    combination). ``iou_threshold`` is the CLEAR/Identity match threshold.
    ``source``/``gt_source`` name the inputs in error messages.
    """
    if ignore_rule not in IGNORE_RULES:
        raise ConfigError(f"ignore_rule: expected one of {list(IGNORE_RULES)}, got {ignore_rule!r}")
    if not 0.0 < iou_threshold <= 1.0:
        raise ConfigError(f"iou_threshold: expected a value in (0, 1], got {iou_threshold}")
    frame_rows = _validate(gt, pred, source, gt_source)
    data = _prepare(gt, pred, frame_rows, ignore_rule)
    per_seq: dict[str, npt.NDArray[Any]] = {}
    per_seq.update(_clear(data, iou_threshold))
    per_seq.update(_identity(data, iou_threshold))
    per_seq.update(_hota(data))
    per_seq["num_gt_dets"] = data.seq_sum(data.g_seq)
    per_seq["num_pred_dets"] = data.seq_sum(data.p_seq)
    per_seq["num_gt_tracks"] = data.seq_sum(_track_seq(data, data.g_track, data.num_g_tracks, data.g_seq))
    per_seq["num_pred_tracks"] = data.seq_sum(_track_seq(data, data.p_track, data.num_p_tracks, data.p_seq))

    categories = list(gt.categories)
    num_classes = len(categories)
    raw_per_class: list[dict[str, Any]] = []
    for k in range(num_classes):
        seqs = np.arange(k, data.num_seq, num_classes)
        sub = {key: value[seqs] for key, value in per_seq.items()}
        pooled: dict[str, Any] = {key: sub[key].sum(axis=0) for key in _SUMMED}
        tp = pooled["HOTA_TP"]
        for key in _ASSOCIATION:
            pooled[key] = (sub[key] * sub["HOTA_TP"]).sum(axis=0) / np.maximum(1.0, tp)
        pooled["LocA"] = np.maximum(1e-10, (sub["LocA"] * sub["HOTA_TP"]).sum(axis=0)) / np.maximum(1e-10, tp)
        raw_per_class.append(pooled)

    finals = [_finalize(raw) for raw in raw_per_class]
    present = [k for k in range(num_classes) if finals[k]["num_gt_dets"] > 0 or finals[k]["num_pred_dets"] > 0]
    with_gt = [k for k in range(num_classes) if finals[k]["num_gt_dets"] > 0]
    result: dict[str, Any] = {
        "per_class": {categories[k]: finals[k] for k in present},
        "mean": _class_mean([finals[k] for k in with_gt], finals),
        "overall": _finalize(_pool(raw_per_class)),
    }
    if super_categories is not None:
        supers: dict[str, Any] = {}
        for name, members in super_categories.items():
            idx = [categories.index(m) for m in members if m in categories]
            if idx:
                supers[name] = _finalize(_pool([raw_per_class[k] for k in idx]))
        result["super_categories"] = supers
    return result
