"""The LightningModule around a vis4d model: optimisation, logging, inference outputs.

Training sums the model's loss dict; every loss and the learning rate are
logged. Validation, test and predict steps return one :class:`FrameOutput` per
image, boxes already mapped back to original image pixels, which the callbacks
(evaluator, prediction writer, visualizer) consume.

A :class:`~vis4d.engine.recipe.TrainingRecipe` adds YOLOX's training parts:
an EMA of the weights (updated after every optimizer step, used for
validation, saved in checkpoints), the model told when the recipe's last
epochs start (YOLOX then adds its L1 loss), and multi-scale batches.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor

from vis4d.common.structures import Batch, FrameOutput
from vis4d.config.schema import LRSchedulerConfig, OptimizerConfig
from vis4d.data.multiscale import multiscale_size, resize_batch
from vis4d.engine.ema import ModelEMA
from vis4d.engine.inference import infer_frames
from vis4d.engine.optim import build_optimizer, lr_factor, parameter_groups
from vis4d.engine.recipe import TrainingRecipe
from vis4d.model.base import Vis4DModel

__all__ = ["Vis4DModule", "build_optimizer", "lr_factor"]


class Vis4DModule(pl.LightningModule):
    """Wraps a :class:`Vis4DModel` for Lightning."""

    def __init__(
        self,
        model: Vis4DModel,
        optimizer: OptimizerConfig,
        lr_scheduler: LRSchedulerConfig,
        categories: Sequence[str] = (),
        recipe: TrainingRecipe | None = None,
    ) -> None:
        """``recipe``: the training run's EMA, last epochs and multi-scale (None: none of them)."""
        super().__init__()
        self.model = model
        self.optimizer_cfg = optimizer
        self.scheduler_cfg = lr_scheduler
        self.categories = list(categories)
        self.recipe = recipe or TrainingRecipe()
        # Not a submodule: the optimizer and Lightning's state_dict see the trained model only (vis4d.engine.ema).
        self.ema = ModelEMA(model, self.recipe.ema) if self.recipe.ema is not None else None
        self._ema_from_model = False  # resuming a checkpoint without an average: start it from the weights
        self._schedule_lengths: tuple[int, int | None] = (1, None)  # (steps per epoch, total steps); on_train_start
        self._no_aug_start: int | None = None  # on_train_start
        self.last_losses: dict[str, Tensor] = {}  # the last training step's loss terms (NonFiniteGuard reads them)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Checkpoints say which categories their classifier rows are (loading maps them by name); the EMA."""
        checkpoint["vis4d"] = {"layout": "vis4d", "categories": self.categories}
        if self.ema is not None:
            checkpoint["ema"] = self.ema.state_dict()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """A resumed run continues its EMA (a checkpoint without one starts it from the restored weights)."""
        if self.ema is None:
            return
        if isinstance(checkpoint.get("ema"), dict):
            self.ema.load_state_dict(checkpoint["ema"])
        else:
            self._ema_from_model = True

    def on_fit_start(self) -> None:
        """The EMA lives where the model does, in its floating-point type (bf16-true trains in bf16)."""
        if self.ema is not None:
            self.ema.to(self.device, next(self.model.parameters()).dtype)
            if self._ema_from_model:
                self.ema.module.load_state_dict(self.model.state_dict())
                self._ema_from_model = False

    # ------------------------------------------------------------- training
    def transfer_batch_to_device(self, batch: Batch, device: torch.device, dataloader_idx: int) -> Batch:
        """Batches are dataclasses with their own ``to``."""
        return batch.to(device)

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Sum the model's losses; log each, the total and the learning rate.

        With multi-scale training the batch is first resized to the size of
        this step (:mod:`vis4d.data.multiscale`).
        """
        multiscale = self.recipe.multiscale
        if multiscale is not None:
            batch_hw = (int(batch.images.shape[-2]), int(batch.images.shape[-1]))
            batch = resize_batch(batch, multiscale_size(multiscale, self.recipe.seed, self.global_step, batch_hw))
        losses = self.model.loss(batch)
        total = torch.stack([v for v in losses.values()]).sum()
        self.last_losses = {name: value.detach() for name, value in losses.items()}  # named if one is not finite
        size = len(batch)
        for name, value in losses.items():
            self.log(f"train/{name}", value.detach(), batch_size=size)
        self.log("train/loss", total.detach(), prog_bar=True, batch_size=size)
        self.log("train/lr", self.trainer.optimizers[0].param_groups[0]["lr"], prog_bar=True, batch_size=size)
        return total

    def configure_optimizers(self) -> Any:
        """Optimizer and a per-step LambdaLR implementing warm-up + schedule.

        The schedule's lengths (steps per epoch, total steps) are read when
        training starts (:meth:`on_train_start`): asking Lightning for them
        here would make it build the training loader before a resumed run's
        checkpoint is restored, and the loader would start the epoch over.
        """
        optimizer = build_optimizer(parameter_groups(self.model, self.optimizer_cfg), self.optimizer_cfg)
        cfg, no_aug_epochs = self.scheduler_cfg, self.recipe.no_aug_epochs

        def factor(step: int) -> float:
            steps_per_epoch, total_steps = self._schedule_lengths
            return lr_factor(cfg, step, step / steps_per_epoch, total_steps, steps_per_epoch, no_aug_epochs)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_train_start(self) -> None:
        """Steps per epoch (limits and gradient accumulation included) and the run's total, for the schedule."""
        trainer = self.trainer
        batches = trainer.num_training_batches
        per_epoch = math.ceil(batches / trainer.accumulate_grad_batches) if math.isfinite(batches) else 1
        total = trainer.estimated_stepping_batches
        self._schedule_lengths = (max(1, per_epoch), int(total) if math.isfinite(total) else None)
        self._no_aug_start = self.recipe.no_aug_start(getattr(trainer, "max_epochs", None))
        self.on_train_epoch_start()
        warmup = self.scheduler_cfg.warmup_steps
        if self.scheduler_cfg.type == "yoloxwarmcos":  # its own warm-up, in epochs
            warmup = 0
        if math.isfinite(total) and warmup >= total and trainer.is_global_zero:  # steps run 0 .. total - 1
            last = int(total) - 1
            reached = lr_factor(self.scheduler_cfg, last, last / max(1, per_epoch), int(total))
            print(
                f"warning: model.lr_scheduler.warmup_steps = {warmup} is longer than this run ({int(total)} steps): "
                f"the learning rate ends at {reached:.2g} x model.optimizer.lr = {self.optimizer_cfg.lr * reached:.3g} "
                "without reaching it; lower warmup_steps (e.g. --cfg-options model.lr_scheduler.warmup_steps=N)",
                file=sys.stderr,
            )

    def on_train_epoch_start(self) -> None:
        """Tell the model whether the recipe's last epochs (no mosaic; YOLOX's L1 loss) have started.

        Read from the epoch each time; :meth:`on_train_start` says it too,
        because Lightning does not call this hook for an epoch a resumed run
        continues in the middle.
        """
        start = self._no_aug_start
        set_phase = getattr(self.model, "set_no_aug_phase", None)
        if set_phase is not None:
            set_phase(start is not None and self.current_epoch >= start)

    def optimizer_step(self, *args: Any, **kwargs: Any) -> None:
        """Step, then move the EMA towards the new weights (Megvii updates it after every step)."""
        super().optimizer_step(*args, **kwargs)
        if self.ema is not None:
            self.ema.update(self.model)

    # ------------------------------------------------------------- inference
    def _inference_model(self) -> Vis4DModel:
        """The EMA while training with one (validation sees the average, as Megvii's), else the model."""
        return self.ema.module if self.ema is not None else self.model

    def _infer(self, batch: Batch) -> list[FrameOutput]:
        """One output per image in original pixels (the code the Python API runs too)."""
        return infer_frames(self._inference_model(), batch)

    def on_validation_epoch_start(self) -> None:
        """Tracker state must not leak between evaluation runs."""
        self.model.reset_tracking()
        if self.ema is not None:
            self.ema.module.reset_tracking()

    on_test_epoch_start = on_validation_epoch_start
    on_predict_epoch_start = on_validation_epoch_start

    def on_test_start(self) -> None:
        """Test and predict runs never train again: batch norm is folded into the convolutions (faster)."""
        if not self.model.training:
            self.model.fold_batch_norm()

    on_predict_start = on_test_start

    def validation_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> list[FrameOutput]:  # type: ignore[override]
        """Predictions for the evaluator callback."""
        return self._infer(batch)

    def test_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> list[FrameOutput]:  # type: ignore[override]
        """Predictions for the evaluator, writer and visualizer callbacks."""
        return self._infer(batch)

    def predict_step(self, batch: Batch, batch_idx: int, dataloader_idx: int = 0) -> list[FrameOutput]:
        """Predictions for the writer and visualizer callbacks."""
        return self._infer(batch)
