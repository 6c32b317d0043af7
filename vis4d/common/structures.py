"""Typed containers that flow between the layers: samples, batches, predictions.

* :class:`FrameMeta` travels with every image and says how to map boxes from
  the network's input pixels back to the original image.
* :class:`Targets` are the ground truth of one image in input pixels.
* :class:`Batch` is what the data module yields and the model consumes.
  For tracking training, ``refs`` holds reference-view batches aligned
  element-wise with the key batch (``refs[j].meta[i]`` belongs to the same
  video as ``meta[i]``).
* :class:`FramePrediction` is what a model returns per image, in input pixels;
  :func:`to_original_coordinates` maps it back.
* :class:`FrameOutput` is a frame's prediction in original pixels as numpy
  arrays: what inference hands to evaluators, prediction writers and
  visualizers (:func:`frame_output` makes one from a prediction).

A tracking model's prediction is what its tracker output; its
``detections`` are the detector's own detections of the image, before the
tracker kept those above its score threshold. Detection AP is computed on
those (as the QDTrack papers report it): on the tracker's output it would be
capped by the threshold. Writers and visualizers use the tracked boxes.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # torch is imported where a tensor is made: stores, evaluation and the CLI's checks load without it
    import torch
    from torch import Tensor


@dataclasses.dataclass
class FrameMeta:
    """Where an image came from and which geometric transform made the input.

    input = original * scale (then flipped horizontally within ``input_hw`` if
    ``flipped``, then shifted by ``-crop_offset``); padding only adds pixels at
    the bottom/right and does not move boxes.
    """

    name: str
    video_name: str
    frame_index: int
    image_path: str
    original_hw: tuple[int, int]
    input_hw: tuple[int, int]
    scale: tuple[float, float] = (1.0, 1.0)  # (sx, sy)
    flipped: bool = False
    crop_offset: tuple[float, float] = (0.0, 0.0)  # (x, y) in scaled pixels
    frame_row: int = -1  # row in the dataset's store, -1 if not from a store
    image_id: int = -1  # the dataset's own image id (COCO), -1 if it has none


@dataclasses.dataclass
class Targets:
    """Ground truth of one image, in input pixels."""

    boxes: Tensor  # (N, 4) float32 xyxy
    class_ids: Tensor  # (N,) int64
    track_ids: Tensor  # (N,) int64, -1 if unknown
    ignore: Tensor  # (N,) bool: crowd / ignored-class regions

    def to(self, device: torch.device | str) -> Targets:
        """Move every tensor to ``device``."""
        return Targets(*(t.to(device) for t in (self.boxes, self.class_ids, self.track_ids, self.ignore)))

    @staticmethod
    def empty() -> Targets:
        """Targets without any box."""
        import torch

        return Targets(
            torch.zeros((0, 4)),
            torch.zeros(0, dtype=torch.int64),
            torch.zeros(0, dtype=torch.int64),
            torch.zeros(0, dtype=torch.bool),
        )


@dataclasses.dataclass
class Batch:
    """Images padded to one size, with their targets and metadata."""

    images: Tensor  # (B, 3, H, W) float32, normalised
    targets: list[Targets]
    meta: list[FrameMeta]
    refs: list[Batch] = dataclasses.field(default_factory=list)

    @property
    def image_sizes(self) -> list[tuple[int, int]]:
        """Unpadded (h, w) of each image in input pixels."""
        return [m.input_hw for m in self.meta]

    def __len__(self) -> int:
        return len(self.meta)

    def to(self, device: torch.device | str) -> Batch:
        """Move images, targets and reference views to ``device``."""
        return Batch(
            images=self.images.to(device, non_blocking=True),
            targets=[t.to(device) for t in self.targets],
            meta=self.meta,
            refs=[r.to(device) for r in self.refs],
        )


@dataclasses.dataclass
class FramePrediction:
    """Detections (and track ids, for trackers) of one image."""

    boxes: Tensor  # (K, 4) float32 xyxy
    scores: Tensor  # (K,) float32 in [0, 1]
    class_ids: Tensor  # (K,) int64
    track_ids: Tensor | None = None  # (K,) int64 for trackers
    detections: FramePrediction | None = None  # trackers: the detector's own output, before the tracker

    def to(self, device: torch.device | str) -> FramePrediction:
        """Move every tensor (and the detector's detections) to ``device``."""
        return FramePrediction(
            self.boxes.to(device),
            self.scores.to(device),
            self.class_ids.to(device),
            None if self.track_ids is None else self.track_ids.to(device),
            None if self.detections is None else self.detections.to(device),
        )

    def select(self, keep: Tensor) -> FramePrediction:
        """The detections selected by a boolean mask or an index tensor (without the detector's ``detections``)."""
        return FramePrediction(
            self.boxes[keep],
            self.scores[keep],
            self.class_ids[keep],
            None if self.track_ids is None else self.track_ids[keep],
        )


def to_original_coordinates(boxes: Tensor, meta: FrameMeta) -> Tensor:
    """Map xyxy boxes from input pixels back to the original image's pixels.

    Inverts crop, flip and scale in that order and clips to the original image.
    """
    out = boxes.clone().float()
    if meta.crop_offset != (0.0, 0.0):
        out[:, 0::2] += meta.crop_offset[0]
        out[:, 1::2] += meta.crop_offset[1]
    if meta.flipped:
        scaled_w = meta.original_hw[1] * meta.scale[0]
        out[:, [0, 2]] = scaled_w - out[:, [2, 0]]
    out[:, 0::2] /= meta.scale[0]
    out[:, 1::2] /= meta.scale[1]
    out[:, 0::2] = out[:, 0::2].clamp(0, meta.original_hw[1])
    out[:, 1::2] = out[:, 1::2].clamp(0, meta.original_hw[0])
    return out


@dataclasses.dataclass
class FrameOutput:
    """Predictions of one image in original pixels, as numpy arrays."""

    meta: FrameMeta
    boxes: npt.NDArray[np.float32]  # (K, 4) xyxy
    scores: npt.NDArray[np.float32]  # (K,)
    class_ids: npt.NDArray[np.int64]  # (K,)
    track_ids: npt.NDArray[np.int64] | None = None  # (K,), None for detectors
    detections: FrameOutput | None = None  # trackers: the detector's own output (see the module docstring)


def frame_output(meta: FrameMeta, prediction: FramePrediction) -> FrameOutput:
    """A model's prediction of one image as a :class:`FrameOutput`: boxes in original pixels, numpy arrays.

    The detector's ``detections`` of a tracking model come along, converted the same way.
    """
    boxes = to_original_coordinates(prediction.boxes, meta)
    return FrameOutput(
        meta=meta,
        boxes=boxes.detach().cpu().numpy().astype(np.float32),
        scores=prediction.scores.detach().float().cpu().numpy(),
        class_ids=prediction.class_ids.detach().cpu().numpy().astype(np.int64),
        track_ids=None if prediction.track_ids is None else prediction.track_ids.detach().cpu().numpy(),
        detections=None if prediction.detections is None else frame_output(meta, prediction.detections),
    )
