"""The QDTrack tracker graph: appearance association with bi-directional softmax.

Per frame (Pang et al., CVPR 2021; the defaults are the paper's BDD100K and MOT17 settings):

1. Detections are sorted by score (descending).
2. Duplicate removal: a detection with score >= ``track_high_thresh`` is dropped
   when its IoU with a higher-scored detection *of the same class* (any class
   when ``with_cats`` is off) exceeds ``nms_class_iou_thresh``; a low-score
   detection (< ``track_high_thresh``, a backdrop candidate) is dropped when its
   IoU with *any* higher-scored detection exceeds ``nms_backdrop_iou_thresh``.
3. Association: the memory is the tracks plus the backdrops (recent
   low-score detections that absorb probability mass but never carry an
   id). Scores = (softmax over memory + softmax over detections) / 2 of the
   detection x memory embedding dot products ("bisoftmax"; "softmax" uses the
   first term only, "cosine" the cosine similarity), zeroed across classes
   when ``with_cats``.
4. Greedy assignment in score order: each detection takes its best memory
   row if the score exceeds ``match_score_thresh`` and that row is a track. A
   detection scoring above ``track_high_thresh`` takes the track's id and the
   track's column is zeroed for all other detections; a lower-scored one that
   matches a track with score above ``nms_conf_thresh`` is a duplicate of that
   track and discarded (neither output nor backdrop).
5. Unmatched detections scoring above ``new_track_thresh`` start new tracks
   (ids increase monotonically and are never reused, also across
   :meth:`QDTrackGraph.reset`). The remaining unmatched ones become
   backdrops after NMS at ``nms_backdrop_iou_thresh`` against higher-scored
   detections, kept for ``backdrop_buffer`` frames.
6. Matched tracks take the new box, class and frame; their embedding becomes
   ``embedding_momentum * old + (1 - embedding_momentum) * new`` (the update as the
   method is published; note that the original QDTrack code weights the
   *new* embedding by ``embedding_momentum``). Tracks unseen for more than ``track_buffer``
   frames (``frame_index - last_frame > track_buffer``) are removed.

Step 4 is inherently sequential (a detection's choice depends on the earlier
ones) but runs on one small numpy matrix. The bookkeeping around it (boxes,
scores, classes, ids) is numpy too (see ``vis4d.model.track.memory`` for
why); only the embeddings and their similarity product stay tensors on the
model's device.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import Tensor

from vis4d.config.schema import QDTrackGraphConfig
from vis4d.model.boxes import pairwise_iou
from vis4d.model.track.context import FrameContext
from vis4d.model.track.memory import BoxArray, IntArray, TrackMemory, detections_to_numpy

DUPLICATE = -2  # internal id of low-score detections that duplicate a matched track


class QDTrackGraph:
    """Stateful QDTrack association for one video at a time."""

    needs_embeddings = True
    uses_embeddings = True
    needs_image = False
    output_boxes: Tensor | None = None

    def __init__(self, cfg: QDTrackGraphConfig) -> None:
        self.cfg = cfg
        self.next_id = 0
        self.tracks = TrackMemory.empty()
        self.backdrops = TrackMemory.empty()

    def reset(self) -> None:
        """Forget all tracks and backdrops (new video); ids keep increasing."""
        self.tracks = TrackMemory.empty()
        self.backdrops = TrackMemory.empty()

    @property
    def empty(self) -> bool:
        """Whether nothing (no track, no backdrop) is remembered."""
        return len(self.tracks) == 0 and len(self.backdrops) == 0

    def candidates(self, boxes: Tensor, scores: Tensor, class_ids: Tensor) -> Tensor:
        """(K,) bool, aligned with the inputs: the detections that survive duplicate removal (step 2).

        Only these can be output or remembered, so only these need an
        embedding. The graph called with the candidates alone gives them the
        same ids: a kept detection overlaps no higher-scored detection at all,
        so it overlaps none of the kept ones either, and everything after
        step 2 only sees the kept detections.
        """
        order, _, duplicate = self._sort_and_find_duplicates(*detections_to_numpy(boxes, scores, class_ids))
        keep = np.empty(len(order), dtype=bool)
        keep[order] = ~duplicate
        return torch.from_numpy(keep).to(boxes.device)

    def __call__(
        self,
        boxes: Tensor,
        scores: Tensor,
        class_ids: Tensor,
        embeddings: Tensor | None,
        frame_index: int,
        context: FrameContext | None = None,
    ) -> Tensor:
        """Associate one frame's detections; returns (K,) int64 track ids, -1 = not output.

        ``boxes`` (K, 4) xyxy, ``scores`` (K,), ``class_ids`` (K,), ``embeddings``
        (K, D), in any order; the result is aligned with the inputs and on
        their device.
        """
        if embeddings is None:
            raise ValueError("QDTrackGraph needs embeddings; use the IoU graph for motion-only tracking")
        cfg = self.cfg
        boxes_np, scores_np, classes_np = detections_to_numpy(boxes, scores, class_ids)
        order, iou_with_higher, duplicate = self._sort_and_find_duplicates(boxes_np, scores_np, classes_np)
        if duplicate.any():
            kept = ~duplicate
            order, iou_with_higher = order[kept], iou_with_higher[np.ix_(kept, kept)]
        detections = TrackMemory(
            ids=np.full(len(order), -1, dtype=np.int64),
            boxes=boxes_np[order],
            embeddings=embeddings.index_select(0, torch.from_numpy(order).to(embeddings.device)),
            class_ids=classes_np[order],
            last_frame=np.full(len(order), frame_index, dtype=np.int64),
        )
        scores_np = scores_np[order]

        # Forget what is too old for this frame first: frame indices may skip.
        self.tracks = self.tracks.prune(frame_index, cfg.track_buffer)
        self.backdrops = self.backdrops.prune(frame_index, cfg.backdrop_buffer)
        if len(detections) > 0 and not self.empty:
            memory = TrackMemory.concat(
                [self.tracks.to_device_of(detections.embeddings), self.backdrops.to_device_of(detections.embeddings)]
            )
            match_scores = self._match_scores(detections, memory)
            detections.ids = self._greedy_assign(match_scores, memory.ids, scores_np)

        new = np.flatnonzero((detections.ids == -1) & (scores_np > cfg.new_track_thresh))
        detections.ids[new] = np.arange(self.next_id, self.next_id + len(new))
        self.next_id += len(new)

        self._update_memory(detections, iou_with_higher, frame_index)
        output = np.full(len(boxes_np), -1, dtype=np.int64)
        output[order] = np.maximum(detections.ids, -1)
        return torch.from_numpy(output).to(boxes.device)

    # ------------------------------------------------------------------ steps
    def _sort_and_find_duplicates(
        self, boxes: BoxArray, scores: BoxArray, class_ids: IntArray
    ) -> tuple[IntArray, npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
        """Steps 1-2: the score order, IoUs with higher-scored detections, and the duplicates.

        Returns the order (K,), the IoU of each sorted detection with every
        higher-scored one (K, K; row i, columns j < i; shared with the backdrop
        NMS) and the duplicates (K,) bool, in that order.
        """
        order = np.argsort(-scores, kind="stable")
        sorted_boxes = boxes[order]
        iou_with_higher = np.tril(pairwise_iou(sorted_boxes, sorted_boxes), k=-1)
        return order, iou_with_higher, self._duplicates(iou_with_higher, scores[order], class_ids[order])

    def _duplicates(
        self, iou_with_higher: npt.NDArray[np.float32], scores: BoxArray, class_ids: IntArray
    ) -> npt.NDArray[np.bool_]:
        """(K,) bool: detections (sorted by score) removed as duplicates of a higher-scored one."""
        cfg = self.cfg
        low = scores < cfg.track_high_thresh
        threshold = np.where(low, cfg.nms_backdrop_iou_thresh, cfg.nms_class_iou_thresh)
        overlapping = iou_with_higher > threshold[:, None]
        if cfg.with_cats and not cfg.nms_across_classes:
            overlapping &= (class_ids[:, None] == class_ids[None, :]) | low[:, None]
        return np.asarray(overlapping.any(axis=1), dtype=bool)

    def _match_scores(self, detections: TrackMemory, memory: TrackMemory) -> npt.NDArray[np.float32]:
        """(K, M) association scores between detections and memory rows (numpy, on the CPU)."""
        metric = self.cfg.match_metric
        embeddings = detections.embeddings
        if metric == "cosine":
            scores = F.normalize(embeddings, dim=1) @ F.normalize(memory.embeddings, dim=1).t()
        else:
            similarity = embeddings @ memory.embeddings.t()
            scores = similarity.softmax(dim=1)
            if metric == "bisoftmax":
                scores = scores.add_(similarity.softmax(dim=0)).mul_(0.5)
        scores_np: npt.NDArray[np.float32] = scores.detach().float().cpu().numpy()
        if self.cfg.with_cats:
            scores_np = scores_np * (detections.class_ids[:, None] == memory.class_ids[None, :])
        return scores_np

    def _greedy_assign(self, scores: npt.NDArray[np.float32], memory_ids: IntArray, det_scores: BoxArray) -> IntArray:
        """Greedy assignment in detection-score order (step 4 of the module docstring).

        Equivalent to zeroing a claimed track's column for all other
        detections, but a row is only rescored when its favourite column was
        claimed (or its best score is negative, where a zeroed column would
        win), which keeps the sequential loop down to a few scalar operations
        per detection.
        """
        cfg = self.cfg
        best_cols = scores.argmax(axis=1)
        best_confs = scores[np.arange(len(scores)), best_cols].tolist()
        best_cols_list = best_cols.tolist()
        memo_ids = memory_ids.tolist()
        confident = (det_scores > cfg.track_high_thresh).tolist()
        taken = np.zeros(scores.shape[1], dtype=bool)
        any_taken = False
        ids = [-1] * len(scores)
        for row, (col, conf) in enumerate(zip(best_cols_list, best_confs, strict=True)):
            if any_taken and (taken[col] or conf < 0):
                masked = np.where(taken, 0.0, scores[row])
                col = int(masked.argmax())
                conf = float(masked[col])
            track_id = memo_ids[col]
            if conf <= cfg.match_score_thresh or track_id < 0:
                continue
            if confident[row]:
                ids[row] = track_id
                taken[col] = any_taken = True
            elif conf > cfg.nms_conf_thresh:
                ids[row] = DUPLICATE
        return np.asarray(ids, dtype=np.int64)

    def _update_memory(
        self, detections: TrackMemory, iou_with_higher: npt.NDArray[np.float32], frame_index: int
    ) -> None:
        """Update tracks with this frame's ids and add this frame's backdrops."""
        cfg = self.cfg
        self.tracks = self.tracks.update(detections.select(detections.ids >= 0), cfg.embedding_momentum)
        candidates = np.flatnonzero(detections.ids == -1)
        if len(candidates) > 0:
            suppressed = (iou_with_higher[candidates] > cfg.nms_backdrop_iou_thresh).any(axis=1)
            candidates = candidates[~suppressed]
        fresh = detections.select(candidates)  # their ids are -1: backdrops carry no id
        if len(self.backdrops) == 0:
            self.backdrops = fresh
            return
        backdrops = TrackMemory.concat([fresh, self.backdrops.to_device_of(detections.embeddings)])
        self.backdrops = backdrops.select(frame_index - backdrops.last_frame < cfg.backdrop_buffer)
