"""A motion-only tracker: IoU association with ByteTrack-style two-stage matching.

Per frame:

1. High-score detections (score >= ``track_high_thresh``) are matched to all
   remembered tracks by IoU with the tracks' last boxes; a pair is kept only
   if its IoU >= ``iou_thresh``.
2. Low-score detections (``track_low_thresh`` <= score < ``track_high_thresh``) are
   matched to the tracks left over by stage 1, keeping pairs with IoU >=
   ``second_iou_thresh``. This recovers objects whose score dropped (e.g.
   partially occluded) without letting low-score clutter start tracks.
3. Unmatched high-score detections with score >= ``new_track_thresh`` start new
   tracks; ids increase monotonically and are never reused.
4. Tracks unseen for more than ``track_buffer`` frames are removed.

Matching is the kit's (:mod:`vis4d.model.track.matching`): optimal
(``"hungarian"``: the assignment minimising 1 - IoU) or greedy (``"greedy"``:
pairs taken by decreasing IoU). With
``with_cats`` the IoU between different classes is treated as 0. Embeddings
are accepted for interface compatibility and ignored.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from vis4d.config.schema import IoUGraphConfig
from vis4d.model.boxes import pairwise_iou
from vis4d.model.track import matching
from vis4d.model.track.context import FrameContext
from vis4d.model.track.memory import BoxArray, IntArray, TrackMemory, detections_to_numpy


class IoUGraph:
    """Stateful IoU association for one video at a time."""

    needs_embeddings = False
    uses_embeddings = False
    needs_image = False
    output_boxes: Tensor | None = None

    def __init__(self, cfg: IoUGraphConfig) -> None:
        self.cfg = cfg
        self.next_id = 0
        self.tracks = TrackMemory.empty()

    def reset(self) -> None:
        """Forget all tracks (new video); ids keep increasing."""
        self.tracks = TrackMemory.empty()

    def candidates(self, boxes: Tensor, scores: Tensor, class_ids: Tensor) -> Tensor:
        """(K,) bool: detections scoring below ``track_low_thresh`` take part in neither matching stage."""
        return scores >= self.cfg.track_low_thresh

    def __call__(
        self,
        boxes: Tensor,
        scores: Tensor,
        class_ids: Tensor,
        embeddings: Tensor | None,
        frame_index: int,
        context: FrameContext | None = None,
    ) -> Tensor:
        """Associate one frame's detections; returns (K,) int64 track ids, -1 = not output."""
        cfg = self.cfg
        boxes_np, scores_np, classes_np = detections_to_numpy(boxes, scores, class_ids)
        ids = np.full(len(boxes_np), -1, dtype=np.int64)
        # Forget tracks too old for this frame before matching: frame indices may skip.
        tracks = self.tracks.prune(frame_index, cfg.track_buffer)
        high = np.flatnonzero(scores_np >= cfg.track_high_thresh)
        low = np.flatnonzero((scores_np >= cfg.track_low_thresh) & (scores_np < cfg.track_high_thresh))

        free_tracks = np.arange(len(tracks))
        matched_high = np.zeros(len(high), dtype=bool)
        for dets, threshold, is_first in ((high, cfg.iou_thresh, True), (low, cfg.second_iou_thresh, False)):
            if len(dets) == 0 or len(free_tracks) == 0:
                continue
            iou = self._class_aware_iou(boxes_np[dets], classes_np[dets], tracks, free_tracks)
            det_rows, track_rows = self._match(iou, threshold)
            ids[dets[det_rows]] = tracks.ids[free_tracks[track_rows]]
            if is_first:
                matched_high[det_rows] = True
            free_tracks = np.delete(free_tracks, track_rows)

        new = high[~matched_high & (scores_np[high] >= cfg.new_track_thresh)]
        ids[new] = np.arange(self.next_id, self.next_id + len(new))
        self.next_id += len(new)

        tracked = np.flatnonzero(ids >= 0)
        tracked = tracked[np.argsort(ids[tracked], kind="stable")]  # new ids are appended in ascending order
        observed = TrackMemory(
            ids[tracked],
            boxes_np[tracked],
            boxes.new_zeros((len(tracked), 0), dtype=torch.float32),
            classes_np[tracked],
            np.full(len(tracked), frame_index, dtype=np.int64),
        )
        self.tracks = tracks.update(observed).prune(frame_index, cfg.track_buffer)
        return torch.from_numpy(ids).to(boxes.device)

    def _class_aware_iou(
        self, boxes: BoxArray, class_ids: IntArray, tracks: TrackMemory, rows: IntArray
    ) -> npt.NDArray[np.float32]:
        """(K, len(rows)) IoU with the tracks' ``rows``, zero across classes when ``with_cats``."""
        iou = pairwise_iou(boxes, tracks.boxes[rows])
        if self.cfg.with_cats:
            iou = iou * (class_ids[:, None] == tracks.class_ids[rows][None, :])
        return iou

    def _match(self, iou: npt.NDArray[np.float32], threshold: float) -> tuple[IntArray, IntArray]:
        """Row and column indices of matched pairs, each with IoU >= ``threshold`` (the kit's matching)."""
        if self.cfg.matching == "hungarian":
            rows, cols = matching.assign_full(np.asarray(1.0 - iou, dtype=np.float64))
        else:
            rows, cols = matching.greedy(np.asarray(iou, dtype=np.float64), threshold)
        good = iou[rows, cols] >= threshold
        return rows[good], cols[good]


greedy_max_iou = matching.greedy  # the earlier name
