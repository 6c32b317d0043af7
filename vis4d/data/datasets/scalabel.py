"""Scalabel JSON labels (and predictions) -> :class:`AnnotationStore`.

Accepted layouts:

* a file holding a list of frames;
* a file holding ``{"frames": [...], "config": {...}}`` (the config may give
  ``imageSize``, used when frames carry no ``size``);
* a folder of such files (BDD100K tracking: one file per video), read in
  sorted order.

Per frame: ``name``, ``videoName`` (missing: the frame is a one-frame video
named after itself, as in BDD100K detection), ``frameIndex``, ``size``
(``{width, height}``, optional), ``labels``. Per label: ``id`` (track id, any
string; renumbered 0, 1, ... per video in order of first appearance),
``category``, ``attributes`` (``crowd``, ``occluded``, ``truncated``),
``box2d`` (``x1, y1, x2, y2``) and, for predictions, ``score``. Labels without
``box2d`` (polygons or masks only) are skipped.

Image paths are ``<image_root>/<videoName>/<name>`` (or ``<image_root>/<name>``
for frames without a video, or when the first frame's image is found there but
not in a video folder). Images are not checked here: the decoder reports a
missing file when it is read.

Parsing reads the JSON objects with as little Python work per label as the
labels allow (:mod:`vis4d.data.datasets.scalabel_labels`), many files in
worker processes (:mod:`vis4d.data.datasets.parallel`); everything after
that — mapping, checks, sorting, track renumbering — is vectorised in
:func:`vis4d.data.datasets.columns.finalize`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from vis4d.common.errors import DataError, MissingScoreError
from vis4d.data.datasets.columns import finalize
from vis4d.data.datasets.parallel import map_files, parse_workers, paused_gc
from vis4d.data.datasets.raw import MalformedFile, RawColumns, concat_raw, read_json
from vis4d.data.datasets.scalabel_labels import label_columns
from vis4d.data.mapping import (
    DEFAULT_LOAD_OPTIONS,
    CategoryMapper,
    LabelConfig,
    LoadOptions,
    label_config_from_dict,
    unique_strings,
)
from vis4d.data.notes import warn
from vis4d.data.store import AnnotationStore

_EMPTY: dict[str, Any] = {}
_PROGRESS_MIN_FILES = 20


def scalabel_files(path: str | Path) -> list[Path]:
    """List the JSON files a Scalabel path stands for: the file itself, or a folder's ``*.json`` sorted."""
    source = Path(path)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() == ".json" and p.is_file())
        if not files:
            raise DataError(f"{source}: folder holds no .json label files")
        return files
    if not source.is_file():
        raise DataError(f"annotations not found: {source}")
    return [source]


def _frames_and_size(data: Any, path: Path) -> tuple[list[Any], tuple[int, int] | None]:
    """Return the frame list of a parsed file and the image size its embedded config gives, if any."""
    if isinstance(data, list):
        return data, None
    if isinstance(data, dict) and isinstance(data.get("frames"), list):
        size = None
        config = data.get("config")
        if isinstance(config, Mapping) and config.get("categories"):
            try:
                size = label_config_from_dict(config, str(path)).image_size
            except Exception:  # an odd embedded config must not hide the labels
                size = None
        return data["frames"], size
    raise MalformedFile(f"{path}: expected a list of frames or an object with a 'frames' list")


def _locate_frame_problem(frames: list[Any], path: Path) -> str:
    """Slow path after a fast comprehension failed: find the frame/label that broke it."""
    for position, frame in enumerate(frames):
        if not isinstance(frame, dict):
            return f"{path}: frame {position}: expected an object, got {type(frame).__name__}"
        name = frame.get("name")
        if not isinstance(name, str):
            return f"{path}: frame {position}: missing or non-string 'name'"
        if not isinstance(frame.get("videoName") or "", str):
            return f"{path}: frame '{name}': 'videoName' must be a string, got {frame['videoName']!r}"
        labels = frame.get("labels")
        if labels is not None and not isinstance(labels, list):
            return f"{path}: frame '{name}': 'labels' must be a list"
        index = frame.get("frameIndex")
        if index is not None and (not isinstance(index, int) or isinstance(index, bool)):
            return f"{path}: frame '{name}': 'frameIndex' must be an integer, got {index!r}"
        size = frame.get("size")
        if size is not None and (
            not isinstance(size, dict)
            or not all(isinstance(size.get(k, 0), int | float) and size.get(k, 0) >= 0 for k in ("width", "height"))
        ):
            return f"{path}: frame '{name}': 'size' must be {{width, height}} non-negative numbers, got {size!r}"
        for label_position, label in enumerate(labels or ()):
            where = f"{path}: frame '{name}' label {label_position}"
            if not isinstance(label, dict):
                return f"{where}: expected an object"
            box = label.get("box2d")
            if box is None:
                continue
            if not isinstance(box, dict) or not {"x1", "y1", "x2", "y2"} <= set(box):
                return f"{where}: box2d must have x1, y1, x2, y2"
            try:
                [float(box[k]) for k in ("x1", "y1", "x2", "y2")]
            except (TypeError, ValueError):
                return f"{where}: box2d coordinates must be numbers, got {box!r}"
            if not isinstance(label.get("category"), str):
                return f"{where}: missing or non-string 'category'"
            score = label.get("score")
            if score is not None and not isinstance(score, int | float):
                return f"{where}: 'score' must be a number, got {score!r}"
            attributes = label.get("attributes")
            if attributes is not None and not isinstance(attributes, dict):
                return f"{where}: 'attributes' must be an object"
    return f"{path}: malformed frames"


def _image_layout_is_flat(image_root: Path, video: str, name: str) -> bool:
    """Images in ``root/<name>`` rather than ``root/<video>/<name>``: decided from one frame (one stat or two)."""
    return not (image_root / video / name).exists() and (image_root / name).exists()


def _image_paths(
    image_root: Path | None, videos: list[str], names: list[str], has_video: list[bool], flat_layout: bool | None
) -> tuple[list[str], bool | None]:
    """Image path per frame, and the layout decision (``root/<video>/<name>`` or ``root/<name>``) made on the way."""
    if image_root is None:
        return [f"{v}/{n}" if hv else n for v, n, hv in zip(videos, names, has_video, strict=True)], flat_layout
    if flat_layout is None and any(has_video):
        first = has_video.index(True)
        flat_layout = _image_layout_is_flat(image_root, videos[first], names[first])
    root = str(image_root)
    paths = [
        f"{root}/{v}/{n}" if hv and not flat_layout else f"{root}/{n}"
        for v, n, hv in zip(videos, names, has_video, strict=True)
    ]
    return paths, flat_layout


def parse_scalabel_frames(
    frames: list[Any],
    path: Path,
    source_id: int,
    image_root: Path | None,
    default_size: tuple[int, int] | None,
    track_table: dict[str, int],
    flat_layout: bool | None,
    need_scores: bool = False,
) -> tuple[RawColumns, bool | None]:
    """Columns of one file's frames; ``track_table`` codes id strings across files (first seen first).

    Returns the columns and the image layout decision (``flat_layout``), made
    on the first frame with a video name and reused for later files.
    ``need_scores``: the file holds predictions, and a label without ``score``
    is a :class:`MissingScoreError` naming it.
    """
    try:
        names = [frame["name"] for frame in frames]
        videos = [frame.get("videoName") or frame["name"] for frame in frames]
        has_video = [bool(frame.get("videoName")) for frame in frames]
        indices = [frame.get("frameIndex") or 0 for frame in frames]
        if not set(map(type, names)) | set(map(type, videos)) <= {str} or not set(map(type, indices)) <= {
            int
        }:  # numpy would coerce them
            raise TypeError("a frame name or index of the wrong type")
        frame_index = np.array(indices, dtype=np.int64)
        sizes = [frame.get("size") or _EMPTY for frame in frames]
        height, width = default_size or (0, 0)
        widths = np.array([size.get("width", width) for size in sizes], dtype=np.int32)
        heights = np.array([size.get("height", height) for size in sizes], dtype=np.int32)
        if (widths < 0).any() or (heights < 0).any():
            raise ValueError("a negative image size")
        label_lists = [frame.get("labels") or () for frame in frames]
        labels = [label for frame_labels in label_lists for label in frame_labels]
        columns = label_columns(labels, track_table)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise MalformedFile(_locate_frame_problem(frames, path)) from None

    has_box = columns.pop("has_box")
    missing_score = columns.pop("missing_score")
    label_counts = np.array([len(frame_labels) for frame_labels in label_lists], dtype=np.int64)
    label_frame = np.repeat(np.arange(len(frames), dtype=np.int64), label_counts)
    label_starts = (np.cumsum(label_counts) - label_counts).astype(np.int64)
    label_index = np.arange(len(labels), dtype=np.int64) - np.repeat(label_starts, label_counts)
    if need_scores and missing_score.any():
        first = int(np.flatnonzero(missing_score)[0])
        raise MissingScoreError(
            f"{path}: frame '{names[int(label_frame[has_box][first])]}' label {int(label_index[has_box][first])}: "
            f"prediction without a 'score' ({int(missing_score.sum())} in this file)"
        )
    image_paths, flat_layout = _image_paths(image_root, videos, names, has_video, flat_layout)
    raw = RawColumns(
        sources=[],
        frame_sources=np.full(len(frames), source_id, dtype=np.int64),
        video_names=np.array(videos, dtype=np.str_),
        frame_names=np.array(names, dtype=np.str_),
        frame_index=frame_index,
        image_paths=np.array(image_paths, dtype=np.str_),
        widths=widths,
        heights=heights,
        box_counts=np.bincount(label_frame[has_box], minlength=len(frames)).astype(np.int64),
        ignore=np.zeros(len(columns["scores"]), dtype=bool),
        label_index=label_index[has_box],
        **columns,
    )
    return raw, flat_layout


_FileTask = tuple[Path, int, Path | None, tuple[int, int] | None, bool]
_FileResult = tuple[RawColumns | None, list[str], bool | None, str, npt.NDArray[np.int64]]


def _parse_file(task: _FileTask, flat_layout: bool | None = None) -> _FileResult:
    """One file's columns, track id strings (local code: position), layout decision, category codes; or the problem.

    Track ids are coded per file so that files can be parsed independently
    (in worker processes); :func:`parse_scalabel` maps the codes onto one
    table in file order, which gives the codes a single table would.
    """
    file, source_id, root, default_size, need_scores = task
    table: dict[str, int] = {}
    try:
        with paused_gc():
            frames, size = _frames_and_size(read_json(file), file)
            part, flat_layout = parse_scalabel_frames(
                frames, file, source_id, root, size or default_size, table, flat_layout, need_scores
            )
    except MalformedFile as error:
        return None, [], None, str(error), np.zeros(0, np.int64)
    # Category names travel as codes into the distinct names (a worker's result is pickled): a fifth the bytes.
    part.category_names, codes = unique_strings(part.category_names)
    return part, list(table), flat_layout, "", codes


def parse_scalabel(
    annotations: str | Path,
    image_root: str | Path | None = None,
    on_malformed: Literal["fail", "skip"] = "fail",
    default_size: tuple[int, int] | None = None,
    progress: bool = True,
    need_scores: bool = False,
) -> RawColumns:
    """Parse a Scalabel file or folder into raw columns (no mapping yet); ``need_scores``: every label needs one.

    Without an image root (evaluation), many files are parsed in worker
    processes (:mod:`vis4d.data.datasets.parallel`); the image layout decision
    (made on the first frame with a video, then kept) needs files in order.
    """
    files = scalabel_files(annotations)
    root = None if image_root is None else Path(image_root).resolve()
    parts: list[RawColumns] = []
    sources = [str(f) for f in files]
    track_table: dict[str, int] = {}
    flat_layout: bool | None = None
    show = progress and len(files) >= _PROGRESS_MIN_FILES
    tasks = [(file, source_id, root, default_size, need_scores) for source_id, file in enumerate(files)]
    # With an image root, each file needs the layout decision of the files before it: one process, in order.
    results = map_files(_parse_file, tasks, parse_workers(files)) if root is None else (
        _parse_file(task, flat_layout) for task in tasks)  # fmt: skip
    progress_bar = tqdm(results, total=len(files), desc="parsing labels", unit="file", disable=not show)
    for part, keys, layout, problem, category_codes in progress_bar:
        if part is None:
            if on_malformed == "fail":
                raise DataError(problem)
            warn(f"skipping malformed file: {problem}")
            continue
        flat_layout = layout
        codes = np.array([track_table.setdefault(key, len(track_table)) for key in keys] + [-1], dtype=np.int64)
        part.track_ids = codes[part.track_ids]  # -1 (no id) reads the appended -1
        part.category_names = part.category_names[category_codes]
        parts.append(part)
    return concat_raw(parts, sources)


def load_scalabel(
    annotations: str | Path,
    categories: Sequence[str] | None = None,
    image_root: str | Path | None = None,
    *,
    label_config: LabelConfig | None = None,
    options: LoadOptions = DEFAULT_LOAD_OPTIONS,
    progress: bool = True,
    predictions: bool = False,
) -> AnnotationStore:
    """Load Scalabel labels or predictions (with ``score``) into a store.

    ``predictions``: the file holds predictions, so a label without a score
    is an error (:class:`MissingScoreError`) unless
    ``options.assume_missing_scores`` scores it 1.0. Ground truth carries no
    scores; its labels all score 1.0.

    ``categories=None`` takes the (mapped) category names found in the data,
    sorted. ``image_root=None`` leaves image paths relative
    (``<videoName>/<name>``), enough for evaluation. ``label_config`` supplies
    name/ignored mappings and the image size; the mappings in ``options`` are
    added on top.
    """
    raw = parse_scalabel(
        annotations,
        image_root,
        options.on_malformed,
        default_size=label_config.image_size if label_config else None,
        progress=progress,
        need_scores=predictions and not options.assume_missing_scores,
    )
    mapper = CategoryMapper.from_label_config(categories, label_config, options)
    return finalize(raw, mapper, options, renumber_tracks=True, predictions=predictions)
