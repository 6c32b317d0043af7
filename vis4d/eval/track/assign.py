"""The full Hungarian assignment of every cell, pairs without overlap included, as SciPy returns it.

Most metrics keep only assigned pairs with a positive score, so any optimal
assignment gives the same result and conflict-free cells need no solver
(:class:`vis4d.eval.track.matching.CandidatePairs`). TETA's lowest threshold
(alpha = 0) counts *every* pair of ``scipy.optimize.linear_sum_assignment``'s
answer, including the zero-score pairs it adds to fill the assignment up to
min(rows, columns); which ones it picks is SciPy's tie-breaking. Conflict
cells are solved with SciPy itself. In a conflict-free cell (each row and
column has at most one positive entry) SciPy's shortest-augmenting-path solver
(``rectangular_lsap``) behaves simply, and :func:`scipy_fill` reproduces it
without building a matrix:

* a tall matrix is transposed first, so rows are the shorter side;
* rows are taken in order; a row without a positive entry takes the lowest
  free column;
* a row with a positive entry takes its column; if a row without one holds
  it, that row moves to the lowest free column among ``1 .. j-1``, else column
  ``0``, else the lowest free column above ``j`` (``j`` its old column; the
  order in which the solver scans its remaining columns).

``tests/eval/track/test_assign.py`` checks this against SciPy on random cells.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from vis4d.eval.common import sorted_unique
from vis4d.eval.track.matching import CandidatePairs


def scipy_fill(num_rows: int, num_cols: int, positive: dict[int, int]) -> list[tuple[int, int]]:
    """The (row, column) pairs SciPy assigns in a conflict-free cell; ``positive`` maps row -> its positive column."""
    transpose = num_rows > num_cols
    if transpose:
        positive = {c: r for r, c in positive.items()}
        num_rows, num_cols = num_cols, num_rows
    holder = [-1] * num_cols
    col_of = [-1] * num_rows
    for i in range(num_rows):
        j = positive.get(i, -1)
        if j >= 0 and holder[j] >= 0:
            z = holder[j]
            order = [*range(1, j), *([0] if j > 0 else []), *range(j + 1, num_cols)]
            free = next(c for c in order if holder[c] < 0)
            holder[free], col_of[z] = z, free
        elif j < 0:
            j = holder.index(-1)
        holder[j], col_of[i] = i, j
    pairs = [(i, col_of[i]) for i in range(num_rows)]
    return [(c, r) for r, c in pairs] if transpose else pairs


def full_assignment(
    pairs: CandidatePairs, sim: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Rows, columns and IoU (``sim`` of the pair, 0 for a zero-score pair) of every cell's full assignment.

    The positive pairs are the maximum assignment (:meth:`CandidatePairs.assign`).
    A cell whose assignment leaves rows and columns over is filled: one row
    and one column left pair up; otherwise a conflict-free cell follows
    :func:`scipy_fill` and a cell with conflicts is solved by SciPy.
    """
    keep = pairs.assign()
    row_cells, col_cells = sorted_unique(pairs.rows.cell), sorted_unique(pairs.cols.cell)
    at = np.minimum(np.searchsorted(col_cells, row_cells), max(len(col_cells) - 1, 0))
    cells = row_cells[col_cells[at] == row_cells] if len(col_cells) else row_cells[:0]  # cells with rows and columns
    n_rows, n_cols = pairs.rows.count_of(cells), pairs.cols.count_of(cells)
    kept_cells = pairs.cell[keep]
    n_kept = np.searchsorted(kept_cells, cells, side="right") - np.searchsorted(kept_cells, cells, side="left")
    fill = np.minimum(n_rows, n_cols) > n_kept
    conflict_cells = sorted_unique(pairs.cell[pairs.conflicts()])
    in_conflict = np.isin(cells, conflict_cells, assume_unique=True)
    forced = fill & (n_rows - n_kept == 1) & (n_cols - n_kept == 1)
    extra_rows, extra_cols = _forced_pairs(pairs, keep, cells[forced])
    solve = fill & ~forced
    extra_r: list[int] = []
    extra_c: list[int] = []
    for bounds in pairs.bounds(cells[solve & in_conflict]):
        lo, hi = int(bounds[0]), int(bounds[1])
        matrix, index = pairs.dense(bounds)
        r, c = linear_sum_assignment(-matrix)
        chosen = index[r, c]
        keep[lo:hi] = False
        keep[chosen[chosen >= 0]] = True
        zero = chosen < 0
        extra_r += (r[zero] + bounds[2]).tolist()
        extra_c += (c[zero] + bounds[4]).tolist()
    for lo, hi, row0, nr, col0, nc in pairs.bounds(cells[solve & ~in_conflict]).tolist():
        positive = dict(zip((pairs.row[lo:hi] - row0).tolist(), (pairs.col[lo:hi] - col0).tolist(), strict=True))
        for r_, c_ in scipy_fill(nr, nc, positive):
            if positive.get(r_, -1) != c_:
                extra_r.append(r_ + row0)
                extra_c.append(c_ + col0)
    rows = np.concatenate([pairs.row[keep], extra_rows, np.asarray(extra_r, dtype=np.int64)])
    cols = np.concatenate([pairs.col[keep], extra_cols, np.asarray(extra_c, dtype=np.int64)])
    return rows, cols, np.concatenate([sim[keep], np.zeros(len(rows) - int(keep.sum()))])


def _forced_pairs(
    pairs: CandidatePairs, keep: npt.NDArray[np.bool_], cells: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The one row and the one column a cell's assignment leaves over, per cell (any full assignment pairs them)."""
    out = []
    for side, taken in ((pairs.rows, pairs.row[keep]), (pairs.cols, pairs.col[keep])):
        used = np.zeros(len(side.cell), dtype=bool)
        used[taken] = True
        free = np.flatnonzero(~used & np.isin(side.cell, cells, assume_unique=False))
        out.append(free[np.argsort(side.cell[free], kind="stable")])
    return out[0].astype(np.int64), out[1].astype(np.int64)
