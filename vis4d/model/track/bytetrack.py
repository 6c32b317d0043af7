"""ByteTrack as a model: a detector whose detections a motion tracker associates (no appearance).

Training trains the detector only (the tracker has no parameters); inference
detects and hands each frame's detections to the tracker graph of
``model.tracker`` (``bytetrack`` by default, or the plain ``iou`` tracker).
With ``model.weights`` a published detector (say COCO's, from torchvision)
tracks real footage without any training.
"""

from __future__ import annotations

import torch
from torch import Tensor

from vis4d.common.structures import Batch, FramePrediction
from vis4d.config.schema import ByteTrackModelConfig
from vis4d.model.base import Vis4DModel
from vis4d.model.detectors import build_detector
from vis4d.model.track.graphs import build_graph
from vis4d.model.track.video import VideoTracker, with_detections


class ByteTrack(Vis4DModel):
    """Tracking by detection with a motion-only tracker (Zhang et al., ECCV 2022)."""

    def __init__(self, cfg: ByteTrackModelConfig, num_classes: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.detector = build_detector(cfg.detector, num_classes, pretrained=cfg.weights is not None)
        self.tracker = VideoTracker(build_graph(cfg.tracker))

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """The detector's losses."""
        losses, _ = self.detector.losses(self.detector.extract_features(batch.images), batch.image_sizes,
                                         batch.targets)  # fmt: skip
        return losses

    @torch.no_grad()
    def predict(self, batch: Batch) -> list[FramePrediction]:
        """Detect, then track each image in order: the tracked detections, with the detector's own ``detections``."""
        detections = self.detector.detect(self.detector.extract_features(batch.images), batch.image_sizes)
        graph = self.tracker.graph
        return [
            with_detections(
                self.tracker(meta, det.select(graph.candidates(det.boxes, det.scores, det.class_ids)), None), det
            )
            for meta, det in zip(batch.meta, detections, strict=True)
        ]

    def reset_tracking(self) -> None:
        """Forget all tracker state."""
        self.tracker.reset()
