"""Writes predictions to files while inference runs (test and predict)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as pl

from vis4d.engine.callbacks.base import FrameOutputConsumer
from vis4d.engine.module import FrameOutput
from vis4d.engine.writers import PredictionWriter, build_writers


class PredictionFileWriter(FrameOutputConsumer):
    """Streams each frame's predictions into ``output_dir/predictions/`` in the chosen formats, atomically."""

    def __init__(
        self,
        output_dir: Path,
        dataset_names: Sequence[str],
        categories: Sequence[str],
        formats: Sequence[str],
        per_video: bool = False,
        zip_submission: bool = False,
    ) -> None:
        self.per_video = per_video
        self.zip_submission = zip_submission
        self.output_dir = output_dir
        self.dataset_names = list(dataset_names)
        self.categories = list(categories)
        self.formats = list(formats)
        self._writers: dict[int, list[PredictionWriter]] = {}
        self.written: list[Path] = []

    def _start(self, trainer: pl.Trainer) -> None:
        suffix = f".rank{trainer.global_rank}" if trainer.world_size > 1 else ""
        self._writers = {
            idx: build_writers(
                self.formats, self.output_dir, name + suffix, self.categories, self.per_video, self.zip_submission
            )
            for idx, name in enumerate(self.dataset_names)
        }

    def consume(self, outputs: list[FrameOutput], dataloader_idx: int) -> None:
        for out in outputs:
            for writer in self._writers[dataloader_idx]:
                writer.add_frame(out.meta, out.boxes, out.scores, out.class_ids, out.track_ids)

    def _close(self) -> None:
        for writers in self._writers.values():
            for writer in writers:
                self.written.extend(writer.close())
        self._writers = {}
        for path in self.written:
            print(f"predictions: {path}")

    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self._start(trainer)

    on_predict_epoch_start = on_test_epoch_start

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self._close()

    on_predict_epoch_end = on_test_epoch_end

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        """A failed run leaves no partial prediction file."""
        for writers in self._writers.values():
            for writer in writers:
                writer.abort()
        self._writers = {}
