"""The YOLOX detector's config section (``model.detector = {type = "yolox", ...}``).

Defaults are those of Megvii's reference implementation (the ``yolox``
package 0.3.0, its ``yolox_base`` experiment): BatchNorm eps 1e-3 and momentum
0.03, SiLU, SimOTA with a 2.5-stride centre radius and the 10 best IoUs
deciding each ground truth's number of positives, IoU loss weight 5, test
score threshold 0.01 and per-class NMS at IoU 0.65 without a cap on the number
of detections. Other implementations differ only in settings listed here
(Vis4D 1.0 and mmdetection clip boxes to the image; mmdetection keeps at most
100 detections; ByteTrack's MOT models test at score 0.001 and NMS 0.7).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from vis4d.config.fields import (
    IoUThreshold,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    Probability,
    ScoreThreshold,
    StrictModel,
)

YOLOXSize = Literal["nano", "tiny", "s", "m", "l", "x"]

# (depth multiplier, width multiplier, depthwise convolutions) of the published sizes (YOLOX paper, Table 6/7).
YOLOX_SIZES: dict[str, tuple[float, float, bool]] = {
    "nano": (0.33, 0.25, True),
    "tiny": (0.33, 0.375, False),
    "s": (0.33, 0.50, False),
    "m": (0.67, 0.75, False),
    "l": (1.0, 1.0, False),
    "x": (1.33, 1.25, False),
}


class YOLOXProposalConfig(StrictModel):
    """The boxes a tracker samples its embedding RoIs from while training (Vis4D 1.0's QDTrack-YOLOX).

    They are the detector's own detections with looser settings: every box
    scored above ``score_threshold``, the ``pre_nms_top_k`` best, per-class NMS,
    at most ``max_proposals`` kept.
    """

    score_threshold: ScoreThreshold = Field(default=0.0, description="Keep boxes scoring at least this.")
    nms_iou: IoUThreshold = Field(default=0.7, description="Per-class NMS IoU threshold.")
    pre_nms_top_k: PositiveInt = Field(default=2000, description="Best-scored boxes that enter NMS, per image.")
    max_proposals: PositiveInt = Field(default=1000, description="Boxes kept after NMS, per image.")


class YOLOXConfig(StrictModel):
    """YOLOX: CSPDarknet + PAFPN + decoupled head, trained with SimOTA (Ge et al., 2021)."""

    type: Literal["yolox"] = Field(default="yolox", description="Selects this detector.")
    size: YOLOXSize = Field(
        default="s",
        description="Published model size: nano (depthwise), tiny, s, m, l or x; depth and width override it.",
    )
    depth: PositiveFloat | None = Field(
        default=None, description="Depth multiplier (CSP blocks per stage); default: the size's."
    )
    width: PositiveFloat | None = Field(default=None, description="Width multiplier (channels); default: the size's.")
    depthwise: bool | None = Field(
        default=None, description="Depthwise-separable 3x3 convolutions (YOLOX-nano); default: the size's."
    )
    activation: Literal["silu", "relu", "lrelu"] = Field(
        default="silu", description="Activation after every convolution (lrelu: slope 0.1)."
    )
    norm_eps: PositiveFloat = Field(default=1e-3, description="BatchNorm epsilon.")
    norm_momentum: Probability = Field(default=0.03, description="BatchNorm momentum (PyTorch's convention).")
    prior_prob: Probability = Field(
        default=0.01, gt=0, lt=1, description="Initial class and objectness probability (bias initialisation)."
    )
    center_radius: PositiveFloat = Field(
        default=2.5, description="SimOTA: anchors within this many strides of a box centre are candidates."
    )
    candidate_region: Literal["box_or_centre", "centre"] = Field(
        default="box_or_centre",
        description="SimOTA candidates: cells inside a box or near its centre (yolox 0.3.0, mmdetection), or near "
        "its centre only (Megvii's later code, with center_radius 1.5).",
    )
    candidate_top_k: PositiveInt = Field(
        default=10, description="SimOTA: the sum of a box's best this-many IoUs sets how many anchors it takes."
    )
    iou_cost_weight: NonNegativeFloat = Field(default=3.0, description="SimOTA: weight of -log(IoU) in the cost.")
    iou_loss_weight: NonNegativeFloat = Field(default=5.0, description="Weight of the IoU loss (1 - IoU^2).")
    l1_loss: bool = Field(
        default=False,
        description="Add the L1 loss on raw box offsets from the start; the reference switches it on for the "
        "last epochs, train_handler.no_aug_epochs (the trainer switches it on there).",
    )
    score_threshold: ScoreThreshold = Field(
        default=0.01, description="Test: keep detections with objectness x class probability >= this."
    )
    nms_iou: IoUThreshold = Field(default=0.65, description="Test: NMS IoU threshold.")
    class_agnostic_nms: bool = Field(default=False, description="Test: one NMS over all classes instead of per class.")
    pre_nms_top_k: PositiveInt | None = Field(
        default=None, description="Test: only the best-scored this-many boxes enter NMS (None: all)."
    )
    max_detections: PositiveInt | None = Field(
        default=None, description="Test: at most this many detections per image (None: all; mmdetection: 100)."
    )
    clip_boxes: bool = Field(default=False, description="Clip boxes to the image (Vis4D 1.0, mmdetection).")
    proposals: YOLOXProposalConfig = Field(
        default=YOLOXProposalConfig(), description="Training boxes a tracker samples embedding RoIs from."
    )

    def multipliers(self) -> tuple[float, float, bool]:
        """(depth, width, depthwise) after the explicit fields override the size's."""
        depth, width, depthwise = YOLOX_SIZES[self.size]
        return (
            depth if self.depth is None else self.depth,
            width if self.width is None else self.width,
            depthwise if self.depthwise is None else self.depthwise,
        )
