"""Region proposal network: anchor objectness and box deltas on every FPN level.

Proposals: per level, the ``pre_nms_top_n`` highest-scored anchors of each
image are decoded, clipped to the image, tiny boxes dropped, and NMS runs per
level (``batched_nms`` with the level as group); the ``post_nms_top_n`` best
over all levels are the image's proposals.  Proposals are detached: the
second stage does not back-propagate into box coordinates.

Loss: anchors are matched to the (non-ignored) ground truth by IoU with
low-quality matches allowed, anchors mostly inside an ignore region are
ignored, ``batch_size_per_image`` anchors are sampled (``positive_fraction``
at most positive); binary cross-entropy on objectness and smooth-L1 on the
deltas of positives, both averaged over the sampled anchors.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torchvision.models.detection._utils import _topk_min
from torchvision.ops import batched_nms, box_iou, remove_small_boxes

from vis4d.common.structures import Targets
from vis4d.config.schema import RPNConfig
from vis4d.model.detect.anchors import AnchorGenerator, anchor_sizes_for_levels
from vis4d.model.detect.box_coder import ImageSizes, clip_boxes, decode_boxes, encode_boxes, image_size_tensor
from vis4d.model.detect.matcher import ignore_overlapping, match_boxes, sample_balanced

# RPN deltas are not normalised (mmdetection's std 1.0), unlike the RoI head's.
RPN_BOX_WEIGHTS = (1.0, 1.0, 1.0, 1.0)
# Smooth-L1 transition point used by Detectron/torchvision for box regression.
SMOOTH_L1_BETA = 1.0 / 9.0
# Anchors whose intersection-over-anchor-area with an ignore region reaches this are ignored.
IGNORE_IOF_THRESH = 0.5


class RPNHead(nn.Module):
    """Shared head over all levels: ``head_convs`` 3x3 conv + ReLU, then a 1x1 conv for objectness and deltas."""

    def __init__(self, in_channels: int, num_anchors: int, num_convs: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for _ in range(num_convs):
            layers += [nn.Conv2d(in_channels, in_channels, 3, padding=1), nn.ReLU(inplace=True)]
        self.convs = nn.Sequential(*layers)
        # Objectness (A channels) and deltas (4A channels) in one 1x1 conv: the hidden
        # map (large on p2) is read once, and its gradient is not summed from two branches.
        self.num_anchors = num_anchors
        self.predictor = nn.Conv2d(in_channels, 5 * num_anchors, 1)
        for module in self.modules():
            if isinstance(module, nn.Conv2d) and module.bias is not None:
                nn.init.normal_(module.weight, std=0.01)
                nn.init.zeros_(module.bias)

    def forward(self, features: list[Tensor]) -> tuple[list[Tensor], list[Tensor]]:
        """Return per-level objectness logits (B, H*W*A) and deltas (B, H*W*A, 4), anchor order (y, x, a)."""
        logits, deltas = [], []
        for feature in features:
            prediction = self.predictor(self.convs(feature))
            batch, _, height, width = prediction.shape
            level_logits, level_deltas = prediction.split((self.num_anchors, 4 * self.num_anchors), dim=1)
            # (B, A, H, W) -> (B, H, W, A) so the flattening order matches the anchors.
            logits.append(level_logits.permute(0, 2, 3, 1).reshape(batch, -1))
            deltas.append(
                level_deltas.reshape(batch, -1, 4, height, width).permute(0, 3, 4, 1, 2).reshape(batch, -1, 4)
            )
        return logits, deltas


class RegionProposalNetwork(nn.Module):
    """Anchors + :class:`RPNHead` + proposal selection + training loss, configured by ``RPNConfig``."""

    def __init__(self, cfg: RPNConfig, in_channels: int, levels: list[str], strides: list[int]) -> None:
        super().__init__()
        self.cfg = cfg
        self.levels = list(levels)
        self.anchor_generator = AnchorGenerator(
            anchor_sizes_for_levels(cfg.anchor_sizes, self.levels),
            cfg.aspect_ratios,
            strides,
            rounded=cfg.anchor_style == "torchvision",
        )
        self.head = RPNHead(in_channels, len(cfg.aspect_ratios), cfg.head_convs)

    def forward(
        self,
        features: Mapping[str, Tensor],
        image_sizes: ImageSizes,
        targets: list[Targets] | None = None,
    ) -> tuple[list[Tensor], dict[str, Tensor]]:
        """Return proposals per image (P_i, 4) in input pixels and, with ``targets``, the RPN losses."""
        level_features = [features[level] for level in self.levels]
        level_logits, level_deltas = self.head(level_features)
        # Python ints when run, traced sizes when exported (vis4d export): the graph then takes any image size.
        feature_sizes = [(f.shape[-2], f.shape[-1]) for f in level_features]
        anchors = self.anchor_generator(feature_sizes, level_features[0].device)
        # All levels in one tensor: (B, N) logits and (B, N, 4) deltas, N = anchors of all levels.
        logits = torch.cat(level_logits, dim=1)
        deltas = torch.cat(level_deltas, dim=1)
        proposals = self._select_proposals([x.detach() for x in level_logits], deltas.detach(), anchors, image_sizes)
        losses: dict[str, Tensor] = {}
        if targets is not None:
            losses = self._losses(logits, deltas, anchors, targets)
        return proposals, losses

    @torch.no_grad()
    def _select_proposals(
        self, level_logits: list[Tensor], deltas: Tensor, anchors: Tensor, image_sizes: ImageSizes
    ) -> list[Tensor]:
        """Top-k per level, decode, clip, drop tiny boxes, per-level NMS, top-k per image.

        ``level_logits`` are per level (B, N_l); ``deltas`` (B, N, 4) and
        ``anchors`` (N, 4) hold all levels in the same order. Counts come
        from tensor shapes (``_topk_min``), so an exported graph keeps them
        dynamic.
        """
        pre_nms = self.cfg.pre_nms_top_n_train if self.training else self.cfg.pre_nms_top_n_test
        post_nms = self.cfg.post_nms_top_n_train if self.training else self.cfg.post_nms_top_n_test
        batch, device = deltas.shape[0], deltas.device
        scores, indices, level_ids = [], [], []
        offset = 0
        for level, logits in enumerate(level_logits):
            top_scores, top_idx = logits.topk(_topk_min(logits, pre_nms, 1), dim=1)
            scores.append(top_scores)
            indices.append(top_idx + offset)
            level_ids.append(torch.full_like(top_idx[0], level))
            offset = offset + logits.shape[1]
        top_scores = torch.cat(scores, dim=1).float()
        top_indices = torch.cat(indices, dim=1)
        top_levels = torch.cat(level_ids)
        batch_idx = torch.arange(batch, device=device)[:, None]
        # Only the pre-NMS candidates are decoded, not every anchor.
        boxes = decode_boxes(
            deltas[batch_idx, top_indices], anchors[top_indices], RPN_BOX_WEIGHTS, clamp_both=self.cfg.clamp_both
        )
        sizes = image_size_tensor(image_sizes, device)
        boxes = clip_boxes(boxes, sizes[:, 0:1], sizes[:, 1:2])
        proposals = []
        for image in range(batch):
            image_boxes, image_scores = boxes[image], top_scores[image]
            keep = remove_small_boxes(image_boxes, self.cfg.min_size)
            keep = keep[torch.isfinite(image_scores[keep])]
            kept = batched_nms(image_boxes[keep], image_scores[keep], top_levels[keep], self.cfg.nms_thresh)
            proposals.append(image_boxes[keep[kept[:post_nms]]])
        return proposals

    def _losses(self, logits: Tensor, deltas: Tensor, anchors: Tensor, targets: list[Targets]) -> dict[str, Tensor]:
        """Objectness BCE and box smooth-L1 over the sampled anchors of all images."""
        cfg = self.cfg
        num_anchors = anchors.shape[0]
        sampled_flat, sampled_labels, pos_flat, pos_targets = [], [], [], []
        with torch.no_grad():
            for image, image_targets in enumerate(targets):
                keep = ~image_targets.ignore
                gt_boxes = image_targets.boxes[keep].float()
                iou = box_iou(gt_boxes, anchors)
                matched, labels = match_boxes(iou, cfg.fg_iou_thresh, cfg.bg_iou_thresh, True)
                ignore_regions = image_targets.boxes[image_targets.ignore].float()
                labels = ignore_overlapping(labels, anchors, ignore_regions, IGNORE_IOF_THRESH)
                pos, neg = sample_balanced(labels, cfg.batch_size_per_image, cfg.positive_fraction)
                sampled_flat += [pos + image * num_anchors, neg + image * num_anchors]
                sampled_labels += [torch.ones_like(pos), torch.zeros_like(neg)]
                pos_flat.append(pos + image * num_anchors)
                pos_targets.append(encode_boxes(gt_boxes[matched[pos]], anchors[pos], RPN_BOX_WEIGHTS))
        # One gather per output over all images: the backward then scatters into one gradient buffer.
        sampled_logits = logits.reshape(-1)[torch.cat(sampled_flat)].float()
        num_sampled = max(sampled_logits.numel(), 1)
        cls_loss = F.binary_cross_entropy_with_logits(
            sampled_logits, torch.cat(sampled_labels).float(), reduction="sum"
        )
        pos_deltas = deltas.reshape(-1, 4)[torch.cat(pos_flat)].float()
        box_loss = F.smooth_l1_loss(pos_deltas, torch.cat(pos_targets), beta=SMOOTH_L1_BETA, reduction="sum")
        return {"rpn_cls_loss": cls_loss / num_sampled, "rpn_box_loss": box_loss / num_sampled}
