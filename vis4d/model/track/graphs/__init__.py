"""Trackers: stateful per-video association of detections into tracks, all on the tracker kit.

Every tracker is called once per frame, in temporal order, as
``tracker(boxes, scores, class_ids, embeddings, frame_index, context)`` ->
track ids (``-1`` for detections that are not output), and forgets its
tracks on ``reset()`` (a new video), while its ids keep increasing.
``context`` (:class:`~vis4d.model.track.context.FrameContext`) carries the
frame's image for trackers that read pixels (``needs_image``: camera-motion
compensation). ``candidates()`` tells which detections the tracker can use
at all, so that a model spends embedding compute only on those. Trackers
reporting their own box estimates (Kalman filters) leave them in
``output_boxes``.

The motion trackers (:mod:`~vis4d.model.track.graphs.base`) run the kit's
steps; names in configs and on the command line are the keys of
:data:`GRAPH_TYPES`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from torch import Tensor

from vis4d.model.track.context import FrameContext
from vis4d.model.track.graphs.botsort import BoTSORTGraph
from vis4d.model.track.graphs.bytetrack import ByteTrackGraph
from vis4d.model.track.graphs.deepocsort import DeepOCSORTGraph
from vis4d.model.track.graphs.iou import IoUGraph
from vis4d.model.track.graphs.ocsort import OCSORTGraph
from vis4d.model.track.graphs.qdtrack import QDTrackGraph
from vis4d.model.track.graphs.sort import SortGraph


class TrackerGraph(Protocol):
    """What a tracking model needs from a tracker."""

    needs_embeddings: bool  # the tracker cannot work without embeddings
    uses_embeddings: bool  # the tracker uses embeddings where they are given
    needs_image: bool  # the tracker reads the frame's pixels (context.image)
    # Boxes to report for the last call's detections (a motion model's estimate), or None: the detections' own.
    output_boxes: Tensor | None

    def reset(self) -> None:
        """Forget all tracks (new video)."""

    def candidates(self, boxes: Tensor, scores: Tensor, class_ids: Tensor) -> Tensor:
        """(K,) bool: the detections the tracker may output or remember; a model embeds only these.

        Calling the tracker with only the candidates gives the same ids for
        them as calling it with all detections (the others get -1 anyway).
        """
        ...

    def __call__(
        self,
        boxes: Tensor,
        scores: Tensor,
        class_ids: Tensor,
        embeddings: Tensor | None,
        frame_index: int,
        context: FrameContext | None = None,
    ) -> Tensor:
        """Track ids (K,) int64 for one frame's detections, -1 = not output."""
        ...


# Which tracker a config's ``type`` builds.
GRAPH_TYPES: dict[str, Callable[[Any], TrackerGraph]] = {
    "bytetrack": ByteTrackGraph,
    "sort": SortGraph,
    "ocsort": OCSORTGraph,
    "botsort": BoTSORTGraph,
    "deepocsort": DeepOCSORTGraph,
    "qdtrack": QDTrackGraph,
    "iou": IoUGraph,
}


def build_graph(cfg: Any) -> TrackerGraph:
    """Build the tracker that ``cfg.type`` names."""
    try:
        return GRAPH_TYPES[cfg.type](cfg)
    except KeyError:
        raise TypeError(f"unknown tracker type {cfg.type!r}; known: {sorted(GRAPH_TYPES)}") from None


__all__ = [
    "GRAPH_TYPES",
    "BoTSORTGraph",
    "ByteTrackGraph",
    "DeepOCSORTGraph",
    "IoUGraph",
    "OCSORTGraph",
    "QDTrackGraph",
    "SortGraph",
    "TrackerGraph",
    "build_graph",
]
