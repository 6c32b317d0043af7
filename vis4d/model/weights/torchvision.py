"""torchvision checkpoints: ImageNet classification backbones and Faster R-CNN detectors.

The detector architecture is the same as vis4d's (ResNet + FPN, one-conv RPN
head, two-FC box head) with other names; the classifier's background moves
from row 0 (torchvision) to the last row (vis4d), which also drops
torchvision's four background regression outputs. Classification
checkpoints are a backbone body: their classifier is dropped.
"""

from __future__ import annotations

import re

import torch
from torch import Tensor

from vis4d.common.errors import ConfigError
from vis4d.model.weights.checkpoint import Checkpoint

# Files published before torchvision 0.13 name the FPN's convolutions without the ".0." of Conv2dNormActivation.
_LEGACY_FPN = re.compile(r"^(backbone\.fpn\.(?:inner|layer)_blocks\.\d+)\.(weight|bias)$")
# The published COCO_V1 Faster R-CNN R50-FPN computes with frozen batch norm epsilon 0 (torchvision's overwrite_eps).
_EPS_ZERO_FILES = ("fasterrcnn_resnet50_fpn_coco-258fb6c6.pth",)

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
    "model.detector.rpn.anchor_style": "torchvision",
    "model.detector.rpn.clamp_both": False,
    "model.detector.roi_head.aligned": False,
    "model.detector.roi_head.sampling_ratio": 2,
    "model.detector.roi_head.level_mapping": "torchvision",
    "model.detector.roi_head.clamp_both": False,
    "test_handler.channel_order": "RGB",
}


def is_detection(state: dict[str, Tensor]) -> bool:
    """Torchvision's ``FasterRCNN``: ``rpn.head.cls_logits`` and ``roi_heads.box_predictor``."""
    return "rpn.head.cls_logits.weight" in state and "roi_heads.box_predictor.cls_score.weight" in state


def is_classification(state: dict[str, Tensor]) -> bool:
    """A torchvision ResNet (``conv1``, ``fc``) or MobileNetV3 (``features``, ``classifier``)."""
    resnet = "conv1.weight" in state and "fc.weight" in state
    mobilenet = "features.0.0.weight" in state and any(k.startswith("classifier.") for k in state)
    return resnet or mobilenet


def _check_supported(state: dict[str, Tensor], file_name: str) -> None:
    """Refuse the torchvision detectors whose architecture vis4d does not build, naming the difference."""
    if "roi_heads.box_head.5.weight" in state:
        raise ConfigError(
            f"{file_name}: torchvision's fasterrcnn_resnet50_fpn_v2 (convolutional box head and FPN with batch norm) "
            "is not supported; use fasterrcnn_resnet50_fpn"
        )
    if state["rpn.head.cls_logits.weight"].shape[0] != 3:
        raise ConfigError(
            f"{file_name}: a torchvision detector with {state['rpn.head.cls_logits.weight'].shape[0]} anchors per "
            "location (the MobileNetV3 Faster R-CNNs) is not supported; vis4d's RPN has one anchor size per level"
        )


def convert_detection(
    state: dict[str, Tensor], categories: list[str] | None = None, file_name: str = "checkpoint"
) -> Checkpoint:
    """A torchvision ``FasterRCNN`` state dict in vis4d's names; ``categories`` from the weights' meta if known."""
    _check_supported(state, file_name)
    state = {_LEGACY_FPN.sub(r"\1.0.\2", key): value for key, value in state.items()}
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
    conventions = dict(DETECTION_CONVENTIONS)
    if file_name in _EPS_ZERO_FILES:
        conventions["model.detector.backbone.norm_eps"] = 0.0
    return Checkpoint(converted, "torchvision detection", named, conventions)


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
