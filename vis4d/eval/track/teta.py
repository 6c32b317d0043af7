"""TETA, Track Every Thing Accuracy (Li et al., ECCV 2022): LocA, AssocA and ClsA, as SysCV's ``teta`` computes it.

TETA does not let a classifier's mistake cost a tracker twice. Matching is
class-agnostic: around every ground-truth box of a class a *local cluster*
holds the predictions that overlap it (IoU >= 0.5), whatever their label, and
localisation and association are scored inside the clusters:

1. Per frame, all ground truth and the predictions of tracks that overlap some
   ground truth somewhere in the video are matched once, across classes
   (Hungarian on HOTA's global alignment score x IoU, kept at IoU >= 0.5).
   A prediction taken there by a box of another class leaves class *c*'s
   clusters in that frame.
2. Per class *c*: the cluster predictions are those with IoU >= 0.5 to a box of
   *c* (minus step 1's); every prediction of a track that is ever in one takes
   part. Matching again maximises alignment x IoU per frame; at each of the 20
   thresholds ``alpha`` = 0, 0.05, ..., 0.95 a pair counts when its IoU >=
   alpha. LocA = TP / (TP + FN + FP), where FP are cluster predictions left
   unmatched; AssocA is HOTA's association score of the matched pairs.
3. ClsA, at alpha = 0.5 ... 0.95: a matched pair whose label is *c* is a
   classification TP, another label a FN of *c* and a FP of that label. With
   exhaustive labels (BDD100K, COCO) every prediction labelled *c* outside
   *c*'s clusters is a FP of *c* too; TAO's labels are not exhaustive, so there
   such predictions are not counted (``exhaustive=False``).

TETA = (LocA + AssocA + ClsA) / 3, averaged over the thresholds (ClsA over its
ten). Per class, sequences combine by summing counts (association weighted by
TP); ``mean`` averages classes with ground truth, ``overall`` and
super-categories pool counts, as the reference does. Two reference details
kept for equality: at alpha = 0 every pair of the full Hungarian assignment
counts, pairs without overlap included (:func:`vis4d.eval.track.assign.full_assignment`
reproduces SciPy's choice), and with exhaustive labels a class whose clusters
are empty in a video keeps only the label errors charged to it while later
classes (in category order) are evaluated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common.arrays import group_index, group_keys
from vis4d.eval.common import EPS, pairs_within_groups, unique_below
from vis4d.eval.track.assign import full_assignment
from vis4d.eval.track.base import EvalOptions, Raw, TrackMetric
from vis4d.eval.track.matching import CandidatePairs, Cells
from vis4d.eval.track.prepare import AgnosticData

ALPHAS = np.arange(0.0, 0.99, 0.05)  # the reference's float values
CLS_FROM = 10  # ALPHAS[10:] (0.5 ... 0.95) are the classification thresholds
OVERLAP_IOU = 0.5
# The order in which SysCV's BDD100K evaluation (scalabel.eval.teta) takes its classes; see _class_rank.
BDD100K_ORDER = ("pedestrian", "rider", "car", "bus", "truck", "train", "motorcycle", "bicycle")
_COUNTS = ("Loc_TP", "Loc_FN", "Loc_FP", "Cls_TP", "Cls_FN", "Cls_FP")
_ASSOC = ("AssocA", "AssocRe", "AssocPr")


@dataclasses.dataclass
class _ClassView:
    """Step 2's matching problem: (frame, class) cells of ground truth and cluster-track predictions."""

    row_g: npt.NDArray[np.int64]  # ground-truth row of each matrix row, rows sorted by (frame, class)
    row_cell: npt.NDArray[np.int64]
    col_p: npt.NDArray[np.int64]  # prediction of each matrix column, columns sorted by (frame, class)
    col_cls: npt.NDArray[np.int64]
    col_cell: npt.NDArray[np.int64]
    col_overlap: npt.NDArray[np.bool_]  # the column is in its class's cluster in that frame
    pairs: CandidatePairs  # positive-IoU (row, column) pairs, score = alignment x IoU
    sim: npt.NDArray[np.float64]  # IoU of each pair
    g_key: npt.NDArray[np.int64]  # dense (gt track, class) of every matrix row
    g_len: npt.NDArray[np.float64]  # frames of each (gt track, class)


def _soft_iou(
    sim: npt.NDArray[np.float64], row: npt.NDArray[np.int64], col: npt.NDArray[np.int64], num_rows: int, num_cols: int
) -> npt.NDArray[np.float64]:
    """HOTA's per-frame soft IoU of every matrix entry: the entry over its row sum plus column sum minus itself."""
    row_sum = np.bincount(row, weights=sim, minlength=num_rows)
    col_sum = np.bincount(col, weights=sim, minlength=num_cols)
    denom = row_sum[row] + col_sum[col] - sim
    soft: npt.NDArray[np.float64] = np.where(denom > 0 + EPS, sim / np.where(denom > 0 + EPS, denom, 1.0), 0.0)
    return soft


def _track_alignment(
    u: npt.NDArray[np.int64], v: npt.NDArray[np.int64], soft: npt.NDArray[np.float64],
    u_len: npt.NDArray[np.float64], v_len: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:  # fmt: skip
    """HOTA's global alignment score of the (u, v) track pair of every entry: summed soft IoU over the tracks' union."""
    edge, (eu, ev) = group_keys(u, v)
    potential = np.bincount(edge, weights=soft, minlength=len(eu))
    alignment: npt.NDArray[np.float64] = (potential / (u_len[eu] + v_len[ev] - potential))[edge]
    return alignment


def _alignment(
    u: npt.NDArray[np.int64], v: npt.NDArray[np.int64], sim: npt.NDArray[np.float64],
    row: npt.NDArray[np.int64], col: npt.NDArray[np.int64], num_rows: int, num_cols: int,
    u_len: npt.NDArray[np.float64], v_len: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:  # fmt: skip
    """HOTA's global alignment score of the (u, v) track pair of every matrix entry, times the entry's IoU.

    The per-frame soft IoU divides an entry by its row and column sums (within
    the frame's matrix); a track pair's alignment is the sum of its soft IoUs
    over the length of the two tracks minus that sum.
    """
    soft = _soft_iou(sim, row, col, num_rows, num_cols)
    score: npt.NDArray[np.float64] = _track_alignment(u, v, soft, u_len, v_len) * sim
    return score


def _contested_frames(data: AgnosticData, pg: npt.NDArray[np.int64], pp: npt.NDArray[np.int64],
                      sim: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:  # fmt: skip
    """Frames holding a prediction that overlaps (IoU >= 0.5 - eps) ground truth of two or more classes.

    Step 1 matters only for such a prediction: one whose overlapping boxes
    are all of class *c* is in *c*'s clusters whether step 1 matches it to one
    of them or not at all (the only classes it can be matched to are those).
    """
    k = data.num_classes
    close = sim >= OVERLAP_IOU - EPS
    classes = unique_below(pp[close] * k + data.g_class[pg[close]], len(data.p_frame) * k) // k
    contested = np.bincount(classes, minlength=len(data.p_frame)) >= 2
    frames = np.zeros(len(data.frame_video), dtype=bool)
    frames[data.p_frame[contested]] = True
    return frames


def agnostic_assignment(data: AgnosticData) -> npt.NDArray[np.int64]:
    """Step 1: the class of the ground-truth box each prediction is matched to across classes (-1: none).

    Only frames where the answer can change a cluster are solved
    (:func:`_contested_frames`, a few percent of them); elsewhere every
    prediction reads -1, which :func:`class_view` treats the same. A solved
    frame's assignment is that of all its boxes, as before: the alignment
    scores of its pairs sum the soft IoUs of their track pairs over every
    frame.
    """
    pg, pp, sim = data.pair_g, data.pair_p, data.pair_iou
    cluster_track = np.zeros(data.num_p_tracks, dtype=bool)
    cluster_track[data.p_track[pp[sim >= OVERLAP_IOU]]] = True
    in_view = cluster_track[data.p_track]
    column = np.cumsum(in_view) - 1
    keep = in_view[pp]
    pg, pp, sim = pg[keep], pp[keep], sim[keep]
    assigned = np.full(len(data.p_frame), -1, dtype=np.int64)
    in_frames = _contested_frames(data, pg, pp, sim)[data.g_frame[pg]]
    if not in_frames.any():
        return assigned
    g_len = np.bincount(data.g_track, minlength=data.num_g_tracks).astype(np.float64)
    p_len = np.bincount(data.p_track, minlength=data.num_p_tracks).astype(np.float64)
    soft = _soft_iou(sim, pg, column[pp], len(data.g_frame), int(in_view.sum()))
    # The track pairs of those frames, summed over all frames: the pairs of their predicted tracks.
    tracks = np.zeros(data.num_p_tracks, dtype=bool)
    tracks[data.p_track[pp[in_frames]]] = True
    sub = tracks[data.p_track[pp]]
    alignment = np.zeros(len(sim))
    alignment[sub] = _track_alignment(data.g_track[pg[sub]], data.p_track[pp[sub]], soft[sub], g_len, p_len)
    pg, pp, sim, score = pg[in_frames], pp[in_frames], sim[in_frames], alignment[in_frames] * sim[in_frames]
    pairs = CandidatePairs(data.g_frame[pg], pg, column[pp], score, Cells(data.g_frame), Cells(data.p_frame[in_view]))
    matched = pairs.assign() & (sim >= OVERLAP_IOU - EPS)
    assigned[pp[matched]] = data.g_class[pg[matched]]
    return assigned


def class_view(data: AgnosticData, assigned: npt.NDArray[np.int64]) -> _ClassView:
    """Step 2's cells: rows are ground truth of the cell's class, columns the predictions of its cluster tracks."""
    k = data.num_classes
    pg, pp, sim = data.pair_g, data.pair_p, data.pair_iou
    over = (sim >= OVERLAP_IOU) & ((assigned[pp] < 0) | (assigned[pp] == data.g_class[pg]))
    overlap_key = unique_below(pp[over] * k + data.g_class[pg[over]], len(data.p_frame) * k)
    cluster = unique_below(data.p_track[overlap_key // k] * k + overlap_key % k, data.num_p_tracks * k)
    ip, ic = pairs_within_groups(data.p_track, cluster // k)
    sorted_key = ip * k + cluster[ic] % k  # ascending: pairs come by prediction, then class
    col_cell = data.p_frame[ip] * k + cluster[ic] % k
    order = np.argsort(col_cell, kind="stable")  # by (frame, class), then prediction (nearly sorted already)
    col_p, col_cls, col_cell = ip[order], cluster[ic][order] % k, col_cell[order]
    col_key = col_p * k + col_cls
    key_order = np.empty_like(order)
    key_order[order] = np.arange(len(order))  # the column of each entry of sorted_key
    g_cell = data.g_frame * k + data.g_class
    row_g = np.argsort(g_cell, kind="stable")
    row_of_g = np.empty_like(row_g)
    row_of_g[row_g] = np.arange(len(row_g))
    pair_key = pp * k + data.g_class[pg]
    pos = np.minimum(np.searchsorted(sorted_key, pair_key), max(len(sorted_key) - 1, 0))
    found = sorted_key[pos] == pair_key if len(sorted_key) else np.zeros(len(pair_key), dtype=bool)
    row, col, sim = row_of_g[pg[found]], key_order[pos[found]], sim[found]
    by_row = np.argsort(row * max(len(col_p), 1) + col, kind="stable")  # nearly sorted (by frame already)
    row, col, sim = row[by_row], col[by_row], sim[by_row]
    g_key, num_keys = group_index(data.g_track[row_g], data.g_class[row_g])
    g_len = np.bincount(g_key, minlength=num_keys).astype(np.float64)
    p_len = np.bincount(data.p_track, minlength=data.num_p_tracks).astype(np.float64)
    score = _alignment(g_key[row], data.p_track[col_p[col]], sim, row, col, len(row_g), len(col_p), g_len, p_len)
    pairs = CandidatePairs(g_cell[row_g][row], row, col, score, Cells(g_cell[row_g]), Cells(col_cell))
    col_overlap = np.isin(col_key, overlap_key, assume_unique=True)
    return _ClassView(row_g, g_cell[row_g], col_p, col_cls, col_cell, col_overlap, pairs, sim, g_key, g_len)


def _per_alpha(index: npt.NDArray[np.int64], passes: npt.NDArray[np.int64], size: int,
               weights: npt.NDArray[np.float64] | None = None) -> Any:  # fmt: skip
    """(size, 20) counts (or sums of ``weights``) of the matches that pass each alpha, grouped by ``index``."""
    n = len(ALPHAS)
    hist = np.bincount(index * (n + 1) + passes, weights=weights, minlength=size * (n + 1)).reshape(size, n + 1)
    return np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]


def _class_rank(categories: tuple[str, ...]) -> npt.NDArray[np.int64]:
    """Position of each class in the reference's evaluation order (it matters for one exhaustive-label detail).

    The reference evaluates BDD100K's classes in its own fixed order, others
    in the order of the category list.
    """
    if set(categories) <= set(BDD100K_ORDER):
        return np.array([BDD100K_ORDER.index(name) for name in categories], dtype=np.int64)
    return np.arange(len(categories), dtype=np.int64)


class TETA(TrackMetric):
    """TETA with LocA, AssocA, ClsA and their recall and precision (fields prefixed ``TETA_``)."""

    name = "teta"
    title = "TETA"
    view = "class_agnostic"
    default = False
    ratio_fields = ("TETA", "TETA_LocA", "TETA_AssocA", "TETA_ClsA", "TETA_LocRe", "TETA_LocPr",
                    "TETA_AssocRe", "TETA_AssocPr", "TETA_ClsRe", "TETA_ClsPr")  # fmt: skip
    columns = ("TETA", "TETA_LocA", "TETA_AssocA", "TETA_ClsA")
    headline = ("TETA",)

    def compute(self, data: Any, options: EvalOptions) -> Raw:
        """Loc/Cls TP, FN, FP and association scores per (video, class) sequence and threshold."""
        assert isinstance(data, AgnosticData)
        view = class_view(data, agnostic_assignment(data))
        k, s = data.num_classes, data.num_seq
        m_row, m_col, m_sim = full_assignment(view.pairs, view.sim)
        passes = np.searchsorted(ALPHAS - EPS, m_sim, side="right")
        video_of_row = data.frame_video[view.row_cell // k]
        m_cls = view.col_cls[m_col]
        m_seq = video_of_row[m_row] * k + m_cls
        loc_tp = _per_alpha(m_seq, passes, s)
        n_gt = data.seq_sum(video_of_row * k + view.row_cell % k)
        ov_seq = data.frame_video[view.col_cell[view.col_overlap] // k] * k + view.col_cls[view.col_overlap]
        n_overlap = data.seq_sum(ov_seq)
        on_cluster = view.col_overlap[m_col]
        raw: Raw = {
            "Loc_TP": loc_tp,
            "Loc_FN": n_gt[:, None] - loc_tp,
            "Loc_FP": n_overlap[:, None] - _per_alpha(m_seq[on_cluster], passes[on_cluster], s),
        }
        raw.update(self._association(data, view, m_row, m_col, passes, m_seq, loc_tp))
        label = data.p_class[view.col_p[m_col]]
        right = label == m_cls
        raw["Cls_TP"] = _per_alpha(m_seq[right], passes[right], s)[:, CLS_FROM:]
        raw["Cls_FN"] = loc_tp[:, CLS_FROM:] - raw["Cls_TP"]
        charged = video_of_row[m_row[~right]] * k + label[~right]
        charges = _per_alpha(charged, passes[~right], s)[:, CLS_FROM:]
        if not options.exhaustive_labels:
            raw["Cls_FP"] = charges
            return raw
        rank = _class_rank(data.categories)
        later = rank[m_cls[~right]] > rank[label[~right]]  # charged while a class after the label's was evaluated
        charges_later = _per_alpha(charged[later], passes[~right][later], s)[:, CLS_FROM:]
        labelled = data.seq_sum(data.frame_video[data.p_frame] * k + data.p_class)
        own = view.col_overlap & (data.p_class[view.col_p] == view.col_cls)
        outside = labelled - data.seq_sum(data.frame_video[view.col_cell[own] // k] * k + view.col_cls[own])
        raw["Cls_FP"] = outside[:, None] + np.where(n_overlap[:, None] == 0, charges_later, charges)
        return raw

    @staticmethod
    def _association(data: AgnosticData, view: _ClassView, m_row: npt.NDArray[np.int64],
                     m_col: npt.NDArray[np.int64], passes: npt.NDArray[np.int64], m_seq: npt.NDArray[np.int64],
                     loc_tp: npt.NDArray[np.float64]) -> Raw:  # fmt: skip
        """AssocA/Re/Pr per sequence and alpha: HOTA's association over the matched (gt track, track) pairs."""
        p_track = data.p_track[view.col_p[m_col]]
        edge, (eu, ev) = group_keys(view.g_key[m_row], p_track)
        num_edges = len(eu)
        counts = _per_alpha(edge, passes, num_edges)
        eseq = np.zeros(num_edges, dtype=np.int64)
        eseq[edge] = m_seq  # a (gt track, class) key has one sequence
        gl = view.g_len[eu][:, None]
        pl = np.bincount(data.p_track, minlength=data.num_p_tracks).astype(np.float64)[ev][:, None]
        n = len(ALPHAS)
        flat = (eseq[:, None] * n + np.arange(n)[None, :]).ravel()

        def seq_mean(values: npt.NDArray[np.float64]) -> Any:
            sums = np.bincount(flat, weights=(counts * values).ravel(), minlength=data.num_seq * n)
            return sums.reshape(-1, n) / np.maximum(1, loc_tp)

        return {
            "AssocA": seq_mean(counts / np.maximum(1, gl + pl - counts)),
            "AssocRe": seq_mean(counts / np.maximum(1, gl)),
            "AssocPr": seq_mean(counts / np.maximum(1, pl)),
        }

    def combine(self, raw: Mapping[str, npt.NDArray[Any]]) -> Raw:
        """Counts summed; association scores weighted by Loc_TP (the reference's combination)."""
        out = {key: raw[key].sum(axis=0) for key in _COUNTS}
        for key in _ASSOC:
            out[key] = (raw[key] * raw["Loc_TP"]).sum(axis=0) / np.maximum(1.0, out["Loc_TP"])
        return out

    def finalize(self, raw: Mapping[str, npt.NDArray[Any]]) -> dict[str, float | int]:
        """Per-threshold scores averaged over the thresholds; TETA = (LocA + AssocA + ClsA) / 3."""
        tp, fn, fp = (np.asarray(raw[f"Loc_{k}"], dtype=np.float64) for k in ("TP", "FN", "FP"))
        ctp, cfn, cfp = (np.asarray(raw[f"Cls_{k}"], dtype=np.float64) for k in ("TP", "FN", "FP"))
        loc_a = tp / np.maximum(1, tp + fn + fp)
        cls_a = float(np.mean(ctp / np.maximum(1, ctp + cfn + cfp)))
        assoc_a = np.asarray(raw["AssocA"], dtype=np.float64)
        return {
            "TETA": float(np.mean((loc_a + assoc_a + cls_a) / 3)),
            "TETA_LocA": float(np.mean(loc_a)),
            "TETA_AssocA": float(np.mean(assoc_a)),
            "TETA_ClsA": cls_a,
            "TETA_LocRe": float(np.mean(tp / np.maximum(1, tp + fn))),
            "TETA_LocPr": float(np.mean(tp / np.maximum(1, tp + fp))),
            "TETA_AssocRe": float(np.mean(raw["AssocRe"])),
            "TETA_AssocPr": float(np.mean(raw["AssocPr"])),
            "TETA_ClsRe": float(np.mean(ctp / np.maximum(1, ctp + cfn))),
            "TETA_ClsPr": float(np.mean(ctp / np.maximum(1, ctp + cfp))),
        }
