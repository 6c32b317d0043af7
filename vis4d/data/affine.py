"""The random affine of YOLOX's mosaic: one warp of the canvas into the input size, boxes warped and filtered.

Parameters are drawn once per sample (:func:`sample_affine`) and applied to
the key mosaic and its reference mosaics alike (:func:`warp_view`), so boxes
of one object stay paired. The matrix is Megvii's (``yolox`` 0.3.0,
``get_affine_matrix``): rotation and scale about the origin, shear after
them, translation by up to ``translate`` of the output; with ``centre`` it is
ByteTrack's, which first moves the canvas centre to the origin and then to
``0.5 +- translate`` of the output.
"""

from __future__ import annotations

import dataclasses
import math

import cv2
import numpy as np
import torch

from vis4d.common.structures import Targets
from vis4d.config.augment_schema import AffineConfig
from vis4d.data.transforms import View


@dataclasses.dataclass(frozen=True)
class AffineParams:
    """One draw: rotation (degrees), scale, shear angles (degrees; x, y) and translation (fractions; x, y)."""

    angle: float
    scale: float
    shear: tuple[float, float]
    translate: tuple[float, float]


def sample_affine(cfg: AffineConfig, rng: np.random.Generator) -> AffineParams:
    """Draw in Megvii's order: angle, scale, shear x, shear y, translation x, translation y."""
    angle = float(rng.uniform(-cfg.degrees, cfg.degrees))
    scale = float(rng.uniform(*cfg.scale))
    shear_x, shear_y = (float(rng.uniform(-cfg.shear, cfg.shear)) for _ in range(2))
    tx, ty = (float(rng.uniform(-cfg.translate, cfg.translate)) for _ in range(2))
    return AffineParams(angle, scale, (shear_x, shear_y), (tx, ty))


def affine_matrix(
    params: AffineParams, out_hw: tuple[int, int], canvas_hw: tuple[int, int], centre: bool
) -> np.ndarray:
    """The 2x3 matrix from canvas pixels to output pixels."""
    height, width = out_hw
    rotate = cv2.getRotationMatrix2D(center=(0, 0), angle=params.angle, scale=params.scale)[:, :2]
    shear = np.array([[1.0, math.tan(math.radians(params.shear[1]))], [math.tan(math.radians(params.shear[0])), 1.0]])
    linear = shear @ rotate
    if centre:  # ByteTrack: canvas centre -> origin, then to (0.5 +- translate) of the output
        origin = linear @ np.array([-canvas_hw[1] / 2, -canvas_hw[0] / 2])
        shift = origin + np.array([(0.5 + params.translate[0]) * width, (0.5 + params.translate[1]) * height])
    else:  # Megvii 0.3.0: translation alone, the canvas's corner stays the warp's origin
        shift = np.array([params.translate[0] * width, params.translate[1] * height])
    return np.concatenate([linear, shift[:, None]], axis=1)


def warp_boxes(boxes: np.ndarray, matrix: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """The box around each box's four warped corners, clipped to the output (N x 4 float64)."""
    if len(boxes) == 0:
        return np.zeros((0, 4))
    corners = boxes[:, [0, 1, 2, 3, 0, 3, 2, 1]].reshape(-1, 2)  # (x1, y1), (x2, y2), (x1, y2), (x2, y1)
    warped = (np.concatenate([corners, np.ones((len(corners), 1))], axis=1) @ matrix.T).reshape(-1, 4, 2)
    out = np.concatenate([warped.min(axis=1), warped.max(axis=1)], axis=1)
    out[:, 0::2] = out[:, 0::2].clip(0, out_hw[1])
    out[:, 1::2] = out[:, 1::2].clip(0, out_hw[0])
    return out


def keep_candidates(before: np.ndarray, after: np.ndarray, scale: float, cfg: AffineConfig) -> np.ndarray:
    """Boxes large enough, thick enough and with enough of their area left (ByteTrack's ``box_candidates``).

    With the defaults every box stays, as in Megvii's affine (boxes left
    empty, outside the output, are dropped after mixup).
    """
    w1, h1 = before[:, 2] - before[:, 0], before[:, 3] - before[:, 1]
    w2, h2 = after[:, 2] - after[:, 0], after[:, 3] - after[:, 1]
    keep = np.ones(len(after), dtype=bool)
    if cfg.min_size is not None:
        keep &= (w2 > cfg.min_size) & (h2 > cfg.min_size)
    if cfg.min_area_ratio > 0:
        keep &= w2 * h2 / (w1 * h1 * scale**2 + 1e-16) > cfg.min_area_ratio
    if cfg.max_aspect_ratio is not None:
        keep &= np.maximum(w2 / (h2 + 1e-16), h2 / (w2 + 1e-16)) < cfg.max_aspect_ratio
    return np.asarray(keep, dtype=bool)


def warp_view(view: View, params: AffineParams, cfg: AffineConfig, out_hw: tuple[int, int], pad_value: float) -> View:
    """Warp a mosaic into an ``out_hw`` image (bilinear, ``pad_value`` outside); boxes warped, clipped, filtered."""
    pixels = view.image.to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
    matrix = affine_matrix(params, out_hw, view.hw, cfg.centre)
    fill = (pad_value, pad_value, pad_value)
    warped = cv2.warpAffine(pixels, matrix, dsize=(out_hw[1], out_hw[0]), borderValue=fill)
    before = view.targets.boxes.double().numpy()
    after = warp_boxes(before, matrix, out_hw)
    keep = torch.from_numpy(keep_candidates(before, after, params.scale, cfg))
    targets = view.targets
    targets = Targets(
        torch.from_numpy(after).float()[keep].reshape(-1, 4),
        targets.class_ids[keep],
        targets.track_ids[keep],
        targets.ignore[keep],
    )
    meta = dataclasses.replace(view.meta, input_hw=out_hw)
    return View(torch.from_numpy(warped).permute(2, 0, 1).contiguous(), targets, meta)
