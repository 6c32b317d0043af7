"""QDTrack: Faster R-CNN + a quasi-dense similarity head + a tracker graph.

Training (``loss``) pairs each key image with its reference image
(``batch.refs[0]``, same video, a few frames away): the detector learns on
the key frames, and RoIs sampled quasi-densely on both frames are embedded
and compared all-to-all by the contrastive and auxiliary losses.

Inference (``predict``) detects, embeds the detections and runs the tracker
graph image by image in the batch's order (:class:`~vis4d.model.track.video.VideoTracker`:
reset at every new video). Track ids keep increasing across videos, so they
are unique in an output.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor

from vis4d.common.errors import ConfigError
from vis4d.common.structures import Batch, FramePrediction
from vis4d.config.schema import QDTrackConfig
from vis4d.model.base import Vis4DModel
from vis4d.model.detect.faster_rcnn import FasterRCNN
from vis4d.model.track.graphs import TrackerGraph, build_graph
from vis4d.model.track.losses import qdtrack_losses
from vis4d.model.track.sampling import sample_track_rois_batch
from vis4d.model.track.similarity_head import SimilarityHead
from vis4d.model.track.video import VideoTracker, with_detections

Features = OrderedDict[str, Tensor]


class QDTrack(Vis4DModel):
    """Quasi-dense similarity learning for multiple object tracking (Pang et al., CVPR 2021)."""

    def __init__(self, cfg: QDTrackConfig, num_classes: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.detector = FasterRCNN(cfg, num_classes)
        self.similarity_head = SimilarityHead(
            cfg.similarity_head,
            in_channels=cfg.backbone.fpn_channels,
            featmap_names=self.detector.roi_feature_levels,
            pooling=cfg.roi_head,
        )
        self.graph: TrackerGraph = build_graph(cfg.tracker)
        self.tracker = VideoTracker(self.graph)

    # ------------------------------------------------------------------ training
    def loss(self, batch: Batch) -> dict[str, Tensor]:
        """Detector losses on the key frames plus the quasi-dense embedding losses."""
        if not batch.refs:
            raise ConfigError(
                "QDTrack training needs reference views: set train_handler.reference (e.g. num_ref = 1, scope = 3)"
            )
        ref = batch.refs[0]
        if len(ref) != len(batch):
            raise ValueError(f"reference batch has {len(ref)} images, key batch {len(batch)}")
        key_features, ref_features = self._key_and_ref_features(batch.images, ref.images)
        detector = self.detector

        key_proposals, rpn_losses = detector.rpn(key_features, batch.image_sizes, batch.targets)
        _, roi_losses = detector.roi_heads(key_features, key_proposals, batch.image_sizes, batch.targets)
        with torch.no_grad():
            ref_proposals, _ = detector.rpn(ref_features, ref.image_sizes, None)

        sampler_cfg = self.cfg.track_sampler
        key_samples = sample_track_rois_batch([p.detach() for p in key_proposals], batch.targets, sampler_cfg)
        ref_samples = sample_track_rois_batch([p.detach() for p in ref_proposals], ref.targets, sampler_cfg)
        # Key side: positive RoIs only (a background key RoI has no partner to be pulled towards);
        # reference side: positives and negatives, the negatives being what the key must be unlike.
        key_embeds = self.similarity_head(key_features, [s.positive_boxes for s in key_samples], batch.image_sizes)
        ref_embeds = self.similarity_head(ref_features, [s.boxes for s in ref_samples], ref.image_sizes)
        track_losses = qdtrack_losses(
            key_embeds,
            ref_embeds,
            [s.positive_track_ids for s in key_samples],
            [s.track_ids for s in ref_samples],
            self.cfg.track_loss,
        )
        return {**rpn_losses, **roi_losses, **track_losses}

    def _key_and_ref_features(self, key_images: Tensor, ref_images: Tensor) -> tuple[Features, Features]:
        """Backbone features of both views; one backbone pass when the padded sizes agree."""
        if key_images.shape[1:] != ref_images.shape[1:]:
            return self.detector.extract_features(key_images), self.detector.extract_features(ref_images)
        features = self.detector.extract_features(torch.cat([key_images, ref_images]))
        num_key = len(key_images)
        key = OrderedDict((name, level[:num_key]) for name, level in features.items())
        ref = OrderedDict((name, level[num_key:]) for name, level in features.items())
        return key, ref

    # ----------------------------------------------------------------- inference
    @torch.no_grad()
    def predict(self, batch: Batch) -> list[FramePrediction]:
        """Detect, embed, and associate each image in order.

        The tracked detections are returned, each image's carrying the
        detector's own ``detections`` (before the graph's score threshold) for
        detection AP.
        """
        features, detections = self.detector.detect(batch)
        candidates, embeddings = self.embed_candidates(features, detections, batch.image_sizes)
        return [
            with_detections(self.tracker(meta, det, embeds), all_det)
            for meta, det, embeds, all_det in zip(batch.meta, candidates, embeddings, detections, strict=True)
        ]

    def embed_candidates(
        self, features: Features, detections: list[FramePrediction], image_sizes: list[tuple[int, int]]
    ) -> tuple[list[FramePrediction], list[Tensor | None]]:
        """The graph's candidates among each image's detections, and their embeddings (None without appearance).

        Only candidates are embedded: the similarity head costs ~0.23 GFLOP per
        detection (about eight times the box head per proposal), and the
        duplicates the graph drops would never use theirs.
        """
        candidates = [det.select(self.graph.candidates(det.boxes, det.scores, det.class_ids)) for det in detections]
        if not self.graph.needs_embeddings:
            return candidates, [None] * len(candidates)
        return candidates, list(self.similarity_head(features, [c.boxes for c in candidates], image_sizes))

    def reset_tracking(self) -> None:
        """Forget all tracker state (e.g. before a new test run)."""
        self.tracker.reset()
