"""A base for callbacks that consume the per-frame outputs of inference batches."""

from __future__ import annotations

from typing import Any, ClassVar

import lightning.pytorch as pl

from vis4d.common.structures import FrameOutput


class FrameOutputConsumer(pl.Callback):
    """Routes each inference batch's :class:`FrameOutput` list to :meth:`consume`.

    ``stages`` names the loops the subclass listens to ("validate", "test",
    "predict"); Lightning's batch-end hooks all look alike, so they live here once.
    """

    stages: ClassVar[tuple[str, ...]] = ("test", "predict")

    def consume(self, outputs: list[FrameOutput], dataloader_idx: int) -> None:
        """Handle the outputs of one batch of dataset ``dataloader_idx``."""
        raise NotImplementedError

    def on_validation_batch_end(  # noqa: D102
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        if "validate" in self.stages:
            self.consume(outputs, dataloader_idx)

    def on_test_batch_end(  # noqa: D102
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        if "test" in self.stages:
            self.consume(outputs, dataloader_idx)

    def on_predict_batch_end(  # noqa: D102
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:  # fmt: skip
        if "predict" in self.stages:
            self.consume(outputs, dataloader_idx)
