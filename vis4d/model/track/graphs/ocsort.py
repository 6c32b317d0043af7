"""OC-SORT (Cao et al., CVPR 2023): SORT made observation-centric.

As the authors' tracker (noahcao/OC_SORT, ``trackers/ocsort_tracker``)
defines it, SORT (:mod:`vis4d.model.track.graphs.sort`) with:

* **observation-centric momentum (OCM)**: each track keeps the direction of
  its motion, from the observation ``delta_t`` frames before its latest one
  (or the nearest later one) to the latest; the first association adds to
  the IoU ``inertia * score * (pi/2 - |angle|) / pi``, where ``angle`` is
  between that direction and the direction from the track's observation
  ``delta_t`` frames back to the detection;
* **BYTE association** (``use_byte``, off by default): unmatched tracks' predicted
  boxes against the low detections (``track_low_thresh`` < score <
  ``track_high_thresh``), IoU above ``iou_thresh``;
* **observation-centric recovery (OCR)**: detections still unmatched against
  the *last observed* boxes of still unmatched tracks, on IoU;
* **observation-centric re-update (ORU)**: a track that took no detection
  keeps its filter as it was at its first missed frame; when it takes one
  again, the filter is rolled forward from there along a straight
  virtual trajectory between its last and its new observation (centre,
  width and height interpolated, one update and prediction per missed
  frame), then updated with the new observation;
* output boxes are the detections the tracks took (the Kalman estimate for a
  track without any observation yet), and only detections scoring above
  ``track_high_thresh`` start tracks.

Tracks keep their last ``delta_t`` observations in a ring buffer column,
indexed by the track's age, so that finding "the observation k frames ago"
is a vectorised look-up rather than a dictionary walk per track.
"""

from __future__ import annotations

import numpy as np

from vis4d.model.track import matching
from vis4d.model.track.graphs.base import Association, Detections, FloatArray, IntArray
from vis4d.model.track.graphs.sort import SortGraph, sort_assignment
from vis4d.model.track.motion import xyxy_to_xysr
from vis4d.model.track.store import Column

NO_AGE = -(2**40)  # an empty observation slot


def speed_direction(before: FloatArray, after: FloatArray) -> FloatArray:
    """(N, 2) unit (dy, dx) from the centres of ``before`` to those of ``after`` (both (N, >=4))."""
    dy = (after[:, 1] + after[:, 3]) / 2.0 - (before[:, 1] + before[:, 3]) / 2.0
    dx = (after[:, 0] + after[:, 2]) / 2.0 - (before[:, 0] + before[:, 2]) / 2.0
    norm = np.sqrt(dy**2 + dx**2) + 1e-6
    return np.stack([dy / norm, dx / norm], axis=1)


def direction_gain(dets: FloatArray, scores: FloatArray, previous: FloatArray, velocity: FloatArray) -> FloatArray:
    """(D, T) OCM term before its weight: ``score * (pi/2 - |angle|) / pi``, 0 for tracks without an observation."""
    centre_x = (dets[:, 0] + dets[:, 2]) / 2.0 - ((previous[:, 0] + previous[:, 2]) / 2.0)[:, None]
    centre_y = (dets[:, 1] + dets[:, 3]) / 2.0 - ((previous[:, 1] + previous[:, 3]) / 2.0)[:, None]
    norm = np.sqrt(centre_x**2 + centre_y**2) + 1e-6
    cosine = np.clip(velocity[:, 1:2] * (centre_x / norm) + velocity[:, 0:1] * (centre_y / norm), -1, 1)
    angle = (np.pi / 2.0 - np.abs(np.arccos(cosine))) / np.pi
    valid = (previous[:, 4] >= 0)[:, None]
    return np.asarray((valid * angle).T * scores[:, None])


class OCSORTGraph(SortGraph):
    """Stateful OC-SORT for one video at a time (see the module docstring)."""

    aspect_epsilon = 1e-6

    def __init__(self, cfg: object) -> None:
        super().__init__(cfg)
        self.similarity = matching.BOX_SIMILARITIES[self.cfg.asso_func]

    def columns(self) -> dict[str, Column]:
        """SORT's columns, the observations, the motion direction and the state frozen for re-updates."""
        k = self.cfg.delta_t
        return {
            **super().columns(),
            "last_obs": Column((5,), default=-1.0),  # the latest observation (box, score); -1s: none yet
            "obs": Column((k, 5), default=-1.0),  # observation of age a in slot a % delta_t
            "obs_age": Column((k,), dtype=np.int64, default=NO_AGE),
            "velocity": Column((2,)),  # (dy, dx) unit direction, 0 until the second observation
            "observed": Column(dtype=np.bool_, default=False),  # the filter took a detection last frame
            "frozen": Column(dtype=np.bool_, default=False),  # a frozen filter waits for a re-update
            "frozen_mean": Column((7,)),
            "frozen_cov": Column((7, 7)),
            "last_z": Column((4,)),  # the latest measurement (xysr) the filter took
            "frozen_z": Column((4,)),  # the measurement before the gap, as the re-update starts from it
        }

    def previous_observations(self, rows: IntArray) -> FloatArray:
        """(len(rows), 5) the observation ``delta_t`` frames before each track's age (or the nearest later one)."""
        store, k = self.store, self.cfg.delta_t
        age = store["age"][rows]
        out = store["last_obs"][rows].copy()
        done = np.zeros(len(rows), dtype=bool)
        for dt in range(k, 0, -1):
            slot = (age - dt) % k
            hit = ~done & (store["obs_age"][rows, slot] == age - dt)
            out[hit] = store["obs"][rows[hit], slot[hit]]
            done |= hit
        return out

    def associate(self, dets: Detections) -> Association:
        """First association with OCM, then BYTE (optional), then OCR on the last observations."""
        cfg, store = self.cfg, self.store
        high = self.detections_used(dets)
        rows, cols, free_dets, free_tracks = self.first_association(dets.select(high))
        parts = [(high[rows], cols)]
        if cfg.use_byte and len(free_tracks) > 0:
            low = np.flatnonzero((dets.scores > cfg.track_low_thresh) & (dets.scores < cfg.track_high_thresh))
            overlap = self.similarity(dets.boxes[low], self._predicted[free_tracks])
            if overlap.size and overlap.max() > cfg.iou_thresh:
                byte_rows, byte_cols = matching.assign_full(-overlap)
                good = overlap[byte_rows, byte_cols] >= cfg.iou_thresh
                parts.append((low[byte_rows[good]], free_tracks[byte_cols[good]]))
                free_tracks = np.setdiff1d(free_tracks, free_tracks[byte_cols[good]])
        if len(free_dets) > 0 and len(free_tracks) > 0:
            overlap = self.similarity(dets.boxes[high[free_dets]], store["last_obs"][free_tracks, :4])
            if overlap.max() > cfg.iou_thresh:
                ocr_rows, ocr_cols = matching.assign_full(-overlap)
                good = overlap[ocr_rows, ocr_cols] >= cfg.iou_thresh
                parts.append((high[free_dets[ocr_rows[good]]], free_tracks[ocr_cols[good]]))
                free_dets = np.setdiff1d(free_dets, free_dets[ocr_rows[good]])
        return Association.concat(parts, high[free_dets])

    def first_association(self, dets: Detections) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """IoU plus the OCM direction term, in SORT's matching; ``dets`` are the high ones.

        Always IoU, whatever ``asso_func`` says: the authors' ``associate`` computes
        ``iou_batch``; ``asso_func`` serves the BYTE and recovery stages only.
        """
        overlap = matching.iou(dets.boxes, self._predicted)
        if len(self.store) == 0:
            return sort_assignment(overlap, self.cfg.iou_thresh)
        tracks = np.arange(len(self.store))
        previous = self.previous_observations(tracks)
        gain = direction_gain(dets.boxes, dets.scores, previous, self.store["velocity"]) * self.cfg.inertia
        return sort_assignment(overlap, self.cfg.iou_thresh, overlap + gain)

    def update(self, rows: IntArray, dets: Detections) -> None:
        """Record the observations (direction, ring buffer), re-update frozen filters, then SORT's update."""
        store, k = self.store, self.cfg.delta_t
        observed = np.concatenate([dets.boxes, dets.scores[:, None]], axis=1)
        had = store["last_obs"][rows].sum(axis=1) >= 0
        if had.any():
            store["velocity"][rows[had]] = speed_direction(self.previous_observations(rows[had]), observed[had])
        age = store["age"][rows]
        store["last_obs"][rows] = observed
        store["obs"][rows, age % k] = observed
        store["obs_age"][rows, age % k] = age
        measured = xyxy_to_xysr(dets.boxes, self.aspect_epsilon)
        store["last_z"][rows] = measured
        thawing = store["frozen"][rows] & ~store["observed"][rows]
        if thawing.any():
            self.re_update(rows[thawing], measured[thawing])
        super().update(rows, dets)
        store["observed"][rows] = True

    def re_update(self, rows: IntArray, measured: FloatArray) -> None:
        """ORU: from the frozen filter, one update and prediction per missed frame along the virtual trajectory."""
        store = self.store
        mean, cov = store["frozen_mean"][rows], store["frozen_cov"][rows]
        gap = store["since_update"][rows]
        start, end = _centre_and_size(store["frozen_z"][rows]), _centre_and_size(measured)
        step = (end - start) / gap[:, None]
        last_virtual = np.zeros((len(rows), 4))
        for i in range(int(gap.max())):
            active = i < gap
            x, y, w, h = (start + (i + 1) * step).T
            virtual = np.stack([x, y, w * h, w / h], axis=1)
            mean[active], cov[active] = self.kalman.update(mean[active], cov[active], virtual[active])
            last = active & (i == gap - 1)
            last_virtual[last] = virtual[last]
            more = active & (i != gap - 1)
            mean[more], cov[more] = self.kalman.predict(mean[more], cov[more])
        store["mean"][rows], store["cov"][rows] = mean, cov
        store["last_z"][rows] = last_virtual
        store["frozen"][rows] = False

    def mark_missed(self, rows: IntArray) -> None:
        """A track that took a detection last frame freezes its filter (for a later re-update)."""
        store = self.store
        freeze = rows[store["observed"][rows]]
        store["frozen_mean"][freeze] = store["mean"][freeze]
        store["frozen_cov"][freeze] = store["cov"][freeze]
        store["frozen_z"][freeze] = store["last_z"][freeze]
        store["frozen"][freeze] = True
        store["observed"][rows] = False

    def output_boxes_of(self, rows: IntArray) -> FloatArray:
        """The detections the tracks took (their Kalman estimate if they have no observation yet)."""
        last = self.store["last_obs"][rows]
        return np.where((last.sum(axis=1) < 0)[:, None], self.track_boxes(rows), last[:, :4])


def _centre_and_size(xysr: FloatArray) -> FloatArray:
    """(N, 4) xysr -> centre x, centre y, width, height (OC-SORT's ``sqrt(s * r)``, ``sqrt(s / r)``)."""
    return np.stack([xysr[:, 0], xysr[:, 1], np.sqrt(xysr[:, 2] * xysr[:, 3]), np.sqrt(xysr[:, 2] / xysr[:, 3])], 1)
