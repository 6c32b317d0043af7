"""Second stage of Faster R-CNN: RoIAlign on the FPN, shared FCs, classification and box regression.

Class ids are the config's contiguous ids ``0..C-1``; background is index
``C`` of the classifier.  Box regression is class-specific (``4 * C``
outputs, none for background), its targets normalised by
``box_coder_weights``. A head converted from a detector trained on more
classes (COCO's 80 when the config wants 6) keeps the other classes' rows in
``other_classes``: they take part in the softmax, so the kept classes score
exactly what they scored in the original model, but they are never output.

Training: proposals (plus the ground truth if ``add_gt_as_proposals``) are
matched to the non-ignored ground truth by IoU, those mostly inside an ignore
region dropped, ``batch_size_per_image`` sampled with ``positive_fraction``
foreground; cross-entropy over the sampled RoIs and smooth-L1 on the
foreground's true-class deltas, averaged over the sampled RoIs.

Inference: softmax scores, class-specific boxes decoded and clipped, scores
below ``score_thresh`` dropped, NMS per class, the ``detections_per_img``
best kept.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torchvision.ops import batched_nms, box_iou, remove_small_boxes

from vis4d.common.structures import FramePrediction, Targets
from vis4d.config.schema import RoIHeadConfig
from vis4d.model.detect.box_coder import ImageSizes, clip_boxes, decode_boxes, encode_boxes, image_size_tensor
from vis4d.model.detect.matcher import ignore_overlapping, match_boxes, sample_balanced
from vis4d.model.detect.pooler import RoIPooler
from vis4d.model.detect.rpn import IGNORE_IOF_THRESH, SMOOTH_L1_BETA


class RoIBoxHead(nn.Module):
    """RoIAlign + ``num_fcs`` x (FC ``fc_dim`` + ReLU) + classifier and class-specific box regressor."""

    def __init__(self, cfg: RoIHeadConfig, in_channels: int, featmap_names: list[str], num_classes: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.num_classes = num_classes
        self.pooler = RoIPooler(featmap_names, cfg.pooler_size, cfg.sampling_ratio, cfg.aligned, cfg.level_mapping)
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_channels * cfg.pooler_size**2
        for _ in range(cfg.num_fcs):
            layers += [nn.Linear(width, cfg.fc_dim), nn.ReLU(inplace=True)]
            width = cfg.fc_dim
        self.fcs = nn.Sequential(*layers)
        self.cls_score = nn.Linear(width, num_classes + 1)
        self.bbox_pred = nn.Linear(width, 4 * num_classes)
        self.other_classes: nn.Linear | None = None
        nn.init.normal_(self.cls_score.weight, std=0.01)
        nn.init.normal_(self.bbox_pred.weight, std=0.001)
        nn.init.zeros_(self.cls_score.bias)
        nn.init.zeros_(self.bbox_pred.bias)

    def forward(
        self,
        features: Mapping[str, Tensor],
        proposals: list[Tensor],
        image_sizes: ImageSizes,
        targets: list[Targets] | None = None,
    ) -> tuple[list[FramePrediction], dict[str, Tensor]]:
        """Return detections (when not training or without targets) and losses (with targets)."""
        losses: dict[str, Tensor] = {}
        detections: list[FramePrediction] = []
        if targets is not None:
            rois, classes, regression_targets = self._sample(proposals, targets)
            logits, deltas = self.head(features, rois, image_sizes)
            losses = self._losses(logits, deltas, classes, regression_targets)
        if targets is None or not self.training:
            logits, deltas = self.head(features, proposals, image_sizes)
            detections = self._postprocess(logits, deltas, proposals, image_sizes)
        return detections, losses

    def set_other_classes(self, count: int) -> nn.Linear:
        """Add ``count`` classifier rows of classes that are scored but never output (see the module docstring)."""
        self.other_classes = nn.Linear(self.cls_score.in_features, count).to(self.cls_score.weight.device)
        return self.other_classes

    def head(
        self, features: Mapping[str, Tensor], rois: list[Tensor], image_sizes: ImageSizes
    ) -> tuple[Tensor, Tensor]:
        """Return class logits (N, C+E+1: the C classes, the E other classes, background) and deltas (N, C, 4)."""
        pooled = self.pooler(features, rois)
        hidden = self.fcs(pooled)
        logits = self.cls_score(hidden)
        if self.other_classes is not None:
            c = self.num_classes
            logits = torch.cat((logits[:, :c], self.other_classes(hidden), logits[:, c:]), dim=1)
        return logits, self.bbox_pred(hidden).view(-1, self.num_classes, 4)

    @torch.no_grad()
    def _sample(self, proposals: list[Tensor], targets: list[Targets]) -> tuple[list[Tensor], Tensor, Tensor]:
        """Pick training RoIs per image; returns RoIs, their class (C = background) and box targets."""
        cfg = self.cfg
        rois, classes, regression = [], [], []
        for image_proposals, image_targets in zip(proposals, targets, strict=True):
            keep = ~image_targets.ignore
            gt_boxes = image_targets.boxes[keep].float()
            gt_classes = image_targets.class_ids[keep]
            candidates = image_proposals.float()
            if cfg.add_gt_as_proposals:
                candidates = torch.cat((candidates, gt_boxes))
            matched, labels = match_boxes(box_iou(gt_boxes, candidates), cfg.fg_iou_thresh, cfg.bg_iou_thresh, False)
            labels = ignore_overlapping(
                labels, candidates, image_targets.boxes[image_targets.ignore].float(), IGNORE_IOF_THRESH
            )
            pos, neg = sample_balanced(labels, cfg.batch_size_per_image, cfg.positive_fraction)
            rois.append(torch.cat((candidates[pos], candidates[neg])))
            background = torch.full((neg.numel(),), self.num_classes, dtype=torch.int64, device=neg.device)
            classes.append(torch.cat((gt_classes[matched[pos]], background)))
            regression.append(encode_boxes(gt_boxes[matched[pos]], candidates[pos], cfg.box_coder_weights))
        return rois, torch.cat(classes), torch.cat(regression)

    def _losses(self, logits: Tensor, deltas: Tensor, classes: Tensor, regression_targets: Tensor) -> dict[str, Tensor]:
        """Cross-entropy on all sampled RoIs, smooth-L1 on foreground true-class deltas (positives come first)."""
        num_sampled = max(classes.numel(), 1)
        background = logits.shape[1] - 1  # after any other classes' rows
        targets = torch.where(classes == self.num_classes, background, classes)
        cls_loss = F.cross_entropy(logits.float(), targets, reduction="sum") / num_sampled
        foreground = torch.nonzero(classes < self.num_classes).squeeze(1)
        fg_deltas = deltas[foreground, classes[foreground]].float()
        # Positives precede negatives within each image and images are concatenated
        # in order, so regression targets line up with the foreground rows.
        box_loss = F.smooth_l1_loss(fg_deltas, regression_targets, beta=SMOOTH_L1_BETA, reduction="sum") / num_sampled
        return {"roi_cls_loss": cls_loss, "roi_box_loss": box_loss}

    @torch.no_grad()
    def _postprocess(
        self, logits: Tensor, deltas: Tensor, proposals: list[Tensor], image_sizes: ImageSizes
    ) -> list[FramePrediction]:
        """Turn head outputs into at most ``detections_per_img`` detections per image."""
        cfg = self.cfg
        num_classes = self.num_classes
        scores = F.softmax(logits.float(), dim=-1)[:, :num_classes]
        boxes = decode_boxes(
            deltas, torch.cat(proposals).float()[:, None, :], cfg.box_coder_weights, clamp_both=cfg.clamp_both
        )
        sizes = image_size_tensor(image_sizes, boxes.device)
        class_ids = torch.arange(num_classes, device=logits.device).expand_as(scores)
        detections = []
        start = 0
        # Counts, bounds and class ids come from tensors, not Python numbers: an exported graph keeps them dynamic.
        for image_proposals, size in zip(proposals, sizes, strict=True):
            end = start + image_proposals.shape[0]
            image_boxes = clip_boxes(boxes[start:end], size[0], size[1]).reshape(-1, 4)
            image_scores = scores[start:end].reshape(-1)
            image_classes = class_ids[start:end].reshape(-1)
            start = end
            keep = torch.nonzero(image_scores > cfg.score_thresh).squeeze(1)
            keep = keep[remove_small_boxes(image_boxes[keep], cfg.min_size)]
            kept = batched_nms(image_boxes[keep], image_scores[keep], image_classes[keep], cfg.nms_thresh)
            keep = keep[kept[: cfg.detections_per_img]]
            detections.append(FramePrediction(image_boxes[keep], image_scores[keep], image_classes[keep]))
        return detections
