"""Bases for callbacks that act at the end of every inference batch (validation, test, predict)."""

from __future__ import annotations

from typing import Any, ClassVar

import lightning.pytorch as pl

from vis4d.common.structures import FrameOutput


class InferenceBatchHooks(pl.Callback):
    """Routes Lightning's three inference batch-end hooks to :meth:`on_inference_batch_end`, with the stage's name.

    Lightning calls each hook by name with the same arguments; subclasses
    implement the one method instead of three copies.
    """

    def on_inference_batch_end(
        self, trainer: pl.Trainer, stage: str, outputs: Any, batch_idx: int, dataloader_idx: int
    ) -> None:
        """Handle one batch of stage ``"validate"``, ``"test"`` or ``"predict"``."""

    def on_validation_batch_end(  # noqa: D102
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        self.on_inference_batch_end(trainer, "validate", outputs, batch_idx, dataloader_idx)

    def on_test_batch_end(  # noqa: D102
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        self.on_inference_batch_end(trainer, "test", outputs, batch_idx, dataloader_idx)

    def on_predict_batch_end(  # noqa: D102
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        self.on_inference_batch_end(trainer, "predict", outputs, batch_idx, dataloader_idx)


class FrameOutputConsumer(InferenceBatchHooks):
    """Routes each inference batch's :class:`FrameOutput` list to :meth:`consume`, for the stages it listens to."""

    stages: ClassVar[tuple[str, ...]] = ("test", "predict")

    def consume(self, outputs: list[FrameOutput], dataloader_idx: int) -> None:
        """Handle the outputs of one batch of dataset ``dataloader_idx``."""
        raise NotImplementedError

    def on_inference_batch_end(  # noqa: D102
        self, trainer: pl.Trainer, stage: str, outputs: Any, batch_idx: int, dataloader_idx: int
    ) -> None:
        if stage in self.stages:
            self.consume(outputs, dataloader_idx)
