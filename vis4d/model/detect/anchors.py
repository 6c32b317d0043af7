"""Anchor boxes on the FPN grid, cached per feature-map size.

Level ``l`` has one anchor size and ``len(aspect_ratios)`` shapes per grid
cell (aspect ratio = height / width, area = size**2), centred on the cell's
top-left corner (``x * stride``, ``y * stride``). torchvision rounds the cell
anchors' corners to whole pixels, mmdetection does not (``rounded``).  Anchors of a level are
ordered (y, x, shape), the order in which the RPN head's (B, A, H, W) outputs
flatten after moving A last.  Anchors only depend on the feature size, so
they are built once per size and device and reused: rebuilding ~60k anchors
every step is measurable on CPU.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import Tensor, nn

from vis4d.common.errors import ConfigError
from vis4d.model.detect.box_coder import is_tracing


class AnchorGenerator(nn.Module):
    """Anchors for several pyramid levels: one size and several aspect ratios per level."""

    def __init__(
        self,
        sizes: list[float],
        aspect_ratios: list[float],
        strides: list[int],
        cache_size: int = 16,
        rounded: bool = True,
    ) -> None:
        super().__init__()
        if len(sizes) != len(strides):
            raise ValueError(f"one anchor size per level expected, got {len(sizes)} sizes for {len(strides)} levels")
        self.strides = list(strides)
        self.num_anchors_per_cell = len(aspect_ratios)
        ratios = torch.tensor(aspect_ratios, dtype=torch.float32)
        height_factors = torch.sqrt(ratios)
        width_factors = 1.0 / height_factors
        cell_anchors = []
        for size in sizes:
            half_w = width_factors * size / 2
            half_h = height_factors * size / 2
            corners = torch.stack((-half_w, -half_h, half_w, half_h), dim=1)
            cell_anchors.append(corners.round() if rounded else corners)
        # Not buffers: they are derived from the config, so checkpoints need not carry them.
        self._cell_anchors = cell_anchors
        self._cache: OrderedDict[tuple[tuple[tuple[int, int], ...], str], Tensor] = OrderedDict()
        self._cache_size = cache_size

    def _level_anchors(self, level: int, height: int, width: int, device: torch.device) -> Tensor:
        """Return the anchors (height * width * A, 4) of one level."""
        stride = self.strides[level]
        shift_x = torch.arange(width, dtype=torch.float32, device=device) * stride
        shift_y = torch.arange(height, dtype=torch.float32, device=device) * stride
        grid_y, grid_x = torch.meshgrid(shift_y, shift_x, indexing="ij")
        shifts = torch.stack((grid_x, grid_y, grid_x, grid_y), dim=-1).reshape(-1, 1, 4)
        return (shifts + self._cell_anchors[level].to(device).view(1, -1, 4)).reshape(-1, 4)

    def num_anchors(self, feature_sizes: list[tuple[int, int]]) -> list[int]:
        """Return how many anchors each level has for feature maps of the given sizes."""
        return [h * w * self.num_anchors_per_cell for h, w in feature_sizes]

    def forward(self, feature_sizes: list[tuple[int, int]], device: torch.device) -> Tensor:
        """Return the anchors of all levels, concatenated finest first: (sum_l H_l * W_l * A, 4) float32 pixels."""
        if is_tracing():  # sizes are traced tensors: the exported graph builds anchors for any image size
            return torch.cat([self._level_anchors(level, h, w, device) for level, (h, w) in enumerate(feature_sizes)])
        key = (tuple(feature_sizes), str(device))
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        anchors = torch.cat([self._level_anchors(level, h, w, device) for level, (h, w) in enumerate(feature_sizes)])
        self._cache[key] = anchors
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return anchors


def anchor_sizes_for_levels(anchor_sizes: list[int], levels: list[str]) -> list[float]:
    """Pick one anchor size per FPN level from ``model.detector.rpn.anchor_sizes``.

    The list either has one entry per level the backbone returns, or five
    entries for ``p2``-``p6`` of which the backbone's levels are taken (a
    MobileNet without ``p2`` uses the last four).
    """
    if len(anchor_sizes) == len(levels):
        return [float(s) for s in anchor_sizes]
    if len(anchor_sizes) == 5:
        return [float(anchor_sizes[int(level[1:]) - 2]) for level in levels]
    raise ConfigError(
        f"model.detector.rpn.anchor_sizes: expected {len(levels)} sizes (levels {levels}) or 5 (p2-p6), "
        f"got {len(anchor_sizes)}"
    )
