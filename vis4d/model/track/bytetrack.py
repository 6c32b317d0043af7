"""ByteTrack as a model: a detector whose detections a motion tracker associates (no appearance).

Training trains the detector only (the tracker has no parameters); inference
detects and hands each frame's detections to the tracker of ``model.tracker``
(``bytetrack`` by default; ``sort``, ``ocsort``, ``botsort``, ``deepocsort``
or the plain ``iou`` tracker), with the frame's pixels for the trackers that
compensate camera motion, and appearance from ``model.tracker.reid`` where
it names a re-identification network.
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
        self.tracker = VideoTracker(build_graph(cfg.tracker), getattr(cfg.tracker, "reid", None))

    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """The detector's losses."""
        losses, _ = self.detector.losses(self.detector.extract_features(batch.images), batch.image_sizes,
                                         batch.targets)  # fmt: skip
        return losses

    @torch.no_grad()
    def predict(self, batch: Batch) -> list[FramePrediction]:
        """Detect, then track each image in order: the tracked detections, with the detector's own ``detections``."""
        detections = self.detector.detect(self.detector.extract_features(batch.images), batch.image_sizes)
        tracker = self.tracker
        outputs = []
        for meta, det, context in zip(batch.meta, detections, tracker.contexts(batch), strict=True):
            candidates = det.select(tracker.graph.candidates(det.boxes, det.scores, det.class_ids))
            embeddings = tracker.appearance(candidates, context)
            outputs.append(with_detections(tracker(meta, candidates, embeddings, context), det))
        return outputs

    def reset_tracking(self) -> None:
        """Forget all tracker state."""
        self.tracker.reset()
