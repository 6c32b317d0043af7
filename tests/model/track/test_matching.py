"""The kit's matching: costs as their references compute them, assignments that split large problems exactly."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from vis4d.model.track import matching


def random_boxes(rng: np.random.Generator, num: int, size: float = 400.0) -> np.ndarray:
    xy = rng.uniform(0, size, (num, 2))
    wh = rng.uniform(10, 60, (num, 2))
    return np.concatenate([xy, xy + wh], axis=1)


@pytest.mark.parametrize("seed", range(5))
def test_split_assignment_is_the_whole_problems_optimum(seed: int) -> None:
    """Groups of cheap pairs solved one by one give the matches of the whole extended problem."""
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 120, size=600.0)
    cost = 1.0 - matching.iou(boxes + rng.normal(0, 4, boxes.shape), boxes[rng.permutation(120)[:100]])
    assert cost.size > matching._SPLIT_ABOVE  # the split path runs
    whole_rows, whole_cols = matching._extended_assignment(cost, 0.8)
    rows, cols, free_rows, free_cols = matching.assign(cost, 0.8)
    assert sorted(zip(rows.tolist(), cols.tolist())) == sorted(zip(whole_rows.tolist(), whole_cols.tolist()))
    assert (np.diff(rows) > 0).all() and (cost[rows, cols] < 0.8).all()
    assert len(rows) + len(free_rows) == 120 and len(cols) + len(free_cols) == 100


def test_thresholded_assignment_prefers_more_matches_below_the_limit() -> None:
    rows, cols, free_rows, free_cols = matching.assign(np.array([[0.79, 0.30], [0.30, 0.95]]), 0.8)
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 1), (1, 0)] and free_rows.size == free_cols.size == 0
    rows, _, free_rows, free_cols = matching.assign(np.zeros((0, 3)), 0.5)
    assert rows.size == 0 and free_cols.tolist() == [0, 1, 2]


def test_greedy_takes_the_best_pairs_first() -> None:
    rows, cols = matching.greedy(np.array([[0.9, 0.6], [0.6, 0.1]]), 0.3)
    assert list(zip(rows.tolist(), cols.tolist())) == [(0, 0)]


def test_box_similarities_are_ocsorts() -> None:
    """GIoU, DIoU, CIoU and centre similarity by their definitions, rescaled as OC-SORT does."""
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[5.0, 0.0, 15.0, 10.0], [20.0, 20.0, 30.0, 40.0]])
    iou = matching.iou(a, b)
    np.testing.assert_allclose(iou, [[50 / 150, 0.0]])
    enclosing = np.array([15 * 10, 30 * 40])
    union = np.array([150.0, 300.0])
    np.testing.assert_allclose(matching.giou(a, b), [(iou[0] - (enclosing - union) / enclosing + 1) / 2])
    centre = np.array([5.0**2, 20.0**2 + 25.0**2])
    diagonal = np.array([15.0**2 + 10.0**2, 30.0**2 + 40.0**2])
    np.testing.assert_allclose(matching.diou(a, b), [(iou[0] - centre / diagonal + 1) / 2])
    assert matching.ciou(a, b)[0, 0] == pytest.approx(matching.diou(a, b)[0, 0])  # same aspect ratio: no extra term
    np.testing.assert_allclose(matching.centre_similarity(a, b), [[1 - 5 / np.sqrt(centre[1]), 0.0]])


def test_iou_counts_end_pixels_on_request() -> None:
    a, b = np.array([[0.0, 0.0, 9.0, 9.0]]), np.array([[9.0, 0.0, 18.0, 9.0]])
    assert matching.iou(a, b)[0, 0] == 0.0
    assert matching.iou(a, b, pixel_offset=1.0)[0, 0] == pytest.approx(10 / 190)


def test_embedding_distance_is_scipys_cosine_clipped() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(4, 8)), rng.normal(size=(3, 8))
    np.testing.assert_allclose(matching.embedding_distance(x, y), np.maximum(0, cdist(x, y, "cosine")), atol=1e-12)
    assert matching.embedding_distance(x[:0], y).shape == (0, 3)
    np.testing.assert_allclose(np.linalg.norm(matching.unit_rows(x), axis=1), 1.0)
    np.testing.assert_allclose(matching.fuse_score(np.array([[0.2, 0.5]]), np.array([0.5, 1.0])), [[0.6, 0.5]])
