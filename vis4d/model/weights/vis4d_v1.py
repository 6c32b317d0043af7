"""Vis4D 1.0 checkpoints (its Faster R-CNN and FasterRCNNQDTrack), and the earlier Vis4D layout, in vis4d's names.

Vis4D 1.0's modules: ``basemodel`` (torchvision ResNet names), ``fpn``
(torchvision's FPN), ``faster_rcnn_head.rpn_head.rpn_{conv,cls,box}``,
``faster_rcnn_head.roi_head.{shared_fcs,fc_cls,fc_reg}`` (background last,
class-specific regression) and ``qdtrack_head.similarity_head.{convs.i,
convs.i.norm, fcs.0.0, fc_embed}``; its zoo files are Lightning checkpoints
(``model.`` in front, taken off by the layout detection). Earlier Vis4D
releases named the same modules ``backbone.body``, ``faster_rcnn_heads`` and
``qdtrack``. Vis4D 1.0 files carry no category names: a 9-row classifier in a
file named for BDD100K is BDD100K's 8 tracking classes in the order its
dataset maps them.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import Tensor

from vis4d.model.weights.checkpoint import Checkpoint

BDD100K_TRACK_CLASSES = ["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]
_EARLIER = (
    ("backbone.body.", "basemodel."),
    ("faster_rcnn_heads.", "faster_rcnn_head."),
    ("qdtrack.", "qdtrack_head."),
)
_RENAMES = (
    (re.compile(r"^basemodel\."), "backbone.body."),
    (re.compile(r"^fpn\."), "backbone.fpn."),
    (re.compile(r"^faster_rcnn_head\.rpn_head\.rpn_conv\."), "rpn.head.convs.0."),
    (re.compile(r"^faster_rcnn_head\.roi_head\.shared_fcs\.0\."), "roi_heads.fcs.1."),
    (re.compile(r"^faster_rcnn_head\.roi_head\.shared_fcs\.1\."), "roi_heads.fcs.3."),
    (re.compile(r"^faster_rcnn_head\.roi_head\.fc_cls\."), "roi_heads.cls_score."),
    (re.compile(r"^faster_rcnn_head\.roi_head\.fc_reg\."), "roi_heads.bbox_pred."),
    (re.compile(r"^qdtrack_head\.similarity_head\.fcs\.(\d+)\.0\."), r"similarity_head.fcs.\1."),
    (re.compile(r"^qdtrack_head\.similarity_head\.fc_embed\."), "similarity_head.embed."),
)
_SIMILARITY_CONV = re.compile(r"^qdtrack_head\.similarity_head\.convs\.(\d+)\.(norm\.)?(weight|bias)$")


def _earlier_to_v1(key: str) -> str:
    for old, new in _EARLIER:
        if key.startswith(old):
            return new + key[len(old) :]
    return key


def is_vis4d_v1(state: dict[str, Tensor]) -> bool:
    """Vis4D's RPN head (``faster_rcnn_head.rpn_head``, earlier ``faster_rcnn_heads.rpn_head``)."""
    return any(key.startswith(("faster_rcnn_head.rpn_head.", "faster_rcnn_heads.rpn_head.")) for key in state)


def _rename(key: str) -> str | None:
    match = _SIMILARITY_CONV.match(key)
    if match:  # vis4d's similarity convs: [conv, norm, relu] per layer
        index = 3 * int(match.group(1)) + (1 if match.group(2) else 0)
        return f"similarity_head.convs.{index}.{match.group(3)}"
    for pattern, replacement in _RENAMES:
        if pattern.match(key):
            return pattern.sub(replacement, key)
    return None


def convert(state: dict[str, Tensor], meta: dict[str, Any], file_name: str) -> Checkpoint:
    """Vis4D 1.0 (or earlier Vis4D) keys -> vis4d keys."""
    state = {_earlier_to_v1(key): value for key, value in state.items()}
    converted: dict[str, Tensor] = {}
    for suffix in ("weight", "bias"):
        objectness = state.get(f"faster_rcnn_head.rpn_head.rpn_cls.{suffix}")
        deltas = state.get(f"faster_rcnn_head.rpn_head.rpn_box.{suffix}")
        if objectness is not None and deltas is not None:
            converted[f"rpn.head.predictor.{suffix}"] = torch.cat((objectness, deltas))
    for key, value in state.items():
        new_key = _rename(key)
        if new_key is not None:
            converted[new_key] = value
    classifier = converted.get("roi_heads.cls_score.weight")
    categories = None
    conventions = dict(CONVENTIONS)
    if classifier is not None and classifier.shape[0] == 9 and "bdd100k" in file_name.lower():
        categories = list(BDD100K_TRACK_CLASSES)
        conventions["test_handler.channel_order"] = "BGR"
    return Checkpoint(converted, "vis4d 1.0", categories, conventions)


# How Vis4D 1.0's Faster R-CNN computes (its zoo configs), as vis4d config values; its BDD100K models also
# read BGR images (test_handler.channel_order = "BGR").
CONVENTIONS: dict[str, Any] = {
    "model.detector.rpn.anchor_style": "mmdet",
    "model.detector.rpn.min_size": 0.0,
    "model.detector.rpn.clamp_both": True,
    "model.detector.roi_head.aligned": True,
    "model.detector.roi_head.sampling_ratio": 0,
    "model.detector.roi_head.level_mapping": "vis4d",
    "model.detector.roi_head.min_size": 0.0,
    "model.detector.roi_head.clamp_both": True,
}
