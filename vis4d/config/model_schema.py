"""Config sections of the models: the detector, optimizer, schedule, QDTrack's head and the trackers.

A model section picks its implementation with ``type`` (``detector``,
``qdtrack``, ``bytetrack``); each type validates its own fields (pydantic
discriminated unions). Every model holds a detector, ``model.detector``, which
picks its own ``type`` (:mod:`vis4d.config.detector_schema`). Defaults are the
QDTrack paper's BDD100K recipe.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from vis4d.config.detector_schema import (
    DetectorConfig,
    FasterRCNNDetectorConfig,
    SamplingFields,
)
from vis4d.config.fields import (
    AddGroundTruth,
    FiniteFloat,
    NonNegativeFloat,
    NonNegativeInt,
    NonNegativeInts,
    PlainName,
    PositiveFloat,
    PositiveInt,
    Probability,
    StrictModel,
    WeightsName,
)
from vis4d.config.tracker_schema import (
    ByteTrackConfig,
    MotionTrackerConfig,
    QDTrackGraphConfig,
    TrackerGraphConfig,
)


class OptimizerConfig(StrictModel):
    """Optimizer; lr is for the whole batch (all devices together)."""

    type: Literal["sgd", "adam", "adamw"] = Field(default="sgd", description="torch.optim.SGD, Adam or AdamW.")
    lr: PositiveFloat = Field(default=0.02, description="Base learning rate (warm-up and schedule scale it).")
    momentum: float = Field(default=0.9, ge=0, lt=1, allow_inf_nan=False, description="SGD momentum, in [0, 1).")
    nesterov: bool = Field(default=False, description="SGD: Nesterov momentum (YOLOX: true).")
    weight_decay: NonNegativeFloat = Field(default=1e-4, description="L2 weight decay.")
    norm_and_bias_decay: bool = Field(
        default=True,
        description="Decay every parameter; false: only convolution and linear weights, not normalisation "
        "weights and biases (YOLOX's parameter groups).",
    )


class LRSchedulerConfig(StrictModel):
    """Warm-up followed by step decay, cosine annealing, a constant lr, or YOLOX's warm cosine.

    ``yoloxwarmcos`` is Megvii's: the lr rises as (step / warm-up)^2 from 0
    over ``warmup_epochs``, follows a cosine down to ``min_lr_ratio`` until
    the last ``train_handler.no_aug_epochs`` epochs and stays there; the
    linear ``warmup_steps`` do not apply to it.
    """

    type: Literal["step", "cosine", "constant", "yoloxwarmcos"] = Field(
        default="step",
        description="After warm-up: step decay at milestones, cosine to min_lr_ratio, constant; or yoloxwarmcos.",
    )
    warmup_steps: int = Field(
        default=1000, ge=0, description="Optimizer steps of linear warm-up; 0: none (not read by yoloxwarmcos)."
    )
    warmup_ratio: float = Field(default=0.001, gt=0, le=1, description="Warm-up starts at this fraction of lr.")
    warmup_epochs: NonNegativeFloat = Field(
        default=5.0, description="yoloxwarmcos: epochs of quadratic warm-up from 0 (Megvii: 5)."
    )
    milestones: NonNegativeInts = Field(default=[8, 11], description="Epochs at which lr is multiplied by gamma.")
    gamma: PositiveFloat = Field(default=0.1, description="Step decay: lr factor at each milestone.")
    min_lr_ratio: Probability = Field(
        default=0.0, description="Cosine, yoloxwarmcos: final lr as a fraction of the base lr (Megvii: 0.05)."
    )
    epochs: PositiveInt | None = Field(
        default=None,
        description="Length of the schedule in epochs (cosine, yoloxwarmcos, and where no_aug_epochs count "
        "from); default: the run's. Longer than the run: it stops part-way (Vis4D 1.0's QDTrack-YOLOX: 50, "
        "trained 25).",
    )


class EMAConfig(StrictModel):
    """An exponential moving average of the weights (Megvii's ``ModelEMA``): validated, saved, tested, exported.

    After every optimizer step each floating-point tensor of the model's state
    (weights and batch-norm statistics) moves towards the trained model's:
    ``ema = d * ema + (1 - d) * model`` with ``d = decay * (1 - exp(-updates /
    ramp))``, so early steps follow the model closely. Checkpoints keep both;
    ``--weights``, export and zoo files read the average.
    """

    decay: Probability = Field(default=0.9998, description="Decay once ramped up (Megvii: 0.9998).")
    ramp: PositiveFloat = Field(default=2000.0, description="Updates over which the decay ramps up (Megvii: 2000).")


class ModelFields(StrictModel):
    """Fields every model shares: its name, whole-model weights, the detector, optimizer and schedule."""

    name: PlainName | None = Field(default=None, description="Model name, the default exp_name (a plain name).")
    weights: WeightsName = Field(
        default=None,
        description="Whole-model initialisation: a path, URL or name (torchvision://, mmdet://, bdd100k://) of a "
        "vis4d, torchvision, mmdetection, QDTrack or Vis4D 1.0 checkpoint; categories are mapped by name and "
        "what matches loads. test/predict load it when no run checkpoint is found; --weights replaces it; "
        "empty or none: no weights.",
    )
    detector: DetectorConfig = Field(
        default=FasterRCNNDetectorConfig(), description="The detector; pick one by its type (faster_rcnn, yolox)."
    )
    optimizer: OptimizerConfig = Field(default=OptimizerConfig(), description="Optimizer of all parameters.")
    lr_scheduler: LRSchedulerConfig = Field(default=LRSchedulerConfig(), description="Learning-rate schedule.")
    ema: EMAConfig | None = Field(
        default=None, description="Keep an EMA of the weights for validation, test and export (YOLOX recipes)."
    )


class DetectorModelConfig(ModelFields):
    """A detector on its own (no tracking)."""

    type: Literal["detector"] = Field(default="detector", description="Selects this model: a detector alone.")


class SimilarityHeadConfig(StrictModel):
    """QDTrack embedding head: convs + fcs on RoIAlign features."""

    num_convs: NonNegativeInt = Field(default=4, description="3x3 conv + GroupNorm + ReLU layers.")
    conv_channels: PositiveInt = Field(default=256, description="Channels of each conv.")
    num_fcs: NonNegativeInt = Field(default=1, description="Fully connected + ReLU layers after the convs.")
    fc_dim: PositiveInt = Field(default=1024, description="Width of each fully connected layer.")
    embedding_dim: PositiveInt = Field(default=256, description="Length of the appearance embedding.")
    norm_groups: NonNegativeInt = Field(default=32, description="GroupNorm groups; 0 disables the norm.")
    pooler_size: PositiveInt = Field(default=7, description="RoIAlign output size (pooler_size x pooler_size).")
    sampling_ratio: NonNegativeInt | None = Field(
        default=None,
        description="RoIAlign sampling points per bin and axis (0: adaptive); default: as the detector's RoI "
        "head pools (Faster R-CNN), else 0.",
    )
    aligned: bool | None = Field(
        default=None, description="RoIAlign with the half-pixel offset; default: as the detector's RoI head, else on."
    )
    level_mapping: Literal["torchvision", "mmdet", "vis4d"] | None = Field(
        default=None, description="Which feature level a box is pooled from; default: as the detector's RoI head."
    )


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


class QDTrackConfig(ModelFields):
    """QDTrack: a detector + quasi-dense similarity head + tracker graph."""

    type: Literal["qdtrack"] = Field(default="qdtrack", description="Selects this model: detector + appearance.")
    similarity_head: SimilarityHeadConfig = Field(default=SimilarityHeadConfig(), description="Embedding head.")
    track_sampler: TrackSamplerConfig = Field(default=TrackSamplerConfig(), description="RoIs for the embedding loss.")
    track_loss: TrackLossConfig = Field(default=TrackLossConfig(), description="Weights and margins of the losses.")
    tracker: TrackerGraphConfig = Field(
        default=QDTrackGraphConfig(),
        description="Association at inference; pick one by its type (botsort and deepocsort use the embedding "
        "head's embeddings unless tracker.reid names another model).",
    )


class ByteTrackModelConfig(ModelFields):
    """ByteTrack: a detector's detections associated by a motion tracker (no appearance head)."""

    type: Literal["bytetrack"] = Field(default="bytetrack", description="Selects this model: detector + motion.")
    tracker: MotionTrackerConfig = Field(
        default=ByteTrackConfig(),
        description="Association at inference: bytetrack, sort, ocsort, botsort, deepocsort or iou (appearance "
        "for botsort/deepocsort from tracker.reid).",
    )


ModelConfig = Annotated[DetectorModelConfig | QDTrackConfig | ByteTrackModelConfig, Field(discriminator="type")]
