"""Pure functions from YOLOX's raw predictions to boxes and detections.

* :func:`grid_priors`: every cell of every level as (x, y) cell indices and
  its stride, in the order :class:`~vis4d.model.yolox.head.DecoupledHead`
  flattens its outputs.
* :func:`decode_boxes`: offsets -> xyxy boxes in input pixels. A cell's box
  centre is ``(cell + (dx, dy)) * stride`` (the cell's top-left corner plus
  the offset, no half-cell shift, as in the reference) and its size
  ``exp((log w, log h)) * stride``.
* :func:`select_detections`: score = objectness x best class probability;
  threshold, optional top-k, per-class (or class-agnostic) NMS, optional cap.

Box math is in float32 whatever the head's dtype (AMP). Sizes and counts come
from tensor shapes, so a traced graph (``vis4d export``) takes any image size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import Tensor
from torchvision.models.detection._utils import _topk_min
from torchvision.ops import batched_nms


@dataclasses.dataclass(frozen=True)
class SelectionSettings:
    """How detections are picked from scored boxes."""

    score_threshold: float
    nms_iou: float
    class_agnostic: bool = False
    pre_nms_top_k: int | None = None
    max_detections: int | None = None


def grid_priors(
    sizes: Sequence[tuple[int, int]], strides: Sequence[int], device: torch.device
) -> tuple[Tensor, Tensor]:
    """Cell indices (N, 2) as float32 (x, y) and each cell's stride (N, 1), finest level first, rows major."""
    cells, cell_strides = [], []
    for (height, width), stride in zip(sizes, strides, strict=True):
        ys = torch.arange(height, dtype=torch.float32, device=device)
        xs = torch.arange(width, dtype=torch.float32, device=device)
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        level = torch.stack((grid_x, grid_y), dim=-1).reshape(-1, 2)
        cells.append(level)
        cell_strides.append(torch.full_like(level[:, :1], float(stride)))
    return torch.cat(cells), torch.cat(cell_strides)


def decode_boxes(offsets: Tensor, cells: Tensor, strides: Tensor) -> Tensor:
    """Boxes xyxy (..., N, 4) in float32 input pixels from raw offsets (..., N, 4) and the priors."""
    offsets = offsets.float()
    centre = (offsets[..., :2] + cells) * strides
    size = torch.exp(offsets[..., 2:]) * strides
    return torch.cat((centre - size / 2, centre + size / 2), dim=-1)


def cell_centres(cells: Tensor, strides: Tensor) -> Tensor:
    """Centres (N, 2) in input pixels of the cells: where SimOTA measures whether a cell lies in a box."""
    return (cells + 0.5) * strides


def select_detections(
    boxes: Tensor, class_probs: Tensor, objectness: Tensor, settings: SelectionSettings
) -> list[tuple[Tensor, Tensor, Tensor]]:
    """Per image (boxes (K, 4), scores (K,), class ids (K,) int64), best score first.

    ``boxes`` (B, N, 4) decoded, ``class_probs`` (B, N, C) and ``objectness``
    (B, N) probabilities. Every cell proposes its best class only, scored
    ``objectness * class probability``; cells scoring at least the threshold
    enter NMS in cell order (the reference's order, which decides between
    exactly tied scores). NMS runs per image: one call with the image's
    boxes, as the reference makes it, so that the same boxes give the same
    result bit for bit.
    """
    best, classes = class_probs.float().max(dim=-1)
    scores = objectness.float() * best
    results = []
    for image in range(boxes.shape[0]):
        candidates = torch.nonzero(scores[image] >= settings.score_threshold).squeeze(1)
        image_scores = scores[image, candidates]
        if settings.pre_nms_top_k is not None:
            top = torch.topk(image_scores, _topk_min(image_scores, settings.pre_nms_top_k, 0)).indices
            candidates, image_scores = candidates[top], image_scores[top]
        image_boxes = boxes[image, candidates]
        image_classes = classes[image, candidates]
        groups = torch.zeros_like(image_classes) if settings.class_agnostic else image_classes
        keep = batched_nms(image_boxes, image_scores, groups, settings.nms_iou)
        if settings.max_detections is not None:
            keep = keep[: settings.max_detections]
        results.append((image_boxes[keep], image_scores[keep], image_classes[keep]))
    return results
