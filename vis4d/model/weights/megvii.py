"""Megvii's YOLOX checkpoints (the ``yolox`` package, its GitHub releases) and ByteTrack's, in vis4d's names.

Megvii's ``YOLOX`` module holds ``backbone`` (a ``YOLOPAFPN`` whose own
``backbone`` is the ``CSPDarknet``) and ``head`` (``YOLOXHead``). ByteTrack
trains the same module (its code is Megvii's YOLOX 0.1.0), so its files share
the layout. The renaming, part by part:

* ``backbone.backbone.{stem,dark2..dark5}`` -> ``backbone.*`` (same stage names);
* the neck's ``lateral_conv0``, ``C3_p4``, ``reduce_conv1``, ``C3_p3``,
  ``bu_conv2``, ``C3_n3``, ``bu_conv1``, ``C3_n4`` -> ``neck.reduce_p5``,
  ``top_down_p4``, ``reduce_p4``, ``top_down_p3``, ``downsample_p3``,
  ``bottom_up_p4``, ``downsample_p4``, ``bottom_up_p5``;
* the head's per-level 1x1 ``stems`` -> ``neck.out_convs`` (vis4d places that
  convolution in the neck, see :mod:`vis4d.model.yolox.backbone`);
* inside CSP layers ``conv1``/``conv2``/``conv3``/``m`` -> ``main_conv``/
  ``short_conv``/``final_conv``/``blocks``; depthwise blocks' ``dconv``/
  ``pconv`` -> ``depthwise``/``pointwise``.

Files carry no class names: an 80-row head is COCO's 80 classes (Megvii's
release), ByteTrack's one-row head is ``person``. Megvii's models read raw
0-255 BGR pixels, ByteTrack's ImageNet-normalised RGB: those are the
conventions reported.
"""

from __future__ import annotations

import re
from typing import Any

from torch import Tensor

from vis4d.model.weights.checkpoint import Checkpoint
from vis4d.model.weights.yolox_common import (
    BYTETRACK_CONVENTIONS,
    RAW_BGR_CONVENTIONS,
    coco_categories,
    head_rows,
)

_NECK = {
    "lateral_conv0": "reduce_p5",
    "C3_p4": "top_down_p4",
    "reduce_conv1": "reduce_p4",
    "C3_p3": "top_down_p3",
    "bu_conv2": "downsample_p3",
    "C3_n3": "bottom_up_p4",
    "bu_conv1": "downsample_p4",
    "C3_n4": "bottom_up_p5",
}
# CSP layers: the second block of dark2-dark4, the third of dark5 (after SPP), every C3_* of the neck.
_CSP = re.compile(r"^((?:backbone\.dark[234]\.1|backbone\.dark5\.2|neck\.(?:top_down|bottom_up)_p\d))\.(conv[123]|m)\.")
_CSP_PARTS = {"conv1": "main_conv", "conv2": "short_conv", "conv3": "final_conv", "m": "blocks"}


def is_megvii(state: dict[str, Tensor]) -> bool:
    """Megvii's ``YOLOX``: ``backbone.backbone.stem`` and the head's ``stems``."""
    stem = any(k.startswith("backbone.backbone.stem.") for k in state)
    return stem and any(k.startswith("head.stems.") for k in state)


def rename(key: str) -> str:
    """One Megvii key in vis4d's YOLOX names (see the module docstring)."""
    if key.startswith("backbone.backbone."):
        key = "backbone." + key.removeprefix("backbone.backbone.")
    elif key.startswith("backbone."):
        part, rest = key.removeprefix("backbone.").split(".", 1)
        key = f"neck.{_NECK.get(part, part)}.{rest}"
    elif key.startswith("head.stems."):
        key = "neck.out_convs." + key.removeprefix("head.stems.")
    match = _CSP.match(key)
    if match:
        key = f"{match.group(1)}.{_CSP_PARTS[match.group(2)]}.{key[match.end() :]}"
    return key.replace(".dconv.", ".depthwise.").replace(".pconv.", ".pointwise.")


def convert(state: dict[str, Tensor], meta: dict[str, Any], file_name: str) -> Checkpoint:
    """Megvii / ByteTrack keys -> vis4d keys, with the categories and conventions the file implies."""
    converted = {rename(key): value for key, value in state.items()}
    rows = head_rows(converted)
    bytetrack = "bytetrack" in file_name.lower()
    categories = None
    if rows == 1 and bytetrack:
        categories = ["person"]
    elif rows == 80:
        categories = coco_categories()
    layout = "ByteTrack YOLOX" if bytetrack else "Megvii YOLOX"
    return Checkpoint(converted, layout, categories, dict(BYTETRACK_CONVENTIONS if bytetrack else RAW_BGR_CONVENTIONS))
