"""SORT (Bewley et al., ICIP 2016): a Kalman filter per object and optimal IoU matching.

As the authors' ``sort.py`` (abewley/sort) defines it, per frame:

1. Every track is predicted one frame ahead (SORT's filter on centre, area
   and aspect ratio, :class:`~vis4d.model.track.motion.SortKalman`; an area
   velocity that would make the area negative is zeroed first). Tracks whose
   prediction is not a box (NaN) are dropped.
2. Detections (those scoring above ``track_high_thresh``; all by default,
   as SORT tracks whatever it is given) are matched to the predicted boxes on
   IoU: when every detection and every track has at most one partner with
   IoU above ``iou_thresh``, those pairs; otherwise the assignment maximising
   the total IoU. Pairs below ``iou_thresh`` are dropped.
3. Matched tracks take their detection (Kalman update); unmatched detections
   start tracks, in the reference's order (unassigned ones first, then those
   whose pair was dropped), which is the order their ids are handed out in.
4. A track is output in a frame it took a detection once it has taken one in
   ``min_hits`` consecutive frames (in the video's first ``min_hits`` frames
   at once), with the Kalman estimate as its box; tracks unseen for more than
   ``track_buffer`` frames (SORT's ``max_age``) are removed.

OC-SORT and Deep OC-SORT are SORT with more steps; they subclass
:class:`SortGraph`.
"""

from __future__ import annotations

import numpy as np

from vis4d.model.track import matching
from vis4d.model.track.graphs.base import Association, Detections, FloatArray, IntArray, MotionTracker
from vis4d.model.track.motion import SortKalman, xysr_to_xyxy, xyxy_to_xysr
from vis4d.model.track.store import Column

EMPTY = np.zeros(0, dtype=np.int64)


def sort_assignment(
    overlap: FloatArray, threshold: float, gain: FloatArray | None = None
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """SORT's matching of detections (rows) and tracks (columns).

    Pairs with IoU above ``threshold`` if each row and column has at most one
    (and some have one), else the assignment maximising ``gain`` (IoU by
    default; OC-SORT adds its direction term), then pairs with IoU below
    ``threshold`` dropped. Returns matched rows and columns (row order), and
    the unmatched rows and columns in the references' order: never assigned
    ones first, then the dropped pairs'.
    """
    num_dets, num_tracks = overlap.shape
    if num_tracks == 0:
        return EMPTY, EMPTY, np.arange(num_dets, dtype=np.int64), EMPTY
    rows, cols = EMPTY, EMPTY
    if min(overlap.shape) > 0:
        above = overlap > threshold
        if above.sum(1).max() == 1 and above.sum(0).max() == 1:
            rows, cols = (index.astype(np.int64) for index in np.nonzero(above))
        else:
            rows, cols = matching.assign_full(-(overlap if gain is None else gain))
    low = overlap[rows, cols] < threshold
    free_rows = np.setdiff1d(np.arange(num_dets), rows).astype(np.int64)
    free_cols = np.setdiff1d(np.arange(num_tracks), cols).astype(np.int64)
    return rows[~low], cols[~low], np.concatenate([free_rows, rows[low]]), np.concatenate([free_cols, cols[low]])


class SortGraph(MotionTracker):
    """Stateful SORT for one video at a time (see the module docstring)."""

    aspect_epsilon = 0.0  # aspect ratio w / (h + epsilon): SORT 0, OC-SORT 1e-6

    def __init__(self, cfg: object) -> None:
        self.kalman = SortKalman()
        super().__init__(cfg)
        self._predicted = np.zeros((0, 4))

    def columns(self) -> dict[str, Column]:
        """Kalman state and SORT's counters."""
        return {
            "id": Column(dtype=np.int64),
            "mean": Column((7,)),
            "cov": Column((7, 7)),
            "age": Column(dtype=np.int64),
            "hit_streak": Column(dtype=np.int64),
            "since_update": Column(dtype=np.int64),
            "det": Column(dtype=np.int64, default=-1),
        }

    def detections_used(self, dets: Detections) -> IntArray:
        """Indices of the detections the first association sees: those above ``track_high_thresh``, if set."""
        threshold = self.cfg.track_high_thresh
        return np.arange(len(dets)) if threshold is None else np.flatnonzero(dets.scores > threshold)

    def track_boxes(self, rows: IntArray) -> FloatArray:
        """Corners of the Kalman means."""
        return xysr_to_xyxy(self.store["mean"][rows])

    def predict(self) -> None:
        """Every track one frame ahead; tracks whose prediction is no box are dropped."""
        store = self.store
        store["det"][:] = -1
        means = store["mean"]
        means[means[:, 6] + means[:, 2] <= 0, 6] = 0.0
        store["mean"], store["cov"] = self.kalman.predict(means, store["cov"])
        store["age"] += 1
        store["hit_streak"][store["since_update"] > 0] = 0
        store["since_update"] += 1
        predicted = self.track_boxes(np.arange(len(store)))
        valid = np.asarray(~np.isnan(predicted).any(axis=1), dtype=bool)
        if not valid.all():
            store.keep(valid)
        self._predicted = predicted[valid]

    def associate(self, dets: Detections) -> Association:
        """IoU matching of the used detections with the predicted boxes."""
        used = self.detections_used(dets)
        overlap = matching.iou(dets.boxes[used], self._predicted)
        rows, cols, free_rows, _ = sort_assignment(overlap, self.cfg.iou_thresh)
        return Association(used[rows], cols, used[free_rows])

    def update(self, rows: IntArray, dets: Detections) -> None:
        """Kalman update with the detections; counters as SORT's ``KalmanBoxTracker.update``."""
        store = self.store
        store["since_update"][rows] = 0
        store["hit_streak"][rows] += 1
        store["det"][rows] = dets.index
        measured = xyxy_to_xysr(dets.boxes, self.aspect_epsilon)
        store["mean"][rows], store["cov"][rows] = self.kalman.update(store["mean"][rows], store["cov"][rows], measured)

    def mark_missed(self, rows: IntArray) -> None:
        """Nothing: SORT's unmatched tracks just age (in :meth:`predict`)."""

    def spawn(self, dets: Detections) -> None:
        """A track for every detection given, in order."""
        self.store.append(len(dets), **self.new_track_columns(dets))

    def new_track_columns(self, dets: Detections) -> dict[str, FloatArray | IntArray | float | int | bool]:
        """The columns of tracks started from ``dets``."""
        means, covariances = self.kalman.initiate(xyxy_to_xysr(dets.boxes, self.aspect_epsilon))
        return {"id": self.new_ids(len(dets)), "mean": means, "cov": covariances, "det": dets.index}

    def output_boxes_of(self, rows: IntArray) -> FloatArray:
        """The boxes the tracks in ``rows`` report: SORT's Kalman estimate."""
        return self.track_boxes(rows)

    def finish(self, dets: Detections) -> tuple[IntArray, FloatArray | None]:
        """Output tracks that took a detection and are confirmed; remove tracks unseen too long."""
        store, min_hits = self.store, self.cfg.min_hits
        shown = (store["since_update"] < 1) & ((store["hit_streak"] >= min_hits) | (self.frame_id <= min_hits))
        rows = np.flatnonzero(shown & (store["det"] >= 0))
        ids = np.full(len(dets), -1, dtype=np.int64)
        boxes = np.array(dets.boxes, copy=True)
        ids[store["det"][rows]] = store["id"][rows]
        boxes[store["det"][rows]] = self.output_boxes_of(rows)
        alive = store["since_update"] <= self.cfg.track_buffer
        if not alive.all():
            store.keep(alive)
        return ids, boxes
