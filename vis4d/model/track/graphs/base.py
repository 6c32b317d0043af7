"""The tracker kit's motion-tracker base: one frame as a fixed sequence of overridable steps.

In the style of ultralytics' ``BYTETracker``/``BOTSORT``: a tracker is a
:class:`MotionTracker` subclass that declares its track columns and
overrides the steps it does differently; :meth:`MotionTracker.__call__`
runs them for every frame:

1. :meth:`~MotionTracker.compensate_camera`: move the tracks with the camera
   (no-op unless a tracker estimates camera motion from the image);
2. :meth:`~MotionTracker.predict`: every track one frame ahead;
3. :meth:`~MotionTracker.associate`: match detections to tracks, in one or
   more stages, each a :meth:`~MotionTracker.distances` matrix and a
   :meth:`~MotionTracker.match` on it; returns an :class:`Association`;
4. :meth:`~MotionTracker.update`: matched tracks take their detections;
5. :meth:`~MotionTracker.mark_missed`: unmatched tracks age, get lost;
6. :meth:`~MotionTracker.spawn`: unmatched detections may start tracks;
7. :meth:`~MotionTracker.finish`: pick the output and remove dead tracks.

The track state lives in a :class:`~vis4d.model.track.store.TrackStore`
(``self.store``); every step works on all rows at once. Detections arrive
as a :class:`Detections` (float64 numpy, each with its index in the frame's
input), the image and the frame's place in its video as a
:class:`~vis4d.model.track.context.FrameContext`. A tracker returns one id
per input detection (-1: not output) and, where it reports its own motion
estimate instead of the detection's box, those boxes in ``output_boxes``.
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

from vis4d.model.track import matching
from vis4d.model.track.context import FrameContext
from vis4d.model.track.store import Column, TrackStore

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclasses.dataclass
class Detections:
    """One frame's detections as float64 numpy arrays; ``index`` is each one's position in the frame's input."""

    boxes: FloatArray  # (K, 4) xyxy
    scores: FloatArray  # (K,)
    class_ids: IntArray  # (K,)
    embeddings: FloatArray | None  # (K, D)
    index: IntArray  # (K,)

    @staticmethod
    def from_tensors(boxes: Tensor, scores: Tensor, class_ids: Tensor, embeddings: Tensor | None) -> Detections:
        """The detections of a frame, from the tensors a model or a caller passes (any device, any float dtype)."""
        boxes_np = boxes.detach().to("cpu", torch.float64).numpy().reshape(-1, 4)
        scores_np = scores.detach().to("cpu", torch.float64).numpy().reshape(-1)
        classes_np = class_ids.detach().to("cpu", torch.int64).numpy().reshape(-1)
        embeds = None if embeddings is None else embeddings.detach().to("cpu", torch.float64).numpy()
        if embeds is not None and len(embeds) != len(boxes_np):
            raise ValueError(f"{len(embeds)} embeddings for {len(boxes_np)} detections")
        return Detections(boxes_np, scores_np, classes_np, embeds, np.arange(len(boxes_np), dtype=np.int64))

    def __len__(self) -> int:
        return len(self.scores)

    def select(self, rows: npt.NDArray[np.bool_] | IntArray) -> Detections:
        """The detections ``rows`` (a mask or indices) selects, in that order."""
        embeds = None if self.embeddings is None else self.embeddings[rows]
        return Detections(self.boxes[rows], self.scores[rows], self.class_ids[rows], embeds, self.index[rows])


@dataclasses.dataclass
class Association:
    """A frame's matches: detection ``det[i]`` (index into the frame's :class:`Detections`) takes track row ``row[i]``.

    ``unmatched_dets`` lists the other detections a tracker considers for new
    tracks, in the order they start them (ids are handed out in that order).
    """

    det: IntArray
    row: IntArray
    unmatched_dets: IntArray

    @staticmethod
    def concat(parts: list[tuple[IntArray, IntArray]], unmatched_dets: IntArray) -> Association:
        """Matches of several stages (each a (detections, rows) pair), in stage order."""
        dets = [d for d, _ in parts] or [np.zeros(0, dtype=np.int64)]
        rows = [r for _, r in parts] or [np.zeros(0, dtype=np.int64)]
        return Association(np.concatenate(dets).astype(np.int64), np.concatenate(rows).astype(np.int64), unmatched_dets)


class MotionTracker(ABC):
    """Stateful tracking of one video at a time; the steps are methods (see the module docstring)."""

    needs_embeddings = False  # the model must pass embeddings
    uses_embeddings = False  # the tracker uses embeddings where they are passed
    needs_image = False  # the tracker reads the frame's pixels (camera motion, re-identification)

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.next_id = 0
        self.frame_id = 0  # frames since reset(), as the references count them (the first is 1)
        self.output_boxes: Tensor | None = None
        self.store = TrackStore(self.columns())

    @abstractmethod
    def columns(self) -> dict[str, Column]:
        """The track store's columns: name -> shape, dtype, default."""

    def reset(self) -> None:
        """Forget all tracks (a new video); ids keep increasing, so they stay unique across videos."""
        self.store.clear()
        self.frame_id = 0

    def candidates(self, boxes: Tensor, scores: Tensor, class_ids: Tensor) -> Tensor:
        """(K,) bool: the detections the tracker may use at all (a model embeds only these)."""
        low = self.cfg.track_low_thresh
        return scores > low if low is not None else torch.ones_like(scores, dtype=torch.bool)

    def new_ids(self, count: int) -> IntArray:
        """``count`` fresh track ids, ascending."""
        ids = np.arange(self.next_id, self.next_id + count, dtype=np.int64)
        self.next_id += count
        return ids

    def __call__(
        self,
        boxes: Tensor,
        scores: Tensor,
        class_ids: Tensor,
        embeddings: Tensor | None,
        frame_index: int,
        context: FrameContext | None = None,
    ) -> Tensor:
        """Track one frame; (K,) int64 track ids aligned with the inputs, -1 = not output, on the inputs' device."""
        if self.needs_embeddings and embeddings is None:
            raise ValueError(f"the {type(self).__name__} tracker needs appearance embeddings")
        dets = Detections.from_tensors(boxes, scores, class_ids, embeddings if self.uses_embeddings else None)
        self.frame_id += 1
        context = context if context is not None else FrameContext(frame_index=frame_index)
        ids, out_boxes = self.step(dets, context)
        self.output_boxes = None if out_boxes is None else torch.from_numpy(out_boxes).to(boxes.device, boxes.dtype)
        return torch.from_numpy(ids).to(boxes.device)

    def step(self, dets: Detections, context: FrameContext) -> tuple[IntArray, FloatArray | None]:
        """One frame through the steps: ids per detection and, for trackers reporting their own, boxes."""
        self.compensate_camera(dets, context)
        self.predict()
        association = self.associate(dets)
        self.update(association.row, dets.select(association.det))
        missed = np.ones(len(self.store), dtype=bool)
        missed[association.row] = False
        self.mark_missed(np.flatnonzero(missed))
        self.spawn(dets.select(association.unmatched_dets))
        return self.finish(dets)

    def compensate_camera(self, dets: Detections, context: FrameContext) -> None:
        """Move the tracks with the camera; no-op by default."""
        return

    @abstractmethod
    def predict(self) -> None:
        """Every track one frame ahead."""

    @abstractmethod
    def associate(self, dets: Detections) -> Association:
        """Match detections to tracks."""

    def distances(self, rows: IntArray, dets: Detections) -> FloatArray:
        """(len(rows), len(dets)) cost of each track row with each detection; ``1 - IoU`` by default."""
        return 1.0 - matching.iou(self.track_boxes(rows), dets.boxes)

    def match(self, cost: FloatArray, threshold: float) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """Thresholded optimal assignment on ``cost`` (:func:`vis4d.model.track.matching.assign`)."""
        return matching.assign(cost, threshold)

    @abstractmethod
    def track_boxes(self, rows: IntArray) -> FloatArray:
        """(len(rows), 4) xyxy boxes of the tracks in ``rows`` (their current estimate)."""

    @abstractmethod
    def update(self, rows: IntArray, dets: Detections) -> None:
        """Track ``rows[i]`` takes detection ``dets[i]``."""

    @abstractmethod
    def mark_missed(self, rows: IntArray) -> None:
        """The tracks in ``rows`` took no detection this frame."""

    @abstractmethod
    def spawn(self, dets: Detections) -> None:
        """Start tracks from (some of) ``dets``, in their order."""

    @abstractmethod
    def finish(self, dets: Detections) -> tuple[IntArray, FloatArray | None]:
        """Remove dead tracks; ids per detection of the frame (-1: not output) and reported boxes, if any."""
