"""What a tracker may know about a frame besides its detections: the image, the frame's place in its video.

Motion-only trackers ignore it; camera-motion compensation (BoT-SORT, Deep
OC-SORT) reads the pixels, and a re-identification model crops them. The
image is always in the pixel frame of the detection boxes: a model hands the
tracker the network's input image (boxes are in input pixels there), the
Python API and ``vis4d track --images`` the original frame.

A model only holds its input normalised (``batch.images``: float, mean and
std applied, maybe BGR, padded); :meth:`FrameContext.from_normalized` keeps
that tensor and undoes the normalisation only when a tracker asks for pixels
(:meth:`FrameContext.pixels`), so trackers that never look pay nothing.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from torch import Tensor

    from vis4d.common.structures import FrameMeta

UInt8Image = npt.NDArray[np.uint8]
# The data handler's defaults (ImageNet statistics in 0-255 units, RGB): what a model's input is unless configured.
DEFAULT_MEAN = (123.675, 116.28, 103.53)
DEFAULT_STD = (58.395, 57.12, 57.375)


@dataclasses.dataclass(frozen=True)
class Normalization:
    """How a model's input was made from pixels: ``(pixel - mean) / std`` per channel, in ``channel_order``."""

    mean: tuple[float, float, float] = DEFAULT_MEAN
    std: tuple[float, float, float] = DEFAULT_STD
    channel_order: str = "RGB"


@dataclasses.dataclass
class FrameContext:
    """One frame as a tracker sees it, next to its detections.

    ``image`` is H x W x 3 uint8 RGB in the boxes' pixel frame, or None;
    ``frame_index`` the frame's index in its video, ``video`` the video's name
    and ``meta`` the data pipeline's record of the frame where there is one.
    """

    frame_index: int = 0
    video: str = ""
    image: UInt8Image | None = None
    meta: FrameMeta | None = None
    _normalized: Tensor | None = None
    _normalization: Normalization | None = None

    @classmethod
    def from_normalized(
        cls, image: Tensor, normalization: Normalization, meta: FrameMeta | None = None, frame_index: int = 0
    ) -> FrameContext:
        """A context on a model's input image (3, H, W), padded; pixels are recovered on demand, unpadded."""
        video = meta.video_name if meta is not None else ""
        index = meta.frame_index if meta is not None else frame_index
        return cls(index, video, None, meta, image, normalization)

    @property
    def has_image(self) -> bool:
        """Whether pixels are available at all."""
        return self.image is not None or self._normalized is not None

    def pixels(self) -> UInt8Image:
        """The image as H x W x 3 uint8 RGB (made from the normalised input on the first call, then kept)."""
        if self.image is None:
            if self._normalized is None or self._normalization is None:
                raise ValueError("this frame carries no image; the tracker needs one (pass the frame's pixels)")
            self.image = denormalize(self._normalized, self._normalization, self.meta)
        return self.image


def denormalize(image: Tensor, normalization: Normalization, meta: FrameMeta | None) -> UInt8Image:
    """(3, H, W) normalised input -> H x W x 3 uint8 RGB, cut to the unpadded input size of ``meta``."""
    import torch

    mean = torch.tensor(normalization.mean, dtype=torch.float32, device=image.device).view(3, 1, 1)
    std = torch.tensor(normalization.std, dtype=torch.float32, device=image.device).view(3, 1, 1)
    pixels = image.detach().float() * std + mean
    if meta is not None:
        height, width = meta.input_hw
        pixels = pixels[:, :height, :width]
    if normalization.channel_order == "BGR":
        pixels = pixels.flip(0)
    array: UInt8Image = pixels.round_().clamp_(0, 255).to(torch.uint8).permute(1, 2, 0).contiguous().cpu().numpy()
    return array


def as_rgb_image(image: npt.NDArray[np.generic], bgr: bool = False) -> UInt8Image:
    """Check and convert a frame given by a user: H x W x 3 uint8 (``bgr`` for OpenCV's channel order)."""
    array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(f"expected an H x W x 3 uint8 image, got shape {array.shape} and dtype {array.dtype}")
    return np.ascontiguousarray(array[:, :, ::-1] if bgr else array)
