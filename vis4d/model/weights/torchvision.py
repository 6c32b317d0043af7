"""torchvision checkpoints: ImageNet classification backbones and Faster R-CNN detectors.

The detector architecture is the same as vis4d's (ResNet + FPN, one-conv RPN
head, two-FC box head) with other names; the classifier's background moves
from row 0 (torchvision) to the last row (vis4d), which also drops
torchvision's four background regression outputs. Classification
checkpoints are a backbone body: their classifier is dropped.
"""

from __future__ import annotations

import torch
from torch import Tensor

from vis4d.model.weights.checkpoint import Checkpoint

_DETECTION_RENAMES = {
    "rpn.head.conv.0.0.": "rpn.head.convs.0.",
    "rpn.head.conv.": "rpn.head.convs.0.",  # torchvision < 0.13
    "roi_heads.box_head.fc6.": "roi_heads.fcs.1.",
    "roi_heads.box_head.fc7.": "roi_heads.fcs.3.",
    "roi_heads.box_predictor.cls_score.": "roi_heads.cls_score.",
    "roi_heads.box_predictor.bbox_pred.": "roi_heads.bbox_pred.",
}
# The config values a torchvision detector computes with (its GeneralizedRCNNTransform and heads).
DETECTION_CONVENTIONS = {
    "roi_head.aligned": False,
    "roi_head.sampling_ratio": 2,
    "roi_head.level_mapping": "torchvision",
    "rpn.anchor_style": "torchvision",
}


def is_detection(state: dict[str, Tensor]) -> bool:
    """Torchvision's ``FasterRCNN``: ``rpn.head.cls_logits`` and ``roi_heads.box_predictor``."""
    return "rpn.head.cls_logits.weight" in state and "roi_heads.box_predictor.cls_score.weight" in state


def is_classification(state: dict[str, Tensor]) -> bool:
    """A torchvision ResNet (``conv1``, ``fc``) or MobileNetV3 (``features``, ``classifier``)."""
    resnet = "conv1.weight" in state and "fc.weight" in state
    mobilenet = "features.0.0.weight" in state and any(k.startswith("classifier.") for k in state)
    return resnet or mobilenet


def convert_detection(state: dict[str, Tensor], categories: list[str] | None = None) -> Checkpoint:
    """A torchvision ``FasterRCNN`` state dict in vis4d's names; ``categories`` from the weights' meta if known."""
    converted: dict[str, Tensor] = {}
    # vis4d predicts objectness and deltas with one conv: objectness channels first.
    for suffix in ("weight", "bias"):
        objectness = state.get(f"rpn.head.cls_logits.{suffix}")
        deltas = state.get(f"rpn.head.bbox_pred.{suffix}")
        if objectness is not None and deltas is not None:
            converted[f"rpn.head.predictor.{suffix}"] = torch.cat((objectness, deltas))
    for key, value in state.items():
        if key.startswith(("rpn.head.cls_logits.", "rpn.head.bbox_pred.")):
            continue
        new_key = key
        for old, new in _DETECTION_RENAMES.items():
            if key.startswith(old):
                new_key = new + key[len(old) :]
                break
        if new_key.startswith("roi_heads.cls_score."):
            value = value.roll(-1, dims=0)  # background row 0 -> last row
        elif new_key.startswith("roi_heads.bbox_pred."):
            value = value[4:]  # drop the background's deltas
        converted[new_key] = value
    named = [c for c in categories if c != "__background__"] if categories else None
    return Checkpoint(converted, "torchvision detection", named, dict(DETECTION_CONVENTIONS))


def convert_classification(state: dict[str, Tensor]) -> Checkpoint:
    """An ImageNet classifier as a backbone body: ``backbone.body.*``, the classifier dropped."""
    body = {
        f"backbone.body.{key}": value
        for key, value in state.items()
        if not key.startswith(("fc.", "classifier.")) and not key.endswith("num_batches_tracked")
    }
    return Checkpoint(body, "torchvision classification")


def categories_of_file(file_name: str) -> list[str] | None:
    """The categories of a torchvision detection weights file, recognised by its official file name."""
    from torchvision import models
    from torchvision.models import detection

    for builder in models.list_models(module=detection):
        for weights in models.get_model_weights(builder):
            if weights.url.rsplit("/", 1)[-1] == file_name:
                return list(weights.meta.get("categories") or []) or None
    return None
