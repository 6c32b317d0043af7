"""QDTrack: a detector + a quasi-dense similarity head + a tracker graph.

Training (``loss``) pairs each key image with its reference image
(``batch.refs[0]``, same video, a few frames away): the detector learns on
the key frames, and RoIs sampled quasi-densely on both frames (among the
boxes the detector proposes: Faster R-CNN's RPN proposals) are embedded and
compared all-to-all by the contrastive and auxiliary losses. The detector is
any :class:`~vis4d.model.detect.base.Detector` (``model.detector``).

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
from vis4d.model.detect.base import RoIPooling
from vis4d.model.detectors import build_detector
from vis4d.model.track.context import FrameContext
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
        self.detector = build_detector(cfg.detector, num_classes, pretrained=cfg.weights is not None)
        levels = self.detector.feature_levels
        if len({level.channels for level in levels}) != 1:
            raise ConfigError(f"model.detector ({cfg.detector.type}): QDTrack's similarity head pools every level "
                              f"with one set of weights, but the levels have {[lv.channels for lv in levels]} "
                              "channels")  # fmt: skip
        own = self.detector.roi_pooling
        head = cfg.similarity_head
        pooling = RoIPooling(
            own.sampling_ratio if head.sampling_ratio is None else head.sampling_ratio,
            own.aligned if head.aligned is None else head.aligned,
            own.level_mapping if head.level_mapping is None else head.level_mapping,
        )
        self.similarity_head = SimilarityHead(head, levels[0].channels, [level.name for level in levels], pooling)
        self.graph: TrackerGraph = build_graph(cfg.tracker)
        self.tracker = VideoTracker(self.graph, getattr(cfg.tracker, "reid", None))

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
        detector_losses, key_proposals = self.detector.losses(key_features, batch.image_sizes, batch.targets)
        ref_proposals = self.detector.proposals(ref_features, ref.image_sizes)

        sampler_cfg = self.cfg.track_sampler
        key_samples = sample_track_rois_batch(key_proposals, batch.targets, sampler_cfg)
        ref_samples = sample_track_rois_batch(ref_proposals, ref.targets, sampler_cfg)
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
        return {**detector_losses, **track_losses}

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
        features = self.detector.extract_features(batch.images)
        detections = self.detector.detect(features, batch.image_sizes)
        contexts = self.tracker.contexts(batch)
        candidates, embeddings = self.embed_candidates(features, detections, batch.image_sizes, contexts)
        return [
            with_detections(self.tracker(meta, det, embeds, context), all_det)
            for meta, det, embeds, all_det, context in zip(
                batch.meta, candidates, embeddings, detections, contexts, strict=True
            )
        ]

    def embed_candidates(
        self,
        features: Features,
        detections: list[FramePrediction],
        image_sizes: list[tuple[int, int]],
        contexts: list[FrameContext | None] | None = None,
    ) -> tuple[list[FramePrediction], list[Tensor | None]]:
        """The tracker's candidates among each image's detections, and their embeddings (None without appearance).

        Only candidates are embedded: the similarity head costs ~0.23 GFLOP per
        detection (about eight times the box head per proposal), and the
        duplicates the tracker drops would never use theirs. With
        ``model.tracker.reid`` the embeddings come from that network instead.
        """
        candidates = [det.select(self.graph.candidates(det.boxes, det.scores, det.class_ids)) for det in detections]
        if not self.tracker.uses_embeddings:
            return candidates, [None] * len(candidates)
        if self.tracker.reid_name is not None:
            contexts = contexts if contexts is not None else [None] * len(candidates)
            return candidates, [self.tracker.appearance(c, ctx) for c, ctx in zip(candidates, contexts, strict=True)]
        return candidates, list(self.similarity_head(features, [c.boxes for c in candidates], image_sizes))

    def reset_tracking(self) -> None:
        """Forget all tracker state (e.g. before a new test run)."""
        self.tracker.reset()
