"""Config sections of the detectors: a model's ``model.detector``, picked by its ``type``.

``faster_rcnn``: a torchvision backbone with an FPN, the region proposal
network and the RoI box head (defaults: the QDTrack paper's BDD100K recipe).
``yolox``: CSPDarknet + PAFPN + decoupled head (:mod:`vis4d.config.yolox_schema`).
A new detector adds its config class here (or in its own module) and one
member to :data:`DetectorConfig`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from vis4d.config.fields import (
    AddGroundTruth,
    BgIoU,
    FgIoU,
    IoUThreshold,
    NonNegativeInt,
    PositiveFloats,
    PositiveFraction,
    PositiveInt,
    PositiveInts,
    SampleSize,
    ScoreThreshold,
    StrictModel,
    WeightsName,
    not_above,
    positive_numbers,
)
from vis4d.config.yolox_schema import YOLOXConfig


class BackboneConfig(StrictModel):
    """A torchvision backbone with an FPN on top."""

    type: Literal["resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v3_large", "mobilenet_v3_small"] = Field(
        default="resnet50", description="torchvision architecture; the FPN takes its last stages."
    )
    weights: WeightsName = Field(
        default=None,
        description="Backbone initialisation: a path, URL or name such as torchvision://resnet50 (ImageNet "
        "classifier or any supported detector checkpoint); empty or none: random init.",
    )
    norm: Literal["auto", "bn", "frozen_bn", "gn"] = Field(
        default="auto",
        description="Backbone norm layer; 'auto' = frozen BN with pretrained weights, trainable BN from scratch.",
    )
    frozen_stages: int = Field(default=1, ge=0, le=5, description="Stages frozen when weights are loaded.")

    norm_eps: float | None = Field(
        default=None,
        ge=0,
        description="Epsilon of the backbone's batch norm; default 1e-5 (ResNet), 1e-3 (MobileNetV3). torchvision's "
        "COCO Faster R-CNN (fasterrcnn_resnet50_fpn) computes with 0.",
    )
    fpn_channels: int = Field(default=256, gt=0, description="Channels of every FPN level.")


class SamplingFields(StrictModel):
    """How proposals are labelled and sampled to train a head (the RPN, the box head, QDTrack's embedding head)."""

    fg_iou_thresh: FgIoU = 0.7
    bg_iou_thresh: BgIoU = 0.3
    batch_size_per_image: SampleSize = 256
    positive_fraction: PositiveFraction = 0.5

    @field_validator("bg_iou_thresh")
    @classmethod
    def _background_below_foreground(cls, value: float, info: ValidationInfo) -> float:
        """A proposal cannot be background (IoU < bg) and foreground (IoU >= fg) at once."""
        return not_above(value, info, "fg_iou_thresh")


class RPNConfig(SamplingFields):
    """Region proposal network (defaults: the QDTrack BDD100K recipe)."""

    anchor_sizes: PositiveInts = Field(
        default=[32, 64, 128, 256, 512], min_length=1, description="One anchor size per FPN level."
    )
    aspect_ratios: PositiveFloats = Field(default=[0.5, 1.0, 2.0], min_length=1, description="Anchor height / width.")
    anchor_style: Literal["torchvision", "mmdet"] = Field(
        default="torchvision", description="torchvision rounds anchor corners to whole pixels, mmdetection does not."
    )
    min_size: float = Field(
        default=1e-3, ge=0, description="Proposals narrower or lower (pixels) are dropped; 0 keeps all (Vis4D 1.0)."
    )
    clamp_both: bool = Field(
        default=False, description="Bound box shrinking as well as growth when decoding (mmdetection, Vis4D 1.0)."
    )
    pre_nms_top_n_train: PositiveInt = Field(default=2000, description="Training: best anchors per level before NMS.")
    post_nms_top_n_train: PositiveInt = Field(default=1000, description="Training: proposals kept per image after NMS.")
    pre_nms_top_n_test: PositiveInt = Field(default=1000, description="Inference: best anchors per level before NMS.")
    post_nms_top_n_test: PositiveInt = Field(default=1000, description="Inference: proposals kept per image after NMS.")
    nms_thresh: IoUThreshold = Field(
        default=0.7, description="NMS of proposals: drop a box overlapping a better one more."
    )
    head_convs: NonNegativeInt = Field(
        default=1, description="3x3 conv + ReLU layers before the objectness/delta conv."
    )


class RoIHeadConfig(SamplingFields):
    """Box head on RoIAlign features (defaults: the QDTrack BDD100K recipe)."""

    fg_iou_thresh: FgIoU = 0.5
    bg_iou_thresh: BgIoU = 0.5
    batch_size_per_image: SampleSize = 512
    positive_fraction: PositiveFraction = 0.25
    add_gt_as_proposals: AddGroundTruth = True
    pooler_size: int = Field(default=7, ge=1, description="RoIAlign output size (pooler_size x pooler_size).")
    sampling_ratio: int = Field(
        default=2, ge=0, description="RoIAlign sampling points per bin and axis; 0 = adaptive (mmdetection)."
    )
    aligned: bool = Field(
        default=False, description="RoIAlign with the half-pixel offset (mmdetection, Vis4D 1.0); torchvision: off."
    )
    level_mapping: Literal["torchvision", "mmdet", "vis4d"] = Field(
        default="torchvision",
        description="Which FPN level a box is pooled from: torchvision's canonical 224 at p4, mmdetection's finest "
        "56, or Vis4D 1.0's (the same bins, the epsilon placed differently).",
    )
    min_size: float = Field(
        default=1e-2, ge=0, description="Detections narrower or lower (pixels) are dropped; 0 keeps all."
    )
    clamp_both: bool = Field(
        default=False, description="Bound box shrinking as well as growth when decoding (mmdetection, Vis4D 1.0)."
    )
    num_fcs: NonNegativeInt = Field(default=2, description="Fully connected layers before the classifier.")
    fc_dim: PositiveInt = Field(default=1024, description="Width of each fully connected layer.")
    box_coder_weights: tuple[float, float, float, float] = Field(
        default=(10.0, 10.0, 5.0, 5.0), description="Box deltas (x, y, w, h) are divided by these (all > 0)."
    )
    score_thresh: ScoreThreshold = Field(default=0.05, description="Detections scoring below this are dropped.")
    nms_thresh: IoUThreshold = Field(
        default=0.5, description="NMS per class: drop a box overlapping a better one more."
    )
    detections_per_img: PositiveInt = Field(default=100, description="Most detections kept per image (best first).")

    _positive_weights = field_validator("box_coder_weights")(positive_numbers)


class FasterRCNNDetectorConfig(StrictModel):
    """Faster R-CNN with FPN: backbone, region proposal network and RoI box head."""

    type: Literal["faster_rcnn"] = Field(default="faster_rcnn", description="Selects this detector.")
    backbone: BackboneConfig = Field(default=BackboneConfig(), description="Backbone and FPN.")
    rpn: RPNConfig = Field(default=RPNConfig(), description="Region proposal network.")
    roi_head: RoIHeadConfig = Field(default=RoIHeadConfig(), description="Box classification and regression head.")


DetectorConfig = Annotated[FasterRCNNDetectorConfig | YOLOXConfig, Field(discriminator="type")]
