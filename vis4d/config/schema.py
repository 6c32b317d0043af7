"""The one config schema (pydantic v2), validated once after files and overrides merge.

Sections, as in the spec: ``model``, ``train``, ``train_handler``, ``test``,
``test_handler``, ``launch``, ``trainer``; plus ``categories``, the single
source of the mapping category name <-> contiguous class id.

Model and dataset sections pick their implementation with ``type = "..."``
(pydantic discriminated unions), so each type validates its own fields and an
unknown field is an error. This module imports nothing else from vis4d: every
layer may read the config, the config knows no layer.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# ----------------------------------------------------------------------------- model
class BackboneConfig(StrictModel):
    """A torchvision backbone with an FPN on top."""

    type: Literal["resnet18", "resnet34", "resnet50", "resnet101", "mobilenet_v3_large", "mobilenet_v3_small"] = (
        "resnet50"
    )
    weights: str | None = Field(
        default=None, description="Local file with ImageNet weights (a torchvision state dict); none = random init."
    )
    norm: Literal["auto", "bn", "frozen_bn", "gn"] = Field(
        default="auto",
        description="Backbone norm layer; 'auto' = frozen BN with pretrained weights, trainable BN from scratch.",
    )
    frozen_stages: int = Field(default=1, ge=0, le=5, description="Stages frozen when weights are loaded.")
    fpn_channels: int = Field(default=256, gt=0)


class RPNConfig(StrictModel):
    """Region proposal network (defaults: the QDTrack BDD100K recipe)."""

    anchor_sizes: list[int] = Field(default=[32, 64, 128, 256, 512], description="One anchor size per FPN level.")
    aspect_ratios: list[float] = [0.5, 1.0, 2.0]
    fg_iou_thresh: float = 0.7
    bg_iou_thresh: float = 0.3
    batch_size_per_image: int = 256
    positive_fraction: float = 0.5
    pre_nms_top_n_train: int = 2000
    post_nms_top_n_train: int = 1000
    pre_nms_top_n_test: int = 1000
    post_nms_top_n_test: int = 1000
    nms_thresh: float = 0.7
    head_convs: int = 1


class RoIHeadConfig(StrictModel):
    """Box head on RoIAlign features (defaults: the QDTrack BDD100K recipe)."""

    fg_iou_thresh: float = 0.5
    bg_iou_thresh: float = 0.5
    batch_size_per_image: int = 512
    positive_fraction: float = 0.25
    add_gt_as_proposals: bool = True
    pooler_size: int = 7
    sampling_ratio: int = 2
    num_fcs: int = 2
    fc_dim: int = 1024
    box_coder_weights: tuple[float, float, float, float] = (10.0, 10.0, 5.0, 5.0)
    score_thresh: float = 0.05
    nms_thresh: float = 0.5
    detections_per_img: int = 100


class OptimizerConfig(StrictModel):
    """Optimizer; lr is for the whole batch."""

    type: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = Field(default=0.02, gt=0)
    momentum: float = 0.9
    weight_decay: float = 1e-4


class LRSchedulerConfig(StrictModel):
    """Linear warm-up (in steps) followed by step decay or cosine annealing."""

    type: Literal["step", "cosine", "constant"] = "step"
    warmup_steps: int = Field(default=1000, ge=0)
    warmup_ratio: float = Field(default=0.001, gt=0, le=1)
    milestones: list[int] = Field(default=[8, 11], description="Epochs at which lr is multiplied by gamma.")
    gamma: float = 0.1
    min_lr_ratio: float = Field(default=0.0, description="Cosine: final lr as a fraction of the base lr.")


class DetectorFields(StrictModel):
    """Fields every detector-based model shares."""

    name: str | None = Field(default=None, description="Model name, the default exp_name.")
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

    num_convs: int = 4
    conv_channels: int = 256
    num_fcs: int = 1
    fc_dim: int = 1024
    embedding_dim: int = 256
    norm_groups: int = Field(default=32, description="GroupNorm groups; 0 disables the norm.")
    pooler_size: int = 7


class TrackSamplerConfig(StrictModel):
    """RoI sampling for the embedding loss (instance-balanced positives, IoU-balanced negatives)."""

    fg_iou_thresh: float = 0.7
    bg_iou_thresh: float = 0.3
    batch_size_per_image: int = 256
    positive_fraction: float = 0.5
    neg_pos_ub: float = 3.0
    add_gt_as_proposals: bool = True


class TrackLossConfig(StrictModel):
    """Multi-positive cross-entropy + auxiliary L2 on cosine similarity."""

    track_loss_weight: float = 0.25
    aux_loss_weight: float = 1.0
    aux_neg_margin: float = Field(default=0.3, description="Negatives below this cosine similarity cost nothing.")
    aux_pos_margin: float = 0.0
    aux_neg_pos_ratio: float = 3.0
    softmax_temperature: float = -1.0


class QDTrackGraphConfig(StrictModel):
    """The QDTrack tracker graph (defaults: the paper's BDD100K setting)."""

    type: Literal["qdtrack"] = "qdtrack"
    init_score_thr: float = 0.8
    obj_score_thr: float = 0.5
    match_score_thr: float = 0.5
    memo_tracklet_frames: int = 10
    memo_backdrop_frames: int = 1
    memo_momentum: float = 0.8
    nms_conf_thr: float = 0.5
    nms_backdrop_iou_thr: float = 0.3
    nms_class_iou_thr: float = 0.7
    with_cats: bool = True
    match_metric: Literal["bisoftmax", "softmax", "cosine"] = "bisoftmax"


class IoUGraphConfig(StrictModel):
    """Motion-only tracker: IoU association, ByteTrack-style two-stage matching."""

    type: Literal["iou"] = "iou"
    matching: Literal["hungarian", "greedy"] = "hungarian"
    high_score_thr: float = 0.5
    low_score_thr: float = 0.1
    init_score_thr: float = 0.6
    match_iou_thr: float = 0.3
    second_match_iou_thr: float = 0.5
    memo_frames: int = 30
    with_cats: bool = True


TrackerGraphConfig = Annotated[QDTrackGraphConfig | IoUGraphConfig, Field(discriminator="type")]


class QDTrackConfig(DetectorFields):
    """QDTrack: Faster R-CNN + quasi-dense similarity head + tracker graph."""

    type: Literal["qdtrack"] = "qdtrack"
    similarity_head: SimilarityHeadConfig = SimilarityHeadConfig()
    track_sampler: TrackSamplerConfig = TrackSamplerConfig()
    track_loss: TrackLossConfig = TrackLossConfig()
    tracker: TrackerGraphConfig = QDTrackGraphConfig()


ModelConfig = Annotated[FasterRCNNConfig | QDTrackConfig, Field(discriminator="type")]


# -------------------------------------------------------------------------- datasets
class DatasetBase(StrictModel):
    """Fields common to every dataset source."""

    name: str = Field(description="Dataset name, used for prediction file names.")
    name_mapping: dict[str, str] = Field(default={}, description="Dataset category -> config category.")
    ignored_mapping: dict[str, str] = Field(
        default={}, description="Dataset category -> config category, loaded as ignore regions."
    )
    unknown_categories: Literal["error", "drop"] = "error"
    skip_empty_frames: bool = Field(default=False, description="Drop frames without labels (for training).")
    on_malformed: Literal["fail", "skip"] = Field(default="fail", description="Malformed files: fail, or skip them.")
    on_degenerate_box: Literal["fail", "skip"] = Field(
        default="skip", description="Boxes with x2<x1, y2<y1 or NaN: fail, or skip with a counted warning."
    )
    cache: bool = Field(default=True, description="Cache the parsed store (keyed by file stats and options).")


class ScalabelDatasetConfig(DatasetBase):
    """Scalabel JSON: a file with a list of frames, {"frames": ...}, or a folder of per-video files."""

    type: Literal["scalabel"] = "scalabel"
    annotations: str
    image_root: str
    label_config: str | None = Field(default=None, description="A Scalabel/BDD100K label config (.toml/.json).")


class BDD100KDatasetConfig(ScalabelDatasetConfig):
    """BDD100K labels (Scalabel JSON) with BDD100K's default name/ignored mappings."""

    type: Literal["bdd100k"] = "bdd100k"  # type: ignore[assignment]


class COCODatasetConfig(DatasetBase):
    """COCO instances JSON + image folder; each image is a one-frame video."""

    type: Literal["coco"] = "coco"
    annotations: str
    image_root: str


class MOTChallengeDatasetConfig(DatasetBase):
    """MOTChallenge folder of sequences (SEQ/seqinfo.ini, img1/, gt/gt.txt)."""

    type: Literal["motchallenge"] = "motchallenge"
    root: str
    use_public_detections: bool = Field(default=False, description="Load det/det.txt instead of gt/gt.txt.")
    sequences: list[str] | None = None


class ImageFolderDatasetConfig(DatasetBase):
    """Images, or subfolders of images (one video per folder), naturally sorted; no labels."""

    type: Literal["image_folder"] = "image_folder"
    name: str = "image_folder"
    root: str


class SyntheticDatasetConfig(DatasetBase):
    """Procedurally generated videos of moving shapes, written on demand into ``root``."""

    type: Literal["synthetic"] = "synthetic"
    root: str = Field(default="vis4d-workspace/.cache/synthetic", description="Where the generated data is cached.")
    split: Literal["train", "test"] = "train"
    num_videos: int = 8
    frames_per_video: int = 20
    image_size: tuple[int, int] = Field(default=(192, 320), description="(height, width)")
    max_objects: int = 6
    seed: int = 0


DatasetConfig = Annotated[
    ScalabelDatasetConfig
    | BDD100KDatasetConfig
    | COCODatasetConfig
    | MOTChallengeDatasetConfig
    | ImageFolderDatasetConfig
    | SyntheticDatasetConfig,
    Field(discriminator="type"),
]


# -------------------------------------------------------------------------- handler
class ResizeConfig(StrictModel):
    """Resize to ``shape`` (h, w), keeping the aspect ratio by default; multi-scale picks one of ``scales``."""

    type: Literal["resize"] = "resize"
    shape: tuple[int, int] = (720, 1280)
    keep_ratio: bool = True
    scales: list[tuple[int, int]] | None = None


class FlipConfig(StrictModel):
    """Random horizontal flip."""

    type: Literal["flip"] = "flip"
    prob: float = 0.5


class CropConfig(StrictModel):
    """Random crop of ``shape`` (h, w); boxes are clipped, those left smaller than ``min_size`` dropped."""

    type: Literal["crop"] = "crop"
    shape: tuple[int, int]
    min_size: float = 1.0


class PhotometricConfig(StrictModel):
    """Random brightness, contrast, saturation and hue."""

    type: Literal["photometric"] = "photometric"
    brightness: float = 0.125
    contrast: float = 0.5
    saturation: float = 0.5
    hue: float = 0.05
    prob: float = 0.5


TransformConfig = Annotated[ResizeConfig | FlipConfig | CropConfig | PhotometricConfig, Field(discriminator="type")]


class ReferenceConfig(StrictModel):
    """Reference-view sampling for tracking training."""

    num_ref: int = 1
    scope: int = Field(default=3, description="Reference frames come from within +-scope frames of the key frame.")
    method: Literal["uniform", "sequential"] = "uniform"


class HandlerConfig(StrictModel):
    """Turns dataset frames into batches: transforms, normalisation, padding, batching."""

    transforms: list[TransformConfig] = []
    mean: tuple[float, float, float] = (123.675, 116.28, 103.53)
    std: tuple[float, float, float] = (58.395, 57.12, 57.375)
    pad_divisor: int = 32
    batch_size: int = 2
    num_workers: int = 0
    shuffle: bool | None = Field(default=None, description="Default: shuffle for training, not for testing.")
    reference: ReferenceConfig | None = None


# --------------------------------------------------------------------------- launch
class LaunchConfig(StrictModel):
    """Launch options: the same names as the command line's; the command line wins."""

    work_dir: str = "./vis4d-workspace/"
    exp_name: str | None = None
    version: str | None = None
    input_dir: str | None = None
    find_unused_parameters: bool = False
    visualize: bool = False
    seed: int | None = None
    weights: str | None = None
    checkpoint_period: int = Field(default=1, ge=1)
    resume: bool = False
    pin_memory: bool = False
    wandb: bool = False
    strict: bool = True
    tqdm: bool = False
    debug: bool = False
    best_metric: str = Field(default="AP", description="Metric (key in metrics.json det/track sections) for best.ckpt.")
    best_mode: Literal["max", "min"] = "max"
    output_formats: list[Literal["scalabel", "bdd100k", "motchallenge", "coco"]] = ["scalabel"]
    per_video_predictions: bool = Field(default=False, description="Scalabel: one prediction file per video.")
    zip_submission: bool = Field(default=False, description="BDD100K: also zip the per-video files (submission.zip).")
    cache_dir: str | None = Field(
        default=None, description="Where parsed datasets are cached; default work_dir/.cache/datasets."
    )


class Config(StrictModel):
    """A whole experiment."""

    base: list[str] = Field(default=[], description="Config files merged before this one (resolved on load).")
    categories: list[str]
    model: ModelConfig
    train: list[DatasetConfig] = []
    train_handler: HandlerConfig = HandlerConfig()
    test: list[DatasetConfig] = []
    test_handler: HandlerConfig = HandlerConfig(batch_size=1)
    launch: LaunchConfig = LaunchConfig()
    trainer: dict[str, Any] = Field(default={}, description="Lightning Trainer arguments; they win over the CLI.")

    @model_validator(mode="after")
    def _check(self) -> Config:
        if not self.categories:
            raise ValueError("categories must list at least one category")
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("categories must be unique")
        return self

    @property
    def model_name(self) -> str:
        """The model's display name, the default experiment name."""
        return self.model.name or {"faster_rcnn": "FasterRCNN", "qdtrack": "QDTrack"}[self.model.type]
