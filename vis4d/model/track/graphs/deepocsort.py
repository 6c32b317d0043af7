"""Deep OC-SORT (Maggiolino et al., ICIP 2023): OC-SORT with camera motion and adaptively weighted appearance.

As the authors' tracker (GerardMaggiolino/Deep-OC-SORT,
``trackers/integrated_ocsort_embedding``) defines it, with the settings of its
best published ablation (SORT's Kalman filter, one embedding per box: the
README's ``--new_kf_off --grid_off``), OC-SORT
(:mod:`vis4d.model.track.graphs.ocsort`, without BYTE) plus:

* **camera-motion compensation**, before predicting: the affine camera
  motion (:mod:`vis4d.model.track.cmc`) moves each track's centre and centre
  velocity (and their covariance blocks), its frozen filter and measurement
  if it waits for a re-update, and its recent observations. As in the
  authors' code, a track's latest observation is one object referenced twice
  (as the last observation and among the recent ones), so it is moved twice
  while it is recent;
* **appearance in the first association**: the cosine similarity of
  normalised embeddings, weighted by ``w_association_emb`` plus the
  *adaptive weight*: for each detection half the gap between its best and
  second-best track similarity, and for each track half the gap between its
  best and second-best detection (each gap at most ``aw_param``), so
  unambiguous appearance counts more (``aw_off`` keeps the fixed weight);
  the cost is ``-(IoU + OCM term + weighted similarity)``;
* **dynamic appearance**: a matched track's embedding becomes
  ``alpha * old + (1 - alpha) * new``, normalised, where ``alpha`` goes from
  ``embedding_momentum`` (a detection scoring 1) up to 1 (a detection at
  ``track_high_thresh``): uncertain detections barely change it.

Without embeddings (no appearance model) the appearance term is 0.
"""

from __future__ import annotations

import numpy as np

from vis4d.model.track import matching
from vis4d.model.track.cmc import CameraMotion
from vis4d.model.track.context import FrameContext
from vis4d.model.track.graphs.base import Detections, FloatArray, IntArray
from vis4d.model.track.graphs.ocsort import OCSORTGraph, direction_gain
from vis4d.model.track.graphs.sort import sort_assignment
from vis4d.model.track.store import Column


def adaptive_weight(similarity: FloatArray, weight: float, max_gap: float) -> FloatArray:
    """(D, T) appearance weights: ``weight`` + half the best-to-second gap of each row and of each column."""
    out = np.full_like(similarity, weight)
    if similarity.shape[1] >= 2:
        top = np.partition(-similarity, 1, axis=1)  # [:, 0] the best (negated), [:, 1] the second
        out += np.minimum(top[:, 1] - top[:, 0], max_gap)[:, None] / 2
    if similarity.shape[0] >= 2:
        top = np.partition(-similarity, 1, axis=0)
        out += np.minimum(top[1] - top[0], max_gap)[None, :] / 2
    return np.asarray(out)


def _move_points(affine: FloatArray, points: FloatArray) -> FloatArray:
    """(N, 2k) x/y pairs mapped by the 2 x 3 affine matrix."""
    if points.size == 0:
        return points
    pairs = points.reshape(len(points), -1, 2)
    return np.asarray((pairs @ affine[:, :2].T + affine[:, 2]).reshape(points.shape))


class DeepOCSORTGraph(OCSORTGraph):
    """Stateful Deep OC-SORT for one video at a time (see the module docstring)."""

    uses_embeddings = True

    def __init__(self, cfg: object) -> None:
        super().__init__(cfg)
        self.camera = CameraMotion(self.cfg.cmc_method)
        self.needs_image = self.cfg.cmc_method != "none"

    def columns(self) -> dict[str, Column]:
        """OC-SORT's columns plus the track's appearance embedding."""
        return {**super().columns(), "embedding": Column((-1,))}

    def reset(self) -> None:
        """Forget all tracks and the previous frame."""
        super().reset()
        self.camera.reset()

    def detections_used(self, dets: Detections) -> IntArray:
        """Detections scoring above ``track_high_thresh``."""
        return np.flatnonzero(dets.scores > self.cfg.track_high_thresh)

    def compensate_camera(self, dets: Detections, context: FrameContext) -> None:
        """Move filters, frozen filters and observations with the camera (before predicting)."""
        if self.cfg.cmc_method == "none":
            return
        if not context.has_image:
            raise ValueError("Deep OC-SORT's camera-motion compensation needs the frame's image (or cmc_method none)")
        affine = self.camera(context.pixels())
        if len(self.store) > 0:
            self.warp_tracks(affine)

    def warp_tracks(self, affine: FloatArray) -> None:
        """The authors' ``apply_affine_correction`` for every track at once."""
        store, k = self.store, self.cfg.delta_t
        rotation = affine[:, :2]
        for mean, cov, rows in (("mean", "cov", np.ones(len(store), dtype=bool)),
                                ("frozen_mean", "frozen_cov", store["frozen"] & ~store["observed"])):  # fmt: skip
            store[mean][rows, :2] = _move_points(affine, store[mean][rows, :2])
            store[mean][rows, 4:6] = store[mean][rows, 4:6] @ rotation.T
            for block in (slice(0, 2), slice(4, 6)):
                store[cov][rows, block, block] = rotation @ store[cov][rows, block, block] @ rotation.T
        frozen = store["frozen"] & ~store["observed"]
        store["frozen_z"][frozen, :2] = _move_points(affine, store["frozen_z"][frozen, :2])
        age, last_age = store["age"], store["age"] - store["since_update"]
        last_slot = last_age % k
        rows = np.arange(len(store))
        aliased = (store["since_update"] <= k) & (store["obs_age"][rows, last_slot] == last_age)
        recent = (store["obs_age"] >= (age - k)[:, None]) & (store["obs_age"] <= age[:, None])
        store["obs"][recent, :4] = _move_points(affine, store["obs"][recent, :4])
        last = store["last_obs"]
        positive = last.sum(axis=1) > 0
        last[positive, :4] = _move_points(affine, last[positive, :4])
        last[aliased, :4] = _move_points(affine, last[aliased, :4])
        store["obs"][rows[aliased], last_slot[aliased]] = last[aliased]

    def first_association(self, dets: Detections) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """IoU + OCM term + adaptively weighted appearance, in SORT's matching."""
        cfg, store = self.cfg, self.store
        overlap = matching.iou(dets.boxes, self._predicted)
        if len(store) == 0:
            return sort_assignment(overlap, cfg.iou_thresh)
        previous = self.previous_observations(np.arange(len(store)))
        gain = overlap + direction_gain(dets.boxes, dets.scores, previous, store["velocity"]) * cfg.inertia
        if dets.embeddings is not None and len(dets) > 0:
            similarity = matching.unit_rows(dets.embeddings) @ store["embedding"].T
            weight = cfg.w_association_emb
            gain = gain + similarity * (weight if cfg.aw_off else adaptive_weight(similarity, weight, cfg.aw_param))
        return sort_assignment(overlap, cfg.iou_thresh, gain)

    def _alpha(self, scores: FloatArray) -> FloatArray:
        """Embedding momentum per detection: from ``embedding_momentum`` (score 1) to 1 (score at the threshold)."""
        threshold, momentum = self.cfg.track_high_thresh, self.cfg.embedding_momentum
        trust = (scores - threshold) / (1 - threshold)
        return np.asarray(momentum + (1 - momentum) * (1 - trust))

    def update(self, rows: IntArray, dets: Detections) -> None:
        """OC-SORT's update, then the dynamic appearance update."""
        super().update(rows, dets)
        if dets.embeddings is None or len(rows) == 0:
            return
        alpha = self._alpha(dets.scores)[:, None]
        mixed = alpha * self.store["embedding"][rows] + (1 - alpha) * matching.unit_rows(dets.embeddings)
        self.store["embedding"][rows] = matching.unit_rows(mixed)

    def new_track_columns(self, dets: Detections) -> dict[str, FloatArray | IntArray | float | int | bool]:
        """OC-SORT's new tracks with their detections' normalised embeddings."""
        embeddings = matching.unit_rows(dets.embeddings) if dets.embeddings is not None else 0.0
        return {**super().new_track_columns(dets), "embedding": embeddings}
