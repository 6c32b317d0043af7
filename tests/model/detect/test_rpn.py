from __future__ import annotations

import torch

from tests.model.detect.conftest import tiny_config
from vis4d.common.structures import Batch, Targets
from vis4d.model.backbones import build_backbone
from vis4d.model.detect.rpn import RegionProposalNetwork


def _rpn_and_features(batch: Batch) -> tuple[RegionProposalNetwork, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    cfg = tiny_config()
    backbone = build_backbone(cfg.backbone)
    rpn = RegionProposalNetwork(cfg.rpn, backbone.out_channels, backbone.level_names, list(backbone.strides.values()))
    return rpn, backbone(batch.images)


def test_proposals_are_valid_clipped_and_capped(tiny_batch: Batch) -> None:
    rpn, features = _rpn_and_features(tiny_batch)
    # The second image is smaller than the padded input: its proposals must stay inside it.
    image_sizes = [(64, 96), (48, 80)]
    for training, cap in ((True, rpn.cfg.post_nms_top_n_train), (False, rpn.cfg.post_nms_top_n_test)):
        rpn.train(training)
        proposals, losses = rpn(features, image_sizes)
        assert losses == {}
        assert len(proposals) == 2
        for boxes, (height, width) in zip(proposals, image_sizes, strict=True):
            assert 0 < boxes.shape[0] <= cap
            assert not boxes.requires_grad
            assert (boxes[:, 0] >= 0).all() and (boxes[:, 1] >= 0).all()
            assert (boxes[:, 2] <= width).all() and (boxes[:, 3] <= height).all()
            assert (boxes[:, 2] > boxes[:, 0]).all() and (boxes[:, 3] > boxes[:, 1]).all()


def test_losses_finite_and_differentiable(tiny_batch: Batch) -> None:
    rpn, features = _rpn_and_features(tiny_batch)
    rpn.train()
    _, losses = rpn(features, tiny_batch.image_sizes, tiny_batch.targets)
    assert set(losses) == {"rpn_cls_loss", "rpn_box_loss"}
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses["rpn_box_loss"] > 0
    torch.stack(list(losses.values())).sum().backward()
    grad = rpn.head.predictor.weight.grad
    num_anchors = rpn.head.num_anchors
    assert grad is not None and grad[:num_anchors].abs().sum() > 0 and grad[num_anchors:].abs().sum() > 0


def test_only_ignore_boxes_give_no_positive_anchors(tiny_batch: Batch) -> None:
    rpn, features = _rpn_and_features(tiny_batch)
    targets = tiny_batch.targets[0]
    only_ignored = Targets(targets.boxes, targets.class_ids, targets.track_ids, torch.ones(3, dtype=torch.bool))
    _, losses = rpn(features, tiny_batch.image_sizes, [only_ignored, Targets.empty()])
    assert losses["rpn_box_loss"] == 0
    assert torch.isfinite(losses["rpn_cls_loss"]) and losses["rpn_cls_loss"] > 0
