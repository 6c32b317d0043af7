"""The detector interface: what trackers, the engine and export see of any detector.

A detector turns normalised, padded images into per-image detections (boxes
in input pixels, scores, class ids), computes its training losses from
targets, and exposes the feature maps a tracker's embedding head may pool
from. QDTrack, ByteTrack and the export graph use only this interface, so a
new detector is its own module, a config class and one line in
:data:`vis4d.model.detectors.DETECTOR_TYPES`. The steps are separate methods
(features, then detections or losses) because trackers reuse one feature
pass for the detector and their own heads.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from typing import Literal

from torch import Tensor, nn

from vis4d.common.structures import FramePrediction, Targets

Features = OrderedDict[str, Tensor]
ImageSizes = Sequence[tuple[int, int]]


@dataclasses.dataclass(frozen=True)
class FeatureLevel:
    """One feature map a tracker may pool RoIs from: its key in the features, stride and channels."""

    name: str
    stride: int
    channels: int


@dataclasses.dataclass(frozen=True)
class RoIPooling:
    """How boxes are pooled from the feature levels (RoIAlign's options), the detector's own convention."""

    sampling_ratio: int = 0
    aligned: bool = True
    level_mapping: Literal["torchvision", "mmdet", "vis4d"] = "mmdet"


class Detector(nn.Module, ABC):
    """Images -> detections; losses from targets; the feature maps trackers use (see the module docstring)."""

    num_classes: int

    @property
    @abstractmethod
    def feature_levels(self) -> list[FeatureLevel]:
        """The feature maps a tracker's embedding head may pool RoIs from, finest first."""

    @property
    def roi_pooling(self) -> RoIPooling:
        """RoIAlign's options as this detector pools boxes (a one-stage detector: mmdetection's defaults)."""
        return RoIPooling()

    @abstractmethod
    def extract_features(self, images: Tensor) -> Features:
        """The feature maps of normalised, padded images (B, 3, H, W)."""

    @abstractmethod
    def detect(self, features: Features, image_sizes: ImageSizes) -> list[FramePrediction]:
        """Per-image detections (boxes xyxy in input pixels).

        Export traces this with ``image_sizes`` a (B, 2) int64 tensor, so sizes
        and counts must come from tensor shapes and values, not Python ints.
        """

    def forward(self, images: Tensor, image_sizes: ImageSizes) -> list[FramePrediction]:
        """Images -> per-image detections: features, then :meth:`detect`."""
        return self.detect(self.extract_features(images), image_sizes)

    @abstractmethod
    def losses(
        self, features: Features, image_sizes: ImageSizes, targets: Sequence[Targets]
    ) -> tuple[dict[str, Tensor], list[Tensor]]:
        """Training losses, and per image the boxes (detached, xyxy) a tracker may sample its RoIs from."""

    @abstractmethod
    def proposals(self, features: Features, image_sizes: ImageSizes) -> list[Tensor]:
        """The boxes :meth:`losses` hands trackers, without losses (a reference frame's), no gradient."""

    def set_no_aug_phase(self, active: bool) -> None:
        """The recipe's last epochs, without strong augmentation, have started (or not).

        A detector may change its training then (YOLOX adds its L1 loss). Default: nothing changes.
        """

    def fold_batch_norm(self) -> int:
        """Fold batch norms into the convolutions before them for inference; returns how many (default: none)."""
        return 0
