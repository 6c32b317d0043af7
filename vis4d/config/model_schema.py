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
    WeightsName,
    not_above,
    positive_numbers,
)


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


class OptimizerConfig(StrictModel):
    """Optimizer; lr is for the whole batch."""

    type: Literal["sgd", "adam", "adamw"] = Field(default="sgd", description="torch.optim.SGD, Adam or AdamW.")
    lr: PositiveFloat = Field(default=0.02, description="Base learning rate (warm-up and schedule scale it).")
    momentum: float = Field(default=0.9, ge=0, lt=1, allow_inf_nan=False, description="SGD momentum, in [0, 1).")
    weight_decay: NonNegativeFloat = Field(default=1e-4, description="L2 weight decay.")


class LRSchedulerConfig(StrictModel):
    """Linear warm-up (in steps) followed by step decay or cosine annealing."""

    type: Literal["step", "cosine", "constant"] = Field(
        default="step", description="After warm-up: step decay at milestones, cosine to min_lr_ratio, or constant."
    )
    warmup_steps: int = Field(default=1000, ge=0, description="Optimizer steps of linear warm-up; 0: none.")
    warmup_ratio: float = Field(default=0.001, gt=0, le=1, description="Warm-up starts at this fraction of lr.")
    milestones: NonNegativeInts = Field(default=[8, 11], description="Epochs at which lr is multiplied by gamma.")
    gamma: PositiveFloat = Field(default=0.1, description="Step decay: lr factor at each milestone.")
    min_lr_ratio: Probability = Field(default=0.0, description="Cosine: final lr as a fraction of the base lr.")


class DetectorFields(StrictModel):
    """Fields every detector-based model shares."""

    name: PlainName | None = Field(default=None, description="Model name, the default exp_name (a plain name).")
    weights: WeightsName = Field(
        default=None,
        description="Whole-model initialisation: a path, URL or name (torchvision://, mmdet://, bdd100k://) of a "
        "vis4d, torchvision, mmdetection, QDTrack or Vis4D 1.0 checkpoint; categories are mapped by name and "
        "what matches loads. test/predict load it when no run checkpoint is found; --weights replaces it; "
        "empty or none: no weights.",
    )
    backbone: BackboneConfig = Field(default=BackboneConfig(), description="Backbone and FPN.")
    rpn: RPNConfig = Field(default=RPNConfig(), description="Region proposal network.")
    roi_head: RoIHeadConfig = Field(default=RoIHeadConfig(), description="Box classification and regression head.")
    optimizer: OptimizerConfig = Field(default=OptimizerConfig(), description="Optimizer of all parameters.")
    lr_scheduler: LRSchedulerConfig = Field(default=LRSchedulerConfig(), description="Learning-rate schedule.")


class FasterRCNNConfig(DetectorFields):
    """Faster R-CNN with FPN."""

    type: Literal["faster_rcnn"] = Field(default="faster_rcnn", description="Selects this model: a detector.")


class SimilarityHeadConfig(StrictModel):
    """QDTrack embedding head: convs + fcs on RoIAlign features."""

    num_convs: NonNegativeInt = Field(default=4, description="3x3 conv + GroupNorm + ReLU layers.")
    conv_channels: PositiveInt = Field(default=256, description="Channels of each conv.")
    num_fcs: NonNegativeInt = Field(default=1, description="Fully connected + ReLU layers after the convs.")
    fc_dim: PositiveInt = Field(default=1024, description="Width of each fully connected layer.")
    embedding_dim: PositiveInt = Field(default=256, description="Length of the appearance embedding.")
    norm_groups: NonNegativeInt = Field(default=32, description="GroupNorm groups; 0 disables the norm.")
    pooler_size: PositiveInt = Field(default=7, description="RoIAlign output size (pooler_size x pooler_size).")


class TrackSamplerConfig(SamplingFields):
    """RoI sampling for the embedding loss (instance-balanced positives, IoU-balanced negatives)."""

    neg_pos_ub: NonNegativeFloat = Field(default=3.0, description="At most this many negatives per positive.")
    add_gt_as_proposals: AddGroundTruth = True


class TrackLossConfig(StrictModel):
    """Multi-positive cross-entropy + auxiliary L2 on cosine similarity."""

    track_loss_weight: NonNegativeFloat = Field(default=0.25, description="Weight of the multi-positive CE loss.")
    aux_loss_weight: NonNegativeFloat = Field(default=1.0, description="Weight of the auxiliary L2 loss.")
    aux_neg_margin: FiniteFloat = Field(default=0.3, description="Negatives below this cosine similarity cost nothing.")
    aux_pos_margin: FiniteFloat = Field(default=0.0, description="Positives cost (1 - (cosine - this))^2, clamped.")
    aux_neg_pos_ratio: NonNegativeFloat = Field(
        default=3.0, description="Auxiliary loss: the hardest this-many negatives per positive; 0 keeps all."
    )
    softmax_temperature: FiniteFloat = Field(default=-1.0, description="Positive: divide logits by it; <= 0: none.")


class QDTrackGraphConfig(StrictModel):
    """The QDTrack tracker graph (defaults: the paper's BDD100K setting)."""

    type: Literal["qdtrack"] = Field(default="qdtrack", description="Selects this tracker: appearance matching.")
    init_score_thr: ScoreThreshold = Field(default=0.8, description="Unmatched detections above this start a track.")
    obj_score_thr: ScoreThreshold = Field(
        default=0.5, description="Detections above this may take a track's id; those below are backdrop candidates."
    )
    match_score_thr: ScoreThreshold = Field(default=0.5, description="Least association score of a match.")
    memo_tracklet_frames: NonNegativeInt = Field(default=10, description="Frames a track is kept while unseen.")
    memo_backdrop_frames: NonNegativeInt = Field(default=1, description="Frames a backdrop is kept in memory.")
    memo_momentum: Probability = Field(
        default=0.8, description="A matched track's embedding becomes momentum * old + (1 - momentum) * new."
    )
    nms_conf_thr: ScoreThreshold = Field(
        default=0.5, description="A low-score detection matching a track above this is a duplicate and dropped."
    )
    nms_backdrop_iou_thr: IoUThreshold = Field(
        default=0.3, description="A low-score detection overlapping any better one more than this is dropped."
    )
    nms_class_iou_thr: IoUThreshold = Field(
        default=0.7, description="A detection overlapping a better one of its class more than this is dropped."
    )
    with_cats: bool = Field(default=True, description="Match only detections and tracks of the same class.")
    match_metric: Literal["bisoftmax", "softmax", "cosine"] = Field(
        default="bisoftmax", description="Association score of embeddings: bi-directional softmax, softmax or cosine."
    )
    nms_across_classes: bool = Field(
        default=False,
        description="Duplicate removal compares detections of all classes (the original QDTrack code, Vis4D 1.0), "
        "not only those of the same class.",
    )


class IoUGraphConfig(StrictModel):
    """Motion-only tracker: IoU association, ByteTrack-style two-stage matching."""

    type: Literal["iou"] = Field(default="iou", description="Selects this tracker: IoU matching, no appearance.")
    matching: Literal["hungarian", "greedy"] = Field(
        default="hungarian", description="Optimal assignment on 1 - IoU, or pairs taken by decreasing IoU."
    )
    high_score_thr: ScoreThreshold = Field(default=0.5, description="Detections above this are matched first.")
    low_score_thr: ScoreThreshold = Field(default=0.1, description="Lower ones above this match leftover tracks.")
    init_score_thr: ScoreThreshold = Field(default=0.6, description="Unmatched detections above this start a track.")
    match_iou_thr: IoUThreshold = Field(default=0.3, description="First stage: least IoU of a match.")
    second_match_iou_thr: IoUThreshold = Field(default=0.5, description="Second stage: least IoU of a match.")
    memo_frames: NonNegativeInt = Field(default=30, description="Frames a track is kept while unseen.")
    with_cats: bool = Field(default=True, description="Match only detections and tracks of the same class.")

    @field_validator("low_score_thr")
    @classmethod
    def _low_below_high(cls, value: float, info: ValidationInfo) -> float:
        """The second stage matches the detections between the two thresholds: low must not exceed high."""
        return not_above(value, info, "high_score_thr")


class ByteTrackConfig(StrictModel):
    """ByteTrack: Kalman motion, IoU association of high then low-score detections (the reference's defaults)."""

    type: Literal["bytetrack"] = Field(default="bytetrack", description="Selects this tracker: Kalman + IoU.")
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

    type: Literal["qdtrack"] = Field(default="qdtrack", description="Selects this model: detector + appearance.")
    similarity_head: SimilarityHeadConfig = Field(default=SimilarityHeadConfig(), description="Embedding head.")
    track_sampler: TrackSamplerConfig = Field(default=TrackSamplerConfig(), description="RoIs for the embedding loss.")
    track_loss: TrackLossConfig = Field(default=TrackLossConfig(), description="Weights and margins of the losses.")
    tracker: TrackerGraphConfig = Field(
        default=QDTrackGraphConfig(), description="Association at inference; pick one by its type."
    )


MotionTrackerConfig = Annotated[ByteTrackConfig | IoUGraphConfig, Field(discriminator="type")]


class ByteTrackModelConfig(DetectorFields):
    """ByteTrack: Faster R-CNN detections associated by a motion tracker (no appearance head)."""

    type: Literal["bytetrack"] = Field(default="bytetrack", description="Selects this model: detector + motion.")
    tracker: MotionTrackerConfig = Field(
        default=ByteTrackConfig(), description="Association at inference: bytetrack or iou."
    )


ModelConfig = Annotated[FasterRCNNConfig | QDTrackConfig | ByteTrackModelConfig, Field(discriminator="type")]
