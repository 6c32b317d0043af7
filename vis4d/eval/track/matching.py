"""Per-cell assignment on flat arrays: the matching step every tracking metric and ignore rule shares.

Boxes of the same frame and class form a *cell*. Candidate pairs (a ground
truth and a prediction of one cell with a positive score) are flat arrays
sorted by cell. TrackEval solves one assignment problem per frame; here a
problem is only solved (``scipy.optimize.linear_sum_assignment`` on the same
matrix TrackEval builds) in cells where candidates conflict (a box with two or
more candidates). Where no box has more than one candidate, any optimal
assignment takes every candidate, so the solution is known without solving;
in other cells, small groups of conflicting candidates are solved all at once
by trying every assignment, and only cells with larger groups or ties reach
the solver.
"""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from vis4d.common.arrays import group_index, stable_argsort
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


_LARGEST_TRIED = 5  # components up to 5 x 5 are solved by trying every assignment (5! = 120)
_PERMUTATIONS = {n: np.array(list(itertools.permutations(range(n))), dtype=np.int64) for n in range(2, 6)}


def _try_every_assignment(
    matrix: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Best assignment (column of each row) of each n x n matrix, and whether its set of positive pairs is unique."""
    n = matrix.shape[1]
    perms = _PERMUTATIONS[n]
    picked = matrix[:, np.arange(n)[None, :], perms]  # (matrices, n! assignments, n rows)
    totals = picked.sum(axis=2)
    best = totals.argmax(axis=1)
    is_best = totals == totals[np.arange(len(totals)), best][:, None]
    code = ((picked > 0) * (1 << (np.arange(n) * n + perms))).sum(axis=2)  # the positive pairs an assignment takes
    unique = np.where(is_best, code, -1).max(axis=1) == np.where(is_best, code, np.iinfo(np.int64).max).min(axis=1)
    return perms[best], unique


def _rank_in_component(comp: npt.NDArray[np.int64], node: npt.NDArray[np.int64], num: int) -> npt.NDArray[np.int64]:
    """Each edge's node (row or column) numbered 0, 1, ... within its component, in node order.

    A node belongs to one component, so the distinct nodes are found with a
    flag array and only they are sorted by component (a radix sort).
    """
    ids, count = group_index(node)
    node_comp = np.zeros(count, dtype=np.int64)
    node_comp[ids] = comp
    order = stable_argsort(node_comp, num)
    first = np.searchsorted(node_comp[order], node_comp[order], side="left")
    rank = np.empty(count, dtype=np.int64)
    rank[order] = np.arange(count) - first
    return rank[ids]


def _small_matchings(
    comp: npt.NDArray[np.int64], row: npt.NDArray[np.int64], col: npt.NDArray[np.int64], score: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Maximum assignments of many small components at once: (edges taken, edge's component solved).

    ``comp`` numbers the components densely. A component is solved when it
    has at most 5 rows and 5 columns and its best assignment's set of positive
    pairs is unique (no tie); every other edge is left to the per-cell solver.
    Components of one size n (the larger side) are solved together as n x n
    matrices, trying all n! assignments.
    """
    num = int(comp.max()) + 1 if len(comp) else 0
    local = [_rank_in_component(comp, side, num) for side in (row, col)]
    size = np.zeros(num, dtype=np.int64)
    np.maximum.at(size, comp, np.maximum(local[0], local[1]) + 1)
    solved = np.zeros(num, dtype=bool)
    taken = np.zeros(len(comp), dtype=bool)
    for n in range(2, _LARGEST_TRIED + 1):
        members = size == n
        if not members.any():
            continue
        index = np.cumsum(members) - 1
        edge = members[comp]
        matrix = np.zeros((int(members.sum()), n, n))
        matrix[index[comp[edge]], local[0][edge], local[1][edge]] = score[edge]
        assignment, unique = _try_every_assignment(matrix)
        solved[np.flatnonzero(members)[unique]] = True
        taken[edge] = assignment[index[comp[edge]], local[0][edge]] == local[1][edge]
    return taken & solved[comp], solved[comp]


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
        index = np.cumsum(np.concatenate([[True], self.cell[1:] != self.cell[:-1]])) - 1  # dense cell of each pair
        flagged: npt.NDArray[np.bool_] = (np.bincount(index, weights=shared) > 0)[index]
        return flagged

    def hard(self, conflict: npt.NDArray[np.bool_], keep: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
        """Resolve the conflict pairs without a solver per cell; return the pairs of cells that still need one.

        A cell's candidates fall into connected components (pairs sharing a row
        or column), and a maximum assignment of the cell is one of each
        component. Components of up to 5 x 5 boxes are solved together by
        trying every assignment (:func:`_small_matchings`); where the best one
        is unique, it is what any solver finds. Cells with a larger component or
        a tie go to the per-cell solver, which breaks ties as the reference
        implementations do. Sets ``keep`` for the resolved pairs.
        """
        idx = np.flatnonzero(conflict)
        row, col, score = self.row[idx], self.col[idx], self.score[idx]
        num_rows = len(self.rows.cell)
        graph = coo_matrix((np.ones(len(idx)), (row, col + num_rows)), shape=(num_rows + len(self.cols.cell),) * 2)
        comp = connected_components(graph, directed=False)[1][row]
        num = int(comp.max()) + 1
        # Stars (one row or one column): the best pair, if it is the only best.
        best = np.full(num, -np.inf)
        np.maximum.at(best, comp, score)
        is_best = score == best[comp]
        single = np.zeros(num, dtype=bool)
        for side in (row, col):
            low, high = np.full(num, np.iinfo(np.int64).max), np.full(num, -1)
            np.minimum.at(low, comp, side)
            np.maximum.at(high, comp, side)
            single |= low == high
        star = single & (np.bincount(comp, weights=is_best, minlength=num) == 1)
        keep[idx[is_best & star[comp]]] = True
        rest = ~single[comp]
        solved = star[comp]
        if rest.any():
            small_comp, _ = group_index(comp[rest])
            taken, small_solved = _small_matchings(small_comp, row[rest], col[rest], score[rest])
            keep[idx[rest][taken]] = True
            solved[rest] = small_solved
        return np.isin(self.cell, np.unique(self.cell[idx[~solved]]))

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

    def solve_cells(
        self, cells: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """SciPy's full assignment of each cell's (rows x cols) matrix, as TrackEval builds it, for many cells.

        Returns, for every assigned (row, column) of every cell: the pair
        index (-1 where the entry is no candidate), the row, the column and
        the entry. The matrices are written into one flat buffer at once, so
        the loop over cells only slices it and calls
        ``linear_sum_assignment(-matrix)``: the same call on the same
        matrices as :meth:`solve_cell`, a fraction of its overhead per cell.
        """
        bounds = self.bounds(cells)
        lo, hi, row0, n_rows, col0, n_cols = bounds.T
        size = n_rows * n_cols
        offset = np.cumsum(size) - size
        in_cell = np.repeat(np.arange(len(cells)), hi - lo)
        count = hi - lo
        pair = np.arange(int(count.sum()), dtype=np.int64) + np.repeat(lo - (np.cumsum(count) - count), count)
        flat = offset[in_cell] + (self.row[pair] - row0[in_cell]) * n_cols[in_cell] + self.col[pair] - col0[in_cell]
        buffer = np.zeros(int(size.sum()))
        buffer[flat] = self.score[pair]
        index = np.full(len(buffer), -1, dtype=np.int64)
        index[flat] = pair
        negated = -buffer
        rows: list[npt.NDArray[np.int64]] = []
        cols: list[npt.NDArray[np.int64]] = []
        for start, nr, nc in zip(offset.tolist(), n_rows.tolist(), n_cols.tolist(), strict=True):
            r, c = linear_sum_assignment(negated[start : start + nr * nc].reshape(nr, nc))
            rows.append(r)
            cols.append(c)
        count = np.minimum(n_rows, n_cols)
        r_all = np.concatenate(rows).astype(np.int64) if rows else np.zeros(0, np.int64)
        c_all = np.concatenate(cols).astype(np.int64) if cols else np.zeros(0, np.int64)
        at = np.repeat(offset, count) + r_all * np.repeat(n_cols, count) + c_all
        return index[at], r_all + np.repeat(row0, count), c_all + np.repeat(col0, count), buffer[at]

    def assign(self) -> npt.NDArray[np.bool_]:
        """Which candidate pairs a per-cell max-score assignment keeps (conflict-free cells keep all)."""
        keep = np.ones(len(self.cell), dtype=bool)
        conflict = self.conflicts()
        if not conflict.any():
            return keep
        keep[conflict] = False
        hard = self.hard(conflict, keep)
        keep[hard] = False
        pair, _, _, value = self.solve_cells(np.unique(self.cell[hard]))
        keep[pair[(pair >= 0) & (value > 0 + EPS)]] = True
        return keep
