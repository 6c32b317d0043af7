"""YOLOX's strong augmentation: mosaic of four samples, random affine, mixup with a fifth (Megvii's recipe).

A *sample* here is the list of views the handler loads for one frame row: the
key frame and, when training a tracker, its reference frames. Mosaic and
mixup combine whole samples view by view with one set of parameters: the key
mosaic is made of the four samples' key frames, the first reference mosaic of
their first reference frames, and so on, all with the same layout, affine
and mixup, so an object's boxes stay paired across the views (Vis4D 1.0's
QDTrack-YOLOX composes its pairs this way). Track ids are renumbered per
sample so that two samples never share an id.

Every random draw comes from the sample's own generator, in Megvii's order
(mosaic: centre y, centre x, three rows; affine: :func:`~vis4d.data.affine.sample_affine`;
mixup: the chance, the scale, the flip, the row, the crop offset). The
geometry follows ``yolox`` 0.3.0's ``MosaicDetection`` (fit each frame into
the input size with OpenCV's bilinear resize, sizes rounded down; paste around
the centre of a canvas twice the input size; clip the boxes to the canvas)
and its ``mixup`` (fit, scale, flip, pad with zeros, crop at a random offset,
blend 0.5/0.5, boxes clipped to the image).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import cv2
import numpy as np
import torch

from vis4d.common.structures import Targets
from vis4d.config.augment_schema import MixupConfig, MosaicConfig
from vis4d.config.data_schema import HandlerConfig, ResizeConfig
from vis4d.data.affine import sample_affine, warp_view
from vis4d.data.transforms import Resize, View

# Loads the views of one frame row (key first, then its references) drawing from the generator, and says
# whether the references are the key itself (an image dataset: independent photometric jitter).
LoadSample = Callable[[int, np.random.Generator], tuple[list[View], bool]]


def fit(view: View, shape: tuple[int, int]) -> View:
    """Resize to fit ``shape`` keeping the aspect ratio (OpenCV bilinear, sizes rounded down, boxes by the ratio)."""
    resize = Resize(ResizeConfig(shape=shape, rounding="floor", backend="opencv", box_scale="ratio"))
    return resize.apply(view, shape)


def _hwc(view: View) -> np.ndarray:
    return view.image.to(torch.uint8).permute(1, 2, 0).contiguous().numpy()


def _chw(pixels: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(pixels)).permute(2, 0, 1).contiguous()


def _concat(parts: Sequence[Targets]) -> Targets:
    if not parts:
        return Targets.empty()
    return Targets(
        torch.cat([p.boxes.float().reshape(-1, 4) for p in parts]),
        torch.cat([p.class_ids for p in parts]),
        torch.cat([p.track_ids for p in parts]),
        torch.cat([p.ignore for p in parts]),
    )


def paste_regions(
    index: int, centre: tuple[int, int], hw: tuple[int, int], shape: tuple[int, int]
) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """Where image ``index`` (0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right) of size ``hw`` goes.

    Returns (x1, y1, x2, y2) on the canvas (twice ``shape``) and the same-sized
    (x1, y1, x2, y2) region of the image that lands there: each image touches
    the centre with one corner and is cut at the canvas's border.
    """
    (yc, xc), (h, w), (out_h, out_w) = centre, hw, shape
    left, top = index in (0, 2), index in (0, 1)
    x1, x2 = (max(xc - w, 0), xc) if left else (xc, min(xc + w, 2 * out_w))
    y1, y2 = (max(yc - h, 0), yc) if top else (yc, min(yc + h, 2 * out_h))
    sx1, sx2 = (w - (x2 - x1), w) if left else (0, x2 - x1)
    sy1, sy2 = (h - (y2 - y1), h) if top else (0, y2 - y1)
    return (x1, y1, x2, y2), (sx1, sy1, sx2, sy2)


def mosaic_view(views: Sequence[View], centre: tuple[int, int], cfg: MosaicConfig) -> View:
    """Four views (fitted to ``cfg.shape``) on one canvas twice that size; boxes moved and clipped to it."""
    out_h, out_w = cfg.shape
    canvas = np.full((2 * out_h, 2 * out_w, 3), cfg.pad_value, dtype=np.uint8)
    parts = []
    for index, view in enumerate(views):
        (x1, y1, x2, y2), (sx1, sy1, sx2, sy2) = paste_regions(index, centre, view.hw, cfg.shape)
        canvas[y1:y2, x1:x2] = _hwc(view)[sy1:sy2, sx1:sx2]
        shift = torch.tensor([x1 - sx1, y1 - sy1, x1 - sx1, y1 - sy1], dtype=torch.float32)
        parts.append(dataclasses.replace(view.targets, boxes=view.targets.boxes.float() + shift))
    targets = _concat(parts)
    targets.boxes[:, 0::2] = targets.boxes[:, 0::2].clamp(0, 2 * out_w)
    targets.boxes[:, 1::2] = targets.boxes[:, 1::2].clamp(0, 2 * out_h)
    meta = dataclasses.replace(views[0].meta, input_hw=(2 * out_h, 2 * out_w), scale=(1.0, 1.0), flipped=False,
                               crop_offset=(0.0, 0.0))  # fmt: skip
    return View(_chw(canvas), targets, meta)


@dataclasses.dataclass(frozen=True)
class MixupParams:
    """One draw: the other frame's scale jitter, whether it is flipped, and the crop offset (pixels y, x)."""

    jitter: float
    flip: bool
    offset: tuple[int, int]


def mixup_view(view: View, other: View, params: MixupParams, pad_value: float) -> View:
    """Blend ``view`` half and half with ``other`` fitted, jittered, flipped and cropped to its size."""
    target_h, target_w = view.hw
    fitted = fit(other, (target_h, target_w))
    frame = np.full((target_h, target_w, 3), pad_value, dtype=np.uint8)
    fh, fw = fitted.hw
    frame[:fh, :fw] = _hwc(fitted)
    size = (int(target_w * params.jitter), int(target_h * params.jitter))
    scaled = cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR)
    ratio = min(target_h / other.hw[0], target_w / other.hw[1]) * params.jitter  # boxes: the letterbox ratio
    if params.flip:
        scaled = scaled[:, ::-1]
    origin_h, origin_w = scaled.shape[:2]
    padded = np.zeros((max(origin_h, target_h), max(origin_w, target_w), 3), dtype=np.uint8)
    padded[:origin_h, :origin_w] = scaled
    y0, x0 = params.offset
    crop = padded[y0 : y0 + target_h, x0 : x0 + target_w]

    boxes = other.targets.boxes.double().numpy() * ratio
    boxes[:, 0::2] = boxes[:, 0::2].clip(0, origin_w)
    boxes[:, 1::2] = boxes[:, 1::2].clip(0, origin_h)
    if params.flip:
        boxes[:, [0, 2]] = origin_w - boxes[:, [2, 0]]
    boxes[:, 0::2] = (boxes[:, 0::2] - x0).clip(0, target_w)
    boxes[:, 1::2] = (boxes[:, 1::2] - y0).clip(0, target_h)
    added = dataclasses.replace(other.targets, boxes=torch.from_numpy(boxes).float().reshape(-1, 4))
    blended = (0.5 * _hwc(view).astype(np.float32) + 0.5 * crop.astype(np.float32)).astype(np.uint8)
    return View(_chw(blended), _concat([view.targets, added]), view.meta)


def _next_id(views: Sequence[View]) -> int:
    """One more than the largest track id of the views (0 if none has one)."""
    return max((int(v.targets.track_ids.max()) + 1 for v in views if len(v.targets.track_ids)), default=0)


def _shift_ids(views: Sequence[View], offset: int) -> list[View]:
    """The views with their known track ids (>= 0) shifted by ``offset``."""
    out = []
    for view in views:
        ids = view.targets.track_ids
        ids = torch.where(ids >= 0, ids + offset, ids)
        out.append(dataclasses.replace(view, targets=dataclasses.replace(view.targets, track_ids=ids)))
    return out


def _renumber(samples: Sequence[list[View]]) -> list[list[View]]:
    """Shift each sample's track ids past the previous samples' (one shift for all views of a sample)."""
    out: list[list[View]] = []
    offset = 0
    for views in samples:
        out.append(_shift_ids(views, offset))
        offset = max(offset, _next_id(out[-1]))
    return out


class StrongAugmentation:
    """Mosaic, affine and mixup of a handler's config, applied to samples (see the module docstring)."""

    def __init__(self, cfg: HandlerConfig, num_rows: int, load: LoadSample, has_boxes: Callable[[int], bool]) -> None:
        if cfg.mosaic is None:
            raise ValueError("StrongAugmentation needs handler.mosaic")
        self.mosaic = cfg.mosaic
        self.affine = cfg.affine
        self.mixup: MixupConfig | None = cfg.mixup
        self.num_rows = num_rows
        self.load = load
        self.has_boxes = has_boxes

    def __call__(self, views: list[View], self_reference: bool, rng: np.random.Generator) -> tuple[list[View], bool]:
        """The augmented views (mosaic chance drawn first); whether all their references are their keys."""
        if rng.random() >= self.mosaic.prob:
            return views, self_reference
        out_h, out_w = self.mosaic.shape
        low, high = self.mosaic.center_range
        centre = (int(rng.uniform(low * out_h, high * out_h)), int(rng.uniform(low * out_w, high * out_w)))
        loaded = [self.load(int(rng.integers(self.num_rows)), rng) for _ in range(3)]
        samples = _renumber([views] + [v for v, _ in loaded])
        self_reference = self_reference and all(flag for _, flag in loaded)
        mosaics = [
            mosaic_view([fit(s[j], self.mosaic.shape) for s in samples], centre, self.mosaic) for j in range(len(views))
        ]
        if self.affine is not None:
            params = sample_affine(self.affine, rng)
            mosaics = [warp_view(m, params, self.affine, self.mosaic.shape, self.mosaic.pad_value) for m in mosaics]
        # Megvii mixes a mosaic that has labels, empty ones (outside the image) included; those go at the end.
        if self.mixup is not None and len(mosaics[0].targets.boxes) > 0 and rng.random() < self.mixup.prob:
            mosaics, self_reference = self._mix(mosaics, self_reference, rng)
        return [_drop_empty(m) for m in mosaics], self_reference

    def _mix(self, mosaics: list[View], self_reference: bool, rng: np.random.Generator) -> tuple[list[View], bool]:
        assert self.mixup is not None
        jitter = float(rng.uniform(*self.mixup.scale))
        flip = bool(rng.uniform(0.0, 1.0) > 1.0 - self.mixup.flip_prob)  # Megvii: flipped if a draw exceeds 0.5
        for _ in range(100):  # a frame with boxes, as Megvii draws until it finds one
            row = int(rng.integers(self.num_rows))
            if self.has_boxes(row):
                break
        else:
            return mosaics, self_reference
        other, other_self = self.load(row, rng)
        other = _shift_ids(other, _next_id(mosaics))
        # The crop offset within the jittered frame where it is larger than the mosaic (Megvii's randint).
        height, width = mosaics[0].hw
        scaled_h, scaled_w = int(height * jitter), int(width * jitter)
        y0 = int(rng.integers(0, scaled_h - height)) if scaled_h > height else 0
        x0 = int(rng.integers(0, scaled_w - width)) if scaled_w > width else 0
        params = MixupParams(jitter, flip, (y0, x0))
        mixed = [mixup_view(m, o, params, self.mosaic.pad_value) for m, o in zip(mosaics, other, strict=True)]
        return mixed, self_reference and other_self


def _drop_empty(view: View) -> View:
    """Boxes left without area (outside the image after clipping) are no boxes."""
    boxes = view.targets.boxes
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    if bool(keep.all()):
        return view
    t = view.targets
    return dataclasses.replace(view, targets=Targets(boxes[keep], t.class_ids[keep], t.track_ids[keep], t.ignore[keep]))
