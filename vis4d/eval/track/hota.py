"""TrackEval's HOTA family (HOTA, DetA, AssA, DetRe/Pr, AssRe/Pr, LocA) over its 19 localisation thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common.arrays import group_keys
from vis4d.eval.common import EPS
from vis4d.eval.track.base import EvalOptions, Raw, TrackMetric
from vis4d.eval.track.matching import CandidatePairs
from vis4d.eval.track.prepare import TrackingData

# HOTA's localisation thresholds, the same float values as TrackEval's.
ALPHAS = np.arange(0.05, 0.99, 0.05)
_ASSOCIATION = ("AssA", "AssRe", "AssPr")


class HOTA(TrackMetric):
    """Higher Order Tracking Accuracy: sqrt(DetA * AssA), averaged over the alphas."""

    name = "hota"
    title = "HOTA"
    columns = ("HOTA", "DetA", "AssA")
    headline = ("HOTA",)

    ratio_fields = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA")

    def compute(self, data: TrackingData, options: EvalOptions) -> Raw:
        """HOTA_TP/FN/FP, AssA/AssRe/AssPr and LocA per sequence and alpha, shape (S, 19)."""
        pg, pp, sim = data.pair_g, data.pair_p, data.pair_iou
        gt_len = np.bincount(data.g_track, minlength=data.num_g_tracks).astype(np.float64)
        pr_len = np.bincount(data.p_track, minlength=data.num_p_tracks).astype(np.float64)
        edge, num_edges, edge_u, edge_v, score = _track_alignment(data, gt_len, pr_len)
        chosen = CandidatePairs(data.g_cell[pg], pg, pp, score, data.g_rows, data.p_rows).assign()
        chosen &= score > 0
        m_sim, m_edge, m_seq = sim[chosen], edge[chosen], data.g_seq[pg[chosen]]
        # Number of alphas each match passes (similarity >= alpha - eps); counts per alpha via reverse cumsum.
        passes = np.searchsorted(ALPHAS - EPS, m_sim, side="right")
        tp = _per_alpha(m_seq, passes, data.num_seq)
        loc_sum = _per_alpha(m_seq, passes, data.num_seq, weights=m_sim)
        match_count = _per_alpha(m_edge, passes, num_edges)  # (E, 19)
        gl, pl = gt_len[edge_u][:, None], pr_len[edge_v][:, None]
        edge_seq = data.g_track_seq()[edge_u]

        def seq_alpha_mean(values: npt.NDArray[np.float64]) -> Any:
            flat = (edge_seq[:, None] * len(ALPHAS) + np.arange(len(ALPHAS))[None, :]).ravel()
            sums = np.bincount(flat, weights=(match_count * values).ravel(), minlength=data.num_seq * len(ALPHAS))
            return sums.reshape(-1, len(ALPHAS)) / np.maximum(1, tp)

        return {
            "HOTA_TP": tp,
            "HOTA_FN": data.seq_sum(data.g_seq)[:, None] - tp,
            "HOTA_FP": data.seq_sum(data.p_seq)[:, None] - tp,
            "AssA": seq_alpha_mean(match_count / np.maximum(1, gl + pl - match_count)),
            "AssRe": seq_alpha_mean(match_count / np.maximum(1, gl)),
            "AssPr": seq_alpha_mean(match_count / np.maximum(1, pl)),
            "LocA": np.maximum(1e-10, loc_sum) / np.maximum(1e-10, tp),
        }

    def combine(self, raw: Mapping[str, npt.NDArray[Any]]) -> Raw:
        """Counts summed; association scores and LocA weighted by the true positives (TrackEval's combination)."""
        out = {key: raw[key].sum(axis=0) for key in ("HOTA_TP", "HOTA_FN", "HOTA_FP")}
        tp, weights = out["HOTA_TP"], raw["HOTA_TP"]
        for key in _ASSOCIATION:
            out[key] = (raw[key] * weights).sum(axis=0) / np.maximum(1.0, tp)
        out["LocA"] = np.maximum(1e-10, (raw["LocA"] * weights).sum(axis=0)) / np.maximum(1e-10, tp)
        return out

    def finalize(self, raw: Mapping[str, npt.NDArray[Any]]) -> dict[str, float | int]:
        """Per-alpha scores averaged over the alphas."""
        h_tp, h_fn, h_fp = (np.asarray(raw[k], dtype=np.float64) for k in ("HOTA_TP", "HOTA_FN", "HOTA_FP"))
        det_a = h_tp / np.maximum(1, h_tp + h_fn + h_fp)
        ass_a = np.asarray(raw["AssA"], dtype=np.float64)
        return {
            "HOTA": float(np.mean(np.sqrt(det_a * ass_a))),
            "DetA": float(np.mean(det_a)),
            "AssA": float(np.mean(ass_a)),
            "DetRe": float(np.mean(h_tp / np.maximum(1, h_tp + h_fn))),
            "DetPr": float(np.mean(h_tp / np.maximum(1, h_tp + h_fp))),
            "AssRe": float(np.mean(raw["AssRe"])),
            "AssPr": float(np.mean(raw["AssPr"])),
            "LocA": float(np.mean(raw["LocA"])),
        }


def _track_alignment(
    data: TrackingData, gt_len: npt.NDArray[np.float64], pr_len: npt.NDArray[np.float64]
) -> tuple[Any, int, Any, Any, npt.NDArray[np.float64]]:
    """Track-pair edges of the candidate pairs and each pair's matching score (global alignment x similarity).

    The global alignment score of a (gt track, predicted track) edge comes from
    the per-frame "soft IoU" of the similarity matrix, as in TrackEval;
    ``gt_len`` / ``pr_len`` are the tracks' lengths.
    """
    pg, pp, sim = data.pair_g, data.pair_p, data.pair_iou
    row_sum = np.bincount(pg, weights=sim, minlength=len(data.g_cell))
    col_sum = np.bincount(pp, weights=sim, minlength=len(data.p_cell))
    denom = col_sum[pp] + row_sum[pg] - sim
    sim_iou = np.where(denom > 0 + EPS, sim / np.where(denom > 0 + EPS, denom, 1.0), 0.0)
    g_track, p_track = data.g_track[pg], data.p_track[pp]
    edge, (edge_u, edge_v) = group_keys(g_track, p_track)
    num_edges = len(edge_u)
    potential = np.bincount(edge, weights=sim_iou, minlength=num_edges)
    alignment = potential / (gt_len[edge_u] + pr_len[edge_v] - potential)
    return edge, num_edges, edge_u, edge_v, alignment[edge] * sim


def _per_alpha(
    index: npt.NDArray[np.int64],
    passes: npt.NDArray[np.int64],
    size: int,
    weights: npt.NDArray[np.float64] | None = None,
) -> Any:
    """(size, 19) counts (or sums of ``weights``) of the matches that pass each alpha, grouped by ``index``."""
    num_alpha = len(ALPHAS)
    hist = np.bincount(index * (num_alpha + 1) + passes, weights=weights, minlength=size * (num_alpha + 1))
    hist = hist.reshape(size, num_alpha + 1)
    return np.cumsum(hist[:, ::-1], axis=1)[:, ::-1][:, 1:]
