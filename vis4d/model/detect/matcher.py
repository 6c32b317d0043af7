"""Matching candidate boxes (anchors, proposals) to ground truth, and balanced sampling.

Labels use one convention everywhere: 1 foreground, 0 background, -1 ignored
(neither: between the thresholds, or inside an ignore region).
"""

from __future__ import annotations

import torch
from torch import Tensor


def match_boxes(
    iou: Tensor,
    fg_thr: float,
    bg_thr: float,
    allow_low_quality: bool,
    low_quality_min_iou: float = 0.0,
) -> tuple[Tensor, Tensor]:
    """Assign each of P candidates to its best of G ground-truth boxes, given ``iou`` (G, P).

    A candidate is foreground if its best IoU >= ``fg_thr``, background if it
    is < ``bg_thr``, ignored in between.  With ``allow_low_quality`` every gt
    box also claims the candidates with its own highest IoU (if that IoU is
    > ``low_quality_min_iou``) as foreground, so small or oddly shaped objects
    no anchor covers well still get a positive (the RPN recipe).

    Returns ``matched_gt_idx`` (P,) int64 (0 where there is no gt; only
    meaningful for foreground) and ``labels`` (P,) int64 in {1, 0, -1}.
    """
    num_candidates = iou.shape[1]
    if iou.shape[0] == 0:
        zeros = torch.zeros(num_candidates, dtype=torch.int64, device=iou.device)
        return zeros, zeros.clone()
    max_iou, matched_gt_idx = iou.max(dim=0)
    labels = torch.full((num_candidates,), -1, dtype=torch.int64, device=iou.device)
    labels[max_iou < bg_thr] = 0
    labels[max_iou >= fg_thr] = 1
    if allow_low_quality:
        best_per_gt = iou.max(dim=1, keepdim=True).values
        is_best = (iou == best_per_gt) & (best_per_gt > low_quality_min_iou)
        labels[is_best.any(dim=0)] = 1
    return matched_gt_idx, labels


def box_iof(boxes: Tensor, regions: Tensor) -> Tensor:
    """Return the intersection over the area of ``boxes`` (P, 4) with each of ``regions`` (R, 4): (R, P).

    Used for ignore regions: a candidate mostly inside a crowd region should be
    ignored even if the region is much larger than it (where IoU stays small).
    """
    top_left = torch.maximum(regions[:, None, :2], boxes[None, :, :2])
    bottom_right = torch.minimum(regions[:, None, 2:], boxes[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    intersection = wh[..., 0] * wh[..., 1]
    areas = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])).clamp(min=1e-6)
    return intersection / areas[None, :]


def ignore_overlapping(labels: Tensor, boxes: Tensor, ignore_regions: Tensor, thresh: float = 0.5) -> Tensor:
    """Return ``labels`` with every candidate whose IoF with an ignore region is >= ``thresh`` set to -1."""
    if ignore_regions.shape[0] == 0 or boxes.shape[0] == 0:
        return labels
    inside = box_iof(boxes, ignore_regions).max(dim=0).values >= thresh
    return torch.where(inside, torch.full_like(labels, -1), labels)


def _random_subset(indices: Tensor, count: int, generator: torch.Generator | None) -> Tensor:
    """Return ``count`` elements of ``indices`` drawn without replacement."""
    if count >= indices.numel():
        return indices
    device = generator.device if generator is not None else indices.device
    order = torch.randperm(indices.numel(), generator=generator, device=device)[:count]
    return indices[order.to(indices.device)]


def sample_balanced(
    labels: Tensor, batch_size: int, positive_fraction: float, generator: torch.Generator | None = None
) -> tuple[Tensor, Tensor]:
    """Draw up to ``batch_size`` candidates, at most ``positive_fraction`` of them foreground.

    Missing positives are filled with negatives (the usual R-CNN sampler);
    ignored candidates (-1) are never drawn.  Returns index tensors
    ``(pos_idx, neg_idx)`` into ``labels``.
    """
    positives = torch.nonzero(labels == 1).squeeze(1)
    negatives = torch.nonzero(labels == 0).squeeze(1)
    num_pos = min(positives.numel(), int(batch_size * positive_fraction))
    num_neg = min(negatives.numel(), batch_size - num_pos)
    return _random_subset(positives, num_pos, generator), _random_subset(negatives, num_neg, generator)
