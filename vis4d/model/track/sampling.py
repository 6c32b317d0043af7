"""Quasi-dense RoI sampling for QDTrack's embedding loss.

The embedding loss is "quasi-dense": it uses many RoIs per image, not only
the ground-truth boxes. Per image, candidate boxes (RPN proposals, plus the
ground truth when ``add_gt_as_proposals``) are matched to the ground truth
by IoU (foreground >= ``fg_iou_thresh``, background < ``bg_iou_thresh``,
in between unused). Then ``batch_size_per_image`` RoIs are drawn:

* positives, at most ``positive_fraction`` of the batch, **instance
  balanced**: drawn round-robin over ground-truth instances (every instance's
  first random RoI, then every instance's second, ...), so big objects with
  many proposals do not crowd out small ones;
* negatives fill the rest, at most ``neg_pos_ub`` x the number of positives
  (counting at least one positive), **IoU balanced**: drawn round-robin over
  three equal IoU bins in ``[0, bg_iou_thresh)``, so hard negatives (that
  overlap an object a little) are not drowned by the many easy ones.

Ground truth flagged ``ignore`` (crowds, ignored classes) never becomes a
positive, and a candidate lying mostly (IoF >= 0.5) inside an ignore region
is not used as a negative either.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import Tensor
from torchvision.ops import box_iou

from vis4d.common.structures import Targets
from vis4d.config.schema import TrackSamplerConfig
from vis4d.model.detect.matcher import box_iof, match_boxes

IGNORE_IOF_THRESH = 0.5
NUM_NEGATIVE_IOU_BINS = 3


@dataclasses.dataclass
class SampledRoIs:
    """RoIs sampled from one image: positives first, then negatives."""

    boxes: Tensor  # (S, 4) float xyxy, input pixels
    track_ids: Tensor  # (S,) int64: the matched instance's track id, -1 for negatives
    positive: Tensor  # (S,) bool

    @property
    def positive_boxes(self) -> Tensor:
        """Boxes of the positive RoIs."""
        return self.boxes[self.positive]

    @property
    def positive_track_ids(self) -> Tensor:
        """Track ids of the positive RoIs."""
        return self.track_ids[self.positive]


def sample_track_rois(
    proposals: Tensor, targets: Targets, cfg: TrackSamplerConfig, generator: torch.Generator | None = None
) -> SampledRoIs:
    """Sample RoIs of one image for the embedding loss (see the module docstring)."""
    device = proposals.device
    keep_gt = ~targets.ignore
    gt_boxes = targets.boxes[keep_gt].to(proposals.dtype)
    gt_track_ids = targets.track_ids[keep_gt]
    ignore_boxes = targets.boxes[targets.ignore].to(proposals.dtype)
    candidates = torch.cat([proposals.detach(), gt_boxes]) if cfg.add_gt_as_proposals else proposals.detach()

    if len(gt_boxes) > 0 and len(candidates) > 0:
        iou = box_iou(gt_boxes, candidates)
        matched_gt, labels = match_boxes(iou, cfg.fg_iou_thresh, cfg.bg_iou_thresh, False)
        max_iou = iou.max(dim=0).values
    else:
        matched_gt = torch.zeros(len(candidates), dtype=torch.int64, device=device)
        labels = torch.zeros(len(candidates), dtype=torch.int64, device=device)
        max_iou = torch.zeros(len(candidates), dtype=candidates.dtype, device=device)
    if len(ignore_boxes) > 0 and len(candidates) > 0:
        in_ignore = box_iof(candidates, ignore_boxes).max(dim=0).values >= IGNORE_IOF_THRESH
        labels = torch.where((labels == 0) & in_ignore, torch.full_like(labels, -1), labels)

    pos_idx = torch.nonzero(labels == 1).squeeze(1)
    neg_idx = torch.nonzero(labels == 0).squeeze(1)
    num_pos = min(int(cfg.batch_size_per_image * cfg.positive_fraction), len(pos_idx))
    pos_idx = pos_idx[round_robin_sample(matched_gt[pos_idx], num_pos, generator)]
    num_neg = min(cfg.batch_size_per_image - len(pos_idx), len(neg_idx))
    if cfg.neg_pos_ub >= 0:
        num_neg = min(num_neg, int(cfg.neg_pos_ub * max(1, len(pos_idx))))
    neg_bins = (max_iou[neg_idx] / max(cfg.bg_iou_thresh, 1e-6) * NUM_NEGATIVE_IOU_BINS).long()
    neg_idx = neg_idx[round_robin_sample(neg_bins.clamp(0, NUM_NEGATIVE_IOU_BINS - 1), num_neg, generator)]

    pos_ids = gt_track_ids[matched_gt[pos_idx]] if len(gt_track_ids) > 0 else matched_gt[pos_idx].new_full((0,), -1)
    return SampledRoIs(
        boxes=torch.cat([candidates[pos_idx], candidates[neg_idx]]),
        track_ids=torch.cat([pos_ids, torch.full((len(neg_idx),), -1, dtype=torch.int64, device=device)]),
        positive=torch.cat(
            [torch.ones(len(pos_idx), dtype=torch.bool, device=device), torch.zeros_like(neg_idx, dtype=torch.bool)]
        ),
    )


def sample_track_rois_batch(
    proposals: Sequence[Tensor],
    targets: Sequence[Targets],
    cfg: TrackSamplerConfig,
    generator: torch.Generator | None = None,
) -> list[SampledRoIs]:
    """:func:`sample_track_rois` for every image of a batch."""
    return [sample_track_rois(p, t, cfg, generator) for p, t in zip(proposals, targets, strict=True)]


def round_robin_sample(groups: Tensor, num: int, generator: torch.Generator | None = None) -> Tensor:
    """Pick ``num`` indices of ``groups`` spread evenly over the group values.

    Elements are shuffled, ranked within their group (0 = the group's first
    shuffled element), and taken by rank: first one element of every group,
    then a second one of every group that has one, and so on; ties between
    groups are broken by the shuffle. This is both instance-balanced
    (groups = matched instances) and IoU-balanced (groups = IoU bins)
    sampling, without a Python loop over groups.
    """
    count = groups.numel()
    if num <= 0:
        return torch.zeros(0, dtype=torch.int64, device=groups.device)
    perm = _randperm(count, groups.device, generator)
    if num >= count:
        return perm
    shuffled = groups[perm]
    order = torch.argsort(shuffled, stable=True)
    sorted_groups = shuffled[order]
    first_of_group = torch.searchsorted(sorted_groups, sorted_groups, right=False)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(count, device=groups.device) - first_of_group
    return perm[torch.argsort(rank, stable=True)[:num]]


def _randperm(count: int, device: torch.device, generator: torch.Generator | None) -> Tensor:
    """Draw a random permutation on ``device``, from from ``generator`` (on its own device) when given."""
    if generator is None:
        return torch.randperm(count, device=device)
    return torch.randperm(count, generator=generator, device=generator.device).to(device)
