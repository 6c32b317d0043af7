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
