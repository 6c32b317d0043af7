"""Tracker memory as a handful of aligned arrays (one row per remembered object).

Keeping tracks as arrays rather than a dict of per-track records lets the
association step compare all detections with all memory rows in one matrix
multiply, and lets updates, additions and pruning run as masked array ops.
The same structure holds QDTrack's backdrops (``ids`` = -1).

The bookkeeping (ids, boxes, classes, frames) is numpy on the CPU, the
embeddings a tensor on the model's device: one association step does some
fifty small operations on 100-row arrays, each much cheaper in numpy than as
a torch CPU op (or a kernel launch on a GPU), while the embeddings stay on
the device for the one matrix product with the detections' embeddings.
``docs/profiling.md`` has the measured step time.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
import torch
from torch import Tensor

IntArray = npt.NDArray[np.int64]
BoxArray = npt.NDArray[np.float32]


def detections_to_numpy(boxes: Tensor, scores: Tensor, class_ids: Tensor) -> tuple[BoxArray, BoxArray, IntArray]:
    """One frame's detections as CPU numpy arrays: boxes (K, 4) and scores (K,) float32, class ids (K,) int64."""
    return (
        boxes.detach().to("cpu", torch.float32).numpy(),
        scores.detach().to("cpu", torch.float32).numpy(),
        class_ids.detach().to("cpu", torch.int64).numpy(),
    )


def _rows_on(rows: IntArray, device: torch.device) -> Tensor:
    """Row indices as an index tensor on ``device`` (no copy on the CPU)."""
    return torch.from_numpy(np.ascontiguousarray(rows, dtype=np.int64)).to(device)


@dataclasses.dataclass
class TrackMemory:
    """Remembered objects; row i of every field describes the same object.

    ``ids`` of tracks are kept in ascending order (new tracks always get a
    larger id than every existing one, and pruning preserves order).
    """

    ids: IntArray  # (T,) int64, -1 for backdrops
    boxes: BoxArray  # (T, 4) float32 xyxy
    embeddings: Tensor  # (T, D) on the model's device; D may be 0 for trackers without appearance
    class_ids: IntArray  # (T,) int64
    last_frame: IntArray  # (T,) int64: the frame index the object was last seen in

    @staticmethod
    def empty(
        embedding_dim: int = 0, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
    ) -> TrackMemory:
        """Create a memory without any object."""
        return TrackMemory(
            ids=np.zeros(0, dtype=np.int64),
            boxes=np.zeros((0, 4), dtype=np.float32),
            embeddings=torch.zeros((0, embedding_dim), dtype=dtype, device=device),
            class_ids=np.zeros(0, dtype=np.int64),
            last_frame=np.zeros(0, dtype=np.int64),
        )

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, keep: npt.NDArray[np.bool_] | IntArray) -> TrackMemory:
        """Return the rows selected by a boolean mask or an index array."""
        rows: IntArray = np.flatnonzero(keep) if keep.dtype == np.bool_ else keep.astype(np.int64, copy=False)
        return TrackMemory(
            self.ids[rows],
            self.boxes[rows],
            self.embeddings.index_select(0, _rows_on(rows, self.embeddings.device)),
            self.class_ids[rows],
            self.last_frame[rows],
        )

    def to_device_of(self, reference: Tensor) -> TrackMemory:
        """Return this memory with its embeddings on ``reference``'s device and float dtype."""
        if self.embeddings.device == reference.device and self.embeddings.dtype == reference.dtype:
            return self
        return dataclasses.replace(self, embeddings=self.embeddings.to(reference.device, reference.dtype))

    @staticmethod
    def concat(memories: list[TrackMemory]) -> TrackMemory:
        """Rows of all ``memories``, in order (empty ones may differ in embedding size)."""
        non_empty = [m for m in memories if len(m) > 0]
        if len(non_empty) <= 1:
            return non_empty[0] if non_empty else memories[0]
        return TrackMemory(
            np.concatenate([m.ids for m in non_empty]),
            np.concatenate([m.boxes for m in non_empty]),
            torch.cat([m.embeddings for m in non_empty]),
            np.concatenate([m.class_ids for m in non_empty]),
            np.concatenate([m.last_frame for m in non_empty]),
        )

    def update(self, observed: TrackMemory, momentum: float = 0.0) -> TrackMemory:
        """Record ``observed`` tracks (unique ids >= 0, seen at ``observed.last_frame``).

        Known ids take the new box, class and frame, and their embedding
        becomes ``momentum * old + (1 - momentum) * new``; unknown ids are
        appended (in the given order, so pass new ids ascending). Returns the
        new memory; ``self`` is left unchanged.
        """
        if len(observed) == 0:
            return self
        if len(self) == 0:  # also adopts the observations' embedding size, device and dtype
            return TrackMemory(
                observed.ids.copy(),
                observed.boxes.astype(np.float32),
                observed.embeddings.clone(),
                observed.class_ids.copy(),
                observed.last_frame.copy(),
            )
        observed = observed.to_device_of(self.embeddings)
        # Track ids are kept ascending, so a binary search finds each observed id's row.
        rows = np.minimum(np.searchsorted(self.ids, observed.ids), len(self) - 1)
        seen = self.ids[rows] == observed.ids
        all_seen = bool(seen.all())
        known = observed if all_seen else observed.select(seen)
        rows = rows if all_seen else rows[seen]
        device_rows = _rows_on(rows, self.embeddings.device)
        blended = self.embeddings.index_select(0, device_rows).mul_(momentum)
        blended.add_(known.embeddings, alpha=1.0 - momentum)
        boxes, class_ids, last_frame = self.boxes.copy(), self.class_ids.copy(), self.last_frame.copy()
        boxes[rows], class_ids[rows], last_frame[rows] = known.boxes, known.class_ids, known.last_frame
        updated = TrackMemory(
            self.ids, boxes, self.embeddings.index_put((device_rows,), blended), class_ids, last_frame
        )
        if all_seen:
            return updated
        return TrackMemory.concat([updated, observed.select(~seen)])

    def prune(self, frame_index: int, max_age: int) -> TrackMemory:
        """Drop rows last seen more than ``max_age`` frames before ``frame_index``."""
        keep = frame_index - self.last_frame <= max_age
        return self if bool(keep.all()) else self.select(keep)
