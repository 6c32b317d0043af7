"""What a prediction run has finished, kept on disk so that ``predict --resume`` continues after it.

The unit of progress is a *segment*: a whole video for a tracker, whose state
at a video's start is only the next track id (saved with the segment); up to
``launch.journal_frames`` (``--journal_frames``, default 100) consecutive frames of a video for a detector, which
carries nothing from frame to frame (with ``--visualize`` whole videos too: a
video's MP4 is written in one go). Each finished segment is one file,
``RUN/predict/progress/<dataset>/<first frame row>.npz``, written atomically:
the frames' outputs (boxes, scores, classes, track ids as float32/int64, so
the files written from them are the same to the byte) and their metadata.

A segment is written once every consumer is done with its frames: the
prediction writers have them, and with ``--visualize`` the video's MP4 is
finished (the visualizer finishes it when the next video starts or the run
ends). A run killed at any point has therefore journaled only what is safe
to skip; what it was doing is done again.

Resuming, the data loaders leave the journaled frames out, and the journaled
segments are handed to the prediction writers in the order the frames would
have come (:meth:`PredictionJournal.on_predict_batch_start` replays those
before each batch, :meth:`PredictionJournal.on_predict_epoch_end` the rest);
the model continues with the tracking state saved after the last replayed
segment. The writers see what they saw in an uninterrupted run, so every
prediction file comes out the same. This callback must come before the
writer in the trainer's list (it replays before the writer closes).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import numpy as np

from vis4d.common.io import atomic_open
from vis4d.common.structures import FrameMeta, FrameOutput
from vis4d.data.store import AnnotationStore
from vis4d.engine.callbacks.writer import PredictionFileWriter
from vis4d.model.base import Vis4DModel


@dataclasses.dataclass
class _Segment:
    """A journaled segment: where it is, and which frame rows of its dataset it holds."""

    dataset: int
    path: Path
    rows: np.ndarray

    @property
    def first_row(self) -> int:
        return int(self.rows[0])


@dataclasses.dataclass
class _Pending:
    """A finished segment waiting until every consumer is done with it."""

    dataset: int
    frames: list[FrameOutput]
    state: dict[str, int] | None
    ends_video: bool


def save_segment(path: Path, frames: Sequence[FrameOutput], state: dict[str, int] | None) -> None:
    """Write one segment's frames (outputs and metadata) and the tracking state after it, atomically."""
    counts = np.array([len(f.boxes) for f in frames], dtype=np.int64)
    tracks = [f.track_ids for f in frames]
    has_tracks = all(t is not None for t in tracks) and bool(frames)
    arrays = {
        "rows": np.array([f.meta.frame_row for f in frames], dtype=np.int64),
        "counts": counts,
        "boxes": np.concatenate([np.asarray(f.boxes, np.float32).reshape(-1, 4) for f in frames]),
        "scores": np.concatenate([np.asarray(f.scores, np.float32).reshape(-1) for f in frames]),
        "class_ids": np.concatenate([np.asarray(f.class_ids, np.int64).reshape(-1) for f in frames]),
        "track_ids": np.concatenate([np.asarray(t, np.int64).reshape(-1) for t in tracks if t is not None])
        if has_tracks
        else np.zeros(0, np.int64),
        "has_tracks": np.array(has_tracks),
        "meta": np.array(json.dumps([dataclasses.asdict(f.meta) for f in frames])),
        "state": np.array(json.dumps(state)),
    }
    with atomic_open(path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]


def load_segment(path: Path) -> tuple[list[FrameOutput], dict[str, int] | None]:
    """The frames and tracking state :func:`save_segment` wrote (no pickles are read)."""
    with np.load(path, allow_pickle=False) as data:
        ends = np.cumsum(data["counts"])
        starts = ends - data["counts"]
        boxes, scores, classes = data["boxes"], data["scores"], data["class_ids"]
        tracks = data["track_ids"] if bool(data["has_tracks"]) else None
        metas = [_meta(fields) for fields in json.loads(str(data["meta"]))]
        state = json.loads(str(data["state"]))
    frames = [
        FrameOutput(meta, boxes[a:b], scores[a:b], classes[a:b], None if tracks is None else tracks[a:b])
        for meta, a, b in zip(metas, starts.tolist(), ends.tolist(), strict=True)
    ]
    return frames, state


def _meta(fields: dict[str, Any]) -> FrameMeta:
    """A frame's metadata from JSON (lists back to the tuples the dataclass holds)."""
    values: dict[str, Any] = {key: tuple(value) if isinstance(value, list) else value for key, value in fields.items()}
    return FrameMeta(**values)


def _model(module: pl.LightningModule) -> Vis4DModel:
    """The vis4d model inside the Lightning module."""
    model = module.model
    assert isinstance(model, Vis4DModel)
    return model


class PredictionJournal(pl.Callback):
    """Journals finished segments of a prediction run and replays those of an interrupted one (module docstring)."""

    def __init__(
        self,
        folder: Path,
        writer: PredictionFileWriter,
        stores: Sequence[AnnotationStore],
        chunk_frames: int,
        whole_videos: bool = False,
    ) -> None:
        self.folder = folder
        self.writer = writer
        self.stores = list(stores)
        self.whole_videos = whole_videos
        self.chunk_frames = chunk_frames
        self._journaled: list[_Segment] = []  # of an interrupted run, in replay order
        self._replayed = 0  # how many of them went to the writer
        self._open: list[FrameOutput] = []  # the segment being recorded
        self._open_dataset = -1
        self._pending: list[_Pending] = []
        self._last: tuple[int, str] | None = None  # dataset and video of the last frame recorded

    # ------------------------------------------------------------- on disk
    def segment_path(self, dataset: int, first_row: int) -> Path:
        """``progress/<dataset index>/<first row>.npz``."""
        return self.folder / str(dataset) / f"{first_row:010d}.npz"

    def clear(self) -> None:
        """Forget an earlier run's progress (a new prediction run into the same folder)."""
        shutil.rmtree(self.folder, ignore_errors=True)
        self._journaled, self._replayed = [], 0

    def load(self) -> None:
        """Read which segments an interrupted run finished (an unreadable one is done again, with a warning)."""
        segments = []
        for path in sorted(self.folder.glob("*/*.npz")):
            try:
                with np.load(path, allow_pickle=False) as data:
                    rows = np.asarray(data["rows"], dtype=np.int64)
                dataset = int(path.parent.name)
            except (OSError, ValueError, KeyError) as err:
                print(f"warning: predict --resume: {path} is unreadable ({err}); its frames are predicted again",
                      file=sys.stderr)  # fmt: skip
                continue
            if len(rows) and dataset < len(self.stores):
                segments.append(_Segment(dataset, path, rows))
        self._journaled = sorted(segments, key=lambda s: (s.dataset, s.first_row))
        self._replayed = 0

    def done_rows(self) -> dict[int, np.ndarray]:
        """Per dataset, the frame rows the journal holds (the data loaders leave them out)."""
        done: dict[int, list[np.ndarray]] = {}
        for segment in self._journaled:
            done.setdefault(segment.dataset, []).append(segment.rows)
        return {dataset: np.concatenate(parts) for dataset, parts in done.items()}

    @property
    def journaled_frames(self) -> int:
        """Frames the interrupted run finished."""
        return sum(len(segment.rows) for segment in self._journaled)

    # ---------------------------------------------------------- replaying
    def replay(self, module: pl.LightningModule | None, before: tuple[int, int] | None = None) -> None:
        """Hand the journaled segments that come before ``(dataset, row)`` (all: None) to the writer, in order.

        The model then continues with the tracking state saved after the
        last of them (it comes right before the frames it infers next).
        """
        state: dict[str, int] | None = None
        replayed_any = False
        while self._replayed < len(self._journaled):
            segment = self._journaled[self._replayed]
            if before is not None and (segment.dataset, segment.first_row) >= before:
                break
            frames, state = load_segment(segment.path)
            self.writer.consume(frames, segment.dataset)
            self._replayed += 1
            replayed_any = True
        if replayed_any and state is not None and module is not None:
            _model(module).restore_tracking_state(state)

    def on_predict_batch_start(  # noqa: D102
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        self._write_pending(final=False)
        row = int(batch.meta[0].frame_row) if batch.meta else -1
        if row >= 0:
            self.replay(pl_module, (dataloader_idx, row))

    def on_predict_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """The journaled segments after the last inferred frame, before the writer closes its files.

        Without pictures the last segments are journaled here too, before the
        files close: a run killed while closing them resumes by replaying the
        journal alone, inferring nothing. (A video's MP4 closes with the
        files, so with pictures its segment waits for :meth:`on_predict_end`.)
        """
        self.replay(pl_module)
        if not self.whole_videos:
            self._write_pending(final=True)

    # ---------------------------------------------------------- recording
    def on_predict_batch_end(  # noqa: D102
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        for frame in outputs:
            self._record(pl_module, frame, dataloader_idx)

    def _record(self, module: pl.LightningModule, frame: FrameOutput, dataset: int) -> None:
        row = int(frame.meta.frame_row)
        if row < 0:  # not from a dataset's store (a stream): nothing to continue from
            return
        if self._open and (dataset != self._open_dataset or frame.meta.video_name != self._open[-1].meta.video_name):
            self._open = []  # a video cut short (--limit_predict_batches): not a finished segment
        self._open.append(frame)
        self._open_dataset = dataset
        self._last = (dataset, frame.meta.video_name)
        offsets = self.stores[dataset].video_offsets
        video = int(np.searchsorted(offsets, row, side="right")) - 1
        ends_video = row == int(offsets[video + 1]) - 1
        state = _model(module).tracking_state(frame.meta.video_name)
        chunk_full = state == {} and not self.whole_videos and len(self._open) >= self.chunk_frames
        if ends_video or chunk_full:
            self._pending.append(_Pending(dataset, self._open, state, ends_video))
            self._open = []

    def _write_pending(self, final: bool) -> None:
        """Journal the finished segments every consumer is done with (``final``: all, the run has ended)."""
        keep = []
        for pending in self._pending:
            video = (pending.dataset, pending.frames[-1].meta.video_name)
            # With pictures, a video's MP4 is finished once a later video started (or the run ended).
            done = final or not self.whole_videos or (pending.ends_video and self._last != video)
            if not done:
                keep.append(pending)
                continue
            first = int(pending.frames[0].meta.frame_row)
            save_segment(self.segment_path(pending.dataset, first), pending.frames, pending.state)
        self._pending = keep

    def on_predict_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        """Every file is closed: journal what is left."""
        self._write_pending(final=True)
