"""What a format parser produces: a dataset's flat columns as parsed, before any check or mapping.

:class:`RawColumns` holds per-frame and per-box arrays in file order with the
dataset's own category names; :func:`vis4d.data.datasets.columns.finalize`
turns them into a store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common import io


class MalformedFile(Exception):
    """A file that cannot be parsed: a :class:`DataError` under ``on_malformed="fail"``, else skipped."""


def read_json(path: Path) -> Any:
    """A label file's JSON; what is wrong with its content is a :class:`MalformedFile` (skippable)."""
    return io.read_json(path, "a JSON label file", MalformedFile)


@dataclasses.dataclass
class RawColumns:
    """A dataset as parsed, before mapping and sorting.

    Frames are in file order; the boxes of frame ``f`` are the contiguous rows
    ``sum(box_counts[:f]) : sum(box_counts[:f + 1])``. ``frame_sources[f]``
    indexes ``sources`` (the file a frame came from, for error messages and
    for skipping whole files). ``label_index[b]`` is the box's position in its
    frame's label list (or line number / annotation index; ``location_kind``
    says which) so errors point at the exact label.
    """

    sources: list[str]
    frame_sources: npt.NDArray[np.int64]
    video_names: npt.NDArray[np.str_]
    frame_names: npt.NDArray[np.str_]
    frame_index: npt.NDArray[np.int64]
    image_paths: npt.NDArray[np.str_]
    widths: npt.NDArray[np.int32]
    heights: npt.NDArray[np.int32]
    box_counts: npt.NDArray[np.int64]
    boxes: npt.NDArray[np.float64]
    category_names: npt.NDArray[np.str_]
    track_ids: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float32]
    crowd: npt.NDArray[np.bool_]
    ignore: npt.NDArray[np.bool_]
    occluded: npt.NDArray[np.bool_]
    truncated: npt.NDArray[np.bool_]
    label_index: npt.NDArray[np.int64]
    location_kind: str = "label"
    image_ids: npt.NDArray[np.int64] | None = None  # the format's own image ids (COCO); None: -1 for every frame
    category_ids: dict[str, int] | None = None  # the format's own category ids by name (COCO)

    def __post_init__(self) -> None:
        if self.image_ids is None:
            self.image_ids = np.full(self.num_frames, -1, dtype=np.int64)

    @property
    def num_frames(self) -> int:
        """Number of frames parsed."""
        return len(self.frame_names)

    def box_frames(self) -> npt.NDArray[np.int64]:
        """Frame row (in file order) of every box."""
        return np.repeat(np.arange(self.num_frames, dtype=np.int64), self.box_counts)

    def describe_box(self, box: int, frame_of_box: npt.NDArray[np.int64] | None = None) -> str:
        """``<file>: frame '<name>' label <i>`` for one box row, for error messages."""
        frames = self.box_frames() if frame_of_box is None else frame_of_box
        frame = int(frames[box])
        source = self.sources[int(self.frame_sources[frame])]
        return f"{source}: frame '{self.frame_names[frame]}' {self.location_kind} {int(self.label_index[box])}"

    def select(self, frame_mask: npt.NDArray[np.bool_], box_mask: npt.NDArray[np.bool_]) -> RawColumns:
        """Keep the frames in ``frame_mask`` and the boxes in ``box_mask`` (boxes of dropped frames go too)."""
        box_mask = box_mask & np.repeat(frame_mask, self.box_counts)
        kept_per_frame = np.bincount(self.box_frames()[box_mask], minlength=self.num_frames).astype(np.int64)
        frame_fields = (
            "frame_sources",
            "video_names",
            "frame_names",
            "frame_index",
            "image_paths",
            "widths",
            "heights",
            "image_ids",
        )
        box_fields = (
            "boxes", "category_names", "track_ids", "scores", "crowd", "ignore", "occluded", "truncated", "label_index"
        )  # fmt: skip
        kwargs: dict[str, object] = {name: getattr(self, name)[frame_mask] for name in frame_fields}
        kwargs.update({name: getattr(self, name)[box_mask] for name in box_fields})
        return RawColumns(
            sources=self.sources,
            box_counts=kept_per_frame[frame_mask],
            location_kind=self.location_kind,
            category_ids=self.category_ids,
            **kwargs,  # type: ignore[arg-type]
        )


def concat_raw(parts: Sequence[RawColumns], sources: list[str]) -> RawColumns:
    """Concatenate per-file columns; each part's ``frame_sources`` already index ``sources``."""
    if not parts:
        return empty_raw(sources)
    not_arrays = ("sources", "location_kind", "category_ids")
    fields = [f.name for f in dataclasses.fields(RawColumns) if f.name not in not_arrays]
    kwargs = {name: np.concatenate([getattr(p, name) for p in parts]) for name in fields}
    kwargs["boxes"] = kwargs["boxes"].reshape(-1, 4)
    category_ids: dict[str, int] = {}
    for part in parts:
        category_ids.update(part.category_ids or {})
    return RawColumns(
        sources=sources, location_kind=parts[0].location_kind, category_ids=category_ids or None, **kwargs
    )


def empty_raw(sources: list[str], location_kind: str = "label") -> RawColumns:
    """Columns without frames (a dataset whose files were all skipped, or empty)."""
    return RawColumns(
        sources=sources,
        frame_sources=np.zeros(0, np.int64),
        video_names=np.zeros(0, np.str_),
        frame_names=np.zeros(0, np.str_),
        frame_index=np.zeros(0, np.int64),
        image_paths=np.zeros(0, np.str_),
        widths=np.zeros(0, np.int32),
        heights=np.zeros(0, np.int32),
        box_counts=np.zeros(0, np.int64),
        boxes=np.zeros((0, 4), np.float64),
        category_names=np.zeros(0, np.str_),
        track_ids=np.zeros(0, np.int64),
        scores=np.zeros(0, np.float32),
        crowd=np.zeros(0, bool),
        ignore=np.zeros(0, bool),
        occluded=np.zeros(0, bool),
        truncated=np.zeros(0, bool),
        label_index=np.zeros(0, np.int64),
        location_kind=location_kind,
    )
