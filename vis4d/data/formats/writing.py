"""What every prediction writer shares: frame checks, atomic streamed files, distributed merging.

Writers receive frames (:class:`~vis4d.common.structures.FrameOutput`) in
inference order, the frames of a video contiguous and in temporal order, with
boxes already in original-image pixels, and stream them to disk, so memory
does not grow with the size of the test set. Each format's writer lives in its
format module (:mod:`vis4d.data.formats.scalabel`, ``coco``, ``motchallenge``)
and only says which file a frame goes to and how it is encoded.

Every file a writer produces is first written under a hidden temporary name in
its final folder and renamed into place when it is complete: per-video files
when their video ends, whole-dataset files on :meth:`PredictionWriter.close`.
A run that is killed therefore leaves complete files or none, and
:meth:`PredictionWriter.abort` removes the temporary files of an interrupted
run.

Under DDP each process writes the videos it infers, dataset-level files under
``<dataset>.rank<N>`` names; :func:`merge_rank_files` then turns them into the
single-process layout on the first process (this needs a ``work_dir`` every
process can see, as on one machine or a shared file system).

Numbers are written with the shortest decimal text that reads back to the
same float32 value, so a round trip through a file is exact.
"""

from __future__ import annotations

import dataclasses
import json
import re
import warnings
import zipfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, ClassVar, Protocol

import numpy as np

from vis4d.common.io import atomic_open, atomic_write_json
from vis4d.common.names import UniqueNames, safe_name
from vis4d.common.structures import FrameOutput


@dataclasses.dataclass(frozen=True)
class WriterSettings:
    """Where a dataset's prediction files go and what a writer needs to know about the dataset.

    ``category_ids``: the dataset's own id per category (the store's
    ``category_ids``), used by the COCO writer when every category has one.
    ``per_video`` (Scalabel: one file per video) and ``zip_submission``
    (BDD100K: also ``submission.zip``) are the launch options of the same names.
    ``subfolder``: the folder of ``out_dir`` the files go to (``vis4d track``
    writes into ``--output`` itself: ``""``).
    """

    out_dir: Path
    dataset_name: str
    categories: Sequence[str]
    per_video: bool = False
    zip_submission: bool = False
    category_ids: Sequence[int] | None = None
    subfolder: str = "predictions"

    @property
    def predictions_dir(self) -> Path:
        """``<out_dir>/<subfolder>`` (``predictions`` in a run): every writer's files are below it."""
        return Path(self.out_dir) / self.subfolder

    @property
    def dataset_stem(self) -> str:
        """The dataset name as a file name (config names are plain already; this is the last guard)."""
        return safe_name(self.dataset_name, "predictions")


class _Stream(Protocol):
    def commit(self) -> Path: ...

    def rollback(self) -> None: ...


class _RollbackRequested(Exception):
    """Raised into an open atomic file to make it delete its temporary file."""


class AtomicStream:
    """A text or binary file kept open across calls and renamed into place on :meth:`commit`.

    Wraps :func:`vis4d.common.io.atomic_open`, whose context is entered here and
    exited on commit (rename) or rollback (temporary file removed).
    """

    def __init__(self, path: Path, mode: str = "w") -> None:
        self.path = path
        self._context = atomic_open(path, mode)
        self.handle: IO[Any] = self._context.__enter__()

    def write(self, text: str) -> None:
        """Append ``text``."""
        self.handle.write(text)

    def commit(self) -> Path:
        """Rename the finished file into place."""
        self._context.__exit__(None, None, None)
        return self.path

    def rollback(self) -> None:
        """Delete the temporary file."""
        error = _RollbackRequested()
        self._context.__exit__(_RollbackRequested, error, None)


class JsonListStream:
    """A JSON list written element by element into an atomic file."""

    def __init__(self, path: Path) -> None:
        self.stream = AtomicStream(path)
        self.stream.write("[")
        self.empty = True

    def append(self, element_json: str) -> None:
        """Append one element's JSON text."""
        self.stream.write(element_json if self.empty else ",\n" + element_json)
        self.empty = False

    def commit(self) -> Path:
        """Close the list and rename the file into place."""
        self.stream.write("]\n")
        return self.stream.commit()

    def rollback(self) -> None:
        """Delete the temporary file."""
        self.stream.rollback()


def float_texts(values: np.ndarray) -> list[str]:
    """Shortest decimal text of each value that reads back to the same float32."""
    return np.asarray(values, dtype=np.float32).astype(str).tolist()  # type: ignore[no-any-return]


def xywh_texts(boxes: np.ndarray) -> tuple[list[str], list[str], list[str], list[str]]:
    """x, y (float32 texts) and width, height (float64 differences, exact for float32 corners) of xyxy boxes."""
    corners = boxes.astype(np.float64)
    sizes = [(corners[:, 2] - corners[:, 0]).astype(str).tolist(), (corners[:, 3] - corners[:, 1]).astype(str).tolist()]
    return float_texts(boxes[:, 0]), float_texts(boxes[:, 1]), sizes[0], sizes[1]


class PredictionWriter(ABC):
    """Streams per-frame predictions of one dataset into one format's files.

    Subclasses implement :meth:`write_frame` (which file the frame goes to,
    how it is encoded) and may add files on :meth:`close` with
    :meth:`finish_files`. The file a writer has open is ``self.open_file``;
    :meth:`start_file` finishes it and opens the next.
    """

    format_name: ClassVar[str]

    def __init__(self, settings: WriterSettings) -> None:
        self.settings = settings
        self.num_classes = len(settings.categories)
        self.open_file: Any = None
        self.finished: list[Path] = []
        self._current_video: str | None = None
        self._finished_videos: set[str] = set()
        self._file_names = UniqueNames(settings.dataset_stem)

    def video_file(self, folder: str, video_name: str, suffix: str) -> Path:
        """``predictions/<folder>/<video><suffix>``: the video name (read from label files) made a safe file name.

        Names with separators or ``..`` stay inside the folder, and two videos
        never share a file (the second of ``a/b`` and ``a_b`` gets ``a_b-2``).
        """
        return self.settings.predictions_dir / folder / f"{self._file_names(video_name)}{suffix}"

    @property
    def needs_contiguous_videos(self) -> bool:
        """Writers of per-video files need a video's frames together; whole-dataset files take any order."""
        return True

    def add_frame(self, frame: FrameOutput) -> None:
        """Check one frame and write it."""
        checked = self._checked(frame)
        self.write_frame(checked, self._starts_video(checked.meta.video_name))

    @abstractmethod
    def write_frame(self, frame: FrameOutput, new_video: bool) -> None:
        """Write a checked frame (typed arrays of equal length); ``new_video``: the first frame of its video."""

    def start_file(self, stream: _Stream) -> None:
        """Finish the open file, then make ``stream`` the open one."""
        self.finish_open_file()
        self.open_file = stream

    def finish_open_file(self) -> None:
        """Rename the open file into place."""
        if self.open_file is not None:
            self.finished.append(self.open_file.commit())
            self.open_file = None

    def finish_files(self) -> list[Path]:
        """Files written after the last frame's file is finished (a zip, an index); none by default."""
        return []

    def close(self) -> list[Path]:
        """Finish every file atomically; returns the files written."""
        self.finish_open_file()
        return [*self.finished, *self.finish_files()]

    def abort(self) -> None:
        """Remove the temporary file of an interrupted run; finished files stay."""
        if self.open_file is not None:
            self.open_file.rollback()
            self.open_file = None

    def _checked(self, frame: FrameOutput) -> FrameOutput:
        """The frame with typed arrays; lengths and class ids checked."""
        boxes = np.asarray(frame.boxes, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(frame.scores, dtype=np.float32).reshape(-1)
        class_ids = np.asarray(frame.class_ids, dtype=np.int64).reshape(-1)
        tracks = None if frame.track_ids is None else np.asarray(frame.track_ids, dtype=np.int64).reshape(-1)
        num, name = len(boxes), f"{self.format_name} writer: frame {frame.meta.name!r}"
        if len(scores) != num or len(class_ids) != num or (tracks is not None and len(tracks) != num):
            raise ValueError(
                f"{name}: boxes, scores, class_ids and track_ids must have the same length, got {num}, "
                f"{len(scores)}, {len(class_ids)}, {None if tracks is None else len(tracks)}"
            )
        if num and (class_ids.min() < 0 or class_ids.max() >= self.num_classes):
            raise ValueError(f"{name}: class id out of range 0..{self.num_classes - 1}")
        return FrameOutput(frame.meta, boxes, scores, class_ids, tracks)

    def _starts_video(self, video_name: str) -> bool:
        """Whether this frame starts a new video; rejects a video that comes back after others."""
        if video_name == self._current_video:
            return False
        if self.needs_contiguous_videos and video_name in self._finished_videos:
            raise ValueError(
                f"{self.format_name} writer: video {video_name!r} appears again after other videos; "
                "frames of a video must arrive contiguously"
            )
        if self._current_video is not None:
            self._finished_videos.add(self._current_video)
        self._current_video = video_name
        return True


def write_submission_zip(zip_path: Path, files: Sequence[Path]) -> Path:
    """Zip ``files`` (flat, by file name, sorted) into ``zip_path``, atomically."""
    with atomic_open(zip_path, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(files, key=lambda p: p.name):
            archive.write(path, arcname=path.name)
    return zip_path


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
            elif path.name != "submission.zip":
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
