"""A training run whose loss turns nan or inf at chosen steps, for the tests of the non-finite guard (test-only).

Run through the fork server as a script::

    inject_nonfinite.py STEPS TERM HOW train --config ...

``STEPS`` (comma list) are the ``global_step`` values at which the loss term
``TERM`` is poisoned; ``HOW`` is ``nan`` or ``inf`` (the term is multiplied by
it: the loss and its gradients are not finite), ``grad`` (a term whose value
stays finite, ``sqrt(0 * loss)``, but whose gradient is nan) or ``weights``
(the step's update leaves the first weight inf, as a finite gradient times an
absurd learning rate would; ``TERM`` is not read). Everything else
is the real command line: this script only wraps the training step before
calling :func:`vis4d.engine.trainer.main`, inside the forked process, so
nothing of it is in ``vis4d/``.
"""

from __future__ import annotations

import sys
from typing import Any

import torch

from vis4d.engine.module import Vis4DModule
from vis4d.engine.trainer import main

STEPS = {int(step) for step in sys.argv[1].split(",")}
TERM, HOW = sys.argv[2], sys.argv[3]
_training_step = Vis4DModule.training_step


def _poison(losses: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    value = losses[TERM]
    if HOW == "grad":
        losses[TERM] = value + torch.sqrt(value * 0)
    else:
        losses[TERM] = value * float(HOW)
    return losses


def training_step(self: Vis4DModule, batch: Any, batch_idx: int) -> torch.Tensor:
    """The real step; at the chosen steps the model's loss has one poisoned term."""
    if self.trainer.global_step not in STEPS:
        return _training_step(self, batch, batch_idx)
    model_loss = self.model.loss
    self.model.loss = lambda batch: _poison(model_loss(batch))  # type: ignore[method-assign]
    try:
        return _training_step(self, batch, batch_idx)
    finally:
        del self.model.loss


_optimizer_step = Vis4DModule.optimizer_step


def optimizer_step(self: Vis4DModule, *args: Any, **kwargs: Any) -> None:
    """The real update; with ``weights`` at the chosen steps it leaves one weight inf."""
    _optimizer_step(self, *args, **kwargs)
    if HOW == "weights" and self.trainer.global_step in STEPS:
        with torch.no_grad():
            weight = next(self.model.parameters())
            weight[(0,) * weight.dim()] = float("inf")


if HOW == "weights":
    Vis4DModule.optimizer_step = optimizer_step  # type: ignore[method-assign]
else:
    Vis4DModule.training_step = training_step  # type: ignore[method-assign]
sys.exit(main(sys.argv[4:]))
