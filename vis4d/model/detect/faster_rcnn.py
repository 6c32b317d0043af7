"""Faster R-CNN with FPN, assembled from :mod:`vis4d.model.backbones`, the RPN and the RoI box head.

The detector takes normalised, padded images (the data handler normalises),
so unlike torchvision's detector it neither resizes nor normalises; boxes in
and out are in input pixels. It implements :class:`~vis4d.model.detect.base.Detector`:
trackers pool from its FPN levels up to stride 32 and sample their RoIs from
its RPN proposals.

Memory format: convolution weights and images are channels-last (NHWC).
oneDNN on CPUs and cuDNN's tensor-core kernels run NHWC convolutions
faster, and the feature maps stay NHWC from the image to RoIAlign (only the
NNPACK convolutions below convert, for a larger saving). Loading weights copies into the NHWC
tensors, so checkpoints of either layout load. The 3x3 convolutions are
:class:`~vis4d.model.cpu_conv.CPUConv2d`: at CPU inference on large maps they
run NNPACK's fast algorithms (about 2.5x faster on the FPN's finest level).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from vis4d.common.errors import ConfigError
from vis4d.common.structures import FramePrediction, Targets
from vis4d.config.schema import FasterRCNNDetectorConfig
from vis4d.model.backbones import build_backbone, level_stride
from vis4d.model.cpu_conv import use_cpu_convs
from vis4d.model.detect.base import Detector, FeatureLevel, Features, ImageSizes, RoIPooling
from vis4d.model.detect.roi_heads import RoIBoxHead
from vis4d.model.detect.rpn import RegionProposalNetwork

# RoIs are pooled from levels up to stride 32 (p2-p5 for ResNets); p6 only serves the RPN.
MAX_ROI_STRIDE = 32


class FasterRCNN(Detector):
    """Two-stage detector: backbone + FPN, RPN, RoI box head.

    ``pretrained``: the model will be initialised from weights (its config's
    ``model.weights``), which picks frozen batch norm and frozen stages as
    loading backbone weights does (:func:`vis4d.model.backbones.build_backbone`).
    """

    def __init__(self, cfg: FasterRCNNDetectorConfig, num_classes: int, pretrained: bool = False) -> None:
        super().__init__()
        if num_classes < 1:
            raise ConfigError(f"categories: a detector needs at least one category, got {num_classes}")
        self.cfg = cfg
        self.num_classes = num_classes
        self.backbone = build_backbone(cfg.backbone, model_weights=pretrained)
        levels = self.backbone.level_names
        self.roi_feature_levels = [level for level in levels if level_stride(level) <= MAX_ROI_STRIDE]
        channels = self.backbone.out_channels
        self.rpn = RegionProposalNetwork(cfg.rpn, channels, levels, [level_stride(level) for level in levels])
        self.roi_heads = RoIBoxHead(cfg.roi_head, channels, self.roi_feature_levels, num_classes)
        use_cpu_convs(self)  # NNPACK for the large 3x3 convolutions of CPU inference
        self.to(memory_format=torch.channels_last)

    @property
    def feature_levels(self) -> list[FeatureLevel]:
        """The FPN levels the box head pools from (stride <= 32)."""
        channels = self.backbone.out_channels
        return [FeatureLevel(name, level_stride(name), channels) for name in self.roi_feature_levels]

    @property
    def roi_pooling(self) -> RoIPooling:
        """The box head's RoIAlign options (a tracker's head pools as the box head does)."""
        head = self.cfg.roi_head
        return RoIPooling(head.sampling_ratio, head.aligned, head.level_mapping)

    def extract_features(self, images: Tensor) -> Features:
        """Return the FPN features (channels-last) of normalised images (B, 3, H, W)."""
        features: Features = self.backbone(images.contiguous(memory_format=torch.channels_last))
        return features

    def detect(self, features: Features, image_sizes: ImageSizes) -> list[FramePrediction]:
        """Per-image detections (input pixels), without losses."""
        proposals, _ = self.rpn(features, image_sizes)
        detections, _ = self.roi_heads(features, proposals, image_sizes)
        return list(detections)

    def losses(
        self, features: Features, image_sizes: ImageSizes, targets: Sequence[Targets]
    ) -> tuple[dict[str, Tensor], list[Tensor]]:
        """RPN and RoI head losses (rpn_cls, rpn_box, roi_cls, roi_box), and the RPN's proposals (detached)."""
        proposals, rpn_losses = self.rpn(features, image_sizes, list(targets))
        _, roi_losses = self.roi_heads(features, proposals, image_sizes, list(targets))
        return {**rpn_losses, **roi_losses}, [p.detach() for p in proposals]

    @torch.no_grad()
    def proposals(self, features: Features, image_sizes: ImageSizes) -> list[Tensor]:
        """The RPN's proposals, without losses."""
        proposals, _ = self.rpn(features, image_sizes, None)
        return list(proposals)

    def fold_batch_norm(self) -> int:
        """Fold the backbone's batch norms into its convolutions (see :meth:`FPNBackbone.fold_batch_norm`)."""
        return self.backbone.fold_batch_norm()
