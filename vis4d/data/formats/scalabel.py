"""Scalabel JSON, BDD100K (Scalabel with BDD100K's label config) and the synthetic videos (written as Scalabel).

Reading: :func:`vis4d.data.datasets.scalabel.load_scalabel`. Prediction files:

``scalabel``
    ``predictions/<dataset>.json``: one JSON list of frames
    ``{name, videoName, frameIndex, labels: [{id, category, score,
    box2d: {x1, y1, x2, y2}}]}``; with ``per_video`` one such list per video
    in ``predictions/scalabel/<video>.json`` instead.
``bdd100k``
    The BDD100K box-tracking submission layout: ``predictions/bdd100k/<video>.json``
    (Scalabel frames of one video) and, with ``zip_submission``,
    ``predictions/bdd100k/submission.zip`` holding those files at its root.

Label ids: with track ids, a label's ``id`` is the track id as a string.
Without (a detector), it is the label's running index over the whole file, so
ids are unique and no loader mistakes them for tracks.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vis4d.common.structures import FrameOutput
from vis4d.data.datasets.bdd100k import bdd100k_track_label_config
from vis4d.data.datasets.scalabel import load_scalabel, scalabel_files
from vis4d.data.formats.base import DataFormat, DatasetSource, ReadRequest
from vis4d.data.formats.writing import (
    JsonListStream,
    PredictionWriter,
    WriterSettings,
    float_texts,
    write_submission_zip,
)
from vis4d.data.mapping import LabelConfig, LoadOptions, load_label_config
from vis4d.data.store import AnnotationStore


class _FrameEncoder:
    """Turns one frame into Scalabel JSON text without building per-label dicts."""

    def __init__(self, categories: Sequence[str]) -> None:
        self.category_json = [json.dumps(c) for c in categories]
        self.next_label_index = 0

    def encode(self, frame: FrameOutput) -> str:
        num, meta = len(frame.boxes), frame.meta
        if frame.track_ids is None:
            ids = np.arange(self.next_label_index, self.next_label_index + num).astype(str).tolist()
            self.next_label_index += num
        else:
            ids = frame.track_ids.astype(str).tolist()
        coords = float_texts(frame.boxes.reshape(-1))
        score_texts = float_texts(frame.scores)
        categories = [self.category_json[c] for c in frame.class_ids.tolist()]
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


class ScalabelWriter(PredictionWriter):
    """Scalabel JSON: one file for the dataset, or one per video (``per_video``)."""

    format_name = "scalabel"

    def __init__(self, settings: WriterSettings) -> None:
        super().__init__(settings)
        self.encoder = _FrameEncoder(settings.categories)
        self.dataset_file = settings.predictions_dir / f"{settings.dataset_stem}.json"

    @property
    def needs_contiguous_videos(self) -> bool:  # noqa: D102
        return self.settings.per_video

    def write_frame(self, frame: FrameOutput, new_video: bool) -> None:
        """Append the frame to the open file (a new video's file when ``per_video``)."""
        if self.settings.per_video and new_video:
            self.start_file(JsonListStream(self.video_file("scalabel", frame.meta.video_name, ".json")))
        elif self.open_file is None:
            self.start_file(JsonListStream(self.dataset_file))
        self.open_file.append(self.encoder.encode(frame))

    def close(self) -> list[Path]:
        """Finish the open file; an empty run still gives a (empty-list) dataset file."""
        if self.open_file is None and not self.settings.per_video and not self.finished:
            self.start_file(JsonListStream(self.dataset_file))
        return super().close()


class BDD100KWriter(PredictionWriter):
    """BDD100K box-tracking submission: one Scalabel JSON per video, optionally zipped."""

    format_name = "bdd100k"

    def __init__(self, settings: WriterSettings) -> None:
        super().__init__(settings)
        self.encoder = _FrameEncoder(settings.categories)

    def write_frame(self, frame: FrameOutput, new_video: bool) -> None:
        """Append the frame to its video's file; the previous video's file is finished first."""
        if new_video:
            self.start_file(JsonListStream(self.video_file("bdd100k", frame.meta.video_name, ".json")))
        self.open_file.append(self.encoder.encode(frame))

    def finish_files(self) -> list[Path]:
        """``submission.zip`` of the video files, if asked."""
        if not self.settings.zip_submission:
            return []
        return [write_submission_zip(self.settings.predictions_dir / "bdd100k" / "submission.zip", self.finished)]


# ---------------------------------------------------------------------------- registry entries
def _scalabel_like(
    name: str,
    summary: str,
    writer: type[PredictionWriter],
    default_label_config: Callable[[], LabelConfig] | None = None,
) -> DataFormat:
    """The entry of a Scalabel-JSON format; ``default_label_config`` applies when none is given (BDD100K's)."""

    def label_config_in_force(given: LabelConfig | None) -> LabelConfig | None:
        return given or (default_label_config() if default_label_config is not None else None)

    def open_section(section: Any, categories: Sequence[str], label_config: LabelConfig | None) -> DatasetSource:
        label_files = [] if label_config or not section.label_config else [Path(section.label_config)]
        if label_config is None and section.label_config:
            label_config = load_label_config(section.label_config)
        resolved = label_config_in_force(label_config)

        def build() -> AnnotationStore:
            options = LoadOptions.of(section)
            return load_scalabel(
                section.annotations, categories, section.image_root, label_config=resolved, options=options
            )

        key_parts = {"label_config": resolved, "image_root": str(Path(section.image_root).resolve())}
        return DatasetSource(build, [*scalabel_files(section.annotations), *label_files], key_parts)

    def read(request: ReadRequest) -> AnnotationStore:
        """Predictions are Scalabel files of their own: read like ground truth, with its categories."""
        labels = request.labels
        return load_scalabel(
            request.predictions or request.path,
            labels.categories,
            request.image_root,
            label_config=label_config_in_force(labels.label_config),
            options=request.load_options(),
            progress=request.progress,
            predictions=request.predictions is not None,
        )

    return DataFormat(
        name=name,
        summary=summary,
        open_section=open_section,
        read=read,
        writer=writer,
        default_label_config=default_label_config,
    )


def _open_synthetic_section(section: Any, categories: Sequence[str], label_config: LabelConfig | None) -> DatasetSource:
    from vis4d.data.datasets.synthetic import ensure_synthetic

    labels, image_root = ensure_synthetic(section)

    def build() -> AnnotationStore:
        return load_scalabel(labels, categories, image_root, options=LoadOptions.of(section))

    return DatasetSource(build, [Path(labels)], {"image_root": str(Path(image_root).resolve())})


SCALABEL = _scalabel_like(
    "scalabel", "Scalabel JSON: a list of frames, {'frames': [...]}, or a folder of per-video files", ScalabelWriter
)
BDD100K = _scalabel_like(
    "bdd100k",
    "BDD100K labels: Scalabel JSON with BDD100K's tracking label config (mappings, super-categories)",
    BDD100KWriter,
    bdd100k_track_label_config,
)
SYNTHETIC = DataFormat(
    name="synthetic",
    summary="procedurally generated videos of moving shapes, written as Scalabel JSON on first use",
    open_section=_open_synthetic_section,
)
