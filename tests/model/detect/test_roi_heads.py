from __future__ import annotations

import torch

from tests.model.detect.conftest import tiny_config
from vis4d.common.structures import Batch
from vis4d.model.backbones import build_backbone
from vis4d.model.detect.roi_heads import RoIBoxHead

NUM_CLASSES = 3


def _random_proposals(count: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    top_left = torch.rand(count, 2, generator=generator) * torch.tensor([width - 10.0, height - 10.0])
    size = torch.rand(count, 2, generator=generator) * 30 + 4
    boxes = torch.cat((top_left, top_left + size), dim=1)
    boxes[:, 2] = boxes[:, 2].clamp(max=width)
    boxes[:, 3] = boxes[:, 3].clamp(max=height)
    return boxes


def _setup(batch: Batch, **roi_overrides: object) -> tuple[RoIBoxHead, dict[str, torch.Tensor], list[torch.Tensor]]:
    torch.manual_seed(0)
    cfg = tiny_config(**roi_overrides)
    backbone = build_backbone(cfg.backbone)
    head = RoIBoxHead(cfg.roi_head, backbone.out_channels, ["p2", "p3", "p4", "p5"], NUM_CLASSES)
    generator = torch.Generator().manual_seed(0)
    proposals = [_random_proposals(40, 64, 96, generator) for _ in range(len(batch))]
    with torch.no_grad():
        features = backbone(batch.images)
    return head, features, proposals


def test_sampling_adds_gt_respects_fraction_and_skips_ignored(tiny_batch: Batch) -> None:
    head, _, proposals = _setup(tiny_batch, batch_size_per_image=16, positive_fraction=0.25)
    rois, classes, regression = head._sample(proposals, tiny_batch.targets)
    first_classes = classes[: rois[0].shape[0]]
    foreground = first_classes < NUM_CLASSES
    assert 1 <= int(foreground.sum()) <= 4  # gt boxes are candidates, so positives exist
    assert rois[0].shape[0] == 16
    assert regression.shape == (int((classes < NUM_CLASSES).sum()), 4)
    assert 1 not in first_classes.tolist()  # class 1 only labels the ignore region
    # The ignore region is neither a positive nor a negative candidate.
    ignore_box = tiny_batch.targets[0].boxes[2]
    assert not (rois[0] == ignore_box).all(dim=1).any()
    # The image without ground truth samples background only.
    assert (classes[rois[0].shape[0] :] == NUM_CLASSES).all()


def test_training_losses_and_no_detections(tiny_batch: Batch) -> None:
    head, features, proposals = _setup(tiny_batch)
    head.train()
    detections, losses = head(features, proposals, tiny_batch.image_sizes, tiny_batch.targets)
    assert detections == []
    assert set(losses) == {"roi_cls_loss", "roi_box_loss"}
    assert all(torch.isfinite(v) for v in losses.values())
    torch.stack(list(losses.values())).sum().backward()
    grad = head.bbox_pred.weight.grad
    assert grad is not None and grad.abs().sum() > 0


def test_inference_outputs_are_valid(tiny_batch: Batch) -> None:
    head, features, proposals = _setup(tiny_batch, score_thresh=0.0, detections_per_img=7)
    head.eval()
    detections, losses = head(features, proposals, [(64, 96), (50, 60)])
    assert losses == {}
    assert len(detections) == 2
    for detection, (height, width) in zip(detections, [(64, 96), (50, 60)], strict=True):
        assert 0 < detection.boxes.shape[0] <= 7
        assert detection.boxes.dtype == torch.float32 and detection.class_ids.dtype == torch.int64
        assert ((detection.scores >= 0) & (detection.scores <= 1)).all()
        assert (detection.scores[:-1] >= detection.scores[1:]).all()
        assert ((detection.class_ids >= 0) & (detection.class_ids < NUM_CLASSES)).all()
        assert (detection.boxes[:, 2] <= width).all() and (detection.boxes[:, 3] <= height).all()


def test_score_threshold_filters_everything_above_untrained_scores(tiny_batch: Batch) -> None:
    head, features, proposals = _setup(tiny_batch, score_thresh=0.9)
    head.eval()
    detections, _ = head(features, proposals, tiny_batch.image_sizes)
    # An untrained head predicts ~uniform scores (about 1/4), all below 0.9.
    assert all(d.boxes.shape[0] == 0 for d in detections)


def test_empty_proposals(tiny_batch: Batch) -> None:
    head, features, _ = _setup(tiny_batch)
    head.eval()
    detections, _ = head(features, [torch.zeros(0, 4), torch.zeros(0, 4)], tiny_batch.image_sizes)
    assert [d.boxes.shape for d in detections] == [(0, 4), (0, 4)]
