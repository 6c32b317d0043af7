"""Faster R-CNN with FPN, assembled from :mod:`vis4d.model.backbones`, the RPN and the RoI box head.

The model takes normalised, padded images (the data handler normalises), so
unlike torchvision's detector it neither resizes nor normalises; boxes in and
out are in input pixels.  QDTrack builds on the pieces exposed here
(``backbone``, ``rpn``, ``roi_heads``, ``roi_feature_levels``, ``detect``,
``detector_losses``).

Memory format: convolution weights and images are channels-last (NHWC).
oneDNN on CPUs and cuDNN's tensor-core kernels run NHWC convolutions
faster, and the feature maps stay NHWC from the image to RoIAlign (only the
NNPACK convolutions below convert, for a larger saving). Loading weights copies into the NHWC
tensors, so checkpoints of either layout load. The 3x3 convolutions are
:class:`~vis4d.model.cpu_conv.CPUConv2d`: at CPU inference on large maps they
run NNPACK's fast algorithms (about 2.5x faster on the FPN's finest level).
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor

from vis4d.common.errors import ConfigError
from vis4d.common.structures import Batch, FramePrediction
from vis4d.config.schema import DetectorFields
from vis4d.model.backbones import build_backbone, level_stride
from vis4d.model.base import Vis4DModel
from vis4d.model.cpu_conv import use_cpu_convs
from vis4d.model.detect.roi_heads import RoIBoxHead
from vis4d.model.detect.rpn import RegionProposalNetwork

# RoIs are pooled from levels up to stride 32 (p2-p5 for ResNets); p6 only serves the RPN.
MAX_ROI_STRIDE = 32


class FasterRCNN(Vis4DModel):
    """Two-stage detector; ``cfg`` is any config with the detector fields (Faster R-CNN or QDTrack)."""

    def __init__(self, cfg: DetectorFields, num_classes: int) -> None:
        super().__init__()
        if num_classes < 1:
            raise ConfigError(f"categories: a detector needs at least one category, got {num_classes}")
        self.cfg = cfg
        self.num_classes = num_classes
        self.backbone = build_backbone(cfg.backbone, model_weights=cfg.weights is not None)
        levels = self.backbone.level_names
        self.roi_feature_levels = [level for level in levels if level_stride(level) <= MAX_ROI_STRIDE]
        channels = self.backbone.out_channels
        self.rpn = RegionProposalNetwork(cfg.rpn, channels, levels, [level_stride(level) for level in levels])
        self.roi_heads = RoIBoxHead(cfg.roi_head, channels, self.roi_feature_levels, num_classes)
        use_cpu_convs(self)  # NNPACK for the large 3x3 convolutions of CPU inference
        self.to(memory_format=torch.channels_last)

    def extract_features(self, images: Tensor) -> OrderedDict[str, Tensor]:
        """Return the FPN features (channels-last) of normalised images (B, 3, H, W)."""
        features: OrderedDict[str, Tensor] = self.backbone(images.contiguous(memory_format=torch.channels_last))
        return features

    def detect(self, batch: Batch) -> tuple[OrderedDict[str, Tensor], list[FramePrediction]]:
        """Return features and per-image detections (input pixels), without losses."""
        features = self.extract_features(batch.images)
        proposals, _ = self.rpn(features, batch.image_sizes)
        detections, _ = self.roi_heads(features, proposals, batch.image_sizes)
        return features, detections

    def detector_losses(self, batch: Batch, features: OrderedDict[str, Tensor]) -> dict[str, Tensor]:
        """Return RPN and RoI head losses of ``batch`` given its already computed ``features``."""
        proposals, rpn_losses = self.rpn(features, batch.image_sizes, batch.targets)
        _, roi_losses = self.roi_heads(features, proposals, batch.image_sizes, batch.targets)
        return {**rpn_losses, **roi_losses}

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """Return the training losses (rpn_cls, rpn_box, roi_cls, roi_box) of a batch."""
        return self.detector_losses(batch, self.extract_features(batch.images))

    def predict(self, batch: Batch) -> list[FramePrediction]:
        """Return per-image detections in input pixels."""
        return self.detect(batch)[1]
