"""Checkpoint layouts, recognised by their keys, each with its converter to vis4d's names.

:func:`to_vis4d` looks at a state dict's keys (after the wrappers ``model.``
of Lightning and ``module.`` of DDP are taken off) and hands it to the first
layout that claims it. The layouts, in the order they are tried:

* ``torchvision detection``: ``rpn.head.cls_logits``, ``roi_heads.box_predictor`` (torchvision's Faster R-CNN);
* ``torchvision classification``: ``conv1`` + ``fc`` (ResNet), ``features`` + ``classifier`` (MobileNetV3);
* the mmdetection family (:mod:`vis4d.model.weights.mmdet`): ``neck.lateral_convs``, ``rpn_head.rpn_conv``,
  ``roi_head.bbox_head``, with the official QDTrack's and mmtracking's track heads;
* ``vis4d 1.0`` (:mod:`vis4d.model.weights.vis4d_v1`);
* YOLOX: Megvii's and ByteTrack's (:mod:`~vis4d.model.weights.megvii`), mmdetection's and Vis4D 1.0's
  (:mod:`~vis4d.model.weights.yolox_mmdet`);
* ``vis4d``: this package's own names (``rpn.head.predictor``, ``roi_heads.fcs``, ``similarity_head``; YOLOX's
  ``head.obj_preds``).

Anything else is refused with one line naming the first keys, so a wrong
file never half-loads silently.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from torch import Tensor

from vis4d.common.errors import ConfigError
from vis4d.model.weights import megvii, mmdet, torchvision, vis4d_v1, yolox_mmdet
from vis4d.model.weights.checkpoint import Checkpoint

_WRAPPERS = ("model.", "module.")
_VIS4D_KEYS = ("backbone.body.", "backbone.fpn.", "rpn.head.predictor.", "roi_heads.", "similarity_head.")
_VIS4D_YOLOX_KEYS = ("head.obj_preds.",)


@dataclasses.dataclass(frozen=True)
class Layout:
    """A checkpoint layout: how to recognise it and how to convert it (state, meta, file name)."""

    name: str
    detect: Callable[[dict[str, Tensor]], bool]
    convert: Callable[[dict[str, Tensor], dict[str, Any], str], Checkpoint]


def _strip_wrappers(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Take ``model.`` / ``module.`` off every key, as long as every key has it."""
    for prefix in _WRAPPERS:
        while state and all(key.startswith(prefix) for key in state):
            state = {key[len(prefix) :]: value for key, value in state.items()}
    return state


def _is_vis4d(state: dict[str, Tensor]) -> bool:
    return any(key.removeprefix("detector.").startswith(_VIS4D_KEYS + _VIS4D_YOLOX_KEYS) for key in state)


def _convert_vis4d(state: dict[str, Tensor], meta: dict[str, Any], file_name: str) -> Checkpoint:
    own: dict[str, Any] = meta["vis4d"] if isinstance(meta.get("vis4d"), dict) else {}
    categories = own.get("categories")
    origin = own.get("layout")
    return Checkpoint(
        {key.removeprefix("detector."): value for key, value in state.items()},
        f"vis4d (from {origin})" if origin and origin != "vis4d" else "vis4d",
        list(categories) if isinstance(categories, list) else None,
        dict(own.get("conventions") or {}),
    )


def _convert_torchvision_detection(state: dict[str, Tensor], meta: dict[str, Any], file_name: str) -> Checkpoint:
    return torchvision.convert_detection(state, torchvision.categories_of_file(file_name), file_name)


LAYOUTS: tuple[Layout, ...] = (
    Layout("torchvision detection", torchvision.is_detection, _convert_torchvision_detection),
    Layout(
        "torchvision classification",
        torchvision.is_classification,
        lambda state, meta, name: torchvision.convert_classification(state),
    ),  # fmt: skip
    Layout("mmdetection", mmdet.is_mmdet, mmdet.convert),
    Layout("vis4d 1.0", vis4d_v1.is_vis4d_v1, vis4d_v1.convert),
    Layout("Megvii/ByteTrack YOLOX", megvii.is_megvii, megvii.convert),
    Layout("mmdetection YOLOX", yolox_mmdet.is_mmdet_yolox, yolox_mmdet.convert),
    Layout("vis4d 1.0 YOLOX", yolox_mmdet.is_vis4d_v1_yolox, yolox_mmdet.convert_vis4d_v1),
    Layout("vis4d", _is_vis4d, _convert_vis4d),
)


def to_vis4d(state: dict[str, Tensor], meta: dict[str, Any], file_name: str, option: str) -> Checkpoint:
    """Convert a state dict of any known layout into a :class:`Checkpoint` in vis4d's names."""
    state = _strip_wrappers(state)
    for layout in LAYOUTS:
        if layout.detect(state):
            return layout.convert(state, meta, file_name)
    first = ", ".join(list(state)[:4])
    known = ", ".join(layout.name for layout in LAYOUTS)
    raise ConfigError(f"{option}: {file_name}: unrecognised checkpoint layout (first keys: {first}); known: {known}")
