"""An exponential moving average of a model's weights (Megvii's ``ModelEMA``), kept beside the trained model.

The average is a copy of the model that never trains: after every optimizer
step each floating-point tensor of its state dict (parameters and batch-norm
running statistics alike) moves towards the trained model's,
``ema = d * ema + (1 - d) * model`` with ``d = decay * (1 - exp(-updates /
ramp))``; integer tensors (batch-norm step counters) keep their value. This is
Megvii's update, term for term, so the two agree bitwise on the CPU.

The copy is not a submodule of the Lightning module: the optimizer never sees
it, Lightning's ``state_dict`` stays the trained model's (what ``--resume``
restores), and checkpoints carry the average under their own key ``ema``
(:meth:`ModelEMA.state_dict`), which :mod:`vis4d.model.weights` reads in
preference to the trained weights.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Generic, TypeVar

import torch
from torch import nn

from vis4d.config.schema import EMAConfig

M = TypeVar("M", bound=nn.Module)


class ModelEMA(Generic[M]):
    """The averaged copy of ``model`` (``module``, in eval mode) and its update count."""

    def __init__(self, model: M, cfg: EMAConfig) -> None:
        self.module: M = copy.deepcopy(model).eval()
        for param in self.module.parameters():
            param.requires_grad_(False)
        self.cfg = cfg
        self.updates = 0

    def decay(self, updates: int) -> float:
        """The decay of update number ``updates`` (1 for the first): ramps from 0 to ``cfg.decay``."""
        return self.cfg.decay * (1 - math.exp(-updates / self.cfg.ramp))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model``'s current state (call after each optimizer step)."""
        self.updates += 1
        d = self.decay(self.updates)
        current = model.state_dict()
        for key, value in self.module.state_dict().items():
            if value.dtype.is_floating_point:
                value *= d
                value += (1.0 - d) * current[key].detach()

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> ModelEMA[M]:
        """Move the copy to ``device`` (where the trained model is) and its floating-point tensors to ``dtype``."""
        self.module.to(device)
        if dtype is not None and dtype.is_floating_point:
            self.module.to(dtype)
        return self

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint keeps: the averaged weights, the update count and the settings."""
        return {
            "state_dict": {k: v.detach() for k, v in self.module.state_dict().items()},
            "updates": self.updates,
            "decay": self.cfg.decay,
            "ramp": self.cfg.ramp,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (a resumed run continues the same average)."""
        self.module.load_state_dict(state["state_dict"])
        self.updates = int(state["updates"])
