"""Input checks and preparation: two stores -> the flat arrays every tracking metric reads.

Each class is evaluated on its own, as BDD100K and TrackEval do: a *sequence*
is one (video, class), a *cell* one (frame, class). Preparation splits the
ground truth into counted boxes and ignore regions, removes predictions on
ignore regions (:mod:`vis4d.eval.track.ignore`), sorts both sides by cell,
numbers tracks densely per sequence and lists every (ground truth,
prediction) pair of a cell with positive IoU.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import numpy.typing as npt

from vis4d.common.arrays import group_index
from vis4d.common.errors import DataError
from vis4d.data.notes import warn
from vis4d.data.store import AnnotationStore
from vis4d.eval.common import (
    align_frames,
    check_categories,
    check_finite,
    check_unique_track_ids,
    overlapping_pairs,
)
from vis4d.eval.track.ignore import IgnoreProblem, IgnoreRule, keep_off_ignore_regions
from vis4d.eval.track.matching import Cells, box_iou_pairs


@dataclasses.dataclass
class TrackingData:
    """Preprocessed boxes of the whole dataset, sorted by cell (frame * K + class)."""

    num_classes: int
    num_seq: int  # sequences = videos x classes; seq id = video * K + class
    g_cell: npt.NDArray[np.int64]
    g_seq: npt.NDArray[np.int64]
    g_frame: npt.NDArray[np.int64]
    g_track: npt.NDArray[np.int64]  # dense id of (seq, track id)
    num_g_tracks: int
    p_cell: npt.NDArray[np.int64]
    p_seq: npt.NDArray[np.int64]
    p_track: npt.NDArray[np.int64]
    num_p_tracks: int
    pair_g: npt.NDArray[np.int64]  # pairs with IoU > 0, sorted by (g, p)
    pair_p: npt.NDArray[np.int64]
    pair_iou: npt.NDArray[np.float64]
    frame_video: npt.NDArray[np.int64]

    @property
    def g_rows(self) -> Cells:
        """Ground-truth rows by cell."""
        return Cells(self.g_cell)

    @property
    def p_rows(self) -> Cells:
        """Prediction rows by cell."""
        return Cells(self.p_cell)

    def seq_sum(self, seq: npt.NDArray[np.int64], weights: npt.NDArray[Any] | None = None) -> npt.NDArray[Any]:
        """Per-sequence count (or sum of ``weights``) of rows whose sequence is ``seq``."""
        return np.bincount(seq, weights=weights, minlength=self.num_seq)

    def g_track_seq(self) -> npt.NDArray[np.int64]:
        """Sequence of every ground-truth track."""
        return _track_seq(self.g_track, self.num_g_tracks, self.g_seq)

    def p_track_seq(self) -> npt.NDArray[np.int64]:
        """Sequence of every predicted track."""
        return _track_seq(self.p_track, self.num_p_tracks, self.p_seq)


def _track_seq(track: npt.NDArray[np.int64], num_tracks: int, seq: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    out = np.zeros(num_tracks, dtype=np.int64)
    out[track] = seq
    return out


def validate(gt: AnnotationStore, pred: AnnotationStore, source: str, gt_source: str) -> npt.NDArray[np.int64]:
    """Check both stores (categories, finite values, track ids) and return each prediction frame's gt row."""
    check_categories(gt, pred, source)
    check_finite(pred, source, check_scores=True)
    check_finite(gt, gt_source, check_scores=False)
    frame_rows = align_frames(gt, pred, source, gt_source)
    pred_frames = pred.box_frame_ids()
    if pred.num_boxes and (pred.track_ids < 0).any():
        row = int(np.argmax(pred.track_ids < 0))
        raise DataError(
            f"{source}: a box in frame {str(pred.frame_names[pred_frames[row]])!r} has no track id; "
            "tracking evaluation needs a track id on every prediction"
        )
    check_unique_track_ids(pred_frames, pred.track_ids, pred.frame_names, source)
    counted = ~(gt.ignore | gt.crowd)
    gt_frames = gt.box_frame_ids()
    if (gt.track_ids[counted] < 0).any():
        row = int(np.flatnonzero(counted)[np.argmax(gt.track_ids[counted] < 0)])
        raise DataError(f"{gt_source}: a box in frame {str(gt.frame_names[gt_frames[row]])!r} has no track id")
    check_unique_track_ids(gt_frames[counted], gt.track_ids[counted], gt.frame_names, gt_source)
    warn_if_frames_shifted(gt, pred, frame_rows, source)
    return frame_rows


SHIFT_SAMPLE_FRAMES = 500  # prediction frames looked at; a shift shows in any few hundred frames of moving objects


def matched_at_offsets(
    gt: AnnotationStore, pred: AnnotationStore, frame_rows: npt.NDArray[np.int64], offsets: tuple[int, ...] = (0, -1, 1)
) -> dict[int, tuple[int, int]]:
    """(predicted boxes overlapping a ground-truth box at IoU >= 0.5, boxes looked at) with each frame offset.

    Offset ``d`` compares a prediction frame with the ground-truth frame ``d``
    places later in the same video (class-agnostic). Up to
    :data:`SHIFT_SAMPLE_FRAMES` prediction frames, evenly spread, are looked at.
    """
    chosen = np.unique(np.linspace(0, pred.num_frames - 1, min(pred.num_frames, SHIFT_SAMPLE_FRAMES)).astype(np.int64))
    p_frame = pred.box_frame_ids()
    p_rows = np.flatnonzero(np.isin(p_frame, chosen))
    gt_video = gt.frame_video_ids()
    g_frame = gt.box_frame_ids()
    counted = np.flatnonzero(~(gt.ignore | gt.crowd))
    out: dict[int, tuple[int, int]] = {}
    for offset in offsets:
        target = frame_rows[p_frame[p_rows]] + offset
        inside = (target >= 0) & (target < gt.num_frames)
        inside[inside] &= gt_video[target[inside]] == gt_video[frame_rows[p_frame[p_rows]]][inside]
        rows, target = p_rows[inside], target[inside]
        g_rows = counted[np.isin(g_frame[counted], target)]
        pg, pp = overlapping_pairs(g_frame[g_rows], gt.boxes[g_rows], target, pred.boxes[rows])
        iou = box_iou_pairs(gt.boxes[g_rows[pg]].astype(np.float64), pred.boxes[rows[pp]].astype(np.float64))
        out[offset] = (len(np.unique(pp[iou >= 0.5])), len(rows))
    return out


def warn_if_frames_shifted(
    gt: AnnotationStore, pred: AnnotationStore, frame_rows: npt.NDArray[np.int64], source: str
) -> None:
    """One warning when predictions fit the previous or next ground-truth frame far better than their own.

    Frame names or indices written off by one (0-based against 1-based, a
    frame dropped at the start) leave every frame matched to the wrong ground
    truth: the scores collapse without an error. Static objects fit every
    offset alike and moving ones fit their own frame best, so only a clear
    margin (a tenth of the boxes looked at, and at least ten boxes) is reported.
    """
    if pred.num_boxes == 0 or gt.num_boxes == 0:
        return
    matched = matched_at_offsets(gt, pred, frame_rows)
    own, _ = matched[0]
    best = max((-1, 1), key=lambda d: matched[d][0])
    shifted, looked_at = matched[best]
    if shifted >= own + max(10, 0.1 * looked_at):
        which = "next" if best > 0 else "previous"
        warn(
            f"{source}: predictions fit the ground truth of the {which} frame far better than their own "
            f"({shifted} vs {own} of {looked_at} boxes at IoU 0.5); are frame names or indices off by one?"
        )


class FramePairs:
    """Intersecting (counted ground truth, prediction) pairs of each frame, on store rows, found once for both views.

    The per-class view's pairs are those of one class, the class-agnostic
    view's all of them; when both views are built, one interval join serves
    them (:meth:`within` maps the pairs to a view's rows).
    """

    def __init__(self, gt: AnnotationStore, pred: AnnotationStore, frame_rows: npt.NDArray[np.int64]) -> None:
        gt_frame = gt.box_frame_ids()
        g_rows = np.flatnonzero(~(gt.ignore | gt.crowd))
        g_rows = g_rows[np.argsort(gt_frame[g_rows], kind="stable")]
        p_frame = frame_rows[pred.box_frame_ids()]
        p_rows = np.argsort(p_frame, kind="stable")
        pg, pp = overlapping_pairs(gt_frame[g_rows], gt.boxes[g_rows], p_frame[p_rows], pred.boxes[p_rows])
        self.g, self.p = g_rows[pg], p_rows[pp]
        self.iou = box_iou_pairs(gt.boxes[self.g].astype(np.float64), pred.boxes[self.p].astype(np.float64))
        self.same_class = gt.class_ids[self.g] == pred.class_ids[self.p]
        self.sizes = (gt.num_boxes, pred.num_boxes)

    def within(
        self, g_rows: npt.NDArray[np.int64], p_rows: npt.NDArray[np.int64], same_class: bool
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The pairs among a view's rows (store rows, in the view's order), as view positions sorted by (g, p)."""
        position = []
        for rows, size in zip((g_rows, p_rows), self.sizes, strict=True):
            where = np.full(size, -1, dtype=np.int64)
            where[rows] = np.arange(len(rows))
            position.append(where)
        pg, pp = position[0][self.g], position[1][self.p]
        keep = (pg >= 0) & (pp >= 0) & (self.same_class if same_class else True)
        pg, pp, iou = pg[keep], pp[keep], self.iou[keep]
        order = np.argsort(pg * max(len(p_rows), 1) + pp, kind="stable")  # nearly sorted: a merge sort is fast
        return pg[order], pp[order], iou[order]


def prepare(
    gt: AnnotationStore,
    pred: AnnotationStore,
    frame_rows: npt.NDArray[np.int64],
    ignore_rule: IgnoreRule,
    pairs: FramePairs | None = None,
) -> TrackingData:
    """Split boxes into counted ground truth, ignore regions and predictions; drop predictions on ignore regions."""
    num_classes = len(gt.categories)
    gt_frame_all = gt.box_frame_ids()
    ignored = gt.ignore | gt.crowd
    counted = np.flatnonzero(~ignored)
    g_cell_unsorted = gt_frame_all[counted] * num_classes + gt.class_ids[counted]
    g_sort = np.argsort(g_cell_unsorted, kind="stable")
    g_rows, g_cell = counted[g_sort], g_cell_unsorted[g_sort]

    p_frame_unsorted = frame_rows[pred.box_frame_ids()]
    p_cell_unsorted = p_frame_unsorted * num_classes + pred.class_ids
    p_sort = np.argsort(p_cell_unsorted, kind="stable")
    p_cell, p_frame, p_tid = p_cell_unsorted[p_sort], p_frame_unsorted[p_sort], pred.track_ids[p_sort]
    p_boxes = pred.boxes[p_sort].astype(np.float64)

    if pairs is not None:
        pair_g, pair_p, pair_iou = pairs.within(g_rows, p_sort, same_class=True)
    else:
        pair_g, pair_p = overlapping_pairs(g_cell, gt.boxes[g_rows], p_cell, pred.boxes[p_sort])
        pair_iou = box_iou_pairs(gt.boxes[g_rows].astype(np.float64)[pair_g], p_boxes[pair_p])

    ign_rows = np.flatnonzero(ignored)
    problem = IgnoreProblem(
        num_classes, g_cell, g_rows, p_cell, p_frame, p_boxes, pair_g, pair_p, pair_iou,
        gt_frame_all[ign_rows], gt.boxes[ign_rows].astype(np.float64), ign_rows,
    )  # fmt: skip
    keep = keep_off_ignore_regions(ignore_rule, problem)
    if not keep.all():
        new_index = np.cumsum(keep) - 1
        pair_keep = keep[pair_p]
        pair_g, pair_p, pair_iou = pair_g[pair_keep], new_index[pair_p[pair_keep]], pair_iou[pair_keep]
        p_cell, p_frame, p_tid = p_cell[keep], p_frame[keep], p_tid[keep]
    positive = pair_iou > 0
    pair_g, pair_p, pair_iou = pair_g[positive], pair_p[positive], pair_iou[positive]

    frame_video = gt.frame_video_ids()
    g_frame = g_cell // num_classes
    g_seq = frame_video[g_frame] * num_classes + g_cell % num_classes
    p_seq = frame_video[p_frame] * num_classes + p_cell % num_classes
    g_track, num_g_tracks = group_index(g_seq, gt.track_ids[g_rows])
    p_track, num_p_tracks = group_index(p_seq, p_tid)
    return TrackingData(
        num_classes=num_classes, num_seq=gt.num_videos * num_classes,
        g_cell=g_cell, g_seq=g_seq, g_frame=g_frame, g_track=g_track, num_g_tracks=num_g_tracks,
        p_cell=p_cell, p_seq=p_seq, p_track=p_track, num_p_tracks=num_p_tracks,
        pair_g=pair_g, pair_p=pair_p, pair_iou=pair_iou, frame_video=frame_video,
    )  # fmt: skip


@dataclasses.dataclass
class AgnosticData:
    """The class-agnostic view: every counted ground-truth box and prediction of a frame meets every other.

    Metrics that match across classes (TETA) read this instead of
    :class:`TrackingData`. Rows are sorted by frame (input order within a
    frame, the order reference implementations build their matrices in);
    ``pair_*`` lists every (ground truth, prediction) pair of a frame with
    positive IoU, sorted by (g, p). Tracks are numbered densely per video.
    Sequences are still (video, class), ``seq = video * K + class``, so that
    results combine like every other metric's.
    """

    categories: tuple[str, ...]
    num_videos: int
    g_frame: npt.NDArray[np.int64]
    g_class: npt.NDArray[np.int64]
    g_track: npt.NDArray[np.int64]  # dense id of (video, track id)
    num_g_tracks: int
    p_frame: npt.NDArray[np.int64]
    p_class: npt.NDArray[np.int64]
    p_track: npt.NDArray[np.int64]
    num_p_tracks: int
    pair_g: npt.NDArray[np.int64]
    pair_p: npt.NDArray[np.int64]
    pair_iou: npt.NDArray[np.float64]
    frame_video: npt.NDArray[np.int64]

    @property
    def num_classes(self) -> int:
        """Number of categories."""
        return len(self.categories)

    @property
    def num_seq(self) -> int:
        """Number of (video, class) sequences."""
        return self.num_videos * self.num_classes

    def seq_sum(self, seq: npt.NDArray[np.int64], weights: npt.NDArray[Any] | None = None) -> npt.NDArray[Any]:
        """Per-sequence count (or sum of ``weights``) of rows whose sequence is ``seq``."""
        return np.bincount(seq, weights=weights, minlength=self.num_seq)

    @property
    def g_seq(self) -> npt.NDArray[np.int64]:
        """Sequence of every ground-truth row."""
        seq: npt.NDArray[np.int64] = self.frame_video[self.g_frame] * self.num_classes + self.g_class
        return seq

    @property
    def p_seq(self) -> npt.NDArray[np.int64]:
        """Sequence of every prediction row (by its own class)."""
        seq: npt.NDArray[np.int64] = self.frame_video[self.p_frame] * self.num_classes + self.p_class
        return seq

    def g_track_seq(self) -> npt.NDArray[np.int64]:
        """Sequence of every ground-truth track (of its first row's class)."""
        return _track_seq(self.g_track, self.num_g_tracks, self.g_seq)

    def p_track_seq(self) -> npt.NDArray[np.int64]:
        """Sequence of every predicted track (of its first row's class)."""
        return _track_seq(self.p_track, self.num_p_tracks, self.p_seq)


def prepare_agnostic(
    gt: AnnotationStore,
    pred: AnnotationStore,
    frame_rows: npt.NDArray[np.int64],
    skip_frames_without_gt: bool,
    pairs: FramePairs | None = None,
) -> AgnosticData:
    """The class-agnostic view; predictions on ignore regions removed by a class-agnostic BDD100K rule.

    A prediction that no ground-truth box of any class takes (Hungarian, IoU
    >= 0.5) is removed when more than half of it lies inside an ignore region,
    as TETA's BDD100K dataset does. ``skip_frames_without_gt`` drops frames
    without any ground-truth box, with their predictions (TETA's TAO and COCO
    datasets only know images that have annotations).
    """
    gt_frame_all = gt.box_frame_ids()
    ignored = gt.ignore | gt.crowd
    g_rows = np.flatnonzero(~ignored)
    g_rows = g_rows[np.argsort(gt_frame_all[g_rows], kind="stable")]
    g_frame = gt_frame_all[g_rows]
    p_frame_all = frame_rows[pred.box_frame_ids()]
    p_rows = np.argsort(p_frame_all, kind="stable")
    if skip_frames_without_gt:
        has_gt = np.bincount(gt_frame_all, minlength=gt.num_frames) > 0
        p_rows = p_rows[has_gt[p_frame_all[p_rows]]]
    p_frame, p_boxes = p_frame_all[p_rows], pred.boxes[p_rows].astype(np.float64)
    if pairs is not None:
        pair_g, pair_p, pair_iou = pairs.within(g_rows, p_rows, same_class=False)
    else:
        pair_g, pair_p = overlapping_pairs(g_frame, gt.boxes[g_rows], p_frame, pred.boxes[p_rows])
        pair_iou = box_iou_pairs(gt.boxes[g_rows].astype(np.float64)[pair_g], p_boxes[pair_p])
    ign_rows = np.flatnonzero(ignored)
    problem = IgnoreProblem(
        1, g_frame, g_rows, p_frame, p_frame, p_boxes, pair_g, pair_p, pair_iou,
        gt_frame_all[ign_rows], gt.boxes[ign_rows].astype(np.float64), ign_rows,
    )  # fmt: skip
    keep = keep_off_ignore_regions("bdd100k", problem)
    if not keep.all():
        new_index = np.cumsum(keep) - 1
        pair_keep = keep[pair_p]
        pair_g, pair_p, pair_iou = pair_g[pair_keep], new_index[pair_p[pair_keep]], pair_iou[pair_keep]
        p_rows, p_frame = p_rows[keep], p_frame[keep]
    positive = pair_iou > 0
    frame_video = gt.frame_video_ids()
    g_track, num_g_tracks = group_index(frame_video[g_frame], gt.track_ids[g_rows])
    p_track, num_p_tracks = group_index(frame_video[p_frame], pred.track_ids[p_rows])
    return AgnosticData(
        categories=tuple(gt.categories), num_videos=gt.num_videos,
        g_frame=g_frame, g_class=gt.class_ids[g_rows], g_track=g_track, num_g_tracks=num_g_tracks,
        p_frame=p_frame, p_class=pred.class_ids[p_rows], p_track=p_track, num_p_tracks=num_p_tracks,
        pair_g=pair_g[positive], pair_p=pair_p[positive], pair_iou=pair_iou[positive], frame_video=frame_video,
    )  # fmt: skip
