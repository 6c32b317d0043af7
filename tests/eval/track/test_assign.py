"""The zero-score pairs of a full assignment are SciPy's own (TETA counts them at alpha = 0)."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from vis4d.eval.track.assign import full_assignment, scipy_fill
from vis4d.eval.track.matching import CandidatePairs, Cells


def test_scipy_fill_equals_scipy_on_conflict_free_cells() -> None:
    rng = np.random.default_rng(0)
    for _ in range(3000):
        nr, nc = (int(x) for x in rng.integers(1, 9, 2))
        k = int(rng.integers(0, min(nr, nc) + 1))
        rows, cols = rng.permutation(nr)[:k], rng.permutation(nc)[:k]
        matrix = np.zeros((nr, nc))
        matrix[rows, cols] = rng.random(k) + 1e-3
        r, c = linear_sum_assignment(-matrix)
        expected = set(zip(r.tolist(), c.tolist(), strict=True))
        assert set(scipy_fill(nr, nc, dict(zip(rows.tolist(), cols.tolist(), strict=True)))) == expected


def test_full_assignment_fills_every_cell_like_scipy() -> None:
    # Two cells (0, 1). Cell 0: 3 rows x 2 columns, row 2 conflicts over column 0. Cell 1: 1 row x 3 columns, no pair.
    rows, cols = Cells(np.array([0, 0, 0, 1])), Cells(np.array([0, 0, 1, 1, 1]))
    pairs = CandidatePairs(np.array([0, 0]), np.array([0, 2]), np.array([0, 0]), np.array([0.5, 0.9]), rows, cols)
    r, c, sim = full_assignment(pairs, np.array([0.6, 0.95]))
    got = sorted(zip(r.tolist(), c.tolist(), sim.tolist(), strict=True))
    # Cell 0: SciPy keeps (2, 0) and fills (0, 1); cell 1 has no candidate, SciPy pairs row 3 with column 2.
    assert got == [(0, 1, 0.0), (2, 0, 0.95), (3, 2, 0.0)]


def test_full_assignment_equals_scipy_on_random_cells() -> None:
    """Cells with and without conflicts, stars, ties broken by SciPy, rows or columns left over."""
    rng = np.random.default_rng(1)
    for trial in range(200):
        num_cells = int(rng.integers(1, 6))
        n_rows, n_cols = rng.integers(0, 6, num_cells), rng.integers(0, 6, num_cells)
        row_cell, col_cell = np.repeat(np.arange(num_cells), n_rows), np.repeat(np.arange(num_cells), n_cols)
        matrices = [np.where(rng.random((r, c)) < 0.3, rng.choice([0.2, 0.5, 0.7, 0.9], (r, c)), 0.0)
                    for r, c in zip(n_rows, n_cols, strict=True)]  # fmt: skip
        expected = set()
        pr, pc, ps = [], [], []
        for cell, matrix in enumerate(matrices):
            row0, col0 = int(n_rows[:cell].sum()), int(n_cols[:cell].sum())
            if matrix.size:
                r, c = linear_sum_assignment(-matrix)
                expected |= {(int(a) + row0, int(b) + col0) for a, b in zip(r, c, strict=True)}
            rr, cc = np.nonzero(matrix)
            pr += (rr + row0).tolist()
            pc += (cc + col0).tolist()
            ps += matrix[rr, cc].tolist()
        row, col, score = np.array(pr, dtype=np.int64), np.array(pc, dtype=np.int64), np.array(ps)
        pairs = CandidatePairs(row_cell[row], row, col, score, Cells(row_cell), Cells(col_cell))
        r, c, sim = full_assignment(pairs, score)
        assert set(zip(r.tolist(), c.tolist(), strict=True)) == expected, trial
        assert ((sim > 0) == np.isin(r * 100 + c, row * 100 + col)).all()
