"""The detector interface trackers and export hold (stand-in until the lead's version lands on main).

A detector turns images into boxes, scores and classes, exposes the feature
maps a tracker's embedding head may pool from, computes its training losses
and returns the boxes a tracker may sample RoIs from.
"""

from __future__ import annotations

import abc
import dataclasses
from collections import OrderedDict

from torch import Tensor, nn

from vis4d.common.structures import FramePrediction, Targets
from vis4d.model.detect.box_coder import ImageSizes


@dataclasses.dataclass(frozen=True)
class FeatureLevel:
    """One feature map a tracker may pool from: its key in the features dict, stride and channels."""

    name: str
    stride: int
    channels: int


class Detector(nn.Module, abc.ABC):
    """Images -> detections; features for trackers; losses from targets."""

    num_classes: int
    feature_levels: list[FeatureLevel]

    @abc.abstractmethod
    def extract_features(self, images: Tensor) -> OrderedDict[str, Tensor]:
        """Feature maps of images (B, 3, H, W) as the data handler makes them."""

    @abc.abstractmethod
    def detect(self, features: OrderedDict[str, Tensor], image_sizes: ImageSizes) -> list[FramePrediction]:
        """Per-image detections, boxes xyxy in input pixels."""

    @abc.abstractmethod
    def losses(
        self, features: OrderedDict[str, Tensor], image_sizes: ImageSizes, targets: list[Targets]
    ) -> tuple[dict[str, Tensor], list[Tensor]]:
        """Training losses and detached per-image boxes (N_i, 4) a tracker may sample RoIs from."""

    @abc.abstractmethod
    def proposals(self, features: OrderedDict[str, Tensor], image_sizes: ImageSizes) -> list[Tensor]:
        """The boxes :meth:`losses` returns, without losses (reference frames)."""

    @abc.abstractmethod
    def fold_batch_norm(self) -> int:
        """Fold norms into convolutions for inference; returns how many."""
