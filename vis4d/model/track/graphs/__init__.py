"""Tracker graphs: stateful per-video association of detections into tracks.

Every graph is called once per frame, in temporal order, as
``graph(boxes, scores, class_ids, embeddings, frame_index) -> track_ids``
(``-1`` for detections that are not output) and forgets its tracks on
``reset()`` (a new video), while its ids keep increasing. ``candidates()``
tells which detections the graph can use at all, so that the model spends
embedding compute only on those.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from torch import Tensor

from vis4d.config.schema import ByteTrackConfig, IoUGraphConfig, QDTrackGraphConfig
from vis4d.model.track.graphs.bytetrack import ByteTrackGraph
from vis4d.model.track.graphs.iou import IoUGraph
from vis4d.model.track.graphs.qdtrack import QDTrackGraph


class TrackerGraph(Protocol):
    """What the tracking model needs from a graph."""

    needs_embeddings: bool
    # Boxes to report for the last call's detections (a motion model's estimate), or None: the detections' own.
    output_boxes: Tensor | None

    def reset(self) -> None:
        """Forget all tracks (new video)."""

    def candidates(self, boxes: Tensor, scores: Tensor, class_ids: Tensor) -> Tensor:
        """(K,) bool: the detections the graph may output or remember; the model embeds only these.

        Calling the graph with only the candidates gives the same ids for
        them as calling it with all detections (the others get -1 anyway).
        """
        ...

    def __call__(
        self, boxes: Tensor, scores: Tensor, class_ids: Tensor, embeddings: Tensor | None, frame_index: int
    ) -> Tensor:
        """Track ids (K,) int64 for one frame's detections, -1 = not output."""
        ...


# Which graph a tracker config's ``type`` builds.
GRAPH_TYPES: dict[str, Callable[[Any], TrackerGraph]] = {
    "qdtrack": QDTrackGraph,
    "iou": IoUGraph,
    "bytetrack": ByteTrackGraph,
}


def build_graph(cfg: QDTrackGraphConfig | IoUGraphConfig | ByteTrackConfig) -> TrackerGraph:
    """Build the graph that ``cfg.type`` names."""
    try:
        return GRAPH_TYPES[cfg.type](cfg)
    except KeyError:
        raise TypeError(f"unknown tracker graph type {cfg.type!r}; known: {sorted(GRAPH_TYPES)}") from None


__all__ = ["GRAPH_TYPES", "ByteTrackGraph", "IoUGraph", "QDTrackGraph", "TrackerGraph", "build_graph"]
