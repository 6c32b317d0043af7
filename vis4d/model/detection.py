"""A detector on its own as a model (``model.type = "detector"``): its losses for training, its detections."""

from __future__ import annotations

from torch import Tensor

from vis4d.common.structures import Batch, FramePrediction
from vis4d.config.schema import DetectorModelConfig
from vis4d.model.base import Vis4DModel
from vis4d.model.detectors import build_detector


class DetectionModel(Vis4DModel):
    """The configured detector (``model.detector``), trained and run alone."""

    def __init__(self, cfg: DetectorModelConfig, num_classes: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.detector = build_detector(cfg.detector, num_classes, pretrained=cfg.weights is not None)

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """The detector's training losses."""
        features = self.detector.extract_features(batch.images)
        losses, _ = self.detector.losses(features, batch.image_sizes, batch.targets)
        return losses

    def predict(self, batch: Batch) -> list[FramePrediction]:
        """Per-image detections in input pixels."""
        return self.detector.detect(self.detector.extract_features(batch.images), batch.image_sizes)
