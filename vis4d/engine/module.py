"""The LightningModule around a vis4d model: optimisation, logging, inference outputs.

Training sums the model's loss dict; every loss and the learning rate are
logged. Validation, test and predict steps return one :class:`FrameOutput` per
image, boxes already mapped back to original image pixels, which the callbacks
(evaluator, prediction writer, visualizer) consume.
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
from vis4d.engine.inference import infer_frames
from vis4d.model.base import Vis4DModel


def build_optimizer(params: Any, cfg: OptimizerConfig) -> torch.optim.Optimizer:
    """The optimizer named in ``model.optimizer``."""
    if cfg.type == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    if cfg.type == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_factor(cfg: LRSchedulerConfig, step: int, epoch_float: float, total_steps: int | None) -> float:
    """Multiplier of the base lr at a global step (warm-up times the schedule).

    Warm-up is linear in steps from ``warmup_ratio`` to 1. ``step`` decays by
    ``gamma`` at each milestone epoch passed; ``cosine`` anneals over the
    whole run to ``min_lr_ratio``.
    """
    factor = 1.0
    if cfg.type == "step":
        factor = cfg.gamma ** sum(epoch_float >= m for m in cfg.milestones)
    elif cfg.type == "cosine" and total_steps:
        progress = min(1.0, step / max(1, total_steps))
        factor = cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        factor *= cfg.warmup_ratio + (1 - cfg.warmup_ratio) * step / cfg.warmup_steps
    return factor


class Vis4DModule(pl.LightningModule):
    """Wraps a :class:`Vis4DModel` for Lightning."""

    def __init__(
        self,
        model: Vis4DModel,
        optimizer: OptimizerConfig,
        lr_scheduler: LRSchedulerConfig,
        categories: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.model = model
        self.optimizer_cfg = optimizer
        self.scheduler_cfg = lr_scheduler
        self.categories = list(categories)
        self._schedule_lengths: tuple[int, int | None] = (1, None)  # (steps per epoch, total steps); on_train_start
        self.last_losses: dict[str, Tensor] = {}  # the last training step's loss terms (NonFiniteGuard reads them)

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Checkpoints say which categories their classifier rows are, so loading can map them by name."""
        checkpoint["vis4d"] = {"layout": "vis4d", "categories": self.categories}

    # ------------------------------------------------------------- training
    def transfer_batch_to_device(self, batch: Batch, device: torch.device, dataloader_idx: int) -> Batch:
        """Batches are dataclasses with their own ``to``."""
        return batch.to(device)

    def training_step(self, batch: Batch, batch_idx: int) -> Tensor:
        """Sum the model's losses; log each, the total and the learning rate."""
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
        params = [p for p in self.model.parameters() if p.requires_grad]
        optimizer = build_optimizer(params, self.optimizer_cfg)
        cfg = self.scheduler_cfg

        def factor(step: int) -> float:
            steps_per_epoch, total_steps = self._schedule_lengths
            return lr_factor(cfg, step, step / steps_per_epoch, total_steps)

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    def on_train_start(self) -> None:
        """Steps per epoch (limits and gradient accumulation included) and the run's total, for the schedule."""
        trainer = self.trainer
        batches = trainer.num_training_batches
        per_epoch = math.ceil(batches / trainer.accumulate_grad_batches) if math.isfinite(batches) else 1
        total = trainer.estimated_stepping_batches
        self._schedule_lengths = (max(1, per_epoch), int(total) if math.isfinite(total) else None)
        warmup = self.scheduler_cfg.warmup_steps
        if math.isfinite(total) and warmup >= total and trainer.is_global_zero:  # steps run 0 .. total - 1
            last = int(total) - 1
            reached = lr_factor(self.scheduler_cfg, last, last / max(1, per_epoch), int(total))
            print(
                f"warning: model.lr_scheduler.warmup_steps = {warmup} is longer than this run ({int(total)} steps): "
                f"the learning rate ends at {reached:.2g} x model.optimizer.lr = {self.optimizer_cfg.lr * reached:.3g} "
                "without reaching it; lower warmup_steps (e.g. --cfg-options model.lr_scheduler.warmup_steps=N)",
                file=sys.stderr,
            )

    # ------------------------------------------------------------- inference
    def _infer(self, batch: Batch) -> list[FrameOutput]:
        """One output per image in original pixels (the code the Python API runs too)."""
        return infer_frames(self.model, batch)

    def on_validation_epoch_start(self) -> None:
        """Tracker state must not leak between evaluation runs."""
        self.model.reset_tracking()

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
