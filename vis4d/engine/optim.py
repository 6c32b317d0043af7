"""The optimizer with its parameter groups, and the learning-rate schedules as one factor per step.

YOLOX's recipe (Megvii's ``yolox_base``): SGD with Nesterov momentum 0.9,
weight decay 5e-4 on convolution and linear weights only (not on batch-norm
weights, not on biases), and the ``yoloxwarmcos`` schedule, equal to Megvii's
``yolox_warm_cos_lr`` at every step: quadratic warm-up from 0, cosine down to
``min_lr_ratio``, then constant for the last ``no_aug_epochs``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from vis4d.config.schema import LRSchedulerConfig, OptimizerConfig

# Layers whose weight is a scale, not a filter: no weight decay when norm_and_bias_decay is off.
NORM_TYPES = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)


def parameter_groups(model: nn.Module, cfg: OptimizerConfig) -> list[dict[str, Any]]:
    """Trainable parameters, in one group, or (``norm_and_bias_decay = false``) two: decayed and not.

    Not decayed: every bias and the weights of normalisation layers (Megvii
    also leaves out any weight of a module whose name contains ``bn``; vis4d's
    YOLOX names its norms ``norm``, and they are batch norms).
    """
    if cfg.norm_and_bias_decay:
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    for module in model.modules():
        for name, param in module.named_parameters(recurse=False):
            if not param.requires_grad:
                continue
            (no_decay if name == "bias" or isinstance(module, NORM_TYPES) else decay).append(param)
    return [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]


def build_optimizer(params: Iterable[Any], cfg: OptimizerConfig) -> torch.optim.Optimizer:
    """The optimizer named in ``model.optimizer`` over ``params`` (tensors or parameter groups)."""
    if cfg.type == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=cfg.nesterov
        )
    if cfg.type == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def yolox_warm_cos(
    cfg: LRSchedulerConfig, step: int, steps_per_epoch: int, total_steps: int, no_aug_epochs: int
) -> float:
    """Megvii's ``yolox_warm_cos_lr`` as a factor of the base lr (warm-up from 0).

    ``total_steps`` is the schedule's length; warm-up and the constant tail
    are ``warmup_epochs`` and ``no_aug_epochs`` epochs of ``steps_per_epoch``.
    """
    warmup = steps_per_epoch * cfg.warmup_epochs
    tail = steps_per_epoch * no_aug_epochs
    if warmup > 0 and step <= warmup:
        return float((step / warmup) ** 2)
    if step >= total_steps - tail:
        return cfg.min_lr_ratio
    span = max(1.0, total_steps - warmup - tail)
    return cfg.min_lr_ratio + 0.5 * (1 - cfg.min_lr_ratio) * (1.0 + math.cos(math.pi * (step - warmup) / span))


def lr_factor(
    cfg: LRSchedulerConfig,
    step: int,
    epoch_float: float,
    total_steps: int | None,
    steps_per_epoch: int = 1,
    no_aug_epochs: int = 0,
) -> float:
    """Multiplier of the base lr at a global step (warm-up times the schedule).

    Warm-up is linear in steps from ``warmup_ratio`` to 1 (not for
    ``yoloxwarmcos``, which has its own). ``step`` decays by ``gamma`` at
    each milestone epoch passed; ``cosine`` anneals over the whole run (or
    ``cfg.epochs``) to ``min_lr_ratio``; ``yoloxwarmcos``: :func:`yolox_warm_cos`.
    """
    if cfg.epochs is not None:
        total_steps = cfg.epochs * steps_per_epoch
    if cfg.type == "yoloxwarmcos":
        total = total_steps if total_steps else steps_per_epoch
        return yolox_warm_cos(cfg, step, steps_per_epoch, total, no_aug_epochs)
    factor = 1.0
    if cfg.type == "step":
        factor = cfg.gamma ** sum(epoch_float >= m for m in cfg.milestones)
    elif cfg.type == "cosine" and total_steps:
        progress = min(1.0, step / max(1, total_steps))
        factor = cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        factor *= cfg.warmup_ratio + (1 - cfg.warmup_ratio) * step / cfg.warmup_steps
    return factor
