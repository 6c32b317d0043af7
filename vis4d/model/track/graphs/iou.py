"""A motion-only tracker: IoU association with ByteTrack-style two-stage matching.

Per frame:

1. High-score detections (score >= ``high_score_thr``) are matched to all
   remembered tracks by IoU with the tracks' last boxes; a pair is kept only
   if its IoU >= ``match_iou_thr``.
2. Low-score detections (``low_score_thr`` <= score < ``high_score_thr``) are
   matched to the tracks left over by stage 1, keeping pairs with IoU >=
   ``second_match_iou_thr``. This recovers objects whose score dropped (e.g.
   partially occluded) without letting low-score clutter start tracks.
3. Unmatched high-score detections with score >= ``init_score_thr`` start new
   tracks; ids increase monotonically and are never reused.
4. Tracks unseen for more than ``memo_frames`` frames are removed.

Matching is optimal (``"hungarian"``: ``scipy.optimize.linear_sum_assignment``
on 1 - IoU) or greedy (``"greedy"``: pairs taken by decreasing IoU). With
``with_cats`` the IoU between different classes is treated as 0. Embeddings
are accepted for interface compatibility and ignored.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from vis4d.config.schema import IoUGraphConfig
from vis4d.model.boxes import pairwise_iou
from vis4d.model.track.memory import TrackMemory


class IoUGraph:
    """Stateful IoU association for one video at a time."""

    needs_embeddings = False

    def __init__(self, cfg: IoUGraphConfig) -> None:
        self.cfg = cfg
        self.next_id = 0
        self.tracks = TrackMemory.empty()

    def reset(self) -> None:
        """Forget all tracks (new video); ids keep increasing."""
        self.tracks = TrackMemory.empty()

    def candidates(self, boxes: Tensor, scores: Tensor, class_ids: Tensor) -> Tensor:
        """(K,) bool: detections scoring below ``low_score_thr`` take part in neither matching stage."""
        return scores >= self.cfg.low_score_thr

    def __call__(
        self, boxes: Tensor, scores: Tensor, class_ids: Tensor, embeddings: Tensor | None, frame_index: int
    ) -> Tensor:
        """Associate one frame's detections; returns (K,) int64 track ids, -1 = not output."""
        cfg = self.cfg
        device = boxes.device
        ids = torch.full((len(boxes),), -1, dtype=torch.int64, device=device)
        # Forget tracks too old for this frame before matching: frame indices may skip.
        tracks = self.tracks.prune(frame_index, cfg.memo_frames).to_device_of(boxes.float())
        high = torch.nonzero(scores >= cfg.high_score_thr).squeeze(1)
        low = torch.nonzero((scores >= cfg.low_score_thr) & (scores < cfg.high_score_thr)).squeeze(1)

        free_tracks = torch.arange(len(tracks), device=device)
        matched_high = torch.zeros(len(high), dtype=torch.bool, device=device)
        for dets, threshold, is_first in ((high, cfg.match_iou_thr, True), (low, cfg.second_match_iou_thr, False)):
            if len(dets) == 0 or len(free_tracks) == 0:
                continue
            iou = self._class_aware_iou(boxes[dets].float(), class_ids[dets], tracks.select(free_tracks))
            det_rows, track_rows = self._match(iou, threshold)
            det_rows_t = torch.as_tensor(det_rows, dtype=torch.int64, device=device)
            track_rows_t = torch.as_tensor(track_rows, dtype=torch.int64, device=device)
            ids[dets[det_rows_t]] = tracks.ids[free_tracks[track_rows_t]]
            if is_first:
                matched_high[det_rows_t] = True
            keep = torch.ones(len(free_tracks), dtype=torch.bool, device=device)
            keep[track_rows_t] = False
            free_tracks = free_tracks[keep]

        new = high[~matched_high & (scores[high] >= cfg.init_score_thr)]
        ids[new] = torch.arange(self.next_id, self.next_id + len(new), dtype=torch.int64, device=device)
        self.next_id += len(new)

        tracked = torch.nonzero(ids >= 0).squeeze(1)
        tracked = tracked[torch.argsort(ids[tracked])]  # new ids are appended in ascending order
        no_embedding = boxes.new_zeros((len(tracked), 0))
        self.tracks = tracks.update(
            ids[tracked], boxes[tracked].float(), no_embedding, class_ids[tracked], frame_index
        ).prune(frame_index, cfg.memo_frames)
        return ids

    def _class_aware_iou(self, boxes: Tensor, class_ids: Tensor, tracks: TrackMemory) -> Tensor:
        """(K, T) IoU, zero across classes when ``with_cats``."""
        iou = pairwise_iou(boxes, tracks.boxes)
        if self.cfg.with_cats:
            iou = iou * (class_ids[:, None] == tracks.class_ids[None, :]).to(iou.dtype)
        return iou

    def _match(self, iou: Tensor, threshold: float) -> tuple[np.ndarray, np.ndarray]:
        """Row and column indices of matched pairs, each with IoU >= ``threshold``."""
        iou_np = iou.detach().cpu().numpy()
        if self.cfg.matching == "hungarian":
            rows, cols = linear_sum_assignment(1.0 - iou_np)
        else:
            rows, cols = greedy_max_iou(iou_np, threshold)
        good = iou_np[rows, cols] >= threshold
        return rows[good], cols[good]


def greedy_max_iou(iou: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Greedy matching: repeatedly take the highest-IoU pair whose row and column are both free."""
    rows, cols = np.nonzero(iou >= threshold)
    order = np.argsort(-iou[rows, cols], kind="stable")
    row_taken = np.zeros(iou.shape[0], dtype=bool)
    col_taken = np.zeros(iou.shape[1], dtype=bool)
    out_rows: list[int] = []
    out_cols: list[int] = []
    for row, col in zip(rows[order].tolist(), cols[order].tolist(), strict=True):
        if row_taken[row] or col_taken[col]:
            continue
        row_taken[row] = col_taken[col] = True
        out_rows.append(row)
        out_cols.append(col)
    return np.asarray(out_rows, dtype=np.int64), np.asarray(out_cols, dtype=np.int64)
