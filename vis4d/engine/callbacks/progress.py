"""Plain progress lines (the default); ``--tqdm`` switches to tqdm bars."""

from __future__ import annotations

import time
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ProgressBar

from vis4d.engine.callbacks.base import InferenceBatchHooks


class LogProgress(InferenceBatchHooks, ProgressBar):
    """One line every ``refresh`` steps: epoch, step, losses, speed and ETA; works in logs and CI."""

    def __init__(self, refresh: int = 10) -> None:
        super().__init__()
        self.refresh = max(1, refresh)
        self._enabled = True
        self._start = 0.0

    def disable(self) -> None:  # noqa: D102
        self._enabled = False

    def enable(self) -> None:  # noqa: D102
        self._enabled = True

    def _line(self, trainer: pl.Trainer, stage: str, done: int, total: Any, extra: str = "") -> None:
        if not self._enabled or not trainer.is_global_zero:
            return
        elapsed = time.perf_counter() - self._start
        rate = done / elapsed if elapsed > 0 else 0.0
        known = isinstance(total, (int, float)) and total != float("inf") and done <= total
        total_str = str(int(total)) if known else "?"  # never "4/3": a total a count has passed is not a total
        eta = f", eta {max(0.0, (float(total) - done) / rate):.0f}s" if rate > 0 and total_str != "?" else ""
        print(f"[{stage}] {done}/{total_str} ({rate:.2f} it/s{eta}){extra}", flush=True)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:  # noqa: D102
        self._start = time.perf_counter()

    def on_train_batch_end(  # noqa: D102
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        done = batch_idx + 1
        if done % self.refresh and done != self.total_train_batches:
            return
        metrics = self.get_metrics(trainer, pl_module)
        shown = ", ".join(
            f"{k.removeprefix('train/')} {v:.4g}"
            for k, v in metrics.items()
            if k.startswith("train/") and isinstance(v, (int, float))
        )
        self._line(
            trainer,
            f"train epoch {trainer.current_epoch} step {trainer.global_step}",
            done,
            self.total_train_batches,
            f" {shown}",
        )

    def _eval_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self._start = time.perf_counter()

    on_validation_epoch_start = _eval_start
    on_test_epoch_start = _eval_start
    on_predict_epoch_start = _eval_start

    def on_inference_batch_end(  # noqa: D102
        self, trainer: pl.Trainer, stage: str, outputs: Any, batch_idx: int, dataloader_idx: int
    ) -> None:
        if stage == "validate" and trainer.sanity_checking:
            return
        totals = {"validate": trainer.num_val_batches, "test": trainer.num_test_batches}
        total = totals.get(stage, trainer.num_predict_batches)[dataloader_idx]
        done = batch_idx + 1
        if done % (self.refresh * 5) == 0:
            self._line(trainer, "val" if stage == "validate" else stage, done, total)
