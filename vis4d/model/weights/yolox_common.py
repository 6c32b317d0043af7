"""What the YOLOX checkpoint layouts share: class names, input conventions, mapping the class rows by name.

YOLOX's classifier is one 1x1 convolution per level (``head.cls_preds.{0,1,2}``)
with one output row per class and no background row; mapping a checkpoint's
categories onto a config's is picking rows (:func:`map_head_categories`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import torch
from torch import Tensor

CLASS_ROWS = "head.cls_preds."

# Raw 0-255 BGR pixels, no normalisation (Megvii's non-legacy preprocessing, mmdetection's and Vis4D 1.0's
# YOLOX configs); both also pad with 114.
RAW_BGR_CONVENTIONS: dict[str, Any] = {
    "test_handler.channel_order": "BGR",
    "test_handler.mean": (0.0, 0.0, 0.0),
    "test_handler.std": (1.0, 1.0, 1.0),
}
# ByteTrack: RGB, divided by 255 and normalised with ImageNet's mean and std, i.e. these values on 0-255 pixels.
BYTETRACK_CONVENTIONS: dict[str, Any] = {
    "test_handler.channel_order": "RGB",
    "test_handler.mean": (123.675, 116.28, 103.53),
    "test_handler.std": (58.395, 57.12, 57.375),
}


@cache
def _coco() -> tuple[str, ...]:
    from torchvision.models.detection import FasterRCNN_ResNet50_FPN_Weights

    names = FasterRCNN_ResNet50_FPN_Weights.DEFAULT.meta["categories"]
    return tuple(name for name in names if name not in ("__background__", "N/A"))


def coco_categories() -> list[str]:
    """COCO's 80 classes in their id order: the rows of every YOLOX COCO checkpoint (Megvii's, mmdetection's)."""
    return list(_coco())


def head_rows(state: Mapping[str, Tensor]) -> int | None:
    """How many classes a converted YOLOX state dict's head predicts (None without a head)."""
    weight = state.get(CLASS_ROWS + "0.weight")
    return None if weight is None else int(weight.shape[0])


def map_head_categories(
    state: dict[str, Tensor], given: Sequence[str], wanted: Sequence[str], own_rows: Mapping[str, Tensor]
) -> tuple[list[str], list[str]]:
    """Reorder every level's class rows from ``given`` into ``wanted``'s order, in place.

    Classes the checkpoint lacks keep the model's own rows (``own_rows``,
    keyed like ``state``); the checkpoint's other classes are dropped (YOLOX
    scores each class on its own, so dropping one changes no other score).
    Returns (wanted classes not in the checkpoint, checkpoint classes dropped).
    """
    index = {name: i for i, name in enumerate(given)}
    wanted_set = set(wanted)
    missing = [name for name in wanted if name not in index]
    dropped = [name for name in given if name not in wanted_set]
    for key in [k for k in state if k.startswith(CLASS_ROWS)]:
        rows, own = state[key], own_rows[key]
        state[key] = torch.stack([rows[index[n]] if n in index else own[i] for i, n in enumerate(wanted)])
    return missing, dropped
