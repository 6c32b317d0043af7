"""Config sections of the trackers (``model.tracker``), one vocabulary for all of them.

A tracker section picks its tracker with ``type``: ``bytetrack``, ``sort``,
``ocsort``, ``botsort``, ``deepocsort``, ``qdtrack`` or ``iou``. Defaults are
each tracker's authors' (or the paper's recipe). The same concept has the
same name in every tracker, after ultralytics' names where it has one:

* ``track_high_thresh``: detections scoring above it are matched first (and
  only they start tracks, unless ``new_track_thresh`` asks for more);
* ``track_low_thresh``: detections at or below it take part in nothing;
  between the two, they may continue tracks in a second stage;
* ``new_track_thresh``: the score an unmatched detection needs to start a track;
* ``track_buffer``: frames a track is kept while it takes no detection;
* ``match_thresh`` (largest cost of a match, on ``1 - IoU``-like costs) or
  ``iou_thresh`` (least IoU of a match), as the tracker's authors define it;
* ``embedding_momentum``: a track's embedding becomes ``momentum * old +
  (1 - momentum) * new`` when it takes a detection;
* ``cmc_method``: camera-motion compensation (``sparse_flow``, ``ecc``, ``none``);
* ``reid``: a re-identification model by name for appearance.

Earlier names (``track_thresh``, ``high_score_thr``, ``obj_score_thr``,
``init_score_thr``, ``memo_frames``, ...) and boxmot's (``det_thresh``,
``max_age``, ``iou_threshold``) are still read, each with one warning line
naming its new key.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from vis4d.config.fields import (
    IoUThreshold,
    NonNegativeInt,
    PositiveInt,
    Probability,
    ScoreThreshold,
    StrictModel,
    not_above,
)

logger = logging.getLogger(__name__)
# ``cmc_method=none`` on a command line reads as None (as every "none" does): it means the method "none".
CMCMethod = Annotated[
    Literal["sparse_flow", "ecc", "none"], BeforeValidator(lambda value: "none" if value is None else value)
]
ReIDName = Annotated[
    str | None,
    Field(
        description="Re-identification model for appearance, by name (vis4d weights list: osnet_x0_25_msmt17, "
        "osnet_x1_0_msmt17, ...) or a checkpoint path; none: the model's own embedding head where it has one "
        "(QDTrack), else motion only."
    ),
]


class TrackerFields(StrictModel):
    """What every tracker section shares: earlier option names read as the current ones, with a warning."""

    RENAMED: ClassVar[dict[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _rename_old_keys(cls, data: Any) -> Any:
        """Read an earlier name as its current one (one warning line); both at once is an error."""
        if not isinstance(data, dict) or not cls.RENAMED:
            return data
        data = dict(data)
        kind = data.get("type", "")
        for old, new in cls.RENAMED.items():
            if old not in data:
                continue
            if new in data:
                raise ValueError(f"'{old}' is the earlier name of '{new}'; give only '{new}'")
            data[new] = data.pop(old)
            logger.warning("tracker %s: option '%s' is now '%s' (the old name still works)", kind, old, new)
        return data


def _low_not_above_high(value: float | None, info: ValidationInfo) -> float | None:
    """The second stage takes detections between the two thresholds: low must not exceed high."""
    return value if value is None else not_above(value, info, "track_high_thresh")


class QDTrackGraphConfig(TrackerFields):
    """The QDTrack tracker: appearance matching by bi-directional softmax (defaults: the paper's BDD100K setting)."""

    RENAMED: ClassVar[dict[str, str]] = {
        "init_score_thr": "new_track_thresh", "obj_score_thr": "track_high_thresh",
        "match_score_thr": "match_score_thresh", "memo_tracklet_frames": "track_buffer",
        "memo_backdrop_frames": "backdrop_buffer", "memo_momentum": "embedding_momentum",
        "nms_conf_thr": "nms_conf_thresh", "nms_backdrop_iou_thr": "nms_backdrop_iou_thresh",
        "nms_class_iou_thr": "nms_class_iou_thresh",
    }  # fmt: skip

    type: Literal["qdtrack"] = Field(default="qdtrack", description="Selects this tracker: appearance matching.")
    new_track_thresh: ScoreThreshold = Field(default=0.8, description="Unmatched detections above this start a track.")
    track_high_thresh: ScoreThreshold = Field(
        default=0.5, description="Detections above this may take a track's id; those below are backdrop candidates."
    )
    match_score_thresh: ScoreThreshold = Field(default=0.5, description="Least association score of a match.")
    track_buffer: NonNegativeInt = Field(default=10, description="Frames a track is kept while unseen.")
    backdrop_buffer: NonNegativeInt = Field(default=1, description="Frames a backdrop is kept in memory.")
    embedding_momentum: Probability = Field(
        default=0.8, description="A matched track's embedding becomes momentum * old + (1 - momentum) * new."
    )
    nms_conf_thresh: ScoreThreshold = Field(
        default=0.5, description="A low-score detection matching a track above this is a duplicate and dropped."
    )
    nms_backdrop_iou_thresh: IoUThreshold = Field(
        default=0.3, description="A low-score detection overlapping any better one more than this is dropped."
    )
    nms_class_iou_thresh: IoUThreshold = Field(
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


class IoUGraphConfig(TrackerFields):
    """Motion-only tracker: IoU with the tracks' last boxes, ByteTrack-style two-stage matching."""

    RENAMED: ClassVar[dict[str, str]] = {
        "high_score_thr": "track_high_thresh", "low_score_thr": "track_low_thresh",
        "init_score_thr": "new_track_thresh", "match_iou_thr": "iou_thresh",
        "second_match_iou_thr": "second_iou_thresh", "memo_frames": "track_buffer",
    }  # fmt: skip

    type: Literal["iou"] = Field(default="iou", description="Selects this tracker: IoU matching, no appearance.")
    matching: Literal["hungarian", "greedy"] = Field(
        default="hungarian", description="Optimal assignment on 1 - IoU, or pairs taken by decreasing IoU."
    )
    track_high_thresh: ScoreThreshold = Field(default=0.5, description="Detections at or above this match first.")
    track_low_thresh: ScoreThreshold = Field(default=0.1, description="Lower ones at or above this match leftovers.")
    new_track_thresh: ScoreThreshold = Field(default=0.6, description="Unmatched detections above this start a track.")
    iou_thresh: IoUThreshold = Field(default=0.3, description="First stage: least IoU of a match.")
    second_iou_thresh: IoUThreshold = Field(default=0.5, description="Second stage: least IoU of a match.")
    track_buffer: NonNegativeInt = Field(default=30, description="Frames a track is kept while unseen.")
    with_cats: bool = Field(default=True, description="Match only detections and tracks of the same class.")

    _low_below_high = field_validator("track_low_thresh")(_low_not_above_high)


class ByteTrackConfig(TrackerFields):
    """ByteTrack: Kalman motion, IoU association of high then low-score detections (the reference's defaults)."""

    RENAMED: ClassVar[dict[str, str]] = {"track_thresh": "track_high_thresh", "low_thresh": "track_low_thresh"}

    type: Literal["bytetrack"] = Field(default="bytetrack", description="Selects this tracker: Kalman + IoU.")
    track_high_thresh: ScoreThreshold = Field(default=0.5, description="High detections score above this.")
    track_low_thresh: ScoreThreshold = Field(
        default=0.1, description="Low detections score above this (and below track_high_thresh)."
    )
    new_track_thresh: ScoreThreshold | None = Field(
        default=None, description="Score a detection needs to start a track; default track_high_thresh + 0.1."
    )
    match_thresh: Probability = Field(default=0.8, description="First association: largest 1 - IoU (x score) matched.")
    second_match_thresh: Probability = Field(default=0.5, description="Low detections: largest 1 - IoU matched.")
    unconfirmed_match_thresh: Probability = Field(
        default=0.7, description="Tracks started last frame: largest cost matched."
    )
    track_buffer: NonNegativeInt = Field(
        default=30, description="Frames (at 30 fps) a lost track is kept for re-finding."
    )
    frame_rate: float = Field(default=30.0, gt=0, description="The video's frame rate; scales track_buffer.")
    fuse_score: bool = Field(
        default=True, description="Multiply IoU by the detection score in matching (off for MOT20)."
    )
    duplicate_thresh: Probability = Field(
        default=0.15, description="A lost track with 1 - IoU below this to a tracked one is a duplicate."
    )
    pixel_offset: float = Field(
        default=1.0, ge=0, description="IoU counts both end pixels (1, the reference's cython_bbox) or not (0)."
    )

    _low_below_high = field_validator("track_low_thresh")(_low_not_above_high)


class BoTSORTConfig(ByteTrackConfig):
    """BoT-SORT: ByteTrack with box-size Kalman state, camera-motion compensation and appearance (authors' defaults)."""

    RENAMED: ClassVar[dict[str, str]] = {**ByteTrackConfig.RENAMED, "gmc_method": "cmc_method"}

    type: Literal["botsort"] = Field(default="botsort", description="Selects this tracker: BoT-SORT.")  # type: ignore[assignment]
    track_high_thresh: ScoreThreshold = Field(default=0.6, description="High detections score above this.")
    cmc_method: CMCMethod = Field(
        default="sparse_flow", description="Camera-motion compensation: sparse optical flow (the authors'), ECC, none."
    )
    proximity_thresh: Probability = Field(
        default=0.5, description="Appearance counts only for pairs with 1 - IoU at most this."
    )
    appearance_thresh: Probability = Field(
        default=0.25, description="Appearance counts only for pairs with half the cosine distance at most this."
    )
    embedding_momentum: Probability = Field(
        default=0.9, description="A matched track's embedding becomes momentum * old + (1 - momentum) * new."
    )
    reid: ReIDName = None


class SORTConfig(TrackerFields):
    """SORT: a Kalman filter per object and optimal IoU matching (the authors' defaults)."""

    RENAMED: ClassVar[dict[str, str]] = {
        "det_thresh": "track_high_thresh", "max_age": "track_buffer", "iou_threshold": "iou_thresh",
    }  # fmt: skip

    type: Literal["sort"] = Field(default="sort", description="Selects this tracker: SORT.")
    track_high_thresh: ScoreThreshold | None = Field(
        default=None, description="Only detections scoring above this are tracked; none: all (as SORT)."
    )
    iou_thresh: IoUThreshold = Field(default=0.3, description="Least IoU of a match.")
    min_hits: NonNegativeInt = Field(
        default=3, description="A track is output once it took detections in this many consecutive frames."
    )
    track_buffer: NonNegativeInt = Field(default=1, description="Frames a track is kept while unseen (max_age).")

    @property
    def track_low_thresh(self) -> float | None:
        """SORT has one threshold: nothing below it takes part."""
        return self.track_high_thresh


class OCSORTConfig(TrackerFields):
    """OC-SORT: SORT with observation-centric momentum, recovery and re-update (the authors' defaults)."""

    RENAMED: ClassVar[dict[str, str]] = SORTConfig.RENAMED

    type: Literal["ocsort"] = Field(default="ocsort", description="Selects this tracker: OC-SORT.")
    track_high_thresh: ScoreThreshold = Field(
        default=0.6, description="Detections above this are matched and start tracks (det_thresh)."
    )
    track_low_thresh: ScoreThreshold = Field(
        default=0.1, description="With use_byte: detections above this and below track_high_thresh match leftovers."
    )
    iou_thresh: IoUThreshold = Field(default=0.3, description="Least IoU of a match.")
    min_hits: NonNegativeInt = Field(
        default=3, description="A track is output once it took detections in this many consecutive frames."
    )
    track_buffer: NonNegativeInt = Field(default=30, description="Frames a track is kept while unseen (max_age).")
    delta_t: PositiveInt = Field(default=3, description="Frames between the observations a motion direction uses.")
    inertia: float = Field(default=0.2, ge=0, allow_inf_nan=False, description="Weight of the direction term.")
    asso_func: Literal["iou", "giou", "diou", "ciou", "centre"] = Field(
        default="iou", description="Box similarity of the associations (OC-SORT's asso_func; centre: ct_dist)."
    )
    use_byte: bool = Field(default=False, description="Also match leftover tracks to low detections (BYTE).")

    _low_below_high = field_validator("track_low_thresh")(_low_not_above_high)


class DeepOCSORTConfig(OCSORTConfig):
    """Deep OC-SORT: OC-SORT with camera motion and adaptively weighted appearance (the authors' best settings)."""

    RENAMED: ClassVar[dict[str, str]] = {**SORTConfig.RENAMED, "alpha_fixed_emb": "embedding_momentum"}

    type: Literal["deepocsort"] = Field(default="deepocsort", description="Selects this tracker: Deep OC-SORT.")  # type: ignore[assignment]
    w_association_emb: float = Field(
        default=0.75, ge=0, allow_inf_nan=False, description="Base weight of appearance similarity in matching."
    )
    aw_param: float = Field(
        default=0.5, ge=0, allow_inf_nan=False, description="Largest best-to-second gap the adaptive weight adds."
    )
    aw_off: bool = Field(default=False, description="Fixed appearance weight (no adaptive weighting).")
    embedding_momentum: Probability = Field(
        default=0.95, description="Embedding momentum for a detection scoring 1 (less certain ones: closer to 1)."
    )
    cmc_method: CMCMethod = Field(
        default="sparse_flow", description="Camera-motion compensation: sparse optical flow (BoT-SORT's), ECC, none."
    )
    reid: ReIDName = None


TrackerGraphConfig = Annotated[
    QDTrackGraphConfig
    | IoUGraphConfig
    | ByteTrackConfig
    | SORTConfig
    | OCSORTConfig
    | BoTSORTConfig
    | DeepOCSORTConfig,
    Field(discriminator="type"),
]
MotionTrackerConfig = Annotated[
    ByteTrackConfig | IoUGraphConfig | SORTConfig | OCSORTConfig | BoTSORTConfig | DeepOCSORTConfig,
    Field(discriminator="type"),
]
TRACKER_CONFIGS: dict[str, type[TrackerFields]] = {
    "bytetrack": ByteTrackConfig, "sort": SORTConfig, "ocsort": OCSORTConfig, "botsort": BoTSORTConfig,
    "deepocsort": DeepOCSORTConfig, "qdtrack": QDTrackGraphConfig, "iou": IoUGraphConfig,
}  # fmt: skip
