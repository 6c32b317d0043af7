"""SimOTA against a plain, loop-by-loop statement of the same rules (the reference's structure)."""

from __future__ import annotations

import torch
from torch.nn import functional as F
from torchvision.ops import box_iou

from vis4d.model.yolox.decode import cell_centres, grid_priors
from vis4d.model.yolox.simota import SimOTASettings, simota_assign


def _loop_reference(cls, obj, boxes, centres, strides, gt_boxes, gt_classes, radius=2.5, top_k=10):  # noqa: ANN001, ANN202
    """Per box, per cell: candidates, cost, dynamic k, conflicts; as the reference computes it, unvectorised."""
    num_gt, num_cells = len(gt_boxes), len(boxes)
    inside = torch.zeros(num_gt, num_cells, dtype=torch.bool)
    near = torch.zeros(num_gt, num_cells, dtype=torch.bool)
    for g in range(num_gt):
        x1, y1, x2, y2 = gt_boxes[g].tolist()
        w, h = x2 - x1, y2 - y1
        cx, cy = x1 + 0.5 * w, y1 + 0.5 * h
        for n in range(num_cells):
            px, py = centres[n].tolist()
            r = radius * strides[n, 0].item()
            inside[g, n] = px > cx - 0.5 * w and px < cx + 0.5 * w and py > cy - 0.5 * h and py < cy + 0.5 * h
            near[g, n] = px > cx - r and px < cx + r and py > cy - r and py < cy + r
    candidates = (inside | near).any(0).nonzero().squeeze(1)
    ious = box_iou(gt_boxes, boxes[candidates])
    probs = (cls[candidates].sigmoid() * obj[candidates].sigmoid()[:, None]).sqrt()
    cost = torch.zeros(num_gt, len(candidates))
    for g in range(num_gt):
        onehot = F.one_hot(gt_classes[g], cls.shape[1]).float().expand_as(probs)
        cost[g] = F.binary_cross_entropy(probs, onehot, reduction="none").sum(1)
    cost += 3.0 * -torch.log(ious + 1e-8) + 1e5 * ~(inside & near)[:, candidates]
    matching = torch.zeros_like(cost, dtype=torch.bool)
    for g in range(num_gt):
        k = max(int(torch.topk(ious[g], min(top_k, len(candidates))).values.sum()), 1)
        matching[g, torch.topk(cost[g], k, largest=False).indices] = True
    for m in range(len(candidates)):
        if matching[:, m].sum() > 1:
            matching[:, m] = False
            matching[cost[:, m].argmin(), m] = True
    foreground = torch.zeros(num_cells, dtype=torch.bool)
    foreground[candidates[matching.any(0)]] = True
    return foreground, matching[:, matching.any(0)].int().argmax(0)


def test_vectorised_simota_equals_the_loop_statement() -> None:
    generator = torch.Generator().manual_seed(3)
    cells, strides = grid_priors([(8, 8), (4, 4), (2, 2)], [8, 16, 32], torch.device("cpu"))
    centres = cell_centres(cells, strides)
    boxes = torch.cat((centres - 12, centres + 12), 1) + torch.randn(len(cells), 4, generator=generator) * 3
    cls = torch.randn(len(cells), 5, generator=generator)
    obj = torch.randn(len(cells), generator=generator)
    # overlapping boxes (shared candidates, conflicts), a small one, and one at the border
    gt_boxes = torch.tensor([[4.0, 6, 40, 38], [10.0, 12, 48, 44], [50.5, 50.5, 54.5, 56.5], [0.0, 40, 20, 64]])
    gt_classes = torch.tensor([1, 1, 4, 0])
    result = simota_assign(cls, obj, boxes, centres, strides, gt_boxes, gt_classes, SimOTASettings())
    foreground, matched = _loop_reference(cls, obj, boxes, centres, strides, gt_boxes, gt_classes)
    assert torch.equal(result.foreground, foreground)
    assert torch.equal(result.matched_gt, matched)
    assert result.foreground.sum() > len(gt_boxes)  # several cells per box
    expected_iou = box_iou(gt_boxes, boxes)[matched, result.foreground.nonzero().squeeze(1)]
    torch.testing.assert_close(result.matched_iou, expected_iou)


def test_no_boxes_and_no_candidates_assign_nothing() -> None:
    cells, strides = grid_priors([(2, 2)], [8], torch.device("cpu"))
    centres = cell_centres(cells, strides)
    boxes = torch.cat((centres - 4, centres + 4), 1)
    cls, obj = torch.zeros(4, 2), torch.zeros(4)
    empty = simota_assign(cls, obj, boxes, centres, strides, torch.zeros(0, 4), torch.zeros(0, dtype=torch.long),
                          SimOTASettings())  # fmt: skip
    far = simota_assign(cls, obj, boxes, centres, strides, torch.tensor([[500.0, 500, 510, 510]]),
                        torch.tensor([0]), SimOTASettings())  # fmt: skip
    for result in (empty, far):
        assert not result.foreground.any() and len(result.matched_gt) == 0


def test_centre_only_candidates() -> None:
    cells, strides = grid_priors([(8, 8)], [8], torch.device("cpu"))
    centres = cell_centres(cells, strides)
    boxes = torch.cat((centres - 20, centres + 20), 1)
    big_box = torch.tensor([[0.0, 0.0, 64.0, 64.0]])
    both = simota_assign(torch.zeros(64, 1), torch.zeros(64), boxes, centres, strides, big_box, torch.tensor([0]),
                         SimOTASettings(center_radius=1.5, top_k=64))  # fmt: skip
    centre = simota_assign(torch.zeros(64, 1), torch.zeros(64), boxes, centres, strides, big_box, torch.tensor([0]),
                           SimOTASettings(center_radius=1.5, top_k=64, centre_only=True))  # fmt: skip
    # Only the 3x3 cells within 1.5 strides of (32, 32) are candidates without the in-box region.
    assert centre.foreground.sum() <= 9 < both.foreground.sum()
