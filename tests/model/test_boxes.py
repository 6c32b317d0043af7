import numpy as np
import pytest
import torch
from torchvision.ops import box_iou

from vis4d.model.boxes import pairwise_iou


def random_boxes(num: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    corners = rng.random((num, 2), dtype=np.float32) * 100
    sizes = rng.random((num, 2), dtype=np.float32) * 50 + 1
    return np.concatenate([corners, corners + sizes], axis=1)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (7, 13), (100, 100), (0, 5), (5, 0)])
def test_pairwise_iou_equals_torchvision(n: int, m: int):
    a, b = random_boxes(n, seed=n), random_boxes(m, seed=100 + m)
    ours = pairwise_iou(a, b)
    assert ours.shape == (n, m) and ours.dtype == np.float32
    reference = box_iou(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-6)


def test_pairwise_iou_known_values():
    a = np.array([[0.0, 0.0, 10.0, 10.0]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [10, 0, 20, 10], [20, 20, 30, 30]], dtype=np.float64)
    np.testing.assert_allclose(pairwise_iou(a, b), [[1.0, 50.0 / 150.0, 0.0, 0.0]])


def test_pairwise_iou_self_is_symmetric_with_unit_diagonal():
    boxes = random_boxes(20, seed=3).astype(np.float64)
    iou = pairwise_iou(boxes, boxes)
    np.testing.assert_allclose(np.diag(iou), np.ones(20))
    np.testing.assert_allclose(iou, iou.T)
