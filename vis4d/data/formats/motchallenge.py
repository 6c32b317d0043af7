"""MOTChallenge: ``SEQ/seqinfo.ini``, ``SEQ/gt/gt.txt`` (or ``det/det.txt``) and ``SEQ.txt`` tracker outputs.

Reading: :func:`vis4d.data.datasets.motchallenge.load_motchallenge`. Prediction
files: ``predictions/motchallenge/<video>.txt`` with lines
``frame,id,x,y,w,h,score,-1,-1,-1`` (1-based frame = ``frame_index + 1``,
top-left corner and size in pixels; id ``-1`` for detections without track).
Evaluation follows the MOT devkit: predictions matched to a distractor
(ignore region) are removed before scoring (``ignore_rule="motchallenge"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vis4d.common.structures import FrameOutput
from vis4d.data.datasets.motchallenge import (
    box_file,
    load_motchallenge,
    load_motchallenge_file,
    motchallenge_source_files,
    read_seqinfo,
)
from vis4d.data.formats.base import DataFormat, DatasetSource, ReadRequest
from vis4d.data.formats.writing import AtomicStream, PredictionWriter, float_texts, xywh_texts
from vis4d.data.mapping import LabelConfig, LoadOptions
from vis4d.data.store import AnnotationStore


class MOTChallengeWriter(PredictionWriter):
    """MOTChallenge tracker output: one ``<video>.txt`` per video."""

    format_name = "motchallenge"

    def write_frame(self, frame: FrameOutput, new_video: bool) -> None:
        """Append the frame's lines to its video's file."""
        if new_video:
            self.start_file(AtomicStream(self.video_file("motchallenge", frame.meta.video_name, ".txt")))
        num = len(frame.boxes)
        if num == 0:
            return
        x1, y1, widths, heights = xywh_texts(frame.boxes)
        scores = float_texts(frame.scores)
        ids = (np.full(num, -1, np.int64) if frame.track_ids is None else frame.track_ids).astype(str).tolist()
        index = int(frame.meta.frame_index) + 1
        self.open_file.write(
            "".join(
                f"{index},{ids[i]},{x1[i]},{y1[i]},{widths[i]},{heights[i]},{scores[i]},-1,-1,-1\n" for i in range(num)
            )
        )


def sequence_of(file: Path) -> tuple[str, Path | None]:
    """The video a single MOTChallenge file belongs to, and its sequence folder if it has one.

    ``SEQ/det/det.txt`` and ``SEQ/gt/gt.txt`` belong to ``SEQ``; so does a
    file directly in a sequence folder (one with ``seqinfo.ini``, ``gt.txt``,
    ``gt/`` or ``img1/``: motmetrics' ``TUD-Campus/test.txt``) and a ``det.txt``
    anywhere (its folder); any other file is the video of its stem
    (``MOT17-02.txt``), so that tracks written for it are named as
    ``vis4d eval`` looks for them.
    """
    parent = file.resolve().parent
    if parent.name in ("det", "gt"):
        return parent.parent.name, parent.parent
    markers = ("seqinfo.ini", "gt.txt", "gt", "img1")
    if file.stem == "det" or any((parent / marker).exists() for marker in markers):
        return parent.name, parent
    return file.stem, None


def _detect(path: Path) -> bool:
    """A folder with at least one ``SEQ/gt/gt.txt`` (or ``SEQ/gt.txt``), or one such ``.txt`` file."""
    if path.is_file():
        return path.suffix.lower() == ".txt"
    return path.is_dir() and any(box_file(seq, "gt").is_file() for seq in path.iterdir() if seq.is_dir())


def _open_section(section: Any, categories: Sequence[str], label_config: LabelConfig | None) -> DatasetSource:
    def build() -> AnnotationStore:
        return load_motchallenge(
            section.root,
            categories,
            sequences=section.sequences,
            use_public_detections=section.use_public_detections,
            options=LoadOptions.of(section),
        )

    files = motchallenge_source_files(section.root, section.sequences, section.use_public_detections)
    return DatasetSource(build, files, {"root": str(Path(section.root).resolve())})


def _read(request: ReadRequest) -> AnnotationStore:
    labels, results = request.labels, request.predictions
    if request.path.is_file():
        return _read_sequence_file(request)
    return load_motchallenge(request.path, labels.categories, results_dir=results, options=request.load_options())


def _read_sequence_file(request: ReadRequest) -> AnnotationStore:
    """One sequence's ``gt.txt`` (``--gt SEQ/gt/gt.txt``), and its tracker output: a file, or ``PRED/SEQ.txt``."""
    video, folder = sequence_of(request.path)
    info = read_seqinfo(folder) if folder is not None and (folder / "seqinfo.ini").is_file() else None
    categories, options = request.labels.categories, request.load_options()
    gt = load_motchallenge_file(request.path, video, info, categories, options, source="gt")
    if request.predictions is None:
        return gt
    file = request.predictions if request.predictions.is_file() else request.predictions / f"{video}.txt"
    return load_motchallenge_file(file, video, info, categories, options, source="results", length=gt.num_frames)


MOTCHALLENGE = DataFormat(
    name="motchallenge",
    summary="MOTChallenge: a root of SEQ/seqinfo.ini + SEQ/gt/gt.txt (or one gt.txt); predictions SEQ.txt files",
    open_section=_open_section,
    read=_read,
    detect=_detect,
    writer=MOTChallengeWriter,
    ignore_rule="motchallenge",
    predicted_videos_only=True,
)
