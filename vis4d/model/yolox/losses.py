"""YOLOX's training losses from the head's outputs and SimOTA's assignment.

With ``F`` foreground cells in the batch (at least 1), as Megvii's
``YOLOXHead.get_losses`` (``yolox`` 0.3.0):

* ``yolox_iou``: ``iou_weight * sum(1 - IoU^2) / F`` over foreground cells;
* ``yolox_obj``: binary cross-entropy of every cell's objectness against
  "is foreground", summed, ``/ F``;
* ``yolox_cls``: binary cross-entropy of foreground cells' class logits
  against the one-hot class scaled by the prediction's IoU, summed, ``/ F``;
* ``yolox_l1`` (only once :meth:`YOLOX.enable_l1_loss` switched it on, the
  reference's last 15 epochs): L1 distance of the raw offsets to the
  box's offsets, summed, ``/ F``.

``F`` is counted per process, as the reference does (no all-reduce under
DDP). Ground-truth boxes flagged ``ignore`` are left out (the reference has
no ignore regions). Losses are computed in float32.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from vis4d.common.structures import Targets
from vis4d.model.yolox.head import HeadOutput
from vis4d.model.yolox.simota import Assignment, SimOTASettings, simota_assign


def paired_iou(boxes: Tensor, targets: Tensor) -> Tensor:
    """IoU of each box (K, 4) xyxy with the target (K, 4) in the same row; 0 where they do not overlap."""
    top_left = torch.max(boxes[:, :2], targets[:, :2])
    bottom_right = torch.min(boxes[:, 2:], targets[:, 2:])
    overlap = (bottom_right - top_left).clamp(min=0).prod(dim=1)
    area = (boxes[:, 2:] - boxes[:, :2]).prod(dim=1) + (targets[:, 2:] - targets[:, :2]).prod(dim=1)
    return overlap / (area - overlap + 1e-16)


def l1_targets(gt_boxes: Tensor, cells: Tensor, strides: Tensor, eps: float = 1e-8) -> Tensor:
    """The raw offsets (K, 4) that would decode exactly to ``gt_boxes`` (K, 4) xyxy at the given cells."""
    size = gt_boxes[:, 2:] - gt_boxes[:, :2]
    centre = gt_boxes[:, :2] + 0.5 * size
    return torch.cat((centre / strides - cells, torch.log(size / strides + eps)), dim=1)


def yolox_losses(
    head: HeadOutput,
    boxes: Tensor,
    cells: Tensor,
    strides: Tensor,
    targets: list[Targets],
    settings: SimOTASettings,
    iou_weight: float,
    with_l1: bool,
) -> dict[str, Tensor]:
    """The losses of one batch; ``boxes`` (B, N, 4) are the decoded predictions (with gradient)."""
    num_classes = head.class_logits.shape[-1]
    centres = (cells + 0.5) * strides
    assignments: list[Assignment] = []
    kept_targets = []
    for image, target in enumerate(targets):
        keep = ~target.ignore
        gt_boxes, gt_classes = target.boxes[keep].float(), target.class_ids[keep]
        kept_targets.append((gt_boxes, gt_classes))
        assignments.append(
            simota_assign(
                head.class_logits[image].detach(),
                head.objectness_logits[image].detach(),
                boxes[image].detach(),
                centres,
                strides,
                gt_boxes,
                gt_classes,
                settings,
            )
        )
    foreground = torch.stack([a.foreground for a in assignments])  # (B, N)
    gt_boxes = torch.cat([gt[a.matched_gt] for a, (gt, _) in zip(assignments, kept_targets, strict=True)])
    gt_classes = torch.cat([cls[a.matched_gt] for a, (_, cls) in zip(assignments, kept_targets, strict=True)])
    matched_iou = torch.cat([a.matched_iou for a in assignments])
    num_foreground = max(int(foreground.sum()), 1)

    class_target = F.one_hot(gt_classes, num_classes).float() * matched_iou[:, None]
    iou = paired_iou(boxes[foreground], gt_boxes)
    losses = {
        "yolox_iou": iou_weight * (1 - iou**2).sum() / num_foreground,
        "yolox_obj": F.binary_cross_entropy_with_logits(
            head.objectness_logits.float(), foreground.float(), reduction="sum"
        )
        / num_foreground,
        "yolox_cls": F.binary_cross_entropy_with_logits(
            head.class_logits[foreground].float(), class_target, reduction="sum"
        )
        / num_foreground,
    }
    if with_l1:
        cell_index = torch.nonzero(foreground)[:, 1]
        offsets = l1_targets(gt_boxes, cells[cell_index], strides[cell_index])
        losses["yolox_l1"] = (head.box_offsets[foreground].float() - offsets).abs().sum() / num_foreground
    return losses
