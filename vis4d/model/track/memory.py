"""Tracker memory as a handful of aligned tensors (one row per remembered object).

Keeping tracks as tensors rather than a dict of per-track records lets the
association step compare all detections with all memory rows in one matrix
multiply, and lets updates, additions and pruning run as masked tensor ops.
The same structure holds QDTrack's backdrops (``ids`` = -1).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor


@dataclasses.dataclass
class TrackMemory:
    """Remembered objects; row i of every tensor describes the same object.

    ``ids`` of tracks are kept in ascending order (new tracks always get a
    larger id than every existing one, and pruning preserves order).
    """

    ids: Tensor  # (T,) int64, -1 for backdrops
    boxes: Tensor  # (T, 4) float xyxy
    embeddings: Tensor  # (T, D); D may be 0 for trackers without appearance
    class_ids: Tensor  # (T,) int64
    last_frame: Tensor  # (T,) int64: the frame index the object was last seen in

    @staticmethod
    def empty(
        embedding_dim: int = 0, device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32
    ) -> TrackMemory:
        """Create a memory without any object."""
        return TrackMemory(
            ids=torch.zeros(0, dtype=torch.int64, device=device),
            boxes=torch.zeros((0, 4), dtype=dtype, device=device),
            embeddings=torch.zeros((0, embedding_dim), dtype=dtype, device=device),
            class_ids=torch.zeros(0, dtype=torch.int64, device=device),
            last_frame=torch.zeros(0, dtype=torch.int64, device=device),
        )

    def __len__(self) -> int:
        return int(self.ids.numel())

    def select(self, keep: Tensor) -> TrackMemory:
        """Return the rows selected by a boolean mask or an index tensor."""
        # index_select with row indices is several times faster than boolean indexing on small tensors.
        rows = torch.nonzero(keep).squeeze(1) if keep.dtype == torch.bool else keep
        return TrackMemory(
            self.ids.index_select(0, rows),
            self.boxes.index_select(0, rows),
            self.embeddings.index_select(0, rows),
            self.class_ids.index_select(0, rows),
            self.last_frame.index_select(0, rows),
        )

    def to_device_of(self, reference: Tensor) -> TrackMemory:
        """Return this memory on ``reference``'s device and (for boxes/embeddings) its float dtype."""
        if self.boxes.device == reference.device and self.boxes.dtype == reference.dtype:
            return self
        return TrackMemory(
            self.ids.to(reference.device),
            self.boxes.to(reference.device, reference.dtype),
            self.embeddings.to(reference.device, reference.dtype),
            self.class_ids.to(reference.device),
            self.last_frame.to(reference.device),
        )

    @staticmethod
    def concat(memories: list[TrackMemory]) -> TrackMemory:
        """Rows of all ``memories``, in order (empty ones may differ in embedding size)."""
        non_empty = [m for m in memories if len(m) > 0]
        if len(non_empty) <= 1:
            return non_empty[0] if non_empty else memories[0]
        memories = non_empty
        return TrackMemory(
            torch.cat([m.ids for m in memories]),
            torch.cat([m.boxes for m in memories]),
            torch.cat([m.embeddings for m in memories]),
            torch.cat([m.class_ids for m in memories]),
            torch.cat([m.last_frame for m in memories]),
        )

    def update(
        self,
        ids: Tensor,
        boxes: Tensor,
        embeddings: Tensor,
        class_ids: Tensor,
        frame_index: int,
        momentum: float = 0.0,
    ) -> TrackMemory:
        """Record observations of tracks ``ids`` (unique, >= 0) at ``frame_index``.

        Known ids take the new box, class and frame, and their embedding
        becomes ``momentum * old + (1 - momentum) * new``; unknown ids are
        appended (in the given order, so pass new ids ascending). Returns the
        new memory; ``self`` is left unchanged.
        """
        if ids.numel() == 0:
            return self
        if len(self) == 0:  # also adopts the observations' embedding size, device and dtype
            return TrackMemory(
                ids.clone(),
                boxes.clone(),
                embeddings.clone(),
                class_ids.clone(),
                torch.full((ids.numel(),), frame_index, dtype=torch.int64, device=ids.device),
            )
        memory = self.to_device_of(boxes)
        observed = TrackMemory(ids, boxes, embeddings, class_ids, torch.full_like(ids, frame_index))
        observed = observed.to_device_of(memory.boxes)
        # Track ids are kept ascending, so a binary search finds each observed id's row.
        rows = torch.searchsorted(memory.ids, ids).clamp_(max=len(memory) - 1)
        seen = memory.ids.index_select(0, rows) == ids
        all_seen = bool(seen.all())
        if not all_seen:
            seen_rows = torch.nonzero(seen).squeeze(1)
            rows = rows.index_select(0, seen_rows)
            added = observed.select(torch.nonzero(~seen).squeeze(1))
            observed = observed.select(seen_rows)
        blended = memory.embeddings.index_select(0, rows).mul_(momentum).add_(observed.embeddings, alpha=1.0 - momentum)
        updated = TrackMemory(
            memory.ids,
            memory.boxes.index_put((rows,), observed.boxes),
            memory.embeddings.index_put((rows,), blended),
            memory.class_ids.index_put((rows,), observed.class_ids),
            memory.last_frame.index_fill(0, rows, frame_index),
        )
        if all_seen:
            return updated
        added.embeddings = added.embeddings.to(memory.embeddings.dtype)
        return TrackMemory.concat([updated, added])

    def prune(self, frame_index: int, max_age: int) -> TrackMemory:
        """Drop rows last seen more than ``max_age`` frames before ``frame_index``."""
        keep = frame_index - self.last_frame <= max_age
        return self if bool(keep.all()) else self.select(keep)
