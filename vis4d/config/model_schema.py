"""Config sections of the models: backbone, RPN, RoI head, optimizer, schedule, QDTrack's head and trackers.

A model section picks its implementation with ``type`` (``faster_rcnn``,
``qdtrack``); each type validates its own fields (pydantic discriminated
unions). Defaults are the QDTrack paper's BDD100K recipe.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator

from vis4d.config.fields import (
    AddGroundTruth,
    BgIoU,
    FgIoU,
    FiniteFloat,
    IoUThreshold,
    NonNegativeFloat,
    NonNegativeInt,
    NonNegativeInts,
    PlainName,
    PositiveFloat,
    PositiveFloats,
    PositiveFraction,
    PositiveInt,
    PositiveInts,
    Probability,
    SampleSize,
    ScoreThreshold,
    StrictModel,
    not_above,
    positive_numbers,
)


class BackboneConfig(StrictModel):
    """A torchvision backbone with an FPN on top."""

    type: Literal["resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v3_large", "mobilenet_v3_small"] = (
        "resnet50"
    )
    weights: str | None = Field(
        default=None,
        description="Backbone initialisation: a path, URL or name such as torchvision://resnet50 (ImageNet "
        "classifier or any supported detector checkpoint); none = random init.",
    )
    norm: Literal["auto", "bn", "frozen_bn", "gn"] = Field(
        default="auto",
        description="Backbone norm layer; 'auto' = frozen BN with pretrained weights, trainable BN from scratch.",
    )
    frozen_stages: int = Field(default=1, ge=0, le=5, description="Stages frozen when weights are loaded.")

    @field_validator("weights")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        """``weights = ""`` turns off weights a base config set (TOML has no null)."""
        return value or None

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
    pre_nms_top_n_train: PositiveInt = 2000
    post_nms_top_n_train: PositiveInt = 1000
    pre_nms_top_n_test: PositiveInt = 1000
    post_nms_top_n_test: PositiveInt = 1000
    nms_thresh: IoUThreshold = 0.7
    head_convs: NonNegativeInt = 1


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
    num_fcs: NonNegativeInt = 2
    fc_dim: PositiveInt = 1024
    box_coder_weights: tuple[float, float, float, float] = Field(
        default=(10.0, 10.0, 5.0, 5.0), description="Box deltas (x, y, w, h) are divided by these (all > 0)."
    )
    score_thresh: ScoreThreshold = 0.05
    nms_thresh: IoUThreshold = 0.5
    detections_per_img: PositiveInt = 100

    _positive_weights = field_validator("box_coder_weights")(positive_numbers)


class OptimizerConfig(StrictModel):
    """Optimizer; lr is for the whole batch."""

    type: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: PositiveFloat = 0.02
    momentum: float = Field(default=0.9, ge=0, lt=1, allow_inf_nan=False, description="SGD momentum, in [0, 1).")
    weight_decay: NonNegativeFloat = 1e-4


class LRSchedulerConfig(StrictModel):
    """Linear warm-up (in steps) followed by step decay or cosine annealing."""

    type: Literal["step", "cosine", "constant"] = "step"
    warmup_steps: int = Field(default=1000, ge=0)
    warmup_ratio: float = Field(default=0.001, gt=0, le=1)
    milestones: NonNegativeInts = Field(default=[8, 11], description="Epochs at which lr is multiplied by gamma.")
    gamma: PositiveFloat = 0.1
    min_lr_ratio: Probability = Field(default=0.0, description="Cosine: final lr as a fraction of the base lr.")


class DetectorFields(StrictModel):
    """Fields every detector-based model shares."""

    name: PlainName | None = Field(default=None, description="Model name, the default exp_name (a plain name).")
    weights: str | None = Field(
        default=None,
        description="Whole-model initialisation: a path, URL or name (torchvision://, mmdet://, bdd100k://) of a "
        "vis4d, torchvision, mmdetection, QDTrack or Vis4D 1.0 checkpoint; categories are mapped by name and "
        "what matches loads (--weights then loads on top).",
    )
    backbone: BackboneConfig = BackboneConfig()
    rpn: RPNConfig = RPNConfig()
    roi_head: RoIHeadConfig = RoIHeadConfig()
    optimizer: OptimizerConfig = OptimizerConfig()
    lr_scheduler: LRSchedulerConfig = LRSchedulerConfig()


class FasterRCNNConfig(DetectorFields):
    """Faster R-CNN with FPN."""

    type: Literal["faster_rcnn"] = "faster_rcnn"


class SimilarityHeadConfig(StrictModel):
    """QDTrack embedding head: convs + fcs on RoIAlign features."""

    num_convs: NonNegativeInt = 4
    conv_channels: PositiveInt = 256
    num_fcs: NonNegativeInt = 1
    fc_dim: PositiveInt = 1024
    embedding_dim: PositiveInt = 256
    norm_groups: NonNegativeInt = Field(default=32, description="GroupNorm groups; 0 disables the norm.")
    pooler_size: PositiveInt = Field(default=7, description="RoIAlign output size (pooler_size x pooler_size).")


class TrackSamplerConfig(SamplingFields):
    """RoI sampling for the embedding loss (instance-balanced positives, IoU-balanced negatives)."""

    neg_pos_ub: NonNegativeFloat = 3.0
    add_gt_as_proposals: AddGroundTruth = True


class TrackLossConfig(StrictModel):
    """Multi-positive cross-entropy + auxiliary L2 on cosine similarity."""

    track_loss_weight: NonNegativeFloat = 0.25
    aux_loss_weight: NonNegativeFloat = 1.0
    aux_neg_margin: FiniteFloat = Field(default=0.3, description="Negatives below this cosine similarity cost nothing.")
    aux_pos_margin: FiniteFloat = 0.0
    aux_neg_pos_ratio: NonNegativeFloat = 3.0
    softmax_temperature: FiniteFloat = Field(default=-1.0, description="Positive: divide logits by it; <= 0: none.")


class QDTrackGraphConfig(StrictModel):
    """The QDTrack tracker graph (defaults: the paper's BDD100K setting)."""

    type: Literal["qdtrack"] = "qdtrack"
    init_score_thr: ScoreThreshold = 0.8
    obj_score_thr: ScoreThreshold = 0.5
    match_score_thr: ScoreThreshold = 0.5
    memo_tracklet_frames: NonNegativeInt = 10
    memo_backdrop_frames: NonNegativeInt = 1
    memo_momentum: Probability = 0.8
    nms_conf_thr: ScoreThreshold = 0.5
    nms_backdrop_iou_thr: IoUThreshold = 0.3
    nms_class_iou_thr: IoUThreshold = 0.7
    with_cats: bool = True
    match_metric: Literal["bisoftmax", "softmax", "cosine"] = "bisoftmax"
    nms_across_classes: bool = Field(
        default=False,
        description="Duplicate removal compares detections of all classes (the original QDTrack code, Vis4D 1.0), "
        "not only those of the same class.",
    )


class IoUGraphConfig(StrictModel):
    """Motion-only tracker: IoU association, ByteTrack-style two-stage matching."""

    type: Literal["iou"] = "iou"
    matching: Literal["hungarian", "greedy"] = "hungarian"
    high_score_thr: ScoreThreshold = 0.5
    low_score_thr: ScoreThreshold = 0.1
    init_score_thr: ScoreThreshold = 0.6
    match_iou_thr: IoUThreshold = 0.3
    second_match_iou_thr: IoUThreshold = 0.5
    memo_frames: NonNegativeInt = 30
    with_cats: bool = True

    @field_validator("low_score_thr")
    @classmethod
    def _low_below_high(cls, value: float, info: ValidationInfo) -> float:
        """The second stage matches the detections between the two thresholds: low must not exceed high."""
        return not_above(value, info, "high_score_thr")


class ByteTrackConfig(StrictModel):
    """ByteTrack: Kalman motion, IoU association of high then low-score detections (the reference's defaults)."""

    type: Literal["bytetrack"] = "bytetrack"
    track_thresh: float = Field(default=0.5, ge=0, le=1, description="High detections score above this.")
    low_thresh: float = Field(
        default=0.1, ge=0, le=1, description="Low detections score above this (and below track_thresh)."
    )
    new_track_thresh: float | None = Field(
        default=None, ge=0, le=1, description="Score a detection needs to start a track; default track_thresh + 0.1."
    )
    match_thresh: float = Field(
        default=0.8, ge=0, le=1, description="First association: largest 1 - IoU (x score) matched."
    )
    second_match_thresh: float = Field(default=0.5, ge=0, le=1, description="Low detections: largest 1 - IoU matched.")
    unconfirmed_match_thresh: float = Field(
        default=0.7, ge=0, le=1, description="Tracks started last frame: largest cost matched."
    )
    track_buffer: int = Field(default=30, ge=0, description="Frames (at 30 fps) a lost track is kept for re-finding.")
    frame_rate: float = Field(default=30.0, gt=0, description="The video's frame rate; scales track_buffer.")
    fuse_score: bool = Field(
        default=True, description="Multiply IoU by the detection score in matching (off for MOT20)."
    )
    duplicate_thresh: float = Field(
        default=0.15, ge=0, le=1, description="A lost track with 1 - IoU below this to a tracked one is a duplicate."
    )
    pixel_offset: float = Field(
        default=1.0, ge=0, description="IoU counts both end pixels (1, the reference's cython_bbox) or not (0)."
    )

    @field_validator("low_thresh")
    @classmethod
    def _low_below_high(cls, value: float, info: ValidationInfo) -> float:
        """Low detections score between low_thresh and track_thresh: low must not exceed it."""
        return not_above(value, info, "track_thresh")


TrackerGraphConfig = Annotated[QDTrackGraphConfig | IoUGraphConfig | ByteTrackConfig, Field(discriminator="type")]


class QDTrackConfig(DetectorFields):
    """QDTrack: Faster R-CNN + quasi-dense similarity head + tracker graph."""

    type: Literal["qdtrack"] = "qdtrack"
    similarity_head: SimilarityHeadConfig = SimilarityHeadConfig()
    track_sampler: TrackSamplerConfig = TrackSamplerConfig()
    track_loss: TrackLossConfig = TrackLossConfig()
    tracker: TrackerGraphConfig = QDTrackGraphConfig()


MotionTrackerConfig = Annotated[ByteTrackConfig | IoUGraphConfig, Field(discriminator="type")]


class ByteTrackModelConfig(DetectorFields):
    """ByteTrack: Faster R-CNN detections associated by a motion tracker (no appearance head)."""

    type: Literal["bytetrack"] = "bytetrack"
    tracker: MotionTrackerConfig = ByteTrackConfig()


ModelConfig = Annotated[FasterRCNNConfig | QDTrackConfig | ByteTrackModelConfig, Field(discriminator="type")]
