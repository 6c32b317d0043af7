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
    """Rows, columns and IoU (``sim`` of the pair, 0 for a zero-score pair) of every cell's full assignment."""
    cells = np.intersect1d(np.unique(pairs.rows.cell), np.unique(pairs.cols.cell), assume_unique=True)
    keep = np.ones(len(pairs.cell), dtype=bool)
    conflict = pairs.conflicts()
    n_rows, n_cols = pairs.rows.count_of(cells), pairs.cols.count_of(cells)
    n_pairs = np.searchsorted(pairs.cell, cells, side="right") - np.searchsorted(pairs.cell, cells, side="left")
    in_conflict = np.isin(cells, np.unique(pairs.cell[conflict])) if conflict.any() else np.zeros(len(cells), bool)
    keep[conflict] = False
    extra_rows: list[int] = []
    extra_cols: list[int] = []
    from scipy.optimize import linear_sum_assignment

    for bounds in pairs.bounds(cells[in_conflict]):
        matrix, index = pairs.dense(bounds)
        r, c = linear_sum_assignment(-matrix)
        chosen = index[r, c]
        keep[chosen[chosen >= 0]] = True
        zero = chosen < 0
        extra_rows += (r[zero] + bounds[2]).tolist()
        extra_cols += (c[zero] + bounds[4]).tolist()
    fill = ~in_conflict & (np.minimum(n_rows, n_cols) > n_pairs)
    for bounds in pairs.bounds(cells[fill]).tolist():
        lo, hi, row0, nr, col0, nc = bounds
        positive = dict(zip((pairs.row[lo:hi] - row0).tolist(), (pairs.col[lo:hi] - col0).tolist(), strict=True))
        for r_, c_ in scipy_fill(nr, nc, positive):
            if positive.get(r_, -1) != c_:
                extra_rows.append(r_ + row0)
                extra_cols.append(c_ + col0)
    rows = np.concatenate([pairs.row[keep], np.asarray(extra_rows, dtype=np.int64)])
    cols = np.concatenate([pairs.col[keep], np.asarray(extra_cols, dtype=np.int64)])
    return rows, cols, np.concatenate([sim[keep], np.zeros(len(extra_rows))])
