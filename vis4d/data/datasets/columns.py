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
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common.arrays import group_keys
from vis4d.common.errors import DataError
from vis4d.data.mapping import BadInputPolicy, CategoryMapper, LoadOptions
from vis4d.data.notes import warn
from vis4d.data.store import AnnotationStore

Policy = BadInputPolicy


class MalformedFile(Exception):
    """A file that cannot be parsed: a :class:`DataError` under ``on_malformed="fail"``, else skipped."""


def read_json(path: Path) -> Any:
    """``json.load`` with errors that name the file, line and column."""
    try:
        if path.stat().st_size == 0:
            raise MalformedFile(f"{path}: the file is empty (0 bytes); expected JSON")
        with open(path, "rb") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise MalformedFile(f"{path}:{error.lineno}:{error.colno}: malformed JSON: {error.msg}") from None
    except RecursionError:  # Python's parser recurses per nesting level
        raise MalformedFile(f"{path}: JSON nested too deeply to be a label file") from None
    except UnicodeDecodeError as error:
        raise MalformedFile(f"{path}: not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read: {error.strerror or error}") from None


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
        raise DataError(f"{_sources_text(raw.sources)}: holds no frames; expected at least one frame")
    raw = _drop_files_with_duplicate_track_ids(raw, options.on_malformed)
    _check_duplicate_frames(raw)

    # ----------------------------------------------------------- categories
    frame_of_box = raw.box_frames()
    mapped = mapper.map_names(raw.category_names, lambda box: raw.describe_box(box, frame_of_box))
    keep = mapped.keep.copy()
    ignore = raw.ignore | raw.crowd | mapped.ignore

    # ------------------------------------------------------ degenerate boxes
    coords = raw.boxes
    degenerate = ~np.isfinite(coords).all(axis=1) | (coords[:, 2] <= coords[:, 0]) | (coords[:, 3] <= coords[:, 1])
    degenerate &= keep
    _handle_bad_boxes(raw, frame_of_box, degenerate, options.on_degenerate_box, "degenerate")
    keep &= ~degenerate
    widths, heights = raw.widths[frame_of_box], raw.heights[frame_of_box]
    outside = (widths > 0) & (heights > 0) & keep & (not predictions)
    outside &= (coords[:, 2] <= 0) | (coords[:, 3] <= 0) | (coords[:, 0] >= widths) | (coords[:, 1] >= heights)
    _handle_bad_boxes(raw, frame_of_box, outside, options.on_degenerate_box, "outside")
    keep &= ~outside
    if predictions:
        _check_scores(raw, frame_of_box, keep)

    frame_mask = np.ones(raw.num_frames, dtype=bool)
    if options.skip_empty_frames:
        frame_mask = np.bincount(frame_of_box[keep], minlength=raw.num_frames) > 0
    if not frame_mask.any():
        raise DataError(f"{_sources_text(raw.sources)}: no frame has a label left (skip_empty_frames drops them all)")
    columns = dataclasses.replace(raw, ignore=ignore, category_names=mapped.targets).select(frame_mask, keep)
    categories, class_ids = mapper.class_ids(columns.category_names)
    return _pack(columns, class_ids, categories, renumber_tracks)


def _sources_text(sources: Sequence[str]) -> str:
    """The files of a dataset for a message: the first few, and how many more."""
    if not sources:
        return "dataset"
    shown = ", ".join(sources[:2])
    return shown if len(sources) <= 2 else f"{shown} (and {len(sources) - 2} more files)"


def _handle_bad_boxes(
    raw: RawColumns, frame_of_box: npt.NDArray[np.int64], bad: npt.NDArray[np.bool_], policy: Policy, kind: str
) -> None:
    """Fail on the ``bad`` boxes, or warn once with their count (the caller drops them).

    ``kind``: ``degenerate`` (x2 <= x1, y2 <= y1, NaN or infinite coordinates)
    or ``outside`` (no pixel of the box is in its image).
    """
    if not bad.any():
        return
    first, count = int(np.flatnonzero(bad)[0]), int(bad.sum())
    x1, y1, x2, y2 = (float(v) for v in raw.boxes[first])
    box = f"x1={x1:g}, y1={y1:g}, x2={x2:g}, y2={y2:g}"
    if kind == "degenerate" and not np.isfinite(raw.boxes[first]).all():
        what = f"box has {box} (coordinates must be finite numbers)"
    elif kind == "degenerate":
        what = f"box has {box} (need x1 < x2, y1 < y2: a box of zero width or height matches nothing)"
    else:
        frame = int(frame_of_box[first])
        what = f"box {box} lies entirely outside its {int(raw.widths[frame])}x{int(raw.heights[frame])} image"
    where = raw.describe_box(first, frame_of_box)
    if policy == "fail":
        raise DataError(f"{where}: {what}; {count} such box(es) in total (on_degenerate_box = 'fail')")
    label = "degenerate box(es)" if kind == "degenerate" else "box(es) entirely outside their image"
    warn(f"skipped {count} {label}; first at {where}: {what}")


def _check_scores(raw: RawColumns, frame_of_box: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_]) -> None:
    """Predicted scores rank the boxes: a NaN cannot be ranked (error); outside [0, 1] is ranked, with a warning.

    Score thresholds (a tracker's, a visualisation's) assume confidences in
    [0, 1]; ranking metrics (AP, HOTA) do not care. A file of logits or
    percentages therefore still evaluates, but says so once.
    """
    scores = raw.scores
    not_finite = keep & ~np.isfinite(scores)
    if not_finite.any():
        first = int(np.flatnonzero(not_finite)[0])
        raise DataError(
            f"{raw.describe_box(first, frame_of_box)}: score is {float(scores[first])}; expected a finite number "
            f"({int(not_finite.sum())} such box(es) in total)"
        )
    outside = keep & ((scores < 0) | (scores > 1))
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        warn(
            f"{int(outside.sum())} predicted box(es) have a score outside [0, 1], first at "
            f"{raw.describe_box(first, frame_of_box)}: score {float(scores[first]):g}; they are ranked as given, "
            "but score thresholds assume confidences in [0, 1]"
        )


def _drop_files_with_duplicate_track_ids(raw: RawColumns, on_malformed: Policy) -> RawColumns:
    """Fail on (or skip the files with) a track id used twice in one frame: such a file is malformed."""
    frame_of_box = raw.box_frames()
    with_id = np.flatnonzero(raw.track_ids >= 0)
    if len(with_id) < 2:
        return raw
    box_frame, box_track = frame_of_box[with_id], raw.track_ids[with_id]
    # Boxes come frame by frame: a merge sort of one (frame, track) key is nearly linear on them and says whether
    # any pair repeats; only then is the first repeat located.
    if int(box_frame.max()) * (int(box_track.max()) + 1) < 1 << 62:
        keys = np.sort(box_frame * (int(box_track.max()) + 1) + box_track, kind="stable")
        if not (keys[1:] == keys[:-1]).any():
            return raw
    # Sort by (frame, track, row): a repeated pair shows up as equal neighbours, the later one a reuse.
    order = np.lexsort((with_id, box_track, box_frame))
    same = (np.diff(box_frame[order]) == 0) & (np.diff(box_track[order]) == 0)
    if not same.any():
        return raw
    bad_boxes = np.sort(with_id[order[1:][same]])
    first_bad = int(bad_boxes[0])
    message = f"{raw.describe_box(first_bad, frame_of_box)}: track id used twice in one frame"
    if on_malformed == "fail":
        raise DataError(message)
    bad_sources = np.unique(raw.frame_sources[frame_of_box[bad_boxes]])
    for source in bad_sources:
        warn(f"skipping malformed file {raw.sources[int(source)]} ({message})")
    return raw.select(~np.isin(raw.frame_sources, bad_sources), np.ones(len(raw.boxes), dtype=bool))


def _check_duplicate_frames(raw: RawColumns) -> None:
    """Frames are matched by (video, name) in evaluation: the same pair twice is an error."""
    if raw.num_frames < 2:
        return
    keys = np.char.add(np.char.add(raw.video_names.astype(np.str_), "\x00"), raw.frame_names.astype(np.str_))
    _, first_index, counts = np.unique(keys, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup_first = int(first_index[np.flatnonzero(counts > 1)[0]])
        dup_rows = np.flatnonzero(keys == keys[dup_first])
        files = sorted({raw.sources[int(raw.frame_sources[r])] for r in dup_rows})
        raise DataError(
            f"{', '.join(files)}: frame '{raw.frame_names[dup_first]}' of video '{raw.video_names[dup_first]}' "
            f"appears {len(dup_rows)} times; frame names must be unique per video"
        )


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
