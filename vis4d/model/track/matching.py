"""The tracker kit's matching: cost matrices between tracks and detections, and the assignments on them.

Costs and similarities (rows: one side, columns: the other; float64 numpy):

* :func:`iou`, :func:`giou`, :func:`diou`, :func:`ciou`, :func:`centre_similarity`
  on xyxy boxes. The last four are OC-SORT's association functions, rescaled
  to [0, 1] as its authors do (``(giou + 1) / 2``; centre distance divided by
  the largest one and subtracted from 1);
* :func:`embedding_distance`: cosine distance of appearance embeddings,
  clipped at 0 (BoT-SORT's ``cdist(..., "cosine")``);
* :func:`fuse_score`: ByteTrack's ``1 - IoU * score`` from an IoU distance.

Assignments:

* :func:`assign`: the thresholded optimum that ByteTrack's and BoT-SORT's
  ``lap.lapjv(cost, extend_cost=True, cost_limit=threshold)`` solves: pairs
  costing below ``threshold``, minimising the total where leaving a row or a
  column unmatched costs ``threshold / 2`` each. Pairs costing at least the
  threshold are never better than leaving both unmatched, so the problem
  splits into the connected groups of cheaper pairs; large matrices are
  solved group by group (a thousand well separated tracks are a thousand
  1 x 1 problems, solved at once), which gives the same optimum;
* :func:`assign_full`: the minimum-cost assignment of ``min(rows, cols)``
  pairs (``lap.lapjv(extend_cost=True)`` without a limit, as SORT and OC-SORT
  call it); callers filter the pairs afterwards;
* :func:`greedy`: pairs taken by decreasing similarity above a threshold.

The linear assignments run on ``scipy.optimize.linear_sum_assignment``.
Exact ties between costs may be broken differently from ``lap``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from vis4d.model.boxes import pairwise_iou

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# Below this many cells a thresholded assignment is solved in one piece: splitting costs more than it saves.
_SPLIT_ABOVE = 4096


def iou(boxes1: FloatArray, boxes2: FloatArray, pixel_offset: float = 0.0) -> FloatArray:
    """(N, M) IoU of xyxy boxes; ``pixel_offset=1`` counts both end pixels (cython_bbox, ByteTrack, BoT-SORT)."""
    if len(boxes1) == 0 or len(boxes2) == 0:
        return np.zeros((len(boxes1), len(boxes2)))
    return np.asarray(pairwise_iou(boxes1, boxes2, pixel_offset), dtype=np.float64)


def _enclosing(boxes1: FloatArray, boxes2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Width and height of the smallest box enclosing each pair."""
    width = np.maximum(boxes1[:, None, 2], boxes2[None, :, 2]) - np.minimum(boxes1[:, None, 0], boxes2[None, :, 0])
    height = np.maximum(boxes1[:, None, 3], boxes2[None, :, 3]) - np.minimum(boxes1[:, None, 1], boxes2[None, :, 1])
    return width, height


def _centre_distance_sq(boxes1: FloatArray, boxes2: FloatArray) -> FloatArray:
    cx1, cy1 = (boxes1[:, 0] + boxes1[:, 2]) / 2.0, (boxes1[:, 1] + boxes1[:, 3]) / 2.0
    cx2, cy2 = (boxes2[:, 0] + boxes2[:, 2]) / 2.0, (boxes2[:, 1] + boxes2[:, 3]) / 2.0
    return np.asarray((cx1[:, None] - cx2[None, :]) ** 2 + (cy1[:, None] - cy2[None, :]) ** 2)


def _intersection_union(boxes1: FloatArray, boxes2: FloatArray) -> tuple[FloatArray, FloatArray]:
    """(N, M) intersection and union areas, computed as OC-SORT computes them."""
    width = np.maximum(
        0.0, np.minimum(boxes1[:, None, 2], boxes2[None, :, 2]) - np.maximum(boxes1[:, None, 0], boxes2[None, :, 0])
    )
    height = np.maximum(
        0.0, np.minimum(boxes1[:, None, 3], boxes2[None, :, 3]) - np.maximum(boxes1[:, None, 1], boxes2[None, :, 1])
    )
    intersection = width * height
    area1 = (boxes1[:, 2] - boxes1[:, 0]) * (boxes1[:, 3] - boxes1[:, 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    return intersection, np.asarray(area1[:, None] + area2[None, :] - intersection)


def giou(boxes1: FloatArray, boxes2: FloatArray) -> FloatArray:
    """Generalised IoU rescaled to [0, 1]: ``(GIoU + 1) / 2`` (OC-SORT's ``giou``)."""
    if len(boxes1) == 0 or len(boxes2) == 0:
        return np.zeros((len(boxes1), len(boxes2)))
    intersection, union = _intersection_union(boxes1, boxes2)
    width, height = _enclosing(boxes1, boxes2)
    enclosing = width * height
    return np.asarray((intersection / union - (enclosing - union) / enclosing + 1.0) / 2.0)


def diou(boxes1: FloatArray, boxes2: FloatArray) -> FloatArray:
    """Distance IoU rescaled to [0, 1] (OC-SORT's ``diou``)."""
    if len(boxes1) == 0 or len(boxes2) == 0:
        return np.zeros((len(boxes1), len(boxes2)))
    intersection, union = _intersection_union(boxes1, boxes2)
    width, height = _enclosing(boxes1, boxes2)
    return np.asarray((intersection / union - _centre_distance_sq(boxes1, boxes2) / (width**2 + height**2) + 1.0) / 2.0)


def ciou(boxes1: FloatArray, boxes2: FloatArray) -> FloatArray:
    """Complete IoU rescaled to [0, 1], heights padded by a pixel against division by zero (OC-SORT's ``ciou``)."""
    if len(boxes1) == 0 or len(boxes2) == 0:
        return np.zeros((len(boxes1), len(boxes2)))
    intersection, union = _intersection_union(boxes1, boxes2)
    overlap = intersection / union
    width, height = _enclosing(boxes1, boxes2)
    distance = _centre_distance_sq(boxes1, boxes2) / (width**2 + height**2)
    w1, h1 = boxes1[:, 2] - boxes1[:, 0], boxes1[:, 3] - boxes1[:, 1] + 1.0
    w2, h2 = boxes2[:, 2] - boxes2[:, 0], boxes2[:, 3] - boxes2[:, 1] + 1.0
    arctan = np.arctan(w2 / h2)[None, :] - np.arctan(w1 / h1)[:, None]
    v = (4 / (np.pi**2)) * (arctan**2)
    alpha = v / (1 - overlap + v)
    return np.asarray((overlap - distance - alpha * v + 1.0) / 2.0)


def centre_similarity(boxes1: FloatArray, boxes2: FloatArray) -> FloatArray:
    """1 - centre distance / the largest centre distance in the matrix (OC-SORT's ``ct_dist``)."""
    if len(boxes1) == 0 or len(boxes2) == 0:
        return np.zeros((len(boxes1), len(boxes2)))
    distance = np.sqrt(_centre_distance_sq(boxes1, boxes2))
    distance = distance / distance.max()
    return np.asarray(distance.max() - distance)


BOX_SIMILARITIES = {"iou": iou, "giou": giou, "diou": diou, "ciou": ciou, "centre": centre_similarity}


def embedding_distance(embeddings1: FloatArray, embeddings2: FloatArray) -> FloatArray:
    """(N, M) cosine distance ``1 - cos``, at least 0 (BoT-SORT's ``embedding_distance``)."""
    if len(embeddings1) == 0 or len(embeddings2) == 0:
        return np.zeros((len(embeddings1), len(embeddings2)))
    norm1 = np.linalg.norm(embeddings1, axis=1)
    norm2 = np.linalg.norm(embeddings2, axis=1)
    cosine = (embeddings1 @ embeddings2.T) / (norm1[:, None] * norm2[None, :])
    return np.asarray(np.maximum(0.0, 1.0 - cosine))


def unit_rows(vectors: FloatArray) -> FloatArray:
    """Each row divided by its L2 norm (appearance embeddings)."""
    return np.asarray(vectors / np.linalg.norm(vectors, axis=-1, keepdims=True))


def fuse_score(iou_distance: FloatArray, scores: FloatArray) -> FloatArray:
    """``1 - IoU * score`` from ``1 - IoU`` (rows: tracks, columns: detections with ``scores``)."""
    return np.asarray(1.0 - (1.0 - iou_distance) * scores[None, :])


def _extended_assignment(cost: FloatArray, threshold: float) -> tuple[IntArray, IntArray]:
    """Matched (rows, cols) of one matrix extended by ``threshold / 2`` for each unmatched row and column."""
    rows, cols = cost.shape
    extended = np.zeros((rows + cols, rows + cols))
    extended[:rows, :cols] = cost
    extended[:rows, cols:] = threshold / 2
    extended[rows:, :cols] = threshold / 2
    row_index, col_index = linear_sum_assignment(extended)
    real = (row_index < rows) & (col_index < cols)
    return row_index[real].astype(np.int64), col_index[real].astype(np.int64)


def _split_assignment(cost: FloatArray, threshold: float) -> tuple[IntArray, IntArray]:
    """:func:`_extended_assignment` solved per connected group of pairs costing below ``threshold``."""
    num_rows, num_cols = cost.shape
    edge_rows, edge_cols = np.nonzero(cost < threshold)
    if len(edge_rows) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    graph = coo_matrix((np.ones(len(edge_rows)), (edge_rows, edge_cols + num_rows)), shape=(num_rows + num_cols,) * 2)
    _, labels = connected_components(graph, directed=False)
    row_labels, col_labels = labels[:num_rows], labels[num_rows:]
    edges_per_group = np.bincount(row_labels[edge_rows], minlength=len(labels))
    single = edges_per_group[row_labels[edge_rows]] == 1  # one pair alone in its group: it is matched
    out_rows, out_cols = [edge_rows[single]], [edge_cols[single]]
    for group in np.unique(row_labels[edge_rows[~single]]):
        rows = np.flatnonzero(row_labels == group)
        cols = np.flatnonzero(col_labels == group)
        sub_rows, sub_cols = _extended_assignment(cost[np.ix_(rows, cols)], threshold)
        out_rows.append(rows[sub_rows])
        out_cols.append(cols[sub_cols])
    matched_rows = np.concatenate(out_rows).astype(np.int64)
    order = np.argsort(matched_rows, kind="stable")
    return matched_rows[order], np.concatenate(out_cols).astype(np.int64)[order]


def assign(cost: FloatArray, threshold: float) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Thresholded optimal assignment: matched rows and columns (row order), unmatched rows, unmatched columns."""
    num_rows, num_cols = cost.shape
    if cost.size == 0:
        rows = cols = np.zeros(0, dtype=np.int64)
    elif cost.size > _SPLIT_ABOVE:
        rows, cols = _split_assignment(cost, threshold)
    else:
        rows, cols = _extended_assignment(cost, threshold)
    return rows, cols, _unmatched(num_rows, rows), _unmatched(num_cols, cols)


def assign_full(cost: FloatArray) -> tuple[IntArray, IntArray]:
    """Minimum-cost assignment of ``min(rows, cols)`` pairs, in row order (no threshold: filter afterwards)."""
    if cost.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    rows, cols = linear_sum_assignment(cost)
    return rows.astype(np.int64), cols.astype(np.int64)


def greedy(similarity: FloatArray, threshold: float) -> tuple[IntArray, IntArray]:
    """Pairs by decreasing similarity, each at least ``threshold``, whose row and column are both still free."""
    rows, cols = np.nonzero(similarity >= threshold)
    order = np.argsort(-similarity[rows, cols], kind="stable")
    row_taken = np.zeros(similarity.shape[0], dtype=bool)
    col_taken = np.zeros(similarity.shape[1], dtype=bool)
    out_rows: list[int] = []
    out_cols: list[int] = []
    for row, col in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        if row_taken[row] or col_taken[col]:
            continue
        row_taken[row] = col_taken[col] = True
        out_rows.append(row)
        out_cols.append(col)
    return np.asarray(out_rows, dtype=np.int64), np.asarray(out_cols, dtype=np.int64)


def _unmatched(size: int, matched: IntArray) -> IntArray:
    free = np.ones(size, dtype=bool)
    free[matched] = False
    return np.flatnonzero(free).astype(np.int64)
