"""Multi-scale training: whole batches resized to a size that changes every few steps (Megvii's YOLOX trainer).

The size is a pure function of the run's seed and the optimizer step
(:func:`multiscale_size`), not of a random state that a process keeps: every
DDP rank computes the same size without a broadcast, and a resumed run the
same as the run it continues. The trainer resizes each batch it trains on
with :func:`resize_batch` (bilinear, as Megvii's ``preprocess``), boxes and
input sizes scaled with it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch.nn.functional as F

from vis4d.common.structures import Batch
from vis4d.config.augment_schema import MultiScaleConfig


def multiscale_size(cfg: MultiScaleConfig, seed: int, step: int, batch_hw: tuple[int, int]) -> tuple[int, int]:
    """The (height, width) a batch of padded size ``batch_hw`` is trained at in optimizer step ``step``.

    Steps ``0 .. interval - 1`` keep ``batch_hw``; each later block of
    ``interval`` steps draws a height (a multiple of ``divisor`` in
    ``heights``) from the generator seeded by ``(seed, block)``; the width is
    ``divisor * int(k * width / height)`` for height ``divisor * k`` (Megvii's
    ``random_resize``).
    """
    block = step // cfg.interval
    if block == 0:
        return batch_hw
    low, high = (h // cfg.divisor for h in cfg.heights)
    units = int(np.random.default_rng([seed, block]).integers(low, high + 1))
    aspect = batch_hw[1] / batch_hw[0]
    return cfg.divisor * units, max(cfg.divisor, cfg.divisor * int(units * aspect))


def resize_batch(batch: Batch, size: tuple[int, int]) -> Batch:
    """The batch (and its reference views) resized to ``size`` as a whole; boxes and input sizes scaled."""
    height, width = int(batch.images.shape[-2]), int(batch.images.shape[-1])
    if (height, width) == tuple(size):
        return batch
    sy, sx = size[0] / height, size[1] / width
    images = F.interpolate(batch.images, size=size, mode="bilinear", align_corners=False)
    targets = []
    for target in batch.targets:
        boxes = target.boxes.clone()
        boxes[:, 0::2] *= sx
        boxes[:, 1::2] *= sy
        targets.append(dataclasses.replace(target, boxes=boxes))
    meta = [
        dataclasses.replace(
            m,
            input_hw=(min(size[0], max(1, round(m.input_hw[0] * sy))), min(size[1], max(1, round(m.input_hw[1] * sx)))),
            scale=(m.scale[0] * sx, m.scale[1] * sy),
        )
        for m in batch.meta
    ]
    refs = [resize_batch(ref, size) for ref in batch.refs]
    return Batch(images=images, targets=targets, meta=meta, refs=refs)
