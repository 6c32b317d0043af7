"""Convert a torchvision Faster R-CNN (FPN) state dict into :class:`FasterRCNN` keys.

The architectures are the same (torchvision ResNet + FPN, one-conv RPN head,
two-FC box head); only names differ, and the classifier's background moves
from index 0 (torchvision) to index C (vis4d), so its class-specific box
regression drops torchvision's 4 background outputs.  Used to check
equivalence with torchvision and to start from a torchvision detection
checkpoint.
"""

from __future__ import annotations

import torch
from torch import Tensor

_RENAMES = {
    "rpn.head.conv.0.0.": "rpn.head.convs.0.",
    "roi_heads.box_head.fc6.": "roi_heads.fcs.1.",
    "roi_heads.box_head.fc7.": "roi_heads.fcs.3.",
    "roi_heads.box_predictor.cls_score.": "roi_heads.cls_score.",
    "roi_heads.box_predictor.bbox_pred.": "roi_heads.bbox_pred.",
}


def torchvision_to_vis4d_state_dict(state_dict: dict[str, Tensor]) -> dict[str, Tensor]:
    """Return ``state_dict`` of ``torchvision...FasterRCNN`` renamed and reordered for :class:`FasterRCNN`.

    Backbone and FPN keys are identical; the RPN head needs one 3x3 conv
    (``head_convs = 1``) and the box head two FCs (``num_fcs = 2``).
    """
    converted: dict[str, Tensor] = {}
    # vis4d predicts objectness and deltas with one conv: objectness channels first.
    for suffix in ("weight", "bias"):
        objectness = state_dict.get(f"rpn.head.cls_logits.{suffix}")
        deltas = state_dict.get(f"rpn.head.bbox_pred.{suffix}")
        if objectness is not None and deltas is not None:
            converted[f"rpn.head.predictor.{suffix}"] = torch.cat((objectness, deltas))
    for key, value in state_dict.items():
        if key.startswith(("rpn.head.cls_logits.", "rpn.head.bbox_pred.")):
            continue
        new_key = key
        for old, new in _RENAMES.items():
            if key.startswith(old):
                new_key = new + key[len(old) :]
                break
        if new_key.startswith("roi_heads.cls_score."):
            value = value.roll(-1, dims=0)  # background row 0 -> last row
        elif new_key.startswith("roi_heads.bbox_pred."):
            value = value[4:]  # drop the background's deltas
        converted[new_key] = value
    return converted
