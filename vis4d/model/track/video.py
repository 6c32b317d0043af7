"""A tracker run over videos, frame by frame: the part every tracking model shares.

The tracker is reset whenever ``meta.video_name`` changes or the frame index
does not increase (the same video played again), and on :meth:`reset`. This
assumes every video's frames arrive consecutively and in temporal order (any
batch size; the video-aware inference sampler guarantees it per process).
Only the detections the tracker outputs are kept, with their track ids, and
with the tracker's boxes where it estimates its own (a motion model's); the
models attach the detector's own detections with :func:`with_detections`.

Trackers that read pixels (camera-motion compensation) or whose appearance
comes from a re-identification network (``model.tracker.reid``) get each
frame's :class:`~vis4d.model.track.context.FrameContext`, made from the
model's input image only for them (:meth:`VideoTracker.contexts`): the
normalised input is turned back into pixels with the data handler's mean and
std (:attr:`VideoTracker.normalization`, which the engine sets from
``test_handler``).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

from vis4d.common.structures import Batch, FrameMeta, FramePrediction
from vis4d.model.track.context import FrameContext, Normalization
from vis4d.model.track.graphs import TrackerGraph
from vis4d.model.track.reid import ReIDEmbedder


class VideoTracker:
    """Feeds one frame's detections to a tracker, resetting it at video boundaries."""

    def __init__(self, graph: TrackerGraph, reid: str | None = None) -> None:
        self.graph = graph
        self.reid_name = reid
        self.normalization = Normalization()
        self._reid: ReIDEmbedder | None = None
        self._video: str | None = None
        self._last_frame_index: int | None = None
        self._ended: dict[str, int] = {}  # video -> the next track id when it ended (see state_after)

    @property
    def needs_context(self) -> bool:
        """Whether the tracker (or its re-identification) needs the frame's pixels."""
        return bool(getattr(self.graph, "needs_image", False)) or self.reid_name is not None

    @property
    def uses_embeddings(self) -> bool:
        """Whether the tracker takes appearance embeddings (it may need them, or use them where given)."""
        return bool(self.graph.needs_embeddings or getattr(self.graph, "uses_embeddings", False))

    def contexts(self, batch: Batch) -> list[FrameContext | None]:
        """One context per image of ``batch`` where the tracker needs pixels, else Nones (nothing computed)."""
        if not self.needs_context:
            return [None] * len(batch)
        pairs = zip(batch.images, batch.meta, strict=True)
        return [FrameContext.from_normalized(image, self.normalization, meta) for image, meta in pairs]

    def appearance(self, detections: FramePrediction, context: FrameContext | None) -> Tensor | None:
        """Embeddings of ``detections`` from the re-identification network (None without ``reid``)."""
        if self.reid_name is None or context is None:
            return None
        reid = self.load_reid().to(detections.boxes.device)
        embeddings: Tensor = reid(context.pixels(), detections.boxes)
        return embeddings

    def load_reid(self, where: str = "model.tracker.reid") -> ReIDEmbedder:
        """The re-identification network, loaded now if not yet.

        Building a model reads no weights file; a file tool loads it before
        its first frame, so a wrong name is one line naming ``where``.
        """
        if self._reid is None:
            if self.reid_name is None:
                raise ValueError("this tracker has no re-identification network (reid)")
            self._reid = ReIDEmbedder.from_name(self.reid_name, where).eval()
        return self._reid

    def reset(self) -> None:
        """Forget all tracker state (e.g. before a new test run)."""
        self.graph.reset()
        self._video = None
        self._last_frame_index = None
        self._ended = {}

    def state_after(self, video: str) -> dict[str, int] | None:
        """What the tracker carries from the end of ``video`` into the next one: the next track id.

        Tracks never outlive their video, but ids keep increasing across
        videos (they stay unique in a dataset). An interrupted prediction run
        continues after its last finished video with this state, so the
        videos after it get the ids an uninterrupted run gives them. None if
        ``video`` is neither the current video nor one that ended since the
        last :meth:`reset`.
        """
        if video == self._video:
            return {"next_id": int(getattr(self.graph, "next_id", 0))}
        if video in self._ended:
            return {"next_id": self._ended[video]}
        return None

    def restore_state(self, state: dict[str, int]) -> None:
        """Continue after a video whose :meth:`state_after` was ``state`` (the next video starts fresh)."""
        self.reset()
        if "next_id" in state and hasattr(self.graph, "next_id"):
            self.graph.next_id = int(state["next_id"])

    def __call__(
        self,
        meta: FrameMeta,
        detections: FramePrediction,
        embeddings: Tensor | None,
        context: FrameContext | None = None,
    ) -> FramePrediction:
        """The tracked detections of one frame, with track ids."""
        restarted = self._last_frame_index is not None and meta.frame_index <= self._last_frame_index
        if meta.video_name != self._video or restarted:
            if self._video is not None:
                self._ended[self._video] = int(getattr(self.graph, "next_id", 0))
            self.graph.reset()
            self._video = meta.video_name
        self._last_frame_index = meta.frame_index
        det = detections
        # The tracker runs in float32 even under mixed precision: its memory blends embeddings over
        # frames and its match scores are compared with thresholds, both too fine for bf16/fp16.
        if embeddings is not None:
            embeddings = embeddings.float()
        if context is None:
            context = FrameContext(frame_index=meta.frame_index, video=meta.video_name, meta=meta)
        with torch.autocast(det.boxes.device.type, enabled=False):
            track_ids = self.graph(det.boxes, det.scores, det.class_ids, embeddings, meta.frame_index, context)
        keep = track_ids >= 0
        tracked = dataclasses.replace(det.select(keep), track_ids=track_ids[keep])
        if self.graph.output_boxes is not None:
            tracked.boxes = self.graph.output_boxes[keep].to(det.boxes.dtype)
        return tracked


def with_detections(tracked: FramePrediction, detections: FramePrediction) -> FramePrediction:
    """``tracked`` carrying the detector's own ``detections`` of the image (what detection AP is computed on).

    The tracker keeps only detections above its score threshold
    (``track_high_thresh``), so AP of its output is capped; tracking papers
    (QDTrack's among them) report the detector's AP on all its detections.
    """
    return dataclasses.replace(tracked, detections=dataclasses.replace(detections, track_ids=None, detections=None))
