"""Detection files as the input of a tracker (``vis4d track``): any prediction file vis4d reads -> one store.

A tracker needs, per video and frame in temporal order, boxes, scores and
classes. They come from

* MOTChallenge text (``frame, id, x, y, w, h, conf, ...``, 1-based frames):
  one ``det.txt`` (the public detections of ``SEQ/det/det.txt``, or any file
  in that layout), a MOTChallenge root (``SEQ/seqinfo.ini`` +
  ``SEQ/det/det.txt`` of every sequence), or a folder of ``SEQ.txt`` files;
* Scalabel / BDD100K JSON (a file or a folder of per-video files);
* COCO results and TAO results lists, with the file their image ids refer
  to (``gt``: COCO instances, or a TAO / COCO-video file with ``videos``).

Which video a single ``det.txt`` belongs to is its sequence folder's name
(``MOT17-02/det/det.txt`` -> ``MOT17-02``; also ``SEQ/det.txt`` and a file
beside ``SEQ/gt.txt`` or ``SEQ/seqinfo.ini``), else the file's stem, so the
tracks written for it are ``SEQ.txt``, the name ``vis4d eval`` looks for. Its
frames are the sequence's (``seqinfo.ini``), else 1 to the last frame with a
box: a tracker steps through frames without detections as well. JSON files
give the frames they list (a frame without detections belongs in them with
no labels, or the tracker never sees it pass).

Scores: a score of -1 on every box is MOTChallenge's "no confidence" and
reads as 1.0 (one warning line); detections without a score (Scalabel labels
without ``score``) are 1.0. Other scores outside [0, 1] (MOT17's DPM, MOT15's
ACF detections) are refused, since every tracker threshold is a score in
[0, 1], unless ``score_range`` maps a range linearly onto [0, 1].
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vis4d.common.errors import ConfigError, DataError
from vis4d.data.datasets.motchallenge import (
    box_file,
    find_sequences,
    load_motchallenge,
    load_motchallenge_file,
    sequence_info,
)
from vis4d.data.formats import LabelOptions, ReadRequest, detect_format, get_format
from vis4d.data.formats.motchallenge import sequence_of
from vis4d.data.notes import warn
from vis4d.data.store import BOX_FIELDS, AnnotationStore, concat_stores

DETECTION_FORMATS = ("motchallenge", "scalabel", "bdd100k", "coco", "tao")
_SNIFF_BYTES = 1 << 16


@dataclasses.dataclass(frozen=True)
class DetectionRequest:
    """What to read: ``path`` in ``format`` (``auto``: recognised), and what the format may need besides.

    ``gt``: the file COCO/TAO results refer to; ``images``: the image root of
    Scalabel frames; ``categories``: keep only these (in this order; None:
    every category of the file); ``score_range``: (low, high) mapped onto [0, 1].
    """

    path: Path
    format: str = "auto"
    gt: Path | None = None
    images: Path | None = None
    categories: Sequence[str] | None = None
    score_range: tuple[float, float] | None = None


def detection_format(path: Path) -> str:
    """The format of a detection file or folder (see the module docstring)."""
    if not path.exists():
        raise DataError(f"--detections: {path} does not exist")
    if path.is_file():
        if path.suffix.lower() == ".txt":
            return "motchallenge"
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES).decode("utf-8", errors="ignore").lstrip()
        return "coco" if head.startswith("[") and '"image_id"' in head and '"labels"' not in head else "scalabel"
    if _mot_sequences(path) or any(path.glob("*.txt")):
        return "motchallenge"
    return "scalabel"


def _mot_sequences(root: Path) -> list[Path]:
    """Sequence folders of a MOTChallenge root that hold public detections."""
    return [folder for folder in find_sequences(root) if box_file(folder, "det").is_file()]


def _read_motchallenge(path: Path) -> AnnotationStore:
    if path.is_file():
        video, folder = sequence_of(path)
        info = sequence_info(folder) if folder is not None and (folder / "seqinfo.ini").is_file() else None
        return load_motchallenge_file(path, video, info)
    if _mot_sequences(path):
        return load_motchallenge(path, sequences=[f.name for f in _mot_sequences(path)],
                                 use_public_detections=True)  # fmt: skip
    files = sorted(path.glob("*.txt"))
    if not files:
        raise DataError(f"--detections: {path} holds neither SEQ/det/det.txt sequences nor SEQ.txt files")
    return concat_stores([load_motchallenge_file(file, file.stem) for file in files])


def _read_json(request: DetectionRequest, fmt_name: str) -> AnnotationStore:
    fmt = get_format(fmt_name)
    reference = request.gt
    if fmt_name in ("coco", "tao"):
        if reference is None:
            raise ConfigError(f"--gt: {fmt_name.upper()} results refer to image ids; give the file they refer to "
                              "(COCO instances, or a TAO / COCO-video file with videos)")  # fmt: skip
        if not reference.is_file():
            raise DataError(f"--gt: {reference} does not exist")
        if detect_format(reference) == "tao":
            fmt = get_format("tao")
    assert fmt.read is not None
    labels = LabelOptions(categories=None)
    return fmt.read(
        ReadRequest(reference or request.path, labels, request.images, predictions=request.path,
                    assume_missing_scores=True)
    )  # fmt: skip


def read_detections(request: DetectionRequest) -> AnnotationStore:
    """The detections of ``request`` as a store (boxes, scores, classes; track ids -1), scores in [0, 1]."""
    name = detection_format(request.path) if request.format == "auto" else request.format
    if name not in DETECTION_FORMATS:
        raise ConfigError(f"--format: {name!r} is not a detection format; expected one of {DETECTION_FORMATS}")
    if name == "motchallenge":
        store = _read_motchallenge(request.path)
    else:
        store = _read_json(request, name)
    store = dataclasses.replace(store, track_ids=np.full(store.num_boxes, -1, dtype=np.int64))
    store = _scores_in_unit_range(store, str(request.path), request.score_range)
    if request.categories is not None:
        store = keep_categories(store, request.categories, str(request.path))
    return store


def _scores_in_unit_range(
    store: AnnotationStore, source: str, score_range: tuple[float, float] | None
) -> AnnotationStore:
    """Scores in [0, 1]: mapped from ``score_range``, 1.0 for MOTChallenge's all -1, else checked."""
    scores = store.scores.astype(np.float64)
    if score_range is not None:
        low, high = score_range
        scores = np.clip((scores - low) / (high - low), 0.0, 1.0)
    elif store.num_boxes and bool((scores == -1).all()):
        warn(f"{source}: every score is -1 (no confidence given); scoring the detections 1.0")
        scores = np.ones_like(scores)
    elif store.num_boxes and bool(((scores < 0) | (scores > 1)).any()):
        low, high = float(scores.min()), float(scores.max())
        raise DataError(f"{source}: scores range from {low:g} to {high:g}, outside [0, 1] (tracker thresholds are "
                        f"scores in [0, 1]); --score-range {low:g},{high:g} maps them onto [0, 1]")  # fmt: skip
    return dataclasses.replace(store, scores=scores.astype(np.float32))


def keep_categories(store: AnnotationStore, categories: Sequence[str], source: str) -> AnnotationStore:
    """``store`` with the category list ``categories``: boxes of other categories are left out (one warning line)."""
    wanted = list(categories)
    index = {name: i for i, name in enumerate(wanted)}
    lookup = np.array([index.get(name, -1) for name in store.categories], dtype=np.int64)
    class_ids = lookup[store.class_ids] if store.num_boxes else np.zeros(0, np.int64)
    keep = class_ids >= 0
    if store.num_boxes and not keep.any():
        raise DataError(f"{source}: no detection of the categories {wanted}; the file has {list(store.categories)}")
    if not keep.all():
        names, counts = np.unique(np.asarray(store.categories)[store.class_ids[~keep]], return_counts=True)
        listing = ", ".join(f"{name} ({count})" for name, count in zip(names.tolist(), counts.tolist(), strict=True))
        warn(f"left out {int((~keep).sum())} detections of other categories than --categories: {listing}")
    columns = {name: getattr(store, name)[keep] for name in BOX_FIELDS}
    columns["class_ids"] = class_ids[keep]
    per_frame = np.bincount(store.box_frame_ids()[keep], minlength=store.num_frames)
    own_ids = dict(zip(store.categories, store.category_ids.tolist(), strict=True))
    return dataclasses.replace(
        store,
        categories=tuple(wanted),
        category_ids=np.array([own_ids.get(name, -1) for name in wanted], dtype=np.int64),
        box_offsets=np.concatenate([[0], np.cumsum(per_frame)]).astype(np.int64),
        **columns,
    )
