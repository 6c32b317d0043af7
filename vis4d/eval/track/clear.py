"""TrackEval's CLEAR MOT metrics (MOTA, MOTP, MODA, sMOTA; TP, FP, FN, ID switches, fragmentations, MT/PT/ML).

Matching is per frame and class, maximising IoU (>= the threshold) with a
bonus of 1000 for continuing the match a ground-truth track had in its
previous *active* frame (a frame of its sequence with both ground truth and
predictions); TrackEval only updates that state in active frames. Cells whose
candidates do not conflict keep all their candidates; conflict cells are
solved in temporal order, each seeing the final matches of its previous
active frame.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common.arrays import stable_argsort
from vis4d.eval.common import EPS, sorted_unique
from vis4d.eval.track.base import EvalOptions, Raw, TrackMetric
from vis4d.eval.track.matching import CandidatePairs
from vis4d.eval.track.prepare import TrackingData

CONTINUATION_BONUS = 1000.0


@dataclasses.dataclass
class _Matches:
    """The matched (ground truth, prediction) pairs and their IoU."""

    g: npt.NDArray[np.int64]
    p: npt.NDArray[np.int64]
    iou: npt.NDArray[np.float64]


class CLEAR(TrackMetric):
    """CLEAR MOT (Bernardin and Stiefelhagen 2008) as TrackEval computes it."""

    name = "clear"
    title = "CLEAR MOT"
    columns = ("MOTA", "MOTP", "FP", "FN", "IDSW", "MT", "PT", "ML", "Frag")
    headline = ("MOTA", "IDSW")

    ratio_fields = ("MOTA", "MOTP", "MODA", "sMOTA", "Recall", "Precision")
    count_fields = ("TP", "FP", "FN", "IDSW", "Frag", "MT", "PT", "ML")

    def compute(self, data: TrackingData, options: EvalOptions) -> Raw:
        """TP, FN, FP, IDSW, MT, PT, ML, Frag and MOTP_sum (summed IoU of matches) per sequence."""
        cand = data.pair_iou >= options.iou_threshold - EPS
        cg, cp, sim = data.pair_g[cand], data.pair_p[cand], data.pair_iou[cand]
        pairs = CandidatePairs(data.g_cell[cg], cg, cp, sim, data.g_rows, data.p_rows)
        active, previous = _active_cells(data)
        matches = _match(data, pairs, active, previous)
        seq_of_match = data.g_seq[matches.g]
        tp = data.seq_sum(seq_of_match)
        track_seq = data.g_track_seq()
        mostly, partly = _coverage(data, matches)
        mt, pt = data.seq_sum(track_seq[mostly]), data.seq_sum(track_seq[partly])
        return {
            "TP": tp,
            "FN": data.seq_sum(data.g_seq) - tp,
            "FP": data.seq_sum(data.p_seq) - tp,
            "IDSW": _id_switches(data, matches),
            "MT": mt,
            "PT": pt,
            "ML": data.seq_sum(track_seq) - mt - pt,
            "Frag": _fragmentations(data, matches, active),
            "MOTP_sum": data.seq_sum(seq_of_match, weights=matches.iou),
        }

    def finalize(self, raw: Mapping[str, npt.NDArray[Any]]) -> dict[str, float | int]:
        """MOTA = 1 - (FN + FP + IDSW) / #gt, MOTP = mean IoU of matches, and the rest."""
        tp, fn, fp, idsw = (int(raw[k]) for k in ("TP", "FN", "FP", "IDSW"))
        gt_dets = max(1.0, tp + fn)
        motp_sum = float(raw["MOTP_sum"])
        return {
            "MOTA": (tp - fp - idsw) / gt_dets,
            "MOTP": motp_sum / max(1.0, tp),
            "MODA": (tp - fp) / gt_dets,
            "sMOTA": (motp_sum - fp - idsw) / gt_dets,
            "Recall": tp / gt_dets,
            "Precision": tp / max(1.0, tp + fp),
        }


def _active_cells(data: TrackingData) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Cells with ground truth and predictions in (sequence, frame) order, and each one's previous (-1: none)."""
    num_classes = data.num_classes
    g_cells, p_cells = sorted_unique(data.g_cell), sorted_unique(data.p_cell)  # both sorted by cell
    active = g_cells[np.isin(g_cells, p_cells, assume_unique=True)]
    active_frame = active // num_classes
    active_seq = data.frame_video[active_frame] * num_classes + active % num_classes
    order = np.argsort(active_seq * max(len(data.frame_video), 1) + active_frame)
    active, active_seq = active[order], active_seq[order]
    same_seq = np.zeros(len(active), dtype=bool)
    same_seq[1:] = active_seq[1:] == active_seq[:-1]
    previous = np.full(len(active), -1, dtype=np.int64)
    previous[1:][same_seq[1:]] = active[:-1][same_seq[1:]]
    return active, previous


def _match(
    data: TrackingData, pairs: CandidatePairs, active: npt.NDArray[np.int64], previous: npt.NDArray[np.int64]
) -> _Matches:
    """CLEAR's per-frame matching: conflict-free cells take every candidate, conflict cells solved in time order."""
    match_of_g = np.full(len(data.g_cell), -1, dtype=np.int64)
    conflict = pairs.conflicts()
    match_of_g[pairs.row[~conflict]] = pairs.col[~conflict]  # these feed the bonus of later conflict cells
    keep = ~conflict
    if conflict.any():
        in_conflict = np.isin(active, np.unique(pairs.cell[conflict]))
        cells, prev_cells = active[in_conflict], previous[in_conflict]
        for bounds, prev in zip(pairs.bounds(cells), prev_cells.tolist(), strict=True):
            matrix, index = pairs.dense(bounds)
            score = _continuation_bonus(data, match_of_g, bounds, prev) + matrix
            score[index < 0] = 0.0
            chosen = pairs.solve_cell(score, index)
            keep[chosen] = True
            match_of_g[pairs.row[chosen]] = pairs.col[chosen]
    return _Matches(pairs.row[keep], pairs.col[keep], pairs.score[keep])


def _continuation_bonus(
    data: TrackingData, match_of_g: npt.NDArray[np.int64], bounds: npt.NDArray[np.int64], prev_cell: int
) -> npt.NDArray[np.float64]:
    """1000 where the prediction continues the track its ground truth was matched to in the previous active frame."""
    _, _, g0, n_rows, p0, n_cols = bounds.tolist()
    if prev_cell < 0:
        return np.zeros((n_rows, n_cols))
    prev = np.array([prev_cell])
    pg0, pg_n = int(data.g_rows.start_of(prev)[0]), int(data.g_rows.count_of(prev)[0])
    prev_matches = match_of_g[pg0 : pg0 + pg_n]
    matched = prev_matches >= 0
    tracks, partners = data.g_track[pg0 : pg0 + pg_n][matched], data.p_track[prev_matches[matched]]
    prev_partner = dict(zip(tracks.tolist(), partners.tolist(), strict=True))
    partner = np.array([prev_partner.get(t, -1) for t in data.g_track[g0 : g0 + n_rows].tolist()])
    p_tracks = data.p_track[p0 : p0 + n_cols]
    continues = (p_tracks[None, :] == partner[:, None]) & (partner[:, None] >= 0)
    bonus: npt.NDArray[np.float64] = CONTINUATION_BONUS * continues
    return bonus


def _id_switches(data: TrackingData, matches: _Matches) -> npt.NDArray[Any]:
    """A ground-truth track matched to a different predicted track than at its previous match, per sequence."""
    g_track, p_track = data.g_track[matches.g], data.p_track[matches.p]
    by_track = stable_argsort(g_track, data.num_g_tracks)  # matches come in frame order: by track, then frame
    gt_sorted, pt_sorted = g_track[by_track], p_track[by_track]
    switch = (gt_sorted[1:] == gt_sorted[:-1]) & (pt_sorted[1:] != pt_sorted[:-1])
    return data.seq_sum(data.g_seq[matches.g][by_track][1:][switch])


def _coverage(data: TrackingData, matches: _Matches) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Mostly tracked (matched in > 80 % of its frames) and partly tracked (>= 20 %) ground-truth tracks."""
    track_len = np.bincount(data.g_track, minlength=data.num_g_tracks)
    track_hits = np.bincount(data.g_track[matches.g], minlength=data.num_g_tracks)
    ratio = track_hits / np.maximum(track_len, 1)
    mostly = ratio > 0.8
    return mostly, (ratio >= 0.2) & ~mostly


def _fragmentations(data: TrackingData, matches: _Matches, active: npt.NDArray[np.int64]) -> npt.NDArray[Any]:
    """A track's matched runs over consecutive *active* frames of its sequence, minus one, per sequence."""
    seq_of_active = data.frame_video[active // data.num_classes] * data.num_classes + active % data.num_classes
    same_seq = np.zeros(len(active), dtype=bool)
    same_seq[1:] = seq_of_active[1:] == seq_of_active[:-1]
    active_rank = np.arange(len(active)) - np.maximum.accumulate(np.where(~same_seq, np.arange(len(active)), 0))
    by_cell = np.argsort(active)
    rank_of_match = active_rank[by_cell][np.searchsorted(active[by_cell], data.g_cell[matches.g])]
    g_track = data.g_track[matches.g]
    by_track_rank = stable_argsort(g_track, data.num_g_tracks)  # in frame order, so by rank within a track
    tr, rk = g_track[by_track_rank], rank_of_match[by_track_rank]
    run_start = np.concatenate([[True], (tr[1:] != tr[:-1]) | (rk[1:] != rk[:-1] + 1)]) if len(tr) else tr > 0
    runs = np.bincount(tr[run_start], minlength=data.num_g_tracks)
    return data.seq_sum(data.g_track_seq(), weights=np.maximum(runs - 1, 0)).astype(np.int64)
