"""Per-cell assignment on flat arrays: the matching step every tracking metric and ignore rule shares.

Boxes of the same frame and class form a *cell*. Candidate pairs (a ground
truth and a prediction of one cell with a positive score) are flat arrays
sorted by cell. TrackEval solves one assignment problem per frame; here a
problem is only solved (``scipy.optimize.linear_sum_assignment`` on the same
matrix TrackEval builds) in cells where candidates conflict (a box with two or
more candidates). Where no box has more than one candidate, any optimal
assignment takes every candidate, so the solution is known without solving.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from vis4d.eval.common import EPS


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
class Cells:
    """Rows (one side of a bipartite matching) sorted by cell; a cell's rows are contiguous, in input order."""

    cell: npt.NDArray[np.int64]  # cell id per row (sorted ascending)

    def start_of(self, cells: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """First row of each cell."""
        return np.searchsorted(self.cell, cells, side="left").astype(np.int64)

    def count_of(self, cells: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Number of rows of each cell."""
        return (np.searchsorted(self.cell, cells, side="right") - self.start_of(cells)).astype(np.int64)


@dataclasses.dataclass
class CandidatePairs:
    """Candidate (row, column) pairs with a score, sorted by cell, and the two sides' cells."""

    cell: npt.NDArray[np.int64]
    row: npt.NDArray[np.int64]
    col: npt.NDArray[np.int64]
    score: npt.NDArray[np.float64]
    rows: Cells
    cols: Cells

    def conflicts(self) -> npt.NDArray[np.bool_]:
        """Flag pairs whose cell contains a row or column with more than one candidate."""
        if len(self.cell) == 0:
            return np.zeros(0, dtype=bool)
        shared = (np.bincount(self.row, minlength=len(self.rows.cell))[self.row] > 1) | (
            np.bincount(self.col, minlength=len(self.cols.cell))[self.col] > 1
        )
        return np.isin(self.cell, np.unique(self.cell[shared]))

    def bounds(self, cells: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Per cell (rows of the result): first and end pair, first row, row count, first column, column count."""
        return np.stack(
            [
                np.searchsorted(self.cell, cells, side="left"),
                np.searchsorted(self.cell, cells, side="right"),
                self.rows.start_of(cells),
                self.rows.count_of(cells),
                self.cols.start_of(cells),
                self.cols.count_of(cells),
            ],
            axis=1,
        ).astype(np.int64)

    def dense(
        self, bounds: npt.NDArray[np.int64], score: npt.NDArray[np.float64] | None = None
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
        """One cell's full (rows x cols) matrix as TrackEval builds it, and the pair index of each entry (-1: none).

        ``bounds`` is the cell's row of :meth:`bounds`; ``score`` replaces the pairs' own scores.
        """
        lo, hi, row0, n_rows, col0, n_cols = bounds.tolist()
        matrix = np.zeros((n_rows, n_cols))
        index = np.full((n_rows, n_cols), -1, dtype=np.int64)
        r, c = self.row[lo:hi] - row0, self.col[lo:hi] - col0
        matrix[r, c] = (self.score if score is None else score)[lo:hi]
        index[r, c] = np.arange(lo, hi)
        return matrix, index

    def solve_cell(self, matrix: npt.NDArray[np.float64], index: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Pairs a max-score assignment of one cell keeps: ``linear_sum_assignment(-matrix)``, entries ``> eps``."""
        r, c = linear_sum_assignment(-matrix)
        chosen: npt.NDArray[np.int64] = index[r, c][matrix[r, c] > 0 + EPS]
        return chosen[chosen >= 0]

    def assign(self) -> npt.NDArray[np.bool_]:
        """Which candidate pairs a per-cell max-score assignment keeps (conflict-free cells keep all)."""
        keep = np.ones(len(self.cell), dtype=bool)
        conflict = self.conflicts()
        if not conflict.any():
            return keep
        keep[conflict] = False
        for bounds in self.bounds(np.unique(self.cell[conflict])):
            keep[self.solve_cell(*self.dense(bounds))] = True
        return keep
