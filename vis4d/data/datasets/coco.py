"""COCO instances JSON (labels) and COCO results JSON (predictions) -> store.

Every image is a one-frame video named after its ``file_name`` (the same as
Scalabel frames without ``videoName``), so predictions written in either
format match the ground truth by name. ``bbox`` is ``[x, y, w, h]`` and becomes
xyxy; ``iscrowd`` (and a non-zero ``ignore``, used by some COCO-style
datasets) marks a box ``crowd``/``ignore``. Category names come from the
file's ``categories`` and go through the usual mapping.

A results file is a plain list of ``{image_id, category_id, bbox, score}``;
the instances file it was made for supplies the images and category names.
Images without results are frames without boxes.

Video files in COCO's layout (TAO, COCO-VID: a ``videos`` list, images with
``video_id`` and ``frame_index``, boxes with ``track_id``) become videos with
track ids; a category listing ``merged`` categories takes their boxes (TAO).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common.errors import DataError, MissingScoreError
from vis4d.data.datasets.columns import finalize
from vis4d.data.datasets.raw import MalformedFile, RawColumns, empty_raw, read_json
from vis4d.data.mapping import DEFAULT_LOAD_OPTIONS, CategoryMapper, LoadOptions
from vis4d.data.notes import warn
from vis4d.data.store import AnnotationStore


def _lookup(sorted_keys: npt.NDArray[np.int64], order: npt.NDArray[np.int64], query: npt.NDArray[np.int64]) -> Any:
    """Row of every ``query`` id among the keys (``-1`` where absent); keys pre-sorted via ``order``."""
    if len(sorted_keys) == 0:
        return np.full(len(query), -1, dtype=np.int64)
    position = np.clip(np.searchsorted(sorted_keys, query), 0, len(sorted_keys) - 1)
    found = sorted_keys[position] == query
    return np.where(found, order[position], -1)


def _index_ids(ids: npt.NDArray[np.int64], what: str, path: Path) -> tuple[npt.NDArray[np.int64], Any]:
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    duplicated = np.flatnonzero(np.diff(sorted_ids) == 0)
    if len(duplicated):
        raise MalformedFile(f"{path}: {what} id {int(sorted_ids[duplicated[0]])} appears more than once")
    return sorted_ids, order


@dataclasses.dataclass
class _Instances:
    """The images and categories of a COCO instances file, and its annotations list."""

    path: Path
    image_ids: npt.NDArray[np.int64]
    file_names: list[str]
    widths: npt.NDArray[np.int32]
    heights: npt.NDArray[np.int32]
    category_ids: npt.NDArray[np.int64]
    category_names: npt.NDArray[np.str_]
    annotations: list[Any]
    video_names: npt.NDArray[np.str_] | None = None  # per image, for video files
    frame_index: npt.NDArray[np.int64] | None = None
    merged: dict[int, int] = dataclasses.field(default_factory=dict)


def _video_columns(data: dict[str, Any]) -> tuple[npt.NDArray[np.str_] | None, npt.NDArray[np.int64] | None]:
    """Video name and frame index of every image of a video file (TAO, COCO-VID); (None, None) for images."""
    if not isinstance(data.get("videos"), list):
        return None, None
    names = {video["id"]: str(video["name"]) for video in data["videos"]}
    images = data["images"]
    return (
        np.array([names[image["video_id"]] for image in images], dtype=np.str_),
        np.array([image.get("frame_index", image.get("frame_id", 0)) for image in images], dtype=np.int64),
    )


def _merged(categories: list[Any]) -> dict[int, int]:
    """Category id -> the id of the category that lists it as ``merged`` (TAO)."""
    return {int(m["id"]): int(c["id"]) for c in categories for m in c.get("merged") or []}


def _read_instances(instances_path: Path) -> _Instances:
    if not instances_path.is_file():
        raise DataError(f"annotations not found: {instances_path}")
    data = read_json(instances_path)
    if not isinstance(data, dict) or not isinstance(data.get("images"), list):
        raise MalformedFile(f"{instances_path}: expected a COCO instances object with an 'images' list")
    if not isinstance(data.get("categories"), list):
        raise MalformedFile(f"{instances_path}: expected a 'categories' list")
    try:
        images = data["images"]
        video_names, frame_index = _video_columns(data)
        return _Instances(
            path=instances_path,
            image_ids=np.array([image["id"] for image in images], dtype=np.int64),
            file_names=[str(image["file_name"]) for image in images],
            widths=np.array([image.get("width", 0) for image in images], dtype=np.int32),
            heights=np.array([image.get("height", 0) for image in images], dtype=np.int32),
            category_ids=np.array([category["id"] for category in data["categories"]], dtype=np.int64),
            category_names=np.array([str(category["name"]) for category in data["categories"]], dtype=np.str_),
            annotations=data.get("annotations") or [],
            video_names=video_names,
            frame_index=frame_index,
            merged=_merged(data["categories"]),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedFile(
            f"{instances_path}: images need id and file_name (and video_id in video files), categories id and name, "
            f"videos id and name ({error!r})"
        ) from None


def _entry_columns(entries: list[Any], path: Path, kind: str, with_scores: bool) -> dict[str, np.ndarray]:
    """Per-entry columns of an annotations or results list (comprehensions; the slow path names a bad entry)."""
    if with_scores:
        missing = [
            position for position, entry in enumerate(entries) if isinstance(entry, dict) and entry.get("score") is None
        ]
        if missing:
            raise MissingScoreError(f"{path}: {kind} {missing[0]}: prediction without a 'score' ({len(missing)} in "
                                    "this file)")  # fmt: skip
    try:
        return {
            "image_id": np.array([entry["image_id"] for entry in entries], dtype=np.int64),
            "category_id": np.array([entry["category_id"] for entry in entries], dtype=np.int64),
            "xywh": np.array([entry["bbox"] for entry in entries], dtype=np.float64).reshape(-1, 4),
            "crowd": np.array([bool(entry.get("iscrowd", 0)) for entry in entries], dtype=bool),
            "ignore": np.array([bool(entry.get("ignore", 0)) for entry in entries], dtype=bool),
            "track_id": np.array([entry.get("track_id", -1) for entry in entries], dtype=np.int64),
            "score": (
                np.array([entry["score"] for entry in entries], dtype=np.float32)
                if with_scores
                else np.ones(len(entries), dtype=np.float32)
            ),
        }
    except (KeyError, TypeError, ValueError, AttributeError):
        raise MalformedFile(_locate_entry_problem(entries, path, kind, with_scores)) from None


def _rows_of(instances: _Instances, columns: dict[str, np.ndarray], path: Path, kind: str) -> tuple[Any, Any]:
    """Frame row and category row of every entry; an id the instances file does not have is malformed."""
    frame_of_entry = _lookup(*_index_ids(instances.image_ids, "image", instances.path), columns["image_id"])
    if (frame_of_entry < 0).any():
        bad = int(np.flatnonzero(frame_of_entry < 0)[0])
        raise MalformedFile(
            f"{path}: {kind} {bad}: image_id {int(columns['image_id'][bad])} is not in {instances.path}"
        )
    category_row = _lookup(*_index_ids(instances.category_ids, "category", instances.path), columns["category_id"])
    if (category_row < 0).any():
        bad = int(np.flatnonzero(category_row < 0)[0])
        raise MalformedFile(
            f"{path}: {kind} {bad}: category_id {int(columns['category_id'][bad])} is not in the categories of "
            f"{instances.path}"
        )
    return frame_of_entry, category_row


def parse_coco(
    annotations: str | Path,
    image_root: str | Path | None = None,
    results: str | Path | None = None,
    assume_missing_scores: bool = False,
) -> RawColumns:
    """Columns of a COCO instances file, or of a results file resolved against it.

    A result without a ``score`` is a :class:`MissingScoreError` unless
    ``assume_missing_scores`` scores it 1.0.
    """
    instances = _read_instances(Path(annotations))
    if results is None:
        box_path, kind, entries = instances.path, "annotation", instances.annotations
    else:
        box_path, kind = Path(results), "result"
        if not box_path.is_file():
            raise DataError(f"results not found: {box_path}")
        entries = read_json(box_path)
        if not isinstance(entries, list):
            raise MalformedFile(f"{box_path}: expected a list of {{image_id, category_id, bbox, score}}")
        if assume_missing_scores:
            entries = [
                {**entry, "score": 1.0} if isinstance(entry, dict) and entry.get("score") is None else entry
                for entry in entries
            ]
    columns = _entry_columns(entries, box_path, kind, with_scores=results is not None)
    if instances.merged:
        merged = instances.merged
        columns["category_id"] = np.array([merged.get(c, c) for c in columns["category_id"].tolist()], dtype=np.int64)
    frame_of_entry, category_row = _rows_of(instances, columns, box_path, kind)
    order = np.argsort(frame_of_entry, kind="stable")
    boxes = columns["xywh"][order].copy()
    boxes[:, 2:] += boxes[:, :2]
    root = None if image_root is None else str(Path(image_root).resolve())
    file_names = instances.file_names
    image_paths = file_names if root is None else [f"{root}/{name}" for name in file_names]
    names = np.array(file_names, dtype=np.str_)
    num_images, num_entries = len(file_names), len(entries)
    return RawColumns(
        sources=[str(box_path)],
        frame_sources=np.zeros(num_images, dtype=np.int64),
        video_names=names if instances.video_names is None else instances.video_names,
        frame_names=names,
        frame_index=np.zeros(num_images, dtype=np.int64) if instances.frame_index is None else instances.frame_index,
        image_paths=np.array(image_paths, dtype=np.str_),
        widths=instances.widths,
        heights=instances.heights,
        box_counts=np.bincount(frame_of_entry, minlength=num_images).astype(np.int64),
        boxes=boxes,
        category_names=instances.category_names[category_row[order]],
        track_ids=columns["track_id"][order],
        scores=columns["score"][order],
        crowd=columns["crowd"][order],
        ignore=columns["ignore"][order],
        occluded=np.zeros(num_entries, dtype=bool),
        truncated=np.zeros(num_entries, dtype=bool),
        label_index=order.astype(np.int64),
        location_kind=kind,
        image_ids=instances.image_ids,
        category_ids={
            str(name): int(cid) for name, cid in zip(instances.category_names, instances.category_ids, strict=True)
        },
    )


def _locate_entry_problem(entries: list[Any], path: Path, kind: str, need_score: bool) -> str:
    """Slow path after a fast comprehension failed: name the entry that broke it."""
    for position, entry in enumerate(entries):
        where = f"{path}: {kind} {position}"
        if not isinstance(entry, dict):
            return f"{where}: expected an object"
        for key in ("image_id", "category_id"):
            if not isinstance(entry.get(key), int):
                return f"{where}: '{key}' must be an integer, got {entry.get(key)!r}"
        bbox = entry.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4 or not all(isinstance(v, int | float) for v in bbox):
            return f"{where}: 'bbox' must be [x, y, w, h] numbers, got {bbox!r}"
        if need_score and not isinstance(entry.get("score"), int | float):
            return f"{where}: 'score' must be a number, got {entry.get('score')!r}"
    return f"{path}: malformed {kind}s"


def load_coco(
    annotations: str | Path,
    categories: Sequence[str] | None = None,
    image_root: str | Path | None = None,
    *,
    results: str | Path | None = None,
    options: LoadOptions = DEFAULT_LOAD_OPTIONS,
) -> AnnotationStore:
    """Load COCO ground truth, or with ``results`` the predictions in a COCO results file.

    ``categories=None`` uses the category names found in the boxes, sorted.
    """
    try:
        raw = parse_coco(annotations, image_root, results, options.assume_missing_scores)
    except MalformedFile as error:
        if options.on_malformed == "fail":
            raise DataError(str(error)) from None
        warn(f"skipping malformed file: {error}")
        raw = empty_raw([str(results or annotations)])
    mapper = CategoryMapper(categories, options.name_mapping, options.ignored_mapping, options.unknown_categories)
    return finalize(raw, mapper, options, renumber_tracks=False, predictions=results is not None)
