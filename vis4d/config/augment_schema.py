"""Config sections of YOLOX-style training augmentation: mosaic, random affine, mixup, HSV jitter, multi-scale.

Defaults are Megvii's (the ``yolox`` package 0.3.0, ``yolox_base``): mosaic of
four frames on every sample, a random affine of the mosaic (rotation up to 10
degrees, translation up to 0.1 of the output, scale 0.1-2, shear up to 2
degrees), mixup with a fifth frame (scale jitter 0.5-1.5, blended half and
half), HSV jitter with gains 5/30/30, and multi-scale training that resizes
each batch to a random multiple of 32 every 10 steps. The options that differ
in other implementations are listed here: ByteTrack's fork of YOLOX centres
the affine on the canvas and keeps a box only if it is large enough, not too
thin and kept enough of its area (``centre``, ``min_size``,
``min_area_ratio``, ``max_aspect_ratio``); Vis4D 1.0's QDTrack-YOLOX scales
by 0.5-1.5.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from vis4d.config.fields import (
    ImageShape,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Probability,
    StrictModel,
)

Range = tuple[float, float]


def ordered_range(value: Range) -> Range:
    """A (low, high) range: finite, low <= high."""
    low, high = value
    if not all(v == v and abs(v) != float("inf") for v in value) or low > high:
        raise ValueError(f"expected a range [low, high] of finite numbers with low <= high, got [{low}, {high}]")
    return value


def positive_range(value: Range) -> Range:
    """A (low, high) range of factors: finite, 0 < low <= high."""
    ordered_range(value)
    if value[0] <= 0:
        raise ValueError(f"expected factors > 0, got [{value[0]}, {value[1]}]")
    return value


class HSVConfig(StrictModel):
    """Random hue, saturation and value shifts in OpenCV's 8-bit HSV space (Megvii's ``augment_hsv``).

    Each channel is shifted with probability 1/2 by a whole number drawn from
    [-gain, gain] (hue turns around 180, saturation and value clip to 0-255).
    """

    type: Literal["hsv"] = Field(default="hsv", description="Selects this transform.")
    hgain: NonNegativeFloat = Field(default=5.0, description="Hue shift at most this (OpenCV's hue: 0-179).")
    sgain: NonNegativeFloat = Field(default=30.0, description="Saturation shift at most this (0-255).")
    vgain: NonNegativeFloat = Field(default=30.0, description="Value shift at most this (0-255).")
    prob: Probability = Field(default=1.0, description="Chance that a frame is jittered (Megvii's hsv_prob).")


class MosaicConfig(StrictModel):
    """Four frames on a canvas twice the input size around a random centre (Megvii's ``MosaicDetection``).

    The sample's frame and three frames drawn from the training set are each
    resized to fit ``shape`` (keeping their aspect ratio) and placed top-left,
    top-right, bottom-left and bottom-right of the centre; ``affine`` then
    warps the canvas into a ``shape`` image and ``mixup`` may blend in another
    frame. Tracker training: the key frame's mosaic and its reference frames'
    mosaics are made of the same four samples' key and reference frames with
    one layout, so boxes of one object stay paired (Vis4D 1.0's QDTrack-YOLOX).
    """

    prob: Probability = Field(default=1.0, description="Chance that a sample is a mosaic (Megvii's mosaic_prob).")
    shape: ImageShape = Field(description="(height, width) of the network input: the size each frame is fitted to.")
    center_range: Range = Field(
        default=(0.5, 1.5), description="The mosaic centre, as a fraction of shape, is drawn from this range."
    )
    pad_value: float = Field(default=114.0, ge=0, le=255, description="Pixel value (0-255) of the empty canvas.")

    _range = field_validator("center_range")(ordered_range)


class AffineConfig(StrictModel):
    """Random rotation, scale, shear and translation of the mosaic into a ``mosaic.shape`` image (needs mosaic).

    Megvii's geometry (``centre = false``): rotation and scale about the
    canvas's top-left corner, translation by up to ``translate`` of the output
    size. ByteTrack's (``centre = true``): about the canvas centre, which
    lands at ``0.5 +- translate`` of the output. Boxes: the four corners are
    transformed, the box around them clipped to the image; boxes then need
    both sides above ``min_size``, ``min_area_ratio`` of their area (times the
    scale squared) and an aspect ratio below ``max_aspect_ratio`` to be kept
    (by default none of these rules applies, as in Megvii's code).
    """

    degrees: NonNegativeFloat = Field(default=10.0, description="Rotation drawn from [-degrees, degrees].")
    translate: NonNegativeFloat = Field(default=0.1, description="Translation up to this fraction of the output.")
    scale: Range = Field(default=(0.1, 2.0), description="Scale drawn from this range (Megvii's mosaic_scale).")
    shear: NonNegativeFloat = Field(default=2.0, description="Shear angles drawn from [-shear, shear] degrees.")
    centre: bool = Field(default=False, description="Warp about the canvas centre (ByteTrack), not its corner.")
    min_size: NonNegativeFloat | None = Field(
        default=None, description="Keep boxes whose width and height exceed this after the warp (ByteTrack: 2)."
    )
    min_area_ratio: NonNegativeFloat = Field(
        default=0.0, description="Keep boxes with area after / (area before x scale^2) above this (ByteTrack: 0.2)."
    )
    max_aspect_ratio: PositiveFloat | None = Field(
        default=None, description="Keep boxes whose longer side / shorter side is below this (ByteTrack: 20)."
    )

    _scale = field_validator("scale")(positive_range)


class MixupConfig(StrictModel):
    """Blend half and half with another frame of the training set (needs mosaic; Megvii's ``mixup``).

    The other frame (one with boxes) is fitted to ``mosaic.shape``, scaled by
    a factor from ``scale``, flipped with ``flip_prob``, cropped at a random
    offset to the mosaic's size and blended; its boxes join the sample's.
    Applied to mosaics that kept a box, as Megvii does.
    """

    prob: Probability = Field(default=1.0, description="Chance that a mosaic is mixed (Megvii's mixup_prob).")
    scale: Range = Field(default=(0.5, 1.5), description="Scale jitter of the other frame (Megvii's mixup_scale).")
    flip_prob: Probability = Field(default=0.5, description="Chance that the other frame is flipped.")

    _scale = field_validator("scale")(positive_range)


class MultiScaleConfig(StrictModel):
    """Multi-scale training: every ``interval`` steps the batches are resized to a random size (Megvii's).

    The height is a multiple of ``divisor`` drawn from ``heights``; the width
    keeps the batch's aspect ratio, rounded down to a multiple of
    ``divisor``. The images are resized as a whole (bilinear) and their boxes
    scaled. The size is a function of the run's seed and the step, so every
    process and a resumed run draw the same; the first ``interval`` steps keep
    the input size, as Megvii's trainer does.
    """

    heights: tuple[int, int] = Field(description="(lowest, highest) height in pixels, multiples of divisor.")
    interval: PositiveInt = Field(default=10, description="Optimizer steps between size changes.")
    divisor: PositiveInt = Field(default=32, description="Heights and widths are multiples of this.")

    @model_validator(mode="after")
    def _check(self) -> MultiScaleConfig:
        low, high = self.heights
        if low < self.divisor or low > high or low % self.divisor or high % self.divisor:
            raise ValueError(
                f"heights: expected [low, high] with low <= high, both multiples of divisor ({self.divisor}) "
                f"and at least it, got [{low}, {high}]"
            )
        return self
