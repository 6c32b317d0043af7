"""The dataset handler: store rows -> augmented samples -> padded batches.

:class:`FrameDataset` reads one frame (and, for tracker training, its reference
frames) from an :class:`AnnotationStore`, decodes the images and applies the
configured transforms with shared parameters. :func:`collate` normalises,
pads to a multiple of ``pad_divisor`` and stacks the views into a
:class:`Batch` whose ``refs`` align element-wise with the key frames.

The store stays a set of numpy arrays: workers index into it without touching
Python reference counts, so its memory is shared, not copied on read.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from vis4d.common.structures import Batch, FrameMeta, Targets
from vis4d.config.schema import HandlerConfig
from vis4d.data.io import decode_image
from vis4d.data.mosaic import StrongAugmentation
from vis4d.data.notes import warn
from vis4d.data.reference import sample_reference_frames
from vis4d.data.store import AnnotationStore
from vis4d.data.transforms import View, apply_transforms, build_transforms


@dataclasses.dataclass
class Sample:
    """The key view first, then its reference views (training trackers only)."""

    views: list[View]


class FrameDataset(Dataset[Sample]):
    """Frames of a store as transformed views."""

    def __init__(
        self,
        store: AnnotationStore,
        cfg: HandlerConfig,
        categories: Sequence[str],
        training: bool,
        no_aug_from_epoch: int | None = None,
    ) -> None:
        """``no_aug_from_epoch``: from this epoch on (the recipe's last epochs) mosaic, affine and mixup are off."""
        if tuple(categories) != store.categories:
            raise ValueError(f"the store's categories {list(store.categories)} differ from {list(categories)}")
        self.store = store
        self.cfg = cfg
        self.training = training
        self.no_aug_from_epoch = no_aug_from_epoch
        self.transforms = build_transforms(cfg.transforms)
        self.video_of_frame = store.frame_video_ids()
        self._warned_outside = False
        self.strong = (
            StrongAugmentation(cfg, store.num_frames, self._load_sample, self._has_boxes)
            if training and cfg.mosaic is not None
            else None
        )

    def __len__(self) -> int:
        return self.store.num_frames

    def load_view(self, row: int) -> View:
        """Decode frame ``row`` with its targets in original pixels."""
        store = self.store
        image = decode_image(str(store.image_paths[row]))
        sl = store.box_slice(row)
        targets = Targets(
            boxes=torch.from_numpy(np.array(store.boxes[sl], dtype=np.float32)).reshape(-1, 4),
            class_ids=torch.from_numpy(np.array(store.class_ids[sl], dtype=np.int64)),
            track_ids=torch.from_numpy(np.array(store.track_ids[sl], dtype=np.int64)),
            ignore=torch.from_numpy(np.array(store.ignore[sl], dtype=bool)),
        )
        hw = (int(image.shape[-2]), int(image.shape[-1]))
        targets = self._inside(targets, hw, row)
        meta = FrameMeta(
            name=str(store.frame_names[row]),
            video_name=str(store.video_names[self.video_of_frame[row]]),
            frame_index=int(store.frame_index[row]),
            image_path=str(store.image_paths[row]),
            original_hw=hw,
            input_hw=hw,
            frame_row=row,
            image_id=int(store.image_ids[row]),
        )
        return View(image, targets, meta)

    def _inside(self, targets: Targets, hw: tuple[int, int], row: int) -> Targets:
        """The targets without boxes that lie entirely outside the decoded image (said once per dataset and process).

        Label files rarely carry image sizes, so only here, with the image
        decoded, can such boxes be found; no pixel of the image shows them.
        """
        boxes = targets.boxes
        outside = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0) | (boxes[:, 0] >= hw[1]) | (boxes[:, 1] >= hw[0])
        if not bool(outside.any()):
            return targets
        if not self._warned_outside:
            self._warned_outside = True
            count = int(outside.sum())
            warn(f"{self.store.image_paths[row]}: {count} label box(es) lie entirely outside its {hw[1]}x{hw[0]} "
                 "image: no pixel shows them, so training leaves them out and evaluation can only count them as "
                 "missed (other such frames of this dataset are not named)")  # fmt: skip
        keep = ~outside
        return Targets(targets.boxes[keep], targets.class_ids[keep], targets.track_ids[keep], targets.ignore[keep])

    def __getitem__(self, index: int | tuple[int, ...]) -> Sample:
        """Frame ``row`` (its own seed: the row), or ``(row, seed, epoch)`` from the training sampler.

        Augmentation draws come from the sample's seed alone, never from a
        global random state, so they do not depend on workers, prefetching or
        where an interrupted run resumed. The epoch decides whether mosaic,
        affine and mixup apply (not in the last ``no_aug_epochs``).
        """
        if isinstance(index, tuple):
            row, seed = int(index[0]), int(index[1])
            epoch = int(index[2]) if len(index) > 2 else 0
        else:
            row, seed, epoch = int(index), int(index), 0
        return self.sample(row, np.random.default_rng(seed), epoch)

    def sample(self, row: int, rng: np.random.Generator, epoch: int = 0) -> Sample:
        """Frame ``row`` of training ``epoch`` (or inference) with every random choice drawn from ``rng``."""
        views, self_reference = self._load_sample(row, rng)
        if self.strong is not None and (self.no_aug_from_epoch is None or epoch < self.no_aug_from_epoch):
            views, self_reference = self.strong(views, self_reference, rng)
        # A self-reference keeps the key's geometry (boxes stay paired) but gets its own
        # photometric distortion, so the pair still differs in appearance.
        views = apply_transforms(views, self.transforms, rng, independent_photometric=self_reference)
        if self.training and self.cfg.min_box_size is not None:
            views = [_drop_small(view, self.cfg.min_box_size) for view in views]
        return Sample(views)

    def _load_sample(self, row: int, rng: np.random.Generator) -> tuple[list[View], bool]:
        """The views of frame ``row`` (key, then reference frames when training a tracker).

        Also whether the references are the key itself (an image without a video).
        """
        key = self.load_view(row)
        reference = self.cfg.reference if self.training else None
        if reference is None:
            return [key], False
        video = int(self.video_of_frame[row])
        ref_rows = sample_reference_frames(self.store, row, reference, rng, video=video)
        self_reference = all(r == row for r in ref_rows)
        if self_reference and bool((key.targets.track_ids < 0).all()):
            # An image without track ids (e.g. COCO) is its own reference: each box is its own identity.
            ids = torch.arange(len(key.targets.track_ids), dtype=torch.int64)
            key = dataclasses.replace(key, targets=dataclasses.replace(key.targets, track_ids=ids))
        return [key] + [key if r == row else self.load_view(r) for r in ref_rows], self_reference

    def _has_boxes(self, row: int) -> bool:
        """Whether frame ``row`` has a box that is not an ignore region (what mixup looks for)."""
        return bool((~self.store.ignore[self.store.box_slice(row)]).any())


def _drop_small(view: View, min_size: float) -> View:
    """The view without boxes whose width or height is at most ``min_size`` (Megvii's last filter)."""
    boxes = view.targets.boxes
    keep = torch.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) > min_size
    if bool(keep.all()):
        return view
    t = view.targets
    return dataclasses.replace(view, targets=Targets(boxes[keep], t.class_ids[keep], t.track_ids[keep], t.ignore[keep]))


def frame_sample(pixels: torch.Tensor, meta: FrameMeta, transforms: Sequence[Any], seed: int) -> Sample:
    """An unlabelled frame (3, H, W uint8 RGB: a camera's, a stream's, a caller's) transformed as a dataset's is."""
    return Sample(apply_transforms([View(pixels, Targets.empty(), meta)], transforms, np.random.default_rng(seed)))


@dataclasses.dataclass(frozen=True)
class Padding:
    """How a batch is padded: its size (:meth:`size`) and the pixel value (0-255, before normalisation)."""

    divisor: int = 32
    value: float | None = None  # None: the mean, i.e. 0 after normalisation
    to: tuple[int, int] | None = None  # a fixed canvas, at least
    square: bool = False

    def size(self, height: int, width: int) -> tuple[int, int]:
        """The padded size of a batch whose largest image is ``height`` x ``width``."""
        if self.square:
            height = width = max(height, width)
        if self.to is not None:
            height, width = max(height, self.to[0]), max(width, self.to[1])
        return -(-height // self.divisor) * self.divisor, -(-width // self.divisor) * self.divisor


def _stack(views: Sequence[View], mean: torch.Tensor, std: torch.Tensor, padding: Padding, bgr: bool) -> Batch:
    height, width = padding.size(max(v.hw[0] for v in views), max(v.hw[1] for v in views))
    images = torch.zeros((len(views), 3, height, width), dtype=torch.float32)
    if padding.value is not None:
        images[:] = (padding.value - mean) / std
    for i, view in enumerate(views):
        h, w = view.hw
        image = view.image.flip(0) if bgr else view.image  # images decode as RGB
        images[i, :, :h, :w] = (image.float() - mean) / std
    return Batch(images=images, targets=[v.targets for v in views], meta=[v.meta for v in views])


def collate(
    samples: Sequence[Sample],
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    pad_divisor: int | Padding,
    channel_order: str = "RGB",
) -> Batch:
    """Normalise, pad and stack samples; reference view ``j`` of every sample goes to ``refs[j]``."""
    mean_t = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)
    bgr = channel_order == "BGR"
    padding = pad_divisor if isinstance(pad_divisor, Padding) else Padding(pad_divisor)
    batch = _stack([s.views[0] for s in samples], mean_t, std_t, padding, bgr)
    num_refs = min(len(s.views) for s in samples) - 1
    refs = [_stack([s.views[j] for s in samples], mean_t, std_t, padding, bgr) for j in range(1, num_refs + 1)]
    if refs:
        # Key and reference images share one padded size so a model can run one backbone pass on both.
        height = max(b.images.shape[-2] for b in [batch, *refs])
        width = max(b.images.shape[-1] for b in [batch, *refs])
        fill = (padding.value - mean_t) / std_t if padding.value is not None else None
        batch.images = _pad_to(batch.images, height, width, fill)
        for ref in refs:
            ref.images = _pad_to(ref.images, height, width, fill)
    batch.refs = refs
    return batch


def _pad_to(images: torch.Tensor, height: int, width: int, fill: torch.Tensor | None) -> torch.Tensor:
    padded = F.pad(images, (0, width - images.shape[-1], 0, height - images.shape[-2]))
    if fill is not None:
        padded[:, :, images.shape[-2] :, :] = fill
        padded[:, :, :, images.shape[-1] :] = fill
    return padded


def make_collate(cfg: HandlerConfig) -> functools.partial[Batch]:
    """A picklable collate function for data loader workers."""
    padding = Padding(cfg.pad_divisor, cfg.pad_value, cfg.pad_to, cfg.pad_square)
    return functools.partial(collate, mean=cfg.mean, std=cfg.std, pad_divisor=padding, channel_order=cfg.channel_order)
