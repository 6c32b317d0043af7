"""A tracker graph run over videos, frame by frame: the part every tracking model shares.

The graph is reset whenever ``meta.video_name`` changes or the frame index
does not increase (the same video played again), and on :meth:`reset`. This
assumes every video's frames arrive consecutively and in temporal order (any
batch size; the video-aware inference sampler guarantees it per process).
Only the detections the graph outputs are kept, with their track ids, and
with the graph's boxes where it estimates its own (a motion model's); the
models attach the detector's own detections with :func:`with_detections`.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

from vis4d.common.structures import FrameMeta, FramePrediction
from vis4d.model.track.graphs import TrackerGraph


class VideoTracker:
    """Feeds one frame's detections to a graph, resetting it at video boundaries."""

    def __init__(self, graph: TrackerGraph) -> None:
        self.graph = graph
        self._video: str | None = None
        self._last_frame_index: int | None = None

    def reset(self) -> None:
        """Forget all tracker state (e.g. before a new test run)."""
        self.graph.reset()
        self._video = None
        self._last_frame_index = None

    def __call__(self, meta: FrameMeta, detections: FramePrediction, embeddings: Tensor | None) -> FramePrediction:
        """The tracked detections of one frame, with track ids."""
        restarted = self._last_frame_index is not None and meta.frame_index <= self._last_frame_index
        if meta.video_name != self._video or restarted:
            self.graph.reset()
            self._video = meta.video_name
        self._last_frame_index = meta.frame_index
        det = detections
        # The graph runs in float32 even under mixed precision: its memory blends embeddings over
        # frames and its match scores are compared with thresholds, both too fine for bf16/fp16.
        if embeddings is not None:
            embeddings = embeddings.float()
        with torch.autocast(det.boxes.device.type, enabled=False):
            track_ids = self.graph(det.boxes, det.scores, det.class_ids, embeddings, meta.frame_index)
        keep = track_ids >= 0
        tracked = dataclasses.replace(det.select(keep), track_ids=track_ids[keep])
        if self.graph.output_boxes is not None:
            tracked.boxes = self.graph.output_boxes[keep].to(det.boxes.dtype)
        return tracked


def with_detections(tracked: FramePrediction, detections: FramePrediction) -> FramePrediction:
    """``tracked`` carrying the detector's own ``detections`` of the image (what detection AP is computed on).

    The tracker keeps only detections above its score threshold
    (``obj_score_thr``), so AP of its output is capped; tracking papers
    (QDTrack's among them) report the detector's AP on all its detections.
    """
    return dataclasses.replace(tracked, detections=dataclasses.replace(detections, track_ids=None, detections=None))
