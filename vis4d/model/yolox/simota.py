"""SimOTA: YOLOX's label assignment, one image at a time, vectorised over boxes and cells.

For every ground-truth box, the cells whose centre lies inside the box *or*
within ``center_radius`` strides of its centre are candidates. Each
(box, candidate) pair costs::

    BCE(sqrt(class prob x objectness), one-hot class) summed over classes
    + iou_weight * -log(IoU(prediction, box) + 1e-8)
    + 1e5 if the cell is not both inside the box and near its centre

A box takes its ``k`` cheapest candidates, ``k`` being the integer part of
the sum of its ``top_k`` best IoUs (at least 1). A cell taken by several
boxes keeps the cheapest. That is Megvii's ``get_assignments`` (``yolox``
0.3.0); two computations are reorganised without changing the result:

* the class cost of all pairs comes from per-cell sums,
  ``sum_c -log(1 - p_c)`` plus a correction at the box's class, instead of a
  (boxes x cells x classes) tensor: O((boxes + classes) x cells) memory;
* every box's ``k`` cheapest cells are the first ``k`` of one top-``top_k``
  call over all boxes (``k <= top_k`` always), instead of one call per box.

Logs are clamped at -100 as ``binary_cross_entropy`` clamps them. Megvii's
code after 0.3.0 takes only the cells near a box centre as candidates
(``centre_only``, with a 1.5-stride radius); the rest is the same.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor
from torchvision.ops import box_iou

NOT_CENTRED_COST = 1e5
LOG_FLOOR = -100.0


@dataclasses.dataclass
class Assignment:
    """Which cells are positives and of which ground-truth box."""

    foreground: Tensor  # (N,) bool over all cells
    matched_gt: Tensor  # (F,) int64: the box of each foreground cell, in cell order
    matched_iou: Tensor  # (F,) IoU of each foreground cell's prediction with its box


@dataclasses.dataclass(frozen=True)
class SimOTASettings:
    """The assignment's parameters (see the module docstring)."""

    center_radius: float = 2.5
    top_k: int = 10
    iou_weight: float = 3.0
    centre_only: bool = False  # candidates near a box centre only (Megvii's code after 0.3.0)


def _candidates(
    centres: Tensor, strides: Tensor, gt_boxes: Tensor, radius: float, centre_only: bool
) -> tuple[Tensor, Tensor]:
    """Candidate cells (N,) and, per box and candidate, whether it is inside the box and near its centre (G, M).

    With ``centre_only`` candidates are the cells near a box centre, and the
    per-box relation is being near that box's centre.

    Box edges come from (centre, size) as the reference computes them, so a
    cell centre exactly on an edge is decided as there.
    """
    size = gt_boxes[:, 2:] - gt_boxes[:, :2]
    centre = gt_boxes[:, :2] + 0.5 * size

    def within(half: Tensor) -> Tensor:  # (G, N): strictly inside centre +- half on both axes
        low, high = centre[:, None] - half, centre[:, None] + half
        return ((centres[None] - low > 0) & (high - centres[None] > 0)).all(dim=-1)

    near = within(radius * strides[None])
    if centre_only:
        candidates = near.any(dim=0)
        return candidates, near[:, candidates]
    inside = within(0.5 * size[:, None])
    candidates = inside.any(dim=0) | near.any(dim=0)
    return candidates, (inside & near)[:, candidates]


def _class_cost(class_logits: Tensor, objectness_logits: Tensor, gt_classes: Tensor) -> Tensor:
    """(G, M): binary cross-entropy of sqrt(class prob x objectness) against each box's one-hot class."""
    probs = (class_logits.float().sigmoid() * objectness_logits.float().sigmoid()[:, None]).sqrt()
    neg_log_not = -torch.log1p(-probs).clamp(min=LOG_FLOOR)  # (M, C): cost of each class being 0
    neg_log = -torch.log(probs).clamp(min=LOG_FLOOR)  # cost of each class being 1
    at_class = (neg_log - neg_log_not)[:, gt_classes].T  # (G, M)
    return neg_log_not.sum(dim=1)[None] + at_class


def simota_assign(
    class_logits: Tensor,
    objectness_logits: Tensor,
    boxes: Tensor,
    centres: Tensor,
    strides: Tensor,
    gt_boxes: Tensor,
    gt_classes: Tensor,
    settings: SimOTASettings,
) -> Assignment:
    """Assign ``gt_boxes`` (G, 4) xyxy of ``gt_classes`` (G,) to cells; every prediction input is (N, ...) detached.

    ``boxes`` are the decoded predictions (N, 4) xyxy, ``centres`` the cell
    centres (N, 2) and ``strides`` (N, 1), all in input pixels.
    """
    num_cells = boxes.shape[0]
    device = boxes.device
    foreground = torch.zeros(num_cells, dtype=torch.bool, device=device)
    empty = torch.zeros(0, dtype=torch.int64, device=device)
    if gt_boxes.shape[0] == 0:
        return Assignment(foreground, empty, boxes.new_zeros(0))
    gt_boxes = gt_boxes.float()
    candidates, centred = _candidates(centres, strides, gt_boxes, settings.center_radius, settings.centre_only)
    index = torch.nonzero(candidates).squeeze(1)
    if index.numel() == 0:
        return Assignment(foreground, empty, boxes.new_zeros(0))
    ious = box_iou(gt_boxes, boxes[index].float())  # (G, M)
    cost = _class_cost(class_logits[index], objectness_logits[index], gt_classes)
    cost = cost + settings.iou_weight * -torch.log(ious + 1e-8) + NOT_CENTRED_COST * (~centred).float()
    matching = _dynamic_k_matching(cost, ious, settings.top_k)
    taken = matching.any(dim=0)
    foreground[index[taken]] = True
    matched_gt = matching[:, taken].to(torch.uint8).argmax(dim=0)
    return Assignment(foreground, matched_gt, ious[matched_gt, torch.nonzero(taken).squeeze(1)])


def _dynamic_k_matching(cost: Tensor, ious: Tensor, top_k: int) -> Tensor:
    """(G, M) bool: each box's ``k`` cheapest candidates, conflicts resolved towards the cheapest box."""
    k_max = min(top_k, ious.shape[1])
    dynamic_k = torch.topk(ious, k_max, dim=1).values.sum(dim=1).int().clamp(min=1)  # (G,), <= k_max
    cheapest = torch.topk(cost, k_max, dim=1, largest=False).indices  # (G, k_max), cheapest first
    chosen = torch.arange(k_max, device=cost.device)[None] < dynamic_k[:, None]
    matching = torch.zeros_like(cost, dtype=torch.bool)
    matching.scatter_(1, cheapest, chosen)
    shared = matching.sum(dim=0) > 1
    if bool(shared.any()):
        owner = cost[:, shared].argmin(dim=0)
        matching[:, shared] = False
        matching[owner, torch.nonzero(shared).squeeze(1)] = True
    return matching
