"""Tiny Faster R-CNN settings and a fixed two-image batch shared by the detector tests."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from vis4d.common.structures import Batch, FrameMeta, Targets
from vis4d.config.schema import (
    BackboneConfig,
    DetectorModelConfig,
    FasterRCNNDetectorConfig,
    RoIHeadConfig,
    RPNConfig,
)
from vis4d.model.detection import DetectionModel


def tiny_config(**roi_overrides: Any) -> FasterRCNNDetectorConfig:
    """A tiny Faster R-CNN detector config (``model.detector``)."""
    return FasterRCNNDetectorConfig(
        backbone=BackboneConfig(type="resnet18", fpn_channels=32),
        rpn=RPNConfig(
            pre_nms_top_n_train=300,
            post_nms_top_n_train=100,
            pre_nms_top_n_test=200,
            post_nms_top_n_test=50,
            batch_size_per_image=64,
        ),
        roi_head=RoIHeadConfig(**{"fc_dim": 64, "batch_size_per_image": 64, "detections_per_img": 20, **roi_overrides}),
    )


def tiny_model(num_classes: int, **roi_overrides: Any) -> DetectionModel:
    """The tiny detector as a model (``model.type = "detector"``): loss(batch), predict(batch)."""
    return DetectionModel(DetectorModelConfig(detector=tiny_config(**roi_overrides)), num_classes)


def make_batch(images: torch.Tensor, targets: list[Targets]) -> Batch:
    height, width = images.shape[-2:]
    meta = [FrameMeta(f"img{i}", "video", i, "", (height, width), (height, width)) for i in range(len(targets))]
    return Batch(images, targets, meta)


@pytest.fixture()
def tiny_batch() -> Batch:
    """Two 64x96 images: one with two objects and an ignore region, one without any box."""
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(2, 3, 64, 96, generator=generator) * 0.1
    images[0, :, 10:40, 8:40] += 2.0  # make the objects visible so training can fit them
    images[0, 1, 20:60, 50:90] -= 2.0
    first = Targets(
        boxes=torch.tensor([[8.0, 10.0, 40.0, 40.0], [50.0, 20.0, 90.0, 60.0], [0.0, 44.0, 30.0, 64.0]]),
        class_ids=torch.tensor([0, 2, 1]),
        track_ids=torch.tensor([1, 2, -1]),
        ignore=torch.tensor([False, False, True]),
    )
    return make_batch(images, [first, Targets.empty()])
