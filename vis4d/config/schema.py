"""The one config schema (pydantic v2), validated once after files and overrides merge.

Sections: ``model``, ``train``, ``train_handler``, ``test``, ``test_handler``,
``launch``, ``trainer``; plus ``categories``, the single source of the
mapping category name <-> contiguous class id. Every field carries a
``description``: ``scripts/gen_docs.py`` renders them into docs/config.md.

Model and dataset sections pick their implementation with ``type = "..."``
(pydantic discriminated unions), so each type validates its own fields and an
unknown field is an error. The sections are defined in
:mod:`vis4d.config.model_schema` and :mod:`vis4d.config.data_schema` (field
types with their ranges in :mod:`vis4d.config.fields`); this module puts them
together and is where every layer imports them from. The config package
imports nothing else from vis4d: every layer may read the config, the config
knows no layer.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from vis4d.config.augment_schema import AffineConfig, HSVConfig, MixupConfig, MosaicConfig, MultiScaleConfig
from vis4d.config.data_schema import (
    BDD100KDatasetConfig,
    COCODatasetConfig,
    CropConfig,
    DatasetBase,
    DatasetConfig,
    FlipConfig,
    HandlerConfig,
    ImageFolderDatasetConfig,
    MOTChallengeDatasetConfig,
    PhotometricConfig,
    ReferenceConfig,
    ResizeConfig,
    ScalabelDatasetConfig,
    SyntheticDatasetConfig,
    TransformConfig,
)
from vis4d.config.detector_schema import (
    BackboneConfig,
    DetectorConfig,
    FasterRCNNDetectorConfig,
    RoIHeadConfig,
    RPNConfig,
    SamplingFields,
)
from vis4d.config.fields import PlainName, StrictModel, is_no_weights
from vis4d.config.model_schema import (
    ByteTrackModelConfig,
    DetectorModelConfig,
    EMAConfig,
    LRSchedulerConfig,
    ModelConfig,
    ModelFields,
    OptimizerConfig,
    QDTrackConfig,
    SimilarityHeadConfig,
    TrackLossConfig,
    TrackSamplerConfig,
)
from vis4d.config.tracker_schema import (
    TRACKER_CONFIGS,
    BoTSORTConfig,
    ByteTrackConfig,
    DeepOCSORTConfig,
    IoUGraphConfig,
    MotionTrackerConfig,
    OCSORTConfig,
    QDTrackGraphConfig,
    SORTConfig,
    TrackerGraphConfig,
)
from vis4d.config.yolox_schema import YOLOXConfig, YOLOXProposalConfig

__all__ = [
    "TRACKER_CONFIGS",
    "AffineConfig",
    "EMAConfig",
    "HSVConfig",
    "MixupConfig",
    "MosaicConfig",
    "MultiScaleConfig",
    "BDD100KDatasetConfig",
    "BackboneConfig",
    "BoTSORTConfig",
    "ByteTrackConfig",
    "ByteTrackModelConfig",
    "COCODatasetConfig",
    "Config",
    "CropConfig",
    "DatasetBase",
    "DatasetConfig",
    "DeepOCSORTConfig",
    "DetectorConfig",
    "DetectorModelConfig",
    "FasterRCNNDetectorConfig",
    "FlipConfig",
    "HandlerConfig",
    "ImageFolderDatasetConfig",
    "IoUGraphConfig",
    "LRSchedulerConfig",
    "LaunchConfig",
    "MOTChallengeDatasetConfig",
    "ModelConfig",
    "ModelFields",
    "MotionTrackerConfig",
    "OCSORTConfig",
    "OptimizerConfig",
    "PhotometricConfig",
    "QDTrackConfig",
    "QDTrackGraphConfig",
    "RPNConfig",
    "SORTConfig",
    "ReferenceConfig",
    "ResizeConfig",
    "RoIHeadConfig",
    "SamplingFields",
    "ScalabelDatasetConfig",
    "SimilarityHeadConfig",
    "StrictModel",
    "SyntheticDatasetConfig",
    "TrackLossConfig",
    "TrackSamplerConfig",
    "TrackerGraphConfig",
    "TransformConfig",
    "YOLOXConfig",
    "YOLOXProposalConfig",
]


class LaunchConfig(StrictModel):
    """Launch options: the same names as the command line's; the command line wins."""

    work_dir: str = Field(default="./vis4d-workspace/", description="Runs go to work_dir/exp_name/version.")
    exp_name: PlainName | None = Field(default=None, description="Run folder work_dir/exp_name (a plain name).")
    version: PlainName | None = Field(default=None, description="Run folder work_dir/exp_name/version (a plain name).")
    input_dir: str | None = Field(
        default=None,
        description="predict: a folder of images (one video per subfolder), a video file, a camera index (0) or a "
        "stream URL (rtsp://, http://, ...).",
    )
    stream_timeout: float = Field(
        default=10.0, gt=0, allow_inf_nan=False,
        description="predict from a camera or URL: seconds to wait for the stream to open and for each frame; a "
        "stream silent for longer has ended.",
    )  # fmt: skip
    find_unused_parameters: bool = Field(default=False, description="DDP: look for parameters without gradient.")
    visualize: bool = Field(default=False, description="test/predict: draw predictions into RUN/<action>/vis/.")
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1, description="Seed of every random generator.")
    weights: str | None = Field(
        default=None,
        description="Checkpoint to load: best, last, a path, a URL or a name (as --weights); none: no weights.",
    )

    @field_validator("weights")
    @classmethod
    def _no_weights_is_none(cls, value: str | None) -> str | None:
        """``""`` and ``none`` (any case) become ``"none"``: asked for no weights, unlike not asking (None)."""
        return "none" if is_no_weights(value) else value

    checkpoint_period: int = Field(default=1, ge=1, description="Save checkpoints/epoch=N.ckpt every N epochs.")
    checkpoint_every_n_steps: int | None = Field(
        default=None, ge=1, description="Also write last.ckpt every N optimizer steps (default: at epoch ends only)."
    )
    resume: bool = Field(
        default=False,
        description="train: continue the run from its last.ckpt (or weights); predict: continue an interrupted "
        "prediction run of the same run directory after its last finished video.",
    )
    journal_frames: int = Field(
        default=100,
        ge=1,
        description="predict: a detector's finished frames are journaled every N frames of a video (a killed run "
        "redoes at most N per process on --resume); trackers journal whole videos.",
    )
    on_nonfinite_loss: Literal["stop", "skip"] = Field(
        default="stop",
        description="train: a loss or gradient that is not finite (nan, inf) stops the run with one line, "
        "last.ckpt kept as the last good step (stop), or its step is skipped without an update (skip).",
    )
    max_nonfinite_steps: int = Field(
        default=20, ge=1, description="train, on_nonfinite_loss = skip: stop after this many skipped steps in a row."
    )
    ddp_timeout: float = Field(
        default=600.0,
        gt=0,
        le=7 * 24 * 3600,
        description="DDP: seconds a process waits for the others in a collective before the run stops (a "
        "process that died or hangs); must cover the longest step, validation or checkpoint save.",
    )
    pin_memory: bool = Field(default=False, description="Pin memory in training data loaders.")
    wandb: bool = Field(default=False, description="Log to Weights & Biases instead of TensorBoard.")
    strict: bool = Field(default=True, description="Checkpoint keys must match the model's.")
    tqdm: bool = Field(default=False, description="tqdm progress bars instead of plain progress lines.")
    debug: bool = Field(default=False, description="Not read by the runs: tracebacks come with the CLI's --debug.")
    best_metric: str = Field(default="AP", description="Metric (key in metrics.json det/track sections) for best.ckpt.")
    metrics: list[str] | None = Field(
        default=None,
        description="Tracking metrics of validation and test (names in vis4d.eval.track.METRICS, e.g. "
        '["clear", "identity", "hota", "teta"]); default: clear, identity, hota.',
    )
    best_mode: Literal["max", "min"] = Field(default="max", description="best.ckpt has the highest or lowest metric.")
    output_formats: list[Literal["scalabel", "bdd100k", "motchallenge", "coco"]] = Field(
        default=["scalabel"], min_length=1, description="Prediction file formats written by test and predict."
    )
    per_video_predictions: bool = Field(default=False, description="Scalabel: one prediction file per video.")
    zip_submission: bool = Field(default=False, description="BDD100K: also zip the per-video files (submission.zip).")
    cache_dir: str | None = Field(
        default=None, description="Where parsed datasets are cached; default work_dir/.cache/datasets."
    )
    backend: Literal["torch", "onnxruntime", "torchscript"] = Field(
        default="torch",
        description="test/predict: run the PyTorch model (torch), or the exported --model in onnxruntime or "
        "TorchScript; the tracker runs in Python either way.",
    )
    model: str | None = Field(
        default=None, description="test/predict with backend onnxruntime/torchscript: the file vis4d export wrote."
    )


class Config(StrictModel):
    """A whole experiment."""

    base: list[str] = Field(default=[], description="Config files merged before this one (resolved on load).")
    categories: list[str] = Field(description="Class names; their order gives the model's class ids.")
    model: ModelConfig = Field(description="The model; pick one by its type.")
    train: list[DatasetConfig] = Field(default=[], description="Training datasets ([[train]] tables), concatenated.")
    train_handler: HandlerConfig = Field(default=HandlerConfig(), description="Training transforms and batching.")
    test: list[DatasetConfig] = Field(
        default=[], description="Validation, test and predict datasets ([[test]] tables), one loader each."
    )
    test_handler: HandlerConfig = Field(
        default=HandlerConfig(batch_size=1), description="Test transforms and batching."
    )
    launch: LaunchConfig = Field(default=LaunchConfig(), description="Run options; the command line wins.")
    trainer: dict[str, Any] = Field(default={}, description="Lightning Trainer arguments; they win over the CLI.")

    @model_validator(mode="after")
    def _check(self) -> Config:
        if not self.categories:
            raise ValueError("categories must list at least one category")
        blank = [i for i, name in enumerate(self.categories) if not name.strip()]
        if blank:
            raise ValueError(f"categories.{blank[0]}: a category needs a name, got {self.categories[blank[0]]!r}")
        if len(set(self.categories)) != len(self.categories):
            raise ValueError("categories must be unique")
        for index, dataset in enumerate(self.train):
            if dataset.type == "image_folder":  # it would train on nothing but background
                raise ValueError(
                    f"train.{index} is an image folder ({dataset.root}), which has no labels; train on labelled "
                    "data (scalabel, bdd100k, coco, motchallenge, synthetic) and predict on image folders"
                )
        training_only = ("mosaic", "affine", "mixup", "multiscale", "min_box_size")
        for name in training_only:
            if getattr(self.test_handler, name) is not None:
                raise ValueError(f"test_handler.{name}: a training augmentation; set it in train_handler")
        return self

    @property
    def model_name(self) -> str:
        """The model's display name, the default experiment name."""
        if self.model.name:
            return self.model.name
        if self.model.type == "detector":  # named after the detector it is
            kind = self.model.detector.type
            return {"faster_rcnn": "FasterRCNN", "yolox": "YOLOX"}.get(kind, kind)
        return {"qdtrack": "QDTrack", "bytetrack": "ByteTrack"}[self.model.type]
