import pytest
import torch
from torchvision.ops import box_iou

from vis4d.model.boxes import pairwise_iou


def random_boxes(num: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    corners = torch.rand(num, 2, generator=gen) * 100
    sizes = torch.rand(num, 2, generator=gen) * 50 + 1
    return torch.cat([corners, corners + sizes], dim=1)


@pytest.mark.parametrize(("n", "m"), [(1, 1), (7, 13), (100, 100), (0, 5), (5, 0)])
def test_pairwise_iou_equals_torchvision(n: int, m: int):
    a, b = random_boxes(n, seed=n), random_boxes(m, seed=100 + m)
    ours = pairwise_iou(a, b)
    assert ours.shape == (n, m)
    torch.testing.assert_close(ours, box_iou(a, b), rtol=0, atol=1e-6)


def test_pairwise_iou_known_values():
    a = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
    b = torch.tensor(
        [[0.0, 0.0, 10.0, 10.0], [5.0, 0.0, 15.0, 10.0], [10.0, 0.0, 20.0, 10.0], [20.0, 20.0, 30.0, 30.0]]
    )
    torch.testing.assert_close(pairwise_iou(a, b), torch.tensor([[1.0, 50.0 / 150.0, 0.0, 0.0]]))


def test_pairwise_iou_float64_and_self():
    boxes = random_boxes(20, seed=3).double()
    iou = pairwise_iou(boxes, boxes)
    assert iou.dtype == torch.float64
    torch.testing.assert_close(iou.diagonal(), torch.ones(20, dtype=torch.float64))
    torch.testing.assert_close(iou, iou.t())
