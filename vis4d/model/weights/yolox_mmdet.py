"""mmdetection's YOLOX checkpoints and Vis4D 1.0's (its YOLOX and QDTrack-YOLOX), in vis4d's names.

mmdetection (2.x and 3.x alike; mmtracking keeps it under ``detector.``): ``backbone.stem`` and ``backbone.stage1``-
``stage4`` (vis4d's ``dark2``-``dark5``), the neck's ``reduce_layers``,
``top_down_blocks``, ``downsamples``, ``bottom_up_blocks`` (each two entries,
coarse to fine top-down, fine to coarse bottom-up) and ``out_convs``, and the
head's ``multi_level_{cls,reg}_convs`` and ``multi_level_conv_{cls,reg,obj}``.
Its ConvModule already names its parts ``conv`` and ``bn`` and its CSP layers
``main_conv``/``short_conv``/``final_conv``/``blocks``, as vis4d does;
depthwise-separable modules call theirs ``depthwise_conv``/``pointwise_conv``.

Vis4D 1.0 renames mmdetection's modules when it loads their files
(``backbone`` -> ``basemodel``, ``neck`` -> ``fpn``, ``bbox_head`` ->
``yolox_head``) and its convolution blocks hold the weight themselves with the
norm as ``.norm`` (``stage1.0.weight``, ``stage1.0.norm.*``); here the same
renaming runs backwards. Its QDTrack-YOLOX adds ``qdtrack_head.similarity_head``
(converted as for its Faster R-CNN QDTrack) and its zoo files keep two copies
of the model, ``model.*`` and the EMA weights ``ema_model.*``: Vis4D 1.0 tests
with the EMA copy, so that one is loaded.
"""

from __future__ import annotations

import re
from typing import Any

from torch import Tensor

from vis4d.model.weights import mmdet, vis4d_v1
from vis4d.model.weights.checkpoint import Checkpoint
from vis4d.model.weights.yolox_common import RAW_BGR_CONVENTIONS, coco_categories, head_rows

_NECK = {
    "reduce_layers.0": "reduce_p5",
    "reduce_layers.1": "reduce_p4",
    "top_down_blocks.0": "top_down_p4",
    "top_down_blocks.1": "top_down_p3",
    "downsamples.0": "downsample_p3",
    "downsamples.1": "downsample_p4",
    "bottom_up_blocks.0": "bottom_up_p4",
    "bottom_up_blocks.1": "bottom_up_p5",
}
_HEAD = {
    "multi_level_cls_convs": "cls_convs",
    "multi_level_reg_convs": "reg_convs",
    "multi_level_conv_cls": "cls_preds",
    "multi_level_conv_reg": "reg_preds",
    "multi_level_conv_obj": "obj_preds",
}
_STAGE = re.compile(r"^backbone\.stage(\d)\.")
_NECK_PART = re.compile(r"^neck\.(\w+\.\d)\.")
_HEAD_PART = re.compile(r"^bbox_head\.(\w+)\.")
_V1_PREFIXES = (("basemodel.", "backbone."), ("fpn.", "neck."), ("yolox_head.", "bbox_head."))
_V1_PREDICTOR = re.compile(r"^yolox_head\.multi_level_conv_(cls|reg|obj)\.")
EMA_PREFIX = "ema_model."


def is_mmdet_yolox(state: dict[str, Tensor]) -> bool:
    """The YOLOX head of mmdetection (``bbox_head.multi_level_conv_obj``), or of mmtracking (under ``detector.``)."""
    return any(k.removeprefix("detector.").startswith("bbox_head.multi_level_conv_obj.") for k in state)


def is_vis4d_v1_yolox(state: dict[str, Tensor]) -> bool:
    """Vis4D 1.0's YOLOX head (``yolox_head.multi_level_conv_obj``), possibly under its EMA adapter's names."""
    return any(k.removeprefix(EMA_PREFIX).removeprefix("model.").startswith("yolox_head.") for k in state)


def rename(key: str) -> str:
    """One mmdetection YOLOX key in vis4d's names (see the module docstring)."""
    key = _STAGE.sub(lambda m: f"backbone.dark{int(m.group(1)) + 1}.", key)
    key = _NECK_PART.sub(lambda m: f"neck.{_NECK.get(m.group(1), m.group(1))}.", key)
    key = _HEAD_PART.sub(lambda m: f"head.{_HEAD.get(m.group(1), m.group(1))}.", key)
    return key.replace(".depthwise_conv.", ".depthwise.").replace(".pointwise_conv.", ".pointwise.")


def _v1_to_mmdet(key: str) -> str:
    """A Vis4D 1.0 YOLOX key in mmdetection's names."""
    predictor = bool(_V1_PREDICTOR.match(key))
    for old, new in _V1_PREFIXES:
        if key.startswith(old):
            key = new + key.removeprefix(old)
            break
    if ".norm." in key:
        return key.replace(".norm.", ".bn.")
    if not predictor and key.endswith(".weight"):
        return key.removesuffix(".weight") + ".conv.weight"
    return key


def convert(state: dict[str, Tensor], meta: dict[str, Any], file_name: str) -> Checkpoint:
    """The keys of mmdetection's YOLOX -> vis4d keys; classes from the file's meta (COCO's 80 for an 80-row head).

    mmdetection's EMA hook also saves its averages as buffers named
    ``ema_<key with underscores>``; the model's own keys hold the weights
    mmdetection tests with, so the ``ema_`` copies are left out.
    """
    state = {k.removeprefix("detector."): v for k, v in state.items() if not k.startswith("ema_")}
    converted = {rename(key): value for key, value in state.items()}
    rows = head_rows(converted)
    categories = mmdet.categories(meta, file_name, rows or 0) or (coco_categories() if rows == 80 else None)
    return Checkpoint(converted, "mmdetection YOLOX", categories, dict(RAW_BGR_CONVENTIONS))


def convert_vis4d_v1(state: dict[str, Tensor], meta: dict[str, Any], file_name: str) -> Checkpoint:
    """Vis4D 1.0 YOLOX / QDTrack-YOLOX keys (EMA copy if present) -> vis4d keys."""
    ema = any(k.startswith(EMA_PREFIX) for k in state)
    if ema:
        state = {k.removeprefix(EMA_PREFIX): v for k, v in state.items() if k.startswith(EMA_PREFIX)}
    tracker = {k: v for k, v in state.items() if k.startswith("qdtrack_head.")}
    converted = {rename(_v1_to_mmdet(k)): v for k, v in state.items() if k not in tracker}
    converted.update(vis4d_v1.convert(tracker, {}, "").state_dict)  # the similarity head, as Vis4D 1.0's QDTrack
    rows = head_rows(converted)
    categories = None
    if rows == 8 and "bdd100k" in file_name.lower():
        categories = list(vis4d_v1.BDD100K_TRACK_CLASSES)
    elif rows == 80:
        categories = coco_categories()
    layout = "vis4d 1.0 YOLOX" + (" (EMA weights)" if ema else "")
    conventions = {**RAW_BGR_CONVENTIONS, "model.detector.clip_boxes": True}
    return Checkpoint(converted, layout, categories, conventions)
