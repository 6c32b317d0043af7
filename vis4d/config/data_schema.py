"""Config sections of the data: dataset sources (one ``type`` per format) and the handler (transforms, batching).

Dataset ``type`` names are the data format registry's (:mod:`vis4d.data.formats`);
a test checks that the two agree.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from vis4d.config.augment_schema import (
    AffineConfig,
    HSVConfig,
    MixupConfig,
    MosaicConfig,
    MultiScaleConfig,
    positive_range,
)
from vis4d.config.fields import (
    ImageShape,
    NonNegativeFloat,
    NonNegativeInt,
    PlainName,
    PositiveInt,
    Probability,
    StrictModel,
    finite_numbers,
    positive_numbers,
)

# Photometric jitter: factors are drawn from [1 - x, 1 + x], so x above 1 would allow a negative factor.
JitterAmount = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class DatasetBase(StrictModel):
    """Fields common to every dataset source."""

    name: PlainName = Field(description="Dataset name, used for prediction file names (a plain name, not a path).")
    name_mapping: dict[str, str] = Field(default={}, description="Dataset category -> config category.")
    ignored_mapping: dict[str, str] = Field(
        default={}, description="Dataset category -> config category, loaded as ignore regions."
    )
    unknown_categories: Literal["error", "drop"] = Field(
        default="error", description="A category neither in categories nor mapped: an error, or drop its boxes."
    )
    skip_empty_frames: bool = Field(default=False, description="Drop frames without labels (for training).")
    on_malformed: Literal["fail", "skip"] = Field(default="fail", description="Malformed files: fail, or skip them.")
    on_degenerate_box: Literal["fail", "skip"] = Field(
        default="skip",
        description="Boxes with x2<x1, y2<y1, NaN or infinite coordinates, or entirely outside their image (when "
        "its size is known): fail, or skip with a counted warning.",
    )
    cache: bool = Field(default=True, description="Cache the parsed store (keyed by file stats and options).")


class ScalabelDatasetConfig(DatasetBase):
    """Scalabel JSON: a file with a list of frames, {"frames": ...}, or a folder of per-video files."""

    type: Literal["scalabel"] = Field(default="scalabel", description="Selects this dataset format.")
    annotations: str = Field(description="Label file, or a folder of one JSON file per video.")
    image_root: str = Field(description="Folder the frames' names are relative to.")
    label_config: str | None = Field(default=None, description="A Scalabel/BDD100K label config (.toml/.json).")


class BDD100KDatasetConfig(ScalabelDatasetConfig):
    """BDD100K labels (Scalabel JSON) with BDD100K's default name/ignored mappings."""

    type: Literal["bdd100k"] = Field(default="bdd100k", description="Selects this dataset format.")  # type: ignore[assignment]


class COCODatasetConfig(DatasetBase):
    """COCO instances JSON + image folder; each image is a one-frame video."""

    type: Literal["coco"] = Field(default="coco", description="Selects this dataset format.")
    annotations: str = Field(description="COCO instances JSON file.")
    image_root: str = Field(description="Folder the images' file_name are relative to.")


class MOTChallengeDatasetConfig(DatasetBase):
    """MOTChallenge folder of sequences (SEQ/seqinfo.ini, img1/, gt/gt.txt)."""

    type: Literal["motchallenge"] = Field(default="motchallenge", description="Selects this dataset format.")
    root: str = Field(description="Folder holding one folder per sequence (e.g. MOT17/train).")
    use_public_detections: bool = Field(default=False, description="Load det/det.txt instead of gt/gt.txt.")
    sequences: list[PlainName] | None = Field(default=None, description="Sequence folders to load (default: all).")


class ImageFolderDatasetConfig(DatasetBase):
    """Images, or subfolders of images (one video per folder), naturally sorted; no labels."""

    type: Literal["image_folder"] = Field(default="image_folder", description="Selects this dataset format.")
    name: PlainName = Field(default="image_folder", description="Dataset name, used for prediction file names.")
    root: str = Field(description="Folder of images, or of one subfolder of images per video.")


class SyntheticDatasetConfig(DatasetBase):
    """Procedurally generated videos of moving shapes, written on demand into ``root``."""

    type: Literal["synthetic"] = Field(default="synthetic", description="Selects this dataset: generated videos.")
    root: str = Field(default="vis4d-workspace/.cache/synthetic", description="Where the generated data is cached.")
    split: Literal["train", "test"] = Field(default="train", description="Which split; each has its own videos.")
    num_videos: PositiveInt = Field(default=8, description="Videos generated.")
    frames_per_video: PositiveInt = Field(default=20, description="Frames per video.")
    image_size: ImageShape = Field(default=(192, 320), description="(height, width)")
    max_objects: NonNegativeInt = Field(default=6, description="Most objects per video (at least half this many).")
    seed: int = Field(default=0, description="Seed of the generator: the same seed, the same videos.")


DatasetConfig = Annotated[
    ScalabelDatasetConfig
    | BDD100KDatasetConfig
    | COCODatasetConfig
    | MOTChallengeDatasetConfig
    | ImageFolderDatasetConfig
    | SyntheticDatasetConfig,
    Field(discriminator="type"),
]


# ------------------------------------------------------------------------------ handler
class ResizeConfig(StrictModel):
    """Resize to ``shape`` (h, w), keeping the aspect ratio by default; multi-scale picks one of ``scales``."""

    type: Literal["resize"] = Field(default="resize", description="Selects this transform.")
    shape: ImageShape = Field(default=(720, 1280), description="Target (height, width), or the edge limits.")
    keep_ratio: bool = Field(default=True, description="Scale both sides alike to fit within shape.")
    scales: list[ImageShape] | None = Field(
        default=None, min_length=1, description="Multi-scale training: one shape each time."
    )
    scale_range: tuple[float, float] | None = Field(
        default=None,
        description="Random resize: the shape (after scales) times a factor drawn from [low, high] (Vis4D 1.0's "
        "scale_range; with crop, its QDTrack-YOLOX training jitter).",
    )
    edges: bool = Field(
        default=False,
        description="shape is (shorter edge, longer edge) whatever the orientation: torchvision's min_size/max_size "
        "(800, 1333), mmdetection's (1333, 800).",
    )
    rounding: Literal["round", "floor"] = Field(
        default="round", description="Resized size: round half up (mmdetection, Vis4D 1.0) or floor (torchvision)."
    )
    antialias: bool = Field(
        default=True,
        description="Low-pass before shrinking. Off: plain bilinear on float pixels, as torchvision's and "
        "mmdetection's detectors resize (use it to run their weights exactly).",
    )
    backend: Literal["torch", "opencv"] = Field(
        default="torch",
        description="torch (with antialias as set), or OpenCV's bilinear resize of the 8-bit image, as YOLOX's, "
        "ByteTrack's and Vis4D 1.0's YOLOX test pipelines resize (cv2.resize, INTER_LINEAR).",
    )
    box_scale: Literal["per_axis", "ratio"] = Field(
        default="per_axis",
        description="How boxes map between original and input pixels: per axis by resized / original size, or "
        "by the one resize ratio (YOLOX's and ByteTrack's letterbox, whose rounded size differs slightly).",
    )

    @field_validator("scale_range")
    @classmethod
    def _positive_range(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        return value if value is None else positive_range(value)


class FlipConfig(StrictModel):
    """Random horizontal flip."""

    type: Literal["flip"] = Field(default="flip", description="Selects this transform.")
    prob: Probability = Field(default=0.5, description="Chance that a frame is flipped.")


class CropConfig(StrictModel):
    """Random crop of ``shape`` (h, w); boxes are clipped, those left smaller than ``min_size`` dropped."""

    type: Literal["crop"] = Field(default="crop", description="Selects this transform.")
    shape: ImageShape = Field(description="(height, width) of the crop.")
    min_size: NonNegativeFloat = Field(default=1.0, description="Boxes narrower or lower after clipping are dropped.")


class PhotometricConfig(StrictModel):
    """Random brightness, contrast, saturation and hue."""

    type: Literal["photometric"] = Field(default="photometric", description="Selects this transform.")
    brightness: JitterAmount = Field(default=0.125, description="Brightness factor drawn from [1 - x, 1 + x].")
    contrast: JitterAmount = Field(default=0.5, description="Contrast factor drawn from [1 - x, 1 + x].")
    saturation: JitterAmount = Field(default=0.5, description="Saturation factor drawn from [1 - x, 1 + x].")
    hue: float = Field(default=0.05, ge=0, le=0.5, allow_inf_nan=False, description="Hue shift, at most half a turn.")
    prob: Probability = Field(default=0.5, description="Chance that a frame is jittered.")


TransformConfig = Annotated[
    ResizeConfig | FlipConfig | CropConfig | PhotometricConfig | HSVConfig, Field(discriminator="type")
]


class ReferenceConfig(StrictModel):
    """Reference-view sampling for tracking training."""

    num_ref: PositiveInt = Field(default=1, description="Reference frames per key frame.")
    scope: NonNegativeInt = Field(
        default=3, description="Reference frames come from within +-scope frames of the key frame."
    )
    method: Literal["uniform", "sequential"] = Field(
        default="uniform", description="Draw within +-scope frames, or take the next num_ref frames."
    )


class HandlerConfig(StrictModel):
    """Turns dataset frames into batches: transforms, normalisation, padding, batching."""

    transforms: list[TransformConfig] = Field(default=[], description="Applied in order to each frame; see below.")
    mean: tuple[float, float, float] = Field(default=(123.675, 116.28, 103.53), description="Per channel, finite.")
    std: tuple[float, float, float] = Field(default=(58.395, 57.12, 57.375), description="Per channel, all > 0.")
    channel_order: Literal["RGB", "BGR"] = Field(
        default="RGB",
        description="Channel order the model sees (mean and std apply in this order); Vis4D 1.0's BDD100K "
        "QDTrack was trained on BGR.",
    )
    pad_divisor: PositiveInt = Field(default=32, description="Pad batches to a multiple of this (height, width).")
    pad_value: float | None = Field(
        default=None,
        ge=0,
        le=255,
        allow_inf_nan=False,
        description="Pixel value (0-255, before mean and std) of the padding; default: the mean (0 after "
        "normalisation). YOLOX's published models were trained with 114.",
    )
    pad_to: ImageShape | None = Field(
        default=None,
        description="Pad every image to at least this (height, width), the image at the top-left: YOLOX's and "
        "ByteTrack's fixed test canvas (640x640, 800x1440).",
    )
    pad_square: bool = Field(
        default=False, description="Pad the shorter side to the longer one first (Vis4D 1.0's YOLOX COCO pipeline)."
    )
    batch_size: PositiveInt = Field(default=2, description="Frames per batch (per device), key frames in training.")
    num_workers: NonNegativeInt = Field(default=0, description="Data loader worker processes; 0 loads in-process.")
    shuffle: bool | None = Field(default=None, description="Default: shuffle for training, not for testing.")
    reference: ReferenceConfig | None = Field(
        default=None, description="Training trackers: sample reference frames to each key frame."
    )
    mosaic: MosaicConfig | None = Field(
        default=None, description="Training: mosaic of four frames (YOLOX); affine and mixup apply to mosaics."
    )
    affine: AffineConfig | None = Field(
        default=None, description="Training: random affine of the mosaic into the input size (needs mosaic)."
    )
    mixup: MixupConfig | None = Field(
        default=None, description="Training: blend mosaics with another frame (needs mosaic)."
    )
    no_aug_epochs: NonNegativeInt = Field(
        default=0,
        description="The recipe's last epochs: mosaic, affine and mixup off (transforms still apply), the "
        "detector's last-epochs loss on (YOLOX's L1), yoloxwarmcos at its minimum lr. Counted back from "
        "model.lr_scheduler.epochs, else from max_epochs.",
    )
    min_box_size: NonNegativeFloat | None = Field(
        default=None,
        description="Training: drop boxes whose width or height is at most this after all transforms "
        "(Megvii: 1); default: keep every box.",
    )
    multiscale: MultiScaleConfig | None = Field(
        default=None, description="Training: resize each batch to a random size every few steps (YOLOX)."
    )

    @model_validator(mode="after")
    def _mosaic_parts(self) -> HandlerConfig:
        for name in ("affine", "mixup"):
            if getattr(self, name) is not None and self.mosaic is None:
                raise ValueError(f"{name} transforms mosaics (as Megvii's YOLOX does): set mosaic too")
        return self

    _finite_mean = field_validator("mean")(finite_numbers)
    _positive_std = field_validator("std")(positive_numbers)
