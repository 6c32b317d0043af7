"""YOLOX's decoupled head: per level, a classification branch and a box + objectness branch.

Each level's map goes through two 3x3 convolutions per branch (shared by no
other level), then 1x1 predictors: class logits (C), box offsets (4: centre
offset in cells, log width and height in strides) and an objectness logit.
The outputs of all levels are flattened finest level first, cells in
row-major order, which is the order :func:`~vis4d.model.yolox.decode.grid_priors`
lays out the cells: one prediction per cell (anchor-free).
"""

from __future__ import annotations

import dataclasses
import math

import torch
from torch import Tensor, nn

from vis4d.model.yolox.blocks import ConvStyle, conv3x3


@dataclasses.dataclass
class HeadOutput:
    """The head's raw predictions of all levels, flattened: (B, N, .) with N the cells of all levels."""

    class_logits: Tensor  # (B, N, C)
    box_offsets: Tensor  # (B, N, 4): (dx, dy) in cells from the cell's corner, log(w), log(h) in strides
    objectness_logits: Tensor  # (B, N)
    sizes: list[tuple[int, int]]  # (H, W) of every level (traced sizes when exporting)


class DecoupledHead(nn.Module):
    """Class and box/objectness branches per level; see the module docstring."""

    def __init__(self, channels: int, num_classes: int, num_levels: int, style: ConvStyle, prior_prob: float) -> None:
        super().__init__()

        def tower() -> nn.Sequential:
            return nn.Sequential(conv3x3(channels, channels, 1, style), conv3x3(channels, channels, 1, style))

        self.num_classes = num_classes
        self.cls_convs = nn.ModuleList(tower() for _ in range(num_levels))
        self.reg_convs = nn.ModuleList(tower() for _ in range(num_levels))
        self.cls_preds = nn.ModuleList(nn.Conv2d(channels, num_classes, 1) for _ in range(num_levels))
        self.reg_preds = nn.ModuleList(nn.Conv2d(channels, 4, 1) for _ in range(num_levels))
        self.obj_preds = nn.ModuleList(nn.Conv2d(channels, 1, 1) for _ in range(num_levels))
        self.reset_prior(prior_prob)

    @torch.no_grad()
    def reset_prior(self, prior_prob: float) -> None:
        """Start every class and objectness probability at ``prior_prob`` (the reference's bias initialisation)."""
        bias = -math.log((1 - prior_prob) / prior_prob)
        for conv in (*self.cls_preds, *self.obj_preds):
            assert isinstance(conv, nn.Conv2d) and conv.bias is not None
            conv.bias.fill_(bias)

    def forward(self, features: list[Tensor]) -> HeadOutput:
        """Raw predictions for ``features`` (finest level first), flattened over levels and cells."""
        classes, boxes, objectness, sizes = [], [], [], []
        for level, x in enumerate(features):
            reg_feature = self.reg_convs[level](x)
            batch = x.shape[0]
            sizes.append((x.shape[2], x.shape[3]))
            class_logits = self.cls_preds[level](self.cls_convs[level](x))
            classes.append(class_logits.permute(0, 2, 3, 1).reshape(batch, -1, self.num_classes))
            boxes.append(self.reg_preds[level](reg_feature).permute(0, 2, 3, 1).reshape(batch, -1, 4))
            objectness.append(self.obj_preds[level](reg_feature).reshape(batch, -1))
        return HeadOutput(torch.cat(classes, 1), torch.cat(boxes, 1), torch.cat(objectness, 1), sizes)
