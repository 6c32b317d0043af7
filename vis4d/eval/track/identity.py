"""TrackEval's Identity metrics (IDF1, IDP, IDR) from the best global track-to-track assignment.

TrackEval's (G+T)x(G+T) assignment minimises IDFN + IDFP = (#gt + #pred) -
2 * sum of matched co-occurrence counts, i.e. it is a maximum-weight matching
between tracks whose value (IDTP) is unique; it is solved here per connected
component of the track co-occurrence graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from vis4d.common.arrays import group_keys
from vis4d.eval.common import segment_starts
from vis4d.eval.track.base import EvalOptions, Raw, TrackMetric
from vis4d.eval.track.prepare import TrackingData


def max_weight_matching_value(
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


class Identity(TrackMetric):
    """IDF1, IDP, IDR and the IDTP, IDFP, IDFN counts."""

    name = "identity"
    title = "IDF1"
    columns = ("IDF1", "IDP", "IDR")
    headline = ("IDF1",)

    ratio_fields = ("IDF1", "IDP", "IDR")
    count_fields = ("IDTP", "IDFP", "IDFN")

    def compute(self, data: TrackingData, options: EvalOptions) -> Raw:
        """IDTP, IDFN, IDFP per sequence."""
        cand = data.pair_iou >= options.iou_threshold
        g_track, p_track = data.g_track[data.pair_g[cand]], data.p_track[data.pair_p[cand]]
        edge, (edge_u, edge_v) = group_keys(g_track, p_track)
        counts = np.bincount(edge, minlength=len(edge_u)).astype(np.float64)
        comp_u, value = max_weight_matching_value(edge_u, edge_v, counts, data.num_g_tracks, data.num_p_tracks)
        idtp = np.rint(data.seq_sum(data.g_track_seq()[comp_u], weights=value)).astype(np.int64)
        return {"IDTP": idtp, "IDFN": data.seq_sum(data.g_seq) - idtp, "IDFP": data.seq_sum(data.p_seq) - idtp}

    def finalize(self, raw: Mapping[str, npt.NDArray[Any]]) -> dict[str, float | int]:
        """IDF1 = IDTP / (IDTP + (IDFP + IDFN) / 2); IDP, IDR."""
        idtp, idfn, idfp = (int(raw[k]) for k in ("IDTP", "IDFN", "IDFP"))
        return {
            "IDF1": idtp / max(1.0, idtp + 0.5 * idfp + 0.5 * idfn),
            "IDP": idtp / max(1.0, idtp + idfp),
            "IDR": idtp / max(1.0, idtp + idfn),
        }
