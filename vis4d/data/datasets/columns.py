"""Shared last step of every loader: raw columns -> checked, mapped, sorted store.

Each format parser (Scalabel, COCO, MOTChallenge) only turns its files into
:class:`RawColumns` — flat per-frame and per-box arrays in file order, with the
dataset's own category names. Everything that is the same for all formats
happens here, once and vectorised over the whole dataset:

* malformed files (a track id used twice in one frame) fail or are skipped;
* category names are mapped to the config's class ids (:mod:`vis4d.data.mapping`);
* degenerate boxes (x2 <= x1, y2 <= y1, NaN or infinite) and boxes entirely
  outside their image (when its size is known) fail or are skipped with one
  counted warning each (``on_degenerate_box``);
* a dataset without a single frame is an error, not an empty run;
* frames are sorted by (video in first-seen order, frame index) and the boxes
  permuted with them; Scalabel track id strings become int64 per video.

Keeping this in one place means every format reports bad input the same way:
``<file>: frame '<name>' label <i>: <what is wrong>``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from vis4d.common.arrays import group_keys
from vis4d.common.errors import DataError
from vis4d.data.datasets.column_checks import (
    check_duplicate_frames,
    check_scores,
    drop_files_with_duplicate_track_ids,
    handle_bad_boxes,
    sources_text,
)
from vis4d.data.datasets.raw import RawColumns
from vis4d.data.mapping import CategoryMapper, LoadOptions
from vis4d.data.store import AnnotationStore


def first_seen_codes(values: npt.NDArray[np.str_]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.str_]]:
    """Integer code of every value, numbered in order of first appearance; and the unique values in that order."""
    if len(values) == 0:
        return np.zeros(0, np.int64), np.zeros(0, values.dtype)
    uniques, first_index, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first_index, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[inverse.reshape(-1)].astype(np.int64), uniques[order]


def renumber_tracks_per_video(
    box_videos: npt.NDArray[np.int64], track_codes: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Track ids 0, 1, ... per video in order of first appearance (boxes given in temporal order).

    ``track_codes`` are any non-negative ids (e.g. codes of the id strings);
    -1 stays -1. Two videos may share a code: ids are unique per video only.
    """
    result = np.full(len(track_codes), -1, dtype=np.int64)
    has_id = track_codes >= 0
    if not has_id.any():
        return result
    videos, codes = box_videos[has_id], track_codes[has_id]
    # Distinct (video, code) pairs without sorting the boxes by a random key (group_keys: flags or radix passes).
    inverse, (unique_videos, _) = group_keys(videos, codes)
    first_index = np.full(len(unique_videos), len(videos), dtype=np.int64)
    np.minimum.at(first_index, inverse, np.arange(len(videos), dtype=np.int64))
    # Order the distinct pairs by video, then by first appearance.
    order = np.lexsort((first_index, unique_videos))
    video_sorted = unique_videos[order]
    group_start = np.searchsorted(video_sorted, video_sorted, side="left")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order)) - group_start
    result[has_id] = rank[inverse.reshape(-1)]
    return result


def finalize(
    raw: RawColumns,
    mapper: CategoryMapper,
    options: LoadOptions,
    *,
    renumber_tracks: bool = True,
    predictions: bool = False,
) -> AnnotationStore:
    """Check, map and pack parsed columns into an :class:`AnnotationStore`.

    ``options`` says what to do with malformed files, degenerate boxes and
    empty frames (its mappings are already in ``mapper``).
    ``renumber_tracks``: Scalabel ids are arbitrary strings (already coded as
    integers by the parser) and are renumbered 0.. per video; MOTChallenge ids
    are kept as written. ``predictions``: the columns are predictions, whose
    boxes outside the image are kept (they are false positives, as every
    evaluator counts them); only labelled boxes outside it are dropped.
    """
    if raw.num_frames == 0:
        raise DataError(f"{sources_text(raw.sources)}: holds no frames; expected at least one frame")
    raw = drop_files_with_duplicate_track_ids(raw, options.on_malformed)
    check_duplicate_frames(raw)

    # ----------------------------------------------------------- categories
    frame_of_box = raw.box_frames()
    mapped = mapper.map_names(raw.category_names, lambda box: raw.describe_box(box, frame_of_box))
    keep = mapped.keep.copy()
    ignore = raw.ignore | raw.crowd | mapped.ignore

    # ------------------------------------------------------ degenerate boxes
    coords = raw.boxes
    degenerate = ~np.isfinite(coords).all(axis=1) | (coords[:, 2] <= coords[:, 0]) | (coords[:, 3] <= coords[:, 1])
    degenerate &= keep
    handle_bad_boxes(raw, frame_of_box, degenerate, options.on_degenerate_box, "degenerate")
    keep &= ~degenerate
    widths, heights = raw.widths[frame_of_box], raw.heights[frame_of_box]
    outside = (widths > 0) & (heights > 0) & keep & (not predictions)
    outside &= (coords[:, 2] <= 0) | (coords[:, 3] <= 0) | (coords[:, 0] >= widths) | (coords[:, 1] >= heights)
    handle_bad_boxes(raw, frame_of_box, outside, options.on_degenerate_box, "outside")
    keep &= ~outside
    if predictions:
        check_scores(raw, frame_of_box, keep)

    frame_mask = np.ones(raw.num_frames, dtype=bool)
    if options.skip_empty_frames:
        frame_mask = np.bincount(frame_of_box[keep], minlength=raw.num_frames) > 0
    if not frame_mask.any():
        raise DataError(f"{sources_text(raw.sources)}: no frame has a label left (skip_empty_frames drops them all)")
    columns = dataclasses.replace(raw, ignore=ignore, category_names=mapped.targets).select(frame_mask, keep)
    categories, class_ids = mapper.class_ids(columns.category_names)
    return _pack(columns, class_ids, categories, renumber_tracks)


def _pack(
    columns: RawColumns, class_ids: npt.NDArray[np.int64], categories: Sequence[str], renumber_tracks: bool
) -> AnnotationStore:
    """Sort frames by (video first seen, frame index), permute boxes along, and build the store."""
    video_codes, video_names = first_seen_codes(columns.video_names)
    order = np.lexsort((columns.frame_index, video_codes)) if columns.num_frames else np.zeros(0, np.int64)
    counts = columns.box_counts[order]
    old_starts = np.concatenate([[0], np.cumsum(columns.box_counts)[:-1]]).astype(np.int64)
    box_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    total = int(box_offsets[-1])
    # Box row permutation: for each new frame, the range of its old rows.
    box_order = np.repeat(old_starts[order] - box_offsets[:-1], counts) + np.arange(total, dtype=np.int64)
    videos_sorted = video_codes[order]
    video_offsets = np.concatenate([[0], np.cumsum(np.bincount(videos_sorted, minlength=len(video_names)))])

    track_ids = columns.track_ids[box_order]
    if renumber_tracks:
        track_ids = renumber_tracks_per_video(np.repeat(videos_sorted, counts), track_ids)
    store = AnnotationStore(
        categories=tuple(categories),
        video_names=video_names.astype(np.str_),
        video_offsets=video_offsets.astype(np.int64),
        frame_names=columns.frame_names[order].astype(np.str_),
        image_paths=columns.image_paths[order].astype(np.str_),
        frame_index=columns.frame_index[order].astype(np.int64),
        widths=columns.widths[order].astype(np.int32),
        heights=columns.heights[order].astype(np.int32),
        image_ids=np.asarray(columns.image_ids, dtype=np.int64)[order],
        category_ids=np.array([(columns.category_ids or {}).get(c, -1) for c in categories], dtype=np.int64),
        box_offsets=box_offsets,
        boxes=columns.boxes[box_order].astype(np.float32).reshape(-1, 4),
        class_ids=class_ids[box_order].astype(np.int64),
        track_ids=track_ids.astype(np.int64),
        scores=columns.scores[box_order].astype(np.float32),
        crowd=columns.crowd[box_order].astype(bool),
        ignore=columns.ignore[box_order].astype(bool),
        occluded=columns.occluded[box_order].astype(bool),
        truncated=columns.truncated[box_order].astype(bool),
    )
    store.validate()
    return store
