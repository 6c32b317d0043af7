"""A loss, gradient or weights that are not finite (nan, inf): stop before they reach a checkpoint, or skip the step.

Three checks, in the order such values appear in a step:

1. the loss terms and their sum, before backward (:meth:`NonFiniteGuard.on_before_backward`);
2. the gradients, after backward (after DDP averaged them) and before the
   optimizer step (:meth:`NonFiniteGuard.on_before_optimizer_step`): a finite
   loss can still have an infinite gradient;
3. the weights of every checkpoint before it is written
   (:meth:`NonFiniteGuard.on_save_checkpoint`): finite gradients times an
   absurd learning rate can still step the weights to inf; such weights never
   replace ``last.ckpt`` or ``best.ckpt``.

``launch.on_nonfinite_loss = "stop"`` (the default) raises
:class:`~vis4d.engine.faults.NonFiniteLoss` before the optimizer step: the
run ends with one line naming the step and the loss terms, and no checkpoint
is written after the bad step (an exception ends Lightning's loop before it
saves again), so ``last.ckpt`` is the last good one. Lightning's own
``detect_anomaly`` is not enough: it raises inside backward with a
traceback and says nothing of the checkpoint.

``"skip"`` drops the step's gradients (optimizers leave parameters without a
gradient untouched, momentum and weight decay included) and restores the
batch norm statistics the step's forward pass changed, so the weights stay
as they were; the step still counts (``global_step``, the learning-rate
schedule). One warning line for the first skipped step and every tenth;
``launch.max_nonfinite_steps`` skipped in a row stop the run anyway (the
weights themselves are probably nan by then).

Under DDP every process takes the same decision: the loss check is reduced
across processes (one boolean per step), the gradients are the same on every
process after DDP averaged them; so they stop or skip together and none
waits forever in a collective. With a gradient scaler (``16-mixed``) the
scaler already skips steps whose gradients overflowed (routine with float16),
so only the loss is checked.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import lightning.pytorch as pl
import torch
from torch import Tensor, nn

from vis4d.engine.faults import NonFiniteLoss, last_good_checkpoint

WARN_EVERY = 10  # skipped steps between warning lines (after the first)


def _kind(value: Tensor) -> str:
    """``nan``, ``inf`` or ``-inf``: what a non-finite tensor holds first (nan wins)."""
    if torch.isnan(value).any():
        return "nan"
    return "-inf" if bool((value == float("-inf")).any()) else "inf"


def describe_losses(terms: dict[str, Tensor], total: Tensor) -> str:
    """``loss rpn_box_loss is nan``, ``losses a (nan), b (inf)``, or ``the summed loss is inf`` (an overflow)."""
    bad = [(name, _kind(value)) for name, value in terms.items() if not bool(torch.isfinite(value).all())]
    if len(bad) == 1:
        return f"loss {bad[0][0]} is {bad[0][1]}"
    if bad:
        return "losses " + ", ".join(f"{name} ({kind})" for name, kind in bad)
    return f"the summed loss is {_kind(total)}"


def _batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


class NonFiniteGuard(pl.Callback):
    """Stops (or skips) a step whose loss or gradients are not finite; refuses checkpoints with non-finite weights."""

    def __init__(self, mode: str, checkpoint_dir: Path, max_in_a_row: int = 20) -> None:
        self.mode = mode
        self.checkpoint_dir = checkpoint_dir
        self.max_in_a_row = max_in_a_row
        self.skipped = 0  # in this process's run
        self.in_a_row = 0
        self._bad: str | None = None  # what is wrong with the current step, once found
        self._statistics: list[tuple[nn.Module, dict[str, Tensor]]] = []

    # ------------------------------------------------------------- the loss
    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:  # fmt: skip
        """A new optimizer step: forget the last one's verdict; in skip mode keep the batch norm statistics."""
        if batch_idx % trainer.accumulate_grad_batches != 0:
            return
        self._bad = None
        if self.mode == "skip":
            self._statistics = [
                (norm, {name: buffer.detach().clone() for name, buffer in norm.named_buffers(recurse=False)})
                for norm in _batch_norms(pl_module)
            ]

    def on_before_backward(self, trainer: pl.Trainer, pl_module: pl.LightningModule, loss: Tensor) -> None:
        """Check the loss terms (stashed by the module's training step) and their sum; every process agrees."""
        terms: dict[str, Tensor] = getattr(pl_module, "last_losses", {})
        values = torch.stack([loss.detach().float().reshape(())] + [v.float().reshape(()) for v in terms.values()])
        bad = not bool(torch.isfinite(values).all())
        if trainer.world_size > 1:
            bad = trainer.strategy.reduce_boolean_decision(bad, all=False)
        if not bad:
            return
        what = describe_losses(terms, loss.detach()) if not bool(torch.isfinite(values).all()) else ""
        if trainer.world_size > 1:
            what = _gathered(what)
        self._found(trainer, what)

    # -------------------------------------------------------- the gradients
    def on_before_optimizer_step(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, optimizer: torch.optim.Optimizer
    ) -> None:
        """Check the gradients (unless a scaler handles overflow), then skip or take the step."""
        if self._bad is None and not _has_scaler(trainer):
            grads = [p.grad for p in _parameters(optimizer) if p.grad is not None]
            if grads and not bool(torch.isfinite(torch.nn.utils.get_total_norm(grads)).all()):
                self._found(trainer, _bad_gradient(pl_module))
        if self._bad is None:
            self.in_a_row = 0
            return
        self._skip(trainer, optimizer)

    def _found(self, trainer: pl.Trainer, what: str) -> None:
        """Stop now (the default), or remember the step as one to skip."""
        if self.mode != "skip":
            raise NonFiniteLoss(self._stopped(trainer, what))
        self._bad = what

    def _skip(self, trainer: pl.Trainer, optimizer: torch.optim.Optimizer) -> None:
        for parameter in _parameters(optimizer):
            parameter.grad = None
        for norm, buffers in self._statistics:
            for name, value in buffers.items():
                getattr(norm, name).copy_(value)
        self.skipped += 1
        self.in_a_row += 1
        if self.in_a_row >= self.max_in_a_row:
            raise NonFiniteLoss(self._stopped(trainer, f"{self._bad}, {self.in_a_row} steps in a row skipped "
                                              "(launch.max_nonfinite_steps)"))  # fmt: skip
        if trainer.is_global_zero and (self.skipped == 1 or self.skipped % WARN_EVERY == 0):
            print(f"warning: step {trainer.global_step} (epoch {trainer.current_epoch}): {self._bad}; the step "
                  f"is skipped, no update ({self.skipped} skipped so far; launch.on_nonfinite_loss = skip)",
                  file=sys.stderr, flush=True)  # fmt: skip

    def _stopped(self, trainer: pl.Trainer, what: str) -> str:
        return (
            f"training stopped at step {trainer.global_step} (epoch {trainer.current_epoch}): {what}; "
            f"{last_good_checkpoint(self.checkpoint_dir)}; lower model.optimizer.lr or clip gradients "
            "(--gradient_clip_val), or skip such steps with --on_nonfinite_loss skip"
        )

    # ---------------------------------------------------------- the weights
    def on_save_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           checkpoint: dict[str, Any]) -> None:  # fmt: skip
        """Refuse to write weights that are not finite: the previous checkpoint stays the last good one."""
        for name, value in checkpoint.get("state_dict", {}).items():
            if isinstance(value, Tensor) and value.is_floating_point() and not bool(torch.isfinite(value).all()):
                what = f"the weights are {_kind(value)} ({name}) after a step that diverged; not saving them"
                raise NonFiniteLoss(self._stopped(trainer, what))


def _parameters(optimizer: torch.optim.Optimizer) -> Iterable[Tensor]:
    return (p for group in optimizer.param_groups for p in group["params"])


def _has_scaler(trainer: pl.Trainer) -> bool:
    return getattr(trainer.precision_plugin, "scaler", None) is not None


def _bad_gradient(module: nn.Module) -> str:
    """``the gradient of NAME is nan``: the first parameter whose gradient is not finite."""
    for name, parameter in module.named_parameters():
        if parameter.grad is not None and not bool(torch.isfinite(parameter.grad).all()):
            return f"the gradient of {name} is {_kind(parameter.grad)} (the loss is finite)"
    return "the gradients are not finite (the loss is finite)"


def _gathered(what: str) -> str:
    """Every process's description of the bad step, joined (the ones with nothing to say left out)."""
    import torch.distributed as dist

    parts: list[str] = [""] * dist.get_world_size()
    dist.all_gather_object(parts, what)
    seen = [f"{text} (process {rank})" for rank, text in enumerate(parts) if text]
    return "; ".join(seen) if seen else "the loss is not finite"
