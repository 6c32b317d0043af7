"""Writes predictions to files while inference runs (test and predict)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import lightning.pytorch as pl
import torch.distributed as dist

from vis4d.common.structures import FrameOutput
from vis4d.data.formats import PredictionWriter, WriterSettings, build_writers, merge_rank_files, rank_file_name
from vis4d.engine.callbacks.base import FrameOutputConsumer


class PredictionFileWriter(FrameOutputConsumer):
    """Streams each frame's predictions into ``output_dir/predictions/`` in the chosen formats, atomically.

    Under DDP every process writes the videos it infers; at the end the
    first process merges the dataset-level files, so the layout is the same
    as with one process.
    """

    def __init__(
        self,
        output_dir: Path,
        dataset_names: Sequence[str],
        categories: Sequence[str],
        formats: Sequence[str],
        per_video: bool = False,
        zip_submission: bool = False,
        category_ids: Sequence[Sequence[int] | None] | None = None,
    ) -> None:
        self.category_ids = list(category_ids) if category_ids is not None else [None] * len(dataset_names)
        self.per_video = per_video
        self.zip_submission = zip_submission
        self.output_dir = output_dir
        self.dataset_names = list(dataset_names)
        self.categories = list(categories)
        self.formats = list(formats)
        self._writers: dict[int, list[PredictionWriter]] = {}
        self.written: list[Path] = []

    def _start(self, trainer: pl.Trainer) -> None:
        # Several processes write dataset-level files under rank names, merged in _close;
        # the BDD100K zip is built there too, from every process's video files.
        distributed = trainer.world_size > 1
        self._writers = {
            idx: build_writers(
                self.formats,
                WriterSettings(
                    out_dir=self.output_dir,
                    dataset_name=rank_file_name(name, trainer.global_rank, trainer.world_size),
                    categories=self.categories,
                    per_video=self.per_video,
                    zip_submission=self.zip_submission and not distributed,
                    category_ids=self.category_ids[idx],
                ),
            )
            for idx, name in enumerate(self.dataset_names)
        }

    def consume(self, outputs: list[FrameOutput], dataloader_idx: int) -> None:
        for out in outputs:
            for writer in self._writers[dataloader_idx]:
                writer.add_frame(out)

    def _close(self, trainer: pl.Trainer) -> None:
        written: list[Path] = []
        for writers in self._writers.values():
            for writer in writers:
                written.extend(writer.close())
        self._writers = {}
        if trainer.world_size > 1:
            written = self._merge_ranks(trainer, written)
        self.written.extend(written)
        for path in written:
            print(f"predictions: {path}")

    def _merge_ranks(self, trainer: pl.Trainer, written: list[Path]) -> list[Path]:
        """Gather every process's files; the first process merges them into the single-process layout."""
        files_per_rank: list[list[Path]] = [[] for _ in range(trainer.world_size)]
        dist.all_gather_object(files_per_rank, written)
        merged = merge_rank_files(files_per_rank, self.zip_submission) if trainer.is_global_zero else []
        trainer.strategy.barrier("vis4d_merge_predictions")  # every process returns with the files in place
        return merged

    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self._start(trainer)

    on_predict_epoch_start = on_test_epoch_start

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self._close(trainer)

    on_predict_epoch_end = on_test_epoch_end

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        """A failed run leaves no partial prediction file."""
        for writers in self._writers.values():
            for writer in writers:
                writer.abort()
        self._writers = {}
