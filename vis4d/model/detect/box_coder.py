"""Box regression targets: the (dx, dy, dw, dh) parametrisation of R-CNN.

A delta moves a box's centre by a fraction of its size and scales its width
and height in log space; ``weights`` divide the deltas (equivalently, the
regression targets are normalised by ``1 / weights``: (10, 10, 5, 5) is the
std (0.1, 0.1, 0.2, 0.2) of the mmdetection recipes).  All math is in
float32 so half-precision features (AMP) cannot lose box precision.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

# Unpadded (h, w) of each image in input pixels: a list when run, a (B, 2) tensor in an exported graph,
# whose image size is an input (vis4d.model.export).
ImageSizes = Sequence[tuple[int, int]] | Tensor

# Largest log-scale a decoded box may grow by: exp(4.135) = 1000/16, so a
# 16-pixel anchor cannot become wider than 1000 pixels (avoids exp overflow).
DEFAULT_SCALE_CLAMP = math.log(1000.0 / 16)


def _centre_size(boxes: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Split xyxy boxes (..., 4) into centre x, centre y, width, height."""
    widths = boxes[..., 2] - boxes[..., 0]
    heights = boxes[..., 3] - boxes[..., 1]
    return boxes[..., 0] + 0.5 * widths, boxes[..., 1] + 0.5 * heights, widths, heights


def encode_boxes(
    reference: Tensor, proposals: Tensor, weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
) -> Tensor:
    """Return the deltas (..., 4) that move ``proposals`` onto ``reference`` boxes (both xyxy, broadcastable)."""
    reference = reference.float()
    proposals = proposals.float()
    ref_x, ref_y, ref_w, ref_h = _centre_size(reference)
    prop_x, prop_y, prop_w, prop_h = _centre_size(proposals)
    wx, wy, ww, wh = weights
    return torch.stack(
        (
            wx * (ref_x - prop_x) / prop_w,
            wy * (ref_y - prop_y) / prop_h,
            ww * torch.log(ref_w / prop_w),
            wh * torch.log(ref_h / prop_h),
        ),
        dim=-1,
    )


def decode_boxes(
    deltas: Tensor,
    boxes: Tensor,
    weights: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0),
    scale_clamp: float = DEFAULT_SCALE_CLAMP,
    clamp_both: bool = False,
) -> Tensor:
    """Apply ``deltas`` (..., 4) to xyxy ``boxes`` (broadcastable to the deltas' shape); returns xyxy float32.

    Width and height deltas are clamped at ``scale_clamp`` so untrained
    networks cannot produce infinite boxes; ``clamp_both`` also bounds how
    much a box may shrink (mmdetection's and Vis4D 1.0's decoding).
    """
    deltas = deltas.float()
    ctr_x, ctr_y, widths, heights = _centre_size(boxes.float())
    wx, wy, ww, wh = weights
    dx = deltas[..., 0] / wx
    dy = deltas[..., 1] / wy
    low = -scale_clamp if clamp_both else None
    dw = (deltas[..., 2] / ww).clamp(min=low, max=scale_clamp)
    dh = (deltas[..., 3] / wh).clamp(min=low, max=scale_clamp)
    pred_x = dx * widths + ctr_x
    pred_y = dy * heights + ctr_y
    half_w = 0.5 * torch.exp(dw) * widths
    half_h = 0.5 * torch.exp(dh) * heights
    return torch.stack((pred_x - half_w, pred_y - half_h, pred_x + half_w, pred_y + half_h), dim=-1)


def clip_boxes(boxes: Tensor, heights: Tensor | float, widths: Tensor | float) -> Tensor:
    """Clip xyxy boxes (..., 4) to ``[0, width] x [0, height]``; sizes may be tensors broadcastable to (...,)."""
    x = boxes[..., 0::2].clamp(min=0)
    y = boxes[..., 1::2].clamp(min=0)
    if isinstance(widths, Tensor):
        x = torch.minimum(x, widths.unsqueeze(-1))
        y = torch.minimum(y, heights.unsqueeze(-1))  # type: ignore[union-attr]
    else:
        x = x.clamp(max=widths)
        y = y.clamp(max=heights)
    return torch.stack((x[..., 0], y[..., 0], x[..., 1], y[..., 1]), dim=-1)


def image_size_tensor(image_sizes: ImageSizes, device: torch.device) -> Tensor:
    """The (B, 2) float32 (h, w) of ``image_sizes``, for clipping with tensor bounds."""
    if isinstance(image_sizes, Tensor):
        return image_sizes.to(device=device, dtype=torch.float32).reshape(-1, 2)
    return torch.tensor(list(image_sizes), dtype=torch.float32, device=device).reshape(-1, 2)


def is_tracing() -> bool:
    """Whether ``torch.jit.trace`` (``vis4d export``) is recording: sizes are then tensors to keep dynamic."""
    return bool(torch.jit.is_tracing())  # type: ignore[attr-defined,no-untyped-call]
