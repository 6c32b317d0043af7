"""mmdetection 2.x/3.x Faster R-CNN checkpoints, and the QDTrack models built on them.

Three members of one family, told apart by their keys:

* mmdetection's Faster R-CNN (``backbone.*``, ``neck.lateral_convs.*``,
  ``rpn_head.rpn_conv``, ``roi_head.bbox_head.shared_fcs.*``);
* the official QDTrack (SysCV/qdtrack, on mmdetection 2.x): the same plus
  ``roi_head.track_head.*`` (or ``track_head.*``);
* mmtracking's QDTrack: the detector under ``detector.`` and the embedding
  head under ``track_head.embed_head.*``.

Names map one to one onto vis4d's: mmdetection's ResNet uses torchvision's
names, its FPN is torchvision's FPN (lateral + output 3x3 convs, max-pooled
extra level), its classifier already has the background last and its box
regression is class-specific (a class-agnostic one is repeated per class).
The track head's convolutions (+ GroupNorm), FC and embedding layer become
the similarity head's. mmdetection computes with aligned RoIAlign
(``sampling_ratio=0``), its own FPN level mapping (finest scale 56) and
unrounded anchors: those are the conventions reported.
"""

from __future__ import annotations

import re
from typing import Any

import torch
from torch import Tensor

from vis4d.model.weights.checkpoint import Checkpoint

CONVENTIONS = {
    "model.detector.rpn.anchor_style": "mmdet",
    "model.detector.rpn.clamp_both": True,
    "model.detector.roi_head.aligned": True,
    "model.detector.roi_head.sampling_ratio": 0,
    "model.detector.roi_head.level_mapping": "mmdet",
    "model.detector.roi_head.clamp_both": True,
}
# Track heads: the official QDTrack (old code; new code: track_head.track_head.), mmtracking.
_EMBED_HEADS = ("roi_head.track_head.", "track_head.track_head.", "track_head.embed_head.", "track_head.")
# The official QDTrack's BDD100K dataset names its classes in this order, but its labels follow the json's.
_BDD100K_TUPLE = ("pedestrian", "rider", "car", "bus", "truck", "bicycle", "motorcycle", "train")
_BDD100K_ROWS = ["pedestrian", "rider", "car", "truck", "bus", "train", "motorcycle", "bicycle"]
_SIMPLE = (
    (re.compile(r"^backbone\.(?!body\.)"), "backbone.body."),
    (re.compile(r"^neck\.lateral_convs\.(\d+)\.conv\."), r"backbone.fpn.inner_blocks.\1.0."),
    (re.compile(r"^neck\.fpn_convs\.(\d+)\.conv\."), r"backbone.fpn.layer_blocks.\1.0."),
    (re.compile(r"^rpn_head\.rpn_conv\.(conv\.)?"), "rpn.head.convs.0."),
    (re.compile(r"^roi_head\.bbox_head\.shared_fcs\.0\."), "roi_heads.fcs.1."),
    (re.compile(r"^roi_head\.bbox_head\.shared_fcs\.1\."), "roi_heads.fcs.3."),
    (re.compile(r"^roi_head\.bbox_head\.fc_cls\."), "roi_heads.cls_score."),
)


def _detector_keys(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Mmtracking keeps the detector under ``detector.``; its keys are mmdetection's."""
    if any(key.startswith("detector.neck.") for key in state):
        return {key.removeprefix("detector."): value for key, value in state.items()}
    return state


def is_mmdet(state: dict[str, Tensor]) -> bool:
    """An FPN neck, an RPN head and a box head under mmdetection's names."""
    keys = _detector_keys(state)
    return any(k.startswith("neck.lateral_convs.") for k in keys) and any(k.startswith("rpn_head.") for k in keys)


def categories(meta: dict[str, Any], file_name: str = "", num_rows: int = 0) -> list[str] | None:
    """The classifier's classes in row order, from the meta (``CLASSES`` in 2.x, ``dataset_meta`` in 3.x).

    The official QDTrack's BDD100K checkpoints list their classes in the
    dataset's tuple order, but the rows follow the label file's order
    (pedestrian, rider, car, truck, bus, ...): those are named by the rows.
    """
    names = meta.get("CLASSES") or (meta.get("dataset_meta") or {}).get("classes")
    if names and tuple(names) == _BDD100K_TUPLE:
        return list(_BDD100K_ROWS)
    if not names and num_rows == 9 and "bdd100k" in file_name.lower():
        return list(_BDD100K_ROWS)
    return [str(name) for name in names] if names else None


def _similarity_head(key: str) -> str | None:
    """The similarity-head name of a track-head key (``convs.N.conv`` / ``convs.N.gn``, ``fcs.N``, ``fc_embed``)."""
    for prefix in _EMBED_HEADS:
        if key.startswith(prefix):
            rest = key[len(prefix) :]
            match = re.match(r"convs\.(\d+)\.(conv|gn)\.(.*)$", rest)
            if match:
                index = 3 * int(match.group(1)) + (0 if match.group(2) == "conv" else 1)
                return f"similarity_head.convs.{index}.{match.group(3)}"
            if rest.startswith("fcs."):
                return f"similarity_head.{rest}"
            if rest.startswith("fc_embed."):
                return "similarity_head.embed." + rest.removeprefix("fc_embed.")
            return None
    return None


def convert(state: dict[str, Tensor], meta: dict[str, Any], file_name: str) -> Checkpoint:
    """Mmdetection / QDTrack / mmtracking keys -> vis4d keys."""
    state = _detector_keys(state)
    converted: dict[str, Tensor] = {}
    for suffix in ("weight", "bias"):
        objectness, deltas = state.get(f"rpn_head.rpn_cls.{suffix}"), state.get(f"rpn_head.rpn_reg.{suffix}")
        if objectness is not None and deltas is not None:
            converted[f"rpn.head.predictor.{suffix}"] = torch.cat((objectness, deltas))
    classifier = state.get("roi_head.bbox_head.fc_cls.weight")
    names = categories(meta, file_name, 0 if classifier is None else classifier.shape[0])
    for key, value in state.items():
        embed = _similarity_head(key)
        if embed is not None:
            converted[embed] = value
            continue
        if key.startswith("roi_head.bbox_head.fc_reg."):
            num_classes = state["roi_head.bbox_head.fc_cls.weight"].shape[0] - 1
            converted["roi_heads.bbox_pred." + key.rsplit(".", 1)[1]] = (
                value.repeat(num_classes, *([1] * (value.dim() - 1))) if value.shape[0] == 4 else value
            )
            continue
        for pattern, replacement in _SIMPLE:
            if pattern.match(key):
                converted[pattern.sub(replacement, key)] = value
                break
    layout = "mmdetection QDTrack" if any(k.startswith("similarity_head.") for k in converted) else "mmdetection"
    return Checkpoint(converted, layout, names, dict(CONVENTIONS))
