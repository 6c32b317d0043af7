"""The columnar annotation store: every dataset format loads into this.

One :class:`AnnotationStore` holds the labels (or predictions) of a whole
dataset as a handful of numpy arrays instead of millions of Python objects:

* per video ``v``: ``video_names[v]``; its frames are the contiguous range
  ``video_offsets[v]:video_offsets[v + 1]``, sorted by frame index. An image
  dataset (COCO) is a set of one-frame videos.
* per frame ``f``: ``frame_names[f]`` (Scalabel ``name``), ``image_paths[f]``,
  ``frame_index[f]``, ``widths[f]``, ``heights[f]``, ``image_ids[f]`` (the
  dataset's own image id, COCO's ``id``; -1 if it has none); its boxes are
  the contiguous range ``box_offsets[f]:box_offsets[f + 1]``.
* per category ``c``: ``categories[c]`` and ``category_ids[c]`` (the
  dataset's own id of a category of the same name, COCO's ``id``; -1 if none),
  so prediction files can use the ids the dataset's tools expect.
* per box ``b``: ``boxes[b]`` (xyxy, pixels, float32), ``class_ids[b]``
  (index into ``categories``), ``track_ids[b]`` (int64, unique per video,
  -1 if none), ``scores[b]`` (1 for ground truth), and boolean flags
  ``crowd``, ``ignore`` (crowd regions and ignored-class boxes: neither
  positives nor false positives), ``occluded``, ``truncated``.

Strings are fixed-width numpy unicode arrays, so data-loader workers that read
the store never touch Python reference counts and memory is not copied on read.
Prediction files load into the same structure (with real ``scores``), which is
what the evaluators and writers take.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common.structures import FrameOutput

BOX_FIELDS = ("boxes", "class_ids", "track_ids", "scores", "crowd", "ignore", "occluded", "truncated")
FRAME_FIELDS = ("frame_names", "image_paths", "frame_index", "widths", "heights", "image_ids")
STORE_FORMAT_VERSION = 2


@dataclasses.dataclass
class AnnotationStore:
    """Columnar labels of a dataset; see the module docstring for the layout."""

    categories: tuple[str, ...]
    video_names: npt.NDArray[np.str_]
    video_offsets: npt.NDArray[np.int64]
    frame_names: npt.NDArray[np.str_]
    image_paths: npt.NDArray[np.str_]
    frame_index: npt.NDArray[np.int64]
    widths: npt.NDArray[np.int32]
    heights: npt.NDArray[np.int32]
    box_offsets: npt.NDArray[np.int64]
    boxes: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int64]
    track_ids: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float32]
    crowd: npt.NDArray[np.bool_]
    ignore: npt.NDArray[np.bool_]
    occluded: npt.NDArray[np.bool_]
    truncated: npt.NDArray[np.bool_]
    image_ids: npt.NDArray[np.int64] = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))
    category_ids: npt.NDArray[np.int64] = dataclasses.field(default_factory=lambda: np.zeros(0, np.int64))

    def __post_init__(self) -> None:
        # Formats without their own ids leave these out: -1 for every frame / category.
        if len(self.image_ids) == 0 and len(self.frame_names) > 0:
            self.image_ids = np.full(len(self.frame_names), -1, dtype=np.int64)
        if len(self.category_ids) == 0 and len(self.categories) > 0:
            self.category_ids = np.full(len(self.categories), -1, dtype=np.int64)

    # ------------------------------------------------------------------ sizes
    @property
    def num_videos(self) -> int:
        """Number of videos (an image dataset has one per image)."""
        return len(self.video_names)

    @property
    def num_frames(self) -> int:
        """Number of frames over all videos."""
        return len(self.frame_names)

    @property
    def num_boxes(self) -> int:
        """Number of boxes over all frames (including ignored ones)."""
        return len(self.boxes)

    # ---------------------------------------------------------------- lookups
    def box_slice(self, frame: int) -> slice:
        """The range of box rows that belong to ``frame``."""
        return slice(int(self.box_offsets[frame]), int(self.box_offsets[frame + 1]))

    def frame_range(self, video: int) -> range:
        """Frame rows of ``video``, in temporal order."""
        return range(int(self.video_offsets[video]), int(self.video_offsets[video + 1]))

    def frame_video_ids(self) -> npt.NDArray[np.int64]:
        """Video row of every frame, shape (F,)."""
        return np.repeat(np.arange(self.num_videos, dtype=np.int64), np.diff(self.video_offsets))

    def box_frame_ids(self) -> npt.NDArray[np.int64]:
        """Frame row of every box, shape (N,)."""
        return np.repeat(np.arange(self.num_frames, dtype=np.int64), np.diff(self.box_offsets))

    def frame_boxes(self, frame: int) -> dict[str, np.ndarray]:
        """All per-box columns of one frame (views, not copies)."""
        sl = self.box_slice(frame)
        return {name: getattr(self, name)[sl] for name in BOX_FIELDS}

    def with_predictions(self, outputs: Sequence[FrameOutput]) -> AnnotationStore:
        """A store with these videos and frames holding the boxes of ``outputs`` (inference results) instead.

        Each output is placed at its ``meta.frame_row``; frames without an
        output have no boxes. Used to evaluate a model's predictions against
        the store they were inferred on.
        """
        rows = np.array([o.meta.frame_row for o in outputs], dtype=np.int64)
        counts = np.zeros(self.num_frames, dtype=np.int64)
        if len(rows):
            counts[rows] = [len(o.boxes) for o in outputs]
        ordered = [outputs[i] for i in np.argsort(rows, kind="stable")]
        columns: dict[str, Any] = empty_box_columns(int(counts.sum()))
        if ordered:
            columns["boxes"] = np.concatenate([np.asarray(o.boxes, np.float32).reshape(-1, 4) for o in ordered])
            columns["scores"] = np.concatenate([np.asarray(o.scores, np.float32).reshape(-1) for o in ordered])
            columns["class_ids"] = np.concatenate([np.asarray(o.class_ids, np.int64).reshape(-1) for o in ordered])
            columns["track_ids"] = np.concatenate(
                [np.full(len(o.boxes), -1) if o.track_ids is None else o.track_ids for o in ordered]
            ).astype(np.int64)
        offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        return dataclasses.replace(self, box_offsets=offsets, **columns)

    # ------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> None:
        """Write the store to an uncompressed ``.npz`` (fast to load)."""
        arrays: dict[str, Any] = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        arrays["categories"] = np.asarray(self.categories, dtype=np.str_)
        arrays["format_version"] = np.asarray(STORE_FORMAT_VERSION)
        with open(path, "wb") as handle:
            np.savez(handle, **arrays)

    @classmethod
    def load(cls, path: str | Path) -> AnnotationStore:
        """Read a store written by :meth:`save`; raises on a foreign or corrupt file."""
        with np.load(path, allow_pickle=False) as data:
            if int(data["format_version"]) != STORE_FORMAT_VERSION:
                raise ValueError(f"{path}: store format {int(data['format_version'])}, expected {STORE_FORMAT_VERSION}")
            kwargs = {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name != "categories"}
            categories = tuple(str(c) for c in data["categories"])
        store = cls(categories=categories, **kwargs)
        store.validate()
        return store

    # ------------------------------------------------------------- invariants
    def validate(self) -> None:
        """Check shapes and offsets; raises ``ValueError`` naming the broken field."""
        f, n, v = self.num_frames, self.num_boxes, self.num_videos
        if self.video_offsets.shape != (v + 1,) or self.video_offsets[0] != 0 or self.video_offsets[-1] != f:
            raise ValueError("video_offsets must have V+1 entries from 0 to the number of frames")
        if self.box_offsets.shape != (f + 1,) or self.box_offsets[0] != 0 or self.box_offsets[-1] != n:
            raise ValueError("box_offsets must have F+1 entries from 0 to the number of boxes")
        if np.any(np.diff(self.video_offsets) < 0) or np.any(np.diff(self.box_offsets) < 0):
            raise ValueError("offsets must be non-decreasing")
        for name in FRAME_FIELDS:
            if len(getattr(self, name)) != f:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, expected {f} frames")
        if self.boxes.shape != (n, 4):
            raise ValueError(f"boxes has shape {self.boxes.shape}, expected ({n}, 4)")
        for name in BOX_FIELDS[1:]:
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} has {len(getattr(self, name))} rows, expected {n} boxes")
        if self.category_ids.shape != (len(self.categories),):
            raise ValueError(f"category_ids has shape {self.category_ids.shape}, expected ({len(self.categories)},)")
        if n and (self.class_ids.min() < 0 or self.class_ids.max() >= len(self.categories)):
            raise ValueError("class_ids must index into categories")


def empty_box_columns(n: int = 0) -> dict[str, np.ndarray]:
    """Per-box columns of length ``n`` with their canonical dtypes and defaults."""
    return {
        "boxes": np.zeros((n, 4), dtype=np.float32),
        "class_ids": np.zeros(n, dtype=np.int64),
        "track_ids": np.full(n, -1, dtype=np.int64),
        "scores": np.ones(n, dtype=np.float32),
        "crowd": np.zeros(n, dtype=bool),
        "ignore": np.zeros(n, dtype=bool),
        "occluded": np.zeros(n, dtype=bool),
        "truncated": np.zeros(n, dtype=bool),
    }


@dataclasses.dataclass
class FrameRecord:
    """What a loader knows about one frame before it is packed into a store.

    ``boxes`` holds the per-box columns (see :func:`empty_box_columns`), each a
    numpy array of the same length.
    """

    name: str
    video_name: str
    frame_index: int
    image_path: str
    width: int = 0
    height: int = 0
    boxes: dict[str, np.ndarray] = dataclasses.field(default_factory=empty_box_columns)
    image_id: int = -1


def build_store(categories: Sequence[str], frames: Sequence[FrameRecord]) -> AnnotationStore:
    """Pack frame records into a store: videos in first-seen order, frames sorted by index.

    The only Python loop is over frames (once, at load time); boxes are
    concatenated as arrays.
    """
    video_order: dict[str, int] = {}
    for frame in frames:
        video_order.setdefault(frame.video_name, len(video_order))
    keys = np.array([(video_order[fr.video_name], fr.frame_index) for fr in frames], dtype=np.int64).reshape(-1, 2)
    order = np.lexsort((keys[:, 1], keys[:, 0])) if len(frames) else np.zeros(0, dtype=np.int64)
    sorted_frames = [frames[i] for i in order]
    counts_per_video = np.bincount(keys[order, 0], minlength=len(video_order)) if len(frames) else np.zeros(0, np.int64)
    video_offsets = np.concatenate([[0], np.cumsum(counts_per_video)]).astype(np.int64)
    box_counts = np.array([len(fr.boxes["boxes"]) for fr in sorted_frames], dtype=np.int64)
    box_offsets = np.concatenate([[0], np.cumsum(box_counts)]).astype(np.int64)
    columns = empty_box_columns(0)
    if sorted_frames:
        columns = {
            name: np.concatenate([np.asarray(fr.boxes[name], dtype=columns[name].dtype) for fr in sorted_frames])
            for name in BOX_FIELDS
        }
        columns["boxes"] = columns["boxes"].reshape(-1, 4)
    store = AnnotationStore(
        categories=tuple(categories),
        video_names=np.array(list(video_order), dtype=np.str_),
        video_offsets=video_offsets,
        frame_names=np.array([fr.name for fr in sorted_frames], dtype=np.str_),
        image_paths=np.array([fr.image_path for fr in sorted_frames], dtype=np.str_),
        frame_index=np.array([fr.frame_index for fr in sorted_frames], dtype=np.int64),
        widths=np.array([fr.width for fr in sorted_frames], dtype=np.int32),
        heights=np.array([fr.height for fr in sorted_frames], dtype=np.int32),
        image_ids=np.array([fr.image_id for fr in sorted_frames], dtype=np.int64),
        box_offsets=box_offsets,
        **columns,
    )
    store.validate()
    return store


def select_videos(store: AnnotationStore, names: Sequence[str]) -> AnnotationStore:
    """The videos of ``store`` named in ``names``, in the store's order (all of them: the store itself)."""
    keep_video = np.isin(store.video_names, np.asarray(list(names), dtype=np.str_))
    if keep_video.all():
        return store
    keep_frame = keep_video[store.frame_video_ids()]
    keep_box = keep_frame[store.box_frame_ids()]
    columns: dict[str, Any] = {name: getattr(store, name)[keep_frame] for name in FRAME_FIELDS}
    columns.update({name: getattr(store, name)[keep_box] for name in BOX_FIELDS})
    frames_per_video = np.diff(store.video_offsets)[keep_video]
    boxes_per_frame = np.diff(store.box_offsets)[keep_frame]
    return dataclasses.replace(
        store,
        video_names=store.video_names[keep_video],
        video_offsets=np.concatenate([[0], np.cumsum(frames_per_video)]).astype(np.int64),
        box_offsets=np.concatenate([[0], np.cumsum(boxes_per_frame)]).astype(np.int64),
        **columns,
    )


def concat_stores(stores: Sequence[AnnotationStore]) -> AnnotationStore:
    """Concatenate stores with the same categories (videos of the first come first)."""
    if not stores:
        raise ValueError("concat_stores needs at least one store")
    cats = stores[0].categories
    for s in stores[1:]:
        if s.categories != cats:
            raise ValueError("cannot concatenate stores with different categories")
    frame_shift = np.cumsum([0] + [s.num_frames for s in stores[:-1]])
    box_shift = np.cumsum([0] + [s.num_boxes for s in stores[:-1]])
    video_offsets = np.concatenate([[0]] + [s.video_offsets[1:] + fs for s, fs in zip(stores, frame_shift)])
    box_offsets = np.concatenate([[0]] + [s.box_offsets[1:] + bs for s, bs in zip(stores, box_shift)])
    kwargs: dict[str, Any] = {
        name: np.concatenate([getattr(s, name) for s in stores]) for name in ("video_names", *FRAME_FIELDS, *BOX_FIELDS)
    }
    kwargs["boxes"] = kwargs["boxes"].reshape(-1, 4)
    same_ids = all(np.array_equal(s.category_ids, stores[0].category_ids) for s in stores[1:])
    kwargs["category_ids"] = stores[0].category_ids if same_ids else np.full(len(cats), -1, dtype=np.int64)
    return AnnotationStore(
        categories=cats,
        video_offsets=video_offsets.astype(np.int64),
        box_offsets=box_offsets.astype(np.int64),
        **kwargs,
    )
