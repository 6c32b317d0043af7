"""Prediction files, written one frame at a time while inference runs.

Writers receive frames in inference order (the frames of a video contiguous and
in temporal order) with boxes already mapped to original-image pixels, and
stream them to disk, so memory does not grow with the size of the test set.

Every file a writer produces is first written under a hidden temporary name in
its final folder and renamed into place when it is complete: per-video files
when their video ends, whole-dataset files on :meth:`PredictionWriter.close`.
A run that is killed therefore leaves complete files or none, and
:meth:`PredictionWriter.abort` removes the temporary files of an interrupted
run.

Formats (paths relative to ``out_dir``):

``scalabel``
    ``predictions/<dataset>.json``: one JSON list of frames
    ``{name, videoName, frameIndex, labels: [{id, category, score,
    box2d: {x1, y1, x2, y2}}]}``; with ``per_video=True`` one such list per
    video in ``predictions/scalabel/<video>.json`` instead.
``bdd100k``
    The BDD100K box-tracking submission layout: ``predictions/bdd100k/<video>.json``
    (Scalabel frames of one video) and, with ``zip_submission=True``,
    ``predictions/bdd100k/submission.zip`` holding those files at its root.
``motchallenge``
    ``predictions/motchallenge/<video>.txt`` with lines
    ``frame,id,x,y,w,h,score,-1,-1,-1`` (1-based frame = ``frame_index + 1``,
    top-left corner and size in pixels; id ``-1`` for detections without track).
``coco``
    ``predictions/<dataset>_coco.json``: a COCO results list
    ``{image_id, category_id, bbox: [x, y, w, h], score}``. When the test set
    is a COCO file, image and category ids are that file's (``meta.image_id``
    and the store's ``category_ids``, the id of the category of the same
    name), so the results score against the original file with pycocotools;
    otherwise category ids are 1-based positions in the config's category
    list (also when any config category has no id of its own) and the image
    id is the frame's row in the dataset's store (``meta.frame_row``), else
    its position in arrival order. Beside it,
    ``predictions/<dataset>_coco_images.json`` is a COCO instances file with
    those images (``file_name`` = frame name, original size), the categories
    (with the ids used) and no annotations: the results file loads against it
    (``load_coco(images_file, results=results_file)``).

Label ids: with track ids, a label's ``id`` is the track id as a string. Without
(a detector), it is the label's running index over the whole file, so ids are
unique and no loader mistakes them for tracks.

Under DDP each process writes the videos it infers, dataset-level files under
``<dataset>.rank<N>`` names; :func:`merge_rank_files` then turns them into the
single-process layout on the first process (this needs a ``work_dir`` every
process can see, as on one machine or a shared file system).

Numbers are written with the shortest decimal text that reads back to the
same float32 value, so a round trip through a file is exact.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from vis4d.common.errors import ConfigError
from vis4d.common.io import atomic_open, atomic_write_json
from vis4d.common.structures import FrameMeta

WRITER_FORMATS = ("scalabel", "bdd100k", "motchallenge", "coco")


class PredictionWriter(Protocol):
    """Streams per-frame predictions into prediction files."""

    def add_frame(
        self,
        meta: FrameMeta,
        boxes: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        track_ids: np.ndarray | None,
    ) -> None:
        """Add one frame: boxes (K, 4) xyxy in original pixels, scores (K,), class ids (K,), track ids (K,)."""
        ...

    def close(self) -> list[Path]:
        """Finish every file atomically; returns the files written."""
        ...

    def abort(self) -> None:
        """Remove the temporary files of an interrupted run; completed files stay."""
        ...


class _RollbackRequested(Exception):
    """Raised into an open atomic file to make it delete its temporary file."""


class _AtomicStream:
    """A text or binary file kept open across calls and renamed into place on :meth:`commit`.

    Wraps :func:`vis4d.common.io.atomic_open`, whose context is entered here and
    exited on commit (rename) or rollback (temporary file removed).
    """

    def __init__(self, path: Path, mode: str = "w") -> None:
        self.path = path
        self._context = atomic_open(path, mode)
        self.handle: IO[Any] = self._context.__enter__()

    def write(self, text: str) -> None:
        self.handle.write(text)

    def commit(self) -> Path:
        self._context.__exit__(None, None, None)
        return self.path

    def rollback(self) -> None:
        error = _RollbackRequested()
        self._context.__exit__(_RollbackRequested, error, None)


def _float_texts(values: np.ndarray) -> list[str]:
    """Shortest decimal text of each value that reads back to the same float32."""
    return np.asarray(values, dtype=np.float32).astype(str).tolist()  # type: ignore[no-any-return]


def _float64_texts(values: np.ndarray) -> list[str]:
    """Shortest round-trip decimal text of float64 values (e.g. exact widths of float32 boxes)."""
    return np.asarray(values, dtype=np.float64).astype(str).tolist()  # type: ignore[no-any-return]


class _FrameChecker:
    """Validates frame inputs and the contiguous-video order every writer relies on."""

    def __init__(self, categories: Sequence[str], writer_name: str, per_video_files: bool = True) -> None:
        self.num_classes = len(categories)
        self.writer_name = writer_name
        # Only writers with per-video files need videos contiguous; whole-dataset files accept any order.
        self.per_video_files = per_video_files
        self.current_video: str | None = None
        self.finished_videos: set[str] = set()

    def check(
        self,
        meta: FrameMeta,
        boxes: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        track_ids: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None, bool]:
        """Return typed arrays and whether this frame starts a new video."""
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float32).reshape(-1)
        class_ids = np.asarray(class_ids, dtype=np.int64).reshape(-1)
        track_arr = None if track_ids is None else np.asarray(track_ids, dtype=np.int64).reshape(-1)
        num = len(boxes)
        if len(scores) != num or len(class_ids) != num or (track_arr is not None and len(track_arr) != num):
            raise ValueError(
                f"{self.writer_name}: frame {meta.name!r}: boxes, scores, class_ids and track_ids must have the "
                f"same length, got {num}, {len(scores)}, {len(class_ids)}, "
                f"{None if track_arr is None else len(track_arr)}"
            )
        if num and (class_ids.min() < 0 or class_ids.max() >= self.num_classes):
            raise ValueError(
                f"{self.writer_name}: frame {meta.name!r}: class id out of range 0..{self.num_classes - 1}"
            )
        new_video = meta.video_name != self.current_video
        if new_video:
            if self.per_video_files and meta.video_name in self.finished_videos:
                raise ValueError(
                    f"{self.writer_name}: video {meta.video_name!r} appears again after other videos; "
                    "frames of a video must arrive contiguously"
                )
            if self.current_video is not None:
                self.finished_videos.add(self.current_video)
            self.current_video = meta.video_name
        return boxes, scores, class_ids, track_arr, new_video


def _safe_file_stem(video_name: str, fallback: str) -> str:
    """Return a file name for a video (no path separators); ``fallback`` for nameless frames."""
    stem = video_name or fallback
    return stem.replace(os.sep, "_").replace("/", "_")


# ---------------------------------------------------------------------------- scalabel / bdd100k
class _ScalabelFrameEncoder:
    """Turns one frame into Scalabel JSON text without building per-label dicts."""

    def __init__(self, categories: Sequence[str]) -> None:
        self.category_json = [json.dumps(c) for c in categories]
        self.next_label_index = 0

    def encode(
        self,
        meta: FrameMeta,
        boxes: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        track_ids: np.ndarray | None,
    ) -> str:
        num = len(boxes)
        if track_ids is None:
            ids = np.arange(self.next_label_index, self.next_label_index + num).astype(str).tolist()
            self.next_label_index += num
        else:
            ids = track_ids.astype(str).tolist()
        coords = _float_texts(boxes.reshape(-1))
        score_texts = _float_texts(scores)
        categories = [self.category_json[c] for c in class_ids.tolist()]
        labels = ", ".join(
            f'{{"id": "{ids[i]}", "category": {categories[i]}, "score": {score_texts[i]}, "box2d": '
            f'{{"x1": {coords[4 * i]}, "y1": {coords[4 * i + 1]}, "x2": {coords[4 * i + 2]}, '
            f'"y2": {coords[4 * i + 3]}}}}}'
            for i in range(num)
        )
        video = f', "videoName": {json.dumps(meta.video_name)}' if meta.video_name else ""
        return (
            f'{{"name": {json.dumps(meta.name)}{video}, "frameIndex": {int(meta.frame_index)}, "labels": [{labels}]}}'
        )


class _JsonListStream:
    """A JSON list written element by element into an atomic file."""

    def __init__(self, path: Path) -> None:
        self.stream = _AtomicStream(path)
        self.stream.write("[")
        self.empty = True

    def append(self, element_json: str) -> None:
        self.stream.write(element_json if self.empty else ",\n" + element_json)
        self.empty = False

    def commit(self) -> Path:
        self.stream.write("]\n")
        return self.stream.commit()

    def rollback(self) -> None:
        self.stream.rollback()


class _Stream(Protocol):
    def commit(self) -> Path: ...

    def rollback(self) -> None: ...


class _OpenFiles:
    """The file a writer has open now, and the files it already finished (renamed into place)."""

    def __init__(self) -> None:
        self.current: Any = None
        self.finished: list[Path] = []

    def start(self, stream: _Stream) -> None:
        """Finish the open file, then make ``stream`` the open one."""
        self.finish()
        self.current = stream

    def finish(self) -> None:
        """Rename the open file into place."""
        if self.current is not None:
            self.finished.append(self.current.commit())
            self.current = None

    def rollback(self) -> None:
        """Delete the open file's temporary file; finished files stay."""
        if self.current is not None:
            self.current.rollback()
            self.current = None


def _xywh_texts(boxes: np.ndarray) -> tuple[list[str], list[str], list[str], list[str]]:
    """x, y (float32 texts) and width, height (float64 differences) of xyxy boxes."""
    corners = boxes.astype(np.float64)
    return (
        _float_texts(boxes[:, 0]),
        _float_texts(boxes[:, 1]),
        _float64_texts(corners[:, 2] - corners[:, 0]),
        _float64_texts(corners[:, 3] - corners[:, 1]),
    )


class ScalabelWriter:
    """Scalabel JSON: one file for the dataset, or one per video (``per_video``)."""

    def __init__(self, out_dir: Path, dataset_name: str, categories: Sequence[str], per_video: bool = False) -> None:
        self.out_dir = Path(out_dir)
        self.dataset_name = dataset_name
        self.per_video = per_video
        self.checker = _FrameChecker(categories, "scalabel writer", per_video_files=per_video)
        self.encoder = _ScalabelFrameEncoder(categories)
        self._files = _OpenFiles()

    def _video_path(self, video_name: str) -> Path:
        return self.out_dir / "predictions" / "scalabel" / f"{_safe_file_stem(video_name, self.dataset_name)}.json"

    def add_frame(
        self,
        meta: FrameMeta,
        boxes: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        track_ids: np.ndarray | None,
    ) -> None:
        """Append one frame to the open file (a new video's file when ``per_video``)."""
        boxes, scores, class_ids, track_ids, new_video = self.checker.check(meta, boxes, scores, class_ids, track_ids)
        if self.per_video and new_video:
            self._files.start(_JsonListStream(self._video_path(meta.video_name)))
        elif self._files.current is None:
            self._files.start(_JsonListStream(self._dataset_path()))
        self._files.current.append(self.encoder.encode(meta, boxes, scores, class_ids, track_ids))

    def _dataset_path(self) -> Path:
        return self.out_dir / "predictions" / f"{self.dataset_name}.json"

    def close(self) -> list[Path]:
        """Finish the open file; an empty run still gives a (empty-list) dataset file."""
        if self._files.current is None and not self.per_video and not self._files.finished:
            self._files.start(_JsonListStream(self._dataset_path()))
        self._files.finish()
        return list(self._files.finished)

    def abort(self) -> None:
        """Drop the unfinished file."""
        self._files.rollback()


class BDD100KWriter:
    """BDD100K box-tracking submission: one Scalabel JSON per video, optionally zipped."""

    def __init__(
        self, out_dir: Path, dataset_name: str, categories: Sequence[str], zip_submission: bool = False
    ) -> None:
        self.folder = Path(out_dir) / "predictions" / "bdd100k"
        self.dataset_name = dataset_name
        self.zip_submission = zip_submission
        self.checker = _FrameChecker(categories, "bdd100k writer")
        self.encoder = _ScalabelFrameEncoder(categories)
        self._files = _OpenFiles()

    def add_frame(
        self,
        meta: FrameMeta,
        boxes: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        track_ids: np.ndarray | None,
    ) -> None:
        """Append one frame to its video's file; the previous video's file is finished first."""
        boxes, scores, class_ids, track_ids, new_video = self.checker.check(meta, boxes, scores, class_ids, track_ids)
        if new_video:
            self._files.start(
                _JsonListStream(self.folder / f"{_safe_file_stem(meta.video_name, self.dataset_name)}.json")
            )
        self._files.current.append(self.encoder.encode(meta, boxes, scores, class_ids, track_ids))

    def close(self) -> list[Path]:
        """Finish the last video's file and build ``submission.zip`` if asked."""
        self._files.finish()
        written = list(self._files.finished)
        if self.zip_submission:
            written.append(write_submission_zip(self.folder / "submission.zip", self._files.finished))
        return written

    def abort(self) -> None:
        """Drop the unfinished video's file (finished videos stay)."""
        self._files.rollback()


def write_submission_zip(zip_path: Path, files: Sequence[Path]) -> Path:
    """Zip ``files`` (flat, by file name, sorted) into ``zip_path``, atomically."""
    with atomic_open(zip_path, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files, key=lambda p: p.name):
            archive.write(path, arcname=path.name)
    return zip_path


# ---------------------------------------------------------------------------- motchallenge
class MOTChallengeWriter:
    """MOTChallenge tracker output: one ``<video>.txt`` per video."""

    def __init__(self, out_dir: Path, dataset_name: str, categories: Sequence[str]) -> None:
        self.folder = Path(out_dir) / "predictions" / "motchallenge"
        self.dataset_name = dataset_name
        self.checker = _FrameChecker(categories, "motchallenge writer")
        self._files = _OpenFiles()

    def add_frame(
        self,
        meta: FrameMeta,
        boxes: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        track_ids: np.ndarray | None,
    ) -> None:
        """Append the frame's lines to its video's file."""
        boxes, scores, class_ids, track_ids, new_video = self.checker.check(meta, boxes, scores, class_ids, track_ids)
        if new_video:
            self._files.start(_AtomicStream(self.folder / f"{_safe_file_stem(meta.video_name, self.dataset_name)}.txt"))
        num = len(boxes)
        if num == 0:
            return
        x1, y1, widths, heights = _xywh_texts(boxes)
        score_texts = _float_texts(scores)
        ids = (np.full(num, -1, np.int64) if track_ids is None else track_ids).astype(str).tolist()
        frame = int(meta.frame_index) + 1
        self._files.current.write(
            "".join(
                f"{frame},{ids[i]},{x1[i]},{y1[i]},{widths[i]},{heights[i]},{score_texts[i]},-1,-1,-1\n"
                for i in range(num)
            )
        )

    def close(self) -> list[Path]:
        """Finish the last video's file."""
        self._files.finish()
        return list(self._files.finished)

    def abort(self) -> None:
        """Drop the unfinished video's file."""
        self._files.rollback()


# ---------------------------------------------------------------------------- coco
class COCOWriter:
    """COCO detection results: one JSON list for the dataset, plus the images/categories file it refers to."""

    def __init__(
        self, out_dir: Path, dataset_name: str, categories: Sequence[str], category_ids: Sequence[int] | None = None
    ) -> None:
        self.path = Path(out_dir) / "predictions" / f"{dataset_name}_coco.json"
        self.images_path = Path(out_dir) / "predictions" / f"{dataset_name}_coco_images.json"
        self.categories = list(categories)
        # The dataset's own ids only when every category has one: mixing them with positions could collide.
        own = None if category_ids is None else np.asarray(category_ids, dtype=np.int64)
        complete = own is not None and len(own) == len(self.categories) and bool((own >= 0).all())
        self.category_ids = own if complete and own is not None else np.arange(1, len(self.categories) + 1)
        self.checker = _FrameChecker(categories, "coco writer", per_video_files=False)
        self._open: _JsonListStream | None = None
        self._images: list[dict[str, Any]] = []  # one small entry per frame (no predictions kept)

    def _image_id(self, meta: FrameMeta) -> int:
        if meta.image_id >= 0:
            return int(meta.image_id)
        if meta.frame_row >= 0:
            return int(meta.frame_row)
        return len(self._images)

    def add_frame(
        self,
        meta: FrameMeta,
        boxes: np.ndarray,
        scores: np.ndarray,
        class_ids: np.ndarray,
        track_ids: np.ndarray | None,
    ) -> None:
        """Append the frame's detections to the results list."""
        boxes, scores, class_ids, _, _ = self.checker.check(meta, boxes, scores, class_ids, track_ids)
        if self._open is None:
            self._open = _JsonListStream(self.path)
        image_id = self._image_id(meta)
        height, width = meta.original_hw
        self._images.append({"id": image_id, "file_name": meta.name, "width": int(width), "height": int(height)})
        if len(boxes) == 0:
            return
        x1, y1, widths, heights = _xywh_texts(boxes)
        score_texts = _float_texts(scores)
        category_ids = self.category_ids[class_ids].tolist()
        self._open.append(
            ",\n".join(
                f'{{"image_id": {image_id}, "category_id": {category_ids[i]}, '
                f'"bbox": [{x1[i]}, {y1[i]}, {widths[i]}, {heights[i]}], "score": {score_texts[i]}}}'
                for i in range(len(boxes))
            )
        )

    def close(self) -> list[Path]:
        """Finish the results file (an empty list when nothing was detected) and write the images file."""
        if self._open is None:
            self._open = _JsonListStream(self.path)
        path = self._open.commit()
        self._open = None
        header = {
            "images": self._images,
            "annotations": [],
            "categories": [
                {"id": int(cid), "name": name} for cid, name in zip(self.category_ids, self.categories, strict=True)
            ],
        }
        atomic_write_json(self.images_path, header)
        return [path, self.images_path]

    def abort(self) -> None:
        """Drop the unfinished results file."""
        if self._open is not None:
            self._open.rollback()
            self._open = None


def build_writers(
    formats: Sequence[str],
    out_dir: Path,
    dataset_name: str,
    categories: Sequence[str],
    per_video: bool = False,
    zip_submission: bool = False,
    category_ids: Sequence[int] | None = None,
) -> list[PredictionWriter]:
    """One writer per requested format (see the module docstring for the files each writes).

    ``category_ids``: the dataset's own id per category (the store's
    ``category_ids``), used by the COCO writer when every category has one.
    """
    writers: list[PredictionWriter] = []
    for name in formats:
        if name == "scalabel":
            writers.append(ScalabelWriter(out_dir, dataset_name, categories, per_video=per_video))
        elif name == "bdd100k":
            writers.append(BDD100KWriter(out_dir, dataset_name, categories, zip_submission=zip_submission))
        elif name == "motchallenge":
            writers.append(MOTChallengeWriter(out_dir, dataset_name, categories))
        elif name == "coco":
            writers.append(COCOWriter(out_dir, dataset_name, categories, category_ids))
        else:
            raise ConfigError(
                f"launch.output_formats: unknown format {name!r}; expected one of "
                + ", ".join(repr(f) for f in WRITER_FORMATS)
            )
    return writers


def abort_all(writers: Sequence[PredictionWriter]) -> None:
    """Abort every writer, even if one of them fails (used on an interrupted run)."""
    for writer in writers:
        with contextlib.suppress(Exception):
            writer.abort()


# ---------------------------------------------------------------------------- distributed runs
_RANK_SUFFIX = re.compile(r"\.rank\d+")


def rank_file_name(dataset_name: str, rank: int, world_size: int) -> str:
    """The dataset name a rank's writers use: ``<dataset>.rank<N>`` when several processes write."""
    return f"{dataset_name}.rank{rank}" if world_size > 1 else dataset_name


def merge_rank_files(files_per_rank: Sequence[Sequence[Path]], zip_submission: bool = False) -> list[Path]:
    """Merge what the processes of a distributed run wrote into the single-process layout.

    Per-video files need nothing: a video is inferred by exactly one process.
    Dataset-level files carry ``.rank<N>`` in their names; each group of them
    becomes one file without the suffix (JSON lists concatenated in rank
    order, the COCO images files' ``images`` joined, text files appended) and
    the rank files are removed. With ``zip_submission`` the BDD100K
    ``submission.zip`` is rebuilt from every process's video files (each
    process zipped only its own). Run it on one process after all have closed
    their writers; returns the files of the merged result.
    """
    merged: list[Path] = []
    groups: dict[Path, list[Path]] = {}
    bdd100k_videos: list[Path] = []
    for files in files_per_rank:
        for path in files:
            if _RANK_SUFFIX.search(path.name):
                groups.setdefault(path.with_name(_RANK_SUFFIX.sub("", path.name)), []).append(path)
            elif path.name == "submission.zip":
                continue
            else:
                merged.append(path)
                if path.parent.name == "bdd100k" and path.suffix == ".json":
                    bdd100k_videos.append(path)
    for target, parts in groups.items():
        if not all(part.is_file() for part in parts):  # e.g. nodes without a shared work_dir
            warnings.warn(
                f"cannot merge {target.name}: not every process's file is visible here; "
                "leaving the per-process files (put work_dir on a shared file system to get one file)",
                stacklevel=2,
            )
            merged.extend(part for part in parts if part.is_file())
            continue
        _merge_parts(target, parts)
        merged.append(target)
        if target.parent.name == "bdd100k":
            bdd100k_videos.append(target)
        for part in parts:
            part.unlink(missing_ok=True)
    if zip_submission and bdd100k_videos:
        merged.append(write_submission_zip(bdd100k_videos[0].parent / "submission.zip", bdd100k_videos))
    return merged


def _merge_parts(target: Path, parts: Sequence[Path]) -> None:
    """Write ``target`` from the ranks' ``parts`` (see :func:`merge_rank_files`)."""
    if target.suffix != ".json":
        with atomic_open(target, "w") as out:
            for part in parts:
                out.write(part.read_text())
        return
    if target.name.endswith("_coco_images.json"):
        headers = [json.loads(part.read_text()) for part in parts]
        header = dict(headers[0])
        header["images"] = [image for h in headers for image in h["images"]]
        atomic_write_json(target, header)
        return
    # A JSON list per rank: splice the elements' text rather than parsing every label.
    bodies = []
    for part in parts:
        text = part.read_text().strip()
        if not (text.startswith("[") and text.endswith("]")):
            raise ValueError(f"{part}: expected a JSON list written by a prediction writer")
        body = text[1:-1].strip()
        if body:
            bodies.append(body)
    with atomic_open(target, "w") as out:
        out.write("[\n" + ",\n".join(bodies) + "\n]\n")
