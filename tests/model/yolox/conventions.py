"""The reference implementations' test-time preprocessing, written out for the equivalence tests.

Until the data handler has the options (channel order, raw 0-255 pixels,
letterbox resize padded with 114 at the bottom/right, the references' rounding
of the resized size and OpenCV's bilinear resize of 8-bit images), the
fixture tests make their inputs with these functions: each returns the image
tensor (1, 3, H, W) and the resize ratio (x, y) that maps input pixels back to
the original (``original = input / ratio``).

* Megvii (``yolox`` 0.3.0 ``ValTransform(legacy=False)``): BGR, ratio
  ``min(H / h, W / w)``, size ``floor(side * ratio)``, ``cv2.resize``
  (bilinear, 8-bit), pasted at the top-left of an (H, W) canvas of 114, raw
  0-255 values.
* ByteTrack (its ``preproc``): the same resize and canvas, then RGB, divided by
  255 and normalised with ImageNet's mean and std.
* Vis4D 1.0's YOLOX (its COCO test pipeline): BGR, size
  ``int(side * ratio + 0.5)``, ``cv2.resize``, padded with 114 to a square
  (and a multiple of 32), raw values; its QDTrack-YOLOX resizes with torch's
  bilinear interpolation instead and pads to a multiple of 32.
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import Tensor
from torch.nn import functional as F

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
PAD_VALUE = 114


Ratio = tuple[float, float]


def _letterbox(bgr: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, float]:
    """Megvii's/ByteTrack's resize into an (H, W) canvas of 114: (float32 HWC BGR image, ratio)."""
    ratio = min(size[0] / bgr.shape[0], size[1] / bgr.shape[1])
    resized = cv2.resize(bgr, (int(bgr.shape[1] * ratio), int(bgr.shape[0] * ratio)), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((size[0], size[1], 3), PAD_VALUE, np.uint8)
    canvas[: resized.shape[0], : resized.shape[1]] = resized
    return canvas.astype(np.float32), ratio


def megvii_input(path: str | Path, size: tuple[int, int]) -> tuple[Tensor, Ratio]:
    """Megvii's test input: BGR, raw 0-255, letterboxed with 114; boxes map back by the one ratio."""
    image, ratio = _letterbox(cv2.imread(str(path)), size)
    return torch.from_numpy(image.transpose(2, 0, 1).copy())[None], (ratio, ratio)


def bytetrack_input(path: str | Path, size: tuple[int, int]) -> tuple[Tensor, Ratio]:
    """ByteTrack's test input: Megvii's letterbox, then RGB, /255, ImageNet mean and std."""
    image, ratio = _letterbox(cv2.imread(str(path)), size)
    image = (image[:, :, ::-1] / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32).copy())[None], (ratio, ratio)


def vis4d_v1_input(
    path: str | Path, size: tuple[int, int], backend: str = "cv2", square: bool = True
) -> tuple[Tensor, Ratio]:
    """Vis4D 1.0's YOLOX test input: BGR, rounded resize (cv2 or torch bilinear), padded with 114, raw values.

    Vis4D 1.0 maps boxes back per axis, by resized / original size.
    """
    bgr = cv2.imread(str(path))
    scale = min(size[0] / bgr.shape[0], size[1] / bgr.shape[1])
    height, width = int(bgr.shape[0] * scale + 0.5), int(bgr.shape[1] * scale + 0.5)
    if backend == "cv2":
        image = torch.from_numpy(cv2.resize(bgr, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32))
        image = image.permute(2, 0, 1)[None]
    else:
        image = torch.from_numpy(bgr.astype(np.float32)).permute(2, 0, 1)[None]
        image = F.interpolate(image, (height, width), mode="bilinear", align_corners=False, antialias=False)
    side_h, side_w = (max(height, width),) * 2 if square else (height, width)
    pad_h, pad_w = math.ceil(side_h / 32) * 32, math.ceil(side_w / 32) * 32
    image = F.pad(image, (0, pad_w - width, 0, pad_h - height), value=PAD_VALUE)
    return image.contiguous(), (width / bgr.shape[1], height / bgr.shape[0])
