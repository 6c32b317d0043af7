"""Data augmentation that keeps boxes, track ids and ignore flags consistent.

Every transform splits into ``sample_params(rng, image_hw) -> params`` and
``apply(view, params) -> view`` (a :class:`View` is the image with its
:class:`Targets` and :class:`FrameMeta`), so the handler samples once per
training sample and applies the *same* parameters to the key frame and its
reference frames (QDTrack needs the pair to agree geometrically). An image that
is its own reference (COCO-style data) keeps the shared geometry but gets
independently sampled photometric parameters per view.

Geometric transforms update :class:`FrameMeta` (scale, flip, crop offset,
input size), which :func:`vis4d.common.structures.to_original_coordinates`
inverts. That inverse assumes the order resize -> flip -> crop; photometric
changes may go anywhere. :func:`build_transforms` enforces the order.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import torch
import torchvision.transforms.v2.functional as TF
from torch import Tensor

from vis4d.common.errors import ConfigError
from vis4d.common.structures import FrameMeta, Targets
from vis4d.config.schema import CropConfig, FlipConfig, HSVConfig, PhotometricConfig, ResizeConfig, TransformConfig


@dataclasses.dataclass
class View:
    """One image with its targets and metadata (uint8 image, 3 x H x W)."""

    image: Tensor
    targets: Targets
    meta: FrameMeta

    @property
    def hw(self) -> tuple[int, int]:
        """Current (height, width)."""
        return int(self.image.shape[-2]), int(self.image.shape[-1])


class Transform(Protocol):
    """A transform with parameters sampled once and applied to several views."""

    geometric: bool

    def sample_params(self, rng: np.random.Generator, image_hw: tuple[int, int]) -> Any:
        """Draw random parameters (from the key frame's size)."""

    def apply(self, view: View, params: Any) -> View:
        """Transform one view with the sampled parameters."""


def _select(targets: Targets, keep: Tensor) -> Targets:
    return Targets(targets.boxes[keep], targets.class_ids[keep], targets.track_ids[keep], targets.ignore[keep])


class Resize:
    """Resize to a fixed shape, or to fit within it keeping the aspect ratio; multi-scale picks a shape."""

    geometric = True

    def __init__(self, cfg: ResizeConfig) -> None:
        self.cfg = cfg

    def sample_params(self, rng: np.random.Generator, image_hw: tuple[int, int]) -> tuple[int, int]:
        """The target shape (h, w) before aspect-ratio fitting."""
        shape = self.cfg.shape
        if self.cfg.scales:
            shape = tuple(self.cfg.scales[int(rng.integers(len(self.cfg.scales)))])  # type: ignore[assignment]
        if self.cfg.scale_range is not None:
            factor = float(rng.uniform(*self.cfg.scale_range))
            shape = (max(1, int(shape[0] * factor + 0.5)), max(1, int(shape[1] * factor + 0.5)))
        return shape

    def output_hw(self, image_hw: tuple[int, int], shape: tuple[int, int]) -> tuple[int, int]:
        """The resized (h, w) of an image of ``image_hw``."""
        if not self.cfg.keep_ratio:
            return shape
        if self.cfg.edges:
            short, long = min(shape), max(shape)
            scale = min(short / min(image_hw), long / max(image_hw))
        else:
            scale = min(shape[0] / image_hw[0], shape[1] / image_hw[1])
        if self.cfg.rounding == "floor":
            return max(1, math.floor(image_hw[0] * scale)), max(1, math.floor(image_hw[1] * scale))
        return max(1, int(image_hw[0] * scale + 0.5)), max(1, int(image_hw[1] * scale + 0.5))

    def ratio(self, image_hw: tuple[int, int], shape: tuple[int, int]) -> float:
        """The single resize ratio of a letterbox (``box_scale = "ratio"``)."""
        if self.cfg.edges:
            return min(min(shape) / min(image_hw), max(shape) / max(image_hw))
        return min(shape[0] / image_hw[0], shape[1] / image_hw[1])

    def apply(self, view: View, params: tuple[int, int]) -> View:  # noqa: D102
        old_h, old_w = view.hw
        new_h, new_w = self.output_hw((old_h, old_w), params)
        if (new_h, new_w) == (old_h, old_w):
            return view
        if self.cfg.backend == "opencv":  # OpenCV's bilinear on the 8-bit HWC image (YOLOX's test pipelines)
            import cv2

            pixels = view.image.to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
            resized = cv2.resize(pixels, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
            image = torch.from_numpy(resized).permute(2, 0, 1)
        elif self.cfg.antialias:
            image = TF.resize(view.image, [new_h, new_w], antialias=True)
        else:  # the detectors' own resize: bilinear on float pixels, nothing rounded to 8 bits
            image = TF.resize(view.image.float(), [new_h, new_w], antialias=False)
        sx, sy = new_w / old_w, new_h / old_h
        if self.cfg.box_scale == "ratio" and self.cfg.keep_ratio:
            sx = sy = self.ratio((old_h, old_w), params)
        boxes = view.targets.boxes * torch.tensor([sx, sy, sx, sy], dtype=view.targets.boxes.dtype)
        meta = dataclasses.replace(
            view.meta, scale=(view.meta.scale[0] * sx, view.meta.scale[1] * sy), input_hw=(new_h, new_w)
        )
        return View(image, dataclasses.replace(view.targets, boxes=boxes), meta)


class Flip:
    """Random horizontal flip."""

    geometric = True

    def __init__(self, cfg: FlipConfig) -> None:
        self.cfg = cfg

    def sample_params(self, rng: np.random.Generator, image_hw: tuple[int, int]) -> bool:
        """Whether to flip."""
        return bool(rng.random() < self.cfg.prob)

    def apply(self, view: View, params: bool) -> View:  # noqa: D102
        if not params:
            return view
        width = view.hw[1]
        boxes = view.targets.boxes.clone()
        boxes[:, [0, 2]] = width - view.targets.boxes[:, [2, 0]]
        meta = dataclasses.replace(view.meta, flipped=not view.meta.flipped)
        return View(view.image.flip(-1), dataclasses.replace(view.targets, boxes=boxes), meta)


class Crop:
    """Random crop; boxes are clipped and those left smaller than ``min_size`` dropped."""

    geometric = True

    def __init__(self, cfg: CropConfig) -> None:
        self.cfg = cfg

    def sample_params(self, rng: np.random.Generator, image_hw: tuple[int, int]) -> tuple[float, float]:
        """Relative offsets (y, x) in [0, 1), turned into pixels per view."""
        return float(rng.random()), float(rng.random())

    def apply(self, view: View, params: tuple[float, float]) -> View:  # noqa: D102
        height, width = view.hw
        crop_h, crop_w = min(self.cfg.shape[0], height), min(self.cfg.shape[1], width)
        y0 = int(params[0] * (height - crop_h + 1))
        x0 = int(params[1] * (width - crop_w + 1))
        image = view.image[:, y0 : y0 + crop_h, x0 : x0 + crop_w]
        boxes = view.targets.boxes - torch.tensor([x0, y0, x0, y0], dtype=view.targets.boxes.dtype)
        boxes[:, 0::2] = boxes[:, 0::2].clamp(0, crop_w)
        boxes[:, 1::2] = boxes[:, 1::2].clamp(0, crop_h)
        widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
        # Boxes outside the crop collapse to zero size: dropped even when min_size is 0.
        keep = (widths >= self.cfg.min_size) & (heights >= self.cfg.min_size) & (widths > 0) & (heights > 0)
        targets = _select(dataclasses.replace(view.targets, boxes=boxes), keep)
        offset = view.meta.crop_offset
        meta = dataclasses.replace(view.meta, crop_offset=(offset[0] + x0, offset[1] + y0), input_hw=(crop_h, crop_w))
        return View(image.contiguous(), targets, meta)


class Photometric:
    """Random brightness, contrast, saturation and hue (boxes untouched)."""

    geometric = False

    def __init__(self, cfg: PhotometricConfig) -> None:
        self.cfg = cfg

    def sample_params(self, rng: np.random.Generator, image_hw: tuple[int, int]) -> dict[str, float] | None:
        """Factors per property, or ``None`` to leave the image as it is."""
        if rng.random() >= self.cfg.prob:
            return None
        cfg = self.cfg
        return {
            "brightness": float(rng.uniform(1 - cfg.brightness, 1 + cfg.brightness)),
            "contrast": float(rng.uniform(1 - cfg.contrast, 1 + cfg.contrast)),
            "saturation": float(rng.uniform(1 - cfg.saturation, 1 + cfg.saturation)),
            "hue": float(rng.uniform(-cfg.hue, cfg.hue)),
        }

    def apply(self, view: View, params: dict[str, float] | None) -> View:  # noqa: D102
        if params is None:
            return view
        image = TF.adjust_brightness(view.image, params["brightness"])
        image = TF.adjust_contrast(image, params["contrast"])
        image = TF.adjust_saturation(image, params["saturation"])
        if params["hue"]:
            image = TF.adjust_hue(image, params["hue"])
        return dataclasses.replace(view, image=image)


class HSV:
    """Megvii's HSV jitter: whole-number shifts of OpenCV's 8-bit hue, saturation and value (boxes untouched)."""

    geometric = False

    def __init__(self, cfg: HSVConfig) -> None:
        self.cfg = cfg

    def sample_params(self, rng: np.random.Generator, image_hw: tuple[int, int]) -> tuple[int, int, int] | None:
        """Shifts (hue, saturation, value): each drawn from [-gain, gain], kept with chance 1/2, truncated."""
        if rng.random() >= self.cfg.prob:
            return None
        gains = rng.uniform(-1, 1, 3) * np.array([self.cfg.hgain, self.cfg.sgain, self.cfg.vgain])
        gains *= rng.integers(0, 2, 3)
        hue, saturation, value = (int(v) for v in gains.astype(np.int16))
        return hue, saturation, value

    def apply(self, view: View, params: tuple[int, int, int] | None) -> View:  # noqa: D102
        if params is None:
            return view
        import cv2

        image = view.image
        if image.is_floating_point():  # a float resize's output: back to 8 bits as Megvii's images always are
            image = image.round().clamp(0, 255)
        pixels = image.to(torch.uint8).permute(1, 2, 0).contiguous().numpy()
        hsv = cv2.cvtColor(pixels, cv2.COLOR_RGB2HSV).astype(np.int16)
        hsv[..., 0] = (hsv[..., 0] + params[0]) % 180
        hsv[..., 1] = np.clip(hsv[..., 1] + params[1], 0, 255)
        hsv[..., 2] = np.clip(hsv[..., 2] + params[2], 0, 255)
        rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)
        return dataclasses.replace(view, image=torch.from_numpy(rgb).permute(2, 0, 1).contiguous())


_ORDER = {"resize": 0, "flip": 1, "crop": 2}


def build_transforms(configs: Sequence[TransformConfig]) -> list[Transform]:
    """Transforms from ``handler.transforms``; geometric ones must come as resize, flip, crop."""
    geometric = [_ORDER[c.type] for c in configs if c.type in _ORDER]
    if geometric != sorted(geometric):
        raise ConfigError(
            "handler.transforms: geometric transforms must be ordered resize, flip, crop "
            "(so that predictions map back to original pixels)"
        )
    built: list[Transform] = []
    for cfg in configs:
        if isinstance(cfg, ResizeConfig):
            built.append(Resize(cfg))
        elif isinstance(cfg, FlipConfig):
            built.append(Flip(cfg))
        elif isinstance(cfg, CropConfig):
            built.append(Crop(cfg))
        elif isinstance(cfg, HSVConfig):
            built.append(HSV(cfg))
        else:
            built.append(Photometric(cfg))
    return built


def apply_transforms(
    views: Sequence[View],
    transforms: Sequence[Transform],
    rng: np.random.Generator,
    independent_photometric: bool = False,
) -> list[View]:
    """Apply ``transforms`` to all views with parameters sampled once (from the first view).

    With ``independent_photometric`` each view draws its own photometric
    parameters, so an image used as its own reference still differs in
    appearance while boxes stay identical.
    """
    out = list(views)
    for transform in transforms:
        params = transform.sample_params(rng, out[0].hw)
        out = [
            transform.apply(
                view,
                params
                if i == 0 or transform.geometric or not independent_photometric
                else transform.sample_params(rng, view.hw),
            )
            for i, view in enumerate(out)
        ]
    return out
