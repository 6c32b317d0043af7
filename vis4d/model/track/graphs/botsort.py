"""BoT-SORT (Aharon et al., 2022): ByteTrack with box-size Kalman state, camera-motion compensation and appearance.

As the authors' tracker (NirAharon/BoT-SORT, ``tracker/bot_sort.py``) defines
it, on top of ByteTrack's two-stage association
(:mod:`vis4d.model.track.graphs.bytetrack`):

* the Kalman state is (centre x, centre y, width, height) and their
  velocities, the noise of x and w scaled by the width, of y and h by the
  height; a lost track's width and height velocities are zeroed before
  predicting;
* after predicting, every track (unconfirmed ones too, which are not
  predicted) is moved by the camera's motion from the previous frame
  (:mod:`vis4d.model.track.cmc`, ``cmc_method``): the 2 x 2 part of the
  affine matrix applied to every coordinate pair of the state, the
  translation to the centre;
* with appearance embeddings (the model's own, or a re-identification
  model's), the first and the unconfirmed association take the smaller of
  the IoU cost (fused with the score unless MOT20's setting) and half the
  cosine distance of embeddings; the appearance cost counts only for pairs
  closer than ``appearance_thresh`` in appearance and overlapping more than
  ``1 - proximity_thresh`` (otherwise it is 1). A track's embedding is the
  running mix ``embedding_momentum * old + (1 - embedding_momentum) * new``
  of the normalised embeddings of the high-score detections it took,
  normalised again;
* every tracked track is output, those started in this frame included (the
  authors' runner filters tiny and wide boxes afterwards; that is not part
  of the tracker).
"""

from __future__ import annotations

import numpy as np

from vis4d.model.track import matching
from vis4d.model.track.cmc import CameraMotion
from vis4d.model.track.context import FrameContext
from vis4d.model.track.graphs.base import Detections, FloatArray, IntArray
from vis4d.model.track.graphs.bytetrack import ByteTrackGraph
from vis4d.model.track.store import Column


class BoTSORTGraph(ByteTrackGraph):
    """Stateful BoT-SORT association for one video at a time (see the module docstring)."""

    kalman_state = "xywh"
    lost_velocity = (6, 7)
    output_unconfirmed = True
    uses_embeddings = True

    def __init__(self, cfg: object) -> None:
        super().__init__(cfg)
        self.camera = CameraMotion(self.cfg.cmc_method)
        self.needs_image = self.cfg.cmc_method != "none"
        self._warp: FloatArray | None = None

    def columns(self) -> dict[str, Column]:
        """ByteTrack's columns plus the smoothed appearance embedding (width fixed by the first embeddings)."""
        return {**super().columns(), "embedding": Column((-1,))}

    def reset(self) -> None:
        """Forget all tracks and the previous frame."""
        super().reset()
        self.camera.reset()

    def compensate_camera(self, dets: Detections, context: FrameContext) -> None:
        """Estimate the camera's motion from the image (applied after the prediction, as the authors do)."""
        self._warp = None
        if self.cfg.cmc_method == "none":
            return
        if not context.has_image:
            raise ValueError("BoT-SORT's camera-motion compensation needs the frame's image (or set cmc_method none)")
        self._warp = self.camera(context.pixels())

    def predict(self) -> None:
        """ByteTrack's prediction, then the camera's motion applied to the pool and the unconfirmed tracks."""
        super().predict()
        if self._warp is None:
            return
        store = self.store
        rows = np.concatenate([self._pool, self._unconfirmed])
        store["mean"][rows], store["cov"][rows] = self.kalman.warp(store["mean"][rows], store["cov"][rows], self._warp)

    def distances(self, rows: IntArray, dets: Detections) -> FloatArray:
        """IoU cost fused with the score, and with appearance where the detections carry embeddings."""
        iou_cost = self.iou_distance(rows, dets)
        far = iou_cost > self.cfg.proximity_thresh
        cost = matching.fuse_score(iou_cost, dets.scores) if self.cfg.fuse_score and iou_cost.size else iou_cost
        if dets.embeddings is None or cost.size == 0:
            return cost
        appearance = matching.embedding_distance(self.store["embedding"][rows], dets.embeddings) / 2.0
        appearance[appearance > self.cfg.appearance_thresh] = 1.0
        appearance[far] = 1.0
        return np.asarray(np.minimum(cost, appearance))

    def update(self, rows: IntArray, dets: Detections) -> None:
        """ByteTrack's update; high-score detections also refresh the track's embedding."""
        super().update(rows, dets)
        if dets.embeddings is None or len(rows) == 0:
            return
        high = dets.scores > self.cfg.track_high_thresh  # low detections carry no embedding in the reference
        rows, new = rows[high], matching.unit_rows(dets.embeddings[high])
        momentum = self.cfg.embedding_momentum
        mixed = momentum * self.store["embedding"][rows] + (1 - momentum) * new
        self.store["embedding"][rows] = matching.unit_rows(mixed)

    def new_track_columns(self, dets: Detections) -> dict[str, FloatArray | IntArray | float | int | bool]:
        """ByteTrack's new tracks, each with its detection's normalised embedding."""
        embeddings = matching.unit_rows(dets.embeddings) if dets.embeddings is not None else 0.0
        return {**super().new_track_columns(dets), "embedding": embeddings}
